package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// setMemoryLimit sets the Go memory limit to 90 % of the container's
// memory limit (cgroup v1 or v2), so that the garbage collector works
// harder before the kernel's OOM killer steps in, and logs the limit in
// force. A GOMEMLIMIT environment variable wins: the runtime has applied it
// already. AUTOMEMLIMIT sets another ratio, or "off".
func setMemoryLimit(logger *slog.Logger) { limitMemory(logger, memlimit.FromCgroup) }

// limitMemory is setMemoryLimit with the container's limit read by provider.
func limitMemory(logger *slog.Logger, provider memlimit.Provider) {
	_, err := memlimit.SetGoMemLimitWithOpts(memlimit.WithProvider(provider))
	if err != nil && !errors.Is(err, memlimit.ErrNoCgroup) && !errors.Is(err, memlimit.ErrCgroupsNotSupported) {
		logger.Warn("Could not read the container's memory limit", "err", err)
	}
	limit := "none"
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		limit = fmt.Sprintf("%dMiB", l>>20)
	}
	from := "the container's memory limit"
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		from = "GOMEMLIMIT=" + v
	} else if v, ok := os.LookupEnv("AUTOMEMLIMIT"); ok {
		from += ", AUTOMEMLIMIT=" + v
	}
	logger.Info("Go memory limit", "limit", limit, "from", from)
}
