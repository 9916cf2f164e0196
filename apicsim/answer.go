package apicsim

import (
	"slices"
	"strings"
)

// What an answer holds besides its objects, as the rsp-* query options ask
// (the Cisco APIC REST API guide's query options):
//   - rsp-subtree=children: each object's children, rsp-subtree=full: its
//     whole subtree, nested in "children" arrays; rsp-subtree-class and
//     rsp-subtree-filter keep the children of those classes that pass the
//     filter, and in a full subtree the objects on the way down to them;
//   - rsp-subtree-include=health and faults add, to every object of the
//     answer, its healthInst ("health") and faultInst/faultDelegate
//     children; required keeps only the objects left with children;
//   - rsp-prop-include=naming-only or config-only trims the attributes.
// Nested objects carry their rn and no dn, and an object without children
// has no "children" key, as in captured APIC answers.

// node is one object of a shaped answer, with the children it carries.
type node struct {
	o    *Object
	kids []*node
}

// shapeAnswer gives each object the children the query asks for and, with
// rsp-subtree-include=required, drops those left without any. Called with
// s.mu held.
func (s *Sim) shapeAnswer(q *query, objs []*Object) []*node {
	nodes := make([]*node, 0, len(objs))
	for _, o := range objs {
		n := &node{o: o, kids: s.descend(q, o)}
		s.addIncludes(q, n)
		if q.include.required && len(n.kids) == 0 {
			continue
		}
		nodes = append(nodes, n)
	}
	return nodes
}

// descend returns the rsp-subtree objects below o: its selected children,
// or in a full subtree every selected descendant under the objects that
// lead to it.
func (s *Sim) descend(q *query, o *Object) []*node {
	if q.rspSubtree == "no" {
		return nil
	}
	var out []*node
	for _, c := range s.st.childObjects(o.DN) {
		var below []*node
		if q.rspSubtree == "full" {
			below = s.descend(q, c)
		}
		if len(below) > 0 || q.rspSelects(c) {
			out = append(out, &node{o: c, kids: below})
		}
	}
	return out
}

// addIncludes adds the health and fault children to n and every node
// below it; they lead nowhere themselves, so they get none.
func (s *Sim) addIncludes(q *query, n *node) {
	if !q.include.health && !q.include.faults {
		return
	}
	for _, k := range n.kids {
		s.addIncludes(q, k)
	}
	var extra []*node
	for _, o := range s.included(q, n.o) {
		if !slices.ContainsFunc(n.kids, func(k *node) bool { return k.o.DN == o.DN }) {
			extra = append(extra, &node{o: o})
		}
	}
	if len(extra) > 0 {
		n.kids = append(n.kids, extra...)
		slices.SortFunc(n.kids, func(a, b *node) int { return strings.Compare(a.o.DN, b.o.DN) })
	}
}

// included returns o's health and fault objects, as the query asks.
func (s *Sim) included(q *query, o *Object) []*Object {
	var out []*Object
	if q.include.health {
		if h := s.st.objs[o.DN+"/health"]; h != nil && h.Class == "healthInst" {
			out = append(out, h)
		}
	}
	if q.include.faults {
		for _, c := range s.st.childObjects(o.DN) {
			if isFault(c) {
				out = append(out, c)
			}
		}
	}
	return out
}

func isFault(o *Object) bool { return o.Class == "faultInst" || o.Class == "faultDelegate" }

// rspSelects reports whether o passes rsp-subtree-class and
// rsp-subtree-filter.
func (q *query) rspSelects(o *Object) bool {
	if len(q.rspClasses) > 0 && !slices.Contains(q.rspClasses, o.Class) {
		return false
	}
	return q.rspFilter == nil || q.rspFilter.match(o)
}

// pushes reports whether a change of o reaches a subscription to the
// query: o is one of its objects, or is in one's rsp-subtree or is its
// health or fault (apic-protocol.md does not know; clients such as
// aci-containers rely on changes below the subscribed objects arriving).
func (q *query) pushes(o *Object, lookup func(string) *Object) bool {
	if q.matches(o, lookup) {
		return true
	}
	if !q.shaped() {
		return false
	}
	parent := parentDN(o.DN)
	if q.include.health && o.Class == "healthInst" || q.include.faults && isFault(o) {
		if p := lookup(parent); p != nil && (q.matches(p, lookup) || q.inSubtree(p, lookup)) {
			return true
		}
	}
	return q.inSubtree(o, lookup)
}

// inSubtree: o is a selected object of the rsp-subtree of one of the
// query's objects.
func (q *query) inSubtree(o *Object, lookup func(string) *Object) bool {
	if q.rspSubtree == "no" || !q.rspSelects(o) {
		return false
	}
	for dn := parentDN(o.DN); dn != ""; dn = parentDN(dn) {
		if a := lookup(dn); a != nil && q.matches(a, lookup) {
			return true
		}
		if q.rspSubtree == "children" {
			return false
		}
	}
	return false
}

// Property classes for rsp-prop-include. apicsim has no class catalogue:
// these lists cover the attributes its model writes, and any other
// attribute counts as configurable.
var (
	// namingProps are the properties the RN of an object is made of. For
	// a class not listed, the attributes equal to its RN's naming value.
	namingProps = map[string][]string{
		"fvTenant": {"name"}, "fvAp": {"name"}, "fvAEPg": {"name"}, "fvBD": {"name"},
		"fvCtx": {"name"}, "vzBrCP": {"name"}, "l3extOut": {"name"},
		"fvSubnet": {"ip"}, "fvCEp": {"mac"}, "faultInst": {"code"}, "healthInst": nil,
	}
	// operProps are set by the APIC itself, never configured.
	operProps = map[string]bool{
		"bcastP": true, "configIssues": true, "configSt": true, "contName": true,
		"extMngdBy": true, "fabricPathDn": true, "hostingServer": true, "idepdn": true,
		"isSharedSrvMsiteEPg": true, "lcC": true, "lcOwn": true, "mcastAddr": true,
		"modTs": true, "monPolDn": true, "pcTag": true, "reportingControllerName": true,
		"seg": true, "triggerSt": true, "txId": true, "uid": true, "uuid": true,
		"vmmSrc": true, "vrfId": true, "vrfIndex": true,
	}
	// operScope: classes whose scope is an assigned VNID, not a setting.
	operScope = map[string]bool{"fvAEPg": true, "fvBD": true, "fvCtx": true}
	// stateClasses hold runtime state only: just these are configurable.
	stateClasses = map[string][]string{"faultInst": {"ack"}, "faultDelegate": {"ack"}, "healthInst": nil}
)

// propAttrs returns the attributes of o that rsp-prop-include keeps.
func propAttrs(mode string, o *Object) []Attr {
	if mode == "all" {
		return o.Attrs
	}
	naming := namingOf(o)
	out := make([]Attr, 0, len(o.Attrs))
	for _, a := range o.Attrs {
		if slices.Contains(naming, a.Name) || mode == "config-only" && configurable(o.Class, a.Name) {
			out = append(out, a)
		}
	}
	return out
}

func namingOf(o *Object) []string {
	if props, ok := namingProps[o.Class]; ok {
		return props
	}
	_, rn := mdlLastRN(o.DN)
	v := mdlNamingValue(rn)
	var props []string
	for _, a := range o.Attrs {
		if v != "" && a.Value == v {
			props = append(props, a.Name)
		}
	}
	return props
}

func configurable(class, name string) bool {
	if keep, ok := stateClasses[class]; ok {
		return slices.Contains(keep, name)
	}
	return !operProps[name] && !(name == "scope" && operScope[class])
}
