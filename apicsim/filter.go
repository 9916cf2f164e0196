package apicsim

import (
	"fmt"
	"strconv"
	"strings"
)

// filter is a parsed query-target-filter expression.
type filter interface {
	match(o *Object) bool
}

type andFilter []filter
type orFilter []filter
type notFilter struct{ f filter }

// cmpFilter compares class.attr with a value. An object of another class,
// or one without the attribute, never matches (as on the APIC).
type cmpFilter struct {
	op, class, attr, value string
}

func (f andFilter) match(o *Object) bool {
	for _, g := range f {
		if !g.match(o) {
			return false
		}
	}
	return true
}

func (f orFilter) match(o *Object) bool {
	for _, g := range f {
		if g.match(o) {
			return true
		}
	}
	return false
}

func (f notFilter) match(o *Object) bool { return !f.f.match(o) }

func (f cmpFilter) match(o *Object) bool {
	if o.Class != f.class {
		return false
	}
	v, ok := o.Get(f.attr)
	if !ok {
		return false
	}
	switch f.op {
	case "eq":
		return v == f.value
	case "ne":
		return v != f.value
	case "wcard":
		return strings.Contains(v, f.value)
	}
	c := compareValues(v, f.value)
	switch f.op {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	default: // le
		return c <= 0
	}
}

// compareValues compares numerically when both sides are numbers, else as strings.
func compareValues(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// parseFilter parses eq, ne, gt, ge, lt, le, wcard, and, or and not, e.g.
// and(eq(faultInst.severity,"critical"),ne(faultInst.lc,"retaining")).
func parseFilter(s string) (filter, error) {
	p := &filterParser{s: s}
	f, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.i:], p.i)
	}
	return f, nil
}

type filterParser struct {
	s string
	i int
}

func (p *filterParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *filterParser) expect(c byte) error {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != c {
		return fmt.Errorf("expected %q at offset %d", c, p.i)
	}
	p.i++
	return nil
}

func (p *filterParser) ident() string {
	p.space()
	start := p.i
	for p.i < len(p.s) && (isAlnum(p.s[p.i]) || p.s[p.i] == '.' || p.s[p.i] == '_') {
		p.i++
	}
	return p.s[start:p.i]
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *filterParser) expr() (filter, error) {
	op := p.ident()
	if err := p.expect('('); err != nil {
		return nil, err
	}
	switch op {
	case "and", "or", "not":
		return p.logical(op)
	case "eq", "ne", "gt", "ge", "lt", "le", "wcard":
		return p.compare(op)
	}
	return nil, fmt.Errorf("unknown filter operator %q", op)
}

func (p *filterParser) logical(op string) (filter, error) {
	var args []filter
	for {
		f, err := p.expr()
		if err != nil {
			return nil, err
		}
		args = append(args, f)
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		break
	}
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	switch op {
	case "and":
		return andFilter(args), nil
	case "or":
		return orFilter(args), nil
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("not takes one argument, got %d", len(args))
	}
	return notFilter{args[0]}, nil
}

func (p *filterParser) compare(op string) (filter, error) {
	prop := p.ident()
	class, attr, ok := strings.Cut(prop, ".")
	if !ok || class == "" || attr == "" {
		return nil, fmt.Errorf("property %q is not class.attribute", prop)
	}
	if err := p.expect(','); err != nil {
		return nil, err
	}
	if err := p.expect('"'); err != nil {
		return nil, err
	}
	end := strings.IndexByte(p.s[p.i:], '"')
	if end < 0 {
		return nil, fmt.Errorf("unterminated string at offset %d", p.i)
	}
	value := p.s[p.i : p.i+end]
	p.i += end + 1
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	return cmpFilter{op: op, class: class, attr: attr, value: value}, nil
}

// comparison returns the first gt, ge, lt or le in f, "" when there is none.
func comparison(f filter) string {
	var args []filter
	switch f := f.(type) {
	case cmpFilter:
		if f.op == "gt" || f.op == "ge" || f.op == "lt" || f.op == "le" {
			return f.op
		}
	case notFilter:
		args = []filter{f.f}
	case andFilter:
		args = f
	case orFilter:
		args = f
	}
	for _, g := range args {
		if op := comparison(g); op != "" {
			return op
		}
	}
	return ""
}
