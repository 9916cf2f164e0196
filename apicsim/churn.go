package apicsim

// A seeded churn generator: Populate builds a fabric of a given profile, Churn
// then keeps changing it (creates, modifications, deletes, fault lifecycles)
// at a steady rate while holding each class near its profile size.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Fabric is what the churn generator changes. Sim implements it.
type Fabric interface {
	Create(class, dn string, attrs map[string]string) error // dn must not exist; parent need not exist
	Modify(dn string, changed map[string]string) error      // only the changed attributes
	Delete(dn string) error                                 // deletes dn and its whole subtree (one deleted event per object)
	Count(class string) int
	Pick(r *rand.Rand, class string) (dn string, attrs map[string]string, ok bool) // a uniformly random existing object of the class
	Get(dn string) (attrs map[string]string, ok bool)                              // the object at dn
	DNs(class string) []string                                                     // every object of the class, in an order that depends only on the changes made
}

// ClassMix weights the changes of one class: the sum is the class's share of
// all changes, the three parts the split between creates, modifications and
// deletes. For faultInst, Modify and Delete both advance a fault one lifecycle
// step (a retaining fault is deleted). The fabric-state keys (ethpmPhysIf,
// l1PhysIf, bgpPeerEntry, ospfAdjEp, fabricNode) weigh state events, which
// neither create nor delete: only the sum counts.
type ClassMix struct {
	Create, Modify, Delete float64
}

// Profile sizes a fabric and its churn. Counts are per parent (EPGsPerApp is
// per application profile, EndpointsPerEPG per EPG, ...); Faults is the total.
// The tenants common, infra and mgmt and their default objects come on top.
// A nil Mix means the default mix; keys other than the ten modelled classes
// (fvTenant, fvAp, fvAEPg, fvBD, fvCtx, fvSubnet, vzBrCP, l3extOut, fvCEp,
// faultInst) and the five state events (churnStateKinds) are ignored.
type Profile struct {
	Name                                             string
	Tenants, AppsPerTenant, EPGsPerApp, BDsPerTenant int
	VRFsPerTenant, SubnetsPerBD, ContractsPerTenant  int
	L3OutsPerTenant, EndpointsPerEPG, Faults         int

	// The fabric (topology.go): controllers in pod 1, spines and leaves
	// spread over the pods. A leaf has PortsPerLeaf ports, the last
	// UplinksPerLeaf of them (from eth1/49) towards the spines of its pod;
	// BorderLeaves of the leaves hold the L3OutPeers external BGP peers
	// (the last ShutPeers of them admin-shut) and OSPFAdjacencies.
	Pods, Controllers, Spines, Leaves   int
	PortsPerLeaf, UplinksPerLeaf        int
	BorderLeaves, L3OutPeers, ShutPeers int
	OSPFAdjacencies                     int
	// The fault lifecycle intervals of the faults behind the fabric's
	// state; zero: the APIC defaults 120 s, 120 s and 3600 s.
	FaultSoak, FaultClear, FaultRetention time.Duration

	Mix map[string]ClassMix
}

// churnClassOrder fixes the iteration order over classes (determinism).
var churnClassOrder = []string{"fvTenant", "fvCtx", "fvBD", "fvSubnet", "fvAp", "fvAEPg", "vzBrCP", "l3extOut", "fvCEp", "faultInst"}

// churnMixOrder is the order of the mix: the classes, then the state events.
var churnMixOrder = append(slices.Clone(churnClassOrder), churnStateKinds...)

// churnTopologyClasses are the classes Populate creates from the topology
// (and healthInst, also under tenants and EPGs); the churn never creates or
// deletes their objects but the tenants' and EPGs' health scores.
var churnTopologyClasses = []string{"fabricNode", "topSystem", "l1PhysIf", "ethpmPhysIf", "bgpPeerEntry", "ospfAdjEp", "healthInst", "fabricHealthTotal"}

func churnDefaultMix() map[string]ClassMix {
	return map[string]ClassMix{
		"fvTenant":     {0.05, 0.1, 0.05},
		"fvCtx":        {0.3, 0.5, 0.3},
		"fvBD":         {1, 2, 1},
		"fvSubnet":     {1.6, 1, 1},
		"fvAp":         {0.5, 0.5, 0.5},
		"fvAEPg":       {1.8, 2, 1.5},
		"vzBrCP":       {1, 1.5, 1},
		"l3extOut":     {0.2, 0.4, 0.2},
		"fvCEp":        {30, 30, 30},
		"faultInst":    {6, 12, 12},
		"ethpmPhysIf":  {Modify: 1},
		"l1PhysIf":     {Modify: 0.2},
		"bgpPeerEntry": {Modify: 0.4},
		"ospfAdjEp":    {Modify: 0.1},
		"fabricNode":   {Modify: 0.05},
	}
}

// churnLargeMix keeps structural churn (which deletes whole subtrees of
// endpoints) low relative to endpoint churn, as on a big fabric.
func churnLargeMix() map[string]ClassMix {
	m := churnDefaultMix()
	m["fvTenant"] = ClassMix{0.02, 0.05, 0.02}
	m["fvAp"] = ClassMix{0.1, 0.3, 0.1}
	m["fvAEPg"] = ClassMix{0.5, 1, 0.5}
	m["fvCEp"] = ClassMix{60, 60, 60}
	return m
}

// churnDemoMix makes tenants come and go every few seconds at the demo's
// 20 changes/s, so the demo shows tenant churn (and its alert) quickly, and
// every kind of state event happen within a minute: link flaps every few
// seconds, BGP drops, port shuts, OSPF resets and a leaf lost or upgraded
// every several seconds. TestDemoMovesEveryBuiltin measures it: every
// built-in state metric moves within 20 s on 20 seeds.
func churnDemoMix() map[string]ClassMix {
	m := churnDefaultMix()
	m["fvTenant"] = ClassMix{0.6, 0.3, 0.6}
	m["ethpmPhysIf"] = ClassMix{Modify: 4}
	m["l1PhysIf"] = ClassMix{Modify: 0.8}
	m["bgpPeerEntry"] = ClassMix{Modify: 1.2}
	m["ospfAdjEp"] = ClassMix{Modify: 1.2}
	m["fabricNode"] = ClassMix{Modify: 2.5}
	return m
}

// ProfileNames returns the predefined profile names, smallest first.
func ProfileNames() []string { return []string{"demo", "medium", "large"} }

// ProfileByName returns a copy of a predefined profile:
//   - demo: 3 tenants, ~290 objects; 1 pod, 3 controllers, 2 spines, 4
//     leaves of 8 ports; faults soak and clear in 8 s and are kept 30 s;
//   - medium: 50 tenants, ~10k objects; 1 pod, 4 spines, 20 leaves of 48
//     ports; 30 s, 30 s, 300 s;
//   - large: 120 tenants, 108k endpoints, ~121k objects; 2 pods, 6 spines,
//     200 leaves of 54 ports (state-classes.md); the APIC's own timers.
func ProfileByName(name string) (Profile, error) {
	switch name {
	case "demo":
		return Profile{Name: name, Tenants: 3, AppsPerTenant: 2, EPGsPerApp: 3, BDsPerTenant: 3, VRFsPerTenant: 1,
			SubnetsPerBD: 1, ContractsPerTenant: 3, L3OutsPerTenant: 1, EndpointsPerEPG: 10, Faults: 30,
			Pods: 1, Controllers: 3, Spines: 2, Leaves: 4, PortsPerLeaf: 8, UplinksPerLeaf: 2,
			BorderLeaves: 2, L3OutPeers: 4, ShutPeers: 1, OSPFAdjacencies: 2,
			FaultSoak: 8 * time.Second, FaultClear: 8 * time.Second, FaultRetention: 30 * time.Second,
			Mix: churnDemoMix()}, nil
	case "medium":
		return Profile{Name: name, Tenants: 50, AppsPerTenant: 3, EPGsPerApp: 4, BDsPerTenant: 6, VRFsPerTenant: 2,
			SubnetsPerBD: 2, ContractsPerTenant: 8, L3OutsPerTenant: 2, EndpointsPerEPG: 12, Faults: 500,
			Pods: 1, Controllers: 3, Spines: 4, Leaves: 20, PortsPerLeaf: 48, UplinksPerLeaf: 6,
			BorderLeaves: 4, L3OutPeers: 16, ShutPeers: 2, OSPFAdjacencies: 4,
			FaultSoak: 30 * time.Second, FaultClear: 30 * time.Second, FaultRetention: 300 * time.Second,
			Mix: churnDefaultMix()}, nil
	case "large":
		return Profile{Name: name, Tenants: 120, AppsPerTenant: 4, EPGsPerApp: 5, BDsPerTenant: 10, VRFsPerTenant: 3,
			SubnetsPerBD: 2, ContractsPerTenant: 20, L3OutsPerTenant: 2, EndpointsPerEPG: 45, Faults: 3000,
			Pods: 2, Controllers: 3, Spines: 6, Leaves: 200, PortsPerLeaf: 54, UplinksPerLeaf: 6,
			BorderLeaves: 8, L3OutPeers: 64, ShutPeers: 4, OSPFAdjacencies: 8,
			Mix: churnLargeMix()}, nil
	}
	return Profile{}, fmt.Errorf("unknown churn profile %q (known: %v)", name, ProfileNames())
}

// churnTargets returns the per-class object counts Populate creates for p
// (fault count: at most p.Faults), which the churn holds the fabric near.
func churnTargets(p Profile) map[string]int {
	t := make(map[string]int, len(churnClassOrder))
	for _, o := range mdlSystemObjects {
		t[o.Class]++
	}
	n := p.Tenants
	aps := n * p.AppsPerTenant
	epgs := aps * p.EPGsPerApp
	t["fvTenant"] += n
	t["fvCtx"] += n * p.VRFsPerTenant
	t["fvBD"] += n * p.BDsPerTenant
	t["fvSubnet"] += n * p.BDsPerTenant * p.SubnetsPerBD
	t["vzBrCP"] += n * p.ContractsPerTenant
	t["l3extOut"] += n * p.L3OutsPerTenant
	t["fvAp"] += aps
	t["fvAEPg"] += epgs
	t["fvCEp"] += epgs * p.EndpointsPerEPG
	t["faultInst"] += p.Faults
	topo := newTopology(p)
	for _, n := range topo.nodes {
		t["fabricNode"]++
		t["topSystem"]++
		t["l1PhysIf"] += len(n.ports)
		t["ethpmPhysIf"] += len(n.ports)
	}
	t["bgpPeerEntry"] = len(topo.peers())
	t["ospfAdjEp"] = len(topo.adjs)
	t["healthInst"] = len(topo.switches()) + t["fvTenant"] + t["fvAEPg"]
	if len(topo.switches()) > 0 {
		t["fabricHealthTotal"] = len(topo.pods) + 1
	}
	return t
}

// Random streams: the same seed gives independent Populate and Churn streams.
const (
	churnPopulateStream = 0x9e3779b97f4a7c15
	churnStepStream     = 0xc2b2ae3d27d4eb4f
	// churnIDBase starts the name ids of a Churn above any id Populate uses, so
	// churn-created names never collide with populated ones.
	churnIDBase = 1 << 20
	// churnGain is how hard creates/deletes are biased by a class's relative
	// distance from its target: weights scale by exp(∓gain·deviation).
	churnGain = 8.0
)

// churnGen hands out unique name ids and knows the nodes faults are raised on.
type churnGen struct {
	nextID      uint64
	leaves      []*topoNode
	controllers []*topoNode
	downlinks   int // server-facing ports per leaf
}

// newChurnGen takes the nodes from topo; without leaves (a profile with no
// fabric) faults go to 4 to 96 leaves numbered from 101 in pod 1, and
// without controllers to nodes 1 to 3.
func newChurnGen(p Profile, topo *topology, firstID uint64) *churnGen {
	g := &churnGen{nextID: firstID, leaves: topo.nodesOf("leaf"), controllers: topo.nodesOf("controller"),
		downlinks: max(1, p.PortsPerLeaf-max(p.UplinksPerLeaf, 0))}
	if len(g.leaves) == 0 {
		for i := range min(max(4, 4+p.Tenants/2), 96) &^ 1 {
			g.leaves = append(g.leaves, &topoNode{pod: 1, id: 101 + i, role: "leaf"})
		}
		g.downlinks = 48
	}
	if len(g.controllers) == 0 {
		for i := range 3 {
			g.controllers = append(g.controllers, &topoNode{pod: 1, id: 1 + i, role: "controller"})
		}
	}
	return g
}

func (g *churnGen) id() uint64 {
	g.nextID++
	return g.nextID
}

// churnFaultFamily is one kind of fault the churn raises: the class whose
// random object it is raised on or about ("" for node faults), the code, and
// the affected DN built from that object.
type churnFaultFamily struct {
	weight int
	anchor string
	code   string
	build  func(g *churnGen, r *rand.Rand, anchorDN string) string
}

// churnFaultFamilies are the faults the random churn raises and advances
// step by step; the faults behind the fabric's state (ports, BGP peers,
// nodes) follow their conditions instead (lifecycle.go).
var churnFaultFamilies = []churnFaultFamily{
	{20, "fvAEPg", "F0467", func(g *churnGen, r *rand.Rand, epg string) string {
		n := pick1(r, g.leaves)
		return mdlStPathIssuesDN(n.pod, n.id, 1+r.IntN(g.downlinks), epg)
	}},
	{10, "fvAEPg", "F1123", func(_ *churnGen, r *rand.Rand, epg string) string {
		return epg + "/rscons-" + mdlPick(r, mdlTiers) + "-to-" + mdlPick(r, mdlTiers)
	}},
	{6, "fvAEPg", "F1690", func(_ *churnGen, _ *rand.Rand, epg string) string { return epg }},
	{8, "fvBD", "F1386", func(_ *churnGen, _ *rand.Rand, bd string) string { return bd }},
	{6, "vzBrCP", "F1123", func(_ *churnGen, r *rand.Rand, brc string) string {
		return brc + "/subj-" + mdlPick(r, []string{"default", "http", "any", "mgmt"}) +
			"/rssubjFiltAtt-" + mdlPick(r, []string{"http", "https", "ssh", "icmp", "dns", "sql", "any"})
	}},
	{4, "l3extOut", "F1123", func(_ *churnGen, _ *rand.Rand, out string) string { return out + "/rsectx" }},
	{4, "fvAEPg", "F1234", func(_ *churnGen, _ *rand.Rand, epg string) string { return mdlQosRtDN("default", epg) }},
	{6, "", "F1295", func(g *churnGen, r *rand.Rand, _ string) string {
		n := pick1(r, g.leaves)
		return mdlNodeLocalDN(n.pod, n.id, "uni/fabric/time-default/issues")
	}},
	{2, "", "F1527", func(g *churnGen, r *rand.Rand, _ string) string {
		return pick1(r, g.controllers).dn() + "/sys/ch/p-[/firmware]-f-[/dev/mapper/vg_ifc0-firmware]"
	}},
	{1, "", "F0104", func(g *churnGen, r *rand.Rand, _ string) string {
		return pick1(r, g.controllers).dn() + "/sys/caggr-[po1.1]"
	}},
}

var churnFaultWeight = func() int {
	w := 0
	for _, f := range churnFaultFamilies {
		w += f.weight
	}
	return w
}()

// churnNodeFamily is the fallback family when an anchor class is empty.
var churnNodeFamily = slices.IndexFunc(churnFaultFamilies, func(ff churnFaultFamily) bool { return ff.code == "F1295" })

func pick1[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// faultDN returns the DN of a fault to raise. It may already exist.
func (g *churnGen) faultDN(r *rand.Rand, f Fabric) string {
	u := r.IntN(churnFaultWeight)
	fam := churnFaultFamilies[0]
	for _, ff := range churnFaultFamilies {
		if u < ff.weight {
			fam = ff
			break
		}
		u -= ff.weight
	}
	anchor := ""
	if fam.anchor != "" {
		dn, _, ok := f.Pick(r, fam.anchor)
		if !ok { // nothing to raise it on: a node's datetime policy fails instead
			fam = churnFaultFamilies[churnNodeFamily]
		}
		anchor = dn
	}
	return mdlFaultDN(fam.build(g, r, anchor), fam.code)
}

// Populate builds the initial fabric of profile p, deterministically from
// seed, parents before children: the system tenants, then per tenant its
// VRFs, BDs with subnets, contracts, L3Outs, application profiles with EPGs and
// endpoints; the fabric's nodes, ports and routing peers, all at baseline
// (every link up but the unconnected and shut ports, every session
// established but the shut ones); p.Faults faults in a snapshot-like mix of
// lifecycle states; and last the health scores those faults give the
// switches, tenants, EPGs, pods and the fabric. now (nil: time.Now) stamps
// modTs.
func Populate(f Fabric, p Profile, seed int64, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	topo := newTopology(p)
	pp := &populator{f: f, r: rand.New(rand.NewPCG(uint64(seed), churnPopulateStream)), now: now,
		g: newChurnGen(p, topo, 0), health: newHealthBook()}
	for _, o := range mdlSystemObjects {
		if err := pp.create(o.Class, o.DN); err != nil {
			return err
		}
		if o.Class == "fvTenant" || o.Class == "fvAEPg" {
			pp.owners = append(pp.owners, o.DN)
		}
	}
	for range p.Tenants {
		if err := pp.tenant(p); err != nil {
			return err
		}
	}
	if err := pp.fabric(topo); err != nil {
		return err
	}
	if err := pp.faults(p.Faults); err != nil {
		return err
	}
	return pp.scores(topo)
}

// populator is the state of one Populate.
type populator struct {
	f      Fabric
	r      *rand.Rand
	now    func() time.Time
	g      *churnGen
	owners []string // tenants and EPGs, which get a health score
	health *healthBook
}

func (pp *populator) createAttrs(class, dn string, attrs map[string]string) error {
	if err := pp.f.Create(class, dn, attrs); err != nil {
		return fmt.Errorf("populate %s %s: %w", class, dn, err)
	}
	return nil
}

func (pp *populator) create(class, dn string) error {
	return pp.createAttrs(class, dn, newAttrs(pp.r, class, dn, apicTime(pp.now())))
}

func (pp *populator) child(parentDN, class string) (string, error) {
	dn := mdlChildDN(parentDN, class, mdlName(pp.r, class, pp.g.id()))
	if class == "fvTenant" || class == "fvAEPg" {
		pp.owners = append(pp.owners, dn)
	}
	return dn, pp.create(class, dn)
}

// tenant creates a tenant and everything in it.
func (pp *populator) tenant(p Profile) error {
	tdn, err := pp.child("", "fvTenant")
	if err != nil {
		return err
	}
	for _, c := range []struct {
		class string
		n     int
	}{{"fvCtx", p.VRFsPerTenant}, {"vzBrCP", p.ContractsPerTenant}, {"l3extOut", p.L3OutsPerTenant}} {
		for range c.n {
			if _, err := pp.child(tdn, c.class); err != nil {
				return err
			}
		}
	}
	for range p.BDsPerTenant {
		bd, err := pp.child(tdn, "fvBD")
		if err != nil {
			return err
		}
		for range p.SubnetsPerBD {
			if _, err := pp.child(bd, "fvSubnet"); err != nil {
				return err
			}
		}
	}
	for range p.AppsPerTenant {
		ap, err := pp.child(tdn, "fvAp")
		if err != nil {
			return err
		}
		for range p.EPGsPerApp {
			epg, err := pp.child(ap, "fvAEPg")
			if err != nil {
				return err
			}
			for range p.EndpointsPerEPG {
				if _, err := pp.child(epg, "fvCEp"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fabric creates the topology's objects at baseline.
func (pp *populator) fabric(topo *topology) error {
	now := pp.now()
	for _, n := range topo.nodes {
		if err := pp.createAttrs("fabricNode", n.dn(), fabricNodeAttrs(n, now)); err != nil {
			return err
		}
		if err := pp.createAttrs("topSystem", n.sysDN(), topSystemAttrs(n, now)); err != nil {
			return err
		}
		for _, pt := range n.ports {
			if err := pp.createAttrs("l1PhysIf", pt.l1DN(), l1PhysIfAttrs(pt, now)); err != nil {
				return err
			}
			if err := pp.createAttrs("ethpmPhysIf", pt.ethpmDN(), ethpmPhysIfAttrs(pt, now)); err != nil {
				return err
			}
		}
	}
	for _, s := range topo.sessions {
		for _, e := range s.ends {
			if err := pp.createAttrs("bgpPeerEntry", e.dn(), bgpPeerEntryAttrs(e, s.shut, now)); err != nil {
				return err
			}
		}
	}
	for _, a := range topo.adjs {
		if err := pp.createAttrs("ospfAdjEp", a.dn(), ospfAdjEpAttrs(a)); err != nil {
			return err
		}
	}
	return nil
}

// faults raises n random faults, in every state a snapshot shows, most of
// them raised.
func (pp *populator) faults(n int) error {
	seen := make(map[string]bool, n)
	for tries := 0; len(seen) < n && tries < 20*n; tries++ {
		dn := pp.g.faultDN(pp.r, pp.f)
		if seen[dn] {
			continue
		}
		seen[dn] = true
		attrs := newAttrs(pp.r, "faultInst", dn, apicTime(pp.now()))
		steps := []int{0, 1, 1, 1, 1, 1, 2, 2, 3, 3}[pp.r.IntN(10)]
		for range steps {
			ch := mutateAttrs(pp.r, "faultInst", attrs)
			if ch == nil {
				break
			}
			maps.Copy(attrs, ch)
		}
		churnBackdate(attrs, pp.now())
		if err := pp.createAttrs("faultInst", dn, attrs); err != nil {
			return err
		}
		pp.health.setFault(dn, attrs["severity"])
	}
	return nil
}

// scores creates the health scores of the switches, tenants and EPGs as
// their faults make them, then of the pods and the fabric.
func (pp *populator) scores(topo *topology) error {
	b := pp.health
	var dns []string
	for _, n := range topo.switches() {
		dns = append(dns, mdlHealthDN(n.sysDN()))
	}
	for _, o := range pp.owners {
		dns = append(dns, mdlHealthDN(o))
	}
	for _, dn := range dns {
		b.addOwner(dn, nil)
	}
	for dn, rank := range b.faults { // count them now that the owners exist
		for _, o := range b.ownersOf(dn) {
			b.owners[o].active[rank]++
		}
	}
	now := pp.now()
	for _, dn := range dns {
		o := b.owners[dn]
		o.cur, o.maxSev = o.score() // the pods' and the fabric's scores read them
		if err := pp.createAttrs("healthInst", dn, healthAttrs(o.cur, o.maxSev, now)); err != nil {
			return err
		}
	}
	if len(topo.switches()) == 0 {
		return nil
	}
	totals := map[string]int{mdlFabricHealthDN: 0}
	for _, pod := range topo.pods {
		totals[mdlPodHealthDN(pod)] = pod
	}
	for _, dn := range slices.Sorted(maps.Keys(totals)) {
		cur, sev, _ := b.aggregate(totals[dn])
		if err := pp.createAttrs("fabricHealthTotal", dn, healthAttrs(cur, sev, now)); err != nil {
			return err
		}
	}
	return nil
}

// Churn changes a fabric one step at a time. It is not safe for concurrent
// use; Run calls Step from the calling goroutine.
type Churn struct {
	f       Fabric
	r       *rand.Rand
	now     func() time.Time
	gen     *churnGen
	targets map[string]int
	mix     map[string]ClassMix
	classes []string  // classes with a non-zero weight, in churnMixOrder
	cum     []float64 // cumulative class weights

	// The fabric's state (statechurn.go).
	topo                   *topology
	leaves                 []*topoNode
	live                   []*topoSession // the sessions that are not admin-shut
	soak, clear, retention time.Duration
	timers                 timerQueue
	seq                    uint64
	outages                map[string][]*outage // by state event kind
	busy                   map[string]bool      // DNs an outage holds
	nodeLosses             int                  // leaves made inactive so far
	health                 *healthBook
}

// NewChurn returns a churn generator for a fabric of profile p (normally built
// by Populate). The same seed, fabric state, sequence of Step calls and clock
// readings give the same changes. Names of created objects embed ids from 2^20
// up, so one Churn per fabric and seed never collides with Populate or itself;
// now (nil: time.Now) stamps modTs and fault transitions and drives the
// timers of the fabric's state. NewChurn reads the health scores, the faults
// and the objects away from their baseline back from f, so a new Churn on a
// fabric an earlier one changed carries on.
func NewChurn(f Fabric, p Profile, seed int64, now func() time.Time) *Churn {
	if now == nil {
		now = time.Now
	}
	mix := p.Mix
	if mix == nil {
		mix = churnDefaultMix()
	}
	topo := newTopology(p)
	c := &Churn{
		f:         f,
		r:         rand.New(rand.NewPCG(uint64(seed), churnStepStream)),
		now:       now,
		gen:       newChurnGen(p, topo, churnIDBase),
		targets:   churnTargets(p),
		mix:       make(map[string]ClassMix, len(mix)),
		topo:      topo,
		leaves:    topo.nodesOf("leaf"),
		soak:      cmp.Or(p.FaultSoak, 120*time.Second),
		clear:     cmp.Or(p.FaultClear, 120*time.Second),
		retention: cmp.Or(p.FaultRetention, 3600*time.Second),
		outages:   map[string][]*outage{},
		busy:      map[string]bool{},
		health:    newHealthBook(),
	}
	for _, s := range topo.sessions {
		if !s.shut {
			c.live = append(c.live, s)
		}
	}
	total := 0.0
	for _, class := range churnMixOrder {
		m, ok := mix[class]
		if !ok {
			continue
		}
		m.Create, m.Modify, m.Delete = max(m.Create, 0), max(m.Modify, 0), max(m.Delete, 0)
		w := m.Create + m.Modify + m.Delete
		if w <= 0 || math.IsInf(w, 0) || math.IsNaN(w) {
			continue
		}
		total += w
		c.mix[class] = m
		c.classes = append(c.classes, class)
		c.cum = append(c.cum, total)
	}
	c.rebuildState()
	return c
}

var errChurnNoMix = errors.New("churn: profile mix has no class with a positive weight")

func (c *Churn) ts() string { return apicTime(c.now()) }

// deviation is the relative distance of class's count from its target, in [-1, 1].
func (c *Churn) deviation(class string) float64 {
	n, t := c.f.Count(class), c.targets[class]
	if t <= 0 {
		if n > 0 {
			return 1
		}
		return 0
	}
	return max(-1, min(1, float64(n-t)/float64(t)))
}

// Step performs one change: the first state timer that is due and changes
// something (a link, a session or a node coming back, a state fault's next
// lifecycle step), or else one chosen by the profile mix: a create under a
// random existing parent (a new tenant comes with a small subtree), a
// modification, a delete (tenant-level objects take their subtree with them),
// one random fault lifecycle step, or a state event (statechurn.go). Creates
// and deletes are biased towards the class's target count. A fault change
// rescores the health it counts for. Errors of the fabric are returned.
func (c *Churn) Step() error {
	if len(c.classes) == 0 {
		return errChurnNoMix
	}
	if fired, err := c.dueTimer(); fired || err != nil {
		return err
	}
	u := c.r.Float64() * c.cum[len(c.cum)-1]
	i, _ := slices.BinarySearch(c.cum, u)
	class := c.classes[min(i, len(c.classes)-1)]
	if slices.Contains(churnStateKinds, class) {
		return c.stateEvent(class)
	}
	m := c.mix[class]
	bias := math.Exp(churnGain * c.deviation(class))
	wc, wm, wd := m.Create/bias, m.Modify, m.Delete*bias
	if class == "faultInst" { // modifications move faults towards deletion too
		wm *= bias
	}
	switch v := c.r.Float64() * (wc + wm + wd); {
	case v < wc:
		return c.create(class)
	case v < wc+wm:
		return c.modify(class)
	default:
		return c.remove(class)
	}
}

func (c *Churn) create(class string) error {
	switch class {
	case "fvTenant":
		return c.createTenant()
	case "faultInst":
		return c.createFault()
	}
	parents := mdlParentClasses[class]
	if len(parents) == 0 {
		return fmt.Errorf("churn: cannot create objects of class %s", class)
	}
	pc := parents[0]
	if len(parents) > 1 && c.r.IntN(10) == 0 { // the odd subnet on an EPG
		pc = parents[1]
	}
	parent, _, ok := c.f.Pick(c.r, pc)
	if !ok {
		return c.createTenant()
	}
	_, err := c.createUnder(parent, class)
	return err
}

// createUnder creates a new object of class under parentDN, retrying with a
// fresh name if the fabric refuses one.
func (c *Churn) createUnder(parentDN, class string) (string, error) {
	var err error
	for range 3 {
		dn := mdlChildDN(parentDN, class, mdlName(c.r, class, c.gen.id()))
		if err = c.f.Create(class, dn, newAttrs(c.r, class, dn, c.ts())); err == nil {
			if class == "fvTenant" || class == "fvAEPg" {
				return dn, c.createHealth(dn)
			}
			return dn, nil
		}
		// Taken (say by an earlier Churn with the same seed): leave this id range.
		c.gen.nextID += 1 + c.r.Uint64N(1<<16)
	}
	return "", fmt.Errorf("churn: create %s under %q: %w", class, parentDN, err)
}

// createTenant creates a tenant with a VRF, a BD with a subnet, an application
// profile with one or two EPGs and sometimes a contract.
func (c *Churn) createTenant() error {
	tdn, err := c.createUnder("", "fvTenant")
	if err != nil {
		return err
	}
	if _, err := c.createUnder(tdn, "fvCtx"); err != nil {
		return err
	}
	bd, err := c.createUnder(tdn, "fvBD")
	if err != nil {
		return err
	}
	if _, err := c.createUnder(bd, "fvSubnet"); err != nil {
		return err
	}
	ap, err := c.createUnder(tdn, "fvAp")
	if err != nil {
		return err
	}
	for range 1 + c.r.IntN(2) {
		if _, err := c.createUnder(ap, "fvAEPg"); err != nil {
			return err
		}
	}
	if c.r.IntN(2) == 0 {
		if _, err := c.createUnder(tdn, "vzBrCP"); err != nil {
			return err
		}
	}
	return nil
}

// createFault raises a new fault; when every candidate DN is taken it advances
// an existing fault instead.
func (c *Churn) createFault() error {
	var err error
	for range 4 {
		dn := c.gen.faultDN(c.r, c.f)
		a := newAttrs(c.r, "faultInst", dn, c.ts())
		if err = c.f.Create("faultInst", dn, a); err == nil {
			return c.faultScored(dn, a["severity"])
		}
	}
	if dn, attrs, ok := c.pickFault(); ok {
		aerr := c.advanceFault(dn, attrs)
		if aerr == nil {
			return nil
		}
		err = errors.Join(err, aerr)
	}
	return fmt.Errorf("churn: raise fault: %w", err)
}

// pickFault picks a random fault of the random churn (not one that follows
// the fabric's state).
func (c *Churn) pickFault() (string, map[string]string, bool) {
	for range 4 {
		dn, attrs, ok := c.f.Pick(c.r, "faultInst")
		if !ok {
			break
		}
		if stateFaultCode(dn) == "" {
			return dn, attrs, true
		}
	}
	return "", nil, false
}

// advanceFault moves a fault one lifecycle step; a retaining fault is deleted.
func (c *Churn) advanceFault(dn string, attrs map[string]string) error {
	ch := mutateAttrs(c.r, "faultInst", attrs)
	if ch == nil {
		if err := c.f.Delete(dn); err != nil {
			return fmt.Errorf("churn: delete retained fault %s: %w", dn, err)
		}
		return c.faultScored(dn, "")
	}
	if _, ok := ch["lastTransition"]; ok {
		ch["lastTransition"] = c.ts()
	}
	if err := c.f.Modify(dn, ch); err != nil {
		return fmt.Errorf("churn: advance fault %s: %w", dn, err)
	}
	return c.faultScored(dn, cmp.Or(ch["severity"], attrs["severity"]))
}

func (c *Churn) modify(class string) error {
	if class == "faultInst" {
		dn, attrs, ok := c.pickFault()
		if !ok {
			return c.createFault()
		}
		return c.advanceFault(dn, attrs)
	}
	dn, attrs, ok := c.f.Pick(c.r, class)
	if !ok {
		return c.create(class)
	}
	ch := mutateAttrs(c.r, class, attrs)
	if len(ch) == 0 {
		return c.create(class)
	}
	if err := c.f.Modify(dn, ch); err != nil {
		return fmt.Errorf("churn: modify %s: %w", dn, err)
	}
	return nil
}

// remove deletes a random non-system object of class (and its subtree).
func (c *Churn) remove(class string) error {
	if class == "faultInst" {
		return c.modify(class)
	}
	for range 4 {
		dn, _, ok := c.f.Pick(c.r, class)
		if !ok {
			return c.create(class)
		}
		if !mdlIsSystemDN(dn) {
			if err := c.f.Delete(dn); err != nil {
				return fmt.Errorf("churn: delete %s: %w", dn, err)
			}
			if class == "fvCEp" { // nothing under an endpoint has a fault or a score
				return nil
			}
			return c.rescore(c.health.dropUnder(dn))
		}
	}
	return c.modify(class) // only system objects came up: change one instead
}

// Run calls Step ratePerSecond times a second on average until ctx ends, then
// returns nil. Steps are batched per tick so high rates (10k+/s) work; after a
// stall of more than a second the backlog beyond one second is dropped. A Step
// error ends Run and is returned.
func (c *Churn) Run(ctx context.Context, ratePerSecond float64) error {
	if !(ratePerSecond > 0) || math.IsInf(ratePerSecond, 0) {
		return fmt.Errorf("churn: invalid rate %v", ratePerSecond)
	}
	tick := time.Duration(float64(time.Second) / ratePerSecond)
	tick = max(5*time.Millisecond, min(100*time.Millisecond, tick))
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	maxBurst := int64(max(1, math.Ceil(ratePerSecond)))
	start := time.Now()
	var done int64
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-ticker.C:
			due := int64(now.Sub(start).Seconds()*ratePerSecond) - done
			if due > maxBurst {
				done += due - maxBurst
				due = maxBurst
			}
			for i := range due {
				if i%256 == 255 && ctx.Err() != nil {
					return nil
				}
				if err := c.Step(); err != nil {
					return err
				}
				done++
			}
		}
	}
}

// churnBackdate moves a populated fault's history back so that its last
// transition is not after now: each lifecycle step moved it forward, and a
// real APIC's stamps never lie ahead (clients compare the newest stamp).
func churnBackdate(attrs map[string]string, now time.Time) {
	last, err := time.Parse(mdlTimeLayout, attrs["lastTransition"])
	if err != nil || !last.After(now) {
		return
	}
	shift := last.Sub(now)
	for _, name := range []string{"created", "lastTransition"} {
		if t, err := time.Parse(mdlTimeLayout, attrs[name]); err == nil {
			attrs[name] = apicTime(t.Add(-shift))
		}
	}
}
