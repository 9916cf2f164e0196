package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
)

// TestBadPasswordRetriesSlowly: a rejected password is a clear error and a
// failure metric, retried at the slow end of the backoff; once the password
// file holds the right secret, the next login works without a reload.
func TestBadPasswordRetriesSlowly(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "demo", 1)
	if err := os.WriteFile(f.pw, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := t.TempDir() + "/aci.yml"
	writeConfig(t, cfg, f.yaml(""))
	e := startExporterArgs(t, "--config.file="+cfg, "--apic.backoff-min=10ms", "--apic.backoff-max=3s")
	ctrl := "controller=" + f.sim.URLs()[0] + ",fabric=prod"
	eventually(t, 10*time.Second, "a failed login", func() bool { return e.value(t, "aci_login_failures_total", ctrl) >= 1 })
	if !strings.Contains(e.Out.String(), "Username or password is incorrect") {
		t.Errorf("the log does not say why:\n%s", e.Out)
	}
	// With a 10 ms minimum backoff, a hammering client would try hundreds
	// of times a second; a rejected password waits 1.5–3 s instead.
	first := time.Now()
	eventually(t, 10*time.Second, "a second attempt", func() bool { return e.value(t, "aci_logins_total", ctrl) >= 2 })
	if d := time.Since(first); d < time.Second {
		t.Errorf("retried a rejected password after %v", d)
	}
	if err := os.WriteFile(f.pw, []byte("s3cret-prod\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.waitReady()
	if got := e.value(t, "aci_up", "fabric=prod"); got != 1 {
		t.Fatalf("aci_up = %g", got)
	}
}

// TestObjectCap: beyond max_objects objects are not tracked, and the
// exporter says so instead of growing without bound.
func TestObjectCap(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "demo", 1)
	e := startExporter(t, f.yaml("    max_objects: 50\n"))
	e.waitReady()
	if got := e.value(t, "aci_objects_limit_reached", "fabric=prod"); got != 1 {
		t.Fatalf("aci_objects_limit_reached = %g, want 1", got)
	}
	s, err := e.scrape("aci_objects")
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, v := range s {
		total += v
	}
	if total != 50 {
		t.Fatalf("tracking %g objects, want the cap of 50", total)
	}
	if got := e.value(t, "aci_objects_limit", "fabric=prod"); got != 50 {
		t.Fatalf("aci_objects_limit = %g", got)
	}
}
