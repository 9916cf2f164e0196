package collector

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/aci-exporter/aci-exporter/apicws"
	"github.com/aci-exporter/aci-exporter/event"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// Benchmarks of the state metrics (issue 11): fault and interface events
// from frame bytes to updated series next to the same events through the
// change counters alone, the heap a state object costs, and a scrape of
// ~50k state series. See BENCHMARKS.md.

// builtinMetrics is the default built-in set, plus the opt-in metrics
// named in enable.
func builtinMetrics(tb testing.TB, enable ...string) []*statedef.Metric {
	ms, err := statedef.Resolve(statedef.Selection{AllBuiltins: true, Enable: enable})
	if err != nil {
		tb.Fatal(err)
	}
	return ms
}

// A 200-leaf fabric's ports: 200 leaves (nodes 101–300) of 64 ports and 6
// spines (nodes 1001–1006) of 36, in two pods: 13,016 ethpmPhysIf.
const (
	benchLeaves     = 200
	benchLeafPorts  = 64
	benchSpines     = 6
	benchSpinePorts = 36
	benchPorts      = benchLeaves*benchLeafPorts + benchSpines*benchSpinePorts
)

// benchPort is port i: its node's DN, its id and its usage.
func benchPort(i int) (nodeDN, id, usage string) {
	node, port, usage := 0, 0, "epg"
	if i < benchLeaves*benchLeafPorts {
		node, port = 101+i/benchLeafPorts, 1+i%benchLeafPorts
		switch {
		case port > 48 && port <= 54:
			usage = "fabric"
		case port > 54:
			usage = "discovery"
		}
	} else {
		i -= benchLeaves * benchLeafPorts
		node, port, usage = 1001+i/benchSpinePorts, 1+i%benchSpinePorts, "fabric"
	}
	return fmt.Sprintf("topology/pod-%d/node-%d", 1+node%2, node), fmt.Sprintf("eth1/%d", port), usage
}

// benchPortDN is the ethpmPhysIf DN of port i, e.g.
// topology/pod-2/node-101/sys/phys-[eth1/1]/phys.
func benchPortDN(i int) string {
	node, id, _ := benchPort(i)
	return node + "/sys/phys-[" + id + "]/phys"
}

// benchPortObjects is the ports' snapshot, with the attributes the
// decoder keeps for the default set (event.Keep): up, down (not
// connected) or admin down.
func benchPortObjects() []event.Object {
	objs := make([]event.Object, benchPorts)
	for i := range objs {
		_, _, usage := benchPort(i)
		st, qual := "up", "none"
		switch i % 10 {
		case 7, 8:
			st, qual = "down", "link-not-connected"
		case 9:
			st, qual = "down", "admin-down"
		}
		objs[i] = event.Object{DN: benchPortDN(i), Attrs: []event.Attr{{Name: "lastLinkStChg", Value: benchTS(i)},
			{Name: "modTs", Value: "never"}, {Name: "operSt", Value: st}, {Name: "operStQual", Value: qual}, {Name: "usage", Value: usage}}}
	}
	return objs
}

// benchTS is a change stamp as the APIC writes it.
func benchTS(seq int) string {
	return fmt.Sprintf("2024-02-01T%02d:%02d:%02d.%03d+00:00", seq/3600000%24, seq/60000%60, seq/1000%60, seq%1000)
}

// benchPortFlap is a port's modified event as the APIC pushes a link going
// down (link failure) or coming back.
func benchPortFlap(dn string, down bool, seq int) string {
	if down {
		return `{"ethpmPhysIf":{"attributes":{"childAction":"","dn":"` + dn + `","lastLinkStChg":"` + benchTS(seq) + `","modTs":"never",` +
			`"operPhyEnSt":"down","operSt":"down","operStQual":"link-failure","resetCtr":"` + strconv.Itoa(1+seq%7) + `","rn":"","status":"modified"}}}`
	}
	return `{"ethpmPhysIf":{"attributes":{"childAction":"","dn":"` + dn + `","lastLinkStChg":"` + benchTS(seq) + `","modTs":"never",` +
		`"operPhyEnSt":"up","operSt":"up","operStQual":"none","rn":"","status":"modified"}}}`
}

// portFlaps builds frames, one object each, that take every port that is up
// down and then up again: 26,032 modified events per cycle.
func portFlaps() [][]byte {
	objs := benchPortObjects()
	var frames [][]byte
	for round, down := range []bool{true, false} {
		for i, o := range objs {
			if st, _ := attrOf(o.Attrs, "operSt"); st == "up" {
				frames = append(frames, benchFrame([]string{benchPortFlap(o.DN, down, round*benchPorts+i)}))
			}
		}
	}
	return frames
}

// benchFaultKind is what a fault code sets (apicsim's fault kinds).
type benchFaultKind struct{ code, sev, cause, rule, typ, domain, subject, descr string }

var benchFaultKinds = []benchFaultKind{
	{"F1394", "major", "interface-physical-down", "ethpm-if-port-down-fabric", "communications", "infra", "port-down",
		"Port is down, reason:link-failure(down), used by:Fabric, lastLinkStChg:2024-02-01T09:15:42.117+00:00, operStQual:link-failure"},
	{"F0532", "warning", "interface-physical-down", "ethpm-if-port-down-infra-epg", "communications", "access", "port-down",
		"Port is down, reason:link-not-connected(notconnect), used by:EPG, lastLinkStChg:2024-02-01T09:15:42.117+00:00, operStQual:link-not-connected"},
	{"F0546", "minor", "port-down-no-infra", "ethpm-if-port-down-no-infra-epg", "communications", "access", "port-down",
		"Port is down, reason:sfp-missing(notconnect), used by:Discovery"},
	{"F0467", "minor", "configuration-failed", "fv-nw-issues-config-failed", "config", "tenant", "management",
		"Configuration failed for uni/tn-tenant001/ap-app01/epg-epg00001 node 101 eth1/7 due to Invalid Path Configuration, debug message: invalid-path: Either the EpG is not associated with a domain or the domain does not have this interface assigned to it"},
	{"F1386", "minor", "configuration-failed", "fv-bdno-opt-arp-fwd-with-unk-mac-flood", "config", "tenant", "bd-config",
		"BD bd00001 has unknown unicast flooding enabled without ARP flooding"},
}

// benchFault is fault i: its DN and kind. Half are on ports, one per port
// and code (F0532 or F1394 by the port's usage, then F0546), the rest on
// tenants' EPGs and BDs.
func benchFault(i int) (string, benchFaultKind) {
	if j := i / 2; i%2 == 0 && j < 2*benchPorts {
		p := j % benchPorts
		k := benchFaultKinds[1]
		if _, _, usage := benchPort(p); usage == "fabric" {
			k = benchFaultKinds[0]
		}
		if j >= benchPorts {
			k = benchFaultKinds[2]
		}
		return benchPortDN(p) + "/fault-" + k.code, k
	}
	if i%4 == 1 {
		return fmt.Sprintf("uni/tn-tenant%03d/ap-app%02d/epg-epg%06d/fault-F0467", i%300, i%40, i), benchFaultKinds[3]
	}
	return fmt.Sprintf("uni/tn-tenant%03d/BD-bd%06d/fault-F1386", i%300, i), benchFaultKinds[4]
}

// benchFaultCreated is a faultInst's created event with all its
// attributes (~1 KB as a frame), in soaking.
func benchFaultCreated(dn string, k benchFaultKind, seq int) string {
	ts := benchTS(seq)
	return `{"faultInst":{"attributes":{"ack":"no","alert":"no","cause":"` + k.cause + `","changeSet":"operSt (Old: up, New: down)",` +
		`"childAction":"","code":"` + k.code + `","created":"` + ts + `","delegated":"no","descr":"` + k.descr + `",` +
		`"dn":"` + dn + `","domain":"` + k.domain + `","highestSeverity":"` + k.sev + `","lastTransition":"` + ts + `",` +
		`"lc":"soaking","modTs":"never","occur":"1","origSeverity":"` + k.sev + `","prevSeverity":"` + k.sev + `",` +
		`"rn":"","rule":"` + k.rule + `","severity":"` + k.sev + `","status":"created","subject":"` + k.subject + `",` +
		`"title":"","type":"` + k.typ + `"}}}`
}

// benchFaultModified is a modified event carrying what changed: the
// lifecycle state, a severity move, the transition's stamp.
func benchFaultModified(dn string, seq int, changed string) string {
	return `{"faultInst":{"attributes":{"childAction":"","dn":"` + dn + `","lastTransition":"` + benchTS(seq) + `",` +
		changed + `,"modTs":"never","rn":"","status":"modified"}}}`
}

// faultLifecycles builds frames, one object each, that take pool faults
// through a full lifecycle, interleaved: created in soaking, raised,
// escalated one severity, raised-clearing, retaining (cleared), deleted.
func faultLifecycles(pool int) [][]byte {
	up := map[string]string{"warning": "minor", "minor": "major", "major": "critical"}
	var frames [][]byte
	for step := range 6 {
		for i := range pool {
			dn, k := benchFault(i)
			seq := step*pool + i
			var o string
			switch step {
			case 0:
				o = benchFaultCreated(dn, k, seq)
			case 1:
				o = benchFaultModified(dn, seq, `"lc":"raised"`)
			case 2:
				o = benchFaultModified(dn, seq, `"highestSeverity":"`+up[k.sev]+`","prevSeverity":"`+k.sev+`","severity":"`+up[k.sev]+`"`)
			case 3:
				o = benchFaultModified(dn, seq, `"lc":"raised-clearing"`)
			case 4:
				o = benchFaultModified(dn, seq, `"lc":"retaining","prevSeverity":"`+up[k.sev]+`","severity":"cleared"`)
			case 5:
				o = `{"faultInst":{"attributes":{"childAction":"","dn":"` + dn + `","modTs":"never","rn":"","status":"deleted"}}}`
			}
			frames = append(frames, benchFrame([]string{o}))
		}
	}
	return frames
}

// stateFabric returns a fabric with the metrics ms (none: the change
// counters alone) whose class has had its baseline snapshot objs.
func stateFabric(ms []*statedef.Metric, class string, objs []event.Object) *Fabric {
	f := NewFabric("prod", nil, []Subscription{{class, class}}, nil, 0)
	f.UseStateMetrics(ms)
	resync(f, class, objs)
	return f
}

// BenchmarkIngestState: fault and interface events, frame bytes to updated
// series, on one core (run with -cpu 1), with the default built-in state
// metrics, next to the same frames through the change counters alone (no
// state metrics, the decoder keeping only the fingerprint attributes).
// The two paths take turns of a thousand frames each, so that both see the
// same load on a shared machine; an op is one turn of each. Reported per
// path: events per CPU-second (events/cpu-s, changes_events/cpu-s), their
// ratio (x_cpu_vs_changes: CPU per event with state metrics over without),
// and the allocations per event.
func BenchmarkIngestState(b *testing.B) {
	ms := builtinMetrics(b)
	keep := statedef.AttrNames(ms)
	b.Cleanup(func() { event.Keep(nil) })
	cases := []struct {
		name, class string
		frames      [][]byte
		baseline    []event.Object
	}{
		{"faults", "faultInst", faultLifecycles(10000), nil},
		{"ports", "ethpmPhysIf", portFlaps(), benchPortObjects()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			paths := []*ingestPath{
				{keep: keep, f: stateFabric(ms, c.class, c.baseline)},
				{f: stateFabric(nil, c.class, c.baseline)},
			}
			for b.Loop() {
				for _, p := range paths {
					p.turn(c.frames, 1000)
				}
			}
			st, chg := paths[0], paths[1]
			size := 0
			for _, fr := range c.frames {
				size += len(fr)
			}
			b.ReportMetric(float64(size)/float64(len(c.frames)), "frame-bytes")
			b.ReportMetric(st.perCPUSecond(), "events/cpu-s")
			b.ReportMetric(chg.perCPUSecond(), "changes_events/cpu-s")
			b.ReportMetric(st.cpu.Seconds()/chg.cpu.Seconds(), "x_cpu_vs_changes")
			b.ReportMetric(float64(st.allocs)/float64(st.n), "allocs/event")
			b.ReportMetric(float64(chg.allocs)/float64(chg.n), "changes_allocs/event")
			b.ReportMetric(float64(st.bytes)/float64(st.n), "B/event")
			b.ReportMetric(float64(chg.bytes)/float64(chg.n), "changes_B/event")
		})
	}
}

// ingestPath is a fabric fed frames in turns, with its decoder, the
// attributes its decoder keeps, and what its turns cost.
type ingestPath struct {
	keep          []string
	f             *Fabric
	d             apicws.Decoder
	n             int // frames (one event each) so far
	cpu           time.Duration
	allocs, bytes uint64
}

// turn feeds the path its next n frames.
func (p *ingestPath) turn(frames [][]byte, n int) {
	event.Keep(p.keep)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	for range n {
		ingestFast(p.f, &p.d, frames[p.n%len(frames)])
		p.n++
	}
	p.cpu += cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	p.allocs += m1.Mallocs - m0.Mallocs
	p.bytes += m1.TotalAlloc - m0.TotalAlloc
}

func (p *ingestPath) perCPUSecond() float64 { return float64(p.n) / p.cpu.Seconds() }

// builtinObjects are a 200-leaf fabric's objects of the default set's
// classes, with the attributes the decoder keeps for it: faults faults
// (mostly raised, one in eight retained and cleared), 13,016 ports, 209
// nodes, 800 BGP sessions, and the health scores (fabric, 2 pods, 206
// switches, 300 tenants, and 3,000 EPGs that no default metric reads but
// the unfiltered healthInst subscription delivers).
func builtinObjects(faults int) map[string][]event.Object {
	out := map[string][]event.Object{"ethpmPhysIf": benchPortObjects()}
	for i := range faults {
		dn, k := benchFault(i)
		sev, lc := k.sev, "raised"
		if i%8 == 0 {
			sev, lc = "cleared", "retaining"
		}
		o := event.Object{DN: dn, Tenant: apicws.Tenant(dn), Attrs: []event.Attr{
			{Name: "ack", Value: "no"}, {Name: "code", Value: k.code}, {Name: "domain", Value: k.domain},
			{Name: "lastTransition", Value: benchTS(i)}, {Name: "lc", Value: lc}, {Name: "modTs", Value: "never"},
			{Name: "occur", Value: strconv.Itoa(1 + i%3)}, {Name: "severity", Value: sev}, {Name: "type", Value: k.typ}}}
		out["faultInst"] = append(out["faultInst"], o)
	}
	node := func(pod, id int, role string) event.Object {
		return event.Object{DN: fmt.Sprintf("topology/pod-%d/node-%d", pod, id), Attrs: []event.Attr{
			{Name: "address", Value: fmt.Sprintf("10.%d.%d.%d", pod-1, id/256, id%256)}, {Name: "fabricSt", Value: "active"},
			{Name: "model", Value: "N9K-C93180YC-FX"}, {Name: "modTs", Value: benchTS(id)}, {Name: "name", Value: fmt.Sprintf("%s-%d", role, id)},
			{Name: "role", Value: role}, {Name: "serial", Value: fmt.Sprintf("FDO2%d%02d%04X", id%5, id%52, id*7919&0xffff)},
			{Name: "version", Value: "n9000-15.2(7g)"}}}
	}
	health := func(dn string, cur int) event.Object {
		return event.Object{DN: dn, Tenant: apicws.Tenant(dn), Attrs: []event.Attr{
			{Name: "cur", Value: strconv.Itoa(cur)}, {Name: "modTs", Value: "never"}, {Name: "updTs", Value: benchTS(cur)}}}
	}
	for id := 1; id <= 3; id++ {
		out["fabricNode"] = append(out["fabricNode"], node(1, id, "controller"))
	}
	out["fabricHealthTotal"] = []event.Object{health("topology/health", 97), health("topology/pod-1/health", 96), health("topology/pod-2/health", 98)}
	for i := range benchLeaves + benchSpines {
		id, role := 101+i, "leaf"
		if i >= benchLeaves {
			id, role = 1001+i-benchLeaves, "spine"
		}
		n := node(1+id%2, id, role)
		out["fabricNode"] = append(out["fabricNode"], n)
		out["healthInst"] = append(out["healthInst"], health(n.DN+"/sys/health", 90+i%11))
		for p := range 4 { // four sessions per switch: the route reflectors and an L3Out
			addr := fmt.Sprintf("10.%d.%d.%d", p, id/256, id%256)
			out["bgpPeerEntry"] = append(out["bgpPeerEntry"], event.Object{
				DN:    fmt.Sprintf("%s/sys/bgp/inst/dom-overlay-1/peer-[%s/32]/ent-[%s]", n.DN, addr, addr),
				Attrs: []event.Attr{{Name: "lastFlapTs", Value: benchTS(id + p)}, {Name: "modTs", Value: "never"}, {Name: "operSt", Value: "established"}}})
		}
	}
	for t := range 300 {
		out["healthInst"] = append(out["healthInst"], health(fmt.Sprintf("uni/tn-tenant%03d/health", t), 100-t%7))
	}
	for e := range 3000 {
		out["healthInst"] = append(out["healthInst"], health(fmt.Sprintf("uni/tn-tenant%03d/ap-app%02d/epg-epg%06d/health", e%300, e%40, e), 100-e%5))
	}
	return out
}

// BenchmarkStateMemoryBuiltins: heap bytes per tracked object of the
// default set's classes after their baseline snapshots, total and beyond
// the DN string, with the default built-in state metrics and without any
// (the same objects through the change counters alone), and with the
// opt-in per-port state set too. Same method as BenchmarkStateMemory. Run
// with -benchtime 1x.
func BenchmarkStateMemoryBuiltins(b *testing.B) {
	objs := builtinObjects(100000)
	n, dnBytes, dnAlloc := 0, 0, 0
	for _, class := range objs {
		for _, o := range class {
			n++
			dnBytes += len(o.DN)
			dnAlloc += sizeClass(len(o.DN))
		}
	}
	for _, c := range []struct {
		name string
		ms   []*statedef.Metric
	}{
		{"builtins", builtinMetrics(b)},
		{"none", nil},
		{"builtins+interface_oper_state", builtinMetrics(b, "aci_interface_oper_state")},
	} {
		b.Run("metrics="+c.name, func(b *testing.B) {
			load := func(f *Fabric) {
				for class, all := range objs {
					for k := 0; k < len(all); k += 10000 { // pages, as the APIC client reads them
						f.Snapshot(class, all[k:min(k+10000, len(all))])
					}
					f.Resync(class, nil, nil)
				}
			}
			benchHeapPerObject(b, n, dnBytes, dnAlloc, load, func() *Fabric {
				f := NewFabric("prod", nil, nil, nil, 0)
				f.UseStateMetrics(c.ms)
				return f
			})
		})
	}
}

// BenchmarkScrapeState: GET /metrics as BenchmarkScrape serves it, with
// the default built-in set and the opt-in aci_interface_oper_state on a
// 200-leaf fabric's 13,016 ports: ~52k state series (4 per port, plus
// aci_interfaces).
func BenchmarkScrapeState(b *testing.B) {
	f := NewFabric("prod", []string{"https://apic1"}, []Subscription{{"ethpmPhysIf", "ethpmPhysIf"}}, nil, 0)
	f.UseStateMetrics(builtinMetrics(b, "aci_interface_oper_state"))
	resync(f, "ethpmPhysIf", benchPortObjects())
	reg := prometheus.NewRegistry()
	c := New()
	c.Add(f)
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g := Gatherer(reg, c)
	mfs, err := g.Gather()
	if err != nil {
		b.Fatal(err)
	}
	stateSeries := 0
	for _, mf := range mfs {
		switch mf.GetName() {
		case "aci_interface_oper_state", "aci_interfaces":
			stateSeries += len(mf.Metric)
		}
	}
	benchScrapes(b, g, stateSeries)
}

// TestStateBenchInputs: the benchmarks' frames and objects are what they
// claim, so that their figures are the state engine at work: faults go
// through their lifecycle and leave, ports go down and come back, and no
// DN repeats.
func TestStateBenchInputs(t *testing.T) {
	ms := builtinMetrics(t)
	event.Keep(statedef.AttrNames(ms))
	defer event.Keep(nil)
	var d apicws.Decoder

	f := stateFabric(ms, "faultInst", nil)
	frames := faultLifecycles(1000)
	major := 0 // faults raised major, critical once escalated
	for i := range 1000 {
		if _, k := benchFault(i); k.sev == "major" {
			major++
		}
	}
	for i, fr := range frames {
		ingestFast(f, &d, fr)
		if i == 3*1000-1 { // created, raised, escalated
			if got := sumSeries(f, "aci_faults", `severity="critical"`); got != major || major == 0 {
				t.Errorf("escalated faults: %d critical, want %d", got, major)
			}
		}
	}
	if got := f.Objects("faultInst"); got != 0 {
		t.Errorf("%d faults left after their lifecycle", got)
	}
	if got := sumSeries(f, "aci_fault_transitions_total", ""); got != 4000 {
		t.Errorf("fault transitions: %d, want 4 per fault (soaking, raised, raised-clearing, retaining)", got)
	}

	f = stateFabric(ms, "ethpmPhysIf", benchPortObjects())
	up := sumSeries(f, "aci_interfaces", `oper_state="up"`)
	frames = portFlaps()
	if up*2 != len(frames) || up < benchPorts/2 {
		t.Fatalf("%d ports up, %d flap frames", up, len(frames))
	}
	for i, fr := range frames {
		ingestFast(f, &d, fr)
		if i == up-1 {
			if got := sumSeries(f, "aci_interfaces", `oper_state="up"`); got != 0 {
				t.Errorf("%d ports still up after the downs", got)
			}
		}
	}
	if got := sumSeries(f, "aci_interfaces", `oper_state="up"`); got != up {
		t.Errorf("%d ports up after the flaps, want %d", got, up)
	}
	if got := sumSeries(f, "aci_interface_link_transitions_total", ""); got != len(frames) {
		t.Errorf("link transitions: %d, want %d", got, len(frames))
	}

	for class, objs := range builtinObjects(100000) {
		seen := map[string]bool{}
		for _, o := range objs {
			if seen[o.DN] {
				t.Fatalf("%s: %s twice", class, o.DN)
			}
			seen[o.DN] = true
		}
	}
}

// sumSeries adds up the values of a state metric's series whose labels
// contain match.
func sumSeries(f *Fabric, name, match string) int {
	sum := 0.0
	for k, v := range stateSeriesOf(f) {
		if strings.HasPrefix(k, name+"{") && strings.Contains(k, match) {
			sum += v
		}
	}
	return int(sum)
}
