package apicsim

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// query is a parsed class or MO query (apic-protocol.md §3.1).
type query struct {
	class          string // class queries: the class asked for
	dn             string // MO queries: the DN asked for
	target         string // self, children or subtree
	subtreeClasses []string
	filter         filter
	filterText     string
	page, pageSize int // pageSize 0: unpaged
	orderBy        string
	desc           bool
	subscribe      bool
	refreshTimeout int // seconds; 0: the default

	// What the answer holds besides the objects (rsp-* options).
	rspSubtree  string   // no, children or full
	rspClasses  []string // rsp-subtree-class
	rspFilter   filter   // rsp-subtree-filter
	include     includes // rsp-subtree-include
	propInclude string   // all, naming-only or config-only

	unknown []string // options accepted but not modelled, for the debug log
}

// includes are the rsp-subtree-include categories apicsim models.
type includes struct {
	count    bool // one moCount object instead of the objects
	required bool // only objects that have children in the answer
	health   bool // each object's healthInst child
	faults   bool // each object's faultInst and faultDelegate children
}

// queryError is a client error answered with HTTP 400.
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

func badQuery(format string, a ...any) error { return &queryError{fmt.Sprintf(format, a...)} }

// parseQuery reads /api/[node/]class/X.json and /api/[node/]mo/DN.json
// requests. Values are accepted raw or percent-encoded: some clients send
// ( ) " , unencoded, and a '+' stays a '+'.
func parseQuery(path, rawQuery string) (*query, error) {
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		return nil, badQuery("unknown path %s", path)
	}
	rest = strings.TrimPrefix(rest, "node/")
	rest, ok = strings.CutSuffix(rest, ".json")
	if !ok {
		return nil, badQuery("only .json queries are supported")
	}
	q := &query{target: "self", rspSubtree: "no", propInclude: "all"}
	switch {
	case strings.HasPrefix(rest, "class/"):
		q.class = strings.TrimPrefix(rest, "class/")
		if q.class == "" || strings.Contains(q.class, "/") {
			return nil, badQuery("invalid class %q", q.class)
		}
		if !className(q.class) {
			return nil, unresolvedClass(q.class)
		}
	case strings.HasPrefix(rest, "mo/"):
		q.dn = strings.TrimPrefix(rest, "mo/")
		if q.dn == "" {
			return nil, badQuery("empty dn")
		}
	default:
		return nil, badQuery("unknown path %s", path)
	}
	return q, q.parseOptions(rawQuery)
}

func (q *query) parseOptions(rawQuery string) error {
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		val, err := url.PathUnescape(v)
		if err != nil {
			return badQuery("bad value for %s: %v", k, err)
		}
		if err := q.option(k, val); err != nil {
			return err
		}
	}
	return nil
}

func (q *query) option(k, v string) error {
	var err error
	switch k {
	case "query-target":
		if !slices.Contains([]string{"self", "children", "subtree"}, v) {
			return badQuery("invalid query-target %q", v)
		}
		q.target = v
	case "target-subtree-class":
		q.subtreeClasses, err = classList(v)
	case "query-target-filter":
		q.filterText = v
		if q.filter, err = parseFilter(v); err != nil {
			return badQuery("invalid query-target-filter: %v", err)
		}
	case "page":
		q.page, err = nonNegative(k, v)
	case "page-size":
		q.pageSize, err = nonNegative(k, v)
		if err == nil && q.pageSize == 0 {
			err = badQuery("page-size must be positive")
		}
	case "order-by":
		return q.parseOrder(v)
	case "subscription":
		q.subscribe = v == "yes"
	case "refresh-timeout":
		q.refreshTimeout, err = nonNegative(k, v)
	case "rsp-subtree":
		q.rspSubtree, err = oneOf(k, v, "no", "children", "full")
	case "rsp-subtree-class":
		q.rspClasses, err = classList(v)
	case "rsp-subtree-filter":
		if q.rspFilter, err = parseFilter(v); err != nil {
			return badQuery("invalid rsp-subtree-filter: %v", err)
		}
	case "rsp-subtree-include":
		q.parseIncludes(v)
	case "rsp-prop-include":
		q.propInclude, err = oneOf(k, v, "all", "naming-only", "config-only")
	default:
		// Accepted as an APIC would, but without effect here
		// (time-range, rsp-subtree-func, a GUI's _dc, ...).
		q.unknown = append(q.unknown, k)
	}
	return err
}

func oneOf(k, v string, allowed ...string) (string, error) {
	if !slices.Contains(allowed, v) {
		return "", badQuery("invalid %s %q", k, v)
	}
	return v, nil
}

// parseIncludes reads rsp-subtree-include; categories apicsim does not
// model (relations, stats, fault-count, no-scoped, ...) are noted for the
// debug log and otherwise ignored.
func (q *query) parseIncludes(v string) {
	for cat := range strings.SplitSeq(v, ",") {
		switch cat {
		case "count":
			q.include.count = true
		case "required":
			q.include.required = true
		case "health":
			q.include.health = true
		case "faults":
			q.include.faults = true
		case "":
		default:
			q.unknown = append(q.unknown, "rsp-subtree-include="+cat)
		}
	}
}

// classList reads a comma-separated list of class names; empty entries,
// as in rsp-subtree-class=,tagAnnotation (apic-protocol.md §3.1), are
// skipped.
func classList(v string) ([]string, error) {
	var classes []string
	for c := range strings.SplitSeq(v, ",") {
		if c == "" {
			continue
		}
		if !className(c) {
			return nil, unresolvedClass(c)
		}
		classes = append(classes, c)
	}
	return classes, nil
}

// className reports whether name is shaped like an APIC class: a
// lower-case package, then an upper-case letter (fvTenant, l3extOut,
// eqptIngrTotal5min). apicsim cannot know the APIC's whole catalogue of
// classes, so a well-shaped name it does not model is a class without
// objects, and anything else is not a class at all.
func className(name string) bool {
	i := 0
	for i < len(name) && (name[i] >= 'a' && name[i] <= 'z' || i > 0 && name[i] >= '0' && name[i] <= '9') {
		i++
	}
	if i == 0 || i == len(name) || name[i] < 'A' || name[i] > 'Z' {
		return false
	}
	for ; i < len(name); i++ {
		if !isAlnum(name[i]) {
			return false
		}
	}
	return true
}

// unresolvedClass is the APIC's answer for a name that is no class (seen
// from APIC 4.x to 6.x by Cisco's pre-upgrade validation script).
func unresolvedClass(name string) error {
	return badQuery("Request failed, unresolved class for %s", name)
}

// shaped reports whether the answer is more than the plain objects.
func (q *query) shaped() bool {
	return q.rspSubtree != "no" || q.include.health || q.include.faults || q.include.required || q.propInclude != "all"
}

func nonNegative(k, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badQuery("invalid %s %q", k, v)
	}
	return n, nil
}

// parseOrder reads order-by=class.attr|asc or |desc.
func (q *query) parseOrder(v string) error {
	prop, dir, _ := strings.Cut(v, "|")
	_, attr, ok := strings.Cut(prop, ".")
	if !ok || attr == "" {
		return badQuery("invalid order-by %q", v)
	}
	switch dir {
	case "", "asc":
	case "desc":
		q.desc = true
	default:
		return badQuery("invalid order-by direction %q", dir)
	}
	q.orderBy = attr
	return nil
}

// classes returns the classes whose objects the query can return, or nil
// when any class can match (children or a subtree without
// target-subtree-class).
func (q *query) classes() []string {
	if q.target != "self" {
		return q.subtreeClasses
	}
	if q.class != "" {
		return []string{q.class}
	}
	return nil
}

// matches reports whether o is in the query's scope. lookup finds the
// objects around o, for class queries that reach into subtrees.
func (q *query) matches(o *Object, lookup func(dn string) *Object) bool {
	if q.filter != nil && !q.filter.match(o) {
		return false
	}
	if cls := q.classes(); cls != nil && !slices.Contains(cls, o.Class) {
		return false
	}
	if q.class != "" {
		if q.target == "self" {
			return o.Class == q.class
		}
		return q.underClass(o, lookup)
	}
	switch q.target {
	case "self":
		return o.DN == q.dn
	case "children":
		return parentDN(o.DN) == q.dn
	}
	return o.DN == q.dn || strings.HasPrefix(o.DN, q.dn+"/")
}

// underClass: o is an object of q.class or sits below one.
func (q *query) underClass(o *Object, lookup func(dn string) *Object) bool {
	rns := splitDN(o.DN)
	for i := len(rns); i > 0; i-- {
		if i < len(rns) && q.target == "children" && i != len(rns)-1 {
			break
		}
		anc := strings.Join(rns[:i], "/")
		if anc == o.DN {
			if o.Class == q.class && q.target == "subtree" {
				return true
			}
			continue
		}
		if a := lookup(anc); a != nil && a.Class == q.class {
			return true
		}
	}
	return false
}
