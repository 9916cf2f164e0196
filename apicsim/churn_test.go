package apicsim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFabric is an in-memory Fabric for the model and churn tests. Pick is
// deterministic for a given sequence of changes. It checks the contract of
// the churn as it goes (no store-owned attributes, modifications that change
// something, fault lifecycle order) and records violations.
type fakeFabric struct {
	mu       sync.Mutex
	objs     map[string]*fakeObj
	byClass  map[string][]string
	idx      map[string]int
	byTenant map[string]map[string]bool // tenant ("" for none) → DNs
	fail     error                      // injected error for every change
	hashing  bool                       // fold every change into hash

	ops        int
	hash       uint64
	everClass  map[string]string   // every DN ever created → class
	faultHist  map[string][]string // fault DN → lc history of its current life
	faultSeen  map[string]int      // lifecycle edges seen ("raised>raised-clearing")
	retired    int                 // faults deleted directly (after retaining)
	tenantsNew int                 // tenants created
	tenantsDel int                 // tenants deleted
	modified   map[string]int      // modifications per class
	seen       map[string]bool     // "class attr=value" of the state attributes modifications set
	violations []string
}

// fakeWatched are the attributes whose modified values fakeFabric.seen records.
var fakeWatched = []string{"lc", "severity", "operSt", "operStQual", "fabricSt", "adminSt", "state"}

type fakeObj struct {
	class string
	attrs map[string]string
}

func newFakeFabric() *fakeFabric {
	return &fakeFabric{
		objs:      map[string]*fakeObj{},
		byClass:   map[string][]string{},
		idx:       map[string]int{},
		byTenant:  map[string]map[string]bool{},
		hash:      14695981039346656037,
		everClass: map[string]string{},
		faultHist: map[string][]string{},
		faultSeen: map[string]int{},
		modified:  map[string]int{},
		seen:      map[string]bool{},
	}
}

// churnTestLifecycle lists the allowed faultInst lc transitions (the
// APIC's fault guide); a retaining fault recurs only when its condition
// returns, which the random churn does not model.
var churnTestLifecycle = map[string][]string{
	"soaking":          {"raised", "soaking-clearing"},
	"soaking-clearing": {"retaining", "soaking"},
	"raised":           {"raised-clearing"},
	"raised-clearing":  {"retaining", "raised"},
	"retaining":        {},
}

// churnTestStateLifecycle adds what a state fault does: recur from retaining.
var churnTestStateLifecycle = func() map[string][]string {
	m := maps.Clone(churnTestLifecycle)
	m["retaining"] = []string{"soaking"}
	return m
}()

// churnTestCleared: only a retaining fault has severity cleared; a clearing
// one keeps its severity until the clear interval ends.
func churnTestCleared(lc string) bool { return lc == "retaining" }

func (f *fakeFabric) violate(format string, args ...any) {
	if len(f.violations) < 20 {
		f.violations = append(f.violations, fmt.Sprintf(format, args...))
	}
}

func (f *fakeFabric) log(op string, dn string, attrs map[string]string) {
	f.ops++
	if !f.hashing {
		return
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d %s %s", f.hash, op, dn)
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		fmt.Fprintf(h, " %s=%s", k, attrs[k])
	}
	f.hash = h.Sum64()
}

func (f *fakeFabric) Create(class, dn string, attrs map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if _, ok := f.objs[dn]; ok {
		return fmt.Errorf("create %s: already exists", dn)
	}
	for _, k := range []string{"dn", "status", "rn", "childAction"} {
		if _, ok := attrs[k]; ok {
			f.violate("create %s: store-owned attribute %s", dn, k)
		}
	}
	f.log("C "+class, dn, attrs)
	f.objs[dn] = &fakeObj{class: class, attrs: maps.Clone(attrs)}
	f.idx[dn] = len(f.byClass[class])
	f.byClass[class] = append(f.byClass[class], dn)
	t := mdlTestTenant(dn)
	if f.byTenant[t] == nil {
		f.byTenant[t] = map[string]bool{}
	}
	f.byTenant[t][dn] = true
	f.everClass[dn] = class
	switch class {
	case "fvTenant":
		f.tenantsNew++
	case "faultInst":
		f.faultHist[dn] = []string{attrs["lc"]}
	}
	return nil
}

func (f *fakeFabric) Modify(dn string, changed map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	o, ok := f.objs[dn]
	if !ok {
		return fmt.Errorf("modify %s: no such object", dn)
	}
	if len(changed) == 0 {
		f.violate("modify %s: nothing to change", dn)
	}
	if _, ok := changed["modTs"]; ok {
		f.violate("modify %s: modTs set by the churn", dn)
	}
	for k, v := range changed {
		if o.attrs[k] == v && k != "lastTransition" {
			f.violate("modify %s: %s=%q does not change", dn, k, v)
		}
	}
	f.log("M", dn, changed)
	f.modified[o.class]++
	for _, k := range fakeWatched {
		if v, ok := changed[k]; ok {
			f.seen[o.class+" "+k+"="+v] = true
		}
	}
	prevLC := o.attrs["lc"]
	maps.Copy(o.attrs, changed)
	if o.class == "faultInst" {
		lc := o.attrs["lc"]
		if lc != prevLC {
			if !slices.Contains(churnTestStateLifecycle[prevLC], lc) || lc == "soaking" && prevLC == "retaining" && stateFaultCode(dn) == "" {
				f.violate("fault %s: %s → %s", dn, prevLC, lc)
			}
			f.faultSeen[prevLC+">"+lc]++
			f.faultHist[dn] = append(f.faultHist[dn], lc)
		}
		if churnTestCleared(lc) != (o.attrs["severity"] == "cleared") {
			f.violate("fault %s: lc %s with severity %s", dn, lc, o.attrs["severity"])
		}
	}
	return nil
}

func (f *fakeFabric) Delete(dn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	o, ok := f.objs[dn]
	if !ok {
		return fmt.Errorf("delete %s: no such object", dn)
	}
	switch o.class {
	case "faultInst":
		if lc := o.attrs["lc"]; lc != "retaining" {
			f.violate("fault %s deleted in state %s", dn, lc)
		}
		f.retired++
	case "fvTenant":
		f.tenantsDel++
	}
	if mdlIsSystemDN(dn) {
		f.violate("system object %s deleted", dn)
	}
	f.log("D", dn, nil)
	t := mdlTestTenant(dn)
	var sub []string
	for d := range f.byTenant[t] {
		if strings.HasPrefix(d, dn+"/") {
			sub = append(sub, d)
		}
	}
	slices.Sort(sub) // deterministic removal order keeps Pick deterministic
	for _, d := range append(sub, dn) {
		f.remove(d)
	}
	return nil
}

func (f *fakeFabric) remove(dn string) {
	o := f.objs[dn]
	delete(f.objs, dn)
	delete(f.byTenant[mdlTestTenant(dn)], dn)
	delete(f.faultHist, dn)
	list := f.byClass[o.class]
	i := f.idx[dn]
	last := list[len(list)-1]
	list[i] = last
	f.idx[last] = i
	f.byClass[o.class] = list[:len(list)-1]
	delete(f.idx, dn)
}

func (f *fakeFabric) Count(class string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byClass[class])
}

func (f *fakeFabric) Pick(r *rand.Rand, class string) (string, map[string]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := f.byClass[class]
	if len(list) == 0 {
		return "", nil, false
	}
	dn := list[r.IntN(len(list))]
	return dn, maps.Clone(f.objs[dn].attrs), true
}

func (f *fakeFabric) Get(dn string) (map[string]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[dn]
	if !ok {
		return nil, false
	}
	return maps.Clone(o.attrs), true
}

func (f *fakeFabric) DNs(class string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.byClass[class])
}

func (f *fakeFabric) opCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ops
}

func (f *fakeFabric) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]int{}
	for c, l := range f.byClass {
		m[c] = len(l)
	}
	return m
}

func (f *fakeFabric) checkClean(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		t.Error(v)
	}
}

var churnTestEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// churnTestClock returns a clock that advances 10 ms per call.
func churnTestClock() func() time.Time {
	var mu sync.Mutex
	t := churnTestEpoch
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(10 * time.Millisecond)
		return t
	}
}

func churnTestProfile(t *testing.T, name string) Profile {
	t.Helper()
	p, err := ProfileByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func churnTestPopulated(t *testing.T, name string, seed int64) (*fakeFabric, Profile) {
	t.Helper()
	p := churnTestProfile(t, name)
	f := newFakeFabric()
	if err := Populate(f, p, seed, churnTestClock()); err != nil {
		t.Fatal(err)
	}
	return f, p
}

func churnTestSteps(t *testing.T, c *Churn, n int) {
	t.Helper()
	for i := range n {
		if err := c.Step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

func TestProfiles(t *testing.T) {
	if got := ProfileNames(); !slices.Equal(got, []string{"demo", "medium", "large"}) {
		t.Errorf("ProfileNames() = %v", got)
	}
	if _, err := ProfileByName("huge"); err == nil || !strings.Contains(err.Error(), `"huge"`) {
		t.Errorf("ProfileByName(huge) error = %v", err)
	}
	p1 := churnTestProfile(t, "demo")
	p1.Mix["fvCEp"] = ClassMix{}
	if p2 := churnTestProfile(t, "demo"); p2.Mix["fvCEp"] == (ClassMix{}) {
		t.Error("ProfileByName returns a shared Mix map")
	}

	for _, tc := range []struct {
		name                 string
		minTotal, maxTotal   int
		minTenants, minEndpt int
	}{
		{"demo", 150, 600, 3, 50},
		{"medium", 8000, 13000, 50, 5000},
		{"large", 100000, 200000, 100, 100000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "large" && testing.Short() {
				t.Skip("large profile in -short mode")
			}
			start := time.Now()
			f, p := churnTestPopulated(t, tc.name, 1)
			took := time.Since(start)
			got := f.counts()
			want := churnTargets(p)
			total := 0
			for _, class := range churnClassOrder {
				total += got[class]
				if class == "faultInst" {
					if got[class] > want[class] || got[class] < want[class]*9/10 {
						t.Errorf("faultInst: %d, want about %d", got[class], want[class])
					}
				} else if got[class] != want[class] {
					t.Errorf("%s: %d, want %d", class, got[class], want[class])
				}
			}
			t.Logf("profile %s: %d objects in %v: %v", tc.name, total, took, got)
			if total < tc.minTotal || total > tc.maxTotal {
				t.Errorf("total %d objects, want %d..%d", total, tc.minTotal, tc.maxTotal)
			}
			if got["fvTenant"] < tc.minTenants || got["fvCEp"] < tc.minEndpt {
				t.Errorf("tenants %d, endpoints %d: want at least %d and %d", got["fvTenant"], got["fvCEp"], tc.minTenants, tc.minEndpt)
			}
			for _, o := range mdlSystemObjects {
				if _, ok := f.objs[o.DN]; !ok {
					t.Errorf("system object %s missing", o.DN)
				}
			}
			f.checkClean(t)
		})
	}
}

// churnTestDNPatterns are the §7 DN patterns with the §7 naming-value regexes.
var churnTestDNPatterns = map[string]string{
	"fvTenant":  `^uni/tn-[a-zA-Z0-9_.-]+$`,
	"fvAp":      `^uni/tn-[a-zA-Z0-9_.-]+/ap-[a-zA-Z0-9_.:-]+$`,
	"fvAEPg":    `^uni/tn-[a-zA-Z0-9_.-]+/ap-[a-zA-Z0-9_.:-]+/epg-[a-zA-Z0-9_.:-]+$`,
	"fvBD":      `^uni/tn-[a-zA-Z0-9_.-]+/BD-[a-zA-Z0-9_.-]+$`,
	"fvCtx":     `^uni/tn-[a-zA-Z0-9_.-]+/ctx-[a-zA-Z0-9_.-]+$`,
	"fvSubnet":  `^uni/tn-[a-zA-Z0-9_.-]+/(BD-[a-zA-Z0-9_.-]+|ap-[a-zA-Z0-9_.:-]+/epg-[a-zA-Z0-9_.:-]+)/subnet-\[[0-9a-fA-F.:/ ]+\]$`,
	"vzBrCP":    `^uni/tn-[a-zA-Z0-9_.-]+/brc-[a-zA-Z0-9_.:-]+$`,
	"l3extOut":  `^uni/tn-[a-zA-Z0-9_.-]+/out-[a-zA-Z0-9_.:-]+$`,
	"fvCEp":     `^uni/tn-[a-zA-Z0-9_.-]+/ap-[a-zA-Z0-9_.:-]+/epg-[a-zA-Z0-9_.:-]+/cep-([0-9A-F]{2}:){5}[0-9A-F]{2}$`,
	"faultInst": `^(uni/tn-[a-zA-Z0-9_.-]+|topology/pod-\d+/node-\d+)(/.+)?/fault-F\d{4}$`,
	// state-classes.md
	"fabricNode":        `^topology/pod-\d+/node-\d+$`,
	"topSystem":         `^topology/pod-\d+/node-\d+/sys$`,
	"l1PhysIf":          `^topology/pod-\d+/node-\d+/sys/phys-\[eth\d+/\d+\]$`,
	"ethpmPhysIf":       `^topology/pod-\d+/node-\d+/sys/phys-\[eth\d+/\d+\]/phys$`,
	"bgpPeerEntry":      `^topology/pod-\d+/node-\d+/sys/bgp/inst/dom-[a-zA-Z0-9_.:-]+/peer-\[(\d+\.){3}\d+/32\]/ent-\[(\d+\.){3}\d+\]$`,
	"ospfAdjEp":         `^topology/pod-\d+/node-\d+/sys/ospf/inst-[a-z]+/dom-[a-zA-Z0-9_.:-]+/if-\[eth\d+/\d+\]/adj-(\d+\.){3}\d+$`,
	"healthInst":        `^(topology/pod-\d+/node-\d+/sys|uni/tn-[a-zA-Z0-9_.-]+(/ap-[a-zA-Z0-9_.:-]+/epg-[a-zA-Z0-9_.:-]+)?)/health$`,
	"fabricHealthTotal": `^topology(/pod-\d+)?/health$`,
}

func TestChurnDNsAndTenants(t *testing.T) {
	f, p := churnTestPopulated(t, "medium", 3)
	c := NewChurn(f, p, 3, churnTestClock())
	churnTestSteps(t, c, 20000)
	f.checkClean(t)

	embeddedNoTenant, commonForeign, nodeFaults, tenantFaults := 0, 0, 0, 0
	perClass := map[string]int{}
	for dn, class := range f.everClass {
		perClass[class]++
		mdlTestCheckDN(t, class, dn)
		tenant := mdlTestTenant(dn)
		if class != "faultInst" {
			continue
		}
		switch {
		case strings.HasPrefix(dn, "topology/"):
			nodeFaults++
			if tenant != "" {
				t.Errorf("%s: tenant %q, want none", dn, tenant)
			}
			if strings.Contains(dn, "uni/tn-") {
				embeddedNoTenant++
			}
		default:
			tenantFaults++
			if strings.Contains(dn, "/rtfvCustQosPol-[uni/tn-") {
				if tenant != "common" {
					t.Errorf("%s: tenant %q, want common", dn, tenant)
				}
				if !strings.Contains(dn, "[uni/tn-common/") {
					commonForeign++
				}
			}
		}
	}
	t.Logf("DNs created per class: %v; faults: %d on nodes (%d embedding a tenant DN), %d in tenants (%d common QoS relations to other tenants)",
		perClass, nodeFaults, embeddedNoTenant, tenantFaults, commonForeign)
	for _, class := range churnClassOrder {
		if perClass[class] == 0 {
			t.Errorf("no %s created", class)
		}
	}
	if embeddedNoTenant == 0 || commonForeign == 0 || nodeFaults == 0 || tenantFaults == 0 {
		t.Error("fault DN families missing")
	}
}

func TestChurnFaultLifecycle(t *testing.T) {
	f, p := churnTestPopulated(t, "medium", 5)
	c := NewChurn(f, p, 5, churnTestClock())
	churnTestSteps(t, c, 30000)
	f.checkClean(t)
	t.Logf("fault transitions: %v; retired: %d", f.faultSeen, f.retired)
	for from, tos := range churnTestLifecycle {
		for _, to := range tos {
			if f.faultSeen[from+">"+to] == 0 {
				t.Errorf("transition %s → %s never seen", from, to)
			}
		}
	}
	if f.retired == 0 {
		t.Error("no retaining fault was deleted")
	}
	// Every live fault's history is a path through the lifecycle.
	for dn, h := range f.faultHist {
		if h[0] != "soaking" && h[0] != "raised" && h[0] != "raised-clearing" && h[0] != "retaining" && h[0] != "soaking-clearing" {
			t.Errorf("%s: starts in %q", dn, h[0])
		}
		lifecycle := churnTestLifecycle
		if stateFaultCode(dn) != "" {
			lifecycle = churnTestStateLifecycle
		}
		for i := 1; i < len(h); i++ {
			if !slices.Contains(lifecycle[h[i-1]], h[i]) {
				t.Errorf("%s: history %v", dn, h)
				break
			}
		}
	}
}

func TestChurnDeterministic(t *testing.T) {
	run := func(seed int64) (uint64, int) {
		p := churnTestProfile(t, "demo")
		f := newFakeFabric()
		f.hashing = true
		if err := Populate(f, p, seed, churnTestClock()); err != nil {
			t.Fatal(err)
		}
		c := NewChurn(f, p, seed, churnTestClock())
		churnTestSteps(t, c, 5000)
		for _, class := range churnTopologyClasses { // the history holds the state churn
			if f.modified[class] == 0 {
				t.Errorf("seed %d: no %s modified", seed, class)
			}
		}
		return f.hash, f.ops
	}
	h1, n1 := run(42)
	h2, n2 := run(42)
	if h1 != h2 || n1 != n2 {
		t.Errorf("same seed: %x/%d vs %x/%d", h1, n1, h2, n2)
	}
	if h3, _ := run(43); h3 == h1 {
		t.Error("different seeds gave the same changes")
	}
}

func TestChurnPopulationStable(t *testing.T) {
	f, p := churnTestPopulated(t, "medium", 9)
	target := churnTargets(p)
	c := NewChurn(f, p, 9, churnTestClock())
	worst := map[string]float64{}
	for step := 0; step < 50000; step += 2500 {
		churnTestSteps(t, c, 2500)
		for class, n := range f.counts() {
			d := float64(n-target[class]) / float64(target[class])
			if math.Abs(d) > math.Abs(worst[class]) {
				worst[class] = d
			}
			if math.Abs(d) > 0.3 {
				t.Errorf("after %d steps %s = %d, target %d", step+2500, class, n, target[class])
			}
		}
	}
	f.checkClean(t)
	t.Logf("worst relative deviation per class: %v; tenants created %d, deleted %d", worst, f.tenantsNew-target["fvTenant"], f.tenantsDel)
	if f.tenantsNew <= target["fvTenant"] || f.tenantsDel == 0 {
		t.Errorf("tenants created %d (initial %d), deleted %d: want tenant churn", f.tenantsNew, target["fvTenant"], f.tenantsDel)
	}
}

func TestChurnEmptyFabric(t *testing.T) {
	f := newFakeFabric()
	c := NewChurn(f, churnTestProfile(t, "demo"), 1, nil)
	churnTestSteps(t, c, 3000)
	f.checkClean(t)
	if n := f.Count("fvTenant"); n == 0 {
		t.Error("no tenant created on an empty fabric")
	}
}

func TestChurnStepErrors(t *testing.T) {
	errBroken := errors.New("fabric broken")
	f, p := churnTestPopulated(t, "demo", 1)
	f.fail = errBroken
	c := NewChurn(f, p, 1, nil)
	for i := range 300 {
		if err := c.Step(); !errors.Is(err, errBroken) {
			t.Fatalf("step %d: error %v, want %v", i, err, errBroken)
		}
	}
	if err := NewChurn(f, Profile{Mix: map[string]ClassMix{"fvBD": {}}}, 1, nil).Step(); err == nil {
		t.Error("Step with an all-zero mix: no error")
	}
	if err := c.Run(context.Background(), 1000); !errors.Is(err, errBroken) {
		t.Errorf("Run: error %v, want %v", err, errBroken)
	}
}

// churnTestWait polls cond until it holds or the deadline passes.
func churnTestWait(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func churnTestStartRun(t *testing.T, f Fabric, p Profile, rate float64) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := NewChurn(f, p, 1, nil)
	go func() { done <- c.Run(ctx, rate) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
			return nil
		}
	}
}

func TestChurnRun(t *testing.T) {
	for _, rate := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if err := NewChurn(newFakeFabric(), Profile{}, 1, nil).Run(context.Background(), rate); err == nil {
			t.Errorf("Run(rate %v): no error", rate)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewChurn(newFakeFabric(), Profile{}, 1, nil).Run(ctx, 100); err != nil {
		t.Errorf("Run on a cancelled context: %v", err)
	}

	t.Run("moderate", func(t *testing.T) {
		f, p := churnTestPopulated(t, "demo", 1)
		base := f.opCount()
		const rate = 400.0
		start := time.Now()
		stop := churnTestStartRun(t, f, p, rate)
		churnTestWait(t, 5*time.Second, "200 changes", func() bool { return f.opCount()-base >= 200 })
		<-time.After(300 * time.Millisecond) // measurement window
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		elapsed := time.Since(start).Seconds()
		n := f.opCount() - base
		t.Logf("rate %v/s: %d changes in %.2fs", rate, n, elapsed)
		if got := float64(n) / elapsed; got > 2*rate+50 {
			t.Errorf("%.0f changes/s, want about %v", got, rate)
		}
		after := f.opCount()
		<-time.After(50 * time.Millisecond)
		if f.opCount() != after {
			t.Error("changes after Run returned")
		}
		f.checkClean(t)
	})

	t.Run("high", func(t *testing.T) {
		f, p := churnTestPopulated(t, "medium", 1)
		base := f.opCount()
		const rate = 20000.0
		start := time.Now()
		stop := churnTestStartRun(t, f, p, rate)
		churnTestWait(t, 10*time.Second, "10000 changes", func() bool { return f.opCount()-base >= 10000 })
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		t.Logf("rate %v/s: %d changes in %v", rate, f.opCount()-base, time.Since(start))
		f.checkClean(t)
	})
}

// A populated fabric has no change stamp from the future: a client that
// compares the newest stamp with the APIC's (the exporter's probe) relies on
// stamps moving forward with each change, as on a real APIC.
func TestPopulateStampsNoFuture(t *testing.T) {
	clock := churnTestClock()
	f := newFakeFabric()
	if err := Populate(f, churnTestProfile(t, "medium"), 1, clock); err != nil {
		t.Fatal(err)
	}
	now := clock()
	for dn, o := range f.objs {
		for _, name := range []string{"modTs", "lastTransition", "created"} {
			v, ok := o.attrs[name]
			if !ok || v == "never" {
				continue
			}
			ts, err := time.Parse(mdlTimeLayout, v)
			if err != nil {
				t.Fatalf("%s %s=%q: %v", dn, name, v, err)
			}
			if ts.After(now) {
				t.Fatalf("%s %s=%s is after the population ended (%s)", dn, name, v, apicTime(now))
			}
		}
	}
}
