module github.com/aci-exporter/aci-exporter/deploy

go 1.26.0
