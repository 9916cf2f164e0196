#!/usr/bin/env bash
# The whole test suite, for every Go module in the repository (the exporter at
# the root, the dashboard/rule tooling in dashboards/, ...): formatting, tidy
# module files, vet, and every test with the race detector.
# Extra arguments go to every `go test`, e.g. ./test.sh -run TestX.
set -euo pipefail
cd "$(dirname "$0")"

gofiles=$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './vendor/*')
unformatted=$(gofmt -l $gofiles)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" $unformatted >&2
  exit 1
fi

# `go install github.com/aci-exporter/aci-exporter/cmd/aci-exporter@latest`
# refuses a module whose go.mod has replace directives.
if grep -Eq '^[[:space:]]*replace([[:space:]]|\()' go.mod; then
  echo "the root go.mod must have no replace directive (go install ...@latest)" >&2
  exit 1
fi

modules=$( (git ls-files '*go.mod' 2>/dev/null || find . -name go.mod) | xargs -n1 dirname | sort -u)

for m in $modules; do
  echo "== module $m"
  if ! (cd "$m" && go mod tidy -diff); then
    echo "go mod tidy would change $m/go.mod or go.sum (diff above)" >&2
    exit 1
  fi
  (cd "$m" && go vet ./...)
done

for m in $modules; do
  race=-race
  case $m in
    # Packaging tests: they render, decode and run programs one after the
    # other, with no goroutines of their own to race. A cold compile of this
    # module's tests (Helm, the Kubernetes types) took 3m50s of CPU without
    # -race and 5m11s with it, on the 2-core dev machine.
    deploy) race= ;;
  esac
  echo "== go test $race $m"
  (cd "$m" && go test $race -count=1 -timeout 20m ./... "$@")
done
