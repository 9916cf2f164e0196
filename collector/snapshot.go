package collector

import (
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
		cs = newClassState(class, len(objs))
		s.classes[class] = cs
		cs.round = &round{first: true}
	}
	if cs.round == nil {
		cs.round = &round{prior: map[uint32]fingerprint{}, full: s.full}
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
			continue
		}
		if s.atCap(cs) {
			continue
		}
		tenant := s.tenantID(o.Tenant)
		i := s.add(cs, strings.Clone(o.DN), object{tenant: tenant, fp: fp}, s.stat(cs, tenant))
		r.see(i)
		r.added.set(i)
	}
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
	return view{exists: true, tenant: cs.objs[i].tenant, fp: fp}
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
	for k := range evs {
		ev := &evs[k]
		v, ok := views[ev.DN]
		if !ok {
			if i, had := cs.index[ev.DN]; had {
				v = cs.before(i)
			} else {
				v = view{tenant: s.tenantID(ev.Tenant)}
			}
		}
		s.stat(cs, v.tenant).changes[ev.Status-1]++
		switch {
		case ev.Status == event.StatusDeleted:
			v.exists, v.fp = false, fingerprint{}
		case v.exists:
			v.fp.update(ev.Attrs)
		default: // created, or modified into view
			v.exists, v.fp = true, fingerprint{}
			v.fp.update(ev.Attrs)
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
		was, ok := views[dn]
		if !ok {
			was = cs.before(i)
		} else {
			delete(views, dn)
		}
		in := r.in.has(i)
		ts := s.stat(cs, cs.objs[i].tenant)
		if !in {
			s.remove(cs, dn, i, ts)
		}
		if r.keep.has(i) {
			cs.objs[i].fp = was.fp // what the exporter knew: no modification
		}
		if !count {
			continue
		}
		switch {
		case in && !was.exists:
			s.countResync(cs.name, ts, event.StatusCreated)
		case in && was.fp != cs.objs[i].fp:
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

// lateAdjust brings objects read after pushes started back to the moment
// they started. Such a page may already show changes that are also among
// the events after the snapshot. For such an object the first event tells
// what it was at that moment: absent before a creation, present before a
// modification or deletion. Its page is that state when it shows none of
// the events (its change stamp matches none of theirs); otherwise its state
// then is unknown, and what the exporter knew of it is kept.
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
		case seen && !showsAny(cs.objs[i].fp, evs):
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
// or lastTransition for objects whose modTs stays "never" (faults).
var (
	modTsAt          = event.FingerprintIndex("modTs")
	lastTransitionAt = event.FingerprintIndex("lastTransition")
	neverHash        = hashValue("never")
)

// showsAny reports whether an object's change stamp is one of the events'.
func showsAny(fp fingerprint, evs []*event.Event) bool {
	at := modTsAt
	if fp[modTsAt] == neverHash {
		at = lastTransitionAt
	}
	if fp[at] == 0 {
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
		} else if fp, ok := r.prior[i]; ok {
			cs.objs[i].fp = fp
		}
	}
	cs.round = nil
	s.lastClass = nil
}
