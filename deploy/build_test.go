package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// repoRoot is where the Makefile and Dockerfile live.
const repoRoot = ".."

var built struct {
	once sync.Once
	dir  string
	bin  string
	out  []byte
	err  error
}

// madeBinary is the exporter from `make build`, built once for the package.
// Without make it skips the test, except under CI (CI set), where .ci/run
// installs make, so CI never passes without building.
func madeBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		if proctest.InCI() {
			t.Fatalf("make not found, and CI is set: %v", err)
		}
		t.Skipf("make not found (%v): the stamped build cannot be run", err)
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "aci-make-build")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "aci-exporter")
		cmd := exec.Command("make", "build", "BINARY="+built.bin)
		cmd.Dir = repoRoot
		built.out, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("make build: %v\n%s", built.err, built.out)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// gitOutput is git's answer in the repository, or "" without git or a checkout.
func gitOutput(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Logf("git %s: %v (not checked)", strings.Join(args, " "), err)
		return ""
	}
	return strings.TrimSpace(string(out))
}

// execOutput runs bin with args and returns what it printed.
func execOutput(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func TestMakeBuildStampsVersion(t *testing.T) {
	bin := madeBinary(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(raw))
	text, err := execOutput(t, bin, "--version")
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, text)
	}
	t.Logf("--version:\n%s", text)

	head := "aci_exporter, version " + version + " "
	if !strings.HasPrefix(text, head) {
		t.Errorf("--version does not start with %q", head)
	}
	if rev := gitOutput(t, "rev-parse", "HEAD"); rev != "" && !strings.Contains(text, "revision: "+rev+")") {
		t.Errorf("--version lacks revision %s", rev)
	}
	// Branch, build user and date have no fallback in the binary's build
	// info: only the Makefile's -ldflags can have set them.
	if branch := gitOutput(t, "rev-parse", "--abbrev-ref", "HEAD"); branch != "" && !strings.Contains(text, "(branch: "+branch+",") {
		t.Errorf("--version lacks branch %s", branch)
	}
	for _, re := range []string{
		`(?m)^\s+build user:\s+\S+@\S+$`,
		`(?m)^\s+build date:\s+\d{8}-\d{2}:\d{2}:\d{2}$`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("--version does not match %s", re)
		}
	}
}

// TestMakeBuildIsStatic: the image has no C library, so the binary must not
// ask for a dynamic loader.
func TestMakeBuildIsStatic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("checks an ELF binary")
	}
	f, err := elf.Open(madeBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has a PT_INTERP program header: it is dynamically linked")
		}
	}
}
