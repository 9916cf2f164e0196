package apicws

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
)

// A subscription that dies silently (its refreshes still answer 200) is
// found at the next probe after its class changed, and confirmed a few
// seconds later, whether the class sees creations and deletions or
// modifications only.
func TestProbeFindsSilentlyDeadSubscription(t *testing.T) {
	for _, tc := range []struct {
		name   string
		filter string
		change func(sim *apicsim.Sim, i int)
	}{
		{"modifications only", "", func(sim *apicsim.Sim, i int) {
			sim.Modify(fmt.Sprintf("uni/tn-a/BD-%d", i%5), map[string]string{"descr": fmt.Sprint("change ", i)})
		}},
		// A filtered subscription: its objects are not compared with the
		// APIC's count, so a deletion shows as a count that moved without
		// an event.
		{"deletions only, filtered", `wcard(fvBD.dn,"BD-")`, func(sim *apicsim.Sim, i int) {
			sim.Delete(fmt.Sprintf("uni/tn-a/BD-%d", i))
		}},
		// One created and one deleted: the count stays, only the newest moves.
		{"creations and deletions", "", func(sim *apicsim.Sim, i int) {
			sim.Create("fvBD", fmt.Sprintf("uni/tn-a/BD-new%d", i), map[string]string{"name": "new"})
			sim.Delete(fmt.Sprintf("uni/tn-a/BD-%d", i))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := newSim(t, apicsim.Config{})
			for i := range 5 {
				sim.Create("fvBD", fmt.Sprintf("uni/tn-a/BD-%d", i), map[string]string{"name": "b"})
			}
			const probe = 500 * time.Millisecond
			sink, _ := startClient(t, sim, Config{Subscriptions: []Subscription{{Class: "fvBD", Filter: tc.filter}}, ProbeInterval: probe, RefreshTimeout: time.Hour})
			eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })

			sim.KillSubscriptions(apicsim.RefreshSilent200)
			killed := time.Now()
			tc.change(sim, 0)
			eventually(t, "the dead subscription made again", func() bool {
				return sink.read(func(r *recSink) bool { return r.resynced["fvBD"] == 1 && r.subUp["fvBD"] })
			})
			if took := time.Since(killed); took > probe+confirmDelay+time.Second {
				t.Errorf("found after %v, want within a probe interval and the second look (%v)", took, probe+confirmDelay)
			}
			// Alive again: a change now arrives as an event.
			tc.change(sim, 1)
			eventually(t, "an event on the new subscription", func() bool {
				return sink.read(func(r *recSink) bool { return len(r.changes) > 0 })
			})
		})
	}
}

// A healthy subscription is never made again because of an event in
// flight at a probe: under steady churn every probe sees the APIC a step
// ahead, and the second look finds the events arrived.
func TestProbeLeavesHealthySubscriptionsAlone(t *testing.T) {
	sim := newSim(t, apicsim.Config{})
	for i := range 50 {
		sim.Create("fvBD", fmt.Sprintf("uni/tn-a/BD-%d", i), map[string]string{"name": "b"})
		sim.Create("faultInst", fmt.Sprintf("uni/tn-a/BD-%d/fault-F1", i), map[string]string{
			"modTs": "never", "lastTransition": "2026-01-01T00:00:00.000+00:00", "lc": "raised", "severity": "major"})
	}
	sink, _ := startClient(t, sim, Config{Subscriptions: []Subscription{{Class: "fvBD"}, {Class: "faultInst"}}, ProbeInterval: 50 * time.Millisecond})
	eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })

	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 { // about 3 s of probes racing the changes
		dn := fmt.Sprintf("uni/tn-a/BD-%d", rnd.IntN(50))
		if i%2 == 0 {
			sim.Modify(dn, map[string]string{"descr": fmt.Sprint(i)})
		} else {
			sim.Modify(dn+"/fault-F1", map[string]string{"lastTransition": time.Now().UTC().Format("2006-01-02T15:04:05.000") + "+00:00"})
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(confirmDelay + time.Second) // past the second look of the last probe
	if n := sink.read(func(r *recSink) bool { return r.resynced["fvBD"] > 0 || r.resynced["faultInst"] > 0 }); n {
		t.Fatalf("a healthy subscription was made again: %v", sink.resynced)
	}
}

// Token refreshes (the refresher) and probes (the subscriber) share the
// session's token: with the race detector on, this fails if they race. No
// probe is in flight with the old token while apicsim replaces it (no
// grace): the session stays up.
func TestTokenRefreshWhileProbing(t *testing.T) {
	sim := newSim(t, apicsim.Config{RefreshTimeout: 2 * time.Second})
	sim.Create("fvBD", "uni/tn-a/BD-1", map[string]string{"name": "b"})
	sink, _ := startClient(t, sim, Config{Subscriptions: []Subscription{{Class: "fvBD"}}, ProbeInterval: 5 * time.Millisecond})
	eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })
	eventually(t, "two token refreshes", func() bool { return sink.read(func(r *recSink) bool { return r.tokenRefreshes >= 2 }) })
	if !sink.read(func(r *recSink) bool { return r.up && r.resyncs == 1 }) {
		t.Fatalf("the stream did not stay up on its first session: resyncs %d", sink.resyncs)
	}
}

// One change and then silence on a live subscription: the probes that see
// the APIC ahead of the exporter before the event lands must not make it
// again; the event lands before the second look.
func TestProbeOneChangeThenSilence(t *testing.T) {
	sim := newSim(t, apicsim.Config{})
	sim.Create("fvBD", "uni/tn-a/BD-1", map[string]string{"name": "b"})
	sink, _ := startClient(t, sim, Config{Subscriptions: []Subscription{{Class: "fvBD"}, {Name: "filtered", Class: "fvBD", Filter: `wcard(fvBD.dn,"BD-")`}},
		ProbeInterval: 20 * time.Millisecond})
	eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })
	for i := range 20 { // a change at every phase of the probe cycle
		sim.Modify("uni/tn-a/BD-1", map[string]string{"descr": fmt.Sprint(i)})
		if i%2 == 0 {
			sim.Delete("uni/tn-a/BD-1")
			sim.Create("fvBD", "uni/tn-a/BD-1", map[string]string{"name": "b"})
		}
		time.Sleep(time.Duration(7*i%23) * time.Millisecond) // spread over the cycle, not synchronisation
	}
	time.Sleep(confirmDelay + time.Second) // past the second look of the last probe that saw a change
	if n := sink.read(func(r *recSink) bool { return r.resyncs != 1 }); n {
		t.Fatalf("a live subscription was made again: %d snapshots", sink.resyncs)
	}
}
