package apicsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Change statuses, the APIC's own words.
const (
	statusCreated  = "created"
	statusModified = "modified"
	statusDeleted  = "deleted"
)

// change is one committed change. pre is nil for a creation, post for a
// deletion.
type change struct {
	pre, post *Object
	status    string
	changed   []string // modified: the attributes that changed
	modTs     string
}

func (c *change) obj() *Object {
	if c.post != nil {
		return c.post
	}
	return c.pre
}

// Create adds an object and pushes a created event. The parent need not
// exist.
func (s *Sim) Create(class, dn string, attrs map[string]string) error {
	if class == "" || dn == "" {
		return fmt.Errorf("create: class and dn are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.objs[dn]; ok {
		return fmt.Errorf("create %s: already exists", dn)
	}
	o := &Object{Class: class, DN: dn, Attrs: sortedAttrs(attrs)}
	if _, ok := o.Get("modTs"); !ok {
		o, _ = o.withChanges(map[string]string{"modTs": apicTime(s.now())})
	}
	s.commit(&change{post: o, status: statusCreated})
	return nil
}

// Modify changes attributes of an existing object and pushes a modified
// event with only the attributes that changed. modTs is set to now unless
// the object's modTs is "never" (faults) or the caller sets it.
func (s *Sim) Modify(dn string, changed map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modifyLocked(dn, changed)
}

func (s *Sim) modifyLocked(dn string, changed map[string]string) error {
	pre, ok := s.st.objs[dn]
	if !ok {
		return fmt.Errorf("modify %s: no such object", dn)
	}
	if ts, _ := pre.Get("modTs"); ts != "never" {
		if _, set := changed["modTs"]; !set {
			changed = withEntry(changed, "modTs", apicTime(s.now()))
		}
	}
	post, names := pre.withChanges(changed)
	if len(names) == 0 {
		return nil // nothing changed: the APIC sends nothing
	}
	s.commit(&change{pre: pre, post: post, status: statusModified, changed: names})
	return nil
}

func withEntry(m map[string]string, k, v string) map[string]string {
	c := make(map[string]string, len(m)+1)
	for mk, mv := range m {
		c[mk] = mv
	}
	c[k] = v
	return c
}

// Delete removes dn and its subtree, one deleted event per object,
// children first.
func (s *Sim) Delete(dn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.st.objs[dn]
	if !ok {
		return fmt.Errorf("delete %s: no such object", dn)
	}
	for _, child := range s.st.subtree(dn) {
		s.commit(&change{pre: child, status: statusDeleted})
	}
	s.commit(&change{pre: o, status: statusDeleted})
	return nil
}

// Count returns how many objects of the class exist.
func (s *Sim) Count(class string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ci := s.st.classes[class]; ci != nil {
		return len(ci.dns)
	}
	return 0
}

// Pick returns a uniformly random existing object of the class.
func (s *Sim) Pick(r *rand.Rand, class string) (string, map[string]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.pick(r, class)
	if o == nil {
		return "", nil, false
	}
	return o.DN, o.Map(), true
}

// Get returns the attributes of the object at dn.
func (s *Sim) Get(dn string) (map[string]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.st.objs[dn]
	if !ok {
		return nil, false
	}
	return o.Map(), true
}

// DNs returns the DNs of every object of the class, in the store's order.
func (s *Sim) DNs(class string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ci := s.st.classes[class]; ci != nil {
		return slices.Clone(ci.dns)
	}
	return nil
}

// Lookup returns the object at dn.
func (s *Sim) Lookup(dn string) (*Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.st.objs[dn]
	return o, ok
}

// commit stores a change, pushes it to every open socket with a matching
// live subscription and books it in the ground truth. Called with s.mu held,
// so the store, the pushes and the truth move together.
func (s *Sim) commit(c *change) {
	now := s.now()
	if c.modTs == "" && c.post != nil {
		c.modTs, _ = c.post.Get("modTs")
	}
	if c.modTs == "" || c.modTs == "never" && c.status == statusDeleted {
		c.modTs = apicTime(now)
	}
	if c.post != nil {
		s.st.put(c.post)
	} else {
		s.st.remove(c.pre.DN)
	}
	var delivered []string // users that received it
	for sock := range s.sockets {
		ids := sock.sess.matchingSubs(c, now, s.st.lookup)
		if len(ids) == 0 || sock.closed {
			continue
		}
		sock.enqueue(&pushItem{ids: ids, c: c})
		delivered = appendUnique(delivered, sock.sess.user)
	}
	for user, ut := range s.truth {
		ut.observe(c, slices.Contains(delivered, user), s.st)
	}
}

func appendUnique(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

func (s *store) lookup(dn string) *Object { return s.objs[dn] }
