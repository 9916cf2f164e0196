// Command aci-exporter holds the Cisco APIC event streams of one or more
// fabrics open and exports objects, changes and stream health to Prometheus.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/aci-exporter/aci-exporter/collector"
	"github.com/aci-exporter/aci-exporter/config"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// defaultAddress: opsdis/aci-exporter, an older polling exporter, uses 9643.
const defaultAddress = ":9648"

func main() { os.Exit(run(os.Args[1:], os.Stdout)) }

func run(args []string, stdout io.Writer) int {
	stampVersion()
	app := kingpin.New("aci-exporter", "Prometheus exporter for Cisco ACI that streams APIC events instead of polling.")
	app.HelpFlag.Short('h')
	app.Version(version.Print("aci_exporter"))
	configFile := app.Flag("config.file", "Configuration file.").Default("aci-exporter.yml").String()
	configCheck := app.Flag("config.check", "Check the configuration file and exit.").Bool()
	printBuiltins := app.Flag("state.print-builtins", "Print the built-in state metric definitions (YAML, the form of state.metrics) and exit.").Bool()
	metricsPath := app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	maxRequests := app.Flag("web.max-requests", "Maximum number of parallel scrape requests. Use 0 to disable.").Default("40").Int()
	externalAddress := app.Flag("web.external-address", "host:port at which Prometheus reaches this exporter, for the targets of /sd (default: the Host of the /sd request).").PlaceHolder("HOST:PORT").String()
	fabrics := app.Flag("fabric", "Serve only this fabric of the configuration file; repeat for more. None: every fabric.").PlaceHolder("NAME").Strings()
	demo := app.Flag("demo", "Run an embedded simulated fabric with steady churn and export it; no configuration needed.").Bool()
	demoListen := app.Flag("demo.listen-address", "Address of the demo's simulated APIC.").Default("127.0.0.1:0").String()
	var backoff backoffFlags
	app.Flag("apic.backoff-min", "First wait before reconnecting to an APIC; it doubles, with jitter, after each failed attempt.").Default("1s").DurationVar(&backoff.min)
	app.Flag("apic.backoff-max", "Longest wait between reconnect attempts (a rejected password always waits about this long).").Default("2m").DurationVar(&backoff.max)
	toolkitFlags := kingpinflag.AddFlags(app, defaultAddress)
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *printBuiltins {
		if _, err := stdout.Write(statedef.BuiltinsYAML()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	if *maxRequests < 0 {
		fmt.Fprintln(os.Stderr, "--web.max-requests must be 0 (no limit) or more, not", *maxRequests)
		return 2
	}
	if *externalAddress != "" {
		if _, port, err := net.SplitHostPort(*externalAddress); err != nil || port == "" {
			fmt.Fprintf(os.Stderr, "--web.external-address must be host:port, not %q\n", *externalAddress)
			return 2
		}
	}
	logger := promslog.New(logCfg)

	if *configCheck {
		if err := checkConfig(*configFile, *fabrics, logger); err != nil {
			logger.Error("Error loading config", "err", err)
			return 1
		}
		fmt.Fprintln(stdout, "Config file is valid:", *configFile)
		return 0
	}
	logger.Info("Starting aci_exporter", "version", version.Info())
	logger.Info("Build context", "build_context", version.BuildContext())
	setMemoryLimit(logger)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var cfg *config.Config
	var err error
	if *demo {
		d, derr := startDemo(*demoListen, logger)
		if derr != nil {
			logger.Error("Error starting the demo fabric", "err", derr)
			return 1
		}
		defer d.close()
		if cfg, err = d.cfg.Select(*fabrics); err != nil {
			logger.Error("Error selecting fabrics", "err", err)
			return 1
		}
		fmt.Fprintf(stdout, "Demo: a simulated fabric %q (%s) with steady churn; metrics on %s%s\n",
			d.cfg.Fabrics[0].Name, d.cfg.Fabrics[0].Controllers[0], listenHint(toolkitFlags), *metricsPath)
	} else if cfg, err = loadConfig(*configFile, *fabrics); err != nil {
		logger.Error("Error loading config", "err", err)
		return 1
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("aci_exporter"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	coll := collector.New()
	reg.MustRegister(coll)
	reloads := newReloadMetrics(reg)

	s := newStreams(ctx, logger, coll, backoff)
	defer s.stopAll()
	if err := s.apply(cfg); err != nil {
		logger.Error("Error starting streams", "err", err)
		return 1
	}
	reloads.success()

	reloadCh := make(chan chan error)
	load := func() (*config.Config, error) { return loadConfig(*configFile, *fabrics) }
	if *demo {
		load = func() (*config.Config, error) { return nil, errNoReloadInDemo }
	}
	go reloader(ctx, load, s, reloads, reloadCh, logger)

	srv := &http.Server{
		Handler:           newMux(reg, coll, s, reloadCh, webConfig{*metricsPath, *maxRequests, *externalAddress}, logger),
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(srv, toolkitFlags, logger) }()
	select {
	case err := <-serveErr:
		logger.Error("Error serving HTTP", "err", err)
		return 1
	case <-ctx.Done():
	}
	logger.Info("Shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("HTTP shutdown", "err", err)
	}
	return 0
}

var errNoReloadInDemo = errors.New("--demo has no configuration file to reload")

// loadConfig loads the file and keeps the fabrics selected by --fabric
// (all without it), at start and on every reload.
func loadConfig(path string, fabrics []string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if cfg, err = cfg.Select(fabrics); err != nil {
		return nil, fmt.Errorf("%s: --fabric: %w", path, err)
	}
	return cfg, nil
}

// checkConfig is --config.check: the file loads, every --fabric is in it,
// and the password and CA file of every fabric served can be read (at start
// and on reload, streams.apply checks those before it changes anything).
func checkConfig(path string, fabrics []string, logger *slog.Logger) error {
	cfg, err := loadConfig(path, fabrics)
	if err != nil {
		return err
	}
	for _, f := range cfg.Fabrics {
		if _, err := clientConfig(f, logger); err != nil {
			return fmt.Errorf("%s: fabric %q: %w", path, f.Name, err)
		}
	}
	return nil
}

func listenHint(f *web.FlagConfig) string {
	addr := defaultAddress
	if f.WebListenAddresses != nil && len(*f.WebListenAddresses) > 0 {
		addr = (*f.WebListenAddresses)[0]
	}
	if addr[0] == ':' {
		addr = "http://localhost" + addr
	} else {
		addr = "http://" + addr
	}
	return addr
}
