package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// TestTruthUnderChurn: a medium fabric (53 tenants, 10 classes and the
// fabric-state ones) churning at 1000 changes/s; once the churn stops,
// every object gauge, change counter and state series equals the
// simulator's ground truth.
func TestTruthUnderChurn(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "medium", 1)
	e := startExporter(t, f.yaml(""))
	e.waitReady()
	f.churn(1000, 2)
	eventually(t, 10*time.Second, "churn", func() bool {
		return f.sim.Status().Objects > 0 && e.value(t, "aci_websocket_messages_total", "fabric=prod") > 1500
	})
	f.sim.StopChurn()
	assertTruth(t, e, f)
	requireTransitions(t, f, "aci_fault_transitions_total", "aci_interface_link_transitions_total")
}

// TestTruthAcrossSocketDrops: the socket drops three ways in the middle of
// the churn; the exporter logs in again, resyncs, and the counts stay exact,
// including the changes and state transitions it recovered from the gaps.
func TestTruthAcrossSocketDrops(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "medium", 3)
	e := startExporter(t, f.yaml(""))
	e.waitReady()
	f.churn(800, 4)
	for i, mode := range []apicsim.CloseMode{apicsim.CloseAbrupt, apicsim.CloseNormal, apicsim.CloseGoingAway} {
		if n, err := f.sim.DropSockets(mode); err != nil || n != 1 {
			t.Fatalf("drop %s: %d %v", mode, n, err)
		}
		eventually(t, 10*time.Second, "resync", func() bool {
			return e.value(t, "aci_resyncs_total", "fabric=prod,subscription=fvTenant") == float64(i+1) &&
				e.value(t, "aci_up", "fabric=prod") == 1
		})
	}
	f.sim.StopChurn()
	assertTruth(t, e, f)
	requireTransitions(t, f, "aci_fault_transitions_total", "aci_interface_link_transitions_total")
	if got := e.value(t, "aci_websocket_disconnects_total", "controller="+f.sim.URLs()[0]+",fabric=prod"); got != 3 {
		t.Errorf("disconnects = %g, want 3", got)
	}
	resynced := 0.0
	for _, st := range []string{"created", "modified", "deleted"} {
		resynced += e.value(t, "aci_object_resync_changes_total", "class=fvCEp,fabric=prod,status="+st)
	}
	if resynced == 0 {
		t.Error("no change was recovered by a resync: the gaps were empty and the test proves little")
	}
}

// TestTwoFabrics: two fabrics in one process, each its own stream and truth.
func TestTwoFabrics(t *testing.T) {
	a := newFabric(t, "east", apicsim.Config{}, "demo", 5)
	b := newFabric(t, "west", apicsim.Config{Controllers: 3}, "demo", 6)
	e := startExporter(t, a.yaml(""), b.yaml(""))
	e.waitReady()
	a.churn(300, 7)
	b.churn(500, 8)
	eventually(t, 10*time.Second, "churn on both", func() bool {
		return e.value(t, "aci_websocket_messages_total", "fabric=east") > 300 && e.value(t, "aci_websocket_messages_total", "fabric=west") > 500
	})
	b.sim.DropSockets(apicsim.CloseAbrupt)
	a.sim.StopChurn()
	b.sim.StopChurn()
	assertTruth(t, e, a)
	assertTruth(t, e, b)
}

// TestFreshness measures how long a change takes to show in /metrics.
func TestFreshness(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "demo", 9)
	e := startExporter(t, f.yaml(""))
	e.waitReady()
	const n = 20
	var worst, total time.Duration
	for i := range n {
		dn := "uni/tn-fresh" + string(rune('a'+i))
		start := time.Now()
		if err := f.sim.Create("fvTenant", dn, map[string]string{"name": "fresh"}); err != nil {
			t.Fatal(err)
		}
		labels := "class=fvTenant,fabric=prod,tenant=fresh" + string(rune('a'+i))
		eventually(t, 5*time.Second, "the new tenant in /metrics", func() bool { return e.value(t, "aci_objects", labels) == 1 })
		d := time.Since(start)
		total += d
		worst = max(worst, d)
	}
	t.Logf("change → /metrics: mean %v, worst %v over %d changes (scrape polling included)", total/n, worst, n)
	if worst > 2*time.Second {
		t.Errorf("a change took %v to show", worst)
	}
}

// TestTruthPagedResync: classes larger than a snapshot page (7200
// endpoints in pages of 700) resync exactly across socket drops, with the
// fabric churning through the gaps and the paged reads.
func TestTruthPagedResync(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "medium", 21)
	e := startExporter(t, f.yaml("    snapshot_page_size: 700\n"))
	e.waitReady()
	f.churn(300, 22)
	for i := range 3 {
		f.sim.DropSockets(apicsim.CloseAbrupt)
		eventually(t, 20*time.Second, "resync", func() bool {
			return e.value(t, "aci_resyncs_total", "fabric=prod,subscription=fvCEp") == float64(i+1) &&
				e.value(t, "aci_up", "fabric=prod") == 1
		})
	}
	f.sim.StopChurn()
	assertTruth(t, e, f)
}

// TestTruthOptInStateSets: the per-port and per-peer state sets, switched
// on in the exporter's config and in the simulator's truth, equal the
// truth exactly after churn and a socket drop, zeros included.
func TestTruthOptInStateSets(t *testing.T) {
	ms, err := statedef.Resolve(statedef.Selection{AllBuiltins: true, Enable: optInStateSets})
	if err != nil {
		t.Fatal(err)
	}
	f := newFabric(t, "prod", apicsim.Config{StateMetrics: ms}, "medium", 11)
	e := startExporter(t, f.yaml("    state: {enable: ["+strings.Join(optInStateSets, ", ")+"]}\n"))
	e.waitReady()
	f.churn(800, 12)
	eventually(t, 10*time.Second, "churn", func() bool { return e.value(t, "aci_websocket_messages_total", "fabric=prod") > 1500 })
	if n, err := f.sim.DropSockets(apicsim.CloseAbrupt); err != nil || n != 1 {
		t.Fatalf("drop: %d %v", n, err)
	}
	eventually(t, 20*time.Second, "resync", func() bool {
		return e.value(t, "aci_resyncs_total", "fabric=prod,subscription=ethpmPhysIf") == 1 && e.value(t, "aci_up", "fabric=prod") == 1
	})
	f.sim.StopChurn()
	assertFamilies(t, e, f, optInStateSets...)
	truth := f.truth(t, optInStateSets...)
	for _, name := range optInStateSets {
		ones, zeros := 0, 0
		for k, v := range truth {
			if strings.HasPrefix(k, name+"{") && v == 1 {
				ones++
			} else if strings.HasPrefix(k, name+"{") && v == 0 {
				zeros++
			}
		}
		if ones == 0 || zeros == 0 {
			t.Errorf("%s: %d series at 1 and %d at 0 in the truth: the test proves little", name, ones, zeros)
		}
	}
}
