package statedef

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

//go:embed builtins.yaml
var builtinsYAML []byte

// BuiltinsYAML is the built-in set as shipped, for --state.print-builtins.
func BuiltinsYAML() []byte { return slices.Clone(builtinsYAML) }

// Builtin is a built-in definition with its group and default.
type Builtin struct {
	Group string `yaml:"group"`
	Off   bool   `yaml:"off,omitempty"` // opt-in: state.enable switches it on
	Def   `yaml:",inline"`
}

var builtins = mustParseBuiltins()

func mustParseBuiltins() []Builtin {
	var bs []Builtin
	dec := yaml.NewDecoder(bytes.NewReader(builtinsYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&bs); err != nil {
		panic("statedef: builtins.yaml: " + err.Error())
	}
	for _, b := range bs {
		if _, err := Compile(b.Def); err != nil {
			panic("statedef: builtins.yaml: " + b.Name + ": " + err.Error())
		}
	}
	return bs
}

// Builtins returns the built-in definitions.
func Builtins() []Builtin { return slices.Clone(builtins) }

// Groups are the built-in groups, in order.
func Groups() []string {
	var out []string
	for _, b := range builtins {
		if !slices.Contains(out, b.Group) {
			out = append(out, b.Group)
		}
	}
	return out
}

// Selection is a fabric's state: section: which built-ins, and its own.
type Selection struct {
	// Builtins are the groups on; nil means all of them.
	Builtins []string
	// AllBuiltins is true when Builtins was not given.
	AllBuiltins bool
	Enable      []string // opt-in built-ins switched on, by name
	Disable     []string // built-ins switched off, by name
	Metrics     []Def    // user metrics; a built-in's name replaces it
}

// Resolve returns the metrics a selection turns on: the selected
// built-ins that are not disabled (user metrics of the same name in their
// place), then the other user metrics. Errors name the entry at fault.
func Resolve(sel Selection) ([]*Metric, error) {
	names := map[string]bool{}
	groups := Groups()
	for _, g := range sel.Builtins {
		if !slices.Contains(groups, g) {
			return nil, fmt.Errorf("builtins: %q is not a built-in group (%v)", g, groups)
		}
	}
	for _, b := range builtins {
		names[b.Name] = true
	}
	for _, n := range append(slices.Clone(sel.Enable), sel.Disable...) {
		if !names[n] {
			return nil, fmt.Errorf("%q is not a built-in metric", n)
		}
	}
	user := map[string]int{}
	for i, d := range sel.Metrics {
		if _, dup := user[d.Name]; dup {
			return nil, fmt.Errorf("metrics[%d]: %q defined twice", i, d.Name)
		}
		user[d.Name] = i
	}
	var out []*Metric
	used := map[string]bool{}
	for _, b := range builtins {
		on := (sel.AllBuiltins || slices.Contains(sel.Builtins, b.Group)) && !slices.Contains(sel.Disable, b.Name)
		if b.Off {
			on = slices.Contains(sel.Enable, b.Name)
		}
		if !on {
			continue
		}
		d := b.Def
		if i, ok := user[b.Name]; ok {
			d = sel.Metrics[i]
			used[b.Name] = true
		}
		m, err := Compile(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		out = append(out, m)
	}
	for i, d := range sel.Metrics {
		if used[d.Name] {
			continue
		}
		m, err := Compile(d)
		if err != nil {
			return nil, fmt.Errorf("metrics[%d]: %w", i, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Classes returns the classes the metrics read, in first-use order.
func Classes(ms []*Metric) []string {
	var out []string
	for _, m := range ms {
		if !slices.Contains(out, m.Class) {
			out = append(out, m.Class)
		}
	}
	return out
}

// AttrNames returns every attribute the metrics read, without repeats.
func AttrNames(ms []*Metric) []string {
	var out []string
	for _, m := range ms {
		for _, a := range m.Attrs() {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}
