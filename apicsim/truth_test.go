package apicsim

import (
	"maps"
	"strings"
	"testing"
	"time"
)

func wantTruth(t *testing.T, got map[ChangeKey]int, want map[ChangeKey]int) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("changes\n got %v\nwant %v", got, want)
	}
}

// TestTruthHandWorked walks one client through a baseline, live changes, a
// socket drop with changes in the gap, and a resubscribe; the expected
// numbers are worked out by hand from the definition in truth.go.
func TestTruthHandWorked(t *testing.T) {
	s := newSim(t, Config{})
	s.mustCreate(t, "fvTenant", "uni/tn-A")
	s.mustCreate(t, "fvTenant", "uni/tn-B")
	s.mustCreate(t, "fvBD", "uni/tn-A/BD-keep")
	s.mustCreate(t, "fvBD", "uni/tn-A/BD-mod")
	s.mustCreate(t, "fvBD", "uni/tn-A/BD-gone")
	s.mustCreate(t, "fvBD", "uni/tn-B/BD-same")
	s.mustCreate(t, "faultInst", "uni/tn-B/BD-same/fault-F1", "lc", "raised", "modTs", "never")

	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/fvBD.json")
	c.subscribe("/api/class/faultInst.json")
	c.subscribe(`/api/class/faultInst.json?query-target-filter=eq(faultInst.lc,"raised")`)

	// Baseline: nothing counted, objects counted per tenant.
	tr := s.Truth("admin")
	wantTruth(t, tr.Changes, map[ChangeKey]int{})
	if want := map[ObjectKey]int{{"fvBD", "A"}: 3, {"fvBD", "B"}: 1, {"faultInst", "B"}: 1}; !maps.Equal(tr.Objects, want) {
		t.Fatalf("objects %v, want %v", tr.Objects, want)
	}

	// Live: each change once, even when two subscriptions see it.
	s.mustCreate(t, "fvBD", "uni/tn-B/BD-new")
	s.Modify("uni/tn-A/BD-keep", map[string]string{"descr": "x"})
	s.Modify("uni/tn-B/BD-same/fault-F1", map[string]string{"lc": "raised-clearing"})
	s.mustCreate(t, "fvTenant", "uni/tn-C") // not subscribed: not counted
	for range 3 {
		c.readFrame()
	}
	wantTruth(t, s.Truth("admin").Changes, map[ChangeKey]int{
		{"fvBD", "B", "created"}:       1,
		{"fvBD", "A", "modified"}:      1,
		{"faultInst", "B", "modified"}: 1,
	})

	// Gap: the socket drops; changes happen; the client logs in again.
	if _, err := s.DropSockets(CloseAbrupt); err != nil {
		t.Fatal(err)
	}
	s.Modify("uni/tn-A/BD-mod", map[string]string{"descr": "1"})
	s.Modify("uni/tn-A/BD-mod", map[string]string{"descr": "2"})             // two changes, one net modified
	s.Delete("uni/tn-A/BD-gone")                                             // deleted
	s.mustCreate(t, "fvBD", "uni/tn-B/BD-flash")                             // created and ...
	s.Delete("uni/tn-B/BD-flash")                                            // ... deleted: nothing
	s.mustCreate(t, "fvBD", "uni/tn-C/BD-born")                              // created
	s.Modify("uni/tn-B/BD-same/fault-F1", map[string]string{"lc": "raised"}) // back to its old state (modTs never): nothing
	s.Modify("uni/tn-B/BD-same/fault-F1", map[string]string{"lc": "raised-clearing"})

	c2 := newClient(t, s, 0)
	c2.mustLogin()
	c2.subscribe("/api/class/fvBD.json")
	c2.subscribe("/api/class/faultInst.json")

	tr = s.Truth("admin")
	wantTruth(t, tr.Changes, map[ChangeKey]int{
		{"fvBD", "B", "created"}:       1,
		{"fvBD", "A", "modified"}:      2,
		{"faultInst", "B", "modified"}: 1,
		{"fvBD", "A", "deleted"}:       1,
		{"fvBD", "C", "created"}:       1,
	})
	if want := map[ResyncKey]int{{"fvBD", "modified"}: 1, {"fvBD", "deleted"}: 1, {"fvBD", "created"}: 1}; !maps.Equal(tr.ResyncChanges, want) {
		t.Fatalf("resync %v, want %v", tr.ResyncChanges, want)
	}
	if want := map[ObjectKey]int{{"fvBD", "A"}: 2, {"fvBD", "B"}: 2, {"fvBD", "C"}: 1, {"faultInst", "B"}: 1}; !maps.Equal(tr.Objects, want) {
		t.Fatalf("objects %v, want %v", tr.Objects, want)
	}
}

// TestTruthUnwrittenPushesAreGapChanges: changes queued for a stalled
// (half-open) socket never reach the client, so when it gives up they
// count as one net difference, not as live changes.
func TestTruthUnwrittenPushesAreGapChanges(t *testing.T) {
	s := newSim(t, Config{})
	s.mustCreate(t, "fvTenant", "uni/tn-A")
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/fvTenant.json")
	s.StallSockets()
	s.Modify("uni/tn-A", map[string]string{"descr": "1"})
	s.Modify("uni/tn-A", map[string]string{"descr": "2"})
	s.mustCreate(t, "fvTenant", "uni/tn-B")
	s.Delete("uni/tn-B")
	// Queued pushes count as seen until the client gives up on the socket.
	wantTruth(t, s.Truth("admin").Changes, map[ChangeKey]int{{"fvTenant", "A", "modified"}: 2, {"fvTenant", "B", "created"}: 1, {"fvTenant", "B", "deleted"}: 1})
	c.ws.Close()
	eventually(t, "the socket to close", func() bool { return len(s.openSockets()) == 0 })
	c2 := newClient(t, s, 0)
	c2.mustLogin()
	c2.subscribe("/api/class/fvTenant.json")
	wantTruth(t, s.Truth("admin").Changes, map[ChangeKey]int{{"fvTenant", "A", "modified"}: 1})
}

// TestTruthExpiredSubscription: an expired subscription is a gap too, and
// a subscribe whose scope does not cover an object leaves it unsettled.
func TestTruthExpiredSubscription(t *testing.T) {
	clock := newTestClock()
	s := newSim(t, Config{Now: clock.Now, RefreshTimeout: time.Hour})
	s.mustCreate(t, "fvTenant", "uni/tn-A")
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/fvTenant.json")
	clock.Advance(61 * time.Second)
	s.mustCreate(t, "fvTenant", "uni/tn-B")
	s.Modify("uni/tn-A", map[string]string{"descr": "changed"})
	wantTruth(t, s.Truth("admin").Changes, map[ChangeKey]int{})
	c.subscribe("/api/class/fvTenant.json")
	wantTruth(t, s.Truth("admin").Changes, map[ChangeKey]int{{"fvTenant", "B", "created"}: 1, {"fvTenant", "A", "modified"}: 1})
}

func TestTruthText(t *testing.T) {
	tr := Truth{
		Objects:       map[ObjectKey]int{{"fvTenant", "A"}: 2, {"faultInst", ""}: 1},
		Changes:       map[ChangeKey]int{{"fvTenant", "A", "created"}: 3},
		ResyncChanges: map[ResyncKey]int{{"fvTenant", "created"}: 1},
	}
	var b strings.Builder
	tr.WriteText(&b, "prod")
	want := `# TYPE aci_objects gauge
aci_objects{fabric="prod",class="faultInst",tenant=""} 1
aci_objects{fabric="prod",class="fvTenant",tenant="A"} 2
# TYPE aci_object_changes_total counter
aci_object_changes_total{fabric="prod",class="fvTenant",tenant="A",status="created"} 3
# TYPE aci_object_resync_changes_total counter
aci_object_resync_changes_total{fabric="prod",class="fvTenant",status="created"} 1
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
