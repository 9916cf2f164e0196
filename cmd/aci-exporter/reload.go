package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/aci-exporter/aci-exporter/config"
)

type reloadMetrics struct {
	ok        prometheus.Gauge
	timestamp prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	return &reloadMetrics{
		ok: promauto.With(reg).NewGauge(prometheus.GaugeOpts{
			Name: "aci_exporter_config_last_reload_successful",
			Help: "1 if the last configuration load succeeded.",
		}),
		timestamp: promauto.With(reg).NewGauge(prometheus.GaugeOpts{
			Name: "aci_exporter_config_last_reload_success_timestamp_seconds",
			Help: "Time of the last successful configuration load.",
		}),
	}
}

func (m *reloadMetrics) success() {
	m.ok.Set(1)
	m.timestamp.SetToCurrentTime()
}

// reloader owns config reloads: on SIGHUP and on each request from
// POST /-/reload. A bad file leaves the running config alone.
func reloader(ctx context.Context, load func() (*config.Config, error), s *streams, m *reloadMetrics, requests <-chan chan error, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := func() error {
		cfg, err := load()
		if err == nil {
			err = s.apply(cfg)
		}
		if err != nil {
			m.ok.Set(0)
			logger.Error("Error reloading config", "err", err)
			return err
		}
		m.success()
		logger.Info("Reloaded config")
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload()
		case reply := <-requests:
			reply <- reload()
		}
	}
}
