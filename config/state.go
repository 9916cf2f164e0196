package config

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aci-exporter/aci-exporter/statedef"
)

// checkState validates f's state: section and resolves it. n is f's node;
// at names f in messages. Each problem names the key path under state and
// the line of the key at fault.
func (f *Fabric) checkState(p *problems, n *yaml.Node, at string) {
	f.stateMetrics = nil
	sn := value(n, "state")
	s := &f.State
	before := len(*p)
	groups := statedef.Groups()
	if s.Builtins != nil {
		list := value(sn, "builtins")
		for i, g := range *s.Builtins {
			if !slices.Contains(groups, g) {
				p.add(item(list, i), "%s: state.builtins[%d]: %q is not a built-in group (%s)", at, i, g, strings.Join(groups, ", "))
			}
		}
	}
	builtins := map[string]statedef.Builtin{}
	var optIn []string
	for _, b := range statedef.Builtins() {
		builtins[b.Name] = b
		if b.Off {
			optIn = append(optIn, b.Name)
		}
	}
	enable, disable := value(sn, "enable"), value(sn, "disable")
	for i, name := range s.Enable {
		b, ok := builtins[name]
		switch {
		case !ok:
			p.add(item(enable, i), "%s: state.enable[%d]: %q is not a built-in metric", at, i, name)
		case !b.Off:
			p.add(item(enable, i), "%s: state.enable[%d]: %q is on by default; enable switches on the opt-in built-ins (%s)", at, i, name, strings.Join(optIn, ", "))
		case slices.Contains(s.Disable, name):
			p.add(item(enable, i), "%s: state.enable[%d]: %q is also under disable", at, i, name)
		}
	}
	for i, name := range s.Disable {
		if _, ok := builtins[name]; !ok {
			p.add(item(disable, i), "%s: state.disable[%d]: %q is not a built-in metric", at, i, name)
		}
	}
	list := value(sn, "metrics")
	seen := map[string]int{}
	for i, d := range s.Metrics {
		mn := item(list, i)
		mat := fmt.Sprintf("%s: state.metrics[%d]", at, i)
		if _, err := statedef.Compile(d); err != nil {
			node, msg := defProblem(mn, d, err)
			p.add(node, "%s%s", mat, msg)
			continue
		}
		if d.MaxSeries == 0 && given(mn, "max_series") {
			p.add(key(mn, "max_series"), "%s.max_series: must be positive; omit it for the default (%d)", mat, statedef.DefaultMaxSeries)
		}
		if j, dup := seen[d.Name]; dup {
			p.add(orNode(key(mn, "name"), mn), "%s.name: %q is already defined by state.metrics[%d]", mat, d.Name, j)
			continue
		}
		seen[d.Name] = i
	}
	if len(*p) > before {
		return
	}
	ms, err := statedef.Resolve(s.selection())
	if err != nil {
		// Not reached: every entry was checked above. Kept so that a
		// rule added to Resolve alone still refuses the config.
		p.add(orNode(key(n, "state"), n), "%s: state: %v", at, err)
		return
	}
	f.stateMetrics = ms
}

func (s *State) selection() statedef.Selection {
	sel := statedef.Selection{AllBuiltins: s.Builtins == nil, Enable: s.Enable, Disable: s.Disable, Metrics: s.Metrics}
	if s.Builtins != nil {
		sel.Builtins = *s.Builtins
	}
	return sel
}

// defProblem places an error of statedef.Compile for definition d, whose
// node is n: at the key the error names (a label or condition by its
// index), and returns the message with that key's path.
func defProblem(n *yaml.Node, d statedef.Def, err error) (*yaml.Node, string) {
	msg := err.Error()
	field, rest, ok := strings.Cut(msg, ": ")
	if !ok || strings.ContainsAny(field, " \"") {
		// Not a field: e.g. "kind count takes none of value, attr, ...".
		if strings.HasPrefix(msg, "kind ") {
			return orNode(key(n, "kind"), n), ": " + msg
		}
		return n, ": " + msg
	}
	switch field {
	case "labels":
		labels := d.Labels
		i := culprit(len(labels), func(k int) statedef.Def { c := d; c.Labels, c.Where = labels[:k], nil; return c })
		return orNode(item(value(n, "labels"), i), n), fmt.Sprintf(".labels[%d]: %s", i, rest)
	case "where":
		conds := d.Where
		i := culprit(len(conds), func(k int) statedef.Def { c := d; c.Where = conds[:k]; return c })
		c := item(value(n, "where"), i)
		if strings.Contains(rest, ": match: ") {
			c = orNode(key(c, "match"), c)
		}
		return orNode(c, n), fmt.Sprintf(".where[%d]: %s", i, rest)
	}
	node := orNode(key(n, field), n)
	if parent, sub, nested := strings.Cut(field, "."); nested { // value.attr
		node = orNode(key(value(n, parent), sub), orNode(key(n, parent), n))
	}
	return node, "." + field + ": " + rest
}

// culprit returns the index of the first element of a list whose prefix
// up to it no longer compiles; with a list of that length, def(k) is the
// definition holding its first k elements.
func culprit(length int, def func(k int) statedef.Def) int {
	for k := 1; k <= length; k++ {
		if _, err := statedef.Compile(def(k)); err != nil {
			return k - 1
		}
	}
	return max(length-1, 0)
}

// checkStateAcross refuses a metric name that two fabrics define with a
// different kind or labels: /metrics merges a name's series of every
// fabric into one family. doc is the document's top node.
func (c *Config) checkStateAcross(p *problems, doc *yaml.Node) {
	fabrics := value(doc, "fabrics")
	type use struct {
		m    *statedef.Metric
		at   string     // where it is defined, e.g. fabrics[0] "prod": state.metrics[1]
		node *yaml.Node // its node; nil for a built-in
	}
	find := func(i int, m *statedef.Metric) use {
		f := &c.Fabrics[i]
		for j, d := range f.State.Metrics {
			if d.Name == m.Name {
				at := fmt.Sprintf("fabrics[%d] %q: state.metrics[%d]", i, f.Name, j)
				return use{m, at, item(value(value(item(fabrics, i), "state"), "metrics"), j)}
			}
		}
		return use{m, fmt.Sprintf("fabrics[%d] %q: built-in", i, f.Name), nil}
	}
	type seen struct {
		fabric int
		m      *statedef.Metric
	}
	first := map[string]seen{}
	for i := range c.Fabrics {
		for _, m := range c.Fabrics[i].stateMetrics {
			o, ok := first[m.Name]
			if !ok {
				first[m.Name] = seen{i, m}
				continue
			}
			if o.m.Kind == m.Kind && slices.Equal(o.m.LabelNames(), m.LabelNames()) {
				continue
			}
			here, there := find(i, m), find(o.fabric, o.m)
			if here.node == nil { // report at the user's definition, which has a line
				here, there = there, here
			}
			other := there.at
			if there.node != nil {
				other += fmt.Sprintf(" (line %d)", there.node.Line)
			}
			p.add(orNode(here.node, item(fabrics, i)),
				"%s: %s has kind %s and labels [%s] here, but kind %s and labels [%s] in %s; a metric's series of every fabric make one family, so they must agree",
				here.at, m.Name, here.m.Kind, strings.Join(here.m.LabelNames(), " "), there.m.Kind, strings.Join(there.m.LabelNames(), " "), other)
		}
	}
}

// normalize drops empty lists and maps that mean the same as omitted ones,
// so that a dump, which omits them, parses back to the same section.
func (s *State) normalize() {
	if len(s.Enable) == 0 {
		s.Enable = nil
	}
	if len(s.Disable) == 0 {
		s.Disable = nil
	}
	if len(s.Metrics) == 0 {
		s.Metrics = nil
	}
	for i := range s.Metrics {
		d := &s.Metrics[i]
		if len(d.Labels) == 0 {
			d.Labels = nil
		}
		if len(d.Where) == 0 {
			d.Where = nil
		}
		for j := range d.Labels {
			if len(d.Labels[j].Map) == 0 {
				d.Labels[j].Map = nil
			}
		}
	}
}

// AllSubscriptions returns what the fabric subscribes to: the configured
// subscriptions (the defaults when none are), then one for each class and
// filter of its state metrics that none of those already subscribes. An
// added subscription is named after its class, or, when a configured one
// has that name, the class and "-state" (no filter) or a hash of the filter.
func (f Fabric) AllSubscriptions() []Subscription {
	out := slices.Clone(f.Subscriptions)
	names := map[string]bool{}
	for _, s := range out {
		names[s.Name] = true
	}
	for _, m := range f.stateMetrics {
		if slices.ContainsFunc(out, func(s Subscription) bool { return s.Class == m.Class && s.Filter == m.Filter }) {
			continue
		}
		name := m.Class
		if names[name] {
			suffix := "state"
			if m.Filter != "" {
				h := fnv.New32a()
				h.Write([]byte(m.Filter))
				suffix = fmt.Sprintf("%08x", h.Sum32())[:6]
			}
			name = m.Class + "-" + suffix
			for n := 2; names[name]; n++ {
				name = fmt.Sprintf("%s-%s-%d", m.Class, suffix, n)
			}
		}
		names[name] = true
		out = append(out, Subscription{Name: name, Class: m.Class, Filter: m.Filter})
	}
	return out
}
