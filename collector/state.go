// Package collector keeps each fabric's state (objects per class and
// tenant), its change counters and the health of its stream, and exports
// them as a prometheus.Collector. It has no network code: events come in as
// plain values from the APIC client.
package collector

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"

	"github.com/aci-exporter/aci-exporter/event"
)

// fingerprint holds a hash of each attribute whose change makes a resync
// count an object as modified (event.FingerprintAttrs). Keeping one hash
// per attribute (not the attributes) lets a modified event, which carries
// only what changed, update the fingerprint.
type fingerprint [len(event.FingerprintAttrs)]uint32

var seed = maphash.MakeSeed()

// hashValue is an attribute value's hash in a fingerprint: never 0, which
// means absent.
func hashValue(v string) uint32 { return uint32(maphash.String(seed, v)) | 1 }

// update folds the attributes an event or snapshot carries into fp.
func (fp *fingerprint) update(attrs []event.Attr) {
	for i := range attrs {
		if j := event.FingerprintIndex(attrs[i].Name); j >= 0 {
			fp[j] = hashValue(attrs[i].Value)
		}
	}
}

// object is what the exporter keeps per tracked object, besides its DN (the
// map key): 40 bytes, no pointers, held in one slice per class.
type object struct {
	tenant uint32 // index into state.tenantNames
	fp     fingerprint
}

// tenantStat is a class's live objects and changes for one tenant.
type tenantStat struct {
	objects int
	changes [3]uint64 // by event.Status - 1
	// Label pairs of the tenant's series in the exposition's (sorted)
	// order, set once when the tenant first shows in the class, so a scrape
	// does not build them. Only the tenant pair is the tenant's own: the
	// others are shared, which keeps a scrape's reads in few cache lines.
	objLabels [3]*dto.LabelPair    // class, fabric, tenant
	chgLabels [3][4]*dto.LabelPair // by status - 1: class, fabric, status, tenant
}

// labelPair returns a pair for the exposition.
func labelPair(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: &name, Value: &value}
}

// statusPairs are the status label pairs, by event.Status - 1.
var statusPairs = [3]*dto.LabelPair{
	labelPair("status", event.StatusCreated.String()),
	labelPair("status", event.StatusModified.String()),
	labelPair("status", event.StatusDeleted.String()),
}

// classState holds the objects of one class: DN -> index into objs. Freed
// slots of objs are reused.
type classState struct {
	name      string
	classPair *dto.LabelPair
	index     map[string]uint32
	objs      []object
	free      []uint32
	tenants   []*tenantStat // by tenant id; nil where the tenant never showed
	order     []uint32      // tenant ids that showed, sorted by name: the scrape order
	round     *round        // the snapshot being applied, if any

	// For a class with state metrics: per slot, the interned attributes
	// they read (sc.width() each) and each metric's DN key.
	sc     *stateClass
	attrs  []uint32
	dnKeys []uint32
}

func newClassState(name string, size int, sc *stateClass) *classState {
	cs := &classState{name: name, classPair: labelPair("class", name), index: make(map[string]uint32, size), sc: sc}
	if sc != nil {
		cs.attrs = []uint32{}
	}
	return cs
}

// slotAttrs returns the state attributes of slot i: never nil, so that nil
// can mean "no object" to the engine.
func (cs *classState) slotAttrs(i uint32) []uint32 {
	w := cs.sc.width()
	return cs.attrs[int(i)*w : int(i+1)*w : int(i+1)*w]
}

func (cs *classState) slotKeys(i uint32) []uint32 {
	n := len(cs.sc.metrics)
	return cs.dnKeys[int(i)*n : int(i+1)*n : int(i+1)*n]
}

// initSlot gives slot i no attributes and the DN keys of dn.
func (cs *classState) initSlot(i uint32, dn, tenant string) {
	w, n := cs.sc.width(), len(cs.sc.metrics)
	for len(cs.attrs) < int(i+1)*w {
		cs.attrs = append(cs.attrs, 0)
	}
	for len(cs.dnKeys) < int(i+1)*n {
		cs.dnKeys = append(cs.dnKeys, 0)
	}
	clear(cs.slotAttrs(i))
	cs.sc.fillKeys(cs.slotKeys(i), dn, tenant)
}

func (cs *classState) len() int { return len(cs.index) }

// ChangeKey labels aci_object_resync_changes_total.
type resyncKey struct {
	class  string
	status event.Status
}

// state is a fabric's objects and change counts.
type state struct {
	mu          sync.RWMutex
	fabric      string
	fabricPair  *dto.LabelPair
	classes     map[string]*classState
	resyncs     map[resyncKey]uint64
	tenantIDs   map[string]uint32 // interned tenant names
	tenantNames []string
	total       int    // objects tracked, all classes
	max         int    // cap on tracked objects; 0 = none
	full        bool   // the cap refused objects since the last snapshot
	refused     uint64 // objects refused by the cap, ever

	// The last class and tenant looked up: events come in runs.
	lastClass  *classState
	lastTenant uint32

	eng *engine // state metrics; nil when there are none
}

func newState(fabric string, maxObjects int) *state {
	s := &state{
		fabric:     fabric,
		fabricPair: labelPair("fabric", fabric),
		classes:    make(map[string]*classState),
		resyncs:    make(map[resyncKey]uint64),
		tenantIDs:  make(map[string]uint32),
		max:        maxObjects,
	}
	s.tenantID("")
	return s
}

// tenantID returns the id of a tenant name, interning it: a million objects
// of a few hundred tenants hold a few hundred strings, and no frame buffer
// is kept alive.
func (s *state) tenantID(t string) uint32 {
	if last := s.lastTenant; int(last) < len(s.tenantNames) && s.tenantNames[last] == t {
		return last
	}
	id, ok := s.tenantIDs[t]
	if !ok {
		id = uint32(len(s.tenantNames))
		t = strings.Clone(t)
		s.tenantNames = append(s.tenantNames, t)
		s.tenantIDs[t] = id
	}
	s.lastTenant = id
	return id
}

// stat returns the class's counts for a tenant, creating them (and the
// tenant's label pairs) the first time.
func (s *state) stat(cs *classState, tenant uint32) *tenantStat {
	if int(tenant) < len(cs.tenants) {
		if ts := cs.tenants[tenant]; ts != nil {
			return ts
		}
	} else {
		cs.tenants = append(cs.tenants, make([]*tenantStat, int(tenant)+1-len(cs.tenants))...)
	}
	name := s.tenantNames[tenant]
	tenantPair := labelPair("tenant", name)
	ts := &tenantStat{objLabels: [3]*dto.LabelPair{cs.classPair, s.fabricPair, tenantPair}}
	for st := range ts.chgLabels {
		ts.chgLabels[st] = [4]*dto.LabelPair{cs.classPair, s.fabricPair, statusPairs[st], tenantPair}
	}
	cs.tenants[tenant] = ts
	i, _ := slices.BinarySearchFunc(cs.order, name, func(id uint32, n string) int { return cmp.Compare(s.tenantNames[id], n) })
	cs.order = slices.Insert(cs.order, i, tenant)
	return ts
}

// stateClass returns what a class's objects keep for the state metrics,
// nil when no metric reads the class.
func (s *state) stateClass(class string) *stateClass {
	if s.eng == nil {
		return nil
	}
	return s.eng.classes[class]
}

func (s *state) class(name string) *classState {
	if cs := s.lastClass; cs != nil && cs.name == name {
		return cs
	}
	cs := s.classes[name]
	if cs != nil {
		s.lastClass = cs
	}
	return cs
}

// apply books one live event. Called with s.mu held.
func (s *state) apply(ev *event.Event) {
	cs := s.class(ev.Class)
	if cs == nil {
		return // no snapshot yet: the caller buffers until there is one
	}
	i, found := cs.index[ev.DN]
	var tenant uint32
	if found {
		tenant = cs.objs[i].tenant // the same name: both come from the DN
	} else {
		tenant = s.tenantID(ev.Tenant)
	}
	ts := s.stat(cs, tenant)
	ts.changes[ev.Status-1]++
	switch {
	case ev.Status == event.StatusDeleted:
		if found {
			if cs.sc != nil {
				s.eng.move(cs.sc, cs.slotKeys(i), cs.slotAttrs(i), nil)
			}
			s.remove(cs, ev.DN, i, ts)
		}
	case found:
		cs.objs[i].fp.update(ev.Attrs)
		if cs.sc != nil {
			s.modifyState(cs, i, ev.Attrs)
		}
	case s.max > 0 && s.total >= s.max:
		s.full = true
		s.refused++
	default: // created, or modified into view (a filter it now matches)
		o := object{tenant: tenant}
		o.fp.update(ev.Attrs)
		i = s.add(cs, strings.Clone(ev.DN), o, ts)
		if cs.sc != nil {
			cur := cs.slotAttrs(i)
			cs.sc.load(cur, ev.Attrs, s.eng.vals)
			s.eng.move(cs.sc, cs.slotKeys(i), nil, cur)
			s.eng.enter(cs.sc, cs.slotKeys(i), nil, cur)
		}
	}
}

// modifyState merges a modified event's attributes over an object's and
// moves its series.
func (s *state) modifyState(cs *classState, i uint32, attrs []event.Attr) {
	cur := cs.slotAttrs(i)
	old := append(s.eng.scratch[:0], cur...)
	s.eng.scratch = old
	cs.sc.load(cur, attrs, s.eng.vals)
	if slices.Equal(old, cur) {
		return
	}
	s.eng.move(cs.sc, cs.slotKeys(i), old, cur)
	s.eng.enter(cs.sc, cs.slotKeys(i), old, cur)
}

func (s *state) add(cs *classState, dn string, o object, ts *tenantStat) uint32 {
	var i uint32
	if n := len(cs.free); n > 0 {
		i = cs.free[n-1]
		cs.free = cs.free[:n-1]
		cs.objs[i] = o
	} else {
		i = uint32(len(cs.objs))
		cs.objs = append(cs.objs, o)
	}
	cs.index[dn] = i
	ts.objects++
	s.total++
	if cs.sc != nil {
		cs.initSlot(i, dn, s.tenantNames[o.tenant])
	}
	return i
}

func (s *state) remove(cs *classState, dn string, i uint32, ts *tenantStat) {
	delete(cs.index, dn)
	cs.free = append(cs.free, i)
	ts.objects--
	s.total--
}

func (s *state) countResync(class string, ts *tenantStat, st event.Status) {
	ts.changes[st-1]++
	s.resyncs[resyncKey{class, st}]++
}

// count returns the objects tracked for a class, or -1 when they cannot be
// compared with the APIC's count (a snapshot in progress, or the cap
// reached). Called with s.mu held.
func (s *state) count(class string) int {
	cs := s.classes[class]
	if cs == nil || cs.round != nil || s.full {
		return -1
	}
	return cs.len()
}

// prune forgets classes no longer subscribed, and their series.
func (s *state) prune(keep map[string]bool) {
	for class, cs := range s.classes {
		if !keep[class] {
			s.total -= cs.len()
			delete(s.classes, class)
			if cs.sc != nil {
				cs.sc.reset()
			}
		}
	}
	s.lastClass = nil
	for k := range s.resyncs {
		if !keep[k.class] {
			delete(s.resyncs, k)
		}
	}
}
