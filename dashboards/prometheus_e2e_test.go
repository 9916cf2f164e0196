package dashboards

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// tenantAlertDeadline bounds the wait, from the exporter's start, for the
// tenant alert. The demo's churn (seed 1, 20 changes/s) first deletes a
// tenant about 60-70 s after it starts.
const tenantAlertDeadline = 100 * time.Second

// stateAlert is the fabric-state alert the demo must raise, and
// stateAlertDeadline bounds the wait for it from the exporter's start: the
// demo populates critical faults (F0104), and a fabric link it takes down
// raises F1394, which is critical after two soak intervals (16 s).
const (
	stateAlert         = "ACIFaultCritical"
	stateAlertDeadline = 100 * time.Second
)

// The rule groups of aci-alerts.yml whose alerts the demo's churn raises by
// design; every other alert must stay quiet on the healthy demo.
var demoAlertGroups = []string{"aci-tenant-churn", "aci-fabric-state"}

type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    string            `json:"activeAt"`
}

type promAlerts struct {
	Status string `json:"status"`
	Data   struct {
		Alerts []promAlert `json:"alerts"`
	} `json:"data"`
}

type promQuery struct {
	Status string `json:"status"`
	Data   struct {
		Result []json.RawMessage `json:"result"`
	} `json:"data"`
}

type promRules struct {
	Status string `json:"status"`
	Data   struct {
		Groups []struct {
			Name  string `json:"name"`
			File  string `json:"file"`
			Rules []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"data"`
}

func getJSON(url string, v any) error {
	code, body, err := httpGet(url)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, code, body)
	}
	return json.Unmarshal(body, v)
}

// waitAlert waits until Prometheus has alert name pending or firing, and
// returns it.
func waitAlert(t *testing.T, api, name string, timeout time.Duration) promAlert {
	t.Helper()
	var found promAlert
	proctest.Poll(t, timeout, name+" to be pending or firing", func() (bool, string) {
		var a promAlerts
		if err := getJSON(api+"/api/v1/alerts", &a); err != nil {
			return false, err.Error()
		}
		var active []string
		for _, al := range a.Data.Alerts {
			active = append(active, al.Labels["alertname"]+"/"+al.State)
			if al.Labels["alertname"] == name && (al.State == "pending" || al.State == "firing") {
				found = al
				return true, ""
			}
		}
		return false, fmt.Sprintf("active alerts: %v", active)
	})
	return found
}

// TestPrometheusE2E: Debian's Prometheus scrapes the exporter running
// --demo every second and evaluates our rules every second. The tenant churn
// of the demo makes ACITenantCreatedOrDeleted pending or firing, and its
// fabric state makes stateAlert pending or firing, once for the fabric. The
// stream-health alerts stay quiet on the healthy demo, every rule evaluates
// without error, and so does every query of every dashboard.
func TestPrometheusE2E(t *testing.T) {
	t.Parallel()
	promBin := proctest.RequireTool(t, "prometheus", "prometheus")
	nRules := len(loadRules(t, recordingFile)) + len(loadRules(t, alertsFile))

	started := time.Now()
	expAddr := proctest.FreeAddr(t)
	exp := startProcess(t, exporterBin, "--demo", "--web.listen-address="+expAddr)
	waitReady(t, exp, "http://"+expAddr+"/-/ready", 30*time.Second)

	dir := t.TempDir()
	var ruleFiles []string
	for _, f := range []string{recordingFile, alertsFile} {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		ruleFiles = append(ruleFiles, fmt.Sprintf("  - %q\n", abs))
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	yml := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
%sscrape_configs:
  - job_name: aci
    static_configs:
      - targets: [%q]
`, strings.Join(ruleFiles, ""), expAddr)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := proctest.FreeAddr(t)
	prom := startProcess(t, promBin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
	)
	api := "http://" + promAddr
	waitReady(t, prom, api+"/-/ready", 30*time.Second)

	demoAlerts := map[string]bool{}
	proctest.Poll(t, 10*time.Second, "Prometheus to load every rule", func() (bool, string) {
		var r promRules
		if err := getJSON(api+"/api/v1/rules", &r); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, g := range r.Data.Groups {
			n += len(g.Rules)
			for _, rl := range g.Rules {
				if rl.Type == "alerting" && slices.Contains(demoAlertGroups, g.Name) {
					demoAlerts[rl.Name] = true
				}
			}
		}
		return n == nRules, fmt.Sprintf("%d rules loaded, want %d", n, nRules)
	})
	if !demoAlerts[stateAlert] {
		t.Fatalf("%s is in none of the groups %v", stateAlert, demoAlertGroups)
	}

	al := waitAlert(t, api, "ACITenantCreatedOrDeleted", tenantAlertDeadline-time.Since(started))
	l := al.Labels
	if l["fabric"] != "demo" || l["class"] != "fvTenant" || l["tenant"] == "" || l["job"] != "aci" ||
		(l["status"] != "created" && l["status"] != "deleted") || al.Annotations["summary"] == "" {
		t.Errorf("unexpected labels or annotations: %v %v", l, al.Annotations)
	}
	t.Logf("%.0f s after the exporter started: ACITenantCreatedOrDeleted %s: tenant %s %s (%s)",
		time.Since(started).Seconds(), al.State, l["tenant"], l["status"], al.Annotations["summary"])

	// A fabric-state alert carries the fabric's labels, not the exporter's:
	// it is the max over the exporters that stream the fabric.
	al = waitAlert(t, api, stateAlert, stateAlertDeadline-time.Since(started))
	l = al.Labels
	if l["fabric"] != "demo" || l["code"] == "" || l["job"] != "" || l["instance"] != "" || l["severity"] != "critical" ||
		al.Annotations["summary"] == "" || !strings.HasSuffix(al.Annotations["runbook_url"], "#"+strings.ToLower(stateAlert)) {
		t.Errorf("unexpected labels or annotations: %v %v", l, al.Annotations)
	}
	t.Logf("%.0f s after the exporter started: %s %s (%s)", time.Since(started).Seconds(), stateAlert, al.State, al.Annotations["summary"])

	// The demo's stream is healthy: only the alerts of its churn may be active.
	var a promAlerts
	if err := getJSON(api+"/api/v1/alerts", &a); err != nil {
		t.Fatal(err)
	}
	for _, al := range a.Data.Alerts {
		if !demoAlerts[al.Labels["alertname"]] {
			t.Errorf("%s is %s on the healthy demo: %v", al.Labels["alertname"], al.State, al.Labels)
		}
	}
	// Every rule has been evaluated against real data without error.
	var r promRules
	if err := getJSON(api+"/api/v1/rules", &r); err != nil {
		t.Fatal(err)
	}
	for _, g := range r.Data.Groups {
		for _, rl := range g.Rules {
			if rl.Health != "ok" || rl.LastError != "" {
				t.Errorf("rule %s (group %s): health %q, error %q", rl.Name, g.Name, rl.Health, rl.LastError)
			}
		}
	}
	// And every dashboard query, with each variable at All.
	var empty []string
	n := 0
	for _, file := range dashboardFiles(t) {
		for _, e := range dashboardExpressions(t, file, allValues) {
			var q promQuery
			if err := getJSON(api+"/api/v1/query?query="+url.QueryEscape(e.text), &q); err != nil || q.Status != "success" {
				t.Errorf("%s: %v %s\n  %s", e.where, err, q.Status, e.text)
				continue
			}
			n++
			if len(q.Data.Result) == 0 {
				empty = append(empty, e.where)
			}
		}
	}
	t.Logf("%d dashboard queries ran; %d returned nothing now: %v", n, len(empty), empty)
}
