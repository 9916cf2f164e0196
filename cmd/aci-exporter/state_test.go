package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/promslog"
	"gopkg.in/yaml.v3"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/collector"
	"github.com/aci-exporter/aci-exporter/config"
	"github.com/aci-exporter/aci-exporter/event"
	"github.com/aci-exporter/aci-exporter/internal/proctest"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// TestPrintBuiltins: --state.print-builtins prints the built-in set, in
// the form users write theirs, and exits 0 without a config file.
func TestPrintBuiltins(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--state.print-builtins", "--config.file=/nonexistent"}, &out); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if !bytes.Equal(out.Bytes(), statedef.BuiltinsYAML()) {
		t.Errorf("printed something else than the built-ins:\n%s", out.String())
	}
	var printed []statedef.Builtin
	dec := yaml.NewDecoder(&out)
	dec.KnownFields(true)
	if err := dec.Decode(&printed); err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, b := range printed {
		got = append(got, b.Name)
	}
	for _, b := range statedef.Builtins() {
		want = append(want, b.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("printed %v, want %v", got, want)
	}
}

// fabricYAML is a fabric of the simulator at url with the given state:
// section and ping interval.
func fabricYAML(url, ca, state string, ping time.Duration) string {
	return fmt.Sprintf(`fabrics:
  - name: prod
    controllers: [%q]
    username: admin
    password: password
    tls: {ca_file: %q}
    subscriptions: [{class: fvTenant}]
    ping_interval: %s
    state: %s
`, url, ca, ping, state)
}

func mustParse(t *testing.T, yml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// families gathers what /metrics serves of coll.
func families(t *testing.T, coll *collector.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(coll)
	mfs, err := collector.Gatherer(reg, coll).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// labelValues returns the values of label name in the family's series
// whose value is at least min, sorted.
func labelValues(mf *dto.MetricFamily, name string, min float64) []string {
	var out []string
	for _, m := range mf.GetMetric() {
		v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
		for _, l := range m.GetLabel() {
			if l.GetName() == name && v >= min {
				out = append(out, l.GetValue())
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestApplyStateMetrics: a fabric's state metrics' classes are subscribed
// next to its own subscriptions; the decoders keep what the metrics read;
// a reload that changes the state: section rebuilds the fabric, one that
// changes something else keeps its state.
func TestApplyStateMetrics(t *testing.T) {
	defer event.Keep(nil)
	sim, err := apicsim.New(apicsim.Config{Addrs: []string{"127.0.0.1:0"}, Logger: promslog.NewNopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	profile, err := apicsim.ProfileByName("demo")
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Populate(profile, 1); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := sim.WriteCA(ca); err != nil {
		t.Fatal(err)
	}
	url := sim.URLs()[0]

	coll := collector.New()
	s := newStreams(context.Background(), promslog.NewNopLogger(), coll, backoffFlags{min: 10 * time.Millisecond, max: 100 * time.Millisecond})
	defer s.stopAll()
	// waitFor waits until the subscriptions up are subs, and the state
	// metrics are metrics, each gauge with series from the snapshot (a
	// counter has none until the first live change).
	waitFor := func(subs, metrics []string) {
		t.Helper()
		metrics = slices.Sorted(slices.Values(metrics))
		var gauges []string
		for _, m := range metrics {
			if !strings.HasSuffix(m, "_total") {
				gauges = append(gauges, m)
			}
		}
		proctest.Poll(t, 20*time.Second, fmt.Sprintf("subscriptions %v up and metrics %v", subs, metrics), func() (bool, string) {
			fams := families(t, coll)
			up := labelValues(fams["aci_subscription_up"], "subscription", 1)
			defined := labelValues(fams["aci_state_series_limit"], "metric", 0)
			var exported []string
			for _, m := range gauges {
				if len(fams[m].GetMetric()) > 0 {
					exported = append(exported, m)
				}
			}
			return slices.Equal(up, subs) && slices.Equal(defined, metrics) && slices.Equal(exported, gauges),
				fmt.Sprintf("up %v, defined %v, gauges with series %v", up, defined, exported)
		})
	}

	if err := s.apply(mustParse(t, fabricYAML(url, ca, "{builtins: [faults]}", 30*time.Second))); err != nil {
		t.Fatal(err)
	}
	faults := []string{"aci_fault_transitions_total", "aci_faults"}
	waitFor([]string{"faultInst", "fvTenant"}, faults)
	if event.KeptIndex("lc") < 0 || event.KeptIndex("severity") < 0 || event.KeptIndex("cur") >= 0 {
		t.Errorf("kept: lc %d, severity %d, cur %d; want the faults' attributes only",
			event.KeptIndex("lc"), event.KeptIndex("severity"), event.KeptIndex("cur"))
	}
	first := coll.Fabric("prod")

	// Another ping interval: a new session on the state kept.
	if err := s.apply(mustParse(t, fabricYAML(url, ca, "{builtins: [faults]}", 20*time.Second))); err != nil {
		t.Fatal(err)
	}
	if coll.Fabric("prod") != first {
		t.Error("a change outside state: replaced the fabric's state")
	}
	waitFor([]string{"faultInst", "fvTenant"}, faults)

	// Another state: section: a new fabric, from a fresh snapshot.
	if err := s.apply(mustParse(t, fabricYAML(url, ca, "{builtins: [faults, health]}", 20*time.Second))); err != nil {
		t.Fatal(err)
	}
	if coll.Fabric("prod") == first {
		t.Error("a changed state: section kept the fabric's old state")
	}
	if event.KeptIndex("cur") < 0 {
		t.Error("the health scores' cur is not kept after the reload")
	}
	waitFor([]string{"fabricHealthTotal", "faultInst", "fvTenant", "healthInst"}, append(faults,
		"aci_fabric_health_score", "aci_node_health_score", "aci_pod_health_score", "aci_tenant_health_score"))
}

// TestReloadBadStateKeepsRunning: a reload whose state: section is bad
// fails with the line at fault and changes nothing.
func TestReloadBadStateKeepsRunning(t *testing.T) {
	defer event.Keep(nil)
	path := filepath.Join(t.TempDir(), "aci-exporter.yml")
	write := func(state string) {
		t.Helper()
		// A closed port on loopback: the stream retries quietly.
		if err := os.WriteFile(path, []byte(fabricYAML("http://127.0.0.1:1", "", state, time.Minute)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`
      builtins: []
      metrics:
        - {name: aci_epg_health_score, class: healthInst, kind: value, value: {attr: cur}}`)
	cfg, err := loadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	coll := collector.New()
	s := newStreams(context.Background(), promslog.NewNopLogger(), coll, backoffFlags{min: time.Second, max: time.Second})
	defer s.stopAll()
	if err := s.apply(cfg); err != nil {
		t.Fatal(err)
	}
	fab := coll.Fabric("prod")

	ctx, cancel := context.WithCancel(context.Background())
	reg := prometheus.NewRegistry()
	m := newReloadMetrics(reg)
	m.success()
	requests := make(chan chan error)
	done := make(chan struct{})
	go func() {
		defer close(done)
		reloader(ctx, func() (*config.Config, error) { return loadConfig(path, nil) }, s, m, requests, promslog.NewNopLogger())
	}()
	defer func() { cancel(); <-done }()

	write(`
      builtins: []
      metrics:
        - name: aci_epg_health_score
          class: healthInst
          dn: '^uni/tn-(?P<tenant>[^/]+'
          kind: value
          value: {attr: cur}`)
	reply := make(chan error)
	requests <- reply
	err = <-reply
	want := path + `: line 14: fabrics[0] "prod": state.metrics[0].dn: error parsing regexp: missing closing ): ` + "`^uni/tn-(?P<tenant>[^/]+`"
	if err == nil || err.Error() != want {
		t.Fatalf("reload: %v\nwant: %s", err, want)
	}
	if v := testutil.ToFloat64(m.ok); v != 0 {
		t.Errorf("aci_exporter_config_last_reload_successful = %v after a bad reload", v)
	}
	if coll.Fabric("prod") != fab {
		t.Error("a bad reload replaced the fabric")
	}
	s.mu.Lock()
	running := s.running["prod"].cfg
	s.mu.Unlock()
	if !running.SameState(cfg.Fabrics[0]) || len(running.StateMetrics()) != 1 {
		t.Errorf("a bad reload changed the running state: section:\n%s", running)
	}
	if event.KeptIndex("cur") < 0 {
		t.Error("a bad reload dropped the running metrics' attributes")
	}
}
