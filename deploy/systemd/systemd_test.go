// Package systemd tests the unit files in this directory: systemd-analyze
// verify and security accept them, and the exporter serves through a socket
// handed over the way aci-exporter.socket hands it.
package systemd

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

const (
	service     = "aci-exporter.service"
	socket      = "aci-exporter.socket"
	installedAt = "/usr/local/bin/aci-exporter"
)

// unitKeys reads a unit file's Key=Value lines per section, continuation
// lines joined.
func unitKeys(t *testing.T, file string) map[string][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section, cur := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur += rest + " "
			continue
		}
		line, cur = cur+line, ""
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		keys[section+"."+k] = append(keys[section+"."+k], strings.Join(strings.Fields(v), " "))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// stagedUnits copies the units to a temporary directory, with ExecStart's
// binary (installed by the user, not here) replaced by an executable that
// exists, since verify checks it.
func stagedUnits(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{service, socket} {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(raw), installedAt, exe)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestUnitsVerify: systemd-analyze verify accepts both units with no word
// about them. It exits 0 on an unknown key too, so any line naming the units
// fails the test.
func TestUnitsVerify(t *testing.T) {
	analyze := proctest.RequireTool(t, "systemd-analyze", "systemd")
	dir := stagedUnits(t)
	cmd := exec.Command(analyze, "verify", filepath.Join(dir, service), filepath.Join(dir, socket))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "aci-exporter") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

// TestServiceHardening: systemd's own exposure score of the service is "OK"
// or better (at most 2.0 of 10); it was 1.4 when written.
func TestServiceHardening(t *testing.T) {
	analyze := proctest.RequireTool(t, "systemd-analyze", "systemd")
	dir := stagedUnits(t)
	out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", filepath.Join(dir, service)).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v (exposure above 2.0, or a systemd before 250 without --offline)\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(lines[len(lines)-1])
}

// TestUnitContract: what the README and the image promise of the units.
func TestUnitContract(t *testing.T) {
	svc, sock := unitKeys(t, service), unitKeys(t, socket)
	start := svc["Service.ExecStart"]
	if len(start) != 1 {
		t.Fatalf("ExecStart %q, want one", start)
	}
	args := strings.Fields(start[0])
	for _, want := range []string{installedAt, "--config.file=/etc/aci-exporter/aci-exporter.yml", "--web.systemd-socket", "$ARGS"} {
		if !slices.Contains(args, want) {
			t.Errorf("ExecStart %q lacks %s", start[0], want)
		}
	}
	for _, c := range []struct {
		unit      map[string][]string
		key, want string
	}{
		{svc, "Service.User", "aci-exporter"},
		{svc, "Service.EnvironmentFile", "-/etc/default/aci-exporter"},
		{svc, "Service.ExecReload", "/bin/kill -HUP $MAINPID"},
		{svc, "Service.NoNewPrivileges", "yes"},
		{svc, "Service.CapabilityBoundingSet", ""},
		{svc, "Service.ProtectSystem", "strict"},
		{svc, "Unit.Requires", socket},
		{svc, "Install.WantedBy", "multi-user.target"},
		{sock, "Socket.ListenStream", "9648"},
		{sock, "Install.WantedBy", "sockets.target"},
	} {
		if got := c.unit[c.key]; len(got) != 1 || got[0] != c.want {
			t.Errorf("%s = %q, want %q", c.key, got, c.want)
		}
	}
}

// TestExporterUnderSocketActivation: the exporter serves on a listening
// socket handed to it as systemd does, with the unit's --web.systemd-socket
// (--demo stands in for a fabric).
func TestExporterUnderSocketActivation(t *testing.T) {
	activate := proctest.RequireTool(t, "systemd-socket-activate", "systemd")
	bin := filepath.Join(t.TempDir(), "aci-exporter")
	build := exec.Command("go", "build", "-o", bin, "./cmd/aci-exporter")
	build.Dir = "../.." // the exporter's own module
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the exporter: %v\n%s", err, out)
	}
	addr := proctest.FreeAddr(t)
	// systemd-socket-activate binds addr and execs the exporter in its place.
	p := proctest.Start(t, activate, "--listen="+addr, bin, "--web.systemd-socket", "--demo")

	deadline := time.Now().Add(60 * time.Second)
	for {
		status, body := get(t, "http://"+addr+"/-/ready")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 60 s: %d %s\n%s", status, body, p.Out.Tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status, body := get(t, "http://"+addr+"/metrics"); status != http.StatusOK || !strings.Contains(body, `aci_up{fabric="demo"} 1`) {
		t.Errorf("/metrics: %d, want 200 with aci_up of the demo fabric at 1\n%.2000s", status, body)
	}
}

// get is status and body of a GET, or 0 and the error.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Sprint(err)
	}
	return resp.StatusCode, string(body)
}
