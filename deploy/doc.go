// Package deploy holds the tests of what ships beside the exporter's source:
// the Makefile's stamped build and the container image (../Dockerfile). It is
// its own module so that packaging tooling (go-containerregistry, and Helm
// and the Kubernetes types in deploy/helm) stays out of the exporter's.
package deploy
