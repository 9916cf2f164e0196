package apicsim

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aci-exporter/aci-exporter/statedef"
)

// Truth is what an exporter logged in as one user should export, keyed by
// the labels of the exporter's metrics (SPEC §4, §6). Zero values are left
// out, but for the state sets' other states and values that are 0.
type Truth struct {
	Objects       map[ObjectKey]int // aci_objects
	Changes       map[ChangeKey]int // aci_object_changes_total
	ResyncChanges map[ResyncKey]int // aci_object_resync_changes_total
	// State holds the series of the state metrics, gauges and transitions.
	State map[StateKey]float64
	// StateMetrics are the definitions State is computed for; each also
	// has aci_state_series_limit and aci_state_series_refused_total.
	StateMetrics []*statedef.Metric
}

// Truth returns the ground truth for a client logged in as user. Changes
// still queued for its socket count as seen; call it once the client has
// caught up (the churn stopped and the sockets are flushed).
func (s *Sim) Truth(user string) Truth {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := Truth{Objects: map[ObjectKey]int{}, Changes: map[ChangeKey]int{}, ResyncChanges: map[ResyncKey]int{},
		State: map[StateKey]float64{}, StateMetrics: s.cfg.StateMetrics}
	ut := s.truth[user]
	if ut == nil {
		return t
	}
	for class := range ut.scopes {
		ci := s.st.classes[class]
		if ci == nil {
			continue
		}
		for _, dn := range ci.dns {
			if o := s.st.objs[dn]; ut.covers(o, s.st) {
				t.Objects[ObjectKey{class, tenantOf(dn)}]++
			}
		}
	}
	maps.Copy(t.Changes, ut.changes)
	maps.Copy(t.ResyncChanges, ut.resync)
	stateGauges(s.cfg.StateMetrics, ut, s.st, t.State)
	for k, n := range ut.entered {
		t.State[k] = float64(n)
	}
	return t
}

// Classes returns the classes the truth covers.
func (t Truth) Classes() []string {
	set := map[string]bool{}
	for k := range t.Objects {
		set[k.Class] = true
	}
	for k := range t.Changes {
		set[k.Class] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// WriteText writes the truth in the Prometheus text format, with the
// exporter's metric names and a fabric label, so that it can be diffed
// against the exporter's /metrics.
func (t Truth) WriteText(w io.Writer, fabric string) error {
	bw := bufio.NewWriter(w)
	writeFamily(bw, "aci_objects", "gauge", sortedLines(t.Objects, func(k ObjectKey) string {
		return labels("fabric", fabric, "class", k.Class, "tenant", k.Tenant)
	}))
	writeFamily(bw, "aci_object_changes_total", "counter", sortedLines(t.Changes, func(k ChangeKey) string {
		return labels("fabric", fabric, "class", k.Class, "tenant", k.Tenant, "status", k.Status)
	}))
	writeFamily(bw, "aci_object_resync_changes_total", "counter", sortedLines(t.ResyncChanges, func(k ResyncKey) string {
		return labels("fabric", fabric, "class", k.Class, "status", k.Status)
	}))
	t.writeState(bw, fabric)
	return bw.Flush()
}

func sortedLines[K comparable](m map[K]int, label func(K) string) []string {
	lines := make([]string, 0, len(m))
	for k, v := range m {
		if v != 0 {
			lines = append(lines, fmt.Sprintf("%s %d", label(k), v))
		}
	}
	slices.SortFunc(lines, cmp.Compare)
	return lines
}

func writeFamily(w io.Writer, name, typ string, lines []string) {
	fmt.Fprintf(w, "# TYPE %s %s\n", name, typ)
	for _, l := range lines {
		fmt.Fprintf(w, "%s%s\n", name, l)
	}
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%s="%s"`, kv[i], labelEscaper.Replace(kv[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

// writeState writes the state metrics in the order of their definitions,
// then the per-definition series: the limit is max_series, nothing is
// refused (caps are not modelled). A truth without definitions writes none.
func (t Truth) writeState(w io.Writer, fabric string) {
	if len(t.StateMetrics) == 0 {
		return
	}
	byMetric := map[string][]string{}
	for k, v := range t.State {
		lbl := labels("fabric", fabric)
		if k.Labels != "" {
			lbl = lbl[:len(lbl)-1] + "," + k.Labels + "}"
		}
		byMetric[k.Metric] = append(byMetric[k.Metric], lbl+" "+strconv.FormatFloat(v, 'g', -1, 64))
	}
	var limits, refused []string
	for _, m := range t.StateMetrics {
		typ := "gauge"
		if m.IsCounter() {
			typ = "counter"
		}
		lines := byMetric[m.Name]
		slices.SortFunc(lines, cmp.Compare)
		writeFamily(w, m.Name, typ, lines)
		lbl := labels("fabric", fabric, "metric", m.Name)
		limits = append(limits, fmt.Sprintf("%s %d", lbl, m.MaxSeries))
		refused = append(refused, lbl+" 0")
	}
	writeFamily(w, "aci_state_series_limit", "gauge", limits)
	writeFamily(w, "aci_state_series_refused_total", "counter", refused)
}
