package collector

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/aci-exporter/aci-exporter/event"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// refState is the semantics snapshots must keep, written the plain way:
// the events before a snapshot applied to the objects, then the whole
// snapshot, brought back to the moment pushes started, compared with them.
type refState struct {
	objs    map[string]map[string]string // dn -> fingerprint attributes
	changes map[string]uint64            // "tenant status"
	resyncs map[event.Status]uint64
	// State metrics: transitions counted, by series (statemetrics_test.go).
	metrics []*statedef.Metric
	trans   map[string]float64
}

func (r *refState) apply(ev event.Event) {
	r.changes[ev.Tenant+" "+ev.Status.String()]++
	o, ok := r.objs[ev.DN]
	switch {
	case ev.Status == event.StatusDeleted:
		delete(r.objs, ev.DN)
	case ok:
		pre := maps.Clone(o)
		for _, a := range ev.Attrs {
			o[a.Name] = a.Value
		}
		r.entered(ev.DN, pre, o)
	default:
		o = map[string]string{}
		for _, a := range ev.Attrs {
			o[a.Name] = a.Value
		}
		r.objs[ev.DN] = o
		r.entered(ev.DN, nil, o)
	}
}

// refObj is a snapshot object; keep: its state at the moment is unknown.
type refObj struct {
	event.Object
	keep bool
}

// resync: late holds the events after the snapshot of objects read late.
// Of a DN listed twice, the first copy counts.
func (r *refState) resync(snap []event.Object, late []event.Event, first bool) {
	seen := map[string]bool{}
	snap = slices.DeleteFunc(slices.Clone(snap), func(o event.Object) bool {
		dup := seen[o.DN]
		seen[o.DN] = true
		return dup
	})
	evs := map[string][]event.Event{}
	for _, ev := range late {
		evs[ev.DN] = append(evs[ev.DN], ev)
	}
	var objs []refObj
	for _, o := range snap {
		if e := evs[o.DN]; e == nil || e[0].Status != event.StatusCreated && !refShows(o, e) && !refShowsLast(o, e) {
			objs = append(objs, refObj{Object: o})
			delete(evs, o.DN)
		}
	}
	for _, dn := range slices.Sorted(maps.Keys(evs)) {
		if e := evs[dn]; e[0].Status != event.StatusCreated {
			objs = append(objs, refObj{Object: event.Object{DN: dn, Tenant: e[0].Tenant}, keep: true})
		}
	}
	next := map[string]map[string]string{}
	for _, o := range objs {
		if next[o.DN] != nil {
			continue
		}
		attrs := map[string]string{}
		for _, a := range o.Attrs {
			attrs[a.Name] = a.Value
		}
		old, had := r.objs[o.DN]
		switch {
		case o.keep && had:
			attrs = old
		case first:
		case !had:
			r.count(o.Tenant, event.StatusCreated)
		case !maps.Equal(r.telling(old), r.telling(attrs)):
			r.count(o.Tenant, event.StatusModified)
		}
		if !first && !(o.keep && had) {
			r.entered(o.DN, old, attrs) // nil old: not known
		}
		next[o.DN] = attrs
	}
	if !first {
		for dn := range r.objs {
			if next[dn] == nil {
				r.count(tenantOf(dn), event.StatusDeleted)
			}
		}
	}
	r.objs = next
}

// telling returns the attributes of attrs that tell a change: the
// fingerprint ones and those a state metric reads.
func (r *refState) telling(attrs map[string]string) map[string]string {
	kept := statedef.AttrNames(r.metrics)
	return maps.Collect(func(yield func(string, string) bool) {
		for k, v := range attrs {
			if (event.FingerprintIndex(k) >= 0 || slices.Contains(kept, k)) && !yield(k, v) {
				return
			}
		}
	})
}

func (r *refState) count(tenant string, st event.Status) {
	r.changes[tenant+" "+st.String()]++
	r.resyncs[st]++
}

// refShowsLast: the page holds every fingerprint value the events leave.
func refShowsLast(o event.Object, evs []event.Event) bool {
	last := map[string]string{}
	for _, ev := range evs {
		for _, a := range ev.Attrs {
			if ev.Status != event.StatusDeleted && event.FingerprintIndex(a.Name) >= 0 {
				last[a.Name] = a.Value
			}
		}
	}
	for name, v := range last {
		if mine, ok := attrOf(o.Attrs, name); !ok || mine != v {
			return false
		}
	}
	return len(last) > 0
}

func refShows(o event.Object, evs []event.Event) bool {
	stamp := "modTs"
	if v, _ := attrOf(o.Attrs, "modTs"); v == "never" {
		stamp = "lastTransition"
	}
	mine, ok := attrOf(o.Attrs, stamp)
	if !ok {
		return true
	}
	for _, ev := range evs {
		if v, ok := ev.Attr(stamp); ok && v == mine {
			return true
		}
	}
	return false
}

func attrOf(attrs []event.Attr, name string) (string, bool) {
	for _, a := range attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// gen draws objects and events over a small DN space, so that snapshots,
// events before and after them and late pages collide often.
type gen struct {
	rnd   *rand.Rand
	state bool // objects also carry state attributes (operSt, cur)
}

func (g gen) dn() string {
	return fmt.Sprintf("uni/tn-t%d/BD-b%02d", g.rnd.IntN(3), g.rnd.IntN(40))
}

func (g gen) attrs() []event.Attr {
	attrs := g.stampAttrs()
	if g.state {
		if g.rnd.IntN(4) > 0 {
			attrs = append(attrs, event.Attr{Name: "operSt", Value: []string{"up", "down", "unknown"}[g.rnd.IntN(3)]})
		}
		if g.rnd.IntN(4) > 0 {
			attrs = append(attrs, event.Attr{Name: "cur", Value: []string{"0", "1", "2", "x"}[g.rnd.IntN(4)]})
		}
	}
	return attrs
}

func (g gen) stampAttrs() []event.Attr {
	if g.rnd.IntN(5) == 0 { // a fault: modTs never, stamped by lastTransition
		return []event.Attr{{Name: "modTs", Value: "never"}, {Name: "lc", Value: []string{"soaking", "raised", "retaining"}[g.rnd.IntN(3)]},
			{Name: "lastTransition", Value: fmt.Sprint("lt", g.rnd.IntN(6))}}
	}
	if g.rnd.IntN(10) == 0 {
		return nil // no stamp: cannot tell
	}
	return []event.Attr{{Name: "modTs", Value: fmt.Sprint("m", g.rnd.IntN(6))}}
}

func (g gen) objects(n int) []event.Object {
	var out []event.Object
	for range n {
		dn := g.dn()
		out = append(out, event.Object{DN: dn, Tenant: tenantOf(dn), Attrs: g.attrs()})
	}
	return out
}

func (g gen) events(n int) []event.Event {
	var out []event.Event
	for range n {
		dn := g.dn()
		st := event.Status(1 + g.rnd.IntN(3))
		out = append(out, event.Event{SubscriptionIDs: []string{"1"}, Class: "fvBD", DN: dn, Tenant: tenantOf(dn), Status: st, Attrs: g.attrs()})
	}
	return out
}

// round draws a snapshot, the events before it (none for the baseline,
// round 0) and the events after it of objects read late.
func (g gen) round(round int) (snap []event.Object, before, late []event.Event) {
	snap = g.objects(g.rnd.IntN(50))
	if round == 0 {
		return snap, nil, g.events(g.rnd.IntN(5))
	}
	before = g.events(g.rnd.IntN(15))
	return snap, before, g.events(g.rnd.IntN(10))
}

// newRefState returns an empty reference state with the state metrics ms.
func newRefState(ms []*statedef.Metric) *refState {
	return &refState{objs: map[string]map[string]string{}, changes: map[string]uint64{}, resyncs: map[event.Status]uint64{},
		metrics: ms, trans: map[string]float64{}}
}

// snapshot applies the events before a snapshot, then the snapshot.
func (r *refState) snapshot(snap []event.Object, before, late []event.Event, first bool) {
	for _, ev := range before {
		r.apply(ev)
	}
	r.resync(snap, late, first)
}

// pages cuts a snapshot into pages of random sizes, some empty. There is
// always a first page: the subscription's answer.
func (g gen) pages(objs []event.Object) [][]event.Object {
	out := [][]event.Object{nil}
	for len(objs) > 0 {
		n := min(len(objs), g.rnd.IntN(12))
		out = append(out, objs[:n])
		objs = objs[n:]
	}
	return out
}

// TestSnapshotPagesMatchWholeSnapshot: applying snapshots page by page in
// place counts and keeps exactly what comparing a whole snapshot did, for
// any mix of events before, snapshots (with duplicates) and late events.
func TestSnapshotPagesMatchWholeSnapshot(t *testing.T) {
	for seed := range uint64(400) {
		g := gen{rnd: rand.New(rand.NewPCG(seed, 7))}
		ref := newRefState(nil)
		f := NewFabric("prod", nil, nil, nil, 0)
		for round := range 4 {
			snap, before, late := g.round(round)
			ref.snapshot(snap, before, late, round == 0)
			for _, p := range g.pages(snap) {
				f.Snapshot("fvBD", p)
			}
			f.Resync("fvBD", before, late)
			if err := sameState(f, ref); err != nil {
				t.Fatalf("seed %d round %d: %v", seed, round, err)
			}
			live := g.events(g.rnd.IntN(10))
			for _, ev := range live {
				ref.apply(ev)
			}
			f.Apply(live)
		}
	}
}

func sameState(f *Fabric, ref *refState) error {
	s := f.st
	cs := s.classes["fvBD"]
	if cs.len() != len(ref.objs) {
		return fmt.Errorf("%d objects, want %d", cs.len(), len(ref.objs))
	}
	for dn, attrs := range ref.objs {
		i, ok := cs.index[dn]
		if !ok {
			return fmt.Errorf("%s missing", dn)
		}
		var want fingerprint
		for name, v := range attrs {
			want.update([]event.Attr{{Name: name, Value: v}})
		}
		if cs.objs[i].fp != want {
			return fmt.Errorf("%s fingerprint %v, want %v (%v)", dn, cs.objs[i].fp, want, attrs)
		}
	}
	got := map[string]uint64{}
	objects := map[string]int{}
	for id, ts := range cs.tenants {
		if ts == nil {
			continue
		}
		for st, n := range ts.changes {
			if n > 0 {
				got[s.tenantNames[id]+" "+event.Status(st+1).String()] = n
			}
		}
		objects[s.tenantNames[id]] += ts.objects
	}
	if !maps.Equal(got, ref.changes) {
		return fmt.Errorf("changes %v, want %v", got, ref.changes)
	}
	for st, n := range ref.resyncs {
		if s.resyncs[resyncKey{"fvBD", st}] != n {
			return fmt.Errorf("resync %v: %d, want %d", st, s.resyncs[resyncKey{"fvBD", st}], n)
		}
	}
	for dn := range ref.objs {
		objects[tenantOf(dn)]--
	}
	for tenant, n := range objects {
		if n != 0 {
			return fmt.Errorf("tenant %q objects off by %d", tenant, n)
		}
	}
	return nil
}

// TestDropSnapshotRestores: a snapshot cut short leaves the class as it was
// (a tenant its pages showed may keep change series at zero).
func TestDropSnapshotRestores(t *testing.T) {
	f, reg := newTestFabric()
	resync(f, "fvBD", []event.Object{obj("uni/tn-a/BD-1", "modTs", "t1"), obj("uni/tn-a/BD-2", "modTs", "t1")})
	before := gatherText(t, reg)
	f.Snapshot("fvBD", []event.Object{obj("uni/tn-a/BD-1", "modTs", "t2"), obj("uni/tn-b/BD-3", "modTs", "t2")})
	if n := f.Objects("fvBD"); n != -1 {
		t.Fatalf("objects during a snapshot: %d, want -1 (not comparable)", n)
	}
	f.DropSnapshot("fvBD")
	if after := gatherText(t, reg); after != before {
		t.Fatalf("after a dropped snapshot:\n%s\nwant:\n%s", after, before)
	}
	// The next snapshot compares with the state before the dropped one.
	resync(f, "fvBD", []event.Object{obj("uni/tn-a/BD-1", "modTs", "t2"), obj("uni/tn-a/BD-2", "modTs", "t1")})
	if got := f.st.resyncs; len(got) != 1 || got[resyncKey{"fvBD", event.StatusModified}] != 1 {
		t.Fatalf("resync changes %v, want one modification", got)
	}
	// A first snapshot dropped leaves no class at all.
	f.Snapshot("fvTenant", []event.Object{obj("uni/tn-a")})
	f.DropSnapshot("fvTenant")
	if n := f.Objects("fvTenant"); n != -1 {
		t.Fatalf("fvTenant after a dropped first snapshot: %d objects, want -1", n)
	}
}

// gatherText is the exposition of the objects and of every non-zero series.
func gatherText(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		mf.Metric = slices.DeleteFunc(mf.Metric, func(m *dto.Metric) bool {
			return mf.GetName() != "aci_objects" && m.GetCounter().GetValue() == 0 && m.GetGauge().GetValue() == 0
		})
		if len(mf.Metric) == 0 {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// A snapshot replaces its class's objects, so they do not count against
// the cap while it is applied in place: a class at the cap that trades one
// object for another keeps the new one.
func TestSnapshotAtCapReplacesOldObjects(t *testing.T) {
	f := NewFabric("prod", nil, nil, nil, 3)
	resync(f, "fvBD", []event.Object{obj("uni/tn-a/BD-1"), obj("uni/tn-a/BD-2"), obj("uni/tn-a/BD-3")})
	resync(f, "fvBD", []event.Object{obj("uni/tn-a/BD-1"), obj("uni/tn-a/BD-2"), obj("uni/tn-a/BD-4")})
	if _, ok := f.st.classes["fvBD"].index["uni/tn-a/BD-4"]; !ok || f.st.full || f.Objects("fvBD") != 3 {
		t.Fatalf("BD-4 tracked %v, cap reached %v, objects %d: want BD-4 in, the cap not reached, 3", ok, f.st.full, f.Objects("fvBD"))
	}
	// Over the cap, the snapshot's objects beyond it are refused, old or new.
	resync(f, "fvBD", []event.Object{obj("uni/tn-a/BD-1"), obj("uni/tn-a/BD-5"), obj("uni/tn-a/BD-6"), obj("uni/tn-a/BD-2")})
	if !f.st.full || f.Status().Objects != 3 || f.st.refused != 1 {
		t.Fatalf("cap reached %v, objects %d, refused %d: want true, 3, 1", f.st.full, f.Status().Objects, f.st.refused)
	}
}

// TestLatePageShowingAnAck: a fault acknowledged while its page was read
// late shows the ack already, with the same lastTransition (an ack is not a
// lifecycle step). The page is not the state before the ack: the ack counts
// once, live, and not again as a resync change.
func TestLatePageShowingAnAck(t *testing.T) {
	f := NewFabric("prod", nil, nil, nil, 0)
	const dn = "topology/pod-1/node-101/sys/fault-F0532"
	fault := func(ack string) event.Object {
		return obj(dn, "modTs", "never", "lc", "raised", "severity", "major", "lastTransition", "2024-02-01T09:15:42.117+00:00", "ack", ack)
	}
	resync(f, "faultInst", []event.Object{fault("no")})
	ack := ev(event.StatusModified, "faultInst", dn, "ack", "yes")
	f.Snapshot("faultInst", []event.Object{fault("yes")})
	f.Resync("faultInst", nil, []event.Event{ack})
	f.Apply([]event.Event{ack})
	if got := f.st.resyncs[resyncKey{"faultInst", event.StatusModified}]; got != 0 {
		t.Errorf("resync modifications %d, want 0: the ack counted twice", got)
	}
	if got := f.st.classes["faultInst"].tenants[0].changes[event.StatusModified-1]; got != 1 {
		t.Errorf("modifications %d, want 1", got)
	}
}
