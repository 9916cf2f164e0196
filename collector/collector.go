package collector

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/aci-exporter/aci-exporter/event"
)

const namespace = "aci"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, append([]string{"fabric"}, labels...), nil)
}

const (
	objectsHelp = "Objects of the class that exist now."
	changesHelp = "Object changes seen, live or recovered by a resync."
)

// The metric contract of SPEC §4.
var (
	resyncChangesDesc = desc("object_resync_changes_total", "Object changes recovered by a resync diff instead of seen live.", "class", "status")
	limitDesc         = desc("objects_limit", "The max_objects cap on objects tracked for the fabric.")
	fullDesc          = desc("objects_limit_reached", "1 when objects were left untracked because the fabric reached max_objects.")
	overDesc          = desc("objects_over_limit_total", "Objects refused because the fabric held max_objects; a resync refuses them again.")
	upDesc            = desc("up", "1 when logged in, the socket is open and every subscription is active.")
	subUpDesc         = desc("subscription_up", "1 while the subscription is active and refreshed in time.", "subscription", "class")
	subRefreshesDesc  = desc("subscription_refreshes_total", "Subscription refresh calls.", "subscription")
	subFailuresDesc   = desc("subscription_refresh_failures_total", "Subscription refresh calls that failed.", "subscription")
	resyncsDesc       = desc("resyncs_total", "Snapshots taken after the first (reconnects, re-logins, failed refreshes).", "subscription")
	lastEventDesc     = desc("subscription_last_event_timestamp_seconds", "Time of the last event for the subscription.", "subscription")
	connectedDesc     = desc("websocket_connected", "1 for the controller whose socket is open now.", "controller")
	connectsDesc      = desc("websocket_connects_total", "Websocket opens.", "controller")
	disconnectsDesc   = desc("websocket_disconnects_total", "Websocket losses.", "controller")
	messagesDesc      = desc("websocket_messages_total", "Websocket frames read.")
	msgErrorsDesc     = desc("websocket_message_errors_total", "Frames that could not be decoded or matched, by reason.", "reason")
	loginsDesc        = desc("logins_total", "aaaLogin attempts.", "controller")
	loginFailuresDesc = desc("login_failures_total", "aaaLogin attempts that failed.", "controller")
	tokenRefsDesc     = desc("token_refreshes_total", "aaaRefresh attempts.")
	tokenFailsDesc    = desc("token_refresh_failures_total", "aaaRefresh attempts that failed.")
	expiryDesc        = desc("session_expiry_timestamp_seconds", "When the current token stops being valid unless refreshed.")
	stateLimitDesc    = desc("state_series_limit", "The max_series cap of a state metric.", "metric")
	stateRefusedDesc  = desc("state_series_refused_total", "State series not exported because their metric held max_series.", "metric")
)

// Collector exports every registered fabric.
type Collector struct {
	mu      sync.RWMutex
	fabrics map[string]*Fabric
}

// New returns an empty Collector.
func New() *Collector { return &Collector{fabrics: make(map[string]*Fabric)} }

// Add registers a fabric, replacing one of the same name.
func (c *Collector) Add(f *Fabric) {
	c.mu.Lock()
	c.fabrics[f.name] = f
	c.mu.Unlock()
}

// Remove drops a fabric and its series.
func (c *Collector) Remove(name string) {
	c.mu.Lock()
	delete(c.fabrics, name)
	c.mu.Unlock()
}

// Fabric returns the named fabric.
func (c *Collector) Fabric(name string) *Fabric {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.fabrics[name]
}

// Fabrics returns the fabrics sorted by name.
func (c *Collector) Fabrics() []*Fabric {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Fabric, 0, len(c.fabrics))
	for _, name := range slices.Sorted(maps.Keys(c.fabrics)) {
		out = append(out, c.fabrics[name])
	}
	return out
}

var descs = []*prometheus.Desc{resyncChangesDesc, limitDesc, fullDesc, overDesc, upDesc, subUpDesc,
	subRefreshesDesc, subFailuresDesc, resyncsDesc, lastEventDesc, connectedDesc, connectsDesc, disconnectsDesc,
	messagesDesc, msgErrorsDesc, loginsDesc, loginFailuresDesc, tokenRefsDesc, tokenFailsDesc, expiryDesc,
	stateLimitDesc, stateRefusedDesc}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.Fabrics() {
		f.collect(ch)
	}
}

// fabricView is the Collector of one fabric, for FabricGatherer.
type fabricView struct{ f *Fabric }

func (fabricView) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

func (v fabricView) Collect(ch chan<- prometheus.Metric) { v.f.collect(ch) }

func (f *Fabric) collect(ch chan<- prometheus.Metric) {
	f.collectState(ch)
	f.collectHealth(ch)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (f *Fabric) collectState(ch chan<- prometheus.Metric) {
	s := f.st
	s.mu.RLock()
	defer s.mu.RUnlock()
	// Every status of every class from its first snapshot on, at 0 until
	// a resync finds a change: rate() and absent() need the series.
	for class := range s.classes {
		for _, st := range [...]event.Status{event.StatusCreated, event.StatusModified, event.StatusDeleted} {
			counter(ch, resyncChangesDesc, s.resyncs[resyncKey{class, st}], f.name, class, st.String())
		}
	}
	if s.max > 0 {
		gauge(ch, limitDesc, float64(s.max), f.name)
	}
	gauge(ch, fullDesc, boolValue(s.full), f.name)
	counter(ch, overDesc, s.refused, f.name)
	if s.eng != nil {
		for _, sm := range s.eng.metrics {
			gauge(ch, stateLimitDesc, float64(sm.def.MaxSeries), f.name, sm.def.Name)
			counter(ch, stateRefusedDesc, sm.refused, f.name, sm.def.Name)
		}
	}
}

// Gatherer returns what /metrics serves: reg's families (the health series
// of c, and whatever else reg holds) and the two families that grow with
// the fabric, aci_objects and aci_object_changes_total, built straight from
// the state. Those skip the registry's per-series consistency checks and
// sorting, the larger part of a scrape's cost: their label pairs are made
// once per series, so they are consistent by construction.
func Gatherer(reg prometheus.Gatherer, c *Collector) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return gather(reg, c.Fabrics())
	})
}

// FabricGatherer returns what /metrics?fabric=NAME serves: the aci_*
// series of that one fabric, built as Gatherer builds them, and none of
// the exporter's own (Go, process, build, reload), which are not the
// fabric's.
func FabricGatherer(f *Fabric) prometheus.Gatherer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(fabricView{f})
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return gather(reg, []*Fabric{f})
	})
}

// gather adds the state families of fabrics to reg's.
func gather(reg prometheus.Gatherer, fabrics []*Fabric) ([]*dto.MetricFamily, error) {
	mfs, err := reg.Gather()
	objects := &dto.MetricFamily{Name: proto.String("aci_objects"), Help: proto.String(objectsHelp), Type: dto.MetricType_GAUGE.Enum()}
	changes := &dto.MetricFamily{Name: proto.String("aci_object_changes_total"), Help: proto.String(changesHelp), Type: dto.MetricType_COUNTER.Enum()}
	stateFams := map[string]*dto.MetricFamily{}
	for _, f := range fabrics {
		f.appendState(objects, changes)
		f.appendStateMetrics(stateFams)
	}
	for _, mf := range append([]*dto.MetricFamily{objects, changes}, slices.Collect(maps.Values(stateFams))...) {
		if len(mf.Metric) > 0 {
			mfs = append(mfs, mf)
		}
	}
	slices.SortFunc(mfs, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return mfs, err
}

// appendState adds the fabric's aci_objects and aci_object_changes_total
// series, in label order (class, then status, then tenant). A tenant that
// has shown in a class has a change series per status, at 0 until its
// first change of that status, so rate() counts that first one too; its
// aci_objects series is there while it has objects. The series of
// a family are allocated together in three slabs, not three allocations
// per series.
func (f *Fabric) appendState(objects, changes *dto.MetricFamily) {
	s := f.st
	s.mu.RLock()
	defer s.mu.RUnlock()
	classes := slices.Sorted(maps.Keys(s.classes))
	nobj, nchg := 0, 0
	for _, cs := range s.classes {
		nchg += len(cs.order) * len(statusPairs)
		for _, id := range cs.order {
			if cs.tenants[id].objects > 0 {
				nobj++
			}
		}
	}
	obj := newSeries(nobj, dto.MetricType_GAUGE)
	for _, class := range classes {
		cs := s.classes[class]
		for _, id := range cs.order {
			if ts := cs.tenants[id]; ts.objects > 0 {
				objects.Metric = append(objects.Metric, obj.add(ts.objLabels[:], float64(ts.objects)))
			}
		}
	}
	chg := newSeries(nchg, dto.MetricType_COUNTER)
	for _, class := range classes {
		cs := s.classes[class]
		for _, st := range [...]event.Status{event.StatusCreated, event.StatusDeleted, event.StatusModified} { // label order
			for _, id := range cs.order {
				ts := cs.tenants[id]
				changes.Metric = append(changes.Metric, chg.add(ts.chgLabels[st-1][:], float64(ts.changes[st-1])))
			}
		}
	}
}

// appendStateMetrics adds the fabric's state metrics to their families.
func (f *Fabric) appendStateMetrics(fams map[string]*dto.MetricFamily) {
	s := f.st
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.eng == nil {
		return
	}
	for _, sm := range s.eng.metrics {
		sm.appendTo(sm.family(fams))
	}
}

// series hands out the n metrics of one family from a few slabs.
type series struct {
	metrics  []dto.Metric
	values   []float64
	gauges   []dto.Gauge   // for a gauge family
	counters []dto.Counter // for a counter family
	n        int
}

func newSeries(n int, typ dto.MetricType) *series {
	s := &series{metrics: make([]dto.Metric, n), values: make([]float64, n)}
	if typ == dto.MetricType_COUNTER {
		s.counters = make([]dto.Counter, n)
	} else {
		s.gauges = make([]dto.Gauge, n)
	}
	return s
}

func (s *series) add(labels []*dto.LabelPair, v float64) *dto.Metric {
	i := s.n
	s.n++
	m := &s.metrics[i]
	m.Label = labels
	s.values[i] = v
	if s.counters != nil {
		s.counters[i].Value = &s.values[i]
		m.Counter = &s.counters[i]
	} else {
		s.gauges[i].Value = &s.values[i]
		m.Gauge = &s.gauges[i]
	}
	return m
}

func (f *Fabric) collectHealth(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	defer f.mu.Unlock()
	gauge(ch, upDesc, boolValue(f.isUp()), f.name)
	for name, h := range f.subs {
		gauge(ch, subUpDesc, boolValue(h.up), f.name, name, h.class)
		counter(ch, subRefreshesDesc, h.refreshes, f.name, name)
		counter(ch, subFailuresDesc, h.failures, f.name, name)
		counter(ch, resyncsDesc, h.resyncs, f.name, name)
		if !h.lastEvent.IsZero() {
			gauge(ch, lastEventDesc, float64(h.lastEvent.UnixNano())/1e9, f.name, name)
		}
	}
	for c, h := range f.controllers {
		gauge(ch, connectedDesc, boolValue(h.connected), f.name, c)
		counter(ch, connectsDesc, h.connects, f.name, c)
		counter(ch, disconnectsDesc, h.disconnects, f.name, c)
		counter(ch, loginsDesc, h.logins, f.name, c)
		counter(ch, loginFailuresDesc, h.loginFailures, f.name, c)
	}
	counter(ch, messagesDesc, f.messages, f.name)
	for r, v := range f.msgErrors {
		counter(ch, msgErrorsDesc, v, f.name, r)
	}
	counter(ch, tokenRefsDesc, f.tokenRefs, f.name)
	counter(ch, tokenFailsDesc, f.tokenFails, f.name)
	if !f.expiry.IsZero() {
		gauge(ch, expiryDesc, float64(f.expiry.Unix()), f.name)
	}
}
