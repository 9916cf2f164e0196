package apicsim

import (
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
)

// Attr is one attribute of a managed object.
type Attr struct {
	Name, Value string
}

// Object is an immutable snapshot of a managed object. A change never edits
// an Object in place: it stores a new one, so an old pointer is a faithful
// record of the object's state before the change (the ground truth relies on it).
type Object struct {
	Class string
	DN    string
	// Attrs holds every attribute except dn, status, rn and childAction,
	// sorted by name.
	Attrs []Attr
}

// Get returns the value of the named attribute.
func (o *Object) Get(name string) (string, bool) {
	if name == "dn" {
		return o.DN, true
	}
	i, ok := slices.BinarySearchFunc(o.Attrs, name, func(a Attr, n string) int { return strings.Compare(a.Name, n) })
	if !ok {
		return "", false
	}
	return o.Attrs[i].Value, true
}

// Map returns the attributes as a map, without dn.
func (o *Object) Map() map[string]string {
	m := make(map[string]string, len(o.Attrs))
	for _, a := range o.Attrs {
		m[a.Name] = a.Value
	}
	return m
}

// fingerprint hashes every attribute but status; two states of an object
// with the same fingerprint are "not modified" for the ground truth.
func (o *Object) fingerprint() uint64 {
	h := fnv.New64a()
	for _, a := range o.Attrs {
		h.Write([]byte(a.Name))
		h.Write([]byte{0})
		h.Write([]byte(a.Value))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// reserved attributes are carried outside Attrs.
func reserved(name string) bool {
	switch name {
	case "dn", "status", "rn", "childAction":
		return true
	}
	return false
}

func sortedAttrs(m map[string]string) []Attr {
	attrs := make([]Attr, 0, len(m))
	for k, v := range m {
		if !reserved(k) {
			attrs = append(attrs, Attr{k, v})
		}
	}
	slices.SortFunc(attrs, func(a, b Attr) int { return strings.Compare(a.Name, b.Name) })
	return attrs
}

// withChanges returns a copy of o with the changed attributes applied and
// the names of the attributes whose value actually changed.
func (o *Object) withChanges(changed map[string]string) (*Object, []string) {
	attrs := slices.Clone(o.Attrs)
	var names []string
	added := false
	for k, v := range changed {
		if reserved(k) {
			continue
		}
		i, found := slices.BinarySearchFunc(o.Attrs, k, func(a Attr, n string) int { return strings.Compare(a.Name, n) })
		switch {
		case !found:
			attrs = append(attrs, Attr{k, v})
			added = true
		case attrs[i].Value == v:
			continue
		default:
			attrs[i].Value = v
		}
		names = append(names, k)
	}
	if added {
		slices.SortFunc(attrs, func(a, b Attr) int { return strings.Compare(a.Name, b.Name) })
	}
	slices.Sort(names)
	return &Object{Class: o.Class, DN: o.DN, Attrs: attrs}, names
}

// classIndex keeps a class's objects in a slice for O(1) random picks and a
// sorted DN list for stable paged reads. The sorted list is brought up to
// date when it is read, by merging in what changed since: re-sorting a
// million DNs after every create or delete made paging a churning class
// take a third of a second per page.
type classIndex struct {
	dns    []string
	pos    map[string]int
	sorted []string // nil until first read
	// Changes since sorted was made: DNs added that it lacks, and DNs it
	// holds that were removed.
	added, removed map[string]bool
}

func (ci *classIndex) add(dn string) {
	ci.pos[dn] = len(ci.dns)
	ci.dns = append(ci.dns, dn)
	switch {
	case ci.sorted == nil:
	case ci.removed[dn]:
		delete(ci.removed, dn) // back in the list it never left
	default:
		ci.added[dn] = true
	}
}

func (ci *classIndex) remove(dn string) {
	i, ok := ci.pos[dn]
	if !ok {
		return
	}
	last := ci.dns[len(ci.dns)-1]
	ci.dns[i] = last
	ci.pos[last] = i
	ci.dns = ci.dns[:len(ci.dns)-1]
	delete(ci.pos, dn)
	switch {
	case ci.sorted == nil:
	case ci.added[dn]:
		delete(ci.added, dn)
	default:
		ci.removed[dn] = true
	}
}

// sortedDNs returns the class's DNs in order. The slice is never changed
// afterwards: a later change makes a new one.
func (ci *classIndex) sortedDNs() []string {
	switch {
	case ci.sorted == nil || len(ci.added)+len(ci.removed) > len(ci.dns)/2:
		ci.sorted = slices.Sorted(slices.Values(ci.dns))
	case len(ci.added)+len(ci.removed) > 0:
		ci.sorted = ci.merged()
	}
	if ci.added == nil {
		ci.added, ci.removed = map[string]bool{}, map[string]bool{}
	}
	clear(ci.added)
	clear(ci.removed)
	return ci.sorted
}

// merged is sorted with the added DNs put in and the removed ones taken
// out: a binary search per change and runs of the old list copied whole.
func (ci *classIndex) merged() []string {
	adds := slices.Sorted(maps.Keys(ci.added))
	dels := slices.Sorted(maps.Keys(ci.removed))
	out := make([]string, 0, len(ci.dns))
	rest := ci.sorted
	for len(adds) > 0 || len(dels) > 0 {
		if len(dels) > 0 && (len(adds) == 0 || dels[0] < adds[0]) {
			i, _ := slices.BinarySearch(rest, dels[0]) // removed DNs are in the list
			out = append(out, rest[:i]...)
			rest, dels = rest[i+1:], dels[1:]
			continue
		}
		i, _ := slices.BinarySearch(rest, adds[0])
		out = append(append(out, rest[:i]...), adds[0])
		rest, adds = rest[i:], adds[1:]
	}
	return append(out, rest...)
}

// store is the object tree shared by every controller of a cluster. It is
// not safe for concurrent use; Sim guards it.
type store struct {
	objs     map[string]*Object
	classes  map[string]*classIndex
	children map[string]map[string]struct{} // parent DN -> child DNs
}

func newStore() *store {
	return &store{
		objs:     make(map[string]*Object),
		classes:  make(map[string]*classIndex),
		children: make(map[string]map[string]struct{}),
	}
}

func (s *store) class(name string) *classIndex {
	ci := s.classes[name]
	if ci == nil {
		ci = &classIndex{pos: make(map[string]int)}
		s.classes[name] = ci
	}
	return ci
}

func (s *store) put(o *Object) {
	if _, exists := s.objs[o.DN]; !exists {
		s.class(o.Class).add(o.DN)
		parent := parentDN(o.DN)
		kids := s.children[parent]
		if kids == nil {
			kids = make(map[string]struct{})
			s.children[parent] = kids
		}
		kids[o.DN] = struct{}{}
	}
	s.objs[o.DN] = o
}

func (s *store) remove(dn string) {
	o, ok := s.objs[dn]
	if !ok {
		return
	}
	delete(s.objs, dn)
	s.class(o.Class).remove(dn)
	parent := parentDN(dn)
	if kids := s.children[parent]; kids != nil {
		delete(kids, dn)
		if len(kids) == 0 {
			delete(s.children, parent)
		}
	}
}

// subtree returns dn's existing descendants, deepest first, so a subtree
// delete reports children before their parents.
func (s *store) subtree(dn string) []*Object {
	var out []*Object
	var walk func(string)
	walk = func(p string) {
		kids := make([]string, 0, len(s.children[p]))
		for k := range s.children[p] {
			kids = append(kids, k)
		}
		slices.Sort(kids)
		for _, k := range kids {
			walk(k)
			if o := s.objs[k]; o != nil {
				out = append(out, o)
			}
		}
	}
	walk(dn)
	return out
}

// childObjects returns dn's existing children in DN order.
func (s *store) childObjects(dn string) []*Object {
	kids := s.children[dn]
	out := make([]*Object, 0, len(kids))
	for k := range kids {
		if o := s.objs[k]; o != nil {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *Object) int { return strings.Compare(a.DN, b.DN) })
	return out
}

func (s *store) pick(r *rand.Rand, class string) *Object {
	ci := s.classes[class]
	if ci == nil || len(ci.dns) == 0 {
		return nil
	}
	return s.objs[ci.dns[r.IntN(len(ci.dns))]]
}

// splitDN splits a DN into RNs on '/' outside square brackets, so naming
// values such as [10.0.0.1/24] or [uni/tn-x/ap-y] stay whole.
func splitDN(dn string) []string {
	var rns []string
	depth, start := 0, 0
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case '/':
			if depth == 0 {
				rns = append(rns, dn[start:i])
				start = i + 1
			}
		}
	}
	return append(rns, dn[start:])
}

// parentDN is dn without its last RN ("" for a top-level RN).
func parentDN(dn string) string {
	rns := splitDN(dn)
	if len(rns) <= 1 {
		return ""
	}
	return strings.Join(rns[:len(rns)-1], "/")
}

// tenantOf is the tenant a DN belongs to: the name in its second RN when the
// first two RNs are "uni" and "tn-NAME", else "" (apic-protocol.md §7).
func tenantOf(dn string) string {
	rest, ok := strings.CutPrefix(dn, "uni/tn-")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}
