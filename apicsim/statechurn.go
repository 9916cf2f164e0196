package apicsim

// The churn of the fabric's state: links that flap, ports shut for
// maintenance, BGP sessions that drop and come back, OSPF adjacencies that
// reset, a leaf that goes inactive for a while (its spines see their links
// to it and their sessions with it go down). Each event moves objects away
// from their baseline (the state Populate creates) and sets a timer that
// brings them back; the faults behind the state follow (lifecycle.go) and
// the health scores follow the faults (health.go). NewChurn rebuilds the
// timers and the fault counts from the fabric itself, so a churn restarted
// at another rate carries on where the last one stopped.

import (
	"container/heap"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// churnStateKinds are the mix keys of the state events, named after the
// class each mostly changes: link flaps (ethpmPhysIf), admin shut and
// no-shut (l1PhysIf), BGP drops (bgpPeerEntry), OSPF resets (ospfAdjEp)
// and node loss (fabricNode).
var churnStateKinds = []string{"ethpmPhysIf", "l1PhysIf", "bgpPeerEntry", "ospfAdjEp", "fabricNode"}

// timer is a step the churn takes at a given time.
type timer struct {
	at   time.Time
	seq  uint64
	fire func() (changed bool, err error)
}

// timerQueue is a heap of timers, earliest (then first set) on top.
type timerQueue []*timer

func (q timerQueue) Len() int { return len(q) }
func (q timerQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q timerQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *timerQueue) Push(x any)   { *q = append(*q, x.(*timer)) }
func (q *timerQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	*q = old[:len(old)-1]
	return t
}

func (c *Churn) at(t time.Time, fire func() (bool, error)) {
	c.seq++
	heap.Push(&c.timers, &timer{at: t, seq: c.seq, fire: fire})
}

// dueTimer fires the timers that are due until one changes the fabric.
func (c *Churn) dueTimer() (bool, error) {
	if len(c.timers) == 0 {
		return false, nil
	}
	now := c.now()
	for len(c.timers) > 0 && !c.timers[0].at.After(now) {
		t := heap.Pop(&c.timers).(*timer)
		if changed, err := t.fire(); changed || err != nil {
			return true, err
		}
	}
	return false, nil
}

// span is a random duration between lo and hi soak intervals.
func (c *Churn) span(lo, hi float64) time.Duration {
	return time.Duration((lo + (hi-lo)*c.r.Float64()) * float64(c.soak))
}

// outage holds objects away from their baseline until next, step by step,
// brings them back.
type outage struct {
	gen  int // bumped when rescheduled or ended: older timers are void
	at   time.Time
	objs []string // DNs it holds; no other event touches them meanwhile
	// next takes the next step back: delay 0 when back at baseline; a
	// positive delay with changed false when blocked (a node is down).
	next func() (delay time.Duration, changed bool, err error)
}

func (c *Churn) startOutage(kind string, objs []string, after time.Duration, next func() (time.Duration, bool, error)) {
	d := &outage{objs: objs, next: next}
	for _, o := range objs {
		c.busy[o] = true
	}
	c.outages[kind] = append(c.outages[kind], d)
	c.scheduleOutage(kind, d, after)
}

func (c *Churn) scheduleOutage(kind string, d *outage, after time.Duration) {
	d.gen++
	gen := d.gen
	d.at = c.now().Add(after)
	c.at(d.at, func() (bool, error) {
		if d.gen != gen {
			return false, nil
		}
		return c.stepBack(kind, d)
	})
}

// stepBack moves an outage one step back towards its baseline.
func (c *Churn) stepBack(kind string, d *outage) (bool, error) {
	delay, changed, err := d.next()
	if err != nil {
		return true, err
	}
	if delay > 0 {
		c.scheduleOutage(kind, d, delay)
		return changed, nil
	}
	d.gen++
	c.outages[kind] = slices.DeleteFunc(c.outages[kind], func(x *outage) bool { return x == d })
	for _, o := range d.objs {
		delete(c.busy, o)
	}
	return changed, nil
}

// outageCap is how many outages of a kind may be under way at once.
func (c *Churn) outageCap(kind string) int {
	t := c.topo
	switch kind {
	case "ethpmPhysIf":
		return max(2, (len(t.hostPorts)+len(t.fabricLinks))/25)
	case "l1PhysIf":
		return max(1, len(t.hostPorts)/100)
	case "bgpPeerEntry":
		return max(1, len(t.sessions)/20)
	case "ospfAdjEp":
		return max(1, len(t.adjs)/4)
	}
	return 1 // a node at a time
}

// stateEvent moves some state away from baseline; at the kind's cap, or
// when nothing can move, it brings the kind's oldest outage a step back
// instead, and failing that raises a fault.
func (c *Churn) stateEvent(kind string) error {
	if len(c.outages[kind]) < c.outageCap(kind) {
		moved, err := c.moveAway(kind)
		if moved || err != nil {
			return err
		}
	}
	for _, d := range slices.SortedStableFunc(slices.Values(c.outages[kind]), func(a, b *outage) int { return a.at.Compare(b.at) }) {
		if changed, err := c.stepBack(kind, d); changed || err != nil {
			return err
		}
	}
	return c.createFault()
}

func (c *Churn) moveAway(kind string) (bool, error) {
	switch kind {
	case "ethpmPhysIf":
		return c.flapLink()
	case "l1PhysIf":
		return c.shutPort()
	case "bgpPeerEntry":
		return c.dropSession()
	case "ospfAdjEp":
		return c.resetAdjacency()
	case "fabricNode":
		return c.loseNode()
	}
	return false, fmt.Errorf("churn: unknown state event %q", kind)
}

// attr reads one attribute of the object at dn ("" when it is missing).
func (c *Churn) attr(dn, name string) string {
	a, _ := c.f.Get(dn)
	return a[name]
}

// set modifies the object at dn with the attributes of ch that differ
// from its own (a modified event carries only those).
func (c *Churn) set(dn string, ch map[string]string) error {
	if cur, ok := c.f.Get(dn); ok {
		for k, v := range ch {
			if cur[k] == v {
				delete(ch, k)
			}
		}
		if len(ch) == 0 {
			return nil
		}
	}
	if err := c.f.Modify(dn, ch); err != nil {
		return fmt.Errorf("churn: %w", err)
	}
	return nil
}

// incr returns the counter attribute name of cur plus one.
func (c *Churn) incr(cur map[string]string, name string) string {
	n, _ := strconv.Atoi(cur[name])
	return strconv.Itoa(n + 1)
}

func (c *Churn) nodeActive(n *topoNode) bool {
	return n.role == "controller" || c.attr(n.dn(), "fabricSt") == "active"
}

// portFree: nothing holds the port and its link is up.
func (c *Churn) portFree(p *topoPort) bool {
	return !c.busy[p.ethpmDN()] && c.attr(p.ethpmDN(), "operSt") == "up"
}

// nodesUp: the nodes at both ends of every port are active.
func (c *Churn) nodesUp(ports []*topoPort) bool {
	for _, p := range ports {
		if !c.nodeActive(p.node) || p.peer != nil && !c.nodeActive(p.peer.node) {
			return false
		}
	}
	return true
}

// flapLink takes a link down: a fabric link (both ends, F1394) two times
// in five, else a server-facing port (F0532).
func (c *Churn) flapLink() (bool, error) {
	t := c.topo
	for range 8 {
		var ends []*topoPort
		switch {
		case len(t.fabricLinks) > 0 && (len(t.hostPorts) == 0 || c.r.IntN(5) < 2):
			p := pick1(c.r, t.fabricLinks)
			ends = []*topoPort{p, p.peer}
		case len(t.hostPorts) > 0:
			ends = []*topoPort{pick1(c.r, t.hostPorts)}
		default:
			return false, nil
		}
		if !c.nodesUp(ends) || !c.portFree(ends[0]) || len(ends) > 1 && !c.portFree(ends[1]) {
			continue
		}
		return true, c.linkDown(ends, c.span(0.3, 3))
	}
	return false, nil
}

func portFaultCode(p *topoPort) string {
	if p.usage == "fabric" {
		return "F1394"
	}
	return "F0532"
}

// linkDown takes the ports' links down with a link failure until a timer
// brings them back.
func (c *Churn) linkDown(ends []*topoPort, after time.Duration) error {
	var dns []string
	for _, p := range ends {
		dn := p.ethpmDN()
		cur, _ := c.f.Get(dn)
		if err := c.set(dn, map[string]string{"operSt": "down", "operStQual": "link-failure", "operPhyEnSt": "down",
			"lastLinkStChg": c.ts(), "resetCtr": c.incr(cur, "resetCtr")}); err != nil {
			return err
		}
		if err := c.condition(dn, portFaultCode(p), true); err != nil {
			return err
		}
		dns = append(dns, dn)
	}
	c.startOutage("ethpmPhysIf", dns, after, func() (time.Duration, bool, error) { return c.linkUp(ends) })
	return nil
}

func (c *Churn) linkUp(ends []*topoPort) (time.Duration, bool, error) {
	if !c.nodesUp(ends) {
		return c.soak / 2, false, nil
	}
	for _, p := range ends {
		dn := p.ethpmDN()
		if err := c.set(dn, map[string]string{"operSt": "up", "operStQual": "none", "operPhyEnSt": "up", "lastLinkStChg": c.ts()}); err != nil {
			return 0, true, err
		}
		if err := c.condition(dn, portFaultCode(p), false); err != nil {
			return 0, true, err
		}
	}
	return 0, true, nil
}

// shutPort shuts a server-facing port for a while, as for maintenance.
func (c *Churn) shutPort() (bool, error) {
	if len(c.topo.hostPorts) == 0 {
		return false, nil
	}
	for range 8 {
		p := pick1(c.r, c.topo.hostPorts)
		if !c.nodesUp([]*topoPort{p}) || !c.portFree(p) {
			continue
		}
		if err := c.set(p.l1DN(), map[string]string{"adminSt": "down"}); err != nil {
			return true, err
		}
		if err := c.set(p.ethpmDN(), map[string]string{"operSt": "down", "operStQual": "admin-down",
			"operErrDisQual": "admin-down", "operPhyEnSt": "down", "lastLinkStChg": c.ts()}); err != nil {
			return true, err
		}
		c.startOutage("l1PhysIf", []string{p.ethpmDN()}, c.span(2, 6), func() (time.Duration, bool, error) { return c.noShut(p) })
		return true, nil
	}
	return false, nil
}

func (c *Churn) noShut(p *topoPort) (time.Duration, bool, error) {
	if !c.nodesUp([]*topoPort{p}) {
		return c.soak / 2, false, nil
	}
	if err := c.set(p.l1DN(), map[string]string{"adminSt": "up"}); err != nil {
		return 0, true, err
	}
	err := c.set(p.ethpmDN(), map[string]string{"operSt": "up", "operStQual": "none", "operErrDisQual": "none",
		"operPhyEnSt": "up", "lastLinkStChg": c.ts()})
	return 0, true, err
}

// sessionFree: nothing holds the session's ends, their nodes are active
// and they are established.
func (c *Churn) sessionFree(ends []*topoPeer) bool {
	for _, e := range ends {
		if c.busy[e.dn()] || !c.nodeActive(e.node) || c.attr(e.dn(), "operSt") != "established" {
			return false
		}
	}
	return true
}

func (c *Churn) dropSession() (bool, error) {
	if len(c.live) == 0 {
		return false, nil
	}
	for range 8 {
		s := pick1(c.r, c.live)
		if !c.sessionFree(s.ends) {
			continue
		}
		return true, c.sessionDown(s.ends, c.span(0.3, 1.5))
	}
	return false, nil
}

// sessionDown drops a BGP session at the given ends: idle, connDrop + 1,
// lastFlapTs now, F0299 raised; timers take it through active or connect
// back to established.
func (c *Churn) sessionDown(ends []*topoPeer, after time.Duration) error {
	var dns []string
	for _, e := range ends {
		dn := e.dn()
		cur, _ := c.f.Get(dn)
		if err := c.set(dn, map[string]string{"operSt": "idle", "prevOperSt": cur["operSt"],
			"connDrop": c.incr(cur, "connDrop"), "lastFlapTs": c.ts()}); err != nil {
			return err
		}
		if err := c.condition(dn, "F0299", true); err != nil {
			return err
		}
		dns = append(dns, dn)
	}
	c.startOutage("bgpPeerEntry", dns, after, func() (time.Duration, bool, error) { return c.sessionStep(ends) })
	return nil
}

func (c *Churn) sessionStep(ends []*topoPeer) (time.Duration, bool, error) {
	for _, e := range ends {
		if !c.nodeActive(e.node) || c.peerNodeDown(e) {
			return c.soak / 2, false, nil
		}
	}
	next, delay := "established", time.Duration(0)
	if c.attr(ends[0].dn(), "operSt") == "idle" {
		next, delay = []string{"active", "connect"}[c.r.IntN(2)], max(time.Millisecond, c.span(0.1, 0.6))
	}
	for _, e := range ends {
		dn := e.dn()
		cur, _ := c.f.Get(dn)
		ch := map[string]string{"operSt": next, "prevOperSt": cur["operSt"]}
		if next == "established" {
			ch["connEst"] = c.incr(cur, "connEst")
		} else {
			ch["connAttempts"] = c.incr(cur, "connAttempts")
		}
		if err := c.set(dn, ch); err != nil {
			return 0, true, err
		}
		if next == "established" {
			if err := c.condition(dn, "F0299", false); err != nil {
				return 0, true, err
			}
		}
	}
	return delay, true, nil
}

// peerNodeDown: e is a fabric session end whose other node is inactive.
func (c *Churn) peerNodeDown(e *topoPeer) bool {
	n := c.topo.byTEP[e.addr]
	return n != nil && !c.nodeActive(n)
}

// resetAdjacency takes an OSPF adjacency down; it comes back through init.
func (c *Churn) resetAdjacency() (bool, error) {
	if len(c.topo.adjs) == 0 {
		return false, nil
	}
	for range 4 {
		a := pick1(c.r, c.topo.adjs)
		if c.busy[a.dn()] || !c.nodeActive(a.node) || c.attr(a.dn(), "operSt") != "full" {
			continue
		}
		if err := c.set(a.dn(), map[string]string{"operSt": "down"}); err != nil {
			return true, err
		}
		c.startOutage("ospfAdjEp", []string{a.dn()}, c.span(0.2, 1), func() (time.Duration, bool, error) { return c.adjStep(a) })
		return true, nil
	}
	return false, nil
}

func (c *Churn) adjStep(a *topoAdj) (time.Duration, bool, error) {
	if !c.nodeActive(a.node) {
		return c.soak / 2, false, nil
	}
	if c.attr(a.dn(), "operSt") == "down" {
		return max(time.Millisecond, c.span(0.1, 0.5)), true, c.set(a.dn(), map[string]string{"operSt": "init"})
	}
	return 0, true, c.set(a.dn(), map[string]string{"operSt": "full"})
}

// loseNode makes a leaf inactive for a while (F0110): reloaded for an
// upgrade, to come back on the next release, the first time and every
// other time after; lost the other times. Its
// spines see their links to it and the route reflectors their sessions
// with it go down.
func (c *Churn) loseNode() (bool, error) {
	if len(c.leaves) == 0 {
		return false, nil
	}
	for range 8 {
		n := pick1(c.r, c.leaves)
		if c.busy[n.dn()] || !c.nodeActive(n) {
			continue
		}
		if err := c.set(n.dn(), map[string]string{"fabricSt": "inactive", "lastStateModTs": c.ts()}); err != nil {
			return true, err
		}
		if err := c.set(n.sysDN(), map[string]string{"state": "out-of-service"}); err != nil {
			return true, err
		}
		if err := c.condition(n.dn(), "F0110", true); err != nil {
			return true, err
		}
		back, upgrade := c.span(1, 3), c.nodeLosses%2 == 0
		c.nodeLosses++
		c.startOutage("fabricNode", []string{n.dn()}, back, func() (time.Duration, bool, error) { return c.restoreNode(n, upgrade) })
		return true, c.loseNeighbours(n, back)
	}
	return false, nil
}

// loseNeighbours takes down the far ends of n's links and sessions, to come
// back a little after n does.
func (c *Churn) loseNeighbours(n *topoNode, back time.Duration) error {
	for _, p := range n.ports {
		if p.peer != nil && c.portFree(p.peer) {
			if err := c.linkDown([]*topoPort{p.peer}, back+c.span(0.05, 0.3)); err != nil {
				return err
			}
		}
	}
	for _, s := range c.live {
		for i, e := range s.ends {
			if e.node != n || len(s.ends) != 2 {
				continue
			}
			far := s.ends[1-i]
			if c.nodeActive(far.node) && c.sessionFree([]*topoPeer{far}) {
				if err := c.sessionDown([]*topoPeer{far}, back+c.span(0.1, 0.5)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// restoreNode makes n active again, on the next release after an upgrade.
func (c *Churn) restoreNode(n *topoNode, upgrade bool) (time.Duration, bool, error) {
	ts := c.ts()
	node := map[string]string{"fabricSt": "active", "lastStateModTs": ts}
	sys := map[string]string{"state": "in-service", "lastRebootTime": ts, "systemUpTime": mdlUpTime(0)}
	if upgrade {
		node["version"] = mdlNextRelease(c.attr(n.dn(), "version"))
		sys["version"] = node["version"]
	}
	if err := c.set(n.dn(), node); err != nil {
		return 0, true, err
	}
	if err := c.set(n.sysDN(), sys); err != nil {
		return 0, true, err
	}
	return 0, true, c.condition(n.dn(), "F0110", false)
}

// rebuildState reads back what an earlier churn left: the health scores
// and the faults behind them, the timers of the state faults, and every
// object away from its baseline, which gets a timer to come back.
func (c *Churn) rebuildState() {
	for _, class := range []string{"healthInst", "fabricHealthTotal"} {
		for _, dn := range c.f.DNs(class) {
			if a, ok := c.f.Get(dn); ok {
				c.health.track(class, dn, a)
			}
		}
	}
	for _, dn := range c.f.DNs("faultInst") {
		a, ok := c.f.Get(dn)
		if !ok {
			continue
		}
		c.health.setFault(dn, a["severity"])
		if stateFaultCode(dn) != "" {
			c.scheduleFault(dn, a["lc"], a["lastTransition"])
		}
	}
	c.rebuildOutages()
}

func (c *Churn) rebuildOutages() {
	for _, n := range c.leaves {
		if c.attr(n.dn(), "fabricSt") == "inactive" {
			c.startOutage("fabricNode", []string{n.dn()}, c.span(0.5, 2), func() (time.Duration, bool, error) { return c.restoreNode(n, false) })
		}
	}
	failed := func(p *topoPort) bool { return c.attr(p.ethpmDN(), "operStQual") == "link-failure" }
	for _, p := range c.topo.fabricLinks {
		if ends := slices.DeleteFunc([]*topoPort{p, p.peer}, func(x *topoPort) bool { return !failed(x) }); len(ends) > 0 {
			c.startOutage("ethpmPhysIf", portDNs(ends), c.span(0.3, 2), func() (time.Duration, bool, error) { return c.linkUp(ends) })
		}
	}
	for _, p := range c.topo.hostPorts {
		switch c.attr(p.ethpmDN(), "operStQual") {
		case "link-failure":
			c.startOutage("ethpmPhysIf", portDNs([]*topoPort{p}), c.span(0.3, 2), func() (time.Duration, bool, error) { return c.linkUp([]*topoPort{p}) })
		case "admin-down":
			c.startOutage("l1PhysIf", portDNs([]*topoPort{p}), c.span(0.5, 3), func() (time.Duration, bool, error) { return c.noShut(p) })
		}
	}
	for _, s := range c.live {
		down := slices.DeleteFunc(slices.Clone(s.ends), func(e *topoPeer) bool {
			st := c.attr(e.dn(), "operSt")
			return st == "established" || st == "" // missing: a fabric of another profile
		})
		if len(down) > 0 {
			c.startOutage("bgpPeerEntry", peerDNs(down), c.span(0.2, 1), func() (time.Duration, bool, error) { return c.sessionStep(down) })
		}
	}
	for _, a := range c.topo.adjs {
		if st := c.attr(a.dn(), "operSt"); st != "full" && st != "" {
			c.startOutage("ospfAdjEp", []string{a.dn()}, c.span(0.2, 1), func() (time.Duration, bool, error) { return c.adjStep(a) })
		}
	}
}

func portDNs(ports []*topoPort) []string {
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = p.ethpmDN()
	}
	return out
}

func peerDNs(ends []*topoPeer) []string {
	out := make([]string, len(ends))
	for i, e := range ends {
		out[i] = e.dn()
	}
	return out
}

// faultScored books a fault's new severity ("" once deleted) and rescores
// the health of what it counts for.
func (c *Churn) faultScored(dn, severity string) error {
	return c.rescore(c.health.setFault(dn, severity))
}

// rescore writes the new scores of the given owners, then of their pods
// and the fabric when a switch's changed.
func (c *Churn) rescore(owners []string) error {
	if len(owners) == 0 {
		return nil
	}
	ts := c.ts()
	var pods []int
	for _, dn := range owners {
		o := c.health.owners[dn]
		cur, sev := o.score()
		if ch := rescore(o, cur, sev, ts); ch != nil {
			if err := c.set(dn, ch); err != nil {
				return err
			}
			if o.pod != 0 && !slices.Contains(pods, o.pod) {
				pods = append(pods, o.pod)
			}
		}
	}
	if len(pods) == 0 {
		return nil
	}
	for _, pod := range pods {
		if err := c.rescoreTotal(c.health.pods[pod], pod, ts); err != nil {
			return err
		}
	}
	return c.rescoreTotal(c.health.fabric, 0, ts)
}

func (c *Churn) rescoreTotal(o *healthOwner, pod int, ts string) error {
	if o == nil {
		return nil
	}
	cur, sev, _ := c.health.aggregate(pod)
	if ch := rescore(o, cur, sev, ts); ch != nil {
		return c.set(o.dn, ch)
	}
	return nil
}

// createHealth gives a new tenant or EPG its health score.
func (c *Churn) createHealth(ownerDN string) error {
	dn := mdlHealthDN(ownerDN)
	a := healthAttrs(100, "cleared", c.now())
	if err := c.f.Create("healthInst", dn, a); err != nil {
		return fmt.Errorf("churn: %w", err)
	}
	c.health.addOwner(dn, a)
	return nil
}
