package apicsim

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestSubscribeNeedsAnOpenSocket(t *testing.T) {
	s := newSim(t, Config{})
	c := newClient(t, s, 0)
	c.login("admin", "password")
	r := c.get("/api/class/fvTenant.json?subscription=yes")
	if r.code != http.StatusMethodNotAllowed || r.errorText() != textNoSocket {
		t.Fatalf("got %d %s", r.code, r.raw)
	}
	// A plain query needs no socket.
	if r := c.get("/api/class/fvTenant.json"); r.code != 200 {
		t.Fatalf("plain query: %d", r.code)
	}
}

func TestSubscribeAnswer(t *testing.T) {
	s := newSim(t, Config{})
	for i := range 5 {
		s.mustCreate(t, "fvTenant", "uni/tn-t"+strconv.Itoa(i))
	}
	c := newClient(t, s, 0)
	c.mustLogin()
	r, id := c.subscribe("/api/node/class/fvTenant.json?page=0&page-size=2")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil || len(id) < 17 {
		t.Errorf("subscriptionId %q is not a large decimal", id)
	}
	if r.body["totalCount"] != "5" {
		t.Errorf("totalCount = %v, want the full count \"5\"", r.body["totalCount"])
	}
	im := r.imdata()
	if len(im) != 2 {
		t.Fatalf("page holds %d objects, want 2", len(im))
	}
	attrs := im[0]["fvTenant"].(map[string]any)["attributes"].(map[string]any)
	if attrs["status"] != "" || attrs["dn"] != "uni/tn-t0" || attrs["rn"] != "" || attrs["childAction"] != "" {
		t.Errorf("initial object %v: want status \"\" and dn uni/tn-t0", attrs)
	}
	_, id2 := c.subscribe("/api/class/fvTenant.json")
	if id2 == id {
		t.Errorf("two subscriptions share id %s", id)
	}
}

// TestEventFrames checks the three event shapes of apic-protocol.md §4 and
// that one change reaches the client once, listing every matching id.
func TestEventFrames(t *testing.T) {
	s := newSim(t, Config{})
	c := newClient(t, s, 0)
	c.mustLogin()
	_, all := c.subscribe("/api/class/fvBD.json")
	_, flooded := c.subscribe(`/api/class/fvBD.json?query-target-filter=eq(fvBD.arpFlood,"yes")`)
	_, other := c.subscribe("/api/class/fvTenant.json")

	full := map[string]string{"name": "CLbd", "arpFlood": "yes", "descr": "", "configIssues": "", "mac": "00:22:BD:F8:19:FF", "modTs": "2023-05-04T16:02:00.972-04:00"}
	if err := s.Create("fvBD", "uni/tn-CL/BD-CLbd", full); err != nil {
		t.Fatal(err)
	}
	f := c.readFrame()
	if got := sortedCopy(f.IDs); !slices.Equal(got, sortedCopy([]string{all, flooded})) {
		t.Fatalf("created frame ids %v, want %s and %s (not %s)", f.IDs, all, flooded, other)
	}
	class, attrs := f.object(0)
	want := maps.Clone(full)
	maps.Copy(want, map[string]string{"dn": "uni/tn-CL/BD-CLbd", "status": "created", "rn": "", "childAction": ""})
	if class != "fvBD" || !maps.Equal(attrs, want) {
		t.Fatalf("created %s %v\nwant all attributes %v", class, attrs, want)
	}

	if err := s.Modify("uni/tn-CL/BD-CLbd", map[string]string{"descr": "web", "name": "CLbd"}); err != nil {
		t.Fatal(err)
	}
	f = c.readFrame()
	_, attrs = f.object(0)
	if keys := slices.Sorted(maps.Keys(attrs)); !slices.Equal(keys, []string{"childAction", "descr", "dn", "modTs", "rn", "status"}) {
		t.Fatalf("modified carries %v, want only the changed attribute plus dn status modTs rn childAction", keys)
	}
	if attrs["descr"] != "web" || attrs["status"] != "modified" || attrs["modTs"] == full["modTs"] {
		t.Fatalf("modified %v", attrs)
	}

	// Leaving the filter: both subscriptions saw the object before the change.
	if err := s.Modify("uni/tn-CL/BD-CLbd", map[string]string{"arpFlood": "no"}); err != nil {
		t.Fatal(err)
	}
	if f = c.readFrame(); len(f.IDs) != 2 {
		t.Fatalf("change leaving a filter went to %v, want both ids", f.IDs)
	}

	if err := s.Delete("uni/tn-CL/BD-CLbd"); err != nil {
		t.Fatal(err)
	}
	f = c.readFrame()
	_, attrs = f.object(0)
	if keys := slices.Sorted(maps.Keys(attrs)); !slices.Equal(keys, []string{"childAction", "dn", "modTs", "rn", "status"}) || attrs["status"] != "deleted" {
		t.Fatalf("deleted %v, want the minimal set", attrs)
	}
	if !slices.Equal(f.IDs, []string{all}) {
		t.Fatalf("deleted frame ids %v, want [%s]", f.IDs, all)
	}
}

func TestSubtreeDeleteSendsOneEventPerObject(t *testing.T) {
	s := newSim(t, Config{})
	s.mustCreate(t, "fvTenant", "uni/tn-A")
	s.mustCreate(t, "fvAp", "uni/tn-A/ap-web")
	s.mustCreate(t, "fvAEPg", "uni/tn-A/ap-web/epg-e1")
	s.mustCreate(t, "fvAEPg", "uni/tn-A/ap-web/epg-e2")
	s.mustCreate(t, "fvBD", "uni/tn-A/BD-b")
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/fvAEPg.json")
	c.subscribe("/api/class/fvTenant.json")
	if err := s.Delete("uni/tn-A"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		f := c.readFrame()
		cls, attrs := f.object(0)
		got = append(got, cls+" "+attrs["dn"]+" "+attrs["status"])
	}
	want := []string{"fvAEPg uni/tn-A/ap-web/epg-e1 deleted", "fvAEPg uni/tn-A/ap-web/epg-e2 deleted", "fvTenant uni/tn-A deleted"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v (children first)", got, want)
	}
	if s.Count("fvBD") != 0 || s.Count("fvAp") != 0 {
		t.Fatal("subtree not removed")
	}
}

func TestBatchedFrames(t *testing.T) {
	s := newSim(t, Config{BatchSize: 8})
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/fvTenant.json")
	s.StallSockets() // hold the writer so the changes queue up
	for i := range 5 {
		s.mustCreate(t, "fvTenant", "uni/tn-b"+strconv.Itoa(i))
	}
	for _, sock := range s.openSockets() {
		sock.stalled.Store(false)
		sock.kick()
	}
	f := c.readFrame()
	if len(f.Imdata) != 5 {
		t.Fatalf("frame holds %d objects, want all 5 queued changes in one frame", len(f.Imdata))
	}
	for i := range 5 {
		if _, attrs := f.object(i); attrs["dn"] != "uni/tn-b"+strconv.Itoa(i) {
			t.Fatalf("object %d is %s: order lost", i, attrs["dn"])
		}
	}
}

func TestSubscriptionRefreshAndExpiry(t *testing.T) {
	clock := newTestClock()
	s := newSim(t, Config{Now: clock.Now})
	c := newClient(t, s, 0)
	c.mustLogin()
	_, id := c.subscribe("/api/class/fvTenant.json")
	_, long := c.subscribe("/api/class/fvCtx.json?refresh-timeout=600")

	clock.Advance(50 * time.Second)
	r := c.get("/api/subscriptionRefresh.json?id=" + id)
	if r.code != 200 || string(r.raw) != `{"totalCount":"0","imdata":[]}` {
		t.Fatalf("refresh: %d %s", r.code, r.raw)
	}
	clock.Advance(50 * time.Second) // 100 s after subscribing, 50 after the refresh
	s.mustCreate(t, "fvTenant", "uni/tn-x")
	if f := c.readFrame(); f.IDs[0] != id {
		t.Fatalf("refreshed subscription did not get the push: %v", f.IDs)
	}
	clock.Advance(11 * time.Second) // 61 s after the refresh: expired (default 60 s)
	if r := c.get("/api/subscriptionRefresh.json?id=" + id); r.code != 400 {
		t.Fatalf("late refresh answered %d, want 400", r.code)
	}
	s.mustCreate(t, "fvTenant", "uni/tn-y")
	s.mustCreate(t, "fvCtx", "uni/tn-y/ctx-v") // refresh-timeout=600 keeps this one alive
	f := c.readFrame()
	if _, attrs := f.object(0); attrs["dn"] != "uni/tn-y/ctx-v" || f.IDs[0] != long {
		t.Fatalf("got %v %v: the expired subscription must stay silent", f.IDs, attrs)
	}
}

func TestRefreshFailureShapes(t *testing.T) {
	for _, tc := range []struct {
		shape    RefreshFailure
		code     int
		hasError bool
	}{
		{RefreshHTTP400, 400, true},
		{RefreshError200, 200, true},
		{RefreshSilent200, 200, false},
	} {
		t.Run(string(tc.shape), func(t *testing.T) {
			s := newSim(t, Config{})
			c := newClient(t, s, 0)
			c.mustLogin()
			_, id := c.subscribe("/api/class/fvTenant.json")
			if n := s.KillSubscriptions(tc.shape); n != 1 {
				t.Fatalf("killed %d", n)
			}
			r := c.get("/api/subscriptionRefresh.json?id=" + id)
			if r.code != tc.code || (r.errorText() != "") != tc.hasError {
				t.Fatalf("refresh of a dead id: %d %s", r.code, r.raw)
			}
			// Still dead after the (maybe 200) refresh: nothing is pushed.
			s.mustCreate(t, "fvTenant", "uni/tn-z")
			c.expectNoFrame(200 * time.Millisecond)
		})
	}
}

func TestDuplicateCookieGetsIDButNoPushes(t *testing.T) {
	s := newSim(t, Config{StrictCookies: true})
	c := newClient(t, s, 0)
	c.mustLogin()
	ck := "APIC-cookie=" + c.token
	r := c.do("GET", "/api/class/fvTenant.json?subscription=yes", nil, ck, ck)
	if r.code != 200 || r.body["subscriptionId"] == nil {
		t.Fatalf("got %d %s", r.code, r.raw)
	}
	s.mustCreate(t, "fvTenant", "uni/tn-d")
	c.expectNoFrame(200 * time.Millisecond)
}

func TestEarlyPushArrivesBeforeSubscribeAnswer(t *testing.T) {
	s := newSim(t, Config{})
	s.mustCreate(t, "fvTenant", "uni/tn-e")
	s.SetEarlyPush(true)
	c := newClient(t, s, 0)
	c.mustLogin()
	r, id := c.subscribe("/api/class/fvTenant.json")
	// The answer came back only after the push was written, so the frame
	// is already waiting on the socket.
	f := c.readFrame()
	if !slices.Equal(f.IDs, []string{id}) {
		t.Fatalf("frame ids %v, want [%s]", f.IDs, id)
	}
	_, attrs := f.object(0)
	if attrs["status"] != "modified" || attrs["dn"] != "uni/tn-e" {
		t.Fatalf("early push %v", attrs)
	}
	var answer struct{ Imdata []json.RawMessage }
	json.Unmarshal(r.raw, &answer)
	if len(answer.Imdata) != 1 {
		t.Fatalf("answer %s", r.raw)
	}
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }
