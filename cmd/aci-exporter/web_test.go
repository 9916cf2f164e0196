package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	"go.uber.org/goleak"

	"github.com/aci-exporter/aci-exporter/collector"
	"github.com/aci-exporter/aci-exporter/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestMux(t *testing.T) (*http.ServeMux, *collector.Collector, chan chan error) {
	t.Helper()
	coll := collector.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(coll)
	s := newStreams(context.Background(), promslog.NewNopLogger(), coll, backoffFlags{})
	reloads := make(chan chan error)
	return newMux(reg, coll, s, reloads, "/metrics", promslog.NewNopLogger()), coll, reloads
}

func serve(mux http.Handler, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func TestReady(t *testing.T) {
	mux, coll, _ := newTestMux(t)
	if w := serve(mux, "GET", "/-/ready"); w.Code != 503 || !strings.Contains(w.Body.String(), "no fabric configured") {
		t.Fatalf("no fabric: %d %s", w.Code, w.Body)
	}
	a := collector.NewFabric("a", nil, nil, nil, 0)
	b := collector.NewFabric("b", nil, nil, nil, 0)
	coll.Add(a)
	coll.Add(b)
	a.Up(true)
	if w := serve(mux, "GET", "/-/ready"); w.Code != 503 || !strings.Contains(w.Body.String(), "fabric b has not completed its first snapshot") {
		t.Fatalf("one fabric without snapshot: %d %s", w.Code, w.Body)
	}
	b.Up(true)
	if w := serve(mux, "GET", "/-/ready"); w.Code != 200 {
		t.Fatalf("both up: %d %s", w.Code, w.Body)
	}
	a.Up(false)
	b.Up(false)
	if w := serve(mux, "GET", "/-/ready"); w.Code != 503 || !strings.Contains(w.Body.String(), "no fabric is connected") {
		t.Fatalf("none connected: %d %s", w.Code, w.Body)
	}
	if w := serve(mux, "GET", "/-/healthy"); w.Code != 200 {
		t.Fatalf("healthy: %d", w.Code)
	}
}

func TestReloadHandler(t *testing.T) {
	mux, _, reloads := newTestMux(t)
	if w := serve(mux, "GET", "/-/reload"); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", w.Code)
	}
	for _, tc := range []struct {
		err  error
		code int
		body string
	}{{nil, 200, "Reloaded\n"}, {errors.New("line 3: unknown key"), 500, "failed to reload config: line 3: unknown key\n"}} {
		go func() { reply := <-reloads; reply <- tc.err }()
		if w := serve(mux, "POST", "/-/reload"); w.Code != tc.code || w.Body.String() != tc.body {
			t.Errorf("reload with %v: %d %q", tc.err, w.Code, w.Body)
		}
	}
}

func TestLandingPage(t *testing.T) {
	mux, coll, _ := newTestMux(t)
	f := collector.NewFabric("prod<script>", []string{"https://apic1"}, []collector.Subscription{{Name: "fvTenant", Class: "fvTenant"}}, nil, 0)
	coll.Add(f)
	f.Snapshot("fvTenant", []event.Object{{DN: "uni/tn-a", Tenant: "a"}})
	f.Resync("fvTenant", nil, nil)
	f.SocketUp("https://apic1", true)
	f.SubscriptionUp("fvTenant", true)
	f.Up(true)
	w := serve(mux, "GET", "/")
	body := w.Body.String()
	for _, want := range []string{`<a href="/metrics">`, "prod&lt;script&gt;", `class="up"`, "https://apic1", "<td>1 / 1</td>", "<td>1</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("landing page lacks %q:\n%s", want, body)
		}
	}
	if w := serve(mux, "GET", "/nope"); w.Code != 404 {
		t.Errorf("/nope: %d", w.Code)
	}
}
