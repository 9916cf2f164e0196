package main

import (
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"

	"github.com/aci-exporter/aci-exporter/collector"
)

// webConfig is what the flags set of the routes.
type webConfig struct {
	metricsPath string
	// maxRequests caps the metrics requests in flight (more get a 503); 0
	// means no cap.
	maxRequests int
	// externalAddress is the host:port Prometheus reaches this exporter
	// at, for /sd; empty means the Host of the /sd request.
	externalAddress string
}

// newMux serves the routes.
func newMux(reg *prometheus.Registry, coll *collector.Collector, s *streams, reloadCh chan chan error, wc webConfig, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(wc.metricsPath, metricsHandler(reg, coll, wc.maxRequests, logger))
	mux.Handle("/sd", serviceDiscovery(coll, wc.metricsPath, wc.externalAddress))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("Healthy\n"))
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := s.ready()
		if !ok {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("Ready\n"))
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST to reload", http.StatusMethodNotAllowed)
			return
		}
		reply := make(chan error)
		select {
		case reloadCh <- reply:
		case <-r.Context().Done():
			return
		}
		if err := <-reply; err != nil {
			http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("Reloaded\n"))
	})
	if wc.metricsPath != "/" {
		mux.Handle("/", landing(coll, wc.metricsPath))
	}
	return mux
}

// metricsHandler serves every series, or with ?fabric=NAME the aci_*
// series of that fabric alone, so that Prometheus can scrape each fabric as
// a target of its own (its own up, scrape duration and sample limit). The
// exporter's own series (Go, process, build, reload) are not a fabric's:
// they are only served without ?fabric. maxRequests caps both kinds of
// request in flight together, with promhttp's answer.
func metricsHandler(reg *prometheus.Registry, coll *collector.Collector, maxRequests int, logger *slog.Logger) http.Handler {
	opts := promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg, // counts the errors of both kinds in promhttp_metric_handler_errors_total
	}
	all := promhttp.HandlerFor(collector.Gatherer(reg, coll), opts)
	var inFlight chan struct{}
	if maxRequests > 0 {
		inFlight = make(chan struct{}, maxRequests)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inFlight != nil {
			select {
			case inFlight <- struct{}{}:
				defer func() { <-inFlight }()
			default:
				http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", maxRequests), http.StatusServiceUnavailable)
				return
			}
		}
		names, asked := r.URL.Query()["fabric"]
		if !asked {
			all.ServeHTTP(w, r)
			return
		}
		if len(names) != 1 {
			http.Error(w, "give one fabric per scrape: ?fabric=NAME", http.StatusBadRequest)
			return
		}
		f := coll.Fabric(names[0])
		if f == nil {
			http.Error(w, fmt.Sprintf("fabric %q is not served by this exporter (it serves: %s)", names[0], strings.Join(servedNames(coll), ", ")), http.StatusNotFound)
			return
		}
		promhttp.HandlerFor(collector.FabricGatherer(f), opts).ServeHTTP(w, r)
	})
}

func servedNames(coll *collector.Collector) []string {
	var names []string
	for _, f := range coll.Fabrics() {
		names = append(names, f.Name())
	}
	return names
}

// sdGroup is a target group of Prometheus's HTTP service discovery.
type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// serviceDiscovery answers Prometheus's http_sd_configs with one target per
// fabric served: this exporter's address, the metrics path and
// ?fabric=NAME, and the fabric label.
func serviceDiscovery(coll *collector.Collector, metricsPath, externalAddress string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := externalAddress
		if addr == "" {
			addr = r.Host
		}
		if addr == "" {
			http.Error(w, "the request has no Host header: set --web.external-address", http.StatusBadRequest)
			return
		}
		groups := []sdGroup{}
		for _, name := range servedNames(coll) {
			groups = append(groups, sdGroup{Targets: []string{addr}, Labels: map[string]string{
				"__metrics_path__": metricsPath,
				"__param_fabric":   name,
				"fabric":           name,
			}})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(groups)
	})
}

var landingTmpl = template.Must(template.New("landing").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>aci-exporter</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.up{color:#080}.down{color:#b00}</style>
</head><body>
<h1>aci-exporter</h1>
<p>Streams Cisco APIC events of each fabric and exports objects, changes and stream health. Version {{.Version}}.</p>
<ul><li><a href="{{.Metrics}}">Metrics</a></li><li><a href="sd">Service discovery</a> (one target per fabric)</li><li><a href="-/healthy">Health</a></li><li><a href="-/ready">Readiness</a></li></ul>
<h2>Fabrics</h2>
<table><tr><th>fabric</th><th>stream</th><th>controller</th><th>subscriptions up</th><th>objects</th><th>last event</th></tr>
{{range .Fabrics}}<tr><td><a href="{{$.Metrics}}?fabric={{.Name}}">{{.Name}}</a></td><td>{{if .Up}}<span class="up">up</span>{{else}}<span class="down">down</span>{{end}}</td>
<td>{{if .Controller}}{{.Controller}}{{else}}none{{end}}</td><td>{{.Subscribed}} / {{.Subscriptions}}</td><td>{{.Objects}}</td>
<td>{{if .LastMessage.IsZero}}never{{else}}{{.LastMessage.Format "2006-01-02 15:04:05 MST"}}{{end}}</td></tr>
{{else}}<tr><td colspan="6">no fabric configured</td></tr>{{end}}
</table></body></html>
`))

func landing(coll *collector.Collector, metricsPath string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		var fabrics []collector.Status
		for _, f := range coll.Fabrics() {
			st := f.Status()
			st.LastMessage = st.LastMessage.Truncate(time.Second)
			fabrics = append(fabrics, st)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		landingTmpl.Execute(w, map[string]any{"Version": version.Version, "Metrics": metricsPath, "Fabrics": fabrics})
	})
}
