package statedef

// Attrs reads an object's attributes: a value, and whether it is present.
type Attrs func(name string) (string, bool)

// Series applies the metric's rule to one object: the label values of the
// series it adds to (in LabelNames order, after fabric) and what it adds
// (1, or the value of a value kind). ok is false when the object adds to
// no series: its DN does not match, a condition fails, a value kind has no
// number, or a stateset or transitions object lacks the attribute.
func (m *Metric) Series(dn, tenant string, get Attrs) (labels []string, value float64, ok bool) {
	labels, ok = m.DNLabels(dn, tenant)
	if !ok {
		return nil, 0, false
	}
	for i := range m.where {
		v, _ := get(m.where[i].Attr)
		if !m.Holds(i, v) {
			return nil, 0, false
		}
	}
	for i, l := range m.labels {
		if l.Attr != "" {
			v, has := get(l.Attr)
			labels[i] = m.LabelValue(i, v, has)
		}
	}
	value = 1
	switch m.Kind {
	case Value:
		v, has := get(m.Value.Attr)
		if value, ok = m.Number(v, has); !ok {
			return nil, 0, false
		}
	case StateSet, Transitions:
		v, has := get(m.Attr)
		if !has {
			return nil, 0, false
		}
		labels = append(labels, v)
	}
	return labels, value, true
}

// Entered returns the series a transitions metric counts when an object
// goes from pre to post (pre nil: it did not exist; post must exist), and
// false when the watched attribute did not enter a new value.
func (m *Metric) Entered(dn, tenant string, pre, post Attrs) ([]string, bool) {
	v, has := post(m.Attr)
	if !has {
		return nil, false
	}
	if pre != nil {
		if old, had := pre(m.Attr); had && old == v {
			return nil, false
		}
	}
	labels, _, ok := m.Series(dn, tenant, post)
	return labels, ok
}

// Gauges calls add for every gauge series one object makes under the
// metric's rule, with what it adds: its series, and for a state set a 0
// for each other known state of its label set, which the series exist
// for. It is the rule over all objects at once, applied one by one; sums
// over the objects are the gauges.
func (m *Metric) Gauges(dn, tenant string, get Attrs, add func(labels []string, v float64)) {
	labels, v, ok := m.Series(dn, tenant, get)
	if !ok {
		return
	}
	if m.Kind == StateSet {
		base := labels[: len(labels)-1 : len(labels)-1]
		for _, st := range m.States {
			if st != labels[len(labels)-1] {
				add(append(base, st), 0)
			}
		}
	}
	add(labels, v)
}
