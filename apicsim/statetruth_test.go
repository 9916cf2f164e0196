package apicsim

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/statedef"
)

// stateOf returns the truth's series of one state metric, keyed by labels.
func stateOf(tr Truth, metric string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range tr.State {
		if k.Metric == metric {
			out[k.Labels] = v
		}
	}
	return out
}

func wantState(t *testing.T, tr Truth, metric string, want map[string]float64) {
	t.Helper()
	if got := stateOf(tr, metric); !maps.Equal(got, want) {
		t.Fatalf("%s\n got %v\nwant %v", metric, got, want)
	}
}

const (
	faultPort = "topology/pod-1/node-101/sys/phys-[eth1/7]/phys/fault-F1394"
	faultEPG  = "uni/tn-A/ap-web/epg-front/fault-F0467"
)

// TestStateTruthFaultLive: a fault's lifecycle pushed live, worked out
// by hand from README "Fabric state metrics": the baseline counts no
// transition; each change whose lc enters a value counts once, with the
// severity after it; an ack changes no lifecycle; a cleared fault leaves
// aci_faults; a deletion counts nothing.
func TestStateTruthFaultLive(t *testing.T) {
	s := newSim(t, Config{})
	s.mustCreate(t, "faultInst", faultPort, "code", "F1394", "severity", "major", "lc", "raised",
		"type", "communications", "domain", "access", "ack", "no", "modTs", "never")
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/faultInst.json")

	port := `tenant="",pod="1",node="101",code="F1394",severity="major",type="communications",domain="access",acked="false"`
	wantState(t, s.Truth("admin"), "aci_faults", map[string]float64{port: 1})
	wantState(t, s.Truth("admin"), "aci_fault_transitions_total", map[string]float64{})

	s.mustCreate(t, "faultInst", faultEPG, "code", "F0467", "severity", "warning", "lc", "soaking",
		"type", "config", "domain", "tenant", "ack", "no", "modTs", "never")
	epg := `tenant="A",pod="",node="",code="F0467",severity="%s",type="config",domain="tenant",acked="%s"`
	wantState(t, s.Truth("admin"), "aci_faults", map[string]float64{port: 1, fmt.Sprintf(epg, "warning", "false"): 1})

	s.Modify(faultEPG, map[string]string{"lc": "raised", "severity": "minor"})
	s.Modify(faultEPG, map[string]string{"ack": "yes"})
	wantState(t, s.Truth("admin"), "aci_faults", map[string]float64{port: 1, fmt.Sprintf(epg, "minor", "true"): 1})
	s.Modify(faultEPG, map[string]string{"lc": "raised-clearing", "severity": "cleared"})
	s.Modify(faultEPG, map[string]string{"lc": "retaining"})
	if err := s.Delete(faultEPG); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		c.readFrame()
	}
	tr := s.Truth("admin")
	wantState(t, tr, "aci_faults", map[string]float64{port: 1})
	wantState(t, tr, "aci_fault_transitions_total", map[string]float64{
		`code="F0467",severity="warning",lifecycle="soaking"`:         1,
		`code="F0467",severity="minor",lifecycle="raised"`:            1,
		`code="F0467",severity="cleared",lifecycle="raised-clearing"`: 1,
		`code="F0467",severity="cleared",lifecycle="retaining"`:       1,
	})
}

func portDN(n int) string { return fmt.Sprintf("topology/pod-1/node-101/sys/phys-[eth1/%d]/phys", n) }

func (s *Sim) mustPort(t *testing.T, n int, operSt string) {
	t.Helper()
	s.mustCreate(t, "ethpmPhysIf", portDN(n), "operSt", operSt, "operStQual", "none", "usage", "epg", "modTs", "never")
}

func (s *Sim) mustModify(t *testing.T, dn string, kv ...string) {
	t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	if err := s.Modify(dn, m); err != nil {
		t.Fatal(err)
	}
}

const linkTransitions = "aci_interface_link_transitions_total"

func link(state string) string { return `pod="1",node="101",oper_state="` + state + `"` }

// TestStateTruthGapRule: ports that flap while the socket is down count
// at most once each, for their state at the end of the gap if it differs
// from the state the client last saw; a port created in the gap counts
// its state, one created and deleted or deleted counts nothing.
func TestStateTruthGapRule(t *testing.T) {
	s := newSim(t, Config{})
	for n, st := range map[int]string{1: "up", 2: "up", 3: "up", 4: "down"} {
		s.mustPort(t, n, st)
	}
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/ethpmPhysIf.json")
	s.mustModify(t, portDN(4), "operSt", "up") // live
	c.readFrame()
	wantState(t, s.Truth("admin"), linkTransitions, map[string]float64{link("up"): 1})

	if _, err := s.DropSockets(CloseAbrupt); err != nil {
		t.Fatal(err)
	}
	s.mustModify(t, portDN(1), "operSt", "down") // flaps back: nothing
	s.mustModify(t, portDN(1), "operSt", "up")
	s.mustModify(t, portDN(2), "operSt", "down") // down, up, down: down once
	s.mustModify(t, portDN(2), "operSt", "up")
	s.mustModify(t, portDN(2), "operSt", "down")
	s.mustModify(t, portDN(3), "operSt", "down") // gone at the end: nothing
	if err := s.Delete(portDN(3)); err != nil {
		t.Fatal(err)
	}
	s.mustPort(t, 5, "up") // created and deleted: nothing
	if err := s.Delete(portDN(5)); err != nil {
		t.Fatal(err)
	}
	s.mustPort(t, 6, "down") // did not exist at the start: down once
	// Not settled until the client sees the class again.
	wantState(t, s.Truth("admin"), linkTransitions, map[string]float64{link("up"): 1})

	c2 := newClient(t, s, 0)
	c2.mustLogin()
	c2.subscribe("/api/class/ethpmPhysIf.json")
	tr := s.Truth("admin")
	wantState(t, tr, linkTransitions, map[string]float64{link("up"): 1, link("down"): 2})
	ports := `pod="1",node="101",oper_state="%s",admin_state="up",usage="epg"`
	wantState(t, tr, "aci_interfaces", map[string]float64{fmt.Sprintf(ports, "up"): 2, fmt.Sprintf(ports, "down"): 2})

	// Live again after the resync.
	s.mustModify(t, portDN(6), "operSt", "up", "operStQual", "admin-down")
	c2.readFrame()
	tr = s.Truth("admin")
	wantState(t, tr, linkTransitions, map[string]float64{link("up"): 2, link("down"): 2})
	wantState(t, tr, "aci_interfaces", map[string]float64{
		fmt.Sprintf(ports, "up"):   2,
		fmt.Sprintf(ports, "down"): 1,
		`pod="1",node="101",oper_state="up",admin_state="down",usage="epg"`: 1,
	})
}

// TestStateTruthUndeliver: transitions queued for a socket that never
// writes them count as seen until the client gives up on it; then they
// are taken back and the gap rule counts the net change once.
func TestStateTruthUndeliver(t *testing.T) {
	s := newSim(t, Config{})
	s.mustPort(t, 1, "up")
	s.mustPort(t, 2, "up")
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/ethpmPhysIf.json")
	s.StallSockets()
	s.mustModify(t, portDN(1), "operSt", "down") // down and back: nothing net
	s.mustModify(t, portDN(1), "operSt", "up")
	s.mustModify(t, portDN(2), "operSt", "down") // down net
	wantState(t, s.Truth("admin"), linkTransitions, map[string]float64{link("down"): 2, link("up"): 1})

	c.ws.Close()
	eventually(t, "the socket to close", func() bool { return len(s.openSockets()) == 0 })
	wantState(t, s.Truth("admin"), linkTransitions, map[string]float64{})
	c2 := newClient(t, s, 0)
	c2.mustLogin()
	c2.subscribe("/api/class/ethpmPhysIf.json")
	wantState(t, s.Truth("admin"), linkTransitions, map[string]float64{link("down"): 1})
}

// TestStateTruthGauges: a state set has every known state per node and
// a series for a value outside them; value series with equal labels are
// summed and a value of 0 is a series; info is 1 per object; a class the
// user has not subscribed to has no series; user metrics count too.
func TestStateTruthGauges(t *testing.T) {
	sum, err := statedef.Resolve(statedef.Selection{AllBuiltins: true, Metrics: []statedef.Def{{
		Name: "test_health_sum", Class: "healthInst", Kind: statedef.Value, Value: &statedef.ValueFrom{Attr: "cur"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, Config{StateMetrics: sum})
	node := func(id, st string) {
		s.mustCreate(t, "fabricNode", "topology/pod-1/node-"+id, "fabricSt", st, "name", "leaf"+id, "role", "leaf",
			"model", "N9K", "serial", "S"+id, "version", "v1", "address", "10.0.0."+id)
	}
	node("101", "active")
	node("102", "flapping")
	s.mustCreate(t, "healthInst", "topology/pod-1/node-101/sys/health", "cur", "93")
	s.mustCreate(t, "healthInst", "uni/tn-A/health", "cur", "0")
	s.mustCreate(t, "healthInst", "uni/tn-A/ap-x/epg-y/health", "cur", "50") // neither node nor tenant
	s.mustCreate(t, "fabricHealthTotal", "topology/health", "cur", "88")
	s.mustCreate(t, "bgpPeerEntry", "topology/pod-1/node-101/sys/bgp/inst/dom-overlay-1/peer-[10.0.0.1/32]/ent-[10.0.0.1]", "operSt", "established")

	c := newClient(t, s, 0)
	c.mustLogin()
	for _, class := range []string{"fabricNode", "healthInst", "fabricHealthTotal"} {
		c.subscribe("/api/class/" + class + ".json")
	}
	tr := s.Truth("admin")
	want := map[string]float64{}
	for _, id := range []string{"101", "102"} {
		for _, st := range statedef.Builtins()[6].States {
			want[`pod="1",node="`+id+`",state="`+st+`"`] = 0
		}
	}
	want[`pod="1",node="101",state="active"`] = 1
	want[`pod="1",node="102",state="flapping"`] = 1
	wantState(t, tr, "aci_node_state", want)
	wantState(t, tr, "aci_node_info", map[string]float64{
		`pod="1",node="101",name="leaf101",role="leaf",model="N9K",serial="S101",version="v1",address="10.0.0.101"`: 1,
		`pod="1",node="102",name="leaf102",role="leaf",model="N9K",serial="S102",version="v1",address="10.0.0.102"`: 1,
	})
	wantState(t, tr, "aci_node_health_score", map[string]float64{`pod="1",node="101"`: 93})
	wantState(t, tr, "aci_tenant_health_score", map[string]float64{`tenant="A"`: 0})
	wantState(t, tr, "aci_fabric_health_score", map[string]float64{``: 88})
	wantState(t, tr, "aci_pod_health_score", map[string]float64{})
	wantState(t, tr, "test_health_sum", map[string]float64{``: 143})
	wantState(t, tr, "aci_bgp_peers", map[string]float64{}) // not subscribed

	var b strings.Builder
	if err := tr.WriteText(&b, "prod"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"# TYPE aci_node_state gauge\n",
		`aci_node_state{fabric="prod",pod="1",node="102",state="flapping"} 1` + "\n",
		`aci_fabric_health_score{fabric="prod"} 88` + "\n",
		`aci_tenant_health_score{fabric="prod",tenant="A"} 0` + "\n",
		"# TYPE aci_fault_transitions_total counter\n",
		`aci_state_series_limit{fabric="prod",metric="aci_faults"} 20000` + "\n",
		`aci_state_series_limit{fabric="prod",metric="test_health_sum"} 10000` + "\n",
		`aci_state_series_refused_total{fabric="prod",metric="aci_node_state"} 0` + "\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("WriteText lacks %q:\n%s", line, b.String())
		}
	}
}

// TestStateTruthText: the state series in the text format, in the order
// of the definitions, labels escaped.
func TestStateTruthText(t *testing.T) {
	ms, err := statedef.Resolve(statedef.Selection{Builtins: []string{"bgp"}})
	if err != nil {
		t.Fatal(err)
	}
	tr := Truth{StateMetrics: ms, State: map[StateKey]float64{
		{"aci_bgp_peer_transitions_total", `pod="1",node="101",state="idle"`}:  2,
		{"aci_bgp_peers", `pod="1",node="101",vrf="a\"b",state="established"`}: 3,
		{"aci_bgp_peers", `pod="1",node="101",vrf="a",state="established"`}:    1,
	}}
	var b strings.Builder
	if err := tr.WriteText(&b, "prod"); err != nil {
		t.Fatal(err)
	}
	want := `# TYPE aci_bgp_peers gauge
aci_bgp_peers{fabric="prod",pod="1",node="101",vrf="a",state="established"} 1
aci_bgp_peers{fabric="prod",pod="1",node="101",vrf="a\"b",state="established"} 3
# TYPE aci_bgp_peer_transitions_total counter
aci_bgp_peer_transitions_total{fabric="prod",pod="1",node="101",state="idle"} 2
# TYPE aci_state_series_limit gauge
aci_state_series_limit{fabric="prod",metric="aci_bgp_peers"} 10000
aci_state_series_limit{fabric="prod",metric="aci_bgp_peer_transitions_total"} 10000
# TYPE aci_state_series_refused_total counter
aci_state_series_refused_total{fabric="prod",metric="aci_bgp_peers"} 0
aci_state_series_refused_total{fabric="prod",metric="aci_bgp_peer_transitions_total"} 0
`
	if got := b.String(); !strings.HasSuffix(got, want) {
		t.Fatalf("got\n%s\nwant it to end with\n%s", got, want)
	}
}

// TestAdminTruthHasState: GET /truth prints the state series.
func TestAdminTruthHasState(t *testing.T) {
	s := newSim(t, Config{})
	s.mustPort(t, 1, "up")
	c := newClient(t, s, 0)
	c.mustLogin()
	c.subscribe("/api/class/ethpmPhysIf.json")
	srv := httptest.NewServer(s.AdminHandler(nil))
	defer srv.Close()
	defer http.DefaultClient.CloseIdleConnections()
	resp, err := http.Get(srv.URL + "/truth?user=admin&fabric=f1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if line := `aci_interfaces{fabric="f1",pod="1",node="101",oper_state="up",admin_state="up",usage="epg"} 1`; !strings.Contains(string(body), line+"\n") {
		t.Fatalf("GET /truth lacks %s:\n%s", line, body)
	}
}

// modelClient follows the state the way README "Fabric state metrics"
// says an exporter does, from snapshots and pushes only: attributes
// merged from modified events, live transitions, the gap rule on each
// resync snapshot. Its series must equal the truth's.
type modelClient struct {
	ms      []*statedef.Metric
	objs    map[string]map[string]string // dn -> attributes
	classes map[string]string            // dn -> class
	entered map[StateKey]float64
}

func newModelClient(ms []*statedef.Metric) *modelClient {
	return &modelClient{ms: ms, objs: map[string]map[string]string{}, classes: map[string]string{}, entered: map[StateKey]float64{}}
}

func get(a map[string]string) statedef.Attrs {
	if a == nil {
		return nil
	}
	return func(n string) (string, bool) { v, ok := a[n]; return v, ok }
}

func (mc *modelClient) enter(class, dn string, pre, post map[string]string) {
	for _, m := range mc.ms {
		if m.Kind != statedef.Transitions || m.Class != class {
			continue
		}
		if labels, ok := m.Entered(dn, tenantOf(dn), get(pre), get(post)); ok {
			mc.entered[stateKey(m, labels)]++
		}
	}
}

// snapshot replaces the class's objects with a subscription's answer;
// after a gap, each object whose value changed counts once.
func (mc *modelClient) snapshot(class string, r *response, baseline bool) {
	fresh := map[string]map[string]string{}
	for _, im := range r.imdata() {
		o := im[class].(map[string]any)["attributes"].(map[string]any)
		a := map[string]string{}
		for k, v := range o {
			a[k] = v.(string)
		}
		fresh[a["dn"]] = a
	}
	for dn, c := range mc.classes {
		if c == class && fresh[dn] == nil {
			delete(mc.objs, dn)
			delete(mc.classes, dn)
		}
	}
	for dn, a := range fresh {
		if !baseline {
			mc.enter(class, dn, mc.objs[dn], a)
		}
		mc.objs[dn], mc.classes[dn] = a, class
	}
}

func (mc *modelClient) push(class string, a map[string]string) {
	dn := a["dn"]
	pre := mc.objs[dn]
	switch a["status"] {
	case statusDeleted:
		delete(mc.objs, dn)
		delete(mc.classes, dn)
		return
	case statusModified:
		merged := maps.Clone(pre)
		maps.Copy(merged, a)
		a = merged
	}
	mc.enter(class, dn, pre, a)
	mc.objs[dn], mc.classes[dn] = a, class
}

// series is the client's view: gauges from its objects, and transitions.
func (mc *modelClient) series() map[StateKey]float64 {
	out := maps.Clone(mc.entered)
	for _, m := range mc.ms {
		if m.IsCounter() {
			continue
		}
		for dn, a := range mc.objs {
			if mc.classes[dn] != m.Class {
				continue
			}
			m.Gauges(dn, tenantOf(dn), get(a), func(labels []string, v float64) { out[stateKey(m, labels)] += v })
		}
	}
	return out
}

// TestStateTruthFollowsClient: a client that follows the demo fabric's
// state churn through live pushes, a socket drop and a stalled socket
// (pushes never written) ends with every state series, gauges and
// transitions, equal to the truth's.
func TestStateTruthFollowsClient(t *testing.T) {
	clock := newTestClock()
	s := newSim(t, Config{Now: clock.Now, SubscriptionTimeout: time.Hour, RefreshTimeout: time.Hour})
	p := churnTestProfile(t, "demo")
	if err := s.Populate(p, 1); err != nil {
		t.Fatal(err)
	}
	classes := append([]string{"faultInst"}, churnTopologyClasses...)
	mc := newModelClient(s.cfg.StateMetrics)
	read := 0 // events the clients read
	var c *client
	connect := func(baseline bool) {
		c = newClient(t, s, 0)
		c.mustLogin()
		for _, class := range classes {
			r, _ := c.subscribe("/api/class/" + class + ".json")
			mc.snapshot(class, r, baseline)
		}
	}
	churn := func(steps int) {
		ch := NewChurn(s, p, int64(steps), clock.Now)
		for range steps {
			clock.Advance(75 * time.Millisecond)
			if err := ch.Step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// drain reads every push the truth counts as seen.
	drain := func() {
		tr := s.Truth("admin")
		live := 0
		for _, n := range tr.Changes {
			live += n
		}
		for _, n := range tr.ResyncChanges {
			live -= n
		}
		for read < live {
			fr := c.readFrame()
			for i := range fr.Imdata {
				class, a := fr.object(i)
				mc.push(class, a)
				read++
			}
		}
	}
	check := func(when string) {
		t.Helper()
		drain()
		tr := s.Truth("admin")
		got := mc.series()
		if !maps.Equal(tr.State, got) {
			for k, v := range tr.State {
				if got[k] != v {
					t.Errorf("%s: %v: truth %g, client %g", when, k, v, got[k])
				}
			}
			for k, v := range got {
				if _, ok := tr.State[k]; !ok {
					t.Errorf("%s: %v: truth none, client %g", when, k, v)
				}
			}
			t.FailNow()
		}
	}

	connect(true)
	churn(400)
	check("live")
	if _, err := s.DropSockets(CloseAbrupt); err != nil {
		t.Fatal(err)
	}
	churn(300)
	connect(false)
	churn(200)
	check("after a socket drop")
	s.StallSockets()
	churn(200)
	c.ws.Close()
	eventually(t, "the stalled socket to close", func() bool { return len(s.openSockets()) == 0 })
	connect(false)
	churn(200)
	check("after a stalled socket")

	// The test proves something only if every transitions metric moved
	// and every gauge has series.
	tr := s.Truth("admin")
	for _, m := range s.cfg.StateMetrics {
		n := 0.0
		for k, v := range tr.State {
			if k.Metric == m.Name {
				n += v
			}
		}
		if n == 0 {
			t.Errorf("%s has no series above 0 in the truth: the test proves little", m.Name)
		}
	}
}
