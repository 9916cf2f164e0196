// Package statedef holds the definitions of the fabric-state metrics: what
// a metric reads from a class's objects (the YAML form users write and the
// built-ins are written in), their validation, and the rule that turns one
// object into its series. The collector keeps the same rule incrementally;
// apicsim's ground truth applies it to every object at once.
package statedef

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Kind is how a definition makes series out of objects.
type Kind string

// The kinds of README "Fabric state metrics".
const (
	Count       Kind = "count"       // objects per label set
	Value       Kind = "value"       // an attribute's number, per label set (summed)
	Info        Kind = "info"        // 1 per object, labels from attributes
	StateSet    Kind = "stateset"    // 1 for the current state, 0 for each other known one
	Transitions Kind = "transitions" // +1 each time attr enters a value
)

// DefaultMaxSeries caps a definition's series when max_series is omitted.
const DefaultMaxSeries = 10000

// Def is one state metric.
type Def struct {
	Name  string `yaml:"name"`
	Help  string `yaml:"help,omitempty"`
	Class string `yaml:"class"`
	// Filter is the subscription's query-target-filter; only filters on
	// the DN belong here (an object never leaves them).
	Filter string `yaml:"filter,omitempty"`
	// DN is a regular expression over the DN: objects that do not match
	// are left out; its named groups can be labels.
	DN   string `yaml:"dn,omitempty"`
	Kind Kind   `yaml:"kind"`
	// Value says where a value kind's number comes from.
	Value *ValueFrom `yaml:"value,omitempty"`
	// Attr is the attribute of a stateset or transitions definition.
	Attr string `yaml:"attr,omitempty"`
	// States are a stateset's known values of Attr.
	States []string `yaml:"states,omitempty"`
	// ValueLabel names the label that carries Attr's value (stateset,
	// transitions); default "state".
	ValueLabel string  `yaml:"value_label,omitempty"`
	Labels     []Label `yaml:"labels,omitempty"`
	Where      []Cond  `yaml:"where,omitempty"`
	// MaxSeries caps the series exported; default DefaultMaxSeries.
	MaxSeries int `yaml:"max_series,omitempty"`
}

// ValueFrom is a numeric attribute, scaled, or a state mapped to a number.
type ValueFrom struct {
	Attr  string             `yaml:"attr"`
	Scale float64            `yaml:"scale,omitempty"`
	Map   map[string]float64 `yaml:"map,omitempty"`
}

// Label is one label: from the DN (a named group of Def.DN, or tenant, pod,
// node) or from an attribute, optionally mapped.
type Label struct {
	Name string `yaml:"name"`
	DN   string `yaml:"dn,omitempty"`
	Attr string `yaml:"attr,omitempty"`
	// Map replaces attribute values; a value not in it becomes Default
	// when that is set, else stays. An absent attribute is Default.
	Map     map[string]string `yaml:"map,omitempty"`
	Default string            `yaml:"default,omitempty"`
}

// Cond is a condition on an attribute (absent reads as ""): exactly one of
// In, NotIn and Match.
type Cond struct {
	Attr  string   `yaml:"attr"`
	In    []string `yaml:"in,omitempty"`
	NotIn []string `yaml:"not_in,omitempty"`
	Match string   `yaml:"match,omitempty"`
}

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	classRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
)

// reservedLabels are set by the exporter.
var reservedLabels = []string{"fabric"}

// Metric is a validated definition, ready to evaluate.
type Metric struct {
	Def
	dn     *regexp.Regexp
	labels []label
	where  []cond
}

type label struct {
	Label
	group int    // index of the DN group, or -1
	from  string // "tenant", "pod", "node" or "" (a group or an attribute)
}

type cond struct {
	Cond
	match *regexp.Regexp
}

// Compile validates d. Its error names the field at fault; the config
// package adds the line.
func Compile(d Def) (*Metric, error) {
	m := &Metric{Def: d}
	if err := m.compile(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Metric) compile() error {
	d := &m.Def
	if !nameRE.MatchString(d.Name) {
		return fmt.Errorf("name: %q is not a metric name", d.Name)
	}
	if !classRE.MatchString(d.Class) {
		return fmt.Errorf("class: %q is not an APIC class name", d.Class)
	}
	if d.MaxSeries < 0 {
		return fmt.Errorf("max_series: %d is negative", d.MaxSeries)
	}
	if d.MaxSeries == 0 {
		d.MaxSeries = DefaultMaxSeries
	}
	if d.Help == "" {
		d.Help = "State metric " + d.Name + " of class " + d.Class + "."
	}
	if d.DN != "" {
		re, err := regexp.Compile(d.DN)
		if err != nil {
			return fmt.Errorf("dn: %w", err)
		}
		m.dn = re
	}
	if err := m.compileKind(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, l := range d.Labels {
		cl, err := m.compileLabel(l)
		if err != nil {
			return err
		}
		if seen[l.Name] {
			return fmt.Errorf("labels: %q given twice", l.Name)
		}
		seen[l.Name] = true
		m.labels = append(m.labels, cl)
	}
	if m.HasValueLabel() && seen[d.ValueLabel] {
		return fmt.Errorf("value_label: %q is also in labels", d.ValueLabel)
	}
	for _, c := range d.Where {
		cc, err := compileCond(c)
		if err != nil {
			return err
		}
		m.where = append(m.where, cc)
	}
	return nil
}

func (m *Metric) compileKind() error {
	d := &m.Def
	switch d.Kind {
	case Count, Info:
		if d.Value != nil || d.Attr != "" || d.States != nil || d.ValueLabel != "" {
			return fmt.Errorf("kind %s takes none of value, attr, states, value_label", d.Kind)
		}
	case Value:
		switch {
		case d.Value == nil || d.Value.Attr == "":
			return fmt.Errorf("value.attr: kind value needs the attribute to read")
		case d.Value.Scale != 0 && d.Value.Map != nil:
			return fmt.Errorf("value: give scale or map, not both")
		case d.Attr != "" || d.States != nil || d.ValueLabel != "":
			return fmt.Errorf("kind value takes none of attr, states, value_label")
		case d.Value.Map != nil && len(d.Value.Map) == 0:
			return fmt.Errorf("value.map: empty: no state would have a number")
		case !finite(d.Value.Scale):
			return fmt.Errorf("value.scale: %v is not a finite number", d.Value.Scale)
		}
		for k, v := range d.Value.Map {
			if !finite(v) {
				return fmt.Errorf("value.map: %q: %v is not a finite number", k, v)
			}
		}
		// A copy: Value points into the caller's Def, which stays as written.
		v := *d.Value
		if v.Scale == 0 && v.Map == nil {
			v.Scale = 1
		}
		d.Value = &v
	case StateSet, Transitions:
		if d.Attr == "" {
			return fmt.Errorf("attr: kind %s needs the attribute it watches", d.Kind)
		}
		if d.Value != nil {
			return fmt.Errorf("value: kind %s takes attr, not value", d.Kind)
		}
		if d.Kind == Transitions && d.States != nil {
			return fmt.Errorf("states: only kind stateset lists states")
		}
		if d.Kind == StateSet && len(d.States) == 0 {
			return fmt.Errorf("states: kind stateset needs its known states")
		}
		if d.ValueLabel == "" {
			d.ValueLabel = "state"
		}
		if !labelRE.MatchString(d.ValueLabel) || slices.Contains(reservedLabels, d.ValueLabel) {
			return fmt.Errorf("value_label: %q is not a label name the definition may use", d.ValueLabel)
		}
	case "":
		return fmt.Errorf("kind: missing (count, value, info, stateset or transitions)")
	default:
		return fmt.Errorf("kind: %q is not count, value, info, stateset or transitions", d.Kind)
	}
	return nil
}

// HasValueLabel reports whether the last label carries Attr's value
// (stateset, transitions).
func (m *Metric) HasValueLabel() bool { return m.Kind == StateSet || m.Kind == Transitions }

func (m *Metric) compileLabel(l Label) (label, error) {
	cl := label{Label: l, group: -1}
	switch {
	case !labelRE.MatchString(l.Name) || strings.HasPrefix(l.Name, "__") || slices.Contains(reservedLabels, l.Name):
		return cl, fmt.Errorf("labels: %q is not a label name the definition may use", l.Name)
	case (l.DN == "") == (l.Attr == ""):
		return cl, fmt.Errorf("labels: %q needs exactly one of dn and attr", l.Name)
	case l.DN != "" && (l.Map != nil || l.Default != ""):
		return cl, fmt.Errorf("labels: %q: map and default apply to attributes only", l.Name)
	case l.Attr != "":
		return cl, nil
	}
	if m.dn != nil {
		if g := m.dn.SubexpIndex(l.DN); g > 0 {
			cl.group = g
			return cl, nil
		}
	}
	switch l.DN {
	case "tenant", "pod", "node":
		cl.from = l.DN
		return cl, nil
	}
	return cl, fmt.Errorf("labels: %q: dn %q is neither a named group of dn nor tenant, pod or node", l.Name, l.DN)
}

func compileCond(c Cond) (cond, error) {
	cc := cond{Cond: c}
	n := 0
	for _, set := range []bool{c.In != nil, c.NotIn != nil, c.Match != ""} {
		if set {
			n++
		}
	}
	switch {
	case c.Attr == "":
		return cc, fmt.Errorf("where: a condition needs attr")
	case n != 1:
		return cc, fmt.Errorf("where: %s needs exactly one of in, not_in and match", c.Attr)
	case c.In != nil && len(c.In) == 0, c.NotIn != nil && len(c.NotIn) == 0:
		return cc, fmt.Errorf("where: %s: an empty list of values", c.Attr)
	case c.Match != "":
		re, err := regexp.Compile("^(?:" + c.Match + ")$")
		if err != nil {
			return cc, fmt.Errorf("where: %s: match: %w", c.Attr, err)
		}
		cc.match = re
	}
	return cc, nil
}

// Attrs returns the attributes the metric reads, without repeats.
func (m *Metric) Attrs() []string {
	var out []string
	add := func(a string) {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, l := range m.Labels {
		add(l.Attr)
	}
	for _, c := range m.Where {
		add(c.Attr)
	}
	if m.Value != nil {
		add(m.Value.Attr)
	}
	add(m.Attr)
	return out
}

// LabelNames are the metric's label names after fabric, in order: the
// labels, then the value label of a stateset or transitions.
func (m *Metric) LabelNames() []string {
	out := make([]string, 0, len(m.labels)+1)
	for _, l := range m.labels {
		out = append(out, l.Name)
	}
	if m.HasValueLabel() {
		out = append(out, m.ValueLabel)
	}
	return out
}

// IsCounter reports whether the metric is a counter (transitions).
func (m *Metric) IsCounter() bool { return m.Kind == Transitions }

// DNLabels returns the label values the DN gives (in label order, "" for
// labels from attributes), and false when the DN does not match Def.DN.
func (m *Metric) DNLabels(dn, tenant string) ([]string, bool) {
	var groups []string
	if m.dn != nil {
		groups = m.dn.FindStringSubmatch(dn)
		if groups == nil {
			return nil, false
		}
	}
	out := make([]string, len(m.labels))
	var pod, node string
	podNode := false
	for i, l := range m.labels {
		switch {
		case l.group > 0:
			out[i] = groups[l.group]
		case l.from == "tenant":
			out[i] = tenant
		case l.from != "":
			if !podNode {
				pod, node = PodNode(dn)
				podNode = true
			}
			if l.from == "pod" {
				out[i] = pod
			} else {
				out[i] = node
			}
		}
	}
	return out, true
}

// PodNode returns P and N of a DN that is topology/pod-P/node-N or starts
// with it and a '/', else "", "".
func PodNode(dn string) (pod, node string) {
	rest, ok := strings.CutPrefix(dn, "topology/pod-")
	if !ok {
		return "", ""
	}
	p, rest, ok := strings.Cut(rest, "/")
	if !ok || !digits(p) {
		return "", ""
	}
	rest, ok = strings.CutPrefix(rest, "node-")
	if !ok {
		return "", ""
	}
	n, _, _ := strings.Cut(rest, "/")
	if !digits(n) {
		return "", ""
	}
	return p, n
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Holds reports whether an attribute value passes the i-th condition.
func (m *Metric) Holds(i int, v string) bool {
	c := &m.where[i]
	switch {
	case c.match != nil:
		return c.match.MatchString(v)
	case c.In != nil:
		return slices.Contains(c.In, v)
	}
	return !slices.Contains(c.NotIn, v)
}

// LabelValue maps the i-th label's attribute value (absent: ok false).
func (m *Metric) LabelValue(i int, v string, ok bool) string {
	l := &m.labels[i]
	if !ok {
		return l.Default
	}
	if l.Map != nil {
		if mv, in := l.Map[v]; in {
			return mv
		}
		if l.Default != "" {
			return l.Default
		}
	}
	return v
}

// Number returns the value of a value kind for an attribute value, and
// false when it has none (absent, not a finite number, not in the map).
func (m *Metric) Number(v string, ok bool) (float64, bool) {
	if !ok {
		return 0, false
	}
	if m.Value.Map != nil {
		n, in := m.Value.Map[v]
		return n, in
	}
	n, err := strconv.ParseFloat(v, 64)
	n *= m.Value.Scale
	if err != nil || !finite(n) { // NaN, "inf" or beyond float64 would stay in a sum for good
		return 0, false
	}
	return n, true
}
