package statedef

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func builtin(t *testing.T, name string) *Metric {
	t.Helper()
	for _, b := range Builtins() {
		if b.Name == name {
			m, err := Compile(b.Def)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("no built-in %s", name)
	return nil
}

func attrs(kv ...string) Attrs {
	return func(name string) (string, bool) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == name {
				return kv[i+1], true
			}
		}
		return "", false
	}
}

func TestSeriesRules(t *testing.T) {
	faultDN := "topology/pod-1/node-101/sys/phys-[eth1/1]/fault-F0532"
	tests := []struct {
		metric, dn, tenant string
		attrs              Attrs
		want               string // label values joined by |, "" for none
		value              float64
	}{
		{"aci_faults", faultDN, "", attrs("code", "F0532", "severity", "major", "type", "communications", "domain", "access", "ack", "no"),
			"|1|101|F0532|major|communications|access|false", 1},
		{"aci_faults", "uni/tn-t1/BD-b/fault-F0467", "t1", attrs("code", "F0467", "severity", "warning", "ack", "yes"),
			"t1|||F0467|warning|||true", 1},
		{"aci_faults", faultDN, "", attrs("code", "F0532", "severity", "cleared"), "", 0},
		{"aci_fault_transitions_total", faultDN, "", attrs("code", "F0532", "severity", "minor", "lc", "raised"), "F0532|minor|raised", 1},
		{"aci_fabric_health_score", "topology/health", "", attrs("cur", "93"), "", 93},
		{"aci_fabric_health_score", "topology/pod-1/health", "", attrs("cur", "93"), "", 0},
		{"aci_pod_health_score", "topology/pod-2/health", "", attrs("cur", "71"), "2", 71},
		{"aci_node_health_score", "topology/pod-1/node-201/sys/health", "", attrs("cur", "x"), "", 0},
		{"aci_node_health_score", "topology/pod-1/node-201/sys/health", "", attrs("cur", "88"), "1|201", 88},
		{"aci_node_health_score", "topology/pod-1/node-201/sys/health", "", attrs("cur", "NaN"), "", 0},
		{"aci_node_health_score", "topology/pod-1/node-201/sys/health", "", attrs("cur", "-Inf"), "", 0},
		{"aci_tenant_health_score", "uni/tn-common/health", "common", attrs("cur", "100"), "common", 100},
		{"aci_tenant_health_score", "uni/tn-common/ap-a/health", "common", attrs("cur", "100"), "", 0},
		{"aci_node_state", "topology/pod-1/node-1", "", attrs("fabricSt", "unknown"), "1|1|unknown", 1},
		{"aci_interfaces", "topology/pod-1/node-101/sys/phys-[eth1/49]/phys", "", attrs("operSt", "down", "operStQual", "admin-down", "usage", "discovery"),
			"1|101|down|down|discovery", 1},
		{"aci_interfaces", "topology/pod-1/node-101/sys/phys-[eth1/49]/phys", "", attrs("operSt", "down", "operStQual", "link-not-connected", "usage", "epg"),
			"1|101|down|up|epg", 1},
		{"aci_interface_oper_state", "topology/pod-1/node-101/sys/phys-[eth1/49]/phys", "", attrs("operSt", "up"), "1|101|eth1/49|up", 1},
		{"aci_bgp_peers", "topology/pod-1/node-201/sys/bgp/inst/dom-overlay-1/peer-[10.0.0.1/32]/ent-[10.0.0.1]", "", attrs("operSt", "established"),
			"1|201|overlay-1|established", 1},
		{"aci_bgp_peer_state", "topology/pod-1/node-201/sys/bgp/inst/dom-overlay-1/peer-[10.0.0.1/32]/ent-[10.0.0.1]", "", attrs("operSt", "idle"),
			"1|201|overlay-1|10.0.0.1|idle", 1},
	}
	for _, tt := range tests {
		m := builtin(t, tt.metric)
		labels, v, ok := m.Series(tt.dn, tt.tenant, tt.attrs)
		got := strings.Join(labels, "|")
		if tt.want == "" && tt.value == 0 {
			if ok {
				t.Errorf("%s %s: series %q, want none", tt.metric, tt.dn, got)
			}
			continue
		}
		if !ok || got != tt.want || v != tt.value {
			t.Errorf("%s %s: %q %v %v, want %q %v", tt.metric, tt.dn, got, v, ok, tt.want, tt.value)
		}
		if len(labels) != len(m.LabelNames()) {
			t.Errorf("%s: %d label values for labels %v", tt.metric, len(labels), m.LabelNames())
		}
	}
}

func TestEntered(t *testing.T) {
	m := builtin(t, "aci_interface_link_transitions_total")
	dn := "topology/pod-1/node-101/sys/phys-[eth1/1]/phys"
	up, down := attrs("operSt", "up"), attrs("operSt", "down")
	if l, ok := m.Entered(dn, "", nil, up); !ok || strings.Join(l, "|") != "1|101|up" {
		t.Errorf("created up: %v %v", l, ok)
	}
	if _, ok := m.Entered(dn, "", up, up); ok {
		t.Error("up to up counted")
	}
	if l, ok := m.Entered(dn, "", up, down); !ok || l[2] != "down" {
		t.Errorf("up to down: %v %v", l, ok)
	}
	if _, ok := m.Entered(dn, "", up, attrs()); ok {
		t.Error("no operSt counted")
	}
}

func TestCompileErrorsNameTheField(t *testing.T) {
	tests := []struct {
		def  Def
		want string
	}{
		{Def{Name: "bad name", Class: "faultInst", Kind: Count}, "name:"},
		{Def{Name: "m", Class: "FaultInst", Kind: Count}, "class:"},
		{Def{Name: "m", Class: "faultInst", Kind: "gauge"}, "kind:"},
		{Def{Name: "m", Class: "faultInst", Kind: Count, DN: "("}, "dn:"},
		{Def{Name: "m", Class: "faultInst", Kind: Value}, "value.attr"},
		{Def{Name: "m", Class: "faultInst", Kind: StateSet, Attr: "lc"}, "states:"},
		{Def{Name: "m", Class: "faultInst", Kind: Count, Labels: []Label{{Name: "x", DN: "nope"}}}, "neither a named group"},
		{Def{Name: "m", Class: "faultInst", Kind: Count, Labels: []Label{{Name: "fabric", Attr: "code"}}}, "labels:"},
		{Def{Name: "m", Class: "faultInst", Kind: Count, Where: []Cond{{Attr: "lc", Match: "("}}}, "where: lc: match"},
		{Def{Name: "m", Class: "faultInst", Kind: Count, Where: []Cond{{Attr: "lc", In: []string{"a"}, NotIn: []string{"b"}}}}, "exactly one"},
		{Def{Name: "m", Class: "faultInst", Kind: Transitions, Attr: "lc", Labels: []Label{{Name: "state", Attr: "code"}}}, "value_label"},
		{Def{Name: "m", Class: "faultInst", Kind: Count, Where: []Cond{{Attr: "lc", In: []string{}}}}, "where: lc: an empty list"},
		{Def{Name: "m", Class: "healthInst", Kind: Value, Value: &ValueFrom{Attr: "cur", Map: map[string]float64{}}}, "value.map: empty"},
		{Def{Name: "m", Class: "healthInst", Kind: Value, Value: &ValueFrom{Attr: "cur", Scale: math.NaN()}}, "value.scale:"},
		{Def{Name: "m", Class: "healthInst", Kind: Value, Value: &ValueFrom{Attr: "cur", Map: map[string]float64{"up": math.Inf(1)}}}, "value.map:"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.def)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want it to say %q", tt.def, err, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	all, err := Resolve(Selection{AllBuiltins: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range all {
		names = append(names, m.Name)
	}
	if slices.Contains(names, "aci_interface_oper_state") || !slices.Contains(names, "aci_faults") || len(names) != 12 {
		t.Errorf("defaults: %v", names)
	}
	ms, err := Resolve(Selection{Builtins: []string{"faults"}, Enable: []string{"aci_bgp_peer_state"}, Disable: []string{"aci_fault_transitions_total"},
		Metrics: []Def{{Name: "aci_faults", Class: "faultInst", Kind: Count}, {Name: "my_epgs", Class: "fvAEPg", Kind: Count}}})
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, m := range ms {
		names = append(names, m.Name+"/"+strings.Join(m.LabelNames(), ","))
	}
	want := []string{"aci_faults/", "aci_bgp_peer_state/pod,node,vrf,peer,state", "my_epgs/"}
	if !slices.Equal(names, want) {
		t.Errorf("got %v, want %v", names, want)
	}
	for _, sel := range []Selection{{Builtins: []string{"nope"}}, {Disable: []string{"aci_nope"}}, {Metrics: []Def{{Name: "a", Class: "x", Kind: Count}, {Name: "a", Class: "x", Kind: Count}}}} {
		if _, err := Resolve(sel); err == nil {
			t.Errorf("%+v: no error", sel)
		}
	}
	if got := Classes(all); !slices.Equal(got, []string{"faultInst", "fabricHealthTotal", "healthInst", "fabricNode", "ethpmPhysIf", "bgpPeerEntry"}) {
		t.Errorf("classes %v", got)
	}
}

// TestCompileLeavesTheDefAlone: the config keeps the user's definitions to
// dump them as written, so compiling must not fill defaults into them.
func TestCompileLeavesTheDefAlone(t *testing.T) {
	d := Def{Name: "m", Class: "healthInst", Kind: Value, Value: &ValueFrom{Attr: "cur"}}
	m, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	if d.Value.Scale != 0 {
		t.Errorf("Compile set the caller's scale to %v", d.Value.Scale)
	}
	if v, ok := m.Number("7", true); !ok || v != 7 {
		t.Errorf("Number(7) = %v %v with the default scale", v, ok)
	}
}

func TestGauges(t *testing.T) {
	m := builtin(t, "aci_node_state")
	got := map[string]float64{}
	m.Gauges("topology/pod-1/node-101", "", attrs("fabricSt", "inactive"), func(labels []string, v float64) { got[strings.Join(labels, "|")] += v })
	if len(got) != len(m.States) || got["1|101|inactive"] != 1 || got["1|101|active"] != 0 {
		t.Errorf("state set: %v", got)
	}
	got = map[string]float64{}
	m.Gauges("topology/pod-1/node-101", "", attrs("fabricSt", "rebooting"), func(labels []string, v float64) { got[strings.Join(labels, "|")] += v })
	if len(got) != len(m.States)+1 || got["1|101|rebooting"] != 1 {
		t.Errorf("a state outside states: %v", got)
	}
	got = map[string]float64{}
	builtin(t, "aci_node_health_score").Gauges("topology/pod-1/node-101/sys/health", "", attrs("cur", "0"),
		func(labels []string, v float64) { got[strings.Join(labels, "|")] += v })
	if v, ok := got["1|101"]; len(got) != 1 || !ok || v != 0 {
		t.Errorf("a value of 0 is a series: %v", got)
	}
}
