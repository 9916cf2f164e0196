package apicsim

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestDropSockets(t *testing.T) {
	for _, tc := range []struct {
		mode CloseMode
		code int
	}{
		{CloseNormal, websocket.CloseNormalClosure},
		{CloseGoingAway, websocket.CloseGoingAway},
		{CloseAbrupt, websocket.CloseAbnormalClosure},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			s := newSim(t, Config{})
			c := newClient(t, s, 0)
			c.mustLogin()
			_, id := c.subscribe("/api/class/fvTenant.json")
			if n, err := s.DropSockets(tc.mode); n != 1 || err != nil {
				t.Fatalf("dropped %d, %v", n, err)
			}
			c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _, err := c.ws.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("read: %v, want close code %d", err, tc.code)
			}
			// REST keeps working and, without a socket, subscribing fails.
			if r := c.get("/api/subscriptionRefresh.json?id=" + id); r.code != 200 {
				t.Fatalf("refresh after drop: %d", r.code)
			}
			if r := c.get("/api/class/fvTenant.json?subscription=yes"); r.code != http.StatusMethodNotAllowed {
				t.Fatalf("subscribe without socket: %d", r.code)
			}
			// Reopening the socket with the same token re-attaches the
			// live subscriptions (the default; see SubscriptionsDieWithSocket).
			c.dial()
			s.mustCreate(t, "fvTenant", "uni/tn-back")
			if f := c.readFrame(); f.IDs[0] != id {
				t.Fatalf("ids %v", f.IDs)
			}
		})
	}
}

func TestSubscriptionsDieWithSocket(t *testing.T) {
	s := newSim(t, Config{SubscriptionsDieWithSocket: true})
	c := newClient(t, s, 0)
	c.mustLogin()
	_, id := c.subscribe("/api/class/fvTenant.json")
	s.DropSockets(CloseNormal)
	if r := c.get("/api/subscriptionRefresh.json?id=" + id); r.code != 400 {
		t.Fatalf("refresh of a subscription that died with its socket: %d", r.code)
	}
}

func TestStalledSocketIsHalfOpen(t *testing.T) {
	s := newSim(t, Config{})
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/fvTenant.json")
	pong := make(chan struct{}, 4)
	c.ws.SetPongHandler(func(string) error { pong <- struct{}{}; return nil })
	// Healthy: a ping is answered.
	c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
	c.expectPong(t, pong, true)

	s.StallSockets()
	s.mustCreate(t, "fvTenant", "uni/tn-silent")
	c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
	c.expectPong(t, pong, false)
}

// expectPong reads until a pong arrives (want) or the read deadline passes.
func (c *client) expectPong(t *testing.T, pong chan struct{}, want bool) {
	t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	done := make(chan error, 1)
	go func() {
		_, data, err := c.ws.ReadMessage()
		if err == nil {
			err = errors.New("unexpected frame " + string(data))
		}
		done <- err
	}()
	select {
	case <-pong:
		if !want {
			t.Fatal("stalled socket answered a ping")
		}
		c.ws.Close()
		<-done
	case err := <-done:
		if want {
			t.Fatalf("no pong: %v", err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("stalled socket: %v, want a read timeout", err)
		}
	}
	if want { // the read goroutine consumed the socket; open a new one
		c.dial()
	}
}

func TestExpireSessions(t *testing.T) {
	s := newSim(t, Config{})
	c := newClient(t, s, 0)
	c.mustLogin()
	if n := s.ExpireSessions(); n != 1 {
		t.Fatalf("expired %d", n)
	}
	if r := c.get("/api/class/fvTenant.json"); r.code != 403 || r.errorText() != textTokenTimeout {
		t.Fatalf("%d %s", r.code, r.raw)
	}
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ws.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("socket: %v", err)
	}
}

func TestKillAndReviveController(t *testing.T) {
	s := newSim(t, Config{Controllers: 3})
	c := newClient(t, s, 1)
	c.mustLogin()
	if err := s.KillController(1); err != nil {
		t.Fatal(err)
	}
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ws.ReadMessage(); err == nil {
		t.Fatal("socket survived its controller")
	}
	if _, err := c.http.Get(s.URLs()[1] + "/api/class/fvTenant.json"); err == nil {
		t.Fatal("a dead controller answered")
	}
	if r := newClient(t, s, 2).login("admin", "password"); r.code != 200 {
		t.Fatalf("controller 3 while 2 is down: %d", r.code)
	}
	if err := s.ReviveController(1); err != nil {
		t.Fatal(err)
	}
	c.http.CloseIdleConnections()
	if r := c.get("/api/class/fvTenant.json"); r.code != 403 {
		t.Fatalf("old token on the revived controller: %d, want 403", r.code)
	}
	if r := c.login("admin", "password"); r.code != 200 {
		t.Fatalf("login on the revived controller: %d", r.code)
	}
	if st := s.Status(); !st.Controllers[1].Alive || st.Controllers[1].Sessions != 1 {
		t.Fatalf("status %+v", st.Controllers[1])
	}
}

func TestLatency(t *testing.T) {
	s := newSim(t, Config{})
	c := newClient(t, s, 0)
	s.SetLatency(150 * time.Millisecond)
	start := time.Now()
	c.login("admin", "password")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("answered after %v, want at least the injected 150ms", d)
	}
}

func TestInjectFrame(t *testing.T) {
	s := newSim(t, Config{})
	c := newClient(t, s, 0)
	c.mustLogin()
	_, id := c.subscribe("/api/class/fvTenant.json")
	for _, tc := range []struct {
		kind  string
		check func(f map[string]any) bool
	}{
		{FrameInvalidJSON, nil},
		{FrameNoDN, func(f map[string]any) bool { return !strings.Contains(mustJSON(f), `"dn"`) }},
		{FrameUnknownClass, func(f map[string]any) bool { return strings.Contains(mustJSON(f), "fooBarBaz") }},
		{FrameUnknownID, func(f map[string]any) bool { return !strings.Contains(mustJSON(f), id) }},
	} {
		if n, err := s.InjectFrame(tc.kind); n != 1 || err != nil {
			t.Fatalf("%s: %d %v", tc.kind, n, err)
		}
		c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var f map[string]any
		jerr := json.Unmarshal(data, &f)
		if tc.check == nil {
			if jerr == nil {
				t.Fatalf("%s: %s is valid JSON", tc.kind, data)
			}
			continue
		}
		if jerr != nil || !tc.check(f) {
			t.Fatalf("%s: %s", tc.kind, data)
		}
	}
	if _, err := s.InjectFrame("nonsense"); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRefuseComparisons: gt, ge, lt and le anywhere in a filter answer 400
// in the APIC's error envelope, and a refused subscribe makes no
// subscription; other operators and paging by number keep working.
func TestRefuseComparisons(t *testing.T) {
	s := newSim(t, Config{RefuseComparisons: true})
	for _, dn := range []string{"uni/tn-a", "uni/tn-b", "uni/tn-c"} {
		s.mustCreate(t, "fvTenant", dn)
	}
	c := newClient(t, s, 0)
	c.mustLogin()
	for _, tc := range []struct{ filter, op string }{
		{`gt(fvTenant.dn,"uni/tn-a")`, "gt"},
		{`ge(fvTenant.dn,"uni/tn-a")`, "ge"},
		{`and(eq(fvTenant.name,"b"),lt(fvTenant.dn,"uni/tn-c"))`, "lt"},
		{`or(eq(fvTenant.name,"b"),not(le(fvTenant.dn,"uni/tn-c")))`, "le"},
	} {
		r := c.get("/api/class/fvTenant.json?order-by=fvTenant.dn|asc&page=0&page-size=2&subscription=yes&query-target-filter=" + tc.filter)
		want := "Unable to process the query, unsupported operator " + tc.op + " in query-target-filter"
		if r.code != http.StatusBadRequest || r.errorText() != want || r.body["totalCount"] != "1" {
			t.Errorf("%s: %d %s, want 400 %q", tc.filter, r.code, r.raw, want)
		}
	}
	if n := s.Status().Subscriptions; n != 0 {
		t.Errorf("refused subscribes made %d subscriptions", n)
	}
	for _, path := range []string{
		`/api/class/fvTenant.json?query-target-filter=or(eq(fvTenant.dn,"uni/tn-a"),ne(fvTenant.dn,"x"),wcard(fvTenant.dn,"tn-"))`,
		"/api/class/fvTenant.json?order-by=fvTenant.dn|asc&page=1&page-size=2",
	} {
		if r := c.get(path); r.code != http.StatusOK {
			t.Errorf("%s: %d %s", path, r.code, r.raw)
		}
	}
	s.SetRefuseComparisons(false)
	if r := c.get(`/api/class/fvTenant.json?query-target-filter=gt(fvTenant.dn,"uni/tn-a")`); r.code != http.StatusOK || len(r.imdata()) != 2 {
		t.Errorf("switched off: %d %s", r.code, r.raw)
	}
}
