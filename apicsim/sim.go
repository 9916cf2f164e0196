// Package apicsim is a fake Cisco APIC cluster: HTTPS REST, the event
// websocket and subscriptions as described in apic-protocol.md, over one
// shared object store, with a churn generator, fault injection and the
// ground truth of what a client should have counted.
package apicsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aci-exporter/aci-exporter/statedef"
)

// Config describes a simulated cluster. The zero value is usable: one
// controller, user admin/password, APIC default timers.
type Config struct {
	Controllers int               // default 1
	Users       map[string]string // name -> password; default admin:password
	// Listen addresses, one per controller; default 127.0.0.1:0 each.
	Addrs []string

	RefreshTimeout      time.Duration // token idle lifetime (refreshTimeoutSeconds); default 600 s
	MaxLifetime         time.Duration // maximumLifetimeSeconds; default 24 h
	SubscriptionTimeout time.Duration // default 60 s, the APIC default
	// OldTokenGrace keeps the token replaced by aaaRefresh valid this long;
	// 0: the old token stops working at once.
	OldTokenGrace time.Duration
	// SameTokenOnRefresh makes aaaRefresh return the token it was given.
	SameTokenOnRefresh bool
	JWTTokens          bool // 5.x-style tokens instead of legacy base64 with + / =
	ClusterWideTokens  bool // a token works on every controller, not only its issuer
	// SubscriptionsDieWithSocket drops a session's subscriptions when its
	// socket closes; otherwise they live until they expire.
	SubscriptionsDieWithSocket bool
	// StrictCookies: a request carrying the cookie twice gets a
	// subscription id that never receives pushes (apic-protocol.md §1.2).
	StrictCookies bool
	MaxResultSize int     // unpaged results above this fail with 400; default 100000
	BatchSize     int     // objects per frame at most; default 1 (as captured)
	LoginRate     float64 // logins per second per controller before 503; 0: unlimited
	Version       string  // default "5.2(7g)"
	// RefuseComparisons answers a query-target-filter with gt, ge, lt or le
	// with 400, as an older APIC or a filtering proxy might: clients that
	// page by DN must fall back to page numbers. SetRefuseComparisons
	// switches it later.
	RefuseComparisons bool

	// StateMetrics are the state metrics the ground truth is computed for;
	// nil: the built-ins on by default.
	StateMetrics []*statedef.Metric

	// TLS: a certificate to serve; when nil one is made with a fresh CA.
	Certificate *tls.Certificate

	Now    func() time.Time
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Controllers <= 0 {
		c.Controllers = 1
	}
	if len(c.Users) == 0 {
		c.Users = map[string]string{"admin": "password"}
	}
	if c.RefreshTimeout <= 0 {
		c.RefreshTimeout = 600 * time.Second
	}
	if c.MaxLifetime <= 0 {
		c.MaxLifetime = 24 * time.Hour
	}
	if c.SubscriptionTimeout <= 0 {
		c.SubscriptionTimeout = 60 * time.Second
	}
	if c.MaxResultSize <= 0 {
		c.MaxResultSize = 100000
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1
	}
	if c.Version == "" {
		c.Version = "5.2(7g)"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.StateMetrics == nil {
		c.StateMetrics = defaultStateMetrics()
	}
}

// maxRefreshTimeout is the largest refresh-timeout honoured (apic-protocol.md §3.3).
const maxRefreshTimeout = 43200 * time.Second

// Sim is a running simulated APIC cluster.
type Sim struct {
	cfg    Config
	log    *slog.Logger
	tlsCfg *tls.Config
	caPEM  []byte

	mu      sync.Mutex // guards everything below
	st      *store
	ctrls   []*controller
	sockets map[*socket]struct{} // open sockets, the only receivers of pushes
	truth   map[string]*userTruth
	faults  faultState
	nextSub uint64
	rng     *rand.Rand
	// unmodelled holds the query options already logged as not modelled.
	unmodelled map[string]bool

	churnMu sync.Mutex
	churn   *churnRunner

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New starts a simulated cluster listening on its controllers' addresses.
func New(cfg Config) (*Sim, error) {
	cfg.setDefaults()
	s := &Sim{
		cfg:     cfg,
		log:     cfg.Logger,
		st:      newStore(),
		sockets: make(map[*socket]struct{}),
		truth:   make(map[string]*userTruth),
		nextSub: 72057594037927937, // APIC ids are large decimals
		rng:     rand.New(rand.NewPCG(uint64(cfg.Now().UnixNano()), 1)),
		faults:  faultState{refreshFailure: RefreshHTTP400, refuseComparisons: cfg.RefuseComparisons},
	}
	var err error
	if s.tlsCfg, s.caPEM, err = serverTLS(cfg.Certificate); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for i := range cfg.Controllers {
		addr := "127.0.0.1:0"
		if i < len(cfg.Addrs) {
			addr = cfg.Addrs[i]
		}
		c := &controller{sim: s, index: i, addr: addr, tokens: make(map[string]*session), subs: make(map[string]*subscription)}
		if err := c.listen(); err != nil {
			s.Close()
			return nil, fmt.Errorf("controller %d: %w", i+1, err)
		}
		s.ctrls = append(s.ctrls, c)
	}
	s.wg.Go(s.reap)
	return s, nil
}

// Close stops churn, ends every session and shuts the controllers down.
func (s *Sim) Close() error {
	_ = s.StopChurn()
	s.cancel()
	var errs []error
	for _, c := range s.ctrls {
		errs = append(errs, c.kill())
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// URLs returns each controller's base URL, https://127.0.0.1:PORT.
func (s *Sim) URLs() []string {
	urls := make([]string, len(s.ctrls))
	for i, c := range s.ctrls {
		urls[i] = "https://" + c.addr
	}
	return urls
}

// CAPEM returns the PEM of the CA that signed the controllers' certificate
// (nil when Config.Certificate was given).
func (s *Sim) CAPEM() []byte { return s.caPEM }

func (s *Sim) now() time.Time { return s.cfg.Now() }

// reap ends sessions whose token lapsed, so their sockets close as on an
// APIC. Pushes already stop at the deadline: delivery checks it too.
func (s *Sim) reap() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		var ended []*session
		s.mu.Lock()
		now := s.now()
		for _, c := range s.ctrls {
			for _, sess := range c.sessions() {
				if !sess.valid(now) {
					ended = append(ended, sess)
				}
			}
		}
		s.mu.Unlock()
		for _, sess := range ended {
			s.endSession(sess, closeFrame(1000, "session expired"))
		}
	}
}
