package collector

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/aci-exporter/aci-exporter/event"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// testMetrics are state metrics over fvBD objects carrying operSt and cur
// (gen with state), one of each kind, with maps, defaults, DN groups and a
// condition.
func testMetrics(t testing.TB) []*statedef.Metric {
	defs := []statedef.Def{
		{Name: "bd_by_state", Class: "fvBD", Kind: statedef.Count, Labels: []statedef.Label{
			{Name: "tenant", DN: "tenant"}, {Name: "oper", Attr: "operSt", Map: map[string]string{"down": "DOWN"}, Default: "none"}},
			Where: []statedef.Cond{{Attr: "cur", NotIn: []string{"x"}}}},
		{Name: "bd_cur", Class: "fvBD", DN: `^uni/tn-(?P<t>[^/]+)/BD-(?P<bd>.+)$`, Kind: statedef.Value, Value: &statedef.ValueFrom{Attr: "cur", Scale: 10},
			Labels: []statedef.Label{{Name: "t", DN: "t"}, {Name: "bd", DN: "bd"}}},
		{Name: "bd_info", Class: "fvBD", DN: `BD-b0`, Kind: statedef.Info, Labels: []statedef.Label{{Name: "cur", Attr: "cur"}}},
		{Name: "bd_state", Class: "fvBD", DN: `^uni/tn-[^/]+/BD-(?P<bd>.+)$`, Kind: statedef.StateSet, Attr: "operSt", States: []string{"up", "down"},
			Labels: []statedef.Label{{Name: "bd", DN: "bd"}}},
		{Name: "bd_transitions_total", Class: "fvBD", Kind: statedef.Transitions, Attr: "operSt", Labels: []statedef.Label{{Name: "tenant", DN: "tenant"}}},
	}
	var ms []*statedef.Metric
	for _, d := range defs {
		m, err := statedef.Compile(d)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// entered counts the reference's transitions.
func (r *refState) entered(dn string, pre, post map[string]string) {
	for _, m := range r.metrics {
		if !m.IsCounter() {
			continue
		}
		var from statedef.Attrs
		if pre != nil {
			from = mapAttrs(pre)
		}
		if labels, ok := m.Entered(dn, tenantOf(dn), from, mapAttrs(post)); ok {
			r.trans[seriesName(m, labels)]++
		}
	}
}

func mapAttrs(m map[string]string) statedef.Attrs {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

// seriesName writes a series as name{fabric="prod",label="value",...},
// labels in name order.
func seriesName(m *statedef.Metric, values []string) string {
	pairs := []string{`fabric="prod"`}
	for i, n := range m.LabelNames() {
		pairs = append(pairs, fmt.Sprintf("%s=%q", n, values[i]))
	}
	slices.Sort(pairs)
	return m.Name + "{" + strings.Join(pairs, ",") + "}"
}

// want returns every state series the reference's objects make, by the
// rule applied to each object at once.
func (r *refState) want() map[string]float64 {
	out := maps.Clone(r.trans)
	for _, m := range r.metrics {
		if m.IsCounter() {
			continue
		}
		for dn, attrs := range r.objs {
			m.Gauges(dn, tenantOf(dn), mapAttrs(attrs), func(labels []string, v float64) { out[seriesName(m, labels)] += v })
		}
	}
	return out
}

// stateSeriesOf returns the fabric's exported state series.
func stateSeriesOf(f *Fabric) map[string]float64 {
	fams := map[string]*dto.MetricFamily{}
	f.appendStateMetrics(fams)
	out := map[string]float64{}
	for name, mf := range fams {
		for _, m := range mf.Metric {
			var pairs []string
			for _, l := range m.Label {
				pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetGauge().GetValue()
			if m.Counter != nil {
				v = m.GetCounter().GetValue()
			}
			key := name + "{" + strings.Join(pairs, ",") + "}"
			if _, dup := out[key]; dup {
				out[key] = -1e9 // a series twice: never wanted
			}
			out[key] += v
		}
	}
	return out
}

func diffSeries(got, want map[string]float64) error {
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			diffs = append(diffs, fmt.Sprintf("%s: got %v (present %v), want %v", k, g, ok, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: got %v, want none", k, g))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return fmt.Errorf("%d series differ:\n%s", len(diffs), strings.Join(diffs[:min(len(diffs), 12)], "\n"))
	}
	return nil
}

// TestStateMetricsMatchTheRule: under any mix of snapshots in pages (with
// duplicates and late pages), events before them and live events, every
// state series equals the rule applied to the objects at once, and the
// transitions equal live entries plus the gap rule at each resync.
func TestStateMetricsMatchTheRule(t *testing.T) {
	ms := testMetrics(t)
	for seed := range uint64(400) {
		g := gen{rnd: rand.New(rand.NewPCG(seed, 11)), state: true}
		ref := newRefState(ms)
		f := NewFabric("prod", nil, nil, nil, 0)
		f.UseStateMetrics(ms)
		for round := range 4 {
			snap, before, late := g.round(round)
			ref.snapshot(snap, before, late, round == 0)
			pages := g.pages(snap)
			for _, p := range pages {
				f.Snapshot("fvBD", p)
			}
			if round > 0 && g.rnd.IntN(4) == 0 { // cut short: nothing moves, and the same round again
				f.DropSnapshot("fvBD")
				for _, p := range pages {
					f.Snapshot("fvBD", p)
				}
			}
			f.Resync("fvBD", before, late)
			if err := sameState(f, ref); err != nil {
				t.Fatalf("seed %d round %d: %v", seed, round, err)
			}
			if err := diffSeries(stateSeriesOf(f), ref.want()); err != nil {
				t.Fatalf("seed %d round %d after the snapshot: %v", seed, round, err)
			}
			live := g.events(g.rnd.IntN(20))
			for _, ev := range live {
				ref.apply(ev)
			}
			f.Apply(live)
			if err := diffSeries(stateSeriesOf(f), ref.want()); err != nil {
				t.Fatalf("seed %d round %d after live events: %v", seed, round, err)
			}
		}
	}
}

// TestStateSeriesCap: series beyond max_series are not exported and are
// counted; a freed place takes the next new series.
func TestStateSeriesCap(t *testing.T) {
	m, err := statedef.Compile(statedef.Def{Name: "bd_by_state", Class: "fvBD", Kind: statedef.Count, MaxSeries: 2,
		Labels: []statedef.Label{{Name: "oper", Attr: "operSt"}}})
	if err != nil {
		t.Fatal(err)
	}
	f := NewFabric("prod", nil, nil, nil, 0)
	f.UseStateMetrics([]*statedef.Metric{m})
	f.Snapshot("fvBD", nil)
	f.Resync("fvBD", nil, nil)
	ev := func(dn, st string, status event.Status) event.Event {
		return event.Event{Class: "fvBD", DN: dn, Tenant: tenantOf(dn), Status: status, Attrs: []event.Attr{{Name: "operSt", Value: st}}}
	}
	f.Apply([]event.Event{ev("uni/tn-a/BD-1", "up", event.StatusCreated), ev("uni/tn-a/BD-2", "down", event.StatusCreated),
		ev("uni/tn-a/BD-3", "unknown", event.StatusCreated), ev("uni/tn-a/BD-4", "up", event.StatusCreated)})
	want := map[string]float64{`bd_by_state{fabric="prod",oper="up"}`: 2, `bd_by_state{fabric="prod",oper="down"}`: 1}
	if err := diffSeries(stateSeriesOf(f), want); err != nil {
		t.Error(err)
	}
	if got := f.st.eng.metrics[0].refused; got != 1 {
		t.Errorf("refused %d, want 1", got)
	}
	// down leaves: its place goes to the next new series, not to the
	// refused one that still has its object.
	f.Apply([]event.Event{ev("uni/tn-a/BD-2", "", event.StatusDeleted), ev("uni/tn-a/BD-5", "link-up", event.StatusCreated)})
	want = map[string]float64{`bd_by_state{fabric="prod",oper="up"}`: 2, `bd_by_state{fabric="prod",oper="link-up"}`: 1}
	if err := diffSeries(stateSeriesOf(f), want); err != nil {
		t.Error(err)
	}
}

// TestBuiltinsExposition: the built-in set as /metrics serves it, for a
// few objects of each class: types, help, labels, state sets filled with
// zeros, the engine series, and lint-clean.
func TestBuiltinsExposition(t *testing.T) {
	ms, err := statedef.Resolve(statedef.Selection{AllBuiltins: true, Enable: []string{"aci_interface_oper_state"}})
	if err != nil {
		t.Fatal(err)
	}
	f := NewFabric("prod", nil, nil, nil, 0)
	f.UseStateMetrics(ms)
	c := New()
	c.Add(f)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	g := Gatherer(reg, c)
	const port = "topology/pod-1/node-101/sys/phys-[eth1/1]/phys"
	for class, objs := range map[string][]event.Object{
		"faultInst":         {obj(port+"/fault-F0532", "code", "F0532", "severity", "major", "type", "communications", "domain", "access", "ack", "no", "lc", "raised")},
		"fabricHealthTotal": {obj("topology/health", "cur", "93"), obj("topology/pod-1/health", "cur", "91")},
		"healthInst":        {obj("topology/pod-1/node-101/sys/health", "cur", "88"), obj("uni/tn-common/health", "cur", "100")},
		"fabricNode": {obj("topology/pod-1/node-101", "fabricSt", "active", "name", "leaf101", "role", "leaf", "model", "N9K-C93180YC-FX",
			"serial", "FDO123", "version", "n9000-15.2(7g)", "address", "10.0.0.101")},
		"ethpmPhysIf":  {obj(port, "operSt", "up", "operStQual", "none", "usage", "fabric")},
		"bgpPeerEntry": {obj("topology/pod-1/node-201/sys/bgp/inst/dom-overlay-1/peer-[10.0.0.1/32]/ent-[10.0.0.1]", "operSt", "established")},
	} {
		resync(f, class, objs)
	}
	f.Apply([]event.Event{ev(event.StatusModified, "ethpmPhysIf", port, "operSt", "down", "operStQual", "link-failure")})
	want := `
# HELP aci_fault_transitions_total Fault lifecycle transitions, by the lifecycle state entered; severity is the fault's after the change.
# TYPE aci_fault_transitions_total counter
# HELP aci_faults Active faults (severity not cleared).
# TYPE aci_faults gauge
aci_faults{acked="false",code="F0532",domain="access",fabric="prod",node="101",pod="1",severity="major",tenant="",type="communications"} 1
# HELP aci_interface_link_transitions_total Physical interface oper state transitions, by the state entered.
# TYPE aci_interface_link_transitions_total counter
aci_interface_link_transitions_total{fabric="prod",node="101",oper_state="down",pod="1"} 1
# HELP aci_interface_oper_state Physical interface oper state, 1 for the current state.
# TYPE aci_interface_oper_state gauge
aci_interface_oper_state{fabric="prod",interface="eth1/1",node="101",pod="1",state="down"} 1
aci_interface_oper_state{fabric="prod",interface="eth1/1",node="101",pod="1",state="link-up"} 0
aci_interface_oper_state{fabric="prod",interface="eth1/1",node="101",pod="1",state="unknown"} 0
aci_interface_oper_state{fabric="prod",interface="eth1/1",node="101",pod="1",state="up"} 0
# HELP aci_interfaces Physical interfaces by oper state, admin state and usage.
# TYPE aci_interfaces gauge
aci_interfaces{admin_state="up",fabric="prod",node="101",oper_state="down",pod="1",usage="fabric"} 1
# HELP aci_node_info Fabric node inventory, 1 per node.
# TYPE aci_node_info gauge
aci_node_info{address="10.0.0.101",fabric="prod",model="N9K-C93180YC-FX",name="leaf101",node="101",pod="1",role="leaf",serial="FDO123",version="n9000-15.2(7g)"} 1
# HELP aci_pod_health_score Pod health score, 0-100.
# TYPE aci_pod_health_score gauge
aci_pod_health_score{fabric="prod",pod="1"} 91
# HELP aci_tenant_health_score Tenant health score, 0-100.
# TYPE aci_tenant_health_score gauge
aci_tenant_health_score{fabric="prod",tenant="common"} 100
# HELP aci_state_series_refused_total State series not exported because their metric held max_series.
# TYPE aci_state_series_refused_total counter
aci_state_series_refused_total{fabric="prod",metric="aci_faults"} 0
`
	names := []string{"aci_fault_transitions_total", "aci_faults", "aci_interface_link_transitions_total", "aci_interface_oper_state", "aci_interfaces",
		"aci_node_info", "aci_pod_health_score", "aci_tenant_health_score"}
	if err := testutil.GatherAndCompare(g, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	for name, n := range map[string]int{"aci_node_state": 10, "aci_state_series_limit": len(ms), "aci_state_series_refused_total": len(ms),
		"aci_fabric_health_score": 1, "aci_node_health_score": 1, "aci_bgp_peers": 1, "aci_bgp_peer_transitions_total": 0} {
		if got := countFamily(t, g, name); got != n {
			t.Errorf("%s: %d series, want %d", name, got, n)
		}
	}
	problems, err := testutil.GatherAndLint(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
