package apicsim

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fabric-state classes: their DNs and attributes as state-classes.md
// describes them, the churn of links, sessions and nodes, the fault
// lifecycle on timers and the health scores that follow the faults.

// stateTestFabric is a profile populated on a fake fabric, with a churn
// whose clock only the test moves.
func stateTestFabric(t *testing.T, name string, mix map[string]ClassMix) (*fakeFabric, *Churn, *testClock) {
	t.Helper()
	p := churnTestProfile(t, name)
	if mix != nil {
		p.Mix = mix
	}
	clock := newTestClock()
	f := newFakeFabric()
	if err := Populate(f, p, 1, clock.Now); err != nil {
		t.Fatal(err)
	}
	return f, NewChurn(f, p, 1, clock.Now), clock
}

// stateTestQuiet is a mix without state events, so only timers move the
// fabric's state.
var stateTestQuiet = map[string]ClassMix{"fvCtx": {Modify: 1}}

// fireDue takes every timed step that is due.
func fireDue(t *testing.T, c *Churn) {
	t.Helper()
	for {
		changed, err := c.dueTimer()
		if err != nil {
			t.Fatal(err)
		}
		if !changed {
			return
		}
	}
}

func (f *fakeFabric) mustGet(t *testing.T, dn string) map[string]string {
	t.Helper()
	a, ok := f.Get(dn)
	if !ok {
		t.Fatalf("%s does not exist", dn)
	}
	return a
}

// wantAttrs checks the named attributes of the object at dn.
func (f *fakeFabric) wantAttrs(t *testing.T, dn string, kv ...string) {
	t.Helper()
	a := f.mustGet(t, dn)
	for i := 0; i+1 < len(kv); i += 2 {
		if a[kv[i]] != kv[i+1] {
			t.Errorf("%s: %s = %q, want %q", dn, kv[i], a[kv[i]], kv[i+1])
		}
	}
}

// stateTestRequired are the attributes state-classes.md says matter, per class.
var stateTestRequired = map[string][]string{
	"fabricNode":        {"role", "fabricSt", "adSt", "name", "model", "serial", "version", "address", "id", "modTs"},
	"topSystem":         {"role", "state", "name", "oobMgmtAddr", "version", "systemUpTime", "modTs"},
	"l1PhysIf":          {"adminSt", "id", "descr", "usage", "speed", "mtu", "modTs"},
	"ethpmPhysIf":       {"operSt", "operStQual", "operSpeed", "usage", "lastLinkStChg", "resetCtr", "modTs"},
	"bgpPeerEntry":      {"operSt", "addr", "type", "connDrop", "connEst", "lastFlapTs", "modTs"},
	"ospfAdjEp":         {"operSt", "area", "peerIp", "modTs"},
	"healthInst":        {"cur", "prev", "chng", "maxSev", "twScore", "updTs", "modTs"},
	"fabricHealthTotal": {"cur", "prev", "chng", "maxSev", "twScore", "updTs", "modTs"},
}

// stateTestDomains are the values state-classes.md lists for an attribute.
var stateTestDomains = map[string][]string{
	"fabricNode role":          {"controller", "leaf", "spine"},
	"fabricNode fabricSt":      {"active", "inactive", "unknown"},
	"topSystem state":          {"in-service", "out-of-service"},
	"l1PhysIf adminSt":         {"up", "down"},
	"l1PhysIf usage":           {"fabric", "epg", "discovery"},
	"ethpmPhysIf operSt":       {"up", "down"},
	"ethpmPhysIf operStQual":   {"none", "admin-down", "link-not-connected", "link-failure"},
	"ethpmPhysIf usage":        {"fabric", "epg", "discovery"},
	"bgpPeerEntry operSt":      {"idle", "connect", "active", "established", "shut"},
	"bgpPeerEntry type":        {"ibgp", "ebgp"},
	"ospfAdjEp operSt":         {"down", "init", "full"},
	"healthInst maxSev":        {"cleared", "info", "warning", "minor", "major", "critical"},
	"fabricHealthTotal maxSev": {"cleared", "info", "warning", "minor", "major", "critical"},
}

var stateTestTs = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$`)

// stateTestCheckObjects checks every object of the state classes: DN shape,
// RN and naming rules, parent, attribute set and values.
func stateTestCheckObjects(t *testing.T, f *fakeFabric) {
	t.Helper()
	for class, required := range stateTestRequired {
		for _, dn := range f.DNs(class) {
			mdlTestCheckDN(t, class, dn)
			a := f.mustGet(t, dn)
			for _, k := range required {
				if _, ok := a[k]; !ok {
					t.Fatalf("%s %s: no %s: %v", class, dn, k, a)
				}
			}
			for k, v := range a {
				if dom, ok := stateTestDomains[class+" "+k]; ok && !slices.Contains(dom, v) {
					t.Errorf("%s %s: %s = %q, want one of %v", class, dn, k, v, dom)
				}
			}
			_, rn := mdlLastRN(dn)
			if !strings.HasPrefix(rn, mdlRNPrefix[class]) {
				t.Errorf("%s %s: RN %q does not start with %q", class, dn, rn, mdlRNPrefix[class])
			}
			switch class {
			case "l1PhysIf":
				if a["id"] != mdlNamingValue(rn) {
					t.Errorf("%s: id %q", dn, a["id"])
				}
			case "bgpPeerEntry":
				if a["addr"] != mdlNamingValue(rn) || !strings.HasSuffix(parentDN(dn), "/peer-["+a["addr"]+"/32]") {
					t.Errorf("%s: addr %q", dn, a["addr"])
				}
			case "ethpmPhysIf", "healthInst", "fabricHealthTotal":
				if a["modTs"] != "never" {
					t.Errorf("%s: modTs %q, want never", dn, a["modTs"])
				}
			}
			if parents := mdlParentClasses[class]; len(parents) > 0 {
				if !slices.Contains(parents, f.everClass[parentDN(dn)]) || !f.has(parentDN(dn)) {
					t.Errorf("%s %s: parent %q is a %q, want one of %v", class, dn, parentDN(dn), f.everClass[parentDN(dn)], parents)
				}
			}
			if ts := a["lastLinkStChg"] + a["lastFlapTs"] + a["updTs"]; ts != "" && !stateTestTs.MatchString(ts) {
				t.Errorf("%s: timestamp %q", dn, ts)
			}
		}
	}
}

func (f *fakeFabric) has(dn string) bool {
	_, ok := f.Get(dn)
	return ok
}

// TestStatePopulated: the demo fabric as laid out by hand from its profile
// (1 pod, controllers 1-3, spines 201-202, leaves 101-104 with 6 server
// ports and uplinks eth1/49-50, border leaves 101 and 103).
func TestStatePopulated(t *testing.T) {
	f, _, _ := stateTestFabric(t, "demo", stateTestQuiet)
	stateTestCheckObjects(t, f)
	const (
		leaf    = "topology/pod-1/node-101"
		spine   = "topology/pod-1/node-201"
		leafTEP = "10.0.64.102"
		rrTEP   = "10.0.64.202"
	)
	for _, tc := range []struct {
		dn string
		kv []string
	}{
		{leaf, []string{"role", "leaf", "fabricSt", "active", "adSt", "on", "id", "101", "name", "leaf-101", "address", leafTEP, "version", "n9000-15.2(7g)"}},
		{spine, []string{"role", "spine", "fabricSt", "active", "name", "spine-201", "model", "N9K-C9364C"}},
		{"topology/pod-1/node-1", []string{"role", "controller", "fabricSt", "unknown", "name", "apic1", "address", "10.0.0.1", "model", "APIC-SERVER-M3", "version", "5.2(7g)"}},
		{leaf + "/sys", []string{"role", "leaf", "state", "in-service", "name", "leaf-101", "oobMgmtAddr", "192.168.10.121", "podId", "1"}},
		{leaf + "/sys/phys-[eth1/49]", []string{"id", "eth1/49", "adminSt", "up", "usage", "fabric", "speed", "100G", "mtu", "9366", "portT", "fabric"}},
		{leaf + "/sys/phys-[eth1/49]/phys", []string{"operSt", "up", "operStQual", "none", "usage", "fabric", "operSpeed", "100G", "modTs", "never"}},
		{leaf + "/sys/phys-[eth1/50]/phys", []string{"operSt", "up", "usage", "fabric"}},
		{spine + "/sys/phys-[eth1/1]/phys", []string{"operSt", "up", "usage", "fabric"}}, // to leaf 101
		{spine + "/sys/phys-[eth1/5]/phys", []string{"operSt", "down", "operStQual", "link-not-connected", "usage", "discovery"}},
		{leaf + "/sys/bgp/inst/dom-overlay-1/peer-[" + rrTEP + "/32]/ent-[" + rrTEP + "]", []string{"operSt", "established", "type", "ibgp", "addr", rrTEP, "localIp", leafTEP, "modTs", "never"}},
		{spine + "/sys/bgp/inst/dom-overlay-1/peer-[" + leafTEP + "/32]/ent-[" + leafTEP + "]", []string{"operSt", "established", "type", "ibgp"}},
		{spine + "/sys/bgp/inst/dom-overlay-1/peer-[10.0.64.203/32]/ent-[10.0.64.203]", []string{"operSt", "established"}}, // reflector to reflector
		{leaf + "/sys/bgp/inst/dom-common:default/peer-[192.0.2.1/32]/ent-[192.0.2.1]", []string{"operSt", "established", "type", "ebgp"}},
		{"topology/pod-1/node-103/sys/bgp/inst/dom-common:default/peer-[192.0.2.4/32]/ent-[192.0.2.4]", []string{"operSt", "shut", "shutStQual", "admin"}},
		{leaf + "/sys/ospf/inst-default/dom-common:default/if-[eth1/6]/adj-10.254.0.1", []string{"operSt", "full", "peerIp", "172.30.0.2", "area", "0.0.0.1"}},
		{leaf + "/sys/health", []string{"modTs", "never", "chng", "0"}},
		{"uni/tn-common/health", []string{"modTs", "never"}},
		{"uni/tn-infra/ap-access/epg-default/health", []string{"modTs", "never"}},
		{"topology/pod-1/health", []string{"modTs", "never"}},
		{"topology/health", []string{"modTs", "never"}},
	} {
		f.wantAttrs(t, tc.dn, tc.kv...)
	}
	if f.has("topology/pod-1/node-1/sys/health") {
		t.Error("a controller has a node health score")
	}
	if got := f.mustGet(t, leaf+"/sys")["systemUpTime"]; !regexp.MustCompile(`^\d\d+:\d\d:\d\d:\d\d\.\d{3}$`).MatchString(got) {
		t.Errorf("systemUpTime %q", got)
	}
}

// TestStateCounts: the objects of each profile, counted by hand from its
// layout (state-classes.md gives ~11-13k ports and ~800 fabric BGP
// sessions for the large one).
func TestStateCounts(t *testing.T) {
	for _, tc := range []struct {
		profile string
		want    map[string]int
	}{
		// 3 controllers, 2 spines, 4 leaves; 4×8 leaf ports + 2×(4+2) spine
		// ports; 4 leaves × 2 reflectors + 1 reflector pair, ×2 ends, + 4
		// L3Out peers; health: 6 switches, 6 tenants, 19 EPGs.
		{"demo", map[string]int{"fabricNode": 9, "topSystem": 9, "l1PhysIf": 44, "ethpmPhysIf": 44, "bgpPeerEntry": 22,
			"ospfAdjEp": 2, "healthInst": 31, "fabricHealthTotal": 2}},
		// 20 leaves × 48 + 4 spines × (20+2); (22 clients × 2 + 1) × 2 + 16.
		{"medium", map[string]int{"fabricNode": 27, "topSystem": 27, "l1PhysIf": 1048, "ethpmPhysIf": 1048, "bgpPeerEntry": 106,
			"ospfAdjEp": 4, "healthInst": 24 + 53 + 601, "fabricHealthTotal": 2}},
		// 2 pods of 100 leaves and 3 spines (2 reflectors): 200 × 54 + 6 ×
		// (100+12); per pod (101 clients × 2 + 1) sessions, 4 between the
		// pods' reflectors: 410 × 2 + 64 L3Out peers.
		{"large", map[string]int{"fabricNode": 209, "topSystem": 209, "l1PhysIf": 11472, "ethpmPhysIf": 11472, "bgpPeerEntry": 884,
			"ospfAdjEp": 8, "healthInst": 206 + 123 + 2401, "fabricHealthTotal": 3}},
	} {
		got := churnTargets(churnTestProfile(t, tc.profile))
		for class, n := range tc.want {
			if got[class] != n {
				t.Errorf("%s: %s target %d, want %d", tc.profile, class, got[class], n)
			}
		}
		if tc.profile == "large" {
			continue // populated in TestProfiles
		}
		f, _ := churnTestPopulated(t, tc.profile, 1)
		for class, n := range tc.want {
			if got := f.Count(class); got != n {
				t.Errorf("%s: %d %s objects, want %d", tc.profile, got, class, n)
			}
		}
	}
}

// stateTestScores computes every health score from the faults in the
// fabric, independently of health.go: 100 − Σ min(cap, weight × active
// faults) per severity, floored at 0; pods and fabric the rounded mean of
// their switches.
func stateTestScores(f *fakeFabric) map[string]int {
	weights := map[string][2]int{"critical": {20, 60}, "major": {10, 40}, "minor": {4, 24}, "warning": {1, 10}}
	var faults []map[string]string
	for _, dn := range f.DNs("faultInst") {
		a, _ := f.Get(dn)
		a["dn"] = dn
		faults = append(faults, a)
	}
	scores := map[string]int{}
	pods := map[string][]int{}
	for _, dn := range f.DNs("healthInst") {
		scope := strings.TrimSuffix(strings.TrimSuffix(dn, "/health"), "/sys") + "/"
		n := map[string]int{}
		for _, a := range faults {
			if strings.HasPrefix(a["dn"], scope) {
				n[a["severity"]]++
			}
		}
		cur := 100
		for sev, w := range weights {
			cur -= min(w[1], w[0]*n[sev])
		}
		scores[dn] = max(cur, 0)
		if pod, _, ok := strings.Cut(strings.TrimPrefix(dn, "topology/"), "/node-"); ok {
			pods["topology/"+pod+"/health"] = append(pods["topology/"+pod+"/health"], scores[dn])
			pods["topology/health"] = append(pods["topology/health"], scores[dn])
		}
	}
	for dn, all := range pods {
		sum := 0
		for _, v := range all {
			sum += v
		}
		scores[dn] = (2*sum + len(all)) / (2 * len(all))
	}
	return scores
}

// checkScores: every health score in the fabric is the one its faults give.
func checkScores(t *testing.T, f *fakeFabric, when string) {
	t.Helper()
	want := stateTestScores(f)
	for _, class := range []string{"healthInst", "fabricHealthTotal"} {
		for _, dn := range f.DNs(class) {
			if got := f.mustGet(t, dn)["cur"]; got != strconv.Itoa(want[dn]) {
				t.Errorf("%s: %s cur %s, want %d from its faults", when, dn, got, want[dn])
			}
		}
	}
}

// stateTestFault checks the fault's lifecycle attributes (code included).
func stateTestFault(t *testing.T, f *fakeFabric, dn, lc, severity string, kv ...string) {
	t.Helper()
	_, rn := mdlLastRN(dn)
	f.wantAttrs(t, dn, append([]string{"lc", lc, "severity", severity, "code", mdlNamingValue(rn), "modTs", "never"}, kv...)...)
}

// restore ends the kind's oldest outage now, as its timer would.
func restore(t *testing.T, c *Churn, kind string) {
	t.Helper()
	if changed, err := c.stepBack(kind, c.outages[kind][0]); err != nil || !changed {
		t.Fatalf("restore %s: changed %v, %v", kind, changed, err)
	}
}

// TestStateFaultLifecycle takes the faults of port flaps through every path
// of the lifecycle, the health of the node following.
func TestStateFaultLifecycle(t *testing.T) {
	f, c, clock := stateTestFabric(t, "demo", stateTestQuiet)
	soak, clear, retention := 8*time.Second, 8*time.Second, 30*time.Second
	health := func(p *topoPort) int {
		v, _ := strconv.Atoi(f.mustGet(t, mdlHealthDN(p.node.sysDN()))["cur"])
		return v
	}

	t.Run("a flap shorter than the soak interval", func(t *testing.T) {
		p := c.topo.hostPorts[0]
		dn := p.ethpmDN() + "/fault-F0532"
		before, resets := health(p), f.mustGet(t, p.ethpmDN())["resetCtr"]
		if err := c.linkDown([]*topoPort{p}, time.Hour); err != nil {
			t.Fatal(err)
		}
		down := c.ts()
		f.wantAttrs(t, p.ethpmDN(), "operSt", "down", "operStQual", "link-failure", "lastLinkStChg", down)
		if got := f.mustGet(t, p.ethpmDN())["resetCtr"]; got == resets {
			t.Errorf("resetCtr stayed %s", got)
		}
		stateTestFault(t, f, dn, "soaking", "warning", "lastTransition", down, "occur", "1")
		if health(p) >= before {
			t.Errorf("node health %d with a warning soaking, was %d", health(p), before)
		}
		clock.Advance(soak / 2)
		fireDue(t, c)
		stateTestFault(t, f, dn, "soaking", "warning")
		restore(t, c, "ethpmPhysIf")
		f.wantAttrs(t, p.ethpmDN(), "operSt", "up", "operStQual", "none")
		stateTestFault(t, f, dn, "soaking-clearing", "warning")
		clock.Advance(clear)
		fireDue(t, c)
		stateTestFault(t, f, dn, "retaining", "cleared", "prevSeverity", "warning", "highestSeverity", "warning")
		if health(p) != before {
			t.Errorf("node health %d once the fault is retained, want %d", health(p), before)
		}
		clock.Advance(retention)
		fireDue(t, c)
		if f.has(dn) {
			t.Errorf("%s kept after retention", dn)
		}
		checkScores(t, f, "after the flap")
	})

	t.Run("a fabric link down long enough to escalate", func(t *testing.T) {
		p := c.topo.fabricLinks[0]
		ends := []*topoPort{p, p.peer}
		before := health(p)
		if err := c.linkDown(ends, time.Hour); err != nil {
			t.Fatal(err)
		}
		for _, e := range ends {
			stateTestFault(t, f, e.ethpmDN()+"/fault-F1394", "soaking", "warning", "origSeverity", "warning")
		}
		clock.Advance(soak)
		fireDue(t, c)
		for _, e := range ends {
			stateTestFault(t, f, e.ethpmDN()+"/fault-F1394", "raised", "major", "prevSeverity", "warning", "highestSeverity", "major")
		}
		raised := health(p)
		clock.Advance(soak)
		fireDue(t, c)
		for _, e := range ends {
			stateTestFault(t, f, e.ethpmDN()+"/fault-F1394", "raised", "critical", "prevSeverity", "major", "highestSeverity", "critical")
		}
		if !(health(p) < raised && raised < before) {
			t.Errorf("node health %d → %d (major) → %d (critical)", before, raised, health(p))
		}
		checkScores(t, f, "with a critical fault")
		clock.Advance(3 * soak)
		fireDue(t, c) // no escalation past critical
		stateTestFault(t, f, p.ethpmDN()+"/fault-F1394", "raised", "critical")
		restore(t, c, "ethpmPhysIf")
		for _, e := range ends {
			stateTestFault(t, f, e.ethpmDN()+"/fault-F1394", "raised-clearing", "critical")
		}
		clock.Advance(clear)
		fireDue(t, c)
		for _, e := range ends {
			stateTestFault(t, f, e.ethpmDN()+"/fault-F1394", "retaining", "cleared", "prevSeverity", "critical", "highestSeverity", "critical")
		}
		if health(p) != before {
			t.Errorf("node health %d once retained, want %d", health(p), before)
		}
		clock.Advance(retention)
		fireDue(t, c)
		for _, e := range ends {
			if f.has(e.ethpmDN() + "/fault-F1394") {
				t.Errorf("F1394 of %s kept after retention", e.ethpmDN())
			}
		}
	})

	t.Run("the condition returns while clearing", func(t *testing.T) {
		p := c.topo.hostPorts[1]
		dn := p.ethpmDN() + "/fault-F0532"
		if err := c.linkDown([]*topoPort{p}, time.Hour); err != nil {
			t.Fatal(err)
		}
		clock.Advance(soak)
		fireDue(t, c)
		stateTestFault(t, f, dn, "raised", "warning")
		restore(t, c, "ethpmPhysIf")
		stateTestFault(t, f, dn, "raised-clearing", "warning")
		clock.Advance(clear / 2)
		fireDue(t, c)
		if err := c.linkDown([]*topoPort{p}, time.Hour); err != nil {
			t.Fatal(err)
		}
		stateTestFault(t, f, dn, "raised", "warning", "occur", "2")
		clock.Advance(clear) // the old clearing timer must not retain it
		fireDue(t, c)
		stateTestFault(t, f, dn, "raised", "warning")
		restore(t, c, "ethpmPhysIf")
		clock.Advance(clear)
		fireDue(t, c)
		stateTestFault(t, f, dn, "retaining", "cleared")
		if err := c.linkDown([]*topoPort{p}, time.Hour); err != nil {
			t.Fatal(err)
		}
		stateTestFault(t, f, dn, "soaking", "warning", "occur", "3", "prevSeverity", "cleared")
		restore(t, c, "ethpmPhysIf")
		stateTestFault(t, f, dn, "soaking-clearing", "warning")
		if err := c.linkDown([]*topoPort{p}, time.Hour); err != nil {
			t.Fatal(err)
		}
		stateTestFault(t, f, dn, "soaking", "warning", "occur", "4")
		restore(t, c, "ethpmPhysIf")
		clock.Advance(clear + retention)
		fireDue(t, c)
		fireDue(t, c)
		clock.Advance(retention)
		fireDue(t, c)
		if f.has(dn) {
			t.Errorf("%s kept after retention", dn)
		}
	})
	checkScores(t, f, "at the end")
	f.checkClean(t)
}

// TestStateBGPDropAndRecovery: a fabric session drops at both ends and
// comes back through active or connect; a long outage raises F0299.
func TestStateBGPDropAndRecovery(t *testing.T) {
	f, c, clock := stateTestFabric(t, "demo", stateTestQuiet)
	s := c.live[0]
	if len(s.ends) != 2 {
		t.Fatalf("first session has %d ends", len(s.ends))
	}
	before := map[string]map[string]string{}
	for _, e := range s.ends {
		before[e.dn()] = f.mustGet(t, e.dn())
	}
	if err := c.sessionDown(s.ends, 2*8*time.Second); err != nil {
		t.Fatal(err)
	}
	drop := c.ts()
	states := map[string][]string{}
	for _, e := range s.ends {
		a := f.mustGet(t, e.dn())
		states[e.dn()] = []string{a["operSt"]}
		b := before[e.dn()]
		if a["operSt"] != "idle" || a["prevOperSt"] != "established" || a["lastFlapTs"] != drop || a["connDrop"] != strconv.Itoa(atoi(b["connDrop"])+1) {
			t.Errorf("%s after the drop: %v", e.dn(), a)
		}
		stateTestFault(t, f, e.dn()+"/fault-F0299", "soaking", "minor")
	}
	for range 100 {
		clock.Advance(400 * time.Millisecond)
		fireDue(t, c)
		for _, e := range s.ends {
			if st := f.mustGet(t, e.dn())["operSt"]; st != states[e.dn()][len(states[e.dn()])-1] {
				states[e.dn()] = append(states[e.dn()], st)
			}
		}
		if len(c.outages["bgpPeerEntry"]) == 0 {
			break
		}
	}
	for _, e := range s.ends {
		got := states[e.dn()]
		if len(got) != 3 || got[0] != "idle" || got[1] != "active" && got[1] != "connect" || got[2] != "established" {
			t.Errorf("%s went %v, want idle, active or connect, established", e.dn(), got)
		}
		a, b := f.mustGet(t, e.dn()), before[e.dn()]
		if a["connEst"] != strconv.Itoa(atoi(b["connEst"])+1) || a["connAttempts"] != strconv.Itoa(atoi(b["connAttempts"])+1) {
			t.Errorf("%s: connEst %s → %s, connAttempts %s → %s", e.dn(), b["connEst"], a["connEst"], b["connAttempts"], a["connAttempts"])
		}
		// Down for more than a soak interval: raised at major, now clearing.
		stateTestFault(t, f, e.dn()+"/fault-F0299", "raised-clearing", "major", "highestSeverity", "major")
	}
	checkScores(t, f, "after the drop")
	f.checkClean(t)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestStateNodeLoss: a leaf goes inactive; its spines' ports to it and the
// reflectors' sessions with it go down, and come back only after it does.
func TestStateNodeLoss(t *testing.T) {
	f, c, clock := stateTestFabric(t, "demo", stateTestQuiet)
	if moved, err := c.loseNode(); !moved || err != nil {
		t.Fatalf("loseNode: %v %v", moved, err)
	}
	var n *topoNode
	for _, l := range c.leaves {
		if f.mustGet(t, l.dn())["fabricSt"] == "inactive" {
			n = l
		}
	}
	if n == nil {
		t.Fatal("no leaf is inactive")
	}
	f.wantAttrs(t, n.sysDN(), "state", "out-of-service")
	stateTestFault(t, f, n.dn()+"/fault-F0110", "soaking", "major")
	var farPorts []*topoPort
	for _, p := range n.ports {
		if p.peer != nil {
			farPorts = append(farPorts, p.peer)
			f.wantAttrs(t, p.ethpmDN(), "operSt", "up") // the leaf's own view is stale
			f.wantAttrs(t, p.peer.ethpmDN(), "operSt", "down", "operStQual", "link-failure")
			stateTestFault(t, f, p.peer.ethpmDN()+"/fault-F1394", "soaking", "warning")
		}
	}
	var farPeers []string
	for _, s := range c.live {
		for i, e := range s.ends {
			if e.node == n && len(s.ends) == 2 {
				farPeers = append(farPeers, s.ends[1-i].dn())
				f.wantAttrs(t, e.dn(), "operSt", "established")
				f.wantAttrs(t, s.ends[1-i].dn(), "operSt", "idle")
			}
		}
	}
	if len(farPorts) != 2 || len(farPeers) != 2 {
		t.Fatalf("leaf %d: %d spine ports and %d reflector sessions lost, want 2 and 2", n.id, len(farPorts), len(farPeers))
	}
	// Brought back early while the leaf is away, a port stays down.
	for _, d := range c.outages["ethpmPhysIf"] {
		if changed, err := c.stepBack("ethpmPhysIf", d); changed || err != nil {
			t.Fatalf("a spine port came back with its leaf away: %v %v", changed, err)
		}
	}
	var active time.Time
	for range 200 {
		clock.Advance(time.Second)
		fireDue(t, c)
		if active.IsZero() && f.mustGet(t, n.dn())["fabricSt"] == "active" {
			active = clock.Now()
			f.wantAttrs(t, n.sysDN(), "state", "in-service", "lastRebootTime", apicTime(active), "systemUpTime", "00:00:00:00.000")
		}
		for _, p := range farPorts {
			if f.mustGet(t, p.ethpmDN())["operSt"] == "up" && active.IsZero() {
				t.Fatalf("%s up before its leaf", p.ethpmDN())
			}
		}
		if len(c.outages["ethpmPhysIf"])+len(c.outages["bgpPeerEntry"])+len(c.outages["fabricNode"]) == 0 {
			break
		}
	}
	if active.IsZero() {
		t.Fatal("the leaf never came back")
	}
	for _, p := range farPorts {
		f.wantAttrs(t, p.ethpmDN(), "operSt", "up", "operStQual", "none")
	}
	for _, dn := range farPeers {
		f.wantAttrs(t, dn, "operSt", "established")
	}
	if lc := f.mustGet(t, n.dn()+"/fault-F0110")["lc"]; lc != "raised-clearing" && lc != "retaining" {
		t.Errorf("F0110 %s after the leaf came back", lc)
	}
	checkScores(t, f, "after the node loss")
	f.checkClean(t)
}

// TestStateHealthFollowsFaults: under the demo's churn every health score
// stays the one its faults give, and they move.
func TestStateHealthFollowsFaults(t *testing.T) {
	f, c, clock := stateTestFabric(t, "demo", nil)
	checkScores(t, f, "after Populate")
	low := map[string]bool{}
	for step := range 3000 {
		clock.Advance(50 * time.Millisecond)
		if err := c.Step(); err != nil {
			t.Fatal(err)
		}
		if step%500 == 499 {
			checkScores(t, f, fmt.Sprintf("after %d steps", step+1))
		}
		if step%50 == 0 {
			for _, dn := range f.DNs("healthInst") {
				if cur := f.mustGet(t, dn)["cur"]; cur != "100" && strings.HasPrefix(dn, "topology/") {
					low[dn] = true
				}
			}
		}
	}
	t.Logf("health modifications: %d node, pod and tenant scores, %d totals; nodes below 100 at times: %d",
		f.modified["healthInst"], f.modified["fabricHealthTotal"], len(low))
	if f.modified["healthInst"] < 20 || f.modified["fabricHealthTotal"] < 5 || len(low) < 3 {
		t.Error("health scores barely moved")
	}
	f.checkClean(t)
}

// TestStateDemoMovesEveryClass: at the demo's 20 changes/s, every state
// class and every fault state changes within a minute.
func TestStateDemoMovesEveryClass(t *testing.T) {
	f, c, clock := stateTestFabric(t, "demo", nil)
	for range 1200 {
		clock.Advance(50 * time.Millisecond)
		if err := c.Step(); err != nil {
			t.Fatal(err)
		}
	}
	for _, class := range churnTopologyClasses {
		if f.modified[class] == 0 {
			t.Errorf("no %s modified", class)
		}
	}
	for _, want := range []string{
		"fabricNode fabricSt=inactive", "fabricNode fabricSt=active", "topSystem state=out-of-service",
		"l1PhysIf adminSt=down", "l1PhysIf adminSt=up",
		"ethpmPhysIf operStQual=link-failure", "ethpmPhysIf operStQual=admin-down", "ethpmPhysIf operSt=up",
		"bgpPeerEntry operSt=idle", "bgpPeerEntry operSt=established", "ospfAdjEp operSt=down", "ospfAdjEp operSt=full",
		"faultInst lc=raised", "faultInst lc=soaking-clearing", "faultInst lc=raised-clearing", "faultInst lc=retaining",
		"faultInst severity=critical",
	} {
		if !f.seen[want] {
			t.Errorf("no modification set %s", want)
		}
	}
	codes := map[string]int{}
	for dn := range f.everClass {
		if code := stateFaultCode(dn); code != "" {
			codes[code]++
		}
	}
	t.Logf("state faults raised in a minute: %v; modifications: %v", codes, f.modified)
	for code := range stateFaultLadder {
		if codes[code] == 0 {
			t.Errorf("no %s raised", code)
		}
	}
	f.checkClean(t)
}

// TestStateRestartCarriesOn: a new churn on a fabric an earlier one left
// with links, sessions and nodes down picks them up, so the fabric
// returns to its baseline and the state faults run out.
func TestStateRestartCarriesOn(t *testing.T) {
	p := churnTestProfile(t, "demo")
	clock := newTestClock()
	f := newFakeFabric()
	if err := Populate(f, p, 2, clock.Now); err != nil {
		t.Fatal(err)
	}
	baseline := map[string]map[string]string{}
	for _, class := range []string{"fabricNode", "topSystem", "l1PhysIf", "ethpmPhysIf", "bgpPeerEntry", "ospfAdjEp"} {
		for _, dn := range f.DNs(class) {
			baseline[dn] = f.mustGet(t, dn)
		}
	}
	c := NewChurn(f, p, 2, clock.Now)
	for range 2000 {
		clock.Advance(50 * time.Millisecond)
		if err := c.Step(); err != nil {
			t.Fatal(err)
		}
	}
	away := 0
	for _, kind := range churnStateKinds {
		away += len(c.outages[kind])
	}
	if away == 0 {
		t.Fatal("nothing away from baseline when the first churn stops: the test proves little")
	}
	quiet := p
	quiet.Mix = stateTestQuiet
	c = NewChurn(f, quiet, 3, clock.Now)
	for range 2000 {
		clock.Advance(100 * time.Millisecond)
		if err := c.Step(); err != nil {
			t.Fatal(err)
		}
	}
	for dn, want := range baseline {
		got := f.mustGet(t, dn)
		for _, k := range []string{"operSt", "operStQual", "adminSt", "fabricSt", "state"} {
			if got[k] != want[k] {
				t.Errorf("%s: %s %q, baseline %q", dn, k, got[k], want[k])
			}
		}
	}
	for _, dn := range f.DNs("faultInst") {
		if stateFaultCode(dn) != "" {
			t.Errorf("state fault %s (%s) still there", dn, f.mustGet(t, dn)["lc"])
		}
	}
	checkScores(t, f, "after the restart")
	f.checkClean(t)
}

// TestStateHealthInclude: rsp-subtree-include=health finds the switches'
// and tenants' scores (DN/health) on a populated simulator; controllers
// have none. A bracketed DN works as an MO query.
func TestStateHealthInclude(t *testing.T) {
	clock := newTestClock()
	s := newSim(t, Config{Now: clock.Now})
	p := churnTestProfile(t, "demo")
	if err := s.Populate(p, 1); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, 0)
	c.mustLogin()
	r := c.get("/api/class/topSystem.json?rsp-subtree-include=health")
	withHealth := map[string]bool{}
	for _, o := range r.imdata() {
		sys := o["topSystem"].(map[string]any)
		attrs := sys["attributes"].(map[string]any)
		kids, _ := sys["children"].([]any)
		if len(kids) == 1 {
			h := kids[0].(map[string]any)["healthInst"].(map[string]any)["attributes"].(map[string]any)
			if h["rn"] != "health" || h["cur"] == "" {
				t.Errorf("%s: health child %v", attrs["dn"], h)
			}
			withHealth[attrs["role"].(string)] = true
		} else if attrs["role"] != "controller" {
			t.Errorf("%s (%s): children %v", attrs["dn"], attrs["role"], kids)
		}
	}
	if len(r.imdata()) != 9 || !withHealth["leaf"] || !withHealth["spine"] || withHealth["controller"] {
		t.Errorf("%d topSystems, with health: %v", len(r.imdata()), withHealth)
	}
	r = c.get("/api/class/fvTenant.json?rsp-subtree-include=health,required")
	if n := len(r.imdata()); n != 6 {
		t.Errorf("%d tenants with a health score, want 6: %s", n, r.raw)
	}
	r = c.get(`/api/class/healthInst.json?query-target-filter=wcard(healthInst.dn,"/sys/health")`)
	if n := len(r.imdata()); n != 6 {
		t.Errorf("%d node health scores, want 6", n)
	}
	r = c.get("/api/mo/topology/pod-1/node-101/sys/phys-[eth1/49].json?query-target=children")
	if r.code != http.StatusOK || len(r.imdata()) != 1 || r.imdata()[0]["ethpmPhysIf"] == nil {
		t.Errorf("children of phys-[eth1/49]: %d %s", r.code, r.raw)
	}
}

// TestStateTruth: a client subscribed to the state classes counts exactly
// the changes the ground truth books while the state churns, and the
// object counts agree.
func TestStateTruth(t *testing.T) {
	clock := newTestClock()
	s := newSim(t, Config{Now: clock.Now})
	p := churnTestProfile(t, "demo")
	if err := s.Populate(p, 1); err != nil {
		t.Fatal(err)
	}
	classes := append([]string{"faultInst"}, churnTopologyClasses...)
	c := newClient(t, s, 0)
	c.mustLogin()
	for _, class := range classes {
		c.subscribe("/api/class/" + class + ".json")
	}
	ch := NewChurn(s, p, 1, clock.Now)
	for range 800 {
		clock.Advance(75 * time.Millisecond)
		if err := ch.Step(); err != nil {
			t.Fatal(err)
		}
	}
	tr := s.Truth("admin")
	want, total := map[ChangeKey]int{}, 0
	for k, n := range tr.Changes {
		want[k] = n
		total += n
	}
	got, seen := map[ChangeKey]int{}, 0
	for seen < total {
		fr := c.readFrame()
		for i := range fr.Imdata {
			class, a := fr.object(i)
			got[ChangeKey{class, mdlTestTenant(a["dn"]), a["status"]}]++
			seen++
		}
	}
	c.expectNoFrame(50 * time.Millisecond)
	if !maps.Equal(got, want) {
		t.Errorf("client counted\n %v\ntruth\n %v", got, want)
	}
	for _, class := range classes {
		if got[ChangeKey{class, "", "modified"}]+got[ChangeKey{class, "common", "modified"}] == 0 && class != "healthInst" {
			t.Errorf("no %s modified: the test proves little", class)
		}
	}
	objects := map[ObjectKey]int{}
	for _, class := range classes {
		for _, dn := range s.DNs(class) {
			objects[ObjectKey{class, mdlTestTenant(dn)}]++
		}
	}
	if !maps.Equal(tr.Objects, objects) {
		t.Errorf("truth objects %v, want %v", tr.Objects, objects)
	}
}

// TestStateOtherProfileChurn: a churn of one profile on a fabric built and
// churned with another (the e2e harness runs the medium churn on demo
// fabrics) skips the objects the fabric lacks and never fails.
func TestStateOtherProfileChurn(t *testing.T) {
	for _, tc := range []struct{ built, churned string }{{"demo", "medium"}, {"medium", "demo"}} {
		t.Run(tc.built+" churned as "+tc.churned, func(t *testing.T) {
			f, c, clock := stateTestFabric(t, tc.built, nil)
			for range 2000 {
				clock.Advance(50 * time.Millisecond)
				if err := c.Step(); err != nil {
					t.Fatal(err)
				}
			}
			other := NewChurn(f, churnTestProfile(t, tc.churned), 2, clock.Now)
			for i := range 5000 {
				clock.Advance(20 * time.Millisecond)
				if err := other.Step(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			f.checkClean(t)
		})
	}
}
