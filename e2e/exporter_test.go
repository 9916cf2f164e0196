package e2e

import (
	"debug/buildinfo"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/aci-exporter/aci-exporter/apicsim"
)

func TestConfigCheck(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "demo", 1)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	writeConfig(t, good, f.yaml(""))
	out, err := exec.Command(exporterBin, "--config.check", "--config.file="+good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Config file is valid") {
		t.Fatalf("good config: %v %s", err, out)
	}
	bad := filepath.Join(dir, "bad.yml")
	writeConfig(t, bad, f.yaml("    usernme: x\n    password: hunter2-secret\n"))
	out, err = exec.Command(exporterBin, "--config.check", "--config.file="+bad).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), `line 7: unknown key \"usernme\"`) {
		t.Fatalf("bad config: exit %d\n%s", code, out)
	}
	if strings.Contains(string(out), "hunter2-secret") {
		t.Fatalf("the password reached the output:\n%s", out)
	}
}

// binaryVersion is the version and revision the exporter binary should
// report, from the build info Go recorded in it: TestMain builds it without
// -ldflags, like a plain go build or go install.
func binaryVersion(t *testing.T) (ver, rev string) {
	t.Helper()
	bi, err := buildinfo.ReadFile(exporterBin)
	if err != nil {
		t.Fatal(err)
	}
	rev = "unknown"
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			rev = s.Value
		}
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.modified" && s.Value == "true" {
			rev += "-modified"
		}
	}
	// A git clone is stamped (a worktree is not: Go looks for a .git
	// directory).
	if fi, err := os.Stat("../.git"); err == nil && fi.IsDir() {
		head, err := exec.Command("git", "rev-parse", "HEAD").Output()
		if err != nil || !strings.HasPrefix(rev, strings.TrimSpace(string(head))) {
			t.Errorf("the binary's revision is %q, want HEAD %q (%v)", rev, head, err)
		}
	}
	return bi.Main.Version, rev
}

// TestVersion: a build without -ldflags says what it is.
func TestVersion(t *testing.T) {
	ver, rev := binaryVersion(t)
	out, err := exec.Command(exporterBin, "--version").CombinedOutput()
	want := fmt.Sprintf("aci_exporter, version %s (branch: , revision: %s)", ver, rev)
	if err != nil || ver == "" || !strings.HasPrefix(string(out), want) {
		t.Fatalf("--version: %v, want it to start %q:\n%s", err, want, out)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestReload: a bad file is refused with its error and changes nothing; a
// good one adds a fabric without touching the stream of the unchanged one;
// SIGHUP removes it again.
func TestReload(t *testing.T) {
	a := newFabric(t, "east", apicsim.Config{}, "demo", 1)
	b := newFabric(t, "west", apicsim.Config{}, "demo", 2)
	e := startExporter(t, a.yaml(""))
	e.waitReady()
	loginsA := "controller=" + a.sim.URLs()[0] + ",fabric=east"

	if code, _ := e.get("/-/reload"); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /-/reload: %d", code)
	}
	writeConfig(t, e.config, a.yaml(""), "  - name: west\n    bogus: 1\n")
	code, body := e.post("/-/reload")
	if code != 500 || !strings.Contains(body, `unknown key "bogus"`) {
		t.Fatalf("bad reload: %d %s", code, body)
	}
	if got := e.value(t, "aci_exporter_config_last_reload_successful", ""); got != 0 {
		t.Fatalf("last_reload_successful = %g after a bad reload", got)
	}
	if code, _ := e.get("/-/ready"); code != 200 {
		t.Fatal("a bad reload broke the running fabric")
	}

	writeConfig(t, e.config, a.yaml(""), b.yaml(""))
	if code, body := e.post("/-/reload"); code != 200 {
		t.Fatalf("good reload: %d %s", code, body)
	}
	eventually(t, 10*time.Second, "west up", func() bool { return e.value(t, "aci_up", "fabric=west") == 1 })
	if got := e.value(t, "aci_logins_total", loginsA); got != 1 {
		t.Fatalf("east logged in %g times: its stream was restarted by an unrelated reload", got)
	}
	assertTruth(t, e, b)

	writeConfig(t, e.config, a.yaml(""))
	e.Cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "west removed", func() bool {
		s, err := e.scrape("aci_up")
		return err == nil && len(s) == 1 && s["aci_up{fabric=east}"] == 1
	})
}

func (e *exporter) post(path string) (int, string) {
	resp, err := http.Post(e.url+path, "", nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadyLandingAndSecrets: /-/ready says 503 until the first snapshot,
// the landing page shows the stream, and the password never shows up in
// logs or metrics, even after a failed login.
func TestReadyLandingAndSecrets(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "demo", 1)
	f.sim.ThrottleLogins(true)
	e := startExporter(t, f.yaml(""))
	eventually(t, 10*time.Second, "a refused login", func() bool {
		return e.value(t, "aci_login_failures_total", "controller="+f.sim.URLs()[0]+",fabric=prod") >= 1
	})
	if code, body := e.get("/-/ready"); code != 503 || !strings.Contains(body, "first snapshot") {
		t.Fatalf("ready before any snapshot: %d %s", code, body)
	}
	f.sim.ThrottleLogins(false)
	e.waitReady()
	code, page := e.get("/")
	if code != 200 || !strings.Contains(page, `<td><a href="/metrics?fabric=prod">prod</a></td>`) || !strings.Contains(page, `class="up"`) || !strings.Contains(page, f.sim.URLs()[0]) {
		t.Fatalf("landing page: %d\n%s", code, page)
	}
	ver, rev := binaryVersion(t)
	if !strings.Contains(html.UnescapeString(page), "Version "+ver+".") {
		t.Errorf("the landing page does not show version %q:\n%s", ver, page)
	}
	_, metrics := e.get("/metrics")
	if !strings.Contains(metrics, `revision="`+rev+`"`) || !strings.Contains(metrics, `version="`+ver+`"`) {
		t.Errorf("aci_exporter_build_info lacks version %q or revision %q", ver, rev)
	}
	// From its first snapshot on, every class has its resync counters, at 0.
	for _, class := range strings.Fields(allClasses) {
		for _, status := range []string{"created", "modified", "deleted"} {
			if s := `aci_object_resync_changes_total{class="` + class + `",fabric="prod",status="` + status + `"} 0`; !strings.Contains(metrics, s+"\n") {
				t.Errorf("/metrics lacks %s", s)
			}
		}
	}
	for _, where := range []string{e.Out.String(), metrics, page} {
		if strings.Contains(where, "s3cret-prod") {
			t.Fatal("the password leaked")
		}
	}
	if !strings.Contains(e.Out.String(), "503") {
		t.Errorf("the throttled login is not in the log:\n%s", e.Out)
	}
}

// TestDemo: --demo runs on its own and shows changing numbers.
func TestDemo(t *testing.T) {
	e := startExporterArgs(t, "--demo")
	e.waitReady()
	changes := func() float64 {
		s, err := e.scrape("aci_object_changes_total")
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, v := range s {
			sum += v
		}
		return sum
	}
	first := changes()
	eventually(t, 10*time.Second, "demo churn", func() bool { return changes() > first+5 })
	if !strings.Contains(e.Out.String(), "metrics on http://") {
		t.Errorf("the demo does not say where to look:\n%s", e.Out)
	}
}

// TestGracefulShutdown: SIGTERM ends the process cleanly.
func TestGracefulShutdown(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "demo", 1)
	e := startExporter(t, f.yaml(""))
	e.waitReady()
	start := time.Now()
	if err := e.Stop(t); err != nil {
		t.Fatalf("exit: %v\n%s", err, e.Out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to stop after SIGTERM", d)
	}
	eventually(t, 5*time.Second, "the socket closed at the simulator", func() bool { return f.sim.Status().Controllers[0].Sockets == 0 })
}

// TestWebConfigBasicAuth: --web.config.file guards every route.
func TestWebConfigBasicAuth(t *testing.T) {
	f := newFabric(t, "prod", apicsim.Config{}, "demo", 1)
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	web := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(web, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "aci.yml")
	writeConfig(t, cfg, f.yaml(""))
	e := startExporterArgs(t, "--config.file="+cfg, "--web.config.file="+web)
	eventually(t, 10*time.Second, "the server", func() bool { code, _ := e.get("/-/healthy"); return code != 0 })
	for _, path := range []string{"/metrics", "/-/healthy", "/"} {
		if code, _ := e.get(path); code != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", path, code)
		}
	}
	req, _ := http.NewRequest("GET", e.url+"/metrics", nil)
	req.SetBasicAuth("prometheus", "scrape-pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with credentials: %d", resp.StatusCode)
	}
}
