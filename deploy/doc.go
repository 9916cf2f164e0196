// Package deploy holds the tests of what ships beside the exporter's source:
// the Makefile's stamped build and the container image (../Dockerfile); its
// sub-packages test the Helm chart (helm) and the systemd units (systemd).
// It is its own module so that the packaging tooling (go-containerregistry,
// Helm, the Kubernetes types) stays out of the exporter's.
package deploy
