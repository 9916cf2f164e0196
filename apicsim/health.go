package apicsim

// Health scores that follow the faults. The APIC's own formula weighs
// faults by severity and normalises by object counts (Lp-norm); apicsim
// uses a simple one that moves the same way:
//
//   - a switch node (healthInst topology/pod-P/node-N/sys/health) counts
//     the active faults (severity not cleared) anywhere under
//     topology/pod-P/node-N; a tenant (uni/tn-T/health) every active fault
//     under uni/tn-T; an EPG (uni/tn-T/ap-A/epg-E/health) those under the EPG;
//   - cur = 100 − Σ over severities of min(cap, weight × active faults),
//     floored at 0, with (weight, cap) critical (20, 60), major (10, 40),
//     minor (4, 24), warning (1, 10), info (0, 0);
//   - maxSev is the highest active severity, "cleared" when there is none;
//   - a pod's fabricHealthTotal (topology/pod-P/health) is the mean of its
//     switches' cur, the fabric's (topology/health) the mean over all
//     switches, rounded; their maxSev the highest of those switches';
//   - on a change prev takes the old cur, chng is cur − prev, twScore
//     equals cur, updTs is the time of the change; modTs stays "never".
//
// Controllers have no node health score, as on an APIC.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

var (
	healthWeight = [...]int{0, 0, 1, 4, 10, 20} // by mdlSevRank
	healthCap    = [...]int{0, 0, 10, 24, 40, 60}
)

// healthOwner is the score of one object with a healthInst.
type healthOwner struct {
	dn     string // the healthInst DN
	active [6]int // active faults by severity rank
	pod    int    // a switch node's pod; 0 for tenants and EPGs
	// The attributes as last written (twScore is cur).
	cur, prev, chng int
	maxSev, updTs   string
}

func (h *healthOwner) score() (int, string) {
	cur, maxSev := 100, "cleared"
	for rank, n := range h.active {
		if n > 0 && rank > 0 {
			cur -= min(healthCap[rank], healthWeight[rank]*n)
			maxSev = mdlSeverities[rank]
		}
	}
	return max(cur, 0), maxSev
}

// healthBook keeps the fault counts behind every health score of the
// fabric, so a fault change rescores its owners without reading the store.
type healthBook struct {
	owners map[string]*healthOwner // by healthInst DN
	faults map[string]int          // the active faults: DN → severity rank
	// byTenant indexes the tenant-owned fault and owner DNs, for subtree
	// deletes ("" holds the topology's).
	byTenant map[string]map[string]bool
	nodes    map[int][]*healthOwner // the switch nodes' owners by pod
	pods     map[int]*healthOwner   // fabricHealthTotal of each pod
	fabric   *healthOwner           // fabricHealthTotal of the fabric; nil without switches
}

func newHealthBook() *healthBook {
	return &healthBook{owners: map[string]*healthOwner{}, faults: map[string]int{},
		byTenant: map[string]map[string]bool{}, nodes: map[int][]*healthOwner{}, pods: map[int]*healthOwner{}}
}

func (b *healthBook) index(dn string) {
	t := tenantOf(dn)
	if b.byTenant[t] == nil {
		b.byTenant[t] = map[string]bool{}
	}
	b.byTenant[t][dn] = true
}

func (b *healthBook) unindex(dn string) {
	t := tenantOf(dn)
	delete(b.byTenant[t], dn)
	if len(b.byTenant[t]) == 0 {
		delete(b.byTenant, t)
	}
}

// addOwner tracks the healthInst at dn, whose attributes are a.
func (b *healthBook) addOwner(dn string, a map[string]string) *healthOwner {
	h := newHealthOwner(dn, a)
	if m := mdlPodNodeRE.FindStringSubmatch(dn); m != nil {
		h.pod, _ = strconv.Atoi(m[1])
		b.nodes[h.pod] = append(b.nodes[h.pod], h)
	}
	b.owners[dn] = h
	b.index(dn)
	return h
}

func newHealthOwner(dn string, a map[string]string) *healthOwner {
	h := &healthOwner{dn: dn, maxSev: a["maxSev"], updTs: a["updTs"]}
	h.cur, _ = strconv.Atoi(a["cur"])
	h.prev, _ = strconv.Atoi(a["prev"])
	h.chng, _ = strconv.Atoi(a["chng"])
	return h
}

// track follows an existing healthInst or fabricHealthTotal with
// attributes a.
func (b *healthBook) track(class, dn string, a map[string]string) {
	if class == "healthInst" {
		b.addOwner(dn, a)
		return
	}
	o := newHealthOwner(dn, a)
	var pod int
	if dn == mdlFabricHealthDN {
		b.fabric = o
	} else if _, err := fmt.Sscanf(dn, "topology/pod-%d/health", &pod); err == nil {
		b.pods[pod] = o
	}
}

// ownersOf returns the tracked health DNs a fault at dn counts for.
func (b *healthBook) ownersOf(dn string) []string {
	rns := splitDN(dn)
	var cands []string
	switch {
	case len(rns) > 3 && rns[0] == "topology" && strings.HasPrefix(rns[1], "pod-") && strings.HasPrefix(rns[2], "node-"):
		cands = append(cands, strings.Join(rns[:3], "/")+"/sys/health")
	case len(rns) > 2 && rns[0] == "uni" && strings.HasPrefix(rns[1], "tn-"):
		cands = append(cands, strings.Join(rns[:2], "/")+"/health")
		if len(rns) > 4 && strings.HasPrefix(rns[2], "ap-") && strings.HasPrefix(rns[3], "epg-") {
			cands = append(cands, strings.Join(rns[:4], "/")+"/health")
		}
	}
	out := cands[:0]
	for _, o := range cands {
		if b.owners[o] != nil {
			out = append(out, o)
		}
	}
	return out
}

// setFault records the severity a fault now has ("" or cleared: not
// counted, a deleted fault likewise) and returns the owners whose counts
// changed.
func (b *healthBook) setFault(dn, severity string) []string {
	rank := max(mdlSevRank(severity), 0)
	old := b.faults[dn] // 0: not counted
	if rank == old {
		return nil
	}
	if rank == 0 {
		delete(b.faults, dn)
		b.unindex(dn)
	} else {
		b.faults[dn] = rank
		b.index(dn)
	}
	owners := b.ownersOf(dn)
	for _, o := range owners {
		h := b.owners[o]
		h.active[old]--
		h.active[rank]++
	}
	return owners
}

// dropUnder forgets the owners and faults under dn (deleted with it) and
// returns the remaining owners whose counts changed, sorted.
func (b *healthBook) dropUnder(dn string) []string {
	t := b.byTenant[tenantOf(dn)]
	prefix := dn + "/"
	var gone []string
	for d := range t {
		if strings.HasPrefix(d, prefix) {
			gone = append(gone, d)
		}
	}
	slices.Sort(gone)
	var changed []string
	for _, d := range gone {
		b.unindex(d)
		if b.owners[d] != nil {
			delete(b.owners, d)
			continue
		}
		changed = append(changed, b.setFault(d, "")...)
	}
	out := changed[:0]
	for _, o := range changed {
		if b.owners[o] != nil && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// rescore sets owner o's new score and returns the attributes of its
// healthInst that change, nil when the score did not.
func rescore(o *healthOwner, cur int, maxSev, ts string) map[string]string {
	if cur == o.cur && maxSev == o.maxSev {
		return nil
	}
	ch := map[string]string{}
	set := func(k string, old, v string) {
		if old != v {
			ch[k] = v
		}
	}
	set("cur", strconv.Itoa(o.cur), strconv.Itoa(cur))
	set("twScore", strconv.Itoa(o.cur), strconv.Itoa(cur))
	set("prev", strconv.Itoa(o.prev), strconv.Itoa(o.cur))
	set("chng", strconv.Itoa(o.chng), strconv.Itoa(cur-o.cur))
	set("maxSev", o.maxSev, maxSev)
	set("updTs", o.updTs, ts)
	o.prev, o.chng, o.cur, o.maxSev, o.updTs = o.cur, cur-o.cur, cur, maxSev, ts
	return ch
}

// aggregate is the fabricHealthTotal score over the switches of pod (0:
// every pod); ok is false when there are none.
func (b *healthBook) aggregate(pod int) (cur int, maxSev string, ok bool) {
	sum, n, worst := 0, 0, 0
	for p, nodes := range b.nodes {
		if pod != 0 && p != pod {
			continue
		}
		for _, o := range nodes {
			sum += o.cur
			n++
			worst = max(worst, mdlSevRank(o.maxSev))
		}
	}
	if n == 0 {
		return 100, "cleared", false
	}
	return (sum + n/2) / n, mdlSeverities[worst], true
}
