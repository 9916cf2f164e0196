package apicsim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestLoginAnswerShape(t *testing.T) {
	for _, jwt := range []bool{false, true} {
		t.Run("jwt="+strconv.FormatBool(jwt), func(t *testing.T) {
			s := newSim(t, Config{JWTTokens: jwt, RefreshTimeout: 600 * time.Second})
			c := newClient(t, s, 0)
			r := c.login("admin", "password")
			if r.code != http.StatusOK {
				t.Fatalf("status %d: %s", r.code, r.raw)
			}
			if got := r.body["totalCount"]; got != "1" {
				t.Errorf("totalCount = %#v, want \"1\"", got)
			}
			l := r.imdata()[0]["aaaLogin"].(map[string]any)
			attrs := l["attributes"].(map[string]any)
			for _, k := range []string{"token", "refreshTimeoutSeconds", "maximumLifetimeSeconds", "creationTime", "node", "version", "userName", "sessionId", "siteFingerprint"} {
				if _, ok := attrs[k].(string); !ok {
					t.Errorf("attribute %s = %#v, want a string", k, attrs[k])
				}
			}
			for k, v := range attrs {
				if _, ok := v.(string); !ok {
					t.Errorf("attribute %s is %T, APIC sends only strings", k, v)
				}
			}
			if got := attrs["refreshTimeoutSeconds"]; got != "600" {
				t.Errorf("refreshTimeoutSeconds = %v", got)
			}
			if got := attrs["maximumLifetimeSeconds"]; got != "86400" {
				t.Errorf("maximumLifetimeSeconds = %v", got)
			}
			if got := attrs["node"]; got != "topology/pod-1/node-1" {
				t.Errorf("node = %v", got)
			}
			tok := c.token
			if jwt && !strings.HasPrefix(tok, "eyJhbGciOiJSUzI1NiIs") {
				t.Errorf("jwt token %q", tok)
			}
			if !jwt && !(strings.ContainsAny(tok, "+") && strings.Contains(tok, "/") && strings.HasSuffix(tok, "=")) {
				t.Errorf("legacy token %q must contain + / and = padding", tok)
			}
			if got, want := r.header.Get("Set-Cookie"), "APIC-cookie="+tok+"; path=/; HttpOnly; HttpOnly; Secure"; got != want {
				t.Errorf("Set-Cookie = %q, want %q", got, want)
			}
		})
	}
}

func TestAuthErrors(t *testing.T) {
	s := newSim(t, Config{})
	c := newClient(t, s, 0)
	tests := []struct {
		name     string
		do       func() *response
		code     int
		wantText string
	}{
		{"bad password", func() *response { return c.login("admin", "wrong") }, 401, textBadPassword},
		{"unknown user", func() *response { return c.login("nobody", "password") }, 401, textBadPassword},
		{"no cookie", func() *response { return c.do("GET", "/api/class/fvTenant.json", nil, "other=1") }, 403, textNoCookie},
		{"unknown token", func() *response {
			return c.do("GET", "/api/class/fvTenant.json", nil, "APIC-cookie=bogus")
		}, 403, textTokenTimeout},
		{"refresh without cookie", func() *response { return c.do("GET", "/api/aaaRefresh.json", nil, "x=y") }, 403, textNoCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			if r.code != tt.code || r.errorText() != tt.wantText {
				t.Fatalf("got %d %q, want %d %q", r.code, r.errorText(), tt.code, tt.wantText)
			}
			// The envelope: totalCount "1", imdata[0].error.attributes.code as a string.
			want := `{"totalCount":"1","imdata":[{"error":{"attributes":{"code":"` + strconv.Itoa(tt.code) + `","text":"` + tt.wantText + `"}}}]}`
			if string(r.raw) != want {
				t.Fatalf("body\n%s\nwant\n%s", r.raw, want)
			}
		})
	}
}

func TestCookieNameIsCaseInsensitive(t *testing.T) {
	s := newSim(t, Config{})
	c := newClient(t, s, 0)
	c.login("admin", "password")
	for _, name := range []string{"APIC-cookie", "APIC-Cookie", "apic-cookie"} {
		if r := c.do("GET", "/api/class/fvTenant.json", nil, name+"="+c.token); r.code != http.StatusOK {
			t.Errorf("cookie %s: %d %s", name, r.code, r.raw)
		}
	}
}

func TestRefreshRenewsTokenAndKeepsSession(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cfg         Config
		oldWorks    bool
		sameToken   bool
		advanceGrce time.Duration
	}{
		{name: "new token, old invalid", cfg: Config{}},
		{name: "old token in grace", cfg: Config{OldTokenGrace: time.Minute}, oldWorks: true},
		{name: "same token", cfg: Config{SameTokenOnRefresh: true}, oldWorks: true, sameToken: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.cfg)
			s.mustCreate(t, "fvTenant", "uni/tn-a")
			c := newClient(t, s, 0)
			c.mustLogin()
			_, id := c.subscribe("/api/class/fvTenant.json")
			old := c.token
			r := c.get("/api/aaaRefresh.json")
			if r.code != http.StatusOK {
				t.Fatalf("refresh: %d %s", r.code, r.raw)
			}
			if _, ok := r.imdata()[0]["aaaLogin"]; !ok {
				t.Fatalf("refresh answer is not an aaaLogin record: %s", r.raw)
			}
			c.token = loginAttr(r, "token")
			if (c.token == old) != tc.sameToken {
				t.Fatalf("token changed = %v, want %v", c.token != old, !tc.sameToken)
			}
			if got := r.header.Get("Set-Cookie"); !strings.HasPrefix(got, "APIC-cookie="+c.token+";") {
				t.Errorf("Set-Cookie %q does not carry the new token", got)
			}
			oldR := c.do("GET", "/api/class/fvTenant.json", nil, "APIC-cookie="+old)
			if (oldR.code == http.StatusOK) != tc.oldWorks {
				t.Errorf("old token answered %d, want works=%v", oldR.code, tc.oldWorks)
			}
			// The socket and subscription survive the refresh.
			s.mustCreate(t, "fvTenant", "uni/tn-b")
			f := c.readFrame()
			if len(f.IDs) != 1 || f.IDs[0] != id {
				t.Fatalf("frame ids %v, want [%s]", f.IDs, id)
			}
			if r := c.get("/api/subscriptionRefresh.json?id=" + id); r.code != http.StatusOK {
				t.Fatalf("subscription refresh with new token: %d", r.code)
			}
		})
	}
}

func TestLogoutEndsSessionAndClosesSocket(t *testing.T) {
	s := newSim(t, Config{})
	c := newClient(t, s, 0)
	c.mustLogin()
	r := c.do("POST", "/api/aaaLogout.json", []byte(`{"aaaUser":{"attributes":{"name":"admin"}}}`))
	if r.code != 200 || string(r.raw) != `{"totalCount":"0","imdata":[]}` {
		t.Fatalf("logout: %d %s", r.code, r.raw)
	}
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("socket read after logout: %v, want close 1000", err)
	}
	if r := c.get("/api/class/fvTenant.json"); r.code != 403 || r.errorText() != textTokenTimeout {
		t.Fatalf("token after logout: %d %s", r.code, r.raw)
	}
}

func TestIdleExpiryAndMaximumLifetime(t *testing.T) {
	clock := newTestClock()
	s := newSim(t, Config{Now: clock.Now, RefreshTimeout: 600 * time.Second, MaxLifetime: 4 * time.Hour})

	t.Run("idle", func(t *testing.T) {
		c := newClient(t, s, 0)
		c.mustLogin()
		clock.Advance(599 * time.Second)
		if r := c.refresh(); r.code != 200 {
			t.Fatalf("refresh before the idle timeout: %d", r.code)
		}
		clock.Advance(601 * time.Second)
		if r := c.get("/api/class/fvTenant.json"); r.code != 403 || r.errorText() != textTokenTimeout {
			t.Fatalf("after idle timeout: %d %s", r.code, r.raw)
		}
		// The reaper closes the expired session's socket with a close frame.
		c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ws.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("socket after expiry: %v", err)
		}
	})
	t.Run("maximum lifetime", func(t *testing.T) {
		c := newClient(t, s, 0)
		c.mustLogin()
		for range 26 { // refreshed every 9 minutes, still ends at 4 h
			clock.Advance(9 * time.Minute)
			if r := c.refresh(); r.code != 200 {
				t.Fatalf("refresh at %v: %d", clock.Now(), r.code)
			}
		}
		clock.Advance(9 * time.Minute) // 243 minutes
		if r := c.refresh(); r.code != 403 {
			t.Fatalf("refresh at the maximum lifetime: %d, want 403", r.code)
		}
	})
}

func TestTokensBelongToTheirController(t *testing.T) {
	for _, wide := range []bool{false, true} {
		s := newSim(t, Config{Controllers: 3, ClusterWideTokens: wide})
		c1 := newClient(t, s, 0)
		c1.login("admin", "password")
		c2 := newClient(t, s, 1)
		c2.token = c1.token
		r := c2.get("/api/class/fvTenant.json")
		if (r.code == 200) != wide {
			t.Errorf("cluster-wide=%v: token of node 1 on node 2 answered %d", wide, r.code)
		}
		if got := loginAttr(newClient(t, s, 2).login("admin", "password"), "node"); got != "topology/pod-1/node-3" {
			t.Errorf("node of controller 3 = %q", got)
		}
	}
}

func TestThrottledLoginAnswersHTML(t *testing.T) {
	s := newSim(t, Config{LoginRate: 2})
	c := newClient(t, s, 0)
	codes := []int{}
	for range 3 {
		codes = append(codes, c.login("admin", "password").code)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 503 {
		t.Fatalf("codes %v, want 200 200 503 at 2 logins/s", codes)
	}
	s.ThrottleLogins(true)
	r := c.login("admin", "password")
	if r.code != 503 || !strings.HasPrefix(string(r.raw), "<html>") || r.header.Get("Content-Type") != "text/html" {
		t.Fatalf("throttled login: %d %q %q", r.code, r.header.Get("Content-Type"), r.raw)
	}
}
