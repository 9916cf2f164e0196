//go:build linux

package deploy

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// podman runs podman and returns its trimmed standard output.
func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("podman", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// podmanRunFlags let rootful podman run in a container sandbox too. Its
// default limits (open files and processes raised to the maximum) may exceed
// what the sandbox permits, so: open files as this process has them, a few
// thousand processes (ample for the exporter); and runc where installed
// (crun refuses hosts whose cgroups are in hybrid mode).
func podmanRunFlags() []string {
	flags := []string{"--ulimit=nproc=4096:4096"}
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Max != ^uint64(0) /* RLIM_INFINITY */ {
		flags = append(flags, fmt.Sprintf("--ulimit=nofile=%d:%d", r.Cur, r.Max))
	}
	if _, err := exec.LookPath("runc"); err == nil {
		flags = append(flags, "--runtime=runc")
	}
	return flags
}

// TestImageRunsInPodman runs the offline image with --demo where podman is
// installed (.ci/run installs it; elsewhere the test skips without it): it
// serves metrics as the non-root user and stops cleanly on SIGTERM.
func TestImageRunsInPodman(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skipf("podman not found (%v): the image is checked, not run", err)
	}
	bin := madeBinary(t)
	// podman names the image after the directory, and names are lower case.
	dir, err := os.MkdirTemp("", "aci-image")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	id := buildImage(t, bin, dir, map[string]string{"VERSION": "test"})
	addr := proctest.FreeAddr(t)

	name := "aci-exporter-test-" + filepath.Base(dir)
	t.Cleanup(func() {
		exec.Command("podman", "rm", "--force", name).Run()
		exec.Command("podman", "rmi", "--force", id.Hex).Run()
	})
	args := append([]string{"run", "--detach", "--name=" + name, "--network=host"}, podmanRunFlags()...)
	podman(t, append(args, "oci:"+dir, "--demo", "--web.listen-address="+addr)...)

	body := ""
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			body = string(b)
		} else {
			body = err.Error()
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("podman", "logs", name).CombinedOutput()
			t.Fatalf("not ready within 60 s: %s\nlogs:\n%s", body, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"aci_exporter_build_info{", `aci_up{fabric="demo"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s:\n%.2000s", want, metrics)
		}
	}

	pid := podman(t, "inspect", "--format={{.State.Pid}}", name)
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[1] == "0" {
			t.Errorf("the exporter runs as root in the container: %s", line)
		}
	}

	podman(t, "stop", "--time=10", name)
	if code := podman(t, "inspect", "--format={{.State.ExitCode}}", name); code != "0" {
		logs, _ := exec.Command("podman", "logs", name).CombinedOutput()
		t.Errorf("exit code %s after SIGTERM, want 0\nlogs:\n%s", code, logs)
	}
}
