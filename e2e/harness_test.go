package e2e

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/internal/proctest"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// exporterBin is the exporter built once for the whole package.
var exporterBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aci-e2e")
	if err != nil {
		panic(err)
	}
	exporterBin = filepath.Join(dir, "aci-exporter")
	// -buildvcs=auto: stamp the revision even where GOFLAGS turns it off.
	build := exec.Command("go", "build", "-race", "-buildvcs=auto", "-o", exporterBin, "../cmd/aci-exporter")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the exporter:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// fabric is one simulated fabric and the config that points at it.
type fabric struct {
	name string
	sim  *apicsim.Sim
	ca   string
	pw   string
}

const allClasses = "fvTenant fvAp fvAEPg fvBD fvCtx fvSubnet vzBrCP l3extOut fvCEp faultInst"

// subscribedClasses are the classes an exporter subscribes to for a
// fabric of fabric.yaml: allClasses, then those of the default state
// metrics, subscribed automatically under their class's name.
func subscribedClasses() []string {
	out := strings.Fields(allClasses)
	for _, c := range statedef.Classes(stateMetrics) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func newFabric(t *testing.T, name string, cfg apicsim.Config, profile string, seed int64) *fabric {
	t.Helper()
	p, err := apicsim.ProfileByName(profile)
	if err != nil {
		t.Fatal(err)
	}
	return newFabricOf(t, name, cfg, p, seed)
}

// newFabricOf is newFabric with a profile of the test's own.
func newFabricOf(t *testing.T, name string, cfg apicsim.Config, p apicsim.Profile, seed int64) *fabric {
	t.Helper()
	cfg.Users = map[string]string{"monitoring": "s3cret-" + name}
	sim, err := apicsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if err := sim.Populate(p, seed); err != nil {
		t.Fatal(err)
	}
	f := &fabric{name: name, sim: sim, ca: filepath.Join(t.TempDir(), "ca.pem"), pw: filepath.Join(t.TempDir(), "pw")}
	if err := sim.WriteCA(f.ca); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.pw, []byte("s3cret-"+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// yaml is the fabric's config entry, subscribing to every class.
func (f *fabric) yaml(extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    controllers: [%s]\n    username: monitoring\n    password_file: %s\n    tls: {ca_file: %s}\n%s    subscriptions:\n",
		f.name, strings.Join(f.sim.URLs(), ", "), f.pw, f.ca, extra)
	for _, c := range strings.Fields(allClasses) {
		fmt.Fprintf(&b, "      - class: %s\n", c)
	}
	return b.String()
}

func (f *fabric) churn(rate float64, seed int64) {
	p, _ := apicsim.ProfileByName("medium")
	f.sim.StartChurn(p, seed, rate)
}

// exporter is a running aci-exporter process.
type exporter struct {
	*proctest.Process
	t      *testing.T
	url    string
	config string
}

func writeConfig(t *testing.T, path string, fabrics ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("fabrics:\n"+strings.Join(fabrics, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startExporter(t *testing.T, configYAML ...string) *exporter {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "aci-exporter.yml")
	writeConfig(t, cfgPath, configYAML...)
	return startExporterArgs(t, "--config.file="+cfgPath)
}

func startExporterArgs(t *testing.T, args ...string) *exporter {
	t.Helper()
	addr := proctest.FreeAddr(t)
	e := &exporter{t: t, url: "http://" + addr}
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			e.config = v
		}
	}
	e.Process = proctest.Start(t, exporterBin, append(args, "--web.listen-address="+addr, "--log.level=debug")...)
	return e
}

func (e *exporter) get(path string) (int, string) {
	resp, err := http.Get(e.url + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *exporter) waitReady() {
	e.t.Helper()
	eventually(e.t, 20*time.Second, "exporter ready", func() bool {
		code, _ := e.get("/-/ready")
		return code == 200
	})
}

// series maps "name{labels}" to a value.
type series map[string]float64

// scrape reads /metrics and keeps the families asked for.
func (e *exporter) scrape(names ...string) (series, error) {
	return e.scrapePath("/metrics", names...)
}

// scrapePath is scrape of another path, e.g. /metrics?fabric=NAME.
func (e *exporter) scrapePath(path string, names ...string) (series, error) {
	resp, err := http.Get(e.url + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return parse(resp.Body, names...)
}

func parse(r io.Reader, names ...string) (series, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := series{}
	for _, name := range names {
		fam := fams[name]
		if fam == nil {
			continue
		}
		for _, m := range fam.Metric {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			if v != 0 || keepsZeros[name] {
				out[key(name, m.Label)] = v
			}
		}
	}
	return out, nil
}

func key(name string, labels []*dto.LabelPair) string {
	parts := make([]string, 0, len(labels))
	for _, l := range labels {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	slices.Sort(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

var truthFamilies = []string{"aci_objects", "aci_object_changes_total", "aci_object_resync_changes_total"}

// stateMetrics are the state metrics an exporter exports without a state:
// section, and the simulator's truth covers by default.
var stateMetrics = func() []*statedef.Metric {
	ms, err := statedef.Resolve(statedef.Selection{AllBuiltins: true})
	if err != nil {
		panic(err)
	}
	return ms
}()

// stateFamilies are the state metrics' families and the per-definition
// ones. Their series at 0 are series (a state set's other states, a
// health score of 0, nothing refused): keepsZeros.
var stateFamilies, keepsZeros = func() ([]string, map[string]bool) {
	names := []string{"aci_state_series_limit", "aci_state_series_refused_total"}
	for _, m := range stateMetrics {
		names = append(names, m.Name)
	}
	keep := map[string]bool{}
	for _, n := range append(slices.Clone(names), optInStateSets...) {
		keep[n] = true
	}
	return names, keep
}()

// optInStateSets are the built-ins that are off unless enabled.
var optInStateSets = []string{"aci_interface_oper_state", "aci_bgp_peer_state"}

// truth renders the simulator's ground truth for the fabric: the families
// asked for, all three by default.
func (f *fabric) truth(t *testing.T, families ...string) series {
	t.Helper()
	if len(families) == 0 {
		families = truthFamilies
	}
	var b bytes.Buffer
	if err := f.sim.Truth("monitoring").WriteText(&b, f.name); err != nil {
		t.Fatal(err)
	}
	s, err := parse(&b, families...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// only keeps the series of one fabric.
func (s series) only(fabric string) series {
	out := series{}
	for k, v := range s {
		if strings.Contains(k, "fabric="+fabric+",") || strings.Contains(k, "fabric="+fabric+"}") {
			out[k] = v
		}
	}
	return out
}

// diff lists the series that differ, and those only one side has, for a
// readable failure.
func diff(got, want series) string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			lines = append(lines, fmt.Sprintf("%s: exporter none, truth %g", k, want[k]))
		} else if g != want[k] {
			lines = append(lines, fmt.Sprintf("%s: exporter %g, truth %g", k, g, want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("%s: exporter %g, truth none", k, got[k]))
		}
	}
	return strings.Join(lines, "\n")
}

// assertTruth waits until the exporter's object gauges, change counters
// and state metrics for the fabric equal the simulator's ground truth,
// exactly: every series of either side is in the other, with its value.
// Every state gauge must have series, or the comparison proves little (a
// class nobody subscribed to has none on either side).
func assertTruth(t *testing.T, e *exporter, f *fabric) {
	t.Helper()
	assertFamilies(t, e, f, append(slices.Clone(truthFamilies), stateFamilies...)...)
	state := f.truth(t, stateFamilies...)
	for _, m := range stateMetrics {
		if !m.IsCounter() && !hasPrefix(state, m.Name+"{") {
			t.Fatalf("fabric %s: the truth has no %s series: is class %s subscribed?", f.name, m.Name, m.Class)
		}
	}
}

// requireTransitions fails unless the truth of the fabric counted each
// transitions metric named: the churn moved the state.
func requireTransitions(t *testing.T, f *fabric, names ...string) {
	t.Helper()
	state := f.truth(t, stateFamilies...)
	var counts []string
	for _, m := range stateMetrics {
		if m.IsCounter() {
			counts = append(counts, fmt.Sprintf("%s %g", m.Name, sumOf(state, m.Name+"{")))
		}
	}
	t.Logf("transitions in the truth: %s", strings.Join(counts, ", "))
	for _, n := range names {
		if sumOf(state, n+"{") == 0 {
			t.Errorf("fabric %s: the truth counted no %s: the churn did not move it", f.name, n)
		}
	}
}

func hasPrefix(s series, prefix string) bool {
	for k := range s {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// assertFamilies is assertTruth for some of the truth's families.
func assertFamilies(t *testing.T, e *exporter, f *fabric, families ...string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(20 * time.Second)
	for {
		want := f.truth(t, families...)
		got, err := e.scrape(families...)
		if err == nil {
			if last = diff(got.only(f.name), want); last == "" {
				if len(want) == 0 {
					t.Fatal("the truth is empty: the test proves nothing")
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("fabric %s: /metrics differs from the ground truth:\n%s", f.name, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// value returns one series of a scrape; -1 while /metrics cannot be read
// (the process is starting), so polling conditions just wait.
func (e *exporter) value(t *testing.T, family, labels string) float64 {
	t.Helper()
	s, err := e.scrape(family)
	if err != nil {
		return -1
	}
	return s[family+"{"+labels+"}"]
}
