package main

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// unsetenv removes a variable for the test; t.Setenv restores it after.
func unsetenv(t *testing.T, key string) {
	t.Setenv(key, "")
	os.Unsetenv(key)
}

func TestSetMemoryLimit(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		name      string
		env       string // GOMEMLIMIT, as the runtime applied it at start; "" for unset
		cgroup    uint64
		cgroupErr error
		want      int64 // the limit in force after
		log       string
	}{
		{"from the cgroup, 90 %", "", 2 * gib, nil, 2 * gib * 9 / 10, `limit=1843MiB from="the container's memory limit"`},
		{"GOMEMLIMIT is left alone", "1GiB", 2 * gib, nil, gib, `limit=1024MiB from="GOMEMLIMIT=1GiB"`},
		{"no cgroup limit", "", 0, memlimit.ErrNoLimit, math.MaxInt64, "limit=none"},
		{"not in a cgroup", "", 0, memlimit.ErrNoCgroup, math.MaxInt64, "limit=none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := debug.SetMemoryLimit(-1)
			t.Cleanup(func() { debug.SetMemoryLimit(before) })
			debug.SetMemoryLimit(math.MaxInt64)
			unsetenv(t, "AUTOMEMLIMIT")
			unsetenv(t, "GOMEMLIMIT")
			if tc.env != "" {
				t.Setenv("GOMEMLIMIT", tc.env)
				debug.SetMemoryLimit(gib) // what the runtime did at start
			}
			asked := false
			provider := func() (uint64, error) { asked = true; return tc.cgroup, tc.cgroupErr }
			var logs bytes.Buffer
			limitMemory(slog.New(slog.NewTextHandler(&logs, nil)), provider)
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("limit %d, want %d", got, tc.want)
			}
			if tc.env != "" && asked {
				t.Error("the cgroup was read although GOMEMLIMIT is set")
			}
			if !strings.Contains(logs.String(), tc.log) || strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("log %q, want %q and no warning", logs.String(), tc.log)
			}
		})
	}
}
