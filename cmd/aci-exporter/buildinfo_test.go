package main

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	checkout := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/aci-exporter/aci-exporter", Version: "v0.0.0-20261127035405-222a81fd45ca+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "222a81fd45caf145b7813e3b77d25cd988bcfad1"},
			{Key: "vcs.time", Value: "2026-11-27T03:54:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name              string
		bi                *debug.BuildInfo
		ver, date         string // stamped by -ldflags
		wantVer, wantDate string
	}{
		{"go build in a git checkout", checkout, "", "", "v0.0.0-20261127035405-222a81fd45ca+dirty", "2026-11-27T03:54:05Z"},
		{"go install of a release", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "", "", "v1.3.0", ""},
		{"go build without VCS", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "", "", "(devel)", ""},
		{"stamped by -ldflags", checkout, "1.2.0", "20261127-03:54:05", "1.2.0", "20261127-03:54:05"},
		{"only the version stamped", checkout, "1.2.0", "", "1.2.0", "2026-11-27T03:54:05Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ver, date := fromBuildInfo(tc.bi, tc.ver, tc.date)
			if ver != tc.wantVer || date != tc.wantDate {
				t.Errorf("got version %q, date %q; want %q, %q", ver, date, tc.wantVer, tc.wantDate)
			}
		})
	}
}
