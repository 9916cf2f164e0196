package apicsim

// The ground truth of the fabric-state metrics (README "Fabric state
// metrics"), per user as the change counters' (truth.go):
//   - gauges are the metric's rule (statedef.Metric.Series) applied, at
//     call time, to every object the user's subscriptions cover;
//   - a transitions counter counts each change pushed to the user's socket
//     that makes the watched attribute enter a value, and, once per gap,
//     an object whose value at the gap's end differs from its value when
//     the user last saw it (or that did not exist then); an object gone at
//     the end counts nothing. The baseline counts nothing.
//
// Caps are not modelled: the truth assumes no definition reaches its
// max_series, so it has no series refused.

import (
	"strings"

	"github.com/aci-exporter/aci-exporter/statedef"
)

// StateKey names one series of a state metric: the metric and its labels
// after fabric, in LabelNames order, as the text format writes them
// (name="value",...).
type StateKey struct{ Metric, Labels string }

func defaultStateMetrics() []*statedef.Metric {
	ms, err := statedef.Resolve(statedef.Selection{AllBuiltins: true})
	if err != nil {
		panic("apicsim: the built-in state metrics: " + err.Error()) // statedef checks them at init
	}
	return ms
}

// transitionsByClass indexes the transitions metrics by class.
func transitionsByClass(ms []*statedef.Metric) map[string][]*statedef.Metric {
	out := map[string][]*statedef.Metric{}
	for _, m := range ms {
		if m.Kind == statedef.Transitions {
			out[m.Class] = append(out[m.Class], m)
		}
	}
	return out
}

func stateKey(m *statedef.Metric, values []string) StateKey {
	names := m.LabelNames()
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(names[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(v))
		b.WriteByte('"')
	}
	return StateKey{m.Name, b.String()}
}

// attrs reads o's attributes; nil for an absent object.
func attrs(o *Object) statedef.Attrs {
	if o == nil {
		return nil
	}
	return o.Get
}

// countEntered adds n to every transitions series that pre → post enters
// (pre nil: the object did not exist; post nil: nothing to count).
func (ut *userTruth) countEntered(pre, post *Object, n int) {
	if post == nil {
		return
	}
	tenant := tenantOf(post.DN)
	for _, m := range ut.transitions[post.Class] {
		labels, ok := m.Entered(post.DN, tenant, attrs(pre), post.Get)
		if !ok {
			continue
		}
		k := stateKey(m, labels)
		ut.entered[k] += n
		if ut.entered[k] == 0 {
			delete(ut.entered, k)
		}
	}
}

// stateGauges applies every gauge metric's rule to the objects the user
// sees. A stateset has a series for each known state per label set, and
// one for a value outside them; series with equal labels are summed.
func stateGauges(ms []*statedef.Metric, ut *userTruth, st *store, out map[StateKey]float64) {
	for _, m := range ms {
		ci := st.classes[m.Class]
		if m.IsCounter() || ci == nil {
			continue
		}
		for _, dn := range ci.dns {
			o := st.objs[dn]
			if !ut.covers(o, st) {
				continue
			}
			m.Gauges(dn, tenantOf(dn), o.Get, func(labels []string, v float64) { out[stateKey(m, labels)] += v })
		}
	}
}
