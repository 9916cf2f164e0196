// Package collector keeps each fabric's state (objects per class and
// tenant), its change counters and the health of its stream, and exports
// them as a prometheus.Collector. It has no network code: events come in as
// plain values from the APIC client.
package collector

import (
	"hash/maphash"
	"sync"

	"github.com/aci-exporter/aci-exporter/event"
)

// fingerprintAttrs are the attributes whose change makes a resync count an
// object as modified. A real APIC moves modTs on every modification; faults
// keep modTs "never" and change through lc, severity and lastTransition.
// Keeping one hash per attribute (not the attributes) lets a modified event,
// which carries only what changed, update the fingerprint.
var fingerprintAttrs = [...]string{"modTs", "lc", "severity", "lastTransition", "occur", "ack"}

type fingerprint [len(fingerprintAttrs)]uint32

var seed = maphash.MakeSeed()

func attrIndex(name string) int {
	for i, n := range fingerprintAttrs {
		if n == name {
			return i
		}
	}
	return -1
}

// update folds the attributes an event or snapshot carries into fp.
func (fp *fingerprint) update(attrs []event.Attr) {
	for _, a := range attrs {
		if i := attrIndex(a.Name); i >= 0 {
			fp[i] = uint32(maphash.String(seed, a.Value)) | 1 // never 0: 0 means absent
		}
	}
}

// object is what the exporter keeps per tracked object.
type object struct {
	tenant string // interned
	fp     fingerprint
}

// classState holds the objects of one class.
type classState struct {
	objects map[string]*object
	tenants map[string]int // tenant -> live objects, for aci_objects
}

func newClassState() *classState {
	return &classState{objects: make(map[string]*object), tenants: make(map[string]int)}
}

// ChangeKey labels aci_object_changes_total.
type changeKey struct {
	class, tenant string
	status        event.Status
}

type resyncKey struct {
	class  string
	status event.Status
}

// state is a fabric's objects and change counts.
type state struct {
	mu      sync.RWMutex
	classes map[string]*classState
	changes map[changeKey]uint64
	resyncs map[resyncKey]uint64
	intern  map[string]string
	total   int    // objects tracked, all classes
	max     int    // cap on tracked objects; 0 = none
	full    bool   // the cap refused objects since the last snapshot
	refused uint64 // objects refused by the cap, ever
}

func newState(maxObjects int) *state {
	return &state{
		classes: make(map[string]*classState),
		changes: make(map[changeKey]uint64),
		resyncs: make(map[resyncKey]uint64),
		intern:  make(map[string]string),
		max:     maxObjects,
	}
}

// internTenant returns one shared copy of a tenant name, so a million
// objects of a few hundred tenants hold a few hundred strings, and the
// event's frame buffer is not kept alive.
func (s *state) internTenant(t string) string {
	if v, ok := s.intern[t]; ok {
		return v
	}
	v := string([]byte(t))
	s.intern[v] = v
	return v
}

// apply books one live event. Called with s.mu held.
func (s *state) apply(ev *event.Event) {
	cs := s.classes[ev.Class]
	if cs == nil {
		return // no snapshot yet: the caller buffers until there is one
	}
	tenant := s.internTenant(ev.Tenant)
	s.changes[changeKey{ev.Class, tenant, ev.Status}]++
	o := cs.objects[ev.DN]
	switch {
	case ev.Status == event.StatusDeleted:
		if o != nil {
			s.remove(cs, ev.DN, o)
		}
	case o != nil:
		o.fp.update(ev.Attrs)
	case s.max > 0 && s.total >= s.max:
		s.full = true
		s.refused++
	default: // created, or modified into view (a filter it now matches)
		o = &object{tenant: tenant}
		o.fp.update(ev.Attrs)
		cs.objects[string([]byte(ev.DN))] = o
		cs.tenants[tenant]++
		s.total++
	}
}

func (s *state) remove(cs *classState, dn string, o *object) {
	delete(cs.objects, dn)
	s.total--
	if cs.tenants[o.tenant]--; cs.tenants[o.tenant] == 0 {
		delete(cs.tenants, o.tenant)
	}
}

// resync replaces a class's objects with a snapshot. The first snapshot of
// a class is the baseline; later ones count the difference as changes and
// resync changes. Called with s.mu held.
func (s *state) resync(class string, snap []event.Object) {
	old := s.classes[class]
	cs := newClassState()
	s.classes[class] = cs
	if old != nil {
		s.total -= len(old.objects)
	}
	s.full = false
	for i := range snap {
		so := &snap[i]
		if _, dup := cs.objects[so.DN]; dup {
			continue // a page boundary moved under churn
		}
		if s.max > 0 && s.total >= s.max {
			s.full = true
			s.refused++
			continue
		}
		o := &object{tenant: s.internTenant(so.Tenant)}
		o.fp.update(so.Attrs)
		dn := string([]byte(so.DN))
		cs.objects[dn] = o
		cs.tenants[o.tenant]++
		s.total++
		if old == nil {
			continue
		}
		switch prev := old.objects[dn]; {
		case prev == nil:
			s.countResync(class, o.tenant, event.StatusCreated)
		case so.Keep:
			o.fp = prev.fp
		case prev.fp != o.fp:
			s.countResync(class, o.tenant, event.StatusModified)
		}
	}
	if old == nil {
		return
	}
	for dn, prev := range old.objects {
		if _, ok := cs.objects[dn]; !ok {
			s.countResync(class, prev.tenant, event.StatusDeleted)
		}
	}
}

func (s *state) countResync(class, tenant string, st event.Status) {
	s.changes[changeKey{class, tenant, st}]++
	s.resyncs[resyncKey{class, st}]++
}

// count returns the objects tracked for a class, or -1 when they cannot be
// compared with the APIC's count. Called with s.mu held.
func (s *state) count(class string) int {
	cs := s.classes[class]
	if cs == nil || s.full {
		return -1
	}
	return len(cs.objects)
}

// prune forgets classes no longer subscribed, and their series.
func (s *state) prune(keep map[string]bool) {
	for class, cs := range s.classes {
		if !keep[class] {
			s.total -= len(cs.objects)
			delete(s.classes, class)
		}
	}
	for k := range s.changes {
		if !keep[k.class] {
			delete(s.changes, k)
		}
	}
	for k := range s.resyncs {
		if !keep[k.class] {
			delete(s.resyncs, k)
		}
	}
}
