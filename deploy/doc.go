// Package deploy holds the tests of what ships beside the exporter's source,
// starting with the Makefile's stamped build. It is its own module so that
// packaging tooling stays out of the exporter's.
package deploy
