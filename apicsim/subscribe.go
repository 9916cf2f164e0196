package apicsim

import (
	"slices"
	"strings"
	"time"
)

// runQuery evaluates a query against the store. Called with s.mu held.
func (s *Sim) runQuery(q *query) (*queryResult, error) {
	if op := comparison(q.filter); op != "" && s.faults.refuseComparisons {
		return nil, comparisonRefused(op)
	}
	if q.include.count && !q.include.required {
		return &queryResult{total: s.countMatches(q), count: true}, nil
	}
	if !q.include.required {
		if res, ok := s.dnRangeQuery(q); ok {
			s.shapeResult(q, res)
			return res, nil
		}
	}
	objs := s.matching(q)
	var nodes []*node
	if q.include.required { // drops objects, so before paging
		nodes = s.shapeAnswer(q, objs)
		objs = nil
	}
	total := max(len(objs), len(nodes))
	if q.include.count {
		return &queryResult{total: total, count: true}, nil
	}
	start, end := 0, total
	if q.pageSize == 0 {
		if total > s.cfg.MaxResultSize {
			return nil, errTooBig
		}
	} else {
		start = min(q.page*q.pageSize, total)
		end = min(start+q.pageSize, total)
	}
	if nodes != nil {
		return &queryResult{total: total, tree: nodes[start:end], props: q.propInclude}, nil
	}
	res := &queryResult{total: total, objs: objs[start:end]}
	s.shapeResult(q, res)
	return res, nil
}

// matching returns the objects in the query's scope, in its order.
func (s *Sim) matching(q *query) []*Object {
	var objs []*Object
	for _, o := range s.candidates(q) {
		if q.matches(o, s.st.lookup) {
			objs = append(objs, o)
		}
	}
	if q.orderBy != "" && q.orderBy != "dn" && q.page == 0 && q.pageSize == 1 && !q.include.required && len(objs) > 0 {
		// The newest or oldest object (a client's probe): brought to the
		// front in one pass, not a sort of the whole class.
		i := q.firstInOrder(objs)
		objs[0], objs[i] = objs[i], objs[0]
		return objs
	}
	if q.orderBy != "" && q.orderBy != "dn" {
		slices.SortStableFunc(objs, func(a, b *Object) int {
			x, _ := a.Get(q.orderBy)
			y, _ := b.Get(q.orderBy)
			return compareValues(x, y)
		})
	}
	if q.desc {
		slices.Reverse(objs)
	}
	return objs
}

// firstInOrder returns the index, in objects in DN order, of the one a sort
// by the query's order would put first, as the stable sort does: of
// equals, the first in DN order ascending, the last descending.
func (q *query) firstInOrder(objs []*Object) int {
	best := 0
	bestV, _ := objs[0].Get(q.orderBy)
	for i, o := range objs[1:] {
		v, _ := o.Get(q.orderBy)
		if c := compareValues(v, bestV); c < 0 && !q.desc || c >= 0 && q.desc {
			best, bestV = i+1, v
		}
	}
	return best
}

// shapeResult adds the children the query asks for to a page.
func (s *Sim) shapeResult(q *query, res *queryResult) {
	res.props = q.propInclude
	if q.shaped() {
		res.tree = s.shapeAnswer(q, res.objs)
	}
}

// countMatches counts the query's objects for rsp-subtree-include=count,
// without collecting them when it can.
func (s *Sim) countMatches(q *query) int {
	if q.class != "" && q.target == "self" {
		ci := s.st.classes[q.class]
		if ci == nil {
			return 0
		}
		if q.filter == nil {
			return len(ci.dns)
		}
		n := 0
		for _, dn := range ci.dns {
			if q.filter.match(s.st.objs[dn]) {
				n++
			}
		}
		return n
	}
	n := 0
	for _, o := range s.candidates(q) {
		if q.matches(o, s.st.lookup) {
			n++
		}
	}
	return n
}

// candidates returns, in DN order, the objects a query could match.
func (s *Sim) candidates(q *query) []*Object {
	var objs []*Object
	if classes := q.classes(); classes != nil {
		for _, cls := range classes {
			if ci := s.st.classes[cls]; ci != nil {
				for _, dn := range ci.sortedDNs() {
					objs = append(objs, s.st.objs[dn])
				}
			}
		}
		if len(classes) > 1 {
			slices.SortFunc(objs, func(a, b *Object) int { return strings.Compare(a.DN, b.DN) })
		}
		return objs
	}
	if q.class != "" {
		return s.classScope(q)
	}
	if o := s.st.objs[q.dn]; o != nil {
		objs = append(objs, o)
	}
	sub := s.st.subtree(q.dn)
	slices.SortFunc(sub, func(a, b *Object) int { return strings.Compare(a.DN, b.DN) })
	return append(objs, sub...)
}

// classScope returns, in DN order, the children (query-target=children) or
// the subtrees (subtree) of the class's objects.
func (s *Sim) classScope(q *query) []*Object {
	ci := s.st.classes[q.class]
	if ci == nil {
		return nil
	}
	seen := make(map[string]bool)
	var objs []*Object
	for _, dn := range ci.dns {
		var scope []*Object
		if q.target == "subtree" {
			scope = append(s.st.subtree(dn), s.st.objs[dn])
		} else {
			scope = s.st.childObjects(dn)
		}
		for _, o := range scope {
			if !seen[o.DN] {
				seen[o.DN] = true
				objs = append(objs, o)
			}
		}
	}
	slices.SortFunc(objs, func(a, b *Object) int { return strings.Compare(a.DN, b.DN) })
	return objs
}

// subscribe registers a subscription for the query and tells the ground
// truth that its user sees the query's scope again. Called with s.mu held,
// in the same critical section as the query's result, so the answer is the
// exact state at the moment pushes start.
func (s *Sim) subscribe(sess *session, q *query, now time.Time, mute bool) *subscription {
	timeout := s.cfg.SubscriptionTimeout
	if q.refreshTimeout > 0 {
		timeout = min(time.Duration(q.refreshTimeout)*time.Second, maxRefreshTimeout)
	}
	sub := &subscription{
		id:      s.newSubID(),
		sess:    sess,
		q:       q,
		timeout: timeout,
		expires: now.Add(timeout),
		mute:    mute,
	}
	sess.subs[sub.id] = sub
	sess.ctrl.subs[sub.id] = sub
	if !mute {
		s.userTruth(sess.user).visible(q, s.st)
	}
	return sub
}

// pushBeforeResponse reproduces the race of apic-protocol.md §8.16: a
// change in the new subscription's scope is pushed, and written, before
// the subscribe answer leaves.
func (s *Sim) pushBeforeResponse(sub *subscription) {
	s.mu.Lock()
	var target *Object
	for _, o := range s.candidates(sub.q) {
		if sub.q.matches(o, s.st.lookup) {
			target = o
			break
		}
	}
	sock := sub.sess.sock
	if target != nil {
		// A realistic change (faults move through their lifecycle), so
		// the client's fingerprint sees it as any other.
		changed := mutateAttrs(s.rng, target.Class, target.Map())
		if changed == nil {
			changed = map[string]string{"descr": "touched " + apicTime(s.now())}
		}
		_ = s.modifyLocked(target.DN, changed)
	}
	s.mu.Unlock()
	if target != nil && sock != nil {
		sock.waitFlushed(2 * time.Second)
	}
}

// dnRangeQuery answers a paged class query in DN order whose filter is only
// DN bounds (keyset paging, as clients read big classes) by binary search
// on the class's sorted DNs, instead of a scan per page.
func (s *Sim) dnRangeQuery(q *query) (*queryResult, bool) {
	if q.class == "" || q.target != "self" || q.pageSize == 0 || q.desc || (q.orderBy != "" && q.orderBy != "dn") {
		return nil, false
	}
	lo, hi, ok := dnBounds(q.filter, q.class)
	if !ok {
		return nil, false
	}
	ci := s.st.classes[q.class]
	if ci == nil {
		return &queryResult{}, true
	}
	dns := ci.sortedDNs()
	i, j := lo.index(dns), hi.index(dns)
	res := &queryResult{total: max(j-i, 0)}
	start := min(i+q.page*q.pageSize, max(j, i))
	page := dns[start:min(start+q.pageSize, max(j, i))]
	res.objs = make([]*Object, len(page))
	for k, dn := range page {
		res.objs[k] = s.st.objs[dn]
	}
	return res, true
}

// dnBound is one end of a DN range: index finds where it cuts a sorted list.
type dnBound struct {
	dn        string
	inclusive bool // for a lower bound: ge; for an upper bound: le
	upper     bool
	set       bool
}

func (b dnBound) index(dns []string) int {
	if !b.set {
		if b.upper {
			return len(dns)
		}
		return 0
	}
	i, found := slices.BinarySearch(dns, b.dn)
	if found && (b.inclusive == b.upper) {
		i++ // past dn: gt as a lower bound, le as an upper one
	}
	return i
}

// dnBounds reads a filter made only of gt/ge/lt/le on class.dn, alone or
// under and(); anything else is not a pure DN range.
func dnBounds(f filter, class string) (lo, hi dnBound, ok bool) {
	lo, hi = dnBound{}, dnBound{upper: true}
	var parts []filter
	switch f := f.(type) {
	case nil:
		return lo, hi, true
	case andFilter:
		parts = f
	default:
		parts = []filter{f}
	}
	for _, p := range parts {
		c, isCmp := p.(cmpFilter)
		if !isCmp || c.class != class || c.attr != "dn" {
			return lo, hi, false
		}
		switch c.op {
		case "gt", "ge":
			lo = dnBound{dn: c.value, inclusive: c.op == "ge", set: true}
		case "lt", "le":
			hi = dnBound{dn: c.value, inclusive: c.op == "le", upper: true, set: true}
		default:
			return lo, hi, false
		}
	}
	return lo, hi, true
}
