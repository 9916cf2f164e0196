package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// deafAPIC is a controller address that counts the connections made to it
// and answers none.
type deafAPIC struct {
	l     net.Listener
	conns atomic.Int64
}

func newDeafAPIC(t *testing.T) *deafAPIC {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &deafAPIC{l: l}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			d.conns.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return d
}

// fabricLabels returns the fabric label of every series of a scrape.
func fabricLabels(text string) map[string]bool {
	re := regexp.MustCompile(`[{,]fabric="([^"]*)"`)
	out := map[string]bool{}
	for line := range strings.Lines(text) {
		if m := re.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "#") {
			out[m[1]] = true
		}
	}
	return out
}

// TestFabricSelection: with --fabric, a replica serves only the selected
// fabrics of a shared config: only their series appear and only their APICs
// are contacted, at start and after reloads; a name the config does not
// hold is an error at start, on --config.check and on reload.
func TestFabricSelection(t *testing.T) {
	east := newFabric(t, "east", apicsim.Config{}, "demo", 1)
	deaf := newDeafAPIC(t)
	west := fmt.Sprintf("  - name: west\n    controllers: [https://%s]\n    username: monitoring\n    password_file: %s\n    tls: {ca_file: %s}\n",
		deaf.l.Addr(), east.pw, east.ca)
	cfg := filepath.Join(t.TempDir(), "fleet.yml")
	writeConfig(t, cfg, east.yaml(""), west)

	// An unknown name: --config.check and start both fail and say why.
	for _, args := range [][]string{{"--config.check"}, {"--web.listen-address=127.0.0.1:0"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, exporterBin, append(args, "--config.file="+cfg, "--fabric=east", "--fabric=nort")...).CombinedOutput()
		cancel()
		if code := exitCode(err); code != 1 || !strings.Contains(string(out), `--fabric: fabric \"nort\" is selected but not in the config (it has: east, west)`) {
			t.Errorf("%v with an unknown --fabric: exit %d\n%s", args, code, out)
		}
	}
	out, err := exec.Command(exporterBin, "--config.check", "--config.file="+cfg, "--fabric=east").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Config file is valid") {
		t.Fatalf("--config.check --fabric=east: %v %s", err, out)
	}

	e := startExporterArgs(t, "--config.file="+cfg, "--fabric=east")
	e.waitReady()
	onlyEast := func(when string) {
		t.Helper()
		code, text := e.get("/metrics")
		if got := fabricLabels(text); code != 200 || !got["east"] || len(got) != 1 {
			t.Fatalf("%s: /metrics (%d) holds the series of fabrics %v, want east only", when, code, got)
		}
		if n := deaf.conns.Load(); n != 0 {
			t.Fatalf("%s: west's APIC was contacted %d times", when, n)
		}
		if code, body := e.get("/metrics?fabric=west"); code != 404 || !strings.Contains(body, `fabric "west" is not served by this exporter (it serves: east)`) {
			t.Fatalf("%s: ?fabric=west: %d %s", when, code, body)
		}
	}
	onlyEast("at start")
	assertTruth(t, e, east)

	// A reload keeps the selection: west changes, north is added, and
	// still only east is served, on its unchanged stream.
	north := strings.ReplaceAll(west, "name: west", "name: north")
	writeConfig(t, cfg, east.yaml(""), strings.Replace(west, "username: monitoring", "username: other", 1), north)
	if code, body := e.post("/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	onlyEast("after a reload")
	if got := e.value(t, "aci_logins_total", "controller="+east.sim.URLs()[0]+",fabric=east"); got != 1 {
		t.Errorf("east logged in %g times: the reload restarted its stream", got)
	}
	// A shared file that no longer holds a selected fabric is refused,
	// and the replica goes on serving it.
	writeConfig(t, cfg, west)
	if code, body := e.post("/-/reload"); code != 500 || !strings.Contains(body, `fabric "east" is selected but not in the config (it has: west)`) {
		t.Fatalf("reload without east: %d %s", code, body)
	}
	onlyEast("after a refused reload")
	if got := e.value(t, "aci_up", "fabric=east"); got != 1 {
		t.Errorf("aci_up of east is %g after a refused reload", got)
	}
}

// TestPerFabricScrape: /metrics?fabric=NAME holds exactly that fabric's
// series (equal to the ground truth) and none of the exporter's own; plain
// /metrics holds everything.
func TestPerFabricScrape(t *testing.T) {
	east := newFabric(t, "east", apicsim.Config{}, "demo", 1)
	west := newFabric(t, "west", apicsim.Config{}, "demo", 2)
	e := startExporter(t, east.yaml(""), west.yaml(""))
	e.waitReady()
	for i, f := range []*fabric{east, west} {
		f.churn(50, int64(3+i))
		proctest.Poll(t, 20*time.Second, f.name+"'s changes", func() (bool, string) {
			s, err := e.scrape("aci_object_changes_total")
			return err == nil && len(s.only(f.name)) >= 5, fmt.Sprint(s.only(f.name), err)
		})
		f.sim.StopChurn()
	}
	for _, f := range []*fabric{east, west} {
		proctest.Poll(t, 20*time.Second, f.name+"'s scrape equal to its truth", func() (bool, string) {
			got, err := e.scrapePath("/metrics?fabric="+f.name, truthFamilies...)
			if err != nil {
				return false, err.Error()
			}
			d := diff(got, f.truth(t))
			return d == "", d
		})
		code, text := e.get("/metrics?fabric=" + f.name)
		if got := fabricLabels(text); code != 200 || len(got) != 1 || !got[f.name] {
			t.Errorf("?fabric=%s holds the series of fabrics %v", f.name, got)
		}
		for _, own := range []string{"go_goroutines", "process_cpu_seconds_total", "aci_exporter_build_info", "aci_exporter_config_last_reload_successful", "promhttp_"} {
			if strings.Contains(text, own) {
				t.Errorf("?fabric=%s serves the exporter's own %s", f.name, own)
			}
		}
	}
	_, all := e.get("/metrics")
	if got := fabricLabels(all); len(got) != 2 || !strings.Contains(all, "\ngo_goroutines ") || !strings.Contains(all, "aci_exporter_build_info{") {
		t.Errorf("plain /metrics: fabrics %v, or no Go or build series", got)
	}
}

// TestServiceDiscoveryWithPrometheus runs the README's fleet setup: two
// replicas of one config, each serving its --fabric share, and Debian's
// Prometheus with the README's scrape config, which finds a target per
// fabric through /sd and scrapes the replicas' own metrics apart. Without
// a prometheus binary it checks /sd only (and fails under CI).
func TestServiceDiscoveryWithPrometheus(t *testing.T) {
	east := newFabric(t, "east", apicsim.Config{}, "demo", 1)
	west := newFabric(t, "west", apicsim.Config{}, "demo", 2)
	cfg := filepath.Join(t.TempDir(), "fleet.yml")
	writeConfig(t, cfg, east.yaml(""), west.yaml(""))
	addr0 := proctest.FreeAddr(t)
	// Replica 0 is told its address, as in the StatefulSet; replica 1's
	// targets take the Host Prometheus asked /sd with.
	r0 := &exporter{t: t, url: "http://" + addr0, config: cfg}
	r0.Process = proctest.Start(t, exporterBin, "--config.file="+cfg, "--fabric=east", "--web.listen-address="+addr0, "--web.external-address="+addr0)
	// Replica 1 reads its share from a file, as in the README's StatefulSet.
	share := filepath.Join(t.TempDir(), "aci-exporter-1")
	if err := os.WriteFile(share, []byte("--fabric=west\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r1 := startExporterArgs(t, "--config.file="+cfg, "@"+share)
	r0.waitReady()
	r1.waitReady()
	addr1 := strings.TrimPrefix(r1.url, "http://")

	for _, tc := range []struct {
		e          *exporter
		addr, name string
	}{{r0, addr0, "east"}, {r1, addr1, "west"}} {
		code, body := tc.e.get("/sd")
		want := fmt.Sprintf(`[{"targets":[%q],"labels":{"__metrics_path__":"/metrics","__param_fabric":%q,"fabric":%q}}]`+"\n", tc.addr, tc.name, tc.name)
		if code != 200 || body != want {
			t.Fatalf("/sd of the replica serving %s: %d %s\nwant %s", tc.name, code, body, want)
		}
	}

	promBin := prometheusBin(t)
	if promBin == "" {
		return
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sc := readmeBlock(t, string(readme), "http_sd_configs")
	sc = strings.ReplaceAll(sc, "aci-exporter-0.aci-exporter.monitoring.svc:9648", addr0)
	sc = strings.ReplaceAll(sc, "aci-exporter-1.aci-exporter.monitoring.svc:9648", addr1)
	dir := t.TempDir()
	promCfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"+sc), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := proctest.FreeAddr(t)
	prom := proctest.Start(t, promBin, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	api := "http://" + promAddr
	proctest.Poll(t, 60*time.Second, "Prometheus to scrape every target", func() (bool, string) {
		if prom.Cmd.ProcessState != nil {
			t.Fatalf("prometheus exited:\n%s", prom.Out.Tail())
		}
		var tg struct {
			Data struct {
				ActiveTargets []struct {
					Labels    map[string]string `json:"labels"`
					ScrapeURL string            `json:"scrapeUrl"`
					Health    string            `json:"health"`
					LastError string            `json:"lastError"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		if err := getJSON(api+"/api/v1/targets", &tg); err != nil {
			return false, err.Error()
		}
		var got []string
		for _, tr := range tg.Data.ActiveTargets {
			got = append(got, fmt.Sprintf("%s %s %s %s %s", tr.Labels["job"], tr.Labels["fabric"], tr.ScrapeURL, tr.Health, tr.LastError))
		}
		slices.Sort(got)
		want := []string{
			fmt.Sprintf("aci east http://%s/metrics?fabric=east up ", addr0),
			fmt.Sprintf("aci west http://%s/metrics?fabric=west up ", addr1),
			fmt.Sprintf("aci-exporter  http://%s/metrics up ", addr0),
			fmt.Sprintf("aci-exporter  http://%s/metrics up ", addr1),
		}
		slices.Sort(want)
		return slices.Equal(got, want), "\n" + strings.Join(got, "\n")
	})
	for _, tc := range []struct {
		query string
		want  []string
	}{
		// up of each fabric's target carries the fabric.
		{`up`, []string{"aci/east/" + addr0 + "=1", "aci/west/" + addr1 + "=1", "aci-exporter//" + addr0 + "=1", "aci-exporter//" + addr1 + "=1"}},
		// The fabric's series keep their label: no exported_fabric.
		{`aci_up`, []string{"aci/east/" + addr0 + "=1", "aci/west/" + addr1 + "=1"}},
		{`count by (job, fabric, instance) ({exported_fabric!=""})`, nil},
		// The replicas' own series come from the second job only, and
		// the fabrics' series from the first only.
		{`count by (job, fabric, instance) (go_goroutines)`, []string{"aci-exporter//" + addr0 + "=1", "aci-exporter//" + addr1 + "=1"}},
		{`count by (job, fabric, instance) ({job="aci-exporter",fabric!=""})`, nil},
	} {
		slices.Sort(tc.want)
		want := strings.Join(tc.want, " ")
		proctest.Poll(t, 20*time.Second, tc.query+" = "+want, func() (bool, string) {
			got, err := promQuery(api, tc.query)
			if err != nil {
				return false, err.Error()
			}
			return got == want, got
		})
	}
}

// prometheusBin finds Debian's prometheus; missing, it skips the test's
// Prometheus part, or fails it under CI (which installs the package).
func prometheusBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	msg := "prometheus not found: install Debian's prometheus package to run the Prometheus part"
	if proctest.InCI() {
		t.Fatal(msg + "; CI is set, so this is a failure")
	}
	t.Log(msg)
	return ""
}

// readmeBlock returns the README's yaml code block that contains marker.
func readmeBlock(t *testing.T, readme, marker string) string {
	t.Helper()
	for _, part := range strings.Split(readme, "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if strings.Contains(block, marker) {
			return block
		}
	}
	t.Fatalf("the README has no yaml block with %q", marker)
	return ""
}

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// promQuery runs an instant query and returns its series sorted, each as
// job/fabric/instance=value.
func promQuery(api, query string) (string, error) {
	var r struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := getJSON(api+"/api/v1/query?query="+url.QueryEscape(query), &r); err != nil {
		return "", err
	}
	var out []string
	for _, s := range r.Data.Result {
		m := s.Metric
		out = append(out, fmt.Sprintf("%s/%s/%s=%v", m["job"], m["fabric"], m["instance"], s.Value[1]))
	}
	slices.Sort(out)
	return strings.Join(out, " "), nil
}
