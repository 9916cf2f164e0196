package apicsim

// A seeded churn generator: Populate builds a fabric of a given profile, Churn
// then keeps changing it (creates, modifications, deletes, fault lifecycles)
// at a steady rate while holding each class near its profile size.

import (
	"context"
	"errors"
	"fmt"
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
}

// ClassMix weights the changes of one class: the sum is the class's share of
// all changes, the three parts the split between creates, modifications and
// deletes. For faultInst, Modify and Delete both advance a fault one lifecycle
// step (a retaining fault is deleted).
type ClassMix struct {
	Create, Modify, Delete float64
}

// Profile sizes a fabric and its churn. Counts are per parent (EPGsPerApp is
// per application profile, EndpointsPerEPG per EPG, ...); Faults is the total.
// The tenants common, infra and mgmt and their default objects come on top.
// A nil Mix means the default mix; keys other than the ten modelled classes
// (fvTenant, fvAp, fvAEPg, fvBD, fvCtx, fvSubnet, vzBrCP, l3extOut, fvCEp,
// faultInst) are ignored.
type Profile struct {
	Name                                             string
	Tenants, AppsPerTenant, EPGsPerApp, BDsPerTenant int
	VRFsPerTenant, SubnetsPerBD, ContractsPerTenant  int
	L3OutsPerTenant, EndpointsPerEPG, Faults         int
	Mix                                              map[string]ClassMix
}

// churnClassOrder fixes the iteration order over classes (determinism).
var churnClassOrder = []string{"fvTenant", "fvCtx", "fvBD", "fvSubnet", "fvAp", "fvAEPg", "vzBrCP", "l3extOut", "fvCEp", "faultInst"}

func churnDefaultMix() map[string]ClassMix {
	return map[string]ClassMix{
		"fvTenant":  {0.05, 0.1, 0.05},
		"fvCtx":     {0.3, 0.5, 0.3},
		"fvBD":      {1, 2, 1},
		"fvSubnet":  {1.6, 1, 1},
		"fvAp":      {0.5, 0.5, 0.5},
		"fvAEPg":    {1.8, 2, 1.5},
		"vzBrCP":    {1, 1.5, 1},
		"l3extOut":  {0.2, 0.4, 0.2},
		"fvCEp":     {30, 30, 30},
		"faultInst": {6, 12, 12},
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
// 20 changes/s, so the demo shows tenant churn (and its alert) quickly.
func churnDemoMix() map[string]ClassMix {
	m := churnDefaultMix()
	m["fvTenant"] = ClassMix{0.6, 0.3, 0.6}
	return m
}

// ProfileNames returns the predefined profile names, smallest first.
func ProfileNames() []string { return []string{"demo", "medium", "large"} }

// ProfileByName returns a copy of a predefined profile:
//   - demo: 3 tenants, ~290 objects;
//   - medium: 50 tenants, ~10k objects;
//   - large: 120 tenants, 108k endpoints, ~121k objects.
func ProfileByName(name string) (Profile, error) {
	switch name {
	case "demo":
		return Profile{Name: name, Tenants: 3, AppsPerTenant: 2, EPGsPerApp: 3, BDsPerTenant: 3, VRFsPerTenant: 1,
			SubnetsPerBD: 1, ContractsPerTenant: 3, L3OutsPerTenant: 1, EndpointsPerEPG: 10, Faults: 30,
			Mix: churnDemoMix()}, nil
	case "medium":
		return Profile{Name: name, Tenants: 50, AppsPerTenant: 3, EPGsPerApp: 4, BDsPerTenant: 6, VRFsPerTenant: 2,
			SubnetsPerBD: 2, ContractsPerTenant: 8, L3OutsPerTenant: 2, EndpointsPerEPG: 12, Faults: 500,
			Mix: churnDefaultMix()}, nil
	case "large":
		return Profile{Name: name, Tenants: 120, AppsPerTenant: 4, EPGsPerApp: 5, BDsPerTenant: 10, VRFsPerTenant: 3,
			SubnetsPerBD: 2, ContractsPerTenant: 20, L3OutsPerTenant: 2, EndpointsPerEPG: 45, Faults: 3000,
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

// churnGen hands out unique name ids and knows the node layout faults use.
type churnGen struct {
	nextID uint64
	leaves []int // leaf node ids (101...)
	border []int // border leaves (BGP peers)
}

func newChurnGen(p Profile, firstID uint64) *churnGen {
	n := min(max(4, 4+p.Tenants/2), 96) &^ 1
	g := &churnGen{nextID: firstID}
	for i := range n {
		g.leaves = append(g.leaves, 101+i)
	}
	g.border = g.leaves[n-2:]
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

var churnFaultFamilies = []churnFaultFamily{
	{20, "fvAEPg", "F0467", func(g *churnGen, r *rand.Rand, epg string) string {
		return mdlStPathIssuesDN(mdlPickInt(r, g.leaves), 1+r.IntN(48), epg)
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
	{5, "fvCtx", "F0299", func(g *churnGen, r *rand.Rand, ctx string) string {
		tenant, vrf := "common", "default"
		if rns := splitDN(ctx); len(rns) >= 3 {
			tenant, vrf = mdlNamingValue(rns[1]), mdlNamingValue(rns[len(rns)-1])
		}
		ip := fmt.Sprintf("192.0.2.%d", 1+r.IntN(254))
		return fmt.Sprintf("%s/sys/bgp/inst/dom-%s:%s/peer-[%s/32]/ent-[%s]", mdlNodeDN(1, mdlPickInt(r, g.border)),
			tenant, vrf, ip, ip)
	}},
	{20, "", "F0532", func(g *churnGen, r *rand.Rand, _ string) string {
		return mdlPortDN(mdlPickInt(r, g.leaves), 1+r.IntN(48))
	}},
	{8, "", "F0546", func(g *churnGen, r *rand.Rand, _ string) string {
		return mdlPortDN(mdlPickInt(r, g.leaves), 1+r.IntN(48))
	}},
	{3, "", "F1295", func(g *churnGen, r *rand.Rand, _ string) string {
		return mdlNodeLocalDN(mdlPickInt(r, g.leaves), "uni/fabric/time-default/issues")
	}},
	{2, "", "F1527", func(_ *churnGen, r *rand.Rand, _ string) string {
		return mdlNodeDN(1, 1+r.IntN(3)) + "/sys/ch/p-[/firmware]-f-[/dev/mapper/vg_ifc0-firmware]"
	}},
	{1, "", "F0104", func(_ *churnGen, r *rand.Rand, _ string) string {
		return mdlNodeDN(1, 1+r.IntN(3)) + "/sys/caggr-[po1.1]"
	}},
}

var churnFaultWeight = func() int {
	w := 0
	for _, f := range churnFaultFamilies {
		w += f.weight
	}
	return w
}()

// churnPortDownFamily is the fallback family when an anchor class is empty.
var churnPortDownFamily = slices.IndexFunc(churnFaultFamilies, func(ff churnFaultFamily) bool { return ff.code == "F0532" })

func mdlPickInt(r *rand.Rand, list []int) int { return list[r.IntN(len(list))] }

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
		if !ok { // nothing to raise it on: a port goes down instead
			fam = churnFaultFamilies[churnPortDownFamily]
		}
		anchor = dn
	}
	return mdlFaultDN(fam.build(g, r, anchor), fam.code)
}

// Populate builds the initial fabric of profile p, deterministically from
// seed, parents before children: the system tenants, then per tenant its
// VRFs, BDs with subnets, contracts, L3Outs, application profiles with EPGs and
// endpoints, and finally p.Faults faults in a snapshot-like mix of lifecycle
// states. now (nil: time.Now) stamps modTs.
func Populate(f Fabric, p Profile, seed int64, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	r := rand.New(rand.NewPCG(uint64(seed), churnPopulateStream))
	g := newChurnGen(p, 0)
	create := func(class, dn string) error {
		if err := f.Create(class, dn, newAttrs(r, class, dn, apicTime(now()))); err != nil {
			return fmt.Errorf("populate %s %s: %w", class, dn, err)
		}
		return nil
	}
	child := func(parentDN, class string) (string, error) {
		dn := mdlChildDN(parentDN, class, mdlName(r, class, g.id()))
		return dn, create(class, dn)
	}
	for _, o := range mdlSystemObjects {
		if err := create(o.Class, o.DN); err != nil {
			return err
		}
	}
	for range p.Tenants {
		tdn, err := child("", "fvTenant")
		if err != nil {
			return err
		}
		for _, c := range []struct {
			class string
			n     int
		}{{"fvCtx", p.VRFsPerTenant}, {"vzBrCP", p.ContractsPerTenant}, {"l3extOut", p.L3OutsPerTenant}} {
			for range c.n {
				if _, err := child(tdn, c.class); err != nil {
					return err
				}
			}
		}
		for range p.BDsPerTenant {
			bd, err := child(tdn, "fvBD")
			if err != nil {
				return err
			}
			for range p.SubnetsPerBD {
				if _, err := child(bd, "fvSubnet"); err != nil {
					return err
				}
			}
		}
		for range p.AppsPerTenant {
			ap, err := child(tdn, "fvAp")
			if err != nil {
				return err
			}
			for range p.EPGsPerApp {
				epg, err := child(ap, "fvAEPg")
				if err != nil {
					return err
				}
				for range p.EndpointsPerEPG {
					if _, err := child(epg, "fvCEp"); err != nil {
						return err
					}
				}
			}
		}
	}
	seen := make(map[string]bool, p.Faults)
	for tries := 0; len(seen) < p.Faults && tries < 20*p.Faults; tries++ {
		dn := g.faultDN(r, f)
		if seen[dn] {
			continue
		}
		seen[dn] = true
		attrs := newAttrs(r, "faultInst", dn, apicTime(now()))
		// A snapshot holds faults in every state, most of them raised.
		steps := []int{0, 1, 1, 1, 1, 1, 2, 2, 3, 3}[r.IntN(10)]
		for range steps {
			ch := mutateAttrs(r, "faultInst", attrs)
			if ch == nil {
				break
			}
			for k, v := range ch {
				attrs[k] = v
			}
		}
		churnBackdate(attrs, now())
		if err := f.Create("faultInst", dn, attrs); err != nil {
			return fmt.Errorf("populate faultInst %s: %w", dn, err)
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
	classes []string  // classes with a non-zero weight, in churnClassOrder
	cum     []float64 // cumulative class weights
}

// NewChurn returns a churn generator for a fabric of profile p (normally built
// by Populate). The same seed, fabric state and sequence of Step calls give the
// same changes. Names of created objects embed ids from 2^20 up, so one Churn
// per fabric and seed never collides with Populate or itself; now (nil:
// time.Now) stamps modTs and fault transitions.
func NewChurn(f Fabric, p Profile, seed int64, now func() time.Time) *Churn {
	if now == nil {
		now = time.Now
	}
	mix := p.Mix
	if mix == nil {
		mix = churnDefaultMix()
	}
	c := &Churn{
		f:       f,
		r:       rand.New(rand.NewPCG(uint64(seed), churnStepStream)),
		now:     now,
		gen:     newChurnGen(p, churnIDBase),
		targets: churnTargets(p),
		mix:     make(map[string]ClassMix, len(mix)),
	}
	total := 0.0
	for _, class := range churnClassOrder {
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

// Step performs one change chosen by the profile mix: a create under a random
// existing parent (a new tenant comes with a small subtree), a modification, a
// delete (tenant-level objects take their subtree with them), or one fault
// lifecycle step. Creates and deletes are biased towards the class's target
// count. Errors of the fabric are returned.
func (c *Churn) Step() error {
	if len(c.classes) == 0 {
		return errChurnNoMix
	}
	u := c.r.Float64() * c.cum[len(c.cum)-1]
	i, _ := slices.BinarySearch(c.cum, u)
	class := c.classes[min(i, len(c.classes)-1)]
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
		if err = c.f.Create("faultInst", dn, newAttrs(c.r, "faultInst", dn, c.ts())); err == nil {
			return nil
		}
	}
	if dn, attrs, ok := c.f.Pick(c.r, "faultInst"); ok {
		aerr := c.advanceFault(dn, attrs)
		if aerr == nil {
			return nil
		}
		err = errors.Join(err, aerr)
	}
	return fmt.Errorf("churn: raise fault: %w", err)
}

// advanceFault moves a fault one lifecycle step; a retaining fault is deleted.
func (c *Churn) advanceFault(dn string, attrs map[string]string) error {
	ch := mutateAttrs(c.r, "faultInst", attrs)
	if ch == nil {
		if err := c.f.Delete(dn); err != nil {
			return fmt.Errorf("churn: delete retained fault %s: %w", dn, err)
		}
		return nil
	}
	if _, ok := ch["lastTransition"]; ok {
		ch["lastTransition"] = c.ts()
	}
	if err := c.f.Modify(dn, ch); err != nil {
		return fmt.Errorf("churn: advance fault %s: %w", dn, err)
	}
	return nil
}

func (c *Churn) modify(class string) error {
	dn, attrs, ok := c.f.Pick(c.r, class)
	if !ok {
		return c.create(class)
	}
	if class == "faultInst" {
		return c.advanceFault(dn, attrs)
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
			return nil
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
