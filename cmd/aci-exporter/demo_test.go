package main

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/apicws"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// demoClock is the simulated clock the test moves.
type demoClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *demoClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// transitionRecorder is the sim as the churn sees it, counting what each
// transitions metric would count from the live events.
type transitionRecorder struct {
	apicsim.Fabric
	ms      []*statedef.Metric
	classes map[string]string // DN → class, for the metrics' classes
	counts  map[string]int    // by metric name
}

func newTransitionRecorder(f apicsim.Fabric, ms []*statedef.Metric) *transitionRecorder {
	r := &transitionRecorder{Fabric: f, ms: ms, classes: map[string]string{}, counts: map[string]int{}}
	for _, class := range statedef.Classes(ms) {
		for _, dn := range f.DNs(class) {
			r.classes[dn] = class
		}
	}
	return r
}

func getter(a map[string]string) statedef.Attrs {
	return func(name string) (string, bool) { v, ok := a[name]; return v, ok }
}

func (r *transitionRecorder) count(dn string, pre map[string]string) {
	post, ok := r.Get(dn)
	if !ok {
		return
	}
	var preGet statedef.Attrs
	if pre != nil {
		preGet = getter(pre)
	}
	for _, m := range r.ms {
		if m.Class == r.classes[dn] && m.IsCounter() {
			if _, ok := m.Entered(dn, apicws.Tenant(dn), preGet, getter(post)); ok {
				r.counts[m.Name]++
			}
		}
	}
}

func (r *transitionRecorder) Create(class, dn string, attrs map[string]string) error {
	if err := r.Fabric.Create(class, dn, attrs); err != nil {
		return err
	}
	r.classes[dn] = class
	r.count(dn, nil)
	return nil
}

func (r *transitionRecorder) Modify(dn string, changed map[string]string) error {
	pre, _ := r.Get(dn)
	pre = maps.Clone(pre)
	if err := r.Fabric.Modify(dn, changed); err != nil {
		return err
	}
	r.count(dn, pre)
	return nil
}

// gauges evaluates every gauge metric over the sim's objects: per metric,
// each series (labels joined) and its value.
func gauges(f apicsim.Fabric, ms []*statedef.Metric) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, m := range ms {
		if m.IsCounter() {
			continue
		}
		series := map[string]float64{}
		for _, dn := range f.DNs(m.Class) {
			a, ok := f.Get(dn)
			if !ok {
				continue
			}
			if labels, v, ok := m.Series(dn, apicws.Tenant(dn), getter(a)); ok {
				series[strings.Join(labels, ",")] += v
			}
		}
		out[m.Name] = series
	}
	return out
}

// demoFirstMoves churns the demo's fabric from seed as --demo churns it,
// but on a simulated clock, for a minute, and returns the second at which
// each built-in state metric (the opt-in ones too) first moved: a gauge's
// series differ from the start, a transitions counter counts.
func demoFirstMoves(t *testing.T, seed int64) (moved map[string]int, ms []*statedef.Metric, counts map[string]int) {
	t.Helper()
	clock := &demoClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	sim, profile, err := newDemoSim(apicsim.Config{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	var names []string
	for _, b := range statedef.Builtins() {
		names = append(names, b.Name)
	}
	ms, err = statedef.Resolve(statedef.Selection{AllBuiltins: true, Enable: names})
	if err != nil {
		t.Fatal(err)
	}
	rec := newTransitionRecorder(sim, ms)
	churn := apicsim.NewChurn(rec, profile, seed, clock.Now)
	start := gauges(sim, ms)
	moved = map[string]int{}
	for sec := 1; sec <= 60; sec++ {
		for range demoChurnRate {
			clock.advance(time.Second / demoChurnRate)
			if err := churn.Step(); err != nil {
				t.Fatal(err)
			}
		}
		for name, series := range gauges(sim, ms) {
			if _, ok := moved[name]; !ok && !maps.Equal(series, start[name]) {
				moved[name] = sec
			}
		}
		for name, n := range rec.counts {
			if _, ok := moved[name]; !ok && n > 0 {
				moved[name] = sec
			}
		}
	}
	return moved, ms, rec.counts
}

// TestDemoMovesEveryBuiltin: the demo's fabric moves every built-in state
// metric within a minute of start. --demo churns in real time, so its steps
// meet its timers a little differently on each run: other seeds stand in
// for those runs.
func TestDemoMovesEveryBuiltin(t *testing.T) {
	seeds := 20
	if testing.Short() {
		seeds = 1
	}
	worst := map[string]int{}
	for seed := int64(demoSeed); seed < demoSeed+int64(seeds); seed++ {
		moved, ms, counts := demoFirstMoves(t, seed)
		var report []string
		for _, m := range ms {
			sec, ok := moved[m.Name]
			if !ok {
				t.Errorf("seed %d: %s did not move in a minute", seed, m.Name)
				continue
			}
			worst[m.Name] = max(worst[m.Name], sec)
			report = append(report, fmt.Sprintf("%s %ds", m.Name, sec))
		}
		if seed == demoSeed {
			t.Logf("demo seed: first moved %s; transitions counted %v", strings.Join(report, ", "), counts)
		}
	}
	t.Logf("latest first move over %d seeds: %v", seeds, worst)
}
