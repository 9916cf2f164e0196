package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
)

// TestTruthPagingByNumber: an APIC that refuses DN filters (gt, le in
// query-target-filter answer 400) still brings up a class of 50k
// endpoints, read in pages by number with one subscription per class, and
// the exporter's objects equal the ground truth. Resyncs in that mode are
// not exact under churn (an object can be missed, and a later resync finds
// it again), but once the churn stops the next resync converges.
func TestTruthPagingByNumber(t *testing.T) {
	start := time.Now()
	p, err := apicsim.ProfileByName("medium")
	if err != nil {
		t.Fatal(err)
	}
	p.EndpointsPerEPG = 84 // 600 EPGs: 50,400 endpoints
	f := newFabricOf(t, "prod", apicsim.Config{RefuseComparisons: true}, p, 31)
	e := startExporter(t, f.yaml("    snapshot_page_size: 5000\n"))
	eventually(t, 60*time.Second, "exporter ready", func() bool {
		code, _ := e.get("/-/ready")
		return code == 200
	})
	t.Logf("50k endpoints up in %v", time.Since(start))
	assertTruth(t, e, f)
	if n := sumOf(f.truth(t), `aci_objects{class=fvCEp,`); n < 50000 {
		t.Fatalf("the truth holds %g endpoints, want 50k: the test proves little", n)
	}

	f.sim.StartChurn(p, 32, 300)
	f.sim.DropSockets(apicsim.CloseAbrupt)
	waitResyncs(t, e, 1)
	f.sim.StopChurn()
	before := f.sim.Status().Subscriptions
	f.sim.DropSockets(apicsim.CloseAbrupt)
	waitResyncs(t, e, 2)
	if n := f.sim.Status().Subscriptions - before; n != len(subscribedClasses()) {
		t.Errorf("the resync made %d subscriptions, want one per class", n)
	}
	assertFamilies(t, e, f, "aci_objects")
	// The resync under churn may have missed endpoints (a subtree deleted
	// before the page being read shifts as many into pages already read),
	// counted as deleted, and the quiet one as created again: the change
	// counters, which include resync changes, are not exact in this mode.
	got, err := e.scrape("aci_object_resync_changes_total")
	if err != nil {
		t.Fatal(err)
	}
	key := "aci_object_resync_changes_total{class=fvCEp,fabric=prod,status=created}"
	t.Logf("endpoints missed by the resync under churn and found by the quiet one: %g", got[key]-f.truth(t)[key])
	if n := strings.Count(e.Out.String(), "The APIC refuses DN filters"); n != 1 {
		t.Errorf("the fallback was logged %d times, want once", n)
	}
	t.Logf("test took %v", time.Since(start))
}

func waitResyncs(t *testing.T, e *exporter, n int) {
	t.Helper()
	eventually(t, 60*time.Second, "resync", func() bool {
		return e.value(t, "aci_resyncs_total", "fabric=prod,subscription=fvCEp") == float64(n) &&
			e.value(t, "aci_up", "fabric=prod") == 1
	})
}

func sumOf(s series, prefix string) float64 {
	total := 0.0
	for k, v := range s {
		if strings.HasPrefix(k, prefix) {
			total += v
		}
	}
	return total
}
