package apicsim

import (
	"time"

	"github.com/aci-exporter/aci-exporter/statedef"
)

// The ground truth is what a client that logs in as a user should have
// counted, per class (SPEC §4):
//   - the first subscription to a class is the baseline: no change counts;
//   - every change pushed to one of the user's sockets counts once;
//   - over every interval in which the user could not see an object
//     (no socket, subscription expired or not yet made), the net difference
//     between the interval's start and end counts once: absent→present
//     created, present→absent deleted, present→present with any attribute
//     but status different modified. These are the resync changes.
//
// The state metrics follow the same rules (statetruth.go).
//
// It assumes one client per user name, as an exporter is.

// userTruth is the ground truth of one user.
type userTruth struct {
	scopes  map[string][]*query // class -> the queries the user subscribed to
	changes map[ChangeKey]int
	resync  map[ResyncKey]int
	// dirty holds, per class and DN, the object's state (nil: absent) when
	// the user last saw it, for objects that changed while unseen.
	dirty map[string]map[string]*Object
	// transitions are the transitions metrics by class; entered counts
	// their series.
	transitions map[string][]*statedef.Metric
	entered     map[StateKey]int
}

// ChangeKey labels aci_object_changes_total.
type ChangeKey struct{ Class, Tenant, Status string }

// ResyncKey labels aci_object_resync_changes_total.
type ResyncKey struct{ Class, Status string }

// ObjectKey labels aci_objects.
type ObjectKey struct{ Class, Tenant string }

func (s *Sim) userTruth(user string) *userTruth {
	ut := s.truth[user]
	if ut == nil {
		ut = &userTruth{
			scopes:  make(map[string][]*query),
			changes: make(map[ChangeKey]int),
			resync:  make(map[ResyncKey]int),
			dirty:   make(map[string]map[string]*Object),

			transitions: transitionsByClass(s.cfg.StateMetrics),
			entered:     make(map[StateKey]int),
		}
		s.truth[user] = ut
	}
	return ut
}

// covers reports whether o is in any scope the user has subscribed to.
func (ut *userTruth) covers(o *Object, st *store) bool {
	if o == nil {
		return false
	}
	for _, q := range ut.scopes[o.Class] {
		if q.matches(o, st.lookup) {
			return true
		}
	}
	return false
}

// observe books a committed change: counted if pushed to the user, else
// remembered as unseen.
func (ut *userTruth) observe(c *change, delivered bool, st *store) {
	pre := c.pre
	if !ut.covers(pre, st) {
		pre = nil
	}
	if pre == nil && !ut.covers(c.post, st) {
		return
	}
	class := c.obj().Class
	if delivered {
		ut.settle(class, c.obj().DN, st, pre)
		ut.changes[ChangeKey{class, tenantOf(c.obj().DN), c.status}]++
		ut.countEntered(pre, ut.seen(c.post, st), 1)
		return
	}
	ut.markDirty(class, c.obj().DN, pre)
}

func (ut *userTruth) markDirty(class, dn string, pre *Object) {
	d := ut.dirty[class]
	if d == nil {
		d = make(map[string]*Object)
		ut.dirty[class] = d
	}
	if _, ok := d[dn]; !ok {
		d[dn] = pre
	}
}

// undeliver takes back a change that was queued for the user's socket but
// never written: the client did not see it after all.
func (ut *userTruth) undeliver(c *change, st *store) {
	if !ut.covers(c.pre, st) && !ut.covers(c.post, st) {
		return // never counted
	}
	o := c.obj()
	k := ChangeKey{o.Class, tenantOf(o.DN), c.status}
	ut.changes[k]--
	if ut.changes[k] == 0 {
		delete(ut.changes, k)
	}
	pre := ut.seen(c.pre, st)
	ut.countEntered(pre, ut.seen(c.post, st), -1)
	ut.markDirty(o.Class, o.DN, pre)
}

// visible records that the user sees the query's scope again: a first
// subscription sets the baseline, a later one settles the gap.
func (ut *userTruth) visible(q *query, st *store) {
	for _, class := range q.classes() {
		if !hasScope(ut.scopes[class], q) {
			ut.scopes[class] = append(ut.scopes[class], q)
		}
		for dn, pre := range ut.dirty[class] {
			if post := st.objs[dn]; seenBy(q, post, st) || seenBy(q, pre, st) || post == nil && pre == nil {
				ut.settle(class, dn, st, ut.seen(post, st))
			}
		}
	}
}

// sessionVisible: a socket opened for a session whose subscriptions are
// still alive makes them deliver again.
func (ut *userTruth) sessionVisible(sess *session, now time.Time, st *store) {
	for _, sub := range sess.subs {
		if sub.active(now) {
			ut.visible(sub.q, st)
		}
	}
}

func seenBy(q *query, o *Object, st *store) bool { return o != nil && q.matches(o, st.lookup) }

func hasScope(scopes []*query, q *query) bool {
	for _, s := range scopes {
		if s.class == q.class && s.dn == q.dn && s.target == q.target && s.filterText == q.filterText {
			return true
		}
	}
	return false
}

// seen is o if the user's subscriptions cover it, else nil.
func (ut *userTruth) seen(o *Object, st *store) *Object {
	if !ut.covers(o, st) {
		return nil
	}
	return o
}

// settle counts the net change of an unseen object, if it has one. end is
// the object's state at the gap's end (nil: gone or out of scope) for the
// transitions: the store's for a resync, the one before the change for a
// change pushed live.
func (ut *userTruth) settle(class, dn string, st *store, end *Object) {
	pre, ok := ut.dirty[class][dn]
	if !ok {
		return
	}
	delete(ut.dirty[class], dn)
	ut.countEntered(pre, end, 1)
	post := ut.seen(st.objs[dn], st)
	status := ""
	switch {
	case pre == nil && post != nil:
		status = statusCreated
	case pre != nil && post == nil:
		status = statusDeleted
	case pre != nil && post != nil && pre.fingerprint() != post.fingerprint():
		status = statusModified
	}
	if status == "" {
		return
	}
	ut.changes[ChangeKey{class, tenantOf(dn), status}]++
	ut.resync[ResyncKey{class, status}]++
}
