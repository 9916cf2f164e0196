package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	return newMux(reg, coll, s, reloads, webConfig{metricsPath: "/metrics", maxRequests: 40}, promslog.NewNopLogger()), coll, reloads
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
	for _, want := range []string{`<a href="/metrics">`, `<a href="sd">`, `<a href="/metrics?fabric=prod%3cscript%3e">prod&lt;script&gt;</a>`, `class="up"`, "https://apic1", "<td>1 / 1</td>", "<td>1</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("landing page lacks %q:\n%s", want, body)
		}
	}
	if w := serve(mux, "GET", "/nope"); w.Code != 404 {
		t.Errorf("/nope: %d", w.Code)
	}
}

// slowCollector holds every scrape in Collect until release is closed.
type slowCollector struct{ entered, release chan struct{} }

func (slowCollector) Describe(chan<- *prometheus.Desc) {}
func (c slowCollector) Collect(chan<- prometheus.Metric) {
	select {
	case c.entered <- struct{}{}:
		<-c.release
	case <-c.release:
	}
}

// TestMaxRequests: with --web.max-requests=N, the scrapes beyond N in
// flight, of every fabric or of one, get a 503 at once; with 0, every
// scrape is served.
func TestMaxRequests(t *testing.T) {
	for _, tc := range []struct{ limit, scrapes, refused int }{{3, 5, 2}, {0, 50, 0}} {
		coll := collector.New()
		reg := prometheus.NewRegistry()
		slow := slowCollector{entered: make(chan struct{}), release: make(chan struct{})}
		reg.MustRegister(coll, slow)
		s := newStreams(context.Background(), promslog.NewNopLogger(), coll, backoffFlags{})
		mux := newMux(reg, coll, s, nil, webConfig{metricsPath: "/metrics", maxRequests: tc.limit}, promslog.NewNopLogger())
		codes := make(chan int, tc.scrapes)
		for range tc.scrapes {
			go func() { codes <- serve(mux, "GET", "/metrics").Code }()
		}
		// Every scrape is either held in Collect or already answered.
		counts := map[int]int{}
		deadline := time.After(10 * time.Second)
		for entered := 0; entered+counts[503] < tc.scrapes; {
			select {
			case <-slow.entered:
				entered++
			case code := <-codes:
				counts[code]++
			case <-deadline:
				t.Fatalf("limit %d: %d scrapes in flight, answers %v, of %d", tc.limit, entered, counts, tc.scrapes)
			}
		}
		// A scrape of one fabric counts against the same cap.
		twoFabrics(coll)
		if code, want := serve(mux, "GET", "/metrics?fabric=east").Code, map[bool]int{true: 503, false: 200}[tc.limit > 0]; code != want {
			t.Errorf("limit %d, %d scrapes held: ?fabric=east answered %d, want %d", tc.limit, tc.scrapes-tc.refused, code, want)
		}
		close(slow.release)
		for answered := counts[503]; answered < tc.scrapes; answered++ {
			select {
			case code := <-codes:
				counts[code]++
			case <-deadline:
				t.Fatalf("limit %d: answers %v, of %d", tc.limit, counts, tc.scrapes)
			}
		}
		if counts[503] != tc.refused || counts[200] != tc.scrapes-tc.refused {
			t.Errorf("limit %d, %d scrapes at once: answers %v, want %d refused with 503", tc.limit, tc.scrapes, counts, tc.refused)
		}
	}
}

// twoFabrics adds fabrics east and west, each with one tenant.
func twoFabrics(coll *collector.Collector) {
	for _, name := range []string{"west", "east"} {
		f := collector.NewFabric(name, []string{"https://apic-" + name}, []collector.Subscription{{Name: "fvTenant", Class: "fvTenant"}}, nil, 0)
		f.Snapshot("fvTenant", []event.Object{{DN: "uni/tn-" + name, Tenant: name}})
		f.Resync("fvTenant", nil, nil)
		coll.Add(f)
	}
}

// TestMetricsPerFabric: ?fabric=NAME serves that fabric's series only and
// none of the exporter's own; plain /metrics still serves everything; an
// unknown fabric is a 404 that says which are served.
func TestMetricsPerFabric(t *testing.T) {
	mux, coll, _ := newTestMux(t)
	twoFabrics(coll)
	w := serve(mux, "GET", "/metrics?fabric=east")
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `aci_objects{class="fvTenant",fabric="east",tenant="east"} 1`) || !strings.Contains(body, `aci_up{fabric="east"} 0`) {
		t.Fatalf("?fabric=east: %d\n%s", w.Code, body)
	}
	for line := range strings.Lines(body) {
		if !strings.HasPrefix(line, "#") && !strings.Contains(line, `fabric="east"`) {
			t.Errorf("?fabric=east serves a series not of east: %s", line)
		}
	}
	all := serve(mux, "GET", "/metrics").Body.String()
	for _, want := range []string{`aci_up{fabric="east"} 0`, `aci_up{fabric="west"} 0`, "promhttp_metric_handler_errors_total"} {
		if !strings.Contains(all, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/metrics?fabric=north", 404, `fabric "north" is not served by this exporter (it serves: east, west)` + "\n"},
		{"/metrics?fabric=", 404, `fabric "" is not served by this exporter (it serves: east, west)` + "\n"},
		{"/metrics?fabric=east&fabric=west", 400, "give one fabric per scrape: ?fabric=NAME\n"},
	} {
		if w := serve(mux, "GET", tc.path); w.Code != tc.code || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.path, w.Code, w.Body, tc.code, tc.body)
		}
	}
}

// TestServiceDiscovery: /sd lists a target per fabric, at the request's
// Host, or at --web.external-address when set.
func TestServiceDiscovery(t *testing.T) {
	for _, tc := range []struct{ external, host, want string }{
		{"", "exporter-0.aci:9648", "exporter-0.aci:9648"},
		{"aci-0.aci-exporter.monitoring.svc:9648", "10.0.0.7:9648", "aci-0.aci-exporter.monitoring.svc:9648"},
	} {
		coll := collector.New()
		reg := prometheus.NewRegistry()
		reg.MustRegister(coll)
		s := newStreams(context.Background(), promslog.NewNopLogger(), coll, backoffFlags{})
		mux := newMux(reg, coll, s, nil, webConfig{metricsPath: "/x/metrics", externalAddress: tc.external}, promslog.NewNopLogger())
		get := func() *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/sd", nil)
			r.Host = tc.host
			mux.ServeHTTP(w, r)
			return w
		}
		if w := get(); w.Code != 200 || w.Body.String() != "[]\n" {
			t.Errorf("no fabric: %d %q", w.Code, w.Body)
		}
		twoFabrics(coll)
		w := get()
		want := `[{"targets":["` + tc.want + `"],"labels":{"__metrics_path__":"/x/metrics","__param_fabric":"east","fabric":"east"}},` +
			`{"targets":["` + tc.want + `"],"labels":{"__metrics_path__":"/x/metrics","__param_fabric":"west","fabric":"west"}}]` + "\n"
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Body.String() != want {
			t.Errorf("external %q, Host %q: %d %s %s\nwant %s", tc.external, tc.host, w.Code, w.Header().Get("Content-Type"), w.Body, want)
		}
	}
}
