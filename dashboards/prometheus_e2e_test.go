package dashboards

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// tenantAlertDeadline bounds the wait, from the exporter's start, for the
// tenant alert. The demo's churn (seed 1, 20 changes/s) first deletes a
// tenant about 60-70 s after it starts.
const tenantAlertDeadline = 100 * time.Second

type promAlerts struct {
	Status string `json:"status"`
	Data   struct {
		Alerts []struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			State       string            `json:"state"`
			ActiveAt    string            `json:"activeAt"`
		} `json:"alerts"`
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

// TestPrometheusE2E: Debian's Prometheus scrapes the exporter running
// --demo every second, evaluates our rules every second, and the tenant
// churn of the demo makes ACITenantCreatedOrDeleted pending or firing. The
// stream-health alerts stay quiet on the healthy demo, and every rule
// evaluates without error.
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

	proctest.Poll(t, 10*time.Second, "Prometheus to load every rule", func() (bool, string) {
		var r promRules
		if err := getJSON(api+"/api/v1/rules", &r); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, g := range r.Data.Groups {
			n += len(g.Rules)
		}
		return n == nRules, fmt.Sprintf("%d rules loaded, want %d", n, nRules)
	})

	var alert string
	proctest.Poll(t, tenantAlertDeadline-time.Since(started), "ACITenantCreatedOrDeleted to be pending or firing", func() (bool, string) {
		var a promAlerts
		if err := getJSON(api+"/api/v1/alerts", &a); err != nil {
			return false, err.Error()
		}
		var active []string
		for _, al := range a.Data.Alerts {
			active = append(active, al.Labels["alertname"]+"/"+al.State)
			if al.Labels["alertname"] == "ACITenantCreatedOrDeleted" && (al.State == "pending" || al.State == "firing") {
				l := al.Labels
				if l["fabric"] != "demo" || l["class"] != "fvTenant" || l["tenant"] == "" || l["job"] != "aci" ||
					(l["status"] != "created" && l["status"] != "deleted") || al.Annotations["summary"] == "" {
					t.Errorf("unexpected labels or annotations: %v %v", l, al.Annotations)
				}
				alert = fmt.Sprintf("%s: tenant %s %s (%s)", al.State, l["tenant"], l["status"], al.Annotations["summary"])
				return true, ""
			}
		}
		return false, fmt.Sprintf("active alerts: %v", active)
	})
	t.Logf("%.0f s after the exporter started: ACITenantCreatedOrDeleted %s", time.Since(started).Seconds(), alert)

	// The demo's stream is healthy: no other alert may be active.
	var a promAlerts
	if err := getJSON(api+"/api/v1/alerts", &a); err != nil {
		t.Fatal(err)
	}
	for _, al := range a.Data.Alerts {
		if al.Labels["alertname"] != "ACITenantCreatedOrDeleted" {
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
}
