package collector

import (
	"slices"
	"strings"

	"github.com/aci-exporter/aci-exporter/event"
)

// Snapshots are applied page by page, in place, so that a class of a
// million objects is never held twice (a snapshot beside the state). A
// round marks what its pages saw; at its end the events that happened
// before it are replayed on the state as it was, and the difference with
// the snapshot is counted, exactly as if the whole snapshot had been
// compared at once. Events for the class wait in the APIC client while the
// round runs, so nothing else changes the class meanwhile.

// round is a class's snapshot in progress.
type round struct {
	first bool                   // the class's baseline: nothing is counted
	full  bool                   // the cap had refused objects before the round
	seen  int                    // objects in the snapshot so far: what the cap allows for
	in    bitset                 // slots whose object is in the snapshot
	added bitset                 // slots the snapshot added: absent before the round
	keep  bitset                 // slots in the snapshot whose state then is unknown
	prior map[uint32]fingerprint // fingerprints the pages replaced
	// state attributes the pages replaced (classes with state metrics)
	priorAttrs map[uint32][]uint32
}

// bitset is a set of slot indexes.
type bitset []uint64

func (b *bitset) set(i uint32) {
	for int(i/64) >= len(*b) {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}

func (b bitset) has(i uint32) bool { return int(i/64) < len(b) && b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) clear(i uint32) {
	if int(i/64) < len(b) {
		b[i/64] &^= 1 << (i % 64)
	}
}

// snapshotPage applies a page of a class's snapshot; the first page starts
// the round. A DN seen twice (overlapping subscriptions, or a page boundary
// moved under churn) keeps its first copy, the one taken when its pushes
// started. Called with s.mu held.
func (s *state) snapshotPage(class string, objs []event.Object) {
	cs := s.classes[class]
	if cs == nil {
		cs = newClassState(class, len(objs), s.stateClass(class))
		s.classes[class] = cs
		cs.round = &round{first: true}
	}
	if cs.round == nil {
		cs.round = &round{prior: map[uint32]fingerprint{}, priorAttrs: map[uint32][]uint32{}, full: s.full}
		s.full = false
	}
	s.lastClass = nil
	r := cs.round
	for k := range objs {
		o := &objs[k]
		var fp fingerprint
		fp.update(o.Attrs)
		if i, had := cs.index[o.DN]; had {
			if r.in.has(i) {
				continue
			}
			if s.atCap(cs) {
				continue
			}
			r.see(i)
			if old := cs.objs[i].fp; old != fp {
				if _, ok := r.prior[i]; !ok && !r.first {
					r.prior[i] = old
				}
				cs.objs[i].fp = fp
			}
			if cs.sc != nil {
				s.pageState(cs, i, o.Attrs)
			}
			continue
		}
		if s.atCap(cs) {
			continue
		}
		tenant := s.tenantID(o.Tenant)
		i := s.add(cs, strings.Clone(o.DN), object{tenant: tenant, fp: fp}, s.stat(cs, tenant))
		r.see(i)
		r.added.set(i)
		if cs.sc != nil {
			cs.sc.load(cs.slotAttrs(i), o.Attrs, s.eng.vals)
		}
	}
}

// pageState puts a page's attributes on an object the state held, keeping
// what they replace until the round ends. The series move at its end.
func (s *state) pageState(cs *classState, i uint32, attrs []event.Attr) {
	fresh := append(s.eng.scratch[:0], make([]uint32, cs.sc.width())...)
	s.eng.scratch = fresh
	cs.sc.load(fresh, attrs, s.eng.vals)
	cur := cs.slotAttrs(i)
	if slices.Equal(fresh, cur) {
		return
	}
	r := cs.round
	if _, ok := r.priorAttrs[i]; !ok && !r.first {
		r.priorAttrs[i] = slices.Clone(cur)
	}
	copy(cur, fresh)
}

// atCap reports, and counts, an object of a round that the cap refuses:
// the other classes' objects and this snapshot's so far fill it. The
// class's old objects do not count, as the snapshot replaces them.
func (s *state) atCap(cs *classState) bool {
	if s.max == 0 || s.total-cs.len()+cs.round.seen < s.max {
		return false
	}
	s.full = true
	s.refused++
	return true
}

// see puts a slot in the snapshot.
func (r *round) see(i uint32) {
	if !r.in.has(i) {
		r.in.set(i)
		r.seen++
	}
}

// unsee takes a slot out of the snapshot.
func (r *round) unsee(i uint32) {
	if r.in.has(i) {
		r.in.clear(i)
		r.seen--
	}
}

// view is what the state held of an object before the round: whether it
// existed, and its fingerprint.
type view struct {
	exists bool
	tenant uint32
	fp     fingerprint
	attrs  []uint32 // state attributes (classes with state metrics)
}

// before returns the object's state before the round.
func (cs *classState) before(i uint32) view {
	if cs.round.added.has(i) {
		return view{tenant: cs.objs[i].tenant}
	}
	fp, ok := cs.round.prior[i]
	if !ok {
		fp = cs.objs[i].fp
	}
	v := view{exists: true, tenant: cs.objs[i].tenant, fp: fp}
	if cs.sc != nil {
		if v.attrs, ok = cs.round.priorAttrs[i]; !ok {
			v.attrs = cs.slotAttrs(i)
		}
	}
	return v
}

// endSnapshot ends a class's round. before are the live events that
// happened before the snapshot: they are counted as live changes on the
// state as it was. late are events after the snapshot for objects whose
// page was read after pushes started (see lateAdjust). Then every
// difference between that state and the snapshot counts as a change
// recovered by the resync. Called with s.mu held.
func (s *state) endSnapshot(class string, before, late []event.Event) {
	cs := s.classes[class]
	if cs == nil || cs.round == nil {
		return
	}
	s.lateAdjust(cs, late)
	if cs.round.first {
		s.sweep(cs, nil, false)
	} else {
		s.sweep(cs, s.replay(cs, before), true)
	}
	cs.round = nil
	s.lastClass = nil
}

// replay counts the events before the snapshot as live changes and returns
// the state they leave each object they touch in, starting from the state
// before the round.
func (s *state) replay(cs *classState, evs []event.Event) map[string]view {
	views := map[string]view{}
	keys := map[string][]uint32{} // DN keys of the objects replayed
	for k := range evs {
		ev := &evs[k]
		v, ok := views[ev.DN]
		if !ok {
			if i, had := cs.index[ev.DN]; had {
				v = cs.before(i)
				if cs.sc != nil {
					v.attrs = slices.Clone(v.attrs)
					keys[ev.DN] = cs.slotKeys(i)
				}
			} else {
				v = view{tenant: s.tenantID(ev.Tenant)}
				if cs.sc != nil {
					keys[ev.DN] = cs.sc.fillKeys(make([]uint32, len(cs.sc.metrics)), ev.DN, s.tenantNames[v.tenant])
				}
			}
		}
		s.stat(cs, v.tenant).changes[ev.Status-1]++
		switch {
		case ev.Status == event.StatusDeleted:
			v.exists, v.fp, v.attrs = false, fingerprint{}, nil
		case v.exists:
			v.fp.update(ev.Attrs)
			if cs.sc != nil {
				old := slices.Clone(v.attrs)
				cs.sc.load(v.attrs, ev.Attrs, s.eng.vals)
				s.eng.enter(cs.sc, keys[ev.DN], old, v.attrs)
			}
		default: // created, or modified into view
			v.exists, v.fp = true, fingerprint{}
			v.fp.update(ev.Attrs)
			if cs.sc != nil {
				v.attrs = make([]uint32, cs.sc.width())
				cs.sc.load(v.attrs, ev.Attrs, s.eng.vals)
				s.eng.enter(cs.sc, keys[ev.DN], nil, v.attrs)
			}
		}
		views[ev.DN] = v
	}
	return views
}

// sweep makes the snapshot the class's objects: what it did not see goes.
// With count, each difference from the state before it (after the replayed
// events in views) is a resync change.
func (s *state) sweep(cs *classState, views map[string]view, count bool) {
	r := cs.round
	for dn, i := range cs.index {
		pre := cs.before(i)
		was, ok := views[dn]
		if !ok {
			was = pre
		} else {
			delete(views, dn)
		}
		in := r.in.has(i)
		ts := s.stat(cs, cs.objs[i].tenant)
		if !in {
			s.remove(cs, dn, i, ts)
		}
		stateMoved := cs.sc != nil && s.sweepState(cs, i, pre, was, in, count)
		if r.keep.has(i) {
			cs.objs[i].fp = was.fp // what the exporter knew: no modification
		}
		if !count {
			continue
		}
		switch {
		case in && !was.exists:
			s.countResync(cs.name, ts, event.StatusCreated)
		case in && (was.fp != cs.objs[i].fp || stateMoved):
			s.countResync(cs.name, ts, event.StatusModified)
		case !in && was.exists:
			s.countResync(cs.name, ts, event.StatusDeleted)
		}
	}
	for _, v := range views { // created before the snapshot, gone by it
		if v.exists {
			s.countResync(cs.name, s.stat(cs, v.tenant), event.StatusDeleted)
		}
	}
}

// sweepState moves an object's series from the state before the round
// (pre) to its end, and counts the transitions a gap hid: an object in the
// snapshot counts once when its watched value differs from what the
// exporter last knew (was, after the replayed events), or it was not known. It reports
// whether an object in the snapshot that was known has other attributes:
// a modification, even where no change stamp moved.
func (s *state) sweepState(cs *classState, i uint32, pre, was view, in, count bool) (moved bool) {
	r := cs.round
	_, replaced := r.priorAttrs[i]
	keep := r.keep.has(i)
	if pre.exists && in && !replaced && !keep && sameAttrs(was, pre) {
		return false // untouched: nothing moves, nothing entered
	}
	var old, cur []uint32
	if pre.exists {
		old = pre.attrs
		if keep && !replaced { // the slot itself, about to be written
			old = slices.Clone(old)
		}
	}
	if in {
		cur = cs.slotAttrs(i)
		if keep && was.exists { // what the exporter knew (was may be cur itself)
			copy(cur, was.attrs)
		} else if keep {
			clear(cur)
		}
	}
	keys := cs.slotKeys(i)
	s.eng.move(cs.sc, keys, old, cur)
	if count && in {
		var from []uint32
		if was.exists {
			from = was.attrs
		}
		s.eng.enter(cs.sc, keys, from, cur)
	}
	return in && was.exists && !slices.Equal(was.attrs, cur)
}

// sameAttrs reports whether two views hold the same state attributes.
func sameAttrs(a, b view) bool { return a.exists == b.exists && slices.Equal(a.attrs, b.attrs) }

// lateAdjust brings objects read after pushes started back to the moment
// they started. Such a page may already show changes that are also among
// the events after the snapshot. For such an object the first event tells
// what it was at that moment: absent before a creation, present before a
// modification or deletion. Its page is that state when it shows none of
// the events (its change stamp matches none of theirs, and it does not
// already hold every value they leave); otherwise its state then is
// unknown, and what the exporter knew of it is kept.
func (s *state) lateAdjust(cs *classState, late []event.Event) {
	r := cs.round
	byDN := map[string][]*event.Event{}
	for k := range late {
		byDN[late[k].DN] = append(byDN[late[k].DN], &late[k])
	}
	for dn, evs := range byDN {
		i, had := cs.index[dn]
		seen := had && r.in.has(i)
		switch {
		case evs[0].Status == event.StatusCreated:
			if seen {
				r.unsee(i) // born after the moment: not in the snapshot
			}
		case seen && !showsAny(cs.objs[i].fp, evs) && !showsLast(cs.objs[i].fp, evs):
			// the page is the state at the moment
		case seen:
			r.keep.set(i)
		case s.atCap(cs):
		case had:
			r.see(i)
			r.keep.set(i)
		default:
			tenant := s.tenantID(evs[0].Tenant)
			i = s.add(cs, strings.Clone(dn), object{tenant: tenant}, s.stat(cs, tenant))
			r.see(i)
			r.added.set(i)
			r.keep.set(i)
		}
	}
}

// Stamps are the fingerprint attributes that move on every change: modTs,
// or for objects whose modTs stays "never" their own stamp.
var (
	modTsAt   = event.FingerprintIndex("modTs")
	altStamps = func() (at [len(event.AltStamps)]int) {
		for i, name := range event.AltStamps {
			at[i] = event.FingerprintIndex(name)
		}
		return at
	}()
	neverHash = hashValue("never")
)

// stampAt returns the fingerprint index of an object's change stamp, -1
// for none.
func stampAt(fp fingerprint) int {
	if fp[modTsAt] != neverHash {
		return modTsAt
	}
	for _, at := range altStamps {
		if fp[at] != 0 {
			return at
		}
	}
	return -1
}

// showsLast reports whether a page already holds every fingerprint value
// the events leave: changes that move no stamp (a fault's ack) show so.
func showsLast(fp fingerprint, evs []*event.Event) bool {
	var last fingerprint
	for _, ev := range evs {
		if ev.Status != event.StatusDeleted {
			last.update(ev.Attrs)
		}
	}
	some := false
	for j, h := range last {
		if h != 0 {
			some = true
			if h != fp[j] {
				return false
			}
		}
	}
	return some
}

// showsAny reports whether an object's change stamp is one of the events'.
func showsAny(fp fingerprint, evs []*event.Event) bool {
	at := stampAt(fp)
	if at < 0 || fp[at] == 0 {
		return true // cannot tell: assume it does
	}
	name := event.FingerprintAttrs[at]
	for _, ev := range evs {
		if v, ok := ev.Attr(name); ok && hashValue(v) == fp[at] {
			return true
		}
	}
	return false
}

// dropSnapshot undoes a round that cannot finish (the socket went first):
// the class is as it was before, and the next session resyncs it. Called
// with s.mu held.
func (s *state) dropSnapshot(class string) {
	cs := s.classes[class]
	if cs == nil || cs.round == nil {
		return
	}
	r := cs.round
	s.full = s.full || r.full
	if r.first {
		s.total -= cs.len()
		delete(s.classes, class)
		s.lastClass = nil
		return
	}
	for dn, i := range cs.index {
		if r.added.has(i) {
			s.remove(cs, dn, i, s.stat(cs, cs.objs[i].tenant))
			continue
		}
		if fp, ok := r.prior[i]; ok {
			cs.objs[i].fp = fp
		}
		if attrs, ok := r.priorAttrs[i]; ok {
			copy(cs.slotAttrs(i), attrs)
		}
	}
	cs.round = nil
	s.lastClass = nil
}
