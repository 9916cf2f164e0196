package collector

import (
	"math/rand/v2"
	"testing"

	"github.com/aci-exporter/aci-exporter/event"
	"github.com/aci-exporter/aci-exporter/statedef"
)

func compileOne(t *testing.T, d statedef.Def) *statedef.Metric {
	t.Helper()
	m, err := statedef.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// emptyStateFabric is a fabric with the metrics ms and an empty baseline of fvBD.
func emptyStateFabric(ms ...*statedef.Metric) *Fabric {
	f := NewFabric("prod", nil, nil, nil, 0)
	f.UseStateMetrics(ms)
	resync(f, "fvBD", nil)
	return f
}

// TestRefusedValueSeriesStaysRefused: a refused value series whose object
// changes value is the same series: it is not counted as refused again,
// and it does not take a place freed meanwhile (README: "a refused series
// stays refused while it has objects").
func TestRefusedValueSeriesStaysRefused(t *testing.T) {
	m := compileOne(t, statedef.Def{Name: "bd_cur", Class: "fvBD", DN: `BD-(?P<bd>.+)$`, Kind: statedef.Value, MaxSeries: 1,
		Value: &statedef.ValueFrom{Attr: "cur"}, Labels: []statedef.Label{{Name: "bd", DN: "bd"}}})
	f := emptyStateFabric(m)
	f.Apply([]event.Event{ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-1", "cur", "1"), ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-2", "cur", "2")})
	f.Apply([]event.Event{ev(event.StatusModified, "fvBD", "uni/tn-a/BD-2", "cur", "3")})
	if got := f.st.eng.metrics[0].refused; got != 1 {
		t.Errorf("refused %d after the refused series' value moved, want 1", got)
	}
	f.Apply([]event.Event{ev(event.StatusDeleted, "fvBD", "uni/tn-a/BD-1"), ev(event.StatusModified, "fvBD", "uni/tn-a/BD-2", "cur", "4")})
	if err := diffSeries(stateSeriesOf(f), map[string]float64{}); err != nil {
		t.Errorf("the refused series got the freed place: %v", err)
	}
	if got := f.st.eng.metrics[0].refused; got != 1 {
		t.Errorf("refused %d, want 1", got)
	}
}

// TestRefusedStateSetStaysRefused: the same for a state set whose object
// changes state within its label set.
func TestRefusedStateSetStaysRefused(t *testing.T) {
	m := compileOne(t, statedef.Def{Name: "bd_state", Class: "fvBD", DN: `BD-(?P<bd>.+)$`, Kind: statedef.StateSet, Attr: "operSt",
		States: []string{"up", "down"}, MaxSeries: 2, Labels: []statedef.Label{{Name: "bd", DN: "bd"}}})
	f := emptyStateFabric(m)
	f.Apply([]event.Event{ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-1", "operSt", "up"), ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-2", "operSt", "up")})
	f.Apply([]event.Event{ev(event.StatusModified, "fvBD", "uni/tn-a/BD-2", "operSt", "down")})
	if got := f.st.eng.metrics[0].refused; got != 2 {
		t.Errorf("refused %d after the refused label set changed state, want 2", got)
	}
	want := map[string]float64{`bd_state{bd="1",fabric="prod",state="up"}`: 1, `bd_state{bd="1",fabric="prod",state="down"}`: 0}
	if err := diffSeries(stateSeriesOf(f), want); err != nil {
		t.Error(err)
	}
	f.Apply([]event.Event{ev(event.StatusDeleted, "fvBD", "uni/tn-a/BD-1"), ev(event.StatusModified, "fvBD", "uni/tn-a/BD-2", "operSt", "up")})
	if err := diffSeries(stateSeriesOf(f), map[string]float64{}); err != nil {
		t.Errorf("the refused label set got the freed place: %v", err)
	}
}

// TestValueSeriesDoesNotDrift: a value series shows the sum of its
// objects' values as the rule adds them, however objects came and went.
func TestValueSeriesDoesNotDrift(t *testing.T) {
	m := compileOne(t, statedef.Def{Name: "bd_cur", Class: "fvBD", Kind: statedef.Value, Value: &statedef.ValueFrom{Attr: "cur"}})
	f := emptyStateFabric(m)
	f.Apply([]event.Event{ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-1", "cur", "0.3"), ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-2", "cur", "0.7"),
		ev(event.StatusDeleted, "fvBD", "uni/tn-a/BD-2")})
	if err := diffSeries(stateSeriesOf(f), map[string]float64{`bd_cur{fabric="prod"}`: 0.3}); err != nil {
		t.Error(err)
	}
}

// TestValueSeriesAfterNaN: an attribute that parses as NaN or infinity is
// no number: the series of the other objects is not poisoned for good.
func TestValueSeriesAfterNaN(t *testing.T) {
	m := compileOne(t, statedef.Def{Name: "bd_cur", Class: "fvBD", Kind: statedef.Value, Value: &statedef.ValueFrom{Attr: "cur"}})
	f := emptyStateFabric(m)
	f.Apply([]event.Event{ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-1", "cur", "1"), ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-2", "cur", "NaN"),
		ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-3", "cur", "inf"), ev(event.StatusCreated, "fvBD", "uni/tn-a/BD-4", "cur", "1e999")})
	f.Apply([]event.Event{ev(event.StatusDeleted, "fvBD", "uni/tn-a/BD-2"), ev(event.StatusDeleted, "fvBD", "uni/tn-a/BD-3"),
		ev(event.StatusDeleted, "fvBD", "uni/tn-a/BD-4")})
	if err := diffSeries(stateSeriesOf(f), map[string]float64{`bd_cur{fabric="prod"}`: 1}); err != nil {
		t.Error(err)
	}
}

// heldSeries applies the rule to the objects the fabric holds, with the
// attributes it kept for them: what its gauges must show.
func heldSeries(f *Fabric, ms []*statedef.Metric) map[string]float64 {
	ref := newRefState(ms)
	s := f.st
	for _, cs := range s.classes {
		if cs.sc == nil {
			continue
		}
		for dn, i := range cs.index {
			attrs := map[string]string{}
			for name, slot := range cs.sc.slots {
				if v := cs.slotAttrs(i)[slot]; v != 0 {
					attrs[name] = s.eng.vals.names[v]
				}
			}
			ref.objs[dn] = attrs
		}
	}
	return ref.want()
}

// gaugesOf drops the transition counters.
func gaugesOf(got map[string]float64, ms []*statedef.Metric) map[string]float64 {
	for k := range got {
		for _, m := range ms {
			if m.IsCounter() && len(k) > len(m.Name) && k[:len(m.Name)+1] == m.Name+"{" {
				delete(got, k)
			}
		}
	}
	return got
}

// TestStateGaugesMatchHeldObjects: under the object cap, class prunes and
// new subscriptions, dropped rounds and live events, the gauges equal the
// rule over the objects held.
func TestStateGaugesMatchHeldObjects(t *testing.T) {
	ms := testMetrics(t)
	subs := []Subscription{{Name: "bd", Class: "fvBD"}}
	for seed := range uint64(300) {
		g := gen{rnd: rand.New(rand.NewPCG(seed, 12)), state: true}
		f := NewFabric("prod", nil, subs, nil, []int{0, 5, 20}[seed%3])
		f.UseStateMetrics(ms)
		check := func(when string) {
			t.Helper()
			if err := diffSeries(gaugesOf(stateSeriesOf(f), ms), gaugesOf(heldSeries(f, ms), ms)); err != nil {
				t.Fatalf("seed %d %s: %v", seed, when, err)
			}
		}
		for round := range 6 {
			if round > 0 && g.rnd.IntN(3) == 0 {
				f.Configure(nil, nil, nil) // unsubscribed
				check("after the prune")
				f.Configure(nil, subs, nil)
			}
			pages := g.pages(g.objects(g.rnd.IntN(40)))
			for _, p := range pages {
				f.Snapshot("fvBD", p)
			}
			if g.rnd.IntN(4) == 0 {
				f.DropSnapshot("fvBD")
				check("after a dropped round")
				for _, p := range pages {
					f.Snapshot("fvBD", p)
				}
			}
			f.Resync("fvBD", g.events(g.rnd.IntN(15)), g.events(g.rnd.IntN(10)))
			check("after the snapshot")
			f.Apply(g.events(g.rnd.IntN(30)))
			check("after live events")
		}
	}
}
