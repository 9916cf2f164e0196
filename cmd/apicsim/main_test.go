package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// TestServe starts the command on free ports, reads the addresses it
// prints, and logs in the way `curl` would.
func TestServe(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	o := options{
		controllers: 2, listen: []string{"127.0.0.1:0"}, adminListen: "127.0.0.1:0",
		profile: "demo", churnRate: 5, seed: 3, username: "admin", password: "secret", caFile: ca,
		refresh: 600 * time.Second, maxLifetime: 24 * time.Hour, subTimeout: time.Minute, batch: 1, maxResultSize: 100000,
		refuseCmp: true,
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	var logs proctest.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() {
		done <- serve(ctx, o, pw, logger)
		pw.Close()
	}()
	lines := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		lines[k] = v
		if k == "user" {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if lines["controller 1"] == "" || lines["controller 2"] == "" || lines["CA certificate"] != ca {
		t.Fatalf("printed %v", lines)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var cookie string
	for _, name := range []string{"controller 1", "controller 2"} {
		resp, err := hc.Post(lines[name]+"/api/aaaLogin.json", "application/json",
			strings.NewReader(`{"aaaUser":{"attributes":{"name":"admin","pwd":"secret"}}}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"token":"`) {
			t.Fatalf("login on %s: %d %s", name, resp.StatusCode, b)
		}
		cookie = resp.Header.Get("Set-Cookie")
		// --query.refuse-comparisons: a DN bound is refused.
		req, _ := http.NewRequest(http.MethodGet, lines[name]+`/api/class/fvTenant.json?query-target-filter=gt(fvTenant.dn,"uni/tn-a")`, nil)
		req.AddCookie(resp.Cookies()[0])
		if resp, err = hc.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a gt filter on %s: %d, want 400", name, resp.StatusCode)
		}
	}
	// An option apicsim does not model reaches the command's debug log.
	req, _ := http.NewRequest(http.MethodGet, lines["controller 2"]+"/api/class/fvTenant.json?time-range=24h", nil)
	req.Header.Set("Cookie", strings.SplitN(cookie, ";", 2)[0])
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("query: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if !strings.Contains(logs.String(), "option=time-range") {
		t.Fatalf("the unmodelled option is not in the debug log:\n%s", logs.String())
	}
	adminURL, _, _ := strings.Cut(lines["admin"], " ")
	resp, err := http.Get(adminURL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"churn_per_second":5`) {
		t.Fatalf("status %s", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestControllerAddrs(t *testing.T) {
	got := controllerAddrs([]string{"127.0.0.1:8443"}, 3)
	want := []string{"127.0.0.1:8443", "127.0.0.1:8444", "127.0.0.1:8445"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v", got)
	}
	if got := controllerAddrs([]string{"127.0.0.1:0"}, 2); got[1] != "127.0.0.1:0" {
		t.Fatalf("random ports: %v", got)
	}
}
