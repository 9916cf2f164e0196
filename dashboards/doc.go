// Package dashboards holds the Grafana dashboards and Prometheus rules shipped with aci-exporter; its tests check them against a running exporter, promtool and a real Prometheus.
package dashboards
