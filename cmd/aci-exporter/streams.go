package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	promconfig "github.com/prometheus/common/config"

	"github.com/aci-exporter/aci-exporter/apicws"
	"github.com/aci-exporter/aci-exporter/collector"
	"github.com/aci-exporter/aci-exporter/config"
	"github.com/aci-exporter/aci-exporter/event"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// The collector's Fabric is what the APIC client feeds.
var _ apicws.Sink = (*collector.Fabric)(nil)

// streams runs one APIC client per configured fabric and applies config
// changes: unchanged fabrics keep their streams and counts, changed ones
// restart on their kept state (the new snapshot counts what differs), those
// whose state: section changed start again from nothing, and removed ones
// stop and drop their series.
type streams struct {
	ctx     context.Context
	log     *slog.Logger
	coll    *collector.Collector
	backoff backoffFlags
	mu      sync.Mutex
	running map[string]*stream
}

type stream struct {
	cfg    config.Fabric
	cancel context.CancelFunc
	done   chan struct{}
}

// backoffFlags bound the waits between reconnect attempts.
type backoffFlags struct{ min, max time.Duration }

func newStreams(ctx context.Context, log *slog.Logger, coll *collector.Collector, backoff backoffFlags) *streams {
	return &streams{ctx: ctx, log: log, coll: coll, backoff: backoff, running: make(map[string]*stream)}
}

// apply makes the running streams match cfg. Every fabric's password and
// TLS settings are checked first, so a bad config changes nothing.
func (s *streams) apply(cfg *config.Config) error {
	clients := make(map[string]apicws.Config, len(cfg.Fabrics))
	for _, f := range cfg.Fabrics {
		c, err := clientConfig(f, s.log)
		if err != nil {
			return fmt.Errorf("fabric %q: %w", f.Name, err)
		}
		clients[f.Name] = c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Before any stream starts: the decoders keep what the state metrics
	// of every fabric read. Unchanged fabrics read the same as before.
	event.Keep(stateAttrs(cfg))
	keep := map[string]bool{}
	for _, f := range cfg.Fabrics {
		keep[f.Name] = true
		fresh := false
		if old := s.running[f.Name]; old != nil {
			if old.cfg.Same(f) {
				continue
			}
			old.stop()
			// New definitions must see every object from a snapshot, not
			// objects kept without the attributes they read.
			fresh = !old.cfg.SameState(f)
			s.log.Info("Fabric changed, restarting its stream", "fabric", f.Name, "state_changed", fresh)
		}
		s.start(f, clients[f.Name], fresh)
	}
	for name, old := range s.running {
		if !keep[name] {
			old.stop()
			delete(s.running, name)
			s.coll.Remove(name)
			s.log.Info("Fabric removed", "fabric", name)
		}
	}
	return nil
}

// start runs f's stream; fresh replaces its collector state, if any, with
// a new one.
func (s *streams) start(f config.Fabric, c apicws.Config, fresh bool) {
	all := f.AllSubscriptions()
	subs := make([]collector.Subscription, len(all))
	for i, sub := range all {
		subs[i] = collector.Subscription{Name: sub.Name, Class: sub.Class}
	}
	reasons := append(apicws.DecodeReasons(), apicws.ReasonUnknownClass, apicws.ReasonUnknownSubscription, apicws.ReasonTooLarge)
	fab := s.coll.Fabric(f.Name)
	if fab == nil || fresh {
		fab = collector.NewFabric(f.Name, f.Controllers, subs, reasons, f.MaxObjects)
		fab.UseStateMetrics(f.StateMetrics())
		s.coll.Add(fab)
	} else {
		fab.Configure(f.Controllers, subs, reasons)
	}
	if f.TLS.InsecureSkipVerify {
		s.log.Warn("TLS verification of the APIC is off", "fabric", f.Name)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	st := &stream{cfg: f, cancel: cancel, done: make(chan struct{})}
	s.running[f.Name] = st
	c.BackoffMin, c.BackoffMax = s.backoff.min, s.backoff.max
	client := apicws.New(c, fab)
	go func() {
		defer close(st.done)
		client.Run(ctx)
	}()
}

func (st *stream) stop() {
	st.cancel()
	<-st.done
}

// stopAll stops every stream and waits for them.
func (s *streams) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.running {
		st.stop()
	}
}

// clientConfig turns a fabric's config into the APIC client's. The
// password is read now, to refuse a config whose secret cannot be read, and
// again at every login, so a rotated password file needs no reload.
func clientConfig(f config.Fabric, log *slog.Logger) (apicws.Config, error) {
	if _, err := f.ResolvePassword(); err != nil {
		return apicws.Config{}, err
	}
	tlsCfg, err := promconfig.NewTLSConfig(f.TLS.TLSConfig())
	if err != nil {
		return apicws.Config{}, fmt.Errorf("tls: %w", err)
	}
	all := f.AllSubscriptions()
	subs := make([]apicws.Subscription, len(all))
	for i, sub := range all {
		subs[i] = apicws.Subscription{Name: sub.Name, Class: sub.Class, Filter: sub.Filter}
	}
	return apicws.Config{
		Controllers:    f.Controllers,
		Username:       f.Username,
		Password:       f.ResolvePassword,
		TLS:            tlsCfg,
		Subscriptions:  subs,
		RefreshTimeout: f.SubscriptionRefreshTimeout,
		PageSize:       f.SnapshotPageSize,
		PingInterval:   f.PingInterval,
		ProbeInterval:  f.ProbeInterval,
		Logger:         log.With("fabric", f.Name),
	}, nil
}

// stateAttrs returns the attributes the state metrics of every fabric of
// cfg read.
func stateAttrs(cfg *config.Config) []string {
	var ms []*statedef.Metric
	for _, f := range cfg.Fabrics {
		ms = append(ms, f.StateMetrics()...)
	}
	return statedef.AttrNames(ms)
}

// readiness: every fabric has had its first snapshot, and one is connected.
func (s *streams) ready() (bool, string) {
	fabrics := s.coll.Fabrics()
	if len(fabrics) == 0 {
		return false, "no fabric configured"
	}
	connected := false
	for _, f := range fabrics {
		st := f.Status()
		if !st.Ready {
			return false, fmt.Sprintf("fabric %s has not completed its first snapshot", st.Name)
		}
		connected = connected || st.Connected
	}
	if !connected {
		return false, "no fabric is connected"
	}
	return true, "ready"
}
