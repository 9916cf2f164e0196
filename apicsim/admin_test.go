package apicsim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAdminHandler(t *testing.T) {
	s := newSim(t, Config{Controllers: 2})
	s.mustCreate(t, "fvTenant", "uni/tn-A")
	var rate float64 = -1
	srv := httptest.NewServer(s.AdminHandler(func(r float64) { rate = r }))
	defer srv.Close()
	defer http.DefaultClient.CloseIdleConnections()
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/fvTenant.json")

	post := func(path string) (int, string) {
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/churn?rate=50", 200, "churn rate 50/s"},
		{"/churn?rate=-1", 400, "rate must be a number >= 0"},
		{"/faults/throttle-logins?on=true", 200, "throttle-logins true"},
		{"/faults/throttle-logins?on=false", 200, "throttle-logins false"},
		{"/faults/early-push?on=maybe", 400, "on must be true or false"},
		{"/faults/refuse-comparisons?on=true", 200, "refuse-comparisons true"},
		{"/faults/refuse-comparisons?on=false", 200, "refuse-comparisons false"},
		{"/faults/latency?duration=0s", 200, "latency 0s"},
		{"/faults/refresh-failure?shape=error200", 200, "refresh failure set to error200"},
		{"/faults/refresh-failure?shape=bogus", 400, `unknown refresh failure "bogus" (want http400, error200 or silent200)`},
		{"/faults/inject-frame?kind=no-dn", 200, "injected into 1 sockets"},
		{"/faults/kill-subscriptions?shape=silent200", 200, "killed 1 subscriptions"},
		{"/faults/drop-sockets?mode=abrupt", 200, "dropped 1 sockets"},
		{"/faults/stall-sockets", 200, "stalled 0 sockets"},
		{"/faults/expire-sessions", 200, "expired 1 sessions"},
		{"/faults/kill-controller?index=1", 200, "controller 1 killed"},
		{"/faults/revive-controller?index=1", 200, "controller 1 revived"},
		{"/faults/kill-controller?index=7", 400, "no controller 7 (have 0..1)"},
		{"/faults/nonsense", 400, `unknown fault "nonsense"`},
	} {
		code, body := post(tc.path)
		if code != tc.code || body != tc.body {
			t.Errorf("POST %s: %d %q, want %d %q", tc.path, code, body, tc.code, tc.body)
		}
	}
	if rate != 50 {
		t.Errorf("churn callback got %v", rate)
	}

	resp, err := http.Get(srv.URL + "/truth?user=admin&fabric=lab")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `aci_objects{fabric="lab",class="fvTenant",tenant="A"} 1`) {
		t.Fatalf("truth:\n%s", b)
	}
	resp, err = http.Get(srv.URL + "/truth")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("truth without user: %d", resp.StatusCode)
	}
}
