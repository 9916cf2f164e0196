// Package apicws is the APIC client: login and token refresh, the event
// websocket, subscriptions and their refresh, snapshots, reconnect and
// failover, and frame decoding into events. It knows nothing of Prometheus:
// it hands events and health signals to a Sink.
package apicws

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aci-exporter/aci-exporter/event"
)

// Subscription is one class subscription.
type Subscription struct {
	Name   string // the subscription label; defaults to Class
	Class  string
	Filter string // optional query-target-filter
}

// Config describes one fabric's stream.
type Config struct {
	Fabric      string
	Controllers []string // base URLs, tried in order
	Username    string
	// Password is asked for at each login, so a rotated secret is used
	// without a restart.
	Password      func() (string, error)
	TLS           *tls.Config
	Subscriptions []Subscription
	// RefreshTimeout is sent as refresh-timeout; 0 leaves the APIC default (60 s).
	RefreshTimeout time.Duration
	PageSize       int           // snapshot page size; default 10000
	PingInterval   time.Duration // websocket ping period; default 30 s; a pong or frame must come within 2 periods
	ProbeInterval  time.Duration // dead-subscription probe period; default 60 s
	BackoffMin     time.Duration // default 1 s
	BackoffMax     time.Duration // default 2 min
	ReadLimit      int64         // largest frame accepted; default 64 MiB
	Logger         *slog.Logger
}

func (c *Config) setDefaults() {
	if c.PageSize <= 0 {
		c.PageSize = 10000
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = time.Minute
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 2 * time.Minute
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for i := range c.Subscriptions {
		if c.Subscriptions[i].Name == "" {
			c.Subscriptions[i].Name = c.Subscriptions[i].Class
		}
	}
}

// Sink receives a fabric's objects, changes and stream health; the
// collector implements it. Resync and Apply come from one goroutine, in
// stream order; the health calls may come from others.
type Sink interface {
	// Snapshot hands over a page of a class's snapshot as it is read; the
	// first page after the last Resync starts a new one. A DN can appear
	// twice (overlapping subscriptions of the class): keep the first copy.
	// The objects and their strings are valid only during the call: copy
	// what is kept.
	Snapshot(class string, objs []event.Object)
	// Resync ends the class's snapshot. before are live events that
	// happened before it, to be counted on the objects as they were before
	// the snapshot; late are events after it for objects read after
	// pushes started (beyond a page cutoff), whose page may already show
	// them. The first snapshot of a class is its baseline; later ones
	// count their difference as resync changes.
	Resync(class string, before, late []event.Event)
	// DropSnapshot undoes the pages of a snapshot that cannot be finished.
	DropSnapshot(class string)
	// Apply books live changes, in order.
	Apply(evs []event.Event)
	LoginAttempt(controller string, ok bool)
	TokenRefresh(ok bool)
	SessionExpiry(t time.Time)
	SocketUp(controller string, up bool)
	// Message counts a frame read.
	Message()
	// MessageError counts a frame or object rejected, by reason.
	MessageError(reason string)
	SubscriptionUp(name string, up bool)
	SubscriptionRefresh(name string, ok bool)
	// SubscriptionSnapshot says a subscription was made and its snapshot
	// taken; every one after a subscription's first is a resync.
	SubscriptionSnapshot(name string)
	// Objects returns how many objects of the class are tracked, or -1
	// when that cannot be compared with the APIC's count (no snapshot yet,
	// or the object cap was reached).
	Objects(class string) int
	LastEvent(name string, t time.Time)
	Up(up bool)
}

// Client keeps one fabric's stream open.
type Client struct {
	cfg    Config
	sink   Sink
	http   *http.Client
	log    *slog.Logger
	logged map[string]time.Time // when each rejection reason was last logged
	paged  map[string]bool      // subscriptions whose class needs DN ranges
	// Page buffers and arenas, kept across sessions: the subscriber reads
	// the next page while the loop applies the last. They are the
	// process's (pageBuffers, pageArenas), not the client's.
	buffers spares[bytes.Buffer]
	arenas  spares[pageArena]
	// byNumber: the APIC refused DN filters, so large classes are read by
	// page number, with one subscription each, instead of DN ranges.
	byNumber bool
}

// The page buffers and arenas kept for reuse are shared by every client of
// the process: a fabric needs them only while it reads a snapshot, and
// kept per client they held about 10 MiB per idle fabric of 10k objects
// (the last page's answer and arenas), most of the memory of an exporter
// serving many fabrics. Clients that read pages at the same time beyond
// these make their own, which become garbage.
var (
	pageBuffers = make(spares[bytes.Buffer], 2)
	pageArenas  = make(spares[pageArena], 4)
)

// New returns a client for a fabric; Run starts it.
func New(cfg Config, sink Sink) *Client {
	cfg.setDefaults()
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{
		cfg:     cfg,
		sink:    sink,
		http:    &http.Client{Transport: tr, Timeout: 2 * time.Minute},
		log:     cfg.Logger,
		logged:  make(map[string]time.Time),
		paged:   make(map[string]bool),
		buffers: pageBuffers,
		arenas:  pageArenas,
	}
}

// Run keeps the stream up until ctx ends: a session per connection, a fresh
// login, socket, subscriptions and snapshot after any loss, on the same
// controller after a drop and on the next one when a controller fails.
func (c *Client) Run(ctx context.Context) {
	defer c.http.CloseIdleConnections()
	ctrl, failures := 0, 0
	for {
		s := newSession(c, c.cfg.Controllers[ctrl])
		err := s.run(ctx)
		c.sink.Up(false)
		if ctx.Err() != nil {
			return
		}
		if s.established {
			failures = 0 // the APIC served a full sync: a new incident starts over
		}
		if !s.established {
			ctrl = (ctrl + 1) % len(c.cfg.Controllers)
		}
		wait := c.backoff(failures, err)
		failures++
		c.log.Warn("Stream ended, reconnecting", "err", err, "controller", c.cfg.Controllers[ctrl], "backoff", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backoff is capped exponential with full jitter; a rejected password
// waits the maximum, so a wrong secret never hammers the APIC.
func (c *Client) backoff(failures int, err error) time.Duration {
	max := c.cfg.BackoffMax
	if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.Status == http.StatusUnauthorized {
		return max/2 + rand.N(max/2)
	}
	d := min(max, c.cfg.BackoffMin<<min(failures, 20))
	return d/2 + rand.N(d/2+1)
}
