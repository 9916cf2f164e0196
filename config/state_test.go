package config

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// stateHead is a fabric up to its state: key (lines 1-6); a test's body
// starts at line 7.
const stateHead = `fabrics:
  - name: prod
    controllers: [https://apic1]
    username: monitoring
    password_env: ACI_PROD_PASSWORD
    state:
`

// labHead starts a second fabric's state: section.
const labHead = `  - name: lab
    controllers: [https://apic2]
    username: monitoring
    password_env: ACI_LAB_PASSWORD
    state:
`

// TestStateErrors: every problem of a state: section names its key path
// and the line of the key at fault.
func TestStateErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"unknown key in state", `
      builtin: [faults]`,
			`line 7: unknown key "builtin" in state`},
		{"unknown key in a metric", `
      metrics:
        - name: m
          class: faultInst
          kind: count
          lables: []`,
			`line 11: unknown key "lables" in a state metric`},
		{"unknown key in a label", `
      metrics:
        - name: m
          class: faultInst
          kind: count
          labels: [{name: code, atr: code}]`,
			`line 11: unknown key "atr" in a state metric's label`},
		{"unknown key in a condition", `
      metrics:
        - name: m
          class: faultInst
          kind: count
          where:
            - attr: severity
              notin: [cleared]`,
			`line 13: unknown key "notin" in a state metric's where`},
		{"unknown key in value", `
      metrics:
        - {name: m, class: healthInst, kind: value, value: {attribute: cur}}`,
			`line 8: unknown key "attribute" in a state metric's value`},
		{"wrong type", `
      metrics:
        - {name: m, class: healthInst, kind: count, max_series: many}`,
			"line 8: cannot unmarshal !!str `many` into int"},
		{"unknown group", `
      builtins:
        - faults
        - helth`,
			`line 9: fabrics[0] "prod": state.builtins[1]: "helth" is not a built-in group (faults, health, nodes, interfaces, bgp)`},
		{"enable an unknown metric", `
      enable: [aci_bgp_peer_state, aci_nope]`,
			`line 7: fabrics[0] "prod": state.enable[1]: "aci_nope" is not a built-in metric`},
		{"enable a default one", `
      enable: [aci_faults]`,
			`line 7: fabrics[0] "prod": state.enable[0]: "aci_faults" is on by default; enable switches on the opt-in built-ins (aci_interface_oper_state, aci_bgp_peer_state)`},
		{"enable and disable", `
      enable: [aci_bgp_peer_state]
      disable: [aci_bgp_peer_state]`,
			`line 7: fabrics[0] "prod": state.enable[0]: "aci_bgp_peer_state" is also under disable`},
		{"disable an unknown metric", `
      disable:
        - aci_nodes_info`,
			`line 8: fabrics[0] "prod": state.disable[0]: "aci_nodes_info" is not a built-in metric`},
		{"bad dn", `
      metrics:
        - name: ok
          class: faultInst
          kind: count
        - name: bad
          class: healthInst
          dn: '^uni/tn-(?P<tenant>[^/]+'
          kind: count`,
			"line 13: fabrics[0] \"prod\": state.metrics[1].dn: error parsing regexp: missing closing ): `^uni/tn-(?P<tenant>[^/]+`"},
		{"bad name", `
      metrics:
        - {name: aci-epg, class: healthInst, kind: count}`,
			`line 8: fabrics[0] "prod": state.metrics[0].name: "aci-epg" is not a metric name`},
		{"bad class", `
      metrics:
        - name: m
          class: HealthInst
          kind: count`,
			`line 9: fabrics[0] "prod": state.metrics[0].class: "HealthInst" is not an APIC class name`},
		{"no kind", `
      metrics:
        - name: m
          class: healthInst`,
			`line 8: fabrics[0] "prod": state.metrics[0].kind: missing (count, value, info, stateset or transitions)`},
		{"kind with keys of another", `
      metrics:
        - name: m
          class: healthInst
          kind: count
          attr: cur`,
			`line 10: fabrics[0] "prod": state.metrics[0]: kind count takes none of value, attr, states, value_label`},
		{"value without attr", `
      metrics:
        - name: m
          class: healthInst
          kind: value
          value: {scale: 2}`,
			`line 11: fabrics[0] "prod": state.metrics[0].value.attr: kind value needs the attribute to read`},
		{"empty value map", `
      metrics:
        - name: m
          class: healthInst
          kind: value
          value:
            attr: cur
            map: {}`,
			`line 13: fabrics[0] "prod": state.metrics[0].value.map: empty: no state would have a number`},
		{"stateset without states", `
      metrics:
        - name: m
          class: fabricNode
          kind: stateset
          attr: fabricSt`,
			`line 8: fabrics[0] "prod": state.metrics[0].states: kind stateset needs its known states`},
		{"bad label", `
      metrics:
        - name: m
          class: faultInst
          kind: count
          labels:
            - {name: code, attr: code}
            - {name: severity, attr: severity, dn: node}`,
			`line 13: fabrics[0] "prod": state.metrics[0].labels[1]: "severity" needs exactly one of dn and attr`},
		{"label twice", `
      metrics:
        - name: m
          class: faultInst
          kind: count
          labels:
            - {name: code, attr: code}
            - {name: severity, attr: severity}
            - {name: code, attr: lc}`,
			`line 14: fabrics[0] "prod": state.metrics[0].labels[2]: "code" given twice`},
		{"label of an unknown group", `
      metrics:
        - name: m
          class: healthInst
          dn: '^uni/tn-(?P<tenant>[^/]+)/health$'
          kind: count
          labels: [{name: t, dn: tenant}, {name: e, dn: epg}]`,
			`line 12: fabrics[0] "prod": state.metrics[0].labels[1]: "e": dn "epg" is neither a named group of dn nor tenant, pod or node`},
		{"bad match", `
      metrics:
        - name: m
          class: faultInst
          kind: count
          where:
            - {attr: severity, not_in: [cleared]}
            - attr: code
              match: 'F(0'`,
			"line 14: fabrics[0] \"prod\": state.metrics[0].where[1]: code: match: error parsing regexp: missing closing ): `^(?:F(0)$`"},
		{"condition with two tests", `
      metrics:
        - name: m
          class: faultInst
          kind: count
          where:
            - {attr: severity, in: [major], not_in: [cleared]}`,
			`line 12: fabrics[0] "prod": state.metrics[0].where[0]: severity needs exactly one of in, not_in and match`},
		{"empty in", `
      metrics:
        - name: m
          class: faultInst
          kind: count
          where: [{attr: severity, in: []}]`,
			`line 11: fabrics[0] "prod": state.metrics[0].where[0]: severity: an empty list of values`},
		{"max_series zero", `
      metrics:
        - name: m
          class: faultInst
          kind: count
          max_series: 0`,
			`line 11: fabrics[0] "prod": state.metrics[0].max_series: must be positive; omit it for the default (10000)`},
		{"metric defined twice", `
      metrics:
        - {name: m, class: faultInst, kind: count}
        - {name: n, class: faultInst, kind: count}
        - {name: m, class: fvTenant, kind: count}`,
			`line 10: fabrics[0] "prod": state.metrics[2].name: "m" is already defined by state.metrics[0]`},
		{"every problem reported", `
      builtins: [fault]
      metrics:
        - {name: m, class: faultInst, kind: count, dn: '('}`,
			"line 7: fabrics[0] \"prod\": state.builtins[0]: \"fault\" is not a built-in group (faults, health, nodes, interfaces, bgp)\n" +
				"line 9: fabrics[0] \"prod\": state.metrics[0].dn: error parsing regexp: missing closing ): `(`"},
		{"a metric of two fabrics that disagree", `
      metrics:
        - {name: aci_epgs, class: fvAEPg, kind: count, labels: [{name: tenant, dn: tenant}]}
` + labHead + `      metrics:
        - {name: aci_epgs, class: fvAEPg, kind: info, labels: [{name: tenant, dn: tenant}]}`,
			`line 15: fabrics[1] "lab": state.metrics[0]: aci_epgs has kind info and labels [tenant] here, but kind count and labels [tenant] in fabrics[0] "prod": state.metrics[0] (line 8); a metric's series of every fabric make one family, so they must agree`},
		{"a user metric against a built-in of another fabric", `
      metrics:
        - {name: aci_faults, class: faultInst, kind: count, labels: [{name: code, attr: code}]}
  - name: lab
    controllers: [https://apic2]
    username: monitoring
    password_env: ACI_LAB_PASSWORD`,
			// Reported at the user's definition, the one with a line.
			`line 8: fabrics[0] "prod": state.metrics[0]: aci_faults has kind count and labels [code] here, but kind count and labels [tenant pod node code severity type domain acked] in fabrics[1] "lab": built-in; a metric's series of every fabric make one family, so they must agree`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(stateHead + strings.TrimPrefix(tt.body, "\n") + "\n"))
			if err == nil {
				t.Fatalf("Parse succeeded:\n%s", c)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func names(f Fabric) []string {
	var out []string
	for _, m := range f.StateMetrics() {
		out = append(out, m.Name)
	}
	return out
}

// TestStateResolved: Parse resolves each fabric's state: section; an
// omitted section is every default built-in, builtins: [] none of them.
func TestStateResolved(t *testing.T) {
	c, err := Load("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aci_faults", "aci_fault_transitions_total", "aci_node_state", "aci_interface_oper_state", "aci_epg_health_score"}
	if got := names(c.Fabrics[0]); !slices.Equal(got, want) {
		t.Errorf("prod: %v, want %v", got, want)
	}
	// The user's aci_faults replaced the built-in.
	if m := c.Fabrics[0].StateMetrics()[0]; !slices.Equal(m.LabelNames(), []string{"severity"}) {
		t.Errorf("aci_faults has labels %v, want the user's", m.LabelNames())
	}
	if got := names(c.Fabrics[1]); got != nil {
		t.Errorf("lab, builtins: []: %v, want none", got)
	}
	m, err := Load("testdata/minimal.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"aci_faults", "aci_fault_transitions_total", "aci_fabric_health_score", "aci_pod_health_score", "aci_node_health_score",
		"aci_tenant_health_score", "aci_node_state", "aci_node_info", "aci_interfaces", "aci_interface_link_transitions_total",
		"aci_bgp_peers", "aci_bgp_peer_transitions_total"}
	if got := names(m.Fabrics[0]); !slices.Equal(got, want) {
		t.Errorf("no state section: %v, want %v", got, want)
	}
}

// TestStateSameAcrossFabrics: fabrics may define the same metric when
// its kind and labels agree, whatever its class, help or rule.
func TestStateSameAcrossFabrics(t *testing.T) {
	yml := stateHead + `      metrics:
        - {name: aci_epgs, class: fvAEPg, kind: count, labels: [{name: tenant, dn: tenant}]}
` + labHead + `      metrics:
        - {name: aci_epgs, help: EPGs., class: fvAEPg, kind: count, labels: [{name: tenant, attr: tenantName}]}
`
	if _, err := Parse([]byte(yml)); err != nil {
		t.Fatal(err)
	}
}

func TestAllSubscriptions(t *testing.T) {
	sub := func(name, class, filter string) Subscription {
		return Subscription{Name: name, Class: class, Filter: filter}
	}
	tests := []struct {
		name, yml string
		want      []Subscription
	}{
		{"defaults and every default built-in's class once", stateHead, []Subscription{
			sub("fvTenant", "fvTenant", ""), sub("fvAp", "fvAp", ""), sub("fvAEPg", "fvAEPg", ""), sub("fvBD", "fvBD", ""), sub("fvCtx", "fvCtx", ""),
			sub("faultInst", "faultInst", ""), sub("fabricHealthTotal", "fabricHealthTotal", ""), sub("healthInst", "healthInst", ""),
			sub("fabricNode", "fabricNode", ""), sub("ethpmPhysIf", "ethpmPhysIf", ""), sub("bgpPeerEntry", "bgpPeerEntry", ""),
		}},
		{"a configured class with the same filter is subscribed once", `fabrics:
  - name: prod
    controllers: [https://apic1]
    username: monitoring
    password_env: ACI_PROD_PASSWORD
    subscriptions:
      - {name: faults, class: faultInst}
    state: {builtins: [faults]}
`, []Subscription{sub("faults", "faultInst", "")}},
		{"another filter is another subscription, named apart when its name is taken", `fabrics:
  - name: prod
    controllers: [https://apic1]
    username: monitoring
    password_env: ACI_PROD_PASSWORD
    subscriptions:
      - {class: faultInst, filter: 'eq(faultInst.severity,"critical")'}
      - {name: healthInst, class: fvTenant}
    state:
      builtins: [faults]
      metrics:
        - {name: a, class: healthInst, filter: 'wcard(healthInst.dn,"/epg-")', kind: count}
        - {name: b, class: healthInst, filter: 'wcard(healthInst.dn,"/epg-")', kind: count}
        - {name: c, class: fvAp, filter: 'wcard(fvAp.dn,"x")', kind: count}
`, []Subscription{
			sub("faultInst", "faultInst", `eq(faultInst.severity,"critical")`), sub("healthInst", "fvTenant", ""),
			sub("faultInst-state", "faultInst", ""), sub("healthInst-5de00a", "healthInst", `wcard(healthInst.dn,"/epg-")`),
			sub("fvAp", "fvAp", `wcard(fvAp.dn,"x")`),
		}},
		{"no state metrics", stateHead + "      builtins: []\n", []Subscription{
			sub("fvTenant", "fvTenant", ""), sub("fvAp", "fvAp", ""), sub("fvAEPg", "fvAEPg", ""), sub("fvBD", "fvBD", ""), sub("fvCtx", "fvCtx", ""),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yml))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Fabrics[0].AllSubscriptions(); !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestStateDump: the dump shows the state: section as written (no
// defaults filled in) and parses back to the same metrics.
func TestStateDump(t *testing.T) {
	for _, path := range []string{"testdata/full.good.yml", "../config.example.yaml"} {
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		dump := c.String()
		back, err := Parse([]byte(dump))
		if err != nil {
			t.Fatalf("%s: the dump does not parse: %v\n%s", path, err, dump)
		}
		for i := range c.Fabrics {
			if !back.Fabrics[i].Same(c.Fabrics[i].redacted()) || !slices.Equal(names(back.Fabrics[i]), names(c.Fabrics[i])) {
				t.Errorf("%s: fabric %d changed through the dump:\n%s", path, i, dump)
			}
		}
		if strings.Contains(dump, "scale: 1\n") || strings.Contains(dump, "max_series: 10000") || strings.Contains(dump, "State metric ") {
			t.Errorf("%s: the dump shows defaults the file does not:\n%s", path, dump)
		}
	}
	c, err := Load("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if lab := c.Fabrics[1].String(); !strings.Contains(lab, "builtins: []") {
		t.Errorf("builtins: [] is lost in the dump, which would turn every built-in on:\n%s", lab)
	}
}

// TestREADMEStateExample: the state: section the README shows is accepted.
func TestREADMEStateExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```yaml\n    state:\n")
	block, _, _ = strings.Cut(block, "```")
	if !ok || block == "" {
		t.Fatal("README has no state: example (a yaml block starting with \"    state:\")")
	}
	c, err := Parse([]byte(stateHead + block))
	if err != nil {
		t.Fatalf("README's state: example: %v", err)
	}
	got := names(c.Fabrics[0])
	for _, want := range []string{"aci_bgp_peer_state", "aci_epg_health_score", "aci_ospf_adjacencies"} {
		if !slices.Contains(got, want) {
			t.Errorf("README's example does not turn on %s: %v", want, got)
		}
	}
}
