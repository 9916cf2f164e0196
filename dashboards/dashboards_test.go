package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"

	"github.com/aci-exporter/aci-exporter/apicsim"

	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// exporterBin is the exporter built once for the package.
var exporterBin string

func TestMain(m *testing.M) {
	plugins.RegisterDefaultPlugins() // panel options and Prometheus queries decode strictly
	dir, err := os.MkdirTemp("", "aci-dashboards")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exporterBin = filepath.Join(dir, "aci-exporter")
	// Built in the exporter's own module (the parent directory), with the
	// versions users get, not this test module's.
	build := exec.Command("go", "build", "-o", exporterBin, "./cmd/aci-exporter")
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the exporter:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

const (
	dashboardGlob = "*.json"
	recordingFile = "rules/aci-recording.yml"
	alertsFile    = "rules/aci-alerts.yml"
	unitTestGlob  = "rules/tests/*.yml"
	runbookFile   = "RUNBOOK.md"
	runbookURL    = "https://github.com/aci-exporter/aci-exporter/blob/main/dashboards/RUNBOOK.md#"
	dsUID         = "${datasource}"
)

// ---------------------------------------------------------------------------
// Tools from Debian's prometheus package.

func runTool(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ---------------------------------------------------------------------------
// Processes started by the tests, stopped by their process id.

// startProcess runs bin (see proctest.Start) and closes the test's idle
// HTTP connections after it stops, as goleak would otherwise see them.
func startProcess(t *testing.T, bin string, args ...string) *proctest.Process {
	t.Helper()
	t.Cleanup(httpClient.CloseIdleConnections)
	return proctest.Start(t, bin, args...)
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func httpGet(url string) (int, []byte, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func waitReady(t *testing.T, p *proctest.Process, url string, timeout time.Duration) {
	t.Helper()
	proctest.Poll(t, timeout, p.Name+" ready at "+url, func() (bool, string) {
		if p.Cmd.ProcessState != nil {
			return false, "exited"
		}
		code, body, err := httpGet(url)
		if err != nil {
			return false, err.Error()
		}
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})
}

// ---------------------------------------------------------------------------
// Metric names from a running exporter.

// stateMetricsDeadline bounds the wait for the families that exist only
// once the churn has moved something (a fault transition, a link flap, a
// BGP session drop): the demo profile moves every built-in state metric
// within a minute.
const stateMetricsDeadline = 90 * time.Second

// exportedMetricNames runs the exporter against a simulated APIC with churn,
// forces one resync that is sure to recover a change and one live event,
// waits (up to stateMetricsDeadline) until /metrics has every name of want,
// and returns every metric name seen on /metrics (with the _bucket, _sum and
// _count series of histograms and summaries). want maps a name to where it
// is used, for the message when one never shows. Some families exist only
// once something has happened (a change, an event, a resync): --demo alone
// never exports aci_object_resync_changes_total, and a scrape right after
// start may lack aci_subscription_last_event_timestamp_seconds.
func exportedMetricNames(t *testing.T, want map[string]string) map[string]bool {
	t.Helper()
	const user, password = "monitoring", "dashboards-test-secret"
	sim, err := apicsim.New(apicsim.Config{Users: map[string]string{user: password}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	profile, err := apicsim.ProfileByName("demo")
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Populate(profile, 1); err != nil {
		t.Fatal(err)
	}
	sim.StartChurn(profile, 1, 20)

	dir := t.TempDir()
	ca, pw, cfg := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "password"), filepath.Join(dir, "aci-exporter.yml")
	if err := sim.WriteCA(ca); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var subs strings.Builder
	for _, c := range []string{"fvTenant", "fvAp", "fvAEPg", "fvBD", "fvCtx", "fvSubnet", "vzBrCP", "l3extOut", "fvCEp", "faultInst"} {
		fmt.Fprintf(&subs, "      - class: %s\n", c)
	}
	subs.WriteString("      - name: critical-faults\n        class: faultInst\n        filter: 'eq(faultInst.severity,\"critical\")'\n")
	yml := fmt.Sprintf("fabrics:\n  - name: names\n    controllers: [%s]\n    username: %s\n    password_file: %s\n    tls: {ca_file: %s}\n    subscriptions:\n%s",
		sim.URLs()[0], user, pw, ca, subs.String())
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}

	addr := proctest.FreeAddr(t)
	exp := startProcess(t, exporterBin, "--config.file="+cfg, "--web.listen-address="+addr)
	base := "http://" + addr
	waitReady(t, exp, base+"/-/ready", 30*time.Second)

	// The controller goes away, a tenant appears while nobody listens, the
	// controller comes back: the reconnect's resync must recover the tenant.
	if err := sim.KillController(0); err != nil {
		t.Fatal(err)
	}
	if err := sim.Create("fvTenant", "uni/tn-resync-probe", map[string]string{"name": "resync-probe"}); err != nil {
		t.Fatal(err)
	}
	if err := sim.ReviveController(0); err != nil {
		t.Fatal(err)
	}

	names := map[string]bool{}
	// read reads /metrics and adds its names to names.
	read := func() (map[string]*dto.MetricFamily, error) {
		code, body, err := httpGet(base + "/metrics")
		if err != nil || code != http.StatusOK {
			return nil, fmt.Errorf("GET /metrics: %d %v", code, err)
		}
		tp := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := tp.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		for name, fam := range fams {
			names[name] = true
			switch fam.GetType() {
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
			case dto.MetricType_SUMMARY:
				names[name+"_sum"], names[name+"_count"] = true, true
			}
		}
		return fams, nil
	}
	// scrape reads /metrics and tells whether a series of family with the
	// given class and tenant has a value >= 1.
	scrape := func(family, class, tenant string) (bool, string) {
		fams, err := read()
		if err != nil {
			return false, err.Error()
		}
		for _, m := range fams[family].GetMetric() {
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if label(m, "class") == class && (tenant == "" || label(m, "tenant") == tenant) && v >= 1 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("no %s{class=%q,tenant=%q} yet", family, class, tenant)
	}
	proctest.Poll(t, 30*time.Second, "the resync to recover the tenant created while disconnected", func() (bool, string) {
		return scrape("aci_object_resync_changes_total", "fvTenant", "")
	})
	// And one live event, so that the families kept per event exist too.
	if err := sim.Create("fvTenant", "uni/tn-live-probe", map[string]string{"name": "live-probe"}); err != nil {
		t.Fatal(err)
	}
	proctest.Poll(t, 30*time.Second, "the live event of a new tenant", func() (bool, string) {
		return scrape("aci_objects", "fvTenant", "live-probe")
	})
	proctest.Poll(t, stateMetricsDeadline, "every metric the dashboards and rules use", func() (bool, string) {
		if _, err := read(); err != nil {
			return false, err.Error()
		}
		var missing []string
		for name, where := range want {
			if !names[name] {
				missing = append(missing, name+" (used by "+where+")")
			}
		}
		slices.Sort(missing)
		return len(missing) == 0, "not exported by aci-exporter (nor recorded by " + recordingFile + "): " + strings.Join(missing, ", ")
	})
	return names
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// Dashboards: strict loading.

// sdkErr turns the SDK's empty cog.BuildErrors (returned as a non-nil error
// interface) into nil.
func sdkErr(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

// rawPanel is what the checks beyond the SDK's need of a panel.
type rawPanel struct {
	Type        string            `json:"type"`
	Title       string            `json:"title"`
	FieldConfig json.RawMessage   `json:"fieldConfig"`
	Targets     []json.RawMessage `json:"targets"`
	Panels      []json.RawMessage `json:"panels"`
}

// panel is a decoded panel (rows are flattened away) and its queries.
type panel struct {
	*dashboard.Panel
	queries []*prometheus.Dataquery
}

// loadDashboard decodes a dashboard the strict way and returns it with its
// panels.
//
// The SDK's Dashboard.UnmarshalJSONStrict finds unknown or mistyped fields
// and missing required ones, down to panel options and field config by panel
// type and queries by data source type, and Validate checks constraints. But
// in v0.0.22 its nested strict decoders return an empty cog.BuildErrors as a
// non-nil error, so the panels, queries and options they decode are dropped
// from the result (errors still come through). So the panels are decoded
// again here, and what the SDK leaves loose is checked too: fieldConfig
// strictly (the SDK decodes it leniently), a strict schema for every panel
// type, and every query strictly as a Prometheus query with datasource type
// prometheus (without it the SDK takes the query for an unknown one and
// checks nothing).
//
// The v1 Dashboard type is deprecated in the SDK in favour of v2, but v1 is
// the schema of importable dashboard JSON (schemaVersion 39) that we ship.
//
//lint:ignore SA1019 see above
func loadDashboard(raw []byte) (*dashboard.Dashboard, []panel, error) {
	//lint:ignore SA1019 see above
	d := &dashboard.Dashboard{}
	if err := sdkErr(d.UnmarshalJSONStrict(raw)); err != nil {
		return nil, nil, fmt.Errorf("strict decoding: %w", err)
	}
	if err := sdkErr(d.Validate()); err != nil {
		return nil, nil, fmt.Errorf("validation: %w", err)
	}
	var top struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, nil, err
	}
	var out []panel
	var errs []error
	var walk func(raws []json.RawMessage)
	walk = func(raws []json.RawMessage) {
		for _, r := range raws {
			var rp rawPanel
			if err := json.Unmarshal(r, &rp); err != nil {
				errs = append(errs, err)
				continue
			}
			if rp.Type == "row" {
				walk(rp.Panels)
				continue
			}
			p := panel{Panel: &dashboard.Panel{}}
			if err := json.Unmarshal(r, p.Panel); err != nil { // values; strictness was checked above
				errs = append(errs, fmt.Errorf("panel %q: %w", rp.Title, err))
				continue
			}
			if cfg, ok := cog.ConfigForPanelcfgVariant(rp.Type); !ok || cfg.StrictOptionsUnmarshaler == nil {
				errs = append(errs, fmt.Errorf("panel %q: the SDK has no strict schema for panel type %q", rp.Title, rp.Type))
			}
			if rp.FieldConfig != nil {
				fc := &dashboard.FieldConfigSource{}
				if err := sdkErr(fc.UnmarshalJSONStrict(rp.FieldConfig)); err != nil {
					errs = append(errs, fmt.Errorf("panel %q: fieldConfig: %w", rp.Title, err))
				}
			}
			for i, rt := range rp.Targets {
				q := &prometheus.Dataquery{}
				if err := sdkErr(q.UnmarshalJSONStrict(rt)); err != nil {
					errs = append(errs, fmt.Errorf("panel %q: target %d: %w", rp.Title, i, err))
					continue
				}
				if q.Datasource == nil || deref(q.Datasource.Type) != "prometheus" {
					errs = append(errs, fmt.Errorf("panel %q: target %d: want datasource {type: prometheus, ...} on the query", rp.Title, i))
				}
				p.queries = append(p.queries, q)
			}
			out = append(out, p)
		}
	}
	walk(top.Panels)
	return d, out, errors.Join(errs...)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func dashboardFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(dashboardGlob)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aci-fabric-overview.json", "aci-tenant.json", "aci-fabric-health.json"} {
		if !slices.Contains(files, want) {
			t.Fatalf("dashboard %s is missing (have %v)", want, files)
		}
	}
	return files
}

// readDashboard loads a dashboard file strictly (v1 schema: see loadDashboard).
//
//lint:ignore SA1019 see loadDashboard
func readDashboard(t *testing.T, file string) (*dashboard.Dashboard, []panel) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d, ps, err := loadDashboard(raw)
	if err != nil {
		t.Fatal(err)
	}
	return d, ps
}

// TestStrictLoaderRejects proves the loader is strict: each mutation of a
// good dashboard must be refused.
func TestStrictLoaderRejects(t *testing.T) {
	raw, err := os.ReadFile("aci-fabric-overview.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadDashboard(raw); err != nil {
		t.Fatalf("the good dashboard is refused: %v", err)
	}
	firstPanel := func(d map[string]any) map[string]any {
		for _, p := range d["panels"].([]any) {
			if pm := p.(map[string]any); pm["type"] == "timeseries" {
				return pm
			}
		}
		t.Fatal("no timeseries panel")
		return nil
	}
	for name, mutate := range map[string]func(d map[string]any){
		"unknown top-level field": func(d map[string]any) { d["shemaVersion"] = 39 },
		"missing schemaVersion":   func(d map[string]any) { delete(d, "schemaVersion") },
		"unknown panel field":     func(d map[string]any) { firstPanel(d)["descripton"] = "x" },
		"unknown panel option":    func(d map[string]any) { firstPanel(d)["options"].(map[string]any)["legnd"] = map[string]any{} },
		"mistyped field config": func(d map[string]any) {
			firstPanel(d)["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["custom"] = map[string]any{"lineWidth": "wide"}
		},
		"unknown field config key": func(d map[string]any) {
			firstPanel(d)["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["unti"] = "s"
		},
		"unknown query field": func(d map[string]any) { firstPanel(d)["targets"].([]any)[0].(map[string]any)["exp"] = "up" },
		"query of unknown type": func(d map[string]any) {
			firstPanel(d)["targets"].([]any)[0].(map[string]any)["datasource"] = map[string]any{"uid": dsUID}
		},
		"panel type without schema": func(d map[string]any) { firstPanel(d)["type"] = "graph" },
	} {
		t.Run(name, func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatal(err)
			}
			mutate(d)
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := loadDashboard(b); err == nil {
				t.Fatal("accepted")
			} else {
				t.Logf("refused: %.200s", err)
			}
		})
	}
}

// TestDashboards loads every dashboard strictly and checks what the SDK
// cannot: data source variable, fabric and tenant variables, a title, a
// description and a unit on every panel, queries on ${datasource}, and
// rate windows of $__rate_interval. Its PromQL is checked in
// TestExpressionsUseExportedMetrics and TestDashboardPromQLOnPrometheus242.
func TestDashboards(t *testing.T) {
	uids := map[string]string{}
	for _, file := range dashboardFiles(t) {
		t.Run(file, func(t *testing.T) {
			d, ps := readDashboard(t, file)
			uid := deref(d.Uid)
			if uid == "" || deref(d.Title) == "" || deref(d.Description) == "" {
				t.Errorf("uid %q, title %q, description %q: all are required", uid, deref(d.Title), deref(d.Description))
			}
			if other, dup := uids[uid]; dup {
				t.Errorf("uid %q is also the uid of %s", uid, other)
			}
			uids[uid] = file
			if d.SchemaVersion < 36 {
				t.Errorf("schemaVersion %d: want 36 or later (data source variables in panels)", d.SchemaVersion)
			}
			if d.Id != nil {
				t.Errorf("id %d: an importable dashboard has none", *d.Id)
			}

			vars := map[string]dashboard.VariableModel{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v
			}
			if v, ok := vars["datasource"]; !ok || v.Type != dashboard.VariableTypeDatasource || v.Query == nil || deref(v.Query.String) != "prometheus" {
				t.Errorf("want a variable datasource of type datasource with query prometheus, got %+v", v)
			}
			for _, name := range []string{"fabric", "tenant"} {
				v, ok := vars[name]
				switch {
				case !ok:
					t.Errorf("variable %s is missing", name)
				case v.Type != dashboard.VariableTypeQuery || v.Query == nil || deref(v.Query.String) == "":
					t.Errorf("variable %s: want a query variable, got type %s", name, v.Type)
				case v.Datasource == nil || deref(v.Datasource.Uid) != dsUID:
					t.Errorf("variable %s: want data source %s", name, dsUID)
				}
			}

			if len(ps) < 5 {
				t.Fatalf("only %d panels", len(ps))
			}
			ids := map[uint32]bool{}
			for _, p := range ps {
				title := deref(p.Title)
				if title == "" {
					t.Errorf("a %s panel has no title", p.Type)
				}
				if deref(p.Description) == "" {
					t.Errorf("panel %q has no description", title)
				}
				if p.FieldConfig == nil || deref(p.FieldConfig.Defaults.Unit) == "" {
					t.Errorf("panel %q has no fieldConfig.defaults.unit", title)
				}
				if p.Id == nil || ids[*p.Id] {
					t.Errorf("panel %q: missing or duplicate id", title)
				} else {
					ids[*p.Id] = true
				}
				if p.GridPos == nil {
					t.Errorf("panel %q has no gridPos", title)
				}
				if p.Datasource == nil || deref(p.Datasource.Uid) != dsUID || deref(p.Datasource.Type) != "prometheus" {
					t.Errorf("panel %q: want datasource {type: prometheus, uid: %s}", title, dsUID)
				}
				if len(p.queries) == 0 {
					t.Errorf("panel %q has no query", title)
				}
				for _, pq := range p.queries {
					if deref(pq.Datasource.Uid) != dsUID {
						t.Errorf("panel %q query %s: want data source %s", title, deref(pq.RefId), dsUID)
					}
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// PromQL: every expression of the dashboards and rules.

type expression struct {
	where string // file and place, for messages
	text  string // PromQL as written (Grafana variables substituted for dashboards)
}

// Grafana's interval macros become durations that no one writes by hand, so
// that a range can be told to come from $__rate_interval.
var macros = map[string]string{
	"__rate_interval": "4242s",
	"__interval":      "4243s",
	"__range":         "4244s",
}

const rateInterval = 4242 * time.Second

var (
	variableRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\}|\$([A-Za-z0-9_]+)`)
	labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)
	queryResult = regexp.MustCompile(`^\s*query_result\((.*)\)\s*$`)
	promParser  = parser.NewParser(parser.Options{})
	rateFuncs   = []string{"rate", "irate", "increase"}
	builtinVars = []string{"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s", "__range_ms"}
)

// Values the dashboards' own variables take in tests: placeholder where only
// the syntax matters, allValues where the queries run on real data (the All
// of a multi-value variable; a single-value one, matched with =, then selects
// nothing, and its query must still run without an error).
const (
	placeholder = "value"
	allValues   = ".*"
)

// substitute replaces Grafana's macros in a query with durations and the
// dashboard's variables with value, and reports variables the dashboard
// does not define.
func substitute(q string, defined map[string]bool, value string) (string, []string) {
	var unknown []string
	out := variableRef.ReplaceAllStringFunc(q, func(m string) string {
		sub := variableRef.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		if v, ok := macros[name]; ok {
			return v
		}
		if !defined[name] && !slices.Contains(builtinVars, name) {
			unknown = append(unknown, name)
		}
		return value
	})
	return out, unknown
}

// dashboardExpressions returns the PromQL of every panel query and every
// query variable of the dashboard file, Grafana's macros substituted and
// the dashboard's variables replaced by value.
func dashboardExpressions(t *testing.T, file, value string) []expression {
	t.Helper()
	d, ps := readDashboard(t, file)
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}
	var out []expression
	add := func(where, q string) {
		s, unknown := substitute(q, defined, value)
		if len(unknown) > 0 {
			t.Errorf("%s: undefined variables %v in %s", where, unknown, q)
		}
		out = append(out, expression{where: where, text: s})
	}
	for _, v := range d.Templating.List {
		if v.Type != dashboard.VariableTypeQuery || v.Query == nil {
			continue
		}
		q := deref(v.Query.String)
		where := fmt.Sprintf("%s: variable %s", file, v.Name)
		switch {
		case labelValues.MatchString(q):
			add(where, labelValues.FindStringSubmatch(q)[1])
		case queryResult.MatchString(q):
			add(where, queryResult.FindStringSubmatch(q)[1])
		default:
			t.Errorf("%s: query %q: the test understands label_values(selector, label) and query_result(expr)", where, q)
		}
	}
	for _, p := range ps {
		for _, pq := range p.queries {
			add(fmt.Sprintf("%s: panel %q query %s", file, deref(p.Title), deref(pq.RefId)), pq.Expr)
		}
	}
	return out
}

// ruleFile is the Prometheus rule file format, decoded strictly.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T, file string) []rule {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var rf ruleFile
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []rule
	for _, g := range rf.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rules", file)
	}
	return out
}

func ruleExpressions(t *testing.T) []expression {
	t.Helper()
	var out []expression
	for _, file := range []string{recordingFile, alertsFile} {
		for _, r := range loadRules(t, file) {
			out = append(out, expression{where: fmt.Sprintf("%s: %s%s", file, r.Record, r.Alert), text: r.Expr})
		}
	}
	return out
}

// metricNames lists the metric names an expression selects; it fails on a
// selector without a literal name, which no list of names could vouch for.
func metricNames(e parser.Expr) ([]string, error) {
	var names []string
	var err error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			err = fmt.Errorf("selector %s has no literal metric name", vs)
		}
		names = append(names, name)
		return nil
	})
	return names, err
}

// TestExpressionsUseExportedMetrics parses every PromQL expression of the
// dashboards and the rules, and fails when one names a metric that the
// running exporter does not export (within stateMetricsDeadline of churn)
// and no recording rule of ours records.
// Dashboards must also take every rate(), irate() and increase() over
// $__rate_interval.
func TestExpressionsUseExportedMetrics(t *testing.T) {
	t.Parallel()
	var exprs []expression
	for _, file := range dashboardFiles(t) {
		exprs = append(exprs, dashboardExpressions(t, file, placeholder)...)
	}
	nDashboard := len(exprs)
	exprs = append(exprs, ruleExpressions(t)...)

	recorded := map[string]bool{}
	for _, r := range loadRules(t, recordingFile) {
		recorded[r.Record] = true
	}
	asts := make([]parser.Expr, len(exprs))
	names := make([][]string, len(exprs))
	want := map[string]string{} // exported names used, and where first
	for i, e := range exprs {
		ast, err := promParser.ParseExpr(e.text)
		if err != nil {
			t.Errorf("%s: %v\n  %s", e.where, err, e.text)
			continue
		}
		asts[i] = ast
		if names[i], err = metricNames(ast); err != nil {
			t.Errorf("%s: %v", e.where, err)
		}
		for _, n := range names[i] {
			if _, seen := want[n]; n != "" && !recorded[n] && !seen {
				want[n] = e.where
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	known := exportedMetricNames(t, want)
	if !known["aci_up"] || !known["aci_object_changes_total"] {
		t.Fatalf("the exporter's /metrics looks wrong: %d names", len(known))
	}
	used := map[string]bool{}
	for i, e := range exprs {
		for _, n := range names[i] {
			used[n] = true
		}
		if i < nDashboard {
			parser.Inspect(asts[i], func(n parser.Node, _ []parser.Node) error {
				call, ok := n.(*parser.Call)
				if !ok || !slices.Contains(rateFuncs, call.Func.Name) {
					return nil
				}
				for _, arg := range call.Args {
					if ms, ok := arg.(*parser.MatrixSelector); ok && ms.Range != rateInterval {
						t.Errorf("%s: %s() over %s: use [$__rate_interval]", e.where, call.Func.Name, model.Duration(ms.Range))
					}
				}
				return nil
			})
		}
	}
	for r := range recorded {
		if !used[r] {
			t.Errorf("recording rule %s is used by no dashboard and no alert", r)
		}
	}
	t.Logf("%d expressions (%d from dashboards) use %d metric names; the exporter exports %d", len(exprs), nDashboard, len(used), len(known))
}

// TestDashboardPromQLOnPrometheus242 makes the dashboards' PromQL a rule
// file and has Debian's promtool (Prometheus 2.42) check it, so that no
// query needs a newer Prometheus than the rules do.
func TestDashboardPromQLOnPrometheus242(t *testing.T) {
	promtool := proctest.RequireTool(t, "promtool", "prometheus")
	type rec struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rec
	for _, file := range dashboardFiles(t) {
		for _, e := range dashboardExpressions(t, file, placeholder) {
			rules = append(rules, rec{Record: fmt.Sprintf("dashboard_query_%d", len(rules)), Expr: e.text})
		}
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboards", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := runTool(t, promtool, "check", "rules", path)
	if !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", len(rules))) {
		t.Fatalf("promtool check rules: %s", out)
	}
}

// ---------------------------------------------------------------------------
// Rules.

func TestPromtoolCheckRules(t *testing.T) {
	promtool := proctest.RequireTool(t, "promtool", "prometheus")
	out := runTool(t, promtool, "check", "rules", recordingFile, alertsFile)
	t.Logf("promtool check rules:\n%s", out)
	for _, file := range []string{recordingFile, alertsFile} {
		if !strings.Contains(out, "Checking "+file) {
			t.Errorf("promtool did not check %s", file)
		}
	}
	if strings.Count(out, "SUCCESS") != 2 {
		t.Errorf("want SUCCESS for both files")
	}
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := proctest.RequireTool(t, "promtool", "prometheus")
	files, err := filepath.Glob(unitTestGlob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no unit tests match %s (%v)", unitTestGlob, err)
	}
	out := runTool(t, promtool, append([]string{"test", "rules"}, files...)...)
	t.Logf("promtool test rules:\n%s", out)
	if strings.Count(out, "SUCCESS") != len(files) {
		t.Errorf("want SUCCESS for each of %d files", len(files))
	}
}

// unitTestFile is the part of promtool's unit test format this test reads.
type unitTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name           string `yaml:"name"`
		AlertRuleTests []struct {
			EvalTime  string           `yaml:"eval_time"`
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestAlertsAreComplete: every alert has a severity, summary, description
// and a runbook_url whose section exists in RUNBOOK.md, and promtool unit
// tests that see it fire and see it stay quiet.
func TestAlertsAreComplete(t *testing.T) {
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for line := range strings.SplitSeq(string(runbook), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			headings[strings.TrimSpace(h)] = true
		}
	}
	fires, quiet := map[string]int{}, map[string]int{}
	files, _ := filepath.Glob(unitTestGlob)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var u unitTestFile
		if err := yaml.Unmarshal(b, &u); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, rf := range u.RuleFiles {
			if _, err := os.Stat(filepath.Join(filepath.Dir(file), rf)); err != nil {
				t.Errorf("%s: rule file %s: %v", file, rf, err)
			}
		}
		for _, tc := range u.Tests {
			for _, a := range tc.AlertRuleTests {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname]++
				} else {
					quiet[a.Alertname]++
				}
			}
		}
	}
	alerts := map[string]bool{}
	for _, r := range loadRules(t, alertsFile) {
		if r.Alert == "" {
			t.Errorf("%s: recording rule %s: keep those in %s", alertsFile, r.Record, recordingFile)
			continue
		}
		alerts[r.Alert] = true
		if r.Labels["severity"] == "" {
			t.Errorf("%s: no severity label", r.Alert)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s annotation", r.Alert, a)
			}
		}
		if want := runbookURL + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
			t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
		}
		if !headings[r.Alert] {
			t.Errorf("%s: no section \"## %s\" in %s", r.Alert, r.Alert, runbookFile)
		}
		if fires[r.Alert] == 0 {
			t.Errorf("%s: no promtool unit test sees it fire", r.Alert)
		}
		if quiet[r.Alert] == 0 {
			t.Errorf("%s: no promtool unit test sees it stay quiet", r.Alert)
		}
	}
	if len(alerts) < 8 {
		t.Errorf("only %d alerts", len(alerts))
	}
	for name := range fires {
		if !alerts[name] {
			t.Errorf("unit tests name alert %s, which %s does not define (renamed?)", name, alertsFile)
		}
	}
	for name := range quiet {
		if !alerts[name] {
			t.Errorf("unit tests name alert %s, which %s does not define (renamed?)", name, alertsFile)
		}
	}
}
