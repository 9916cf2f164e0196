package apicsim

import (
	"maps"
	"testing"
	"time"
)

// TestStateNodeUpgrade: the first leaf lost is reloaded for an upgrade and
// comes back on the next release, fabricNode and topSystem alike; the
// next one lost comes back on the release it had.
func TestStateNodeUpgrade(t *testing.T) {
	f, c, clock := stateTestFabric(t, "demo", stateTestQuiet)
	lose := func() *topoNode {
		t.Helper()
		if moved, err := c.loseNode(); !moved || err != nil {
			t.Fatalf("loseNode: %v %v", moved, err)
		}
		for _, l := range c.leaves {
			if f.mustGet(t, l.dn())["fabricSt"] == "inactive" {
				return l
			}
		}
		t.Fatal("no leaf is inactive")
		return nil
	}
	backOn := func(n *topoNode) string {
		t.Helper()
		for range 200 {
			clock.Advance(time.Second)
			fireDue(t, c)
			if f.mustGet(t, n.dn())["fabricSt"] == "active" {
				v := f.mustGet(t, n.dn())["version"]
				f.wantAttrs(t, n.sysDN(), "version", v, "state", "in-service")
				return v
			}
		}
		t.Fatalf("leaf %d never came back", n.id)
		return ""
	}
	n := lose()
	was := f.mustGet(t, n.dn())["version"]
	if was != mdlSwitchReleases[0] {
		t.Fatalf("leaf %d starts on %s, want %s", n.id, was, mdlSwitchReleases[0])
	}
	if got := backOn(n); got != mdlSwitchReleases[1] {
		t.Errorf("upgraded leaf %d came back on %s, want %s", n.id, got, mdlSwitchReleases[1])
	}
	m := lose()
	was = f.mustGet(t, m.dn())["version"]
	if got := backOn(m); got != was {
		t.Errorf("lost leaf %d came back on %s, want %s as before", m.id, got, was)
	}
	if got := mdlNextRelease(mdlSwitchReleases[len(mdlSwitchReleases)-1]); got != mdlSwitchReleases[0] {
		t.Errorf("after the last release: %s", got)
	}
	f.checkClean(t)
}

// severityWatch is a fabric that records how raised faults change
// severity and acknowledgement.
type severityWatch struct {
	*fakeFabric
	seen map[string]int
}

func (w *severityWatch) Modify(dn string, changed map[string]string) error {
	pre, _ := w.Get(dn)
	pre = maps.Clone(pre)
	if err := w.fakeFabric.Modify(dn, changed); err != nil {
		return err
	}
	post, _ := w.Get(dn)
	if pre["lc"] != "raised" || post["lc"] != "raised" {
		return nil
	}
	switch from, to := mdlSevRank(pre["severity"]), mdlSevRank(post["severity"]); {
	case to > from:
		w.seen["escalated"]++
	case to < from:
		w.seen["de-escalated"]++
	}
	if pre["ack"] == "no" && post["ack"] == "yes" {
		w.seen["acknowledged"]++
	}
	return nil
}

// TestStateDemoFaultSeverities: within a minute of the demo's churn,
// raised faults are escalated, de-escalated and acknowledged.
func TestStateDemoFaultSeverities(t *testing.T) {
	p := churnTestProfile(t, "demo")
	clock := newTestClock()
	w := &severityWatch{fakeFabric: newFakeFabric(), seen: map[string]int{}}
	if err := Populate(w, p, 1, clock.Now); err != nil {
		t.Fatal(err)
	}
	c := NewChurn(w, p, 1, clock.Now)
	for range 1200 {
		clock.Advance(50 * time.Millisecond)
		if err := c.Step(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("raised faults in a minute: %v", w.seen)
	for _, want := range []string{"escalated", "de-escalated", "acknowledged"} {
		if w.seen[want] == 0 {
			t.Errorf("no raised fault %s", want)
		}
	}
	w.checkClean(t)
}
