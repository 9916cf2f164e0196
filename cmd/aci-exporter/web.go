package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"

	"github.com/aci-exporter/aci-exporter/collector"
)

// newMux serves the routes. maxRequests caps the /metrics requests in
// flight (more get a 503); 0 means no cap.
func newMux(reg *prometheus.Registry, coll *collector.Collector, s *streams, reloadCh chan chan error, metricsPath string, maxRequests int, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(metricsPath, promhttp.HandlerFor(collector.Gatherer(reg, coll), promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxRequests,
		Registry:            reg,
	}))
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
	if metricsPath != "/" {
		mux.Handle("/", landing(coll, metricsPath))
	}
	return mux
}

var landingTmpl = template.Must(template.New("landing").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>aci-exporter</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.up{color:#080}.down{color:#b00}</style>
</head><body>
<h1>aci-exporter</h1>
<p>Streams Cisco APIC events of each fabric and exports objects, changes and stream health. Version {{.Version}}.</p>
<ul><li><a href="{{.Metrics}}">Metrics</a></li><li><a href="-/healthy">Health</a></li><li><a href="-/ready">Readiness</a></li></ul>
<h2>Fabrics</h2>
<table><tr><th>fabric</th><th>stream</th><th>controller</th><th>subscriptions up</th><th>objects</th><th>last event</th></tr>
{{range .Fabrics}}<tr><td>{{.Name}}</td><td>{{if .Up}}<span class="up">up</span>{{else}}<span class="down">down</span>{{end}}</td>
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
