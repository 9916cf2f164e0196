package collector

import (
	"encoding/binary"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/aci-exporter/aci-exporter/event"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// The state engine turns object attributes into the state metrics of
// statedef, incrementally: each object keeps, per class, the attributes
// some metric reads (interned: severities, codes and states repeat), and
// every change moves the object's contribution from its old series to its
// new one at event time. A scrape reads the series; it never walks objects.

// values interns attribute values and label values. Id 0 is absence.
type values struct {
	ids   map[string]uint32
	names []string
}

func newValues() *values { return &values{ids: map[string]uint32{}, names: []string{""}} }

func (v *values) id(s string) uint32 {
	if id, ok := v.ids[s]; ok {
		return id
	}
	id := uint32(len(v.names))
	s = strings.Clone(s)
	v.names = append(v.names, s)
	v.ids[s] = id
	return id
}

// stateClass is what a class's objects keep for its metrics: one interned
// value per attribute slot.
type stateClass struct {
	slots   map[string]int // attribute name -> slot
	metrics []*stateMetric
}

func (sc *stateClass) width() int { return len(sc.slots) }

// load merges attributes into an object's slots.
func (sc *stateClass) load(dst []uint32, attrs []event.Attr, vals *values) {
	for k := range attrs {
		if j, ok := sc.slots[attrs[k].Name]; ok {
			dst[j] = vals.id(attrs[k].Value)
		}
	}
}

// stateMetric is one definition's series, kept up to date.
type stateMetric struct {
	def        *statedef.Metric
	index      int   // the metric's place in its class: its column of dnKeys
	labelSlots []int // per label: its attribute's slot, or -1 for a DN label
	whereSlots []int
	valueSlot  int // value kind: the attribute's slot; stateset, transitions: the watched one
	states     map[uint32]int
	stateOrder []int // state set: its states' indexes in the order of their values, the scrape's

	// DN label tuples, interned; key 0 means the DN does not match.
	dnKeys map[string]uint32
	dnVals [][]string

	// Caches over value ids: conditions, label maps, numbers.
	holds   []map[uint32]bool
	mapped  []map[uint32]uint32
	numbers map[uint32]number

	series   map[string]*stateSeries
	order    []*stateSeries // series sorted by label values: the scrape's order
	admitted int            // series exported
	refused  uint64
}

type number struct {
	v  float64
	ok bool
}

// stateSeries is one exported series (for a state set: one label set with
// all its states).
type stateSeries struct {
	labels   []*dto.LabelPair
	n        int                // objects contributing
	sum      float64            // value, or transitions counted
	vals     []float64          // value kind: each object's value, summed afresh when one goes
	states   []int              // state set: objects per known state
	stateLbl [][]*dto.LabelPair // state set: the labels of each known state's series
	other    map[uint32]*stateSeries
	admitted bool
}

func newStateClasses(ms []*statedef.Metric, vals *values) map[string]*stateClass {
	out := map[string]*stateClass{}
	for _, m := range ms {
		sc := out[m.Class]
		if sc == nil {
			sc = &stateClass{slots: map[string]int{}}
			out[m.Class] = sc
		}
		for _, a := range m.Attrs() {
			if _, ok := sc.slots[a]; !ok {
				sc.slots[a] = len(sc.slots)
			}
		}
		sc.metrics = append(sc.metrics, newStateMetric(m, sc, len(sc.metrics), vals))
	}
	return out
}

func newStateMetric(m *statedef.Metric, sc *stateClass, index int, vals *values) *stateMetric {
	sm := &stateMetric{def: m, index: index, valueSlot: -1, dnKeys: map[string]uint32{}, dnVals: [][]string{nil},
		numbers: map[uint32]number{}, series: map[string]*stateSeries{}}
	for _, l := range m.Labels {
		slot := -1
		if l.Attr != "" {
			slot = sc.slots[l.Attr]
		}
		sm.labelSlots = append(sm.labelSlots, slot)
		sm.mapped = append(sm.mapped, map[uint32]uint32{})
	}
	for _, c := range m.Where {
		sm.whereSlots = append(sm.whereSlots, sc.slots[c.Attr])
		sm.holds = append(sm.holds, map[uint32]bool{})
	}
	switch {
	case m.Value != nil:
		sm.valueSlot = sc.slots[m.Value.Attr]
	case m.Attr != "":
		sm.valueSlot = sc.slots[m.Attr]
	}
	if m.Kind == statedef.StateSet {
		sm.states = map[uint32]int{}
		for i, st := range m.States {
			sm.states[vals.id(st)] = i
			sm.stateOrder = append(sm.stateOrder, i)
		}
		slices.SortFunc(sm.stateOrder, func(a, b int) int { return strings.Compare(m.States[a], m.States[b]) })
	}
	return sm
}

// dnKey returns the interned DN labels of an object, 0 when its DN does
// not match the definition's.
func (sm *stateMetric) dnKey(dn, tenant string) uint32 {
	labels, ok := sm.def.DNLabels(dn, tenant)
	if !ok {
		return 0
	}
	k := strings.Join(labels, "\xff")
	id, ok := sm.dnKeys[k]
	if !ok {
		for i := range labels { // parts of a DN that may be a frame's
			labels[i] = strings.Clone(labels[i])
		}
		id = uint32(len(sm.dnVals))
		sm.dnKeys[k] = id
		sm.dnVals = append(sm.dnVals, labels)
	}
	return id
}

// key writes the series key of an object into buf: its DN labels, its
// attribute labels and, for a state set or transitions, the watched
// value, as value ids. ok is false when it contributes to no series.
func (sm *stateMetric) key(buf []byte, dnKey uint32, attrs []uint32, vals *values) (_ []byte, value float64, ok bool) {
	if dnKey == 0 {
		return buf, 0, false
	}
	for i, slot := range sm.whereSlots {
		if !sm.holdsFor(i, attrs[slot], vals) {
			return buf, 0, false
		}
	}
	buf = binary.LittleEndian.AppendUint32(buf[:0], dnKey)
	for i, slot := range sm.labelSlots {
		if slot >= 0 {
			buf = binary.LittleEndian.AppendUint32(buf, sm.labelValue(i, attrs[slot], vals))
		}
	}
	value = 1
	switch sm.def.Kind {
	case statedef.Value:
		n := sm.number(attrs[sm.valueSlot], vals)
		if !n.ok {
			return buf, 0, false
		}
		value = n.v
	case statedef.StateSet, statedef.Transitions:
		v := attrs[sm.valueSlot]
		if v == 0 {
			return buf, 0, false
		}
		buf = binary.LittleEndian.AppendUint32(buf, v)
	}
	return buf, value, true
}

func (sm *stateMetric) holdsFor(i int, v uint32, vals *values) bool {
	h, ok := sm.holds[i][v]
	if !ok {
		h = sm.def.Holds(i, vals.names[v])
		sm.holds[i][v] = h
	}
	return h
}

func (sm *stateMetric) labelValue(i int, v uint32, vals *values) uint32 {
	m, ok := sm.mapped[i][v]
	if !ok {
		m = vals.id(sm.def.LabelValue(i, vals.names[v], v != 0))
		sm.mapped[i][v] = m
	}
	return m
}

func (sm *stateMetric) number(v uint32, vals *values) number {
	n, ok := sm.numbers[v]
	if !ok {
		n.v, n.ok = sm.def.Number(vals.names[v], v != 0)
		sm.numbers[v] = n
	}
	return n
}

// engine is a fabric's state metrics.
type engine struct {
	vals    *values
	classes map[string]*stateClass
	metrics []*stateMetric // in definition order: the scrape's
	fabric  *dto.LabelPair
	// The label pairs of the series, one per name and value: series share
	// them, as the change counters' series do, so a scrape's encoding reads
	// a few hundred pairs, not five per series, and a series costs the
	// slice of its pairs only.
	pairs   map[string]*dto.LabelPair
	a, b    []byte // scratch keys
	scratch []uint32
}

func newEngine(ms []*statedef.Metric, fabric *dto.LabelPair) *engine {
	e := &engine{vals: newValues(), fabric: fabric, pairs: map[string]*dto.LabelPair{}}
	e.classes = newStateClasses(ms, e.vals)
	for _, m := range ms {
		for _, sm := range e.classes[m.Class].metrics {
			if sm.def == m {
				e.metrics = append(e.metrics, sm)
			}
		}
	}
	return e
}

// fillKeys puts the DN keys of an object, one per metric, in keys.
func (sc *stateClass) fillKeys(keys []uint32, dn, tenant string) []uint32 {
	for k, sm := range sc.metrics {
		keys[k] = sm.dnKey(dn, tenant)
	}
	return keys
}

// move takes an object's contribution to the gauges off its old attributes
// (nil: it did not count) and puts it on its new ones (nil: it no longer
// counts).
func (e *engine) move(sc *stateClass, dnKeys []uint32, old, cur []uint32) {
	for _, sm := range sc.metrics {
		if sm.def.IsCounter() {
			continue
		}
		var ka, kb []byte
		var va, vb float64
		oka, okb := false, false
		if old != nil {
			ka, va, oka = sm.key(e.a, dnKeys[sm.index], old, e.vals)
			e.a = ka
		}
		if cur != nil {
			kb, vb, okb = sm.key(e.b, dnKeys[sm.index], cur, e.vals)
			e.b = kb
		}
		if oka && okb && va == vb && string(ka) == string(kb) {
			continue
		}
		if oka && okb && sm.sameSeries(ka, kb) {
			sm.shift(e, ka, kb, va, vb)
			continue
		}
		if oka {
			sm.add(e, ka, -va, -1)
		}
		if okb {
			sm.add(e, kb, vb, 1)
		}
	}
}

// sameSeries reports whether two keys of a gauge are one exported series
// (for a state set, one label set).
func (sm *stateMetric) sameSeries(ka, kb []byte) bool {
	if sm.def.Kind == statedef.StateSet {
		return string(ka[:len(ka)-4]) == string(kb[:len(kb)-4])
	}
	return string(ka) == string(kb)
}

// shift moves an object within its series (a value or a state changed).
// The series never empties on the way, so it keeps its place under the
// cap, or stays refused.
func (sm *stateMetric) shift(e *engine, ka, kb []byte, va, vb float64) {
	if sm.def.Kind == statedef.StateSet {
		sm.addState(e, kb, 1)
		sm.addState(e, ka, -1)
		return
	}
	s := sm.series[string(ka)]
	if s == nil {
		return
	}
	if sm.def.Kind == statedef.Value {
		s.vals = append(removeValue(s.vals, va), vb)
		s.sum = sumOf(s.vals)
		return
	}
	s.sum += vb - va
}

// enter counts the transitions of an object from old (nil: it did not
// exist) to cur.
func (e *engine) enter(sc *stateClass, dnKeys []uint32, old, cur []uint32) {
	for _, sm := range sc.metrics {
		if !sm.def.IsCounter() {
			continue
		}
		v := cur[sm.valueSlot]
		if v == 0 || old != nil && old[sm.valueSlot] == v {
			continue
		}
		k, _, ok := sm.key(e.a, dnKeys[sm.index], cur, e.vals)
		e.a = k
		if ok {
			sm.add(e, k, 1, 1)
		}
	}
}

// add adds value and n objects to the series at key, making it (and
// admitting it under the cap) when new, dropping it when no object is left.
func (sm *stateMetric) add(e *engine, key []byte, value float64, n int) {
	if sm.def.Kind == statedef.StateSet {
		sm.addState(e, key, n)
		return
	}
	s := sm.series[string(key)]
	if s == nil {
		if n < 0 {
			return
		}
		s = &stateSeries{labels: sm.labels(e, key), admitted: sm.admit(1)}
		sm.series[string(key)] = s
		sm.insert(s)
	}
	s.n += n
	switch {
	case sm.def.Kind != statedef.Value:
		s.sum += value
	case n > 0:
		s.vals = append(s.vals, value)
		s.sum += value
	default: // value is minus the value leaving
		s.vals = removeValue(s.vals, -value)
		s.sum = sumOf(s.vals)
	}
	if s.n == 0 && !sm.def.IsCounter() {
		sm.drop(string(key), s, 1)
	}
}

// removeValue removes one v from vals.
func removeValue(vals []float64, v float64) []float64 {
	for i, x := range vals {
		if x == v {
			return slices.Delete(vals, i, i+1)
		}
	}
	return vals
}

// sumOf adds vals up afresh, so that objects that came and went leave no
// rounding residue in a value series.
func sumOf(vals []float64) float64 {
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	return sum
}

// addState books n objects in a state set: the key's last value is the
// state, the rest the label set.
func (sm *stateMetric) addState(e *engine, key []byte, n int) {
	base, state := key[:len(key)-4], binary.LittleEndian.Uint32(key[len(key)-4:])
	s := sm.series[string(base)]
	if s == nil {
		if n < 0 {
			return
		}
		s = &stateSeries{states: make([]int, len(sm.def.States)), admitted: sm.admit(len(sm.def.States))}
		for _, st := range sm.def.States {
			k := binary.LittleEndian.AppendUint32(base[:len(base):len(base)], e.vals.id(st))
			s.stateLbl = append(s.stateLbl, sm.labels(e, k))
		}
		s.labels = s.stateLbl[0]
		sm.series[string(base)] = s
		sm.insert(s)
	}
	s.n += n
	if i, ok := sm.states[state]; ok {
		s.states[i] += n
	} else {
		if s.other == nil {
			s.other = map[uint32]*stateSeries{}
		}
		o := s.other[state]
		if o == nil {
			o = &stateSeries{labels: sm.labels(e, key)}
			s.other[state] = o
		}
		if o.n += n; o.n == 0 {
			delete(s.other, state)
		}
		o.sum = float64(o.n)
	}
	if s.n == 0 {
		sm.drop(string(base), s, len(sm.def.States))
	}
}

// admit reports whether n more series fit under the cap, and counts them
// as refused when not.
func (sm *stateMetric) admit(n int) bool {
	if sm.admitted+n > sm.def.MaxSeries {
		sm.refused += uint64(n)
		return false
	}
	sm.admitted += n
	return true
}

// insert puts a new series in the scrape order.
func (sm *stateMetric) insert(s *stateSeries) {
	i, _ := slices.BinarySearchFunc(sm.order, s, compareSeries)
	sm.order = slices.Insert(sm.order, i, s)
}

// compareSeries orders the series of one metric (same label names, the
// state label's value aside) by their label values.
func compareSeries(a, b *stateSeries) int { return compareLabels(a.labels, b.labels) }

func (sm *stateMetric) drop(key string, s *stateSeries, n int) {
	delete(sm.series, key)
	if i, ok := slices.BinarySearchFunc(sm.order, s, compareSeries); ok {
		for i < len(sm.order) && sm.order[i] != s {
			i++
		}
		if i < len(sm.order) {
			sm.order = slices.Delete(sm.order, i, i+1)
		}
	}
	if s.admitted {
		sm.admitted -= n
	}
}

// labels makes a series' label pairs from its key, sorted by name.
func (sm *stateMetric) labels(e *engine, key []byte) []*dto.LabelPair {
	dn := sm.dnVals[binary.LittleEndian.Uint32(key)]
	key = key[4:]
	names := sm.def.LabelNames()
	out := make([]*dto.LabelPair, 0, len(names)+1)
	out = append(out, e.fabric)
	for i, slot := range sm.labelSlots {
		v := dn[i]
		if slot >= 0 {
			v = e.vals.names[binary.LittleEndian.Uint32(key)]
			key = key[4:]
		}
		out = append(out, e.pair(names[i], v))
	}
	if len(key) >= 4 && sm.def.HasValueLabel() {
		out = append(out, e.pair(names[len(names)-1], e.vals.names[binary.LittleEndian.Uint32(key)]))
	}
	slices.SortFunc(out, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// pair returns the shared label pair of a name and value.
func (e *engine) pair(name, value string) *dto.LabelPair {
	k := name + "\xff" + value
	p := e.pairs[k]
	if p == nil {
		p = labelPair(name, strings.Clone(value))
		e.pairs[k] = p
	}
	return p
}

// reset drops the gauges of a class whose objects are gone (unsubscribed).
func (sc *stateClass) reset() {
	for _, sm := range sc.metrics {
		if !sm.def.IsCounter() {
			sm.series = map[string]*stateSeries{}
			sm.order = nil
			sm.admitted = 0
		}
	}
}

// appendTo adds the metric's exported series to its family.
func (sm *stateMetric) appendTo(mf *dto.MetricFamily) {
	n := 0
	for _, s := range sm.order {
		if s.admitted {
			n += max(1, len(s.states)) + len(s.other)
		}
	}
	typ := dto.MetricType_GAUGE
	if sm.def.IsCounter() {
		typ = dto.MetricType_COUNTER
	}
	out := newSeries(n, typ)
	mf.Metric = slices.Grow(mf.Metric, n)
	for _, s := range sm.order {
		switch {
		case !s.admitted:
		case s.states == nil:
			mf.Metric = append(mf.Metric, out.add(s.labels, s.sum))
		default:
			// A state set's series differ in the state label only: in the
			// order of the states' values, unless other values are in.
			start := len(mf.Metric)
			for _, k := range sm.stateOrder {
				mf.Metric = append(mf.Metric, out.add(s.stateLbl[k], float64(s.states[k])))
			}
			if len(s.other) > 0 {
				for _, o := range s.other {
					mf.Metric = append(mf.Metric, out.add(o.labels, o.sum))
				}
				slices.SortFunc(mf.Metric[start:], func(a, b *dto.Metric) int { return compareLabels(a.Label, b.Label) })
			}
		}
	}
}

func compareLabels(a, b []*dto.LabelPair) int {
	for i := range a {
		if c := strings.Compare(a[i].GetValue(), b[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

// family returns a metric's family in fams, making it the first time.
func (sm *stateMetric) family(fams map[string]*dto.MetricFamily) *dto.MetricFamily {
	mf := fams[sm.def.Name]
	if mf == nil {
		typ := dto.MetricType_GAUGE
		if sm.def.IsCounter() {
			typ = dto.MetricType_COUNTER
		}
		mf = &dto.MetricFamily{Name: &sm.def.Name, Help: &sm.def.Help, Type: typ.Enum()}
		fams[sm.def.Name] = mf
	}
	return mf
}
