package e2e

import (
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
)

// TestRefreshesKeepTheStreamAlive: with a 2 s token idle lifetime, 3 s
// subscriptions and a 6 s maximum token lifetime, the exporter refreshes
// both early, logs in again before the token's end, and the counts stay
// exact through it all.
func TestRefreshesKeepTheStreamAlive(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{
		RefreshTimeout: 2 * time.Second,
		MaxLifetime:    6 * time.Second,
	}, "demo", 11)
	e := startExporter(t, f.yaml("    subscription_refresh_timeout: 3s\n"))
	e.waitReady()
	f.churn(200, 12)
	ctrl := "controller=" + f.sim.URLs()[0] + ",fabric=prod"
	// Past several token and subscription lifetimes and one maximum lifetime.
	eventually(t, 30*time.Second, "a re-login before the maximum lifetime", func() bool {
		return e.value(t, "aci_logins_total", ctrl) >= 2 && e.value(t, "aci_up", "fabric=prod") == 1
	})
	f.sim.StopChurn()
	assertTruth(t, e, f)
	if got := e.value(t, "aci_token_refreshes_total", "fabric=prod"); got < 3 {
		t.Errorf("token refreshes = %g, want several", got)
	}
	if got := e.value(t, "aci_token_refresh_failures_total", "fabric=prod"); got != 0 {
		t.Errorf("token refresh failures = %g", got)
	}
	if got := e.value(t, "aci_subscription_refreshes_total", "fabric=prod,subscription=fvTenant"); got < 2 {
		t.Errorf("subscription refreshes = %g, want several", got)
	}
	if got := e.value(t, "aci_login_failures_total", ctrl); got != 0 {
		t.Errorf("login failures = %g", got)
	}
}
