// Package proctest runs the programs under test (the exporter, Prometheus)
// as processes, for end-to-end tests: free ports, captured output, and a
// stop by process id when the test ends.
package proctest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Buffer is an output buffer that the process and the test share.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail is the end of the output, for a failure message.
func (s *Buffer) Tail() string {
	out := s.String()
	if len(out) > 8000 {
		out = out[len(out)-8000:]
	}
	return out
}

// Process is a started program.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	Out  *Buffer
}

// Start runs bin and stops it when the test ends: SIGTERM to its pid, then
// Wait (SIGKILL after 15 s). Its output is logged when the test failed.
func Start(t *testing.T, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{Name: filepath.Base(bin), Cmd: exec.Command(bin, args...), Out: &Buffer{}}
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.Name, err)
	}
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("%s output (end):\n%s", p.Name, p.Out.Tail())
		}
	})
	return p
}

// Stop sends SIGTERM and waits for the process to exit, killing it after
// 15 s. It returns the process's exit error; calling it again is harmless.
func (p *Process) Stop(t *testing.T) error {
	if p.Cmd.ProcessState != nil {
		return nil
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.Cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		t.Errorf("%s (pid %d) ignored SIGTERM for 15 s: killing it", p.Name, p.Cmd.Process.Pid)
		p.Cmd.Process.Kill()
		return <-done
	}
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// InCI reports whether the tests run under CI (CI set, as for .ci/run),
// where a missing tool is a failure: .ci/run installs every tool the tests
// use.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "0" && v != "false"
}

// RequireTool finds a program on PATH or in /usr/bin. Missing, it fails the
// test under CI and skips it elsewhere; pkg is the Debian package that
// brings it.
func RequireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := "/usr/bin/" + name; isExecutable(p) {
		return p
	}
	msg := fmt.Sprintf("%s not found: install Debian's %s package (apt-get install --no-install-recommends %s)", name, pkg, pkg)
	if InCI() {
		t.Fatal(msg + "; CI is set, so this is a failure")
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// Poll calls cond every 20 ms until it holds, and fails the test with the
// state cond last reported when the timeout passes.
func Poll(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
