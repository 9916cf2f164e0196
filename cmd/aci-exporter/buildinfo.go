package main

import (
	"runtime/debug"

	"github.com/prometheus/common/version"
)

// stampVersion fills in what -ldflags did not stamp into
// prometheus/common/version, from the Go build info: a plain `go build` or
// `go install` records the module version (a release tag, or in a git
// checkout a pseudo-version, "+dirty" when modified) and the commit time.
// The revision needs nothing: version.GetRevision already falls back to
// the VCS revision, "-modified" when modified.
func stampVersion() {
	if bi, ok := debug.ReadBuildInfo(); ok {
		version.Version, version.BuildDate = fromBuildInfo(bi, version.Version, version.BuildDate)
	}
}

// fromBuildInfo returns ver and date, each from bi where it is empty. The
// date is then the commit's, as in a reproducible build.
func fromBuildInfo(bi *debug.BuildInfo, ver, date string) (string, string) {
	if ver == "" {
		ver = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.time" && date == "" {
			date = s.Value
		}
	}
	return ver, date
}
