# Build, test, lint and release aci-exporter, the Prometheus way: the version
# comes from the VERSION file and is stamped, with the revision, branch, build
# user and date, into github.com/prometheus/common/version. The tools are
# pinned and run with `go run`, so only the Go module proxy is needed.

GO ?= go

VERSION    ?= $(shell cat VERSION)
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null)
BRANCH     ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
BUILD_USER ?= $(shell whoami)@$(shell hostname)
BUILD_DATE ?= $(shell date -u +%Y%m%d-%H:%M:%S)
# Expanded once, so every binary of a release carries the same values.
VERSION    := $(VERSION)
REVISION   := $(REVISION)
BRANCH     := $(BRANCH)
BUILD_USER := $(BUILD_USER)
BUILD_DATE := $(BUILD_DATE)

BINARY    ?= aci-exporter
DIST      ?= dist
PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64 windows/amd64

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
CYCLONEDX   := github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
MODULES     := $(shell git ls-files '*go.mod' 2>/dev/null | xargs -n1 dirname)

version_pkg := github.com/prometheus/common/version
LDFLAGS := -X $(version_pkg).Version=$(VERSION) \
	-X $(version_pkg).Revision=$(REVISION) \
	-X $(version_pkg).Branch=$(BRANCH) \
	-X $(version_pkg).BuildUser=$(BUILD_USER) \
	-X $(version_pkg).BuildDate=$(BUILD_DATE)
# Static (no cgo), and without the builder's paths.
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'

.PHONY: all build test lint release docker clean

all: test build

build:
	$(GOBUILD) -o $(BINARY) ./cmd/aci-exporter

test:
	./test.sh

lint:
	@set -e; for m in $(MODULES); do \
		echo ">> staticcheck $$m"; \
		(cd $$m && $(GO) run $(STATICCHECK) ./...); \
	done

# One tarball per platform (binary, LICENSE, NOTICE, README, example config,
# dashboards and rules), a CycloneDX SBOM per platform (build constraints
# change which modules a binary holds), and sha256sums.txt over all of them.
# The SBOM describes the modules the binary itself records (go version -m),
# so it needs no git checkout. The tool is built for this machine (go run),
# and runs (-exec env) with the target's GOOS/GOARCH, which its package URLs
# name, and GOPROXY=off, which keeps its license lookup in the module cache
# (it warns that our own, unpublished module is not there).
release:
	rm -rf $(DIST)
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; name=aci-exporter-$(VERSION).$$os-$$arch; dir=$(DIST)/$$name; \
		ext=; if [ $$os = windows ]; then ext=.exe; fi; \
		echo ">> $$name"; \
		mkdir -p $$dir/dashboards/rules; \
		GOOS=$$os GOARCH=$$arch $(GOBUILD) -o $$dir/aci-exporter$$ext ./cmd/aci-exporter; \
		cp LICENSE NOTICE README.md config.example.yaml $$dir/; \
		cp dashboards/*.json dashboards/RUNBOOK.md $$dir/dashboards/; \
		cp dashboards/rules/*.yml $$dir/dashboards/rules/; \
		$(GO) run -exec "env GOPROXY=off GOOS=$$os GOARCH=$$arch" $(CYCLONEDX) bin -json -licenses -version v$(VERSION) \
			-output $(DIST)/$$name.sbom.cdx.json $$dir/aci-exporter$$ext; \
		tar -C $(DIST) -czf $(DIST)/$$name.tar.gz $$name; \
		rm -rf $$dir; \
	done
	cd $(DIST) && sha256sum *.tar.gz *.sbom.cdx.json > sha256sums.txt
	@ls -l $(DIST) && cat $(DIST)/sha256sums.txt

# Needs a container engine (not used by the tests: deploy/image_test.go builds
# the same image offline).
docker:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
		-t aci-exporter:$(VERSION) .

clean:
	rm -rf $(BINARY) $(DIST)
