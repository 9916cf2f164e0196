package apicsim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// controller is one APIC of the cluster: its own HTTPS listener, tokens
// and subscriptions over the shared store.
type controller struct {
	sim   *Sim
	index int
	addr  string // fixed after the first listen, so a revived node keeps it

	srvMu sync.Mutex
	srv   *http.Server

	// Guarded by sim.mu.
	alive       bool
	tokens      map[string]*session
	graceTokens []graceToken
	subs        map[string]*subscription
	logins      []time.Time // recent logins, for throttling
}

func (c *controller) node() string { return fmt.Sprintf("topology/pod-1/node-%d", c.index+1) }

// listen serves the controller on its address.
func (c *controller) listen() error {
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	c.addr = ln.Addr().String()
	srv := &http.Server{
		Handler:           c,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
		TLSConfig:         c.sim.tlsCfg.Clone(),
	}
	c.srvMu.Lock()
	c.srv = srv
	c.srvMu.Unlock()
	c.sim.mu.Lock()
	c.alive = true
	c.sim.mu.Unlock()
	go func() { _ = srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	return nil
}

// kill ends every session of the controller abruptly and stops serving.
func (c *controller) kill() error {
	s := c.sim
	s.mu.Lock()
	c.alive = false
	var socks []*socket
	for _, sess := range c.sessions() {
		if sock := s.endSessionLocked(sess); sock != nil {
			socks = append(socks, sock)
		}
	}
	c.graceTokens = nil
	s.mu.Unlock()
	for _, sock := range socks {
		sock.shutdown(closeAbrupt)
	}
	c.srvMu.Lock()
	srv := c.srv
	c.srv = nil
	c.srvMu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeHTTP routes the APIC's REST API and the event websocket.
func (c *controller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d := c.sim.latency(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	path := r.URL.Path
	if token, ok := strings.CutPrefix(path, "/socket"); ok {
		c.serveSocket(w, r, token)
		return
	}
	switch path {
	case "/api/aaaLogin.json":
		c.handleLogin(w, r)
	case "/api/aaaRefresh.json":
		c.handleRefresh(w, r)
	case "/api/aaaLogout.json":
		c.handleLogout(w, r)
	case "/api/subscriptionRefresh.json":
		c.handleSubscriptionRefresh(w, r)
	default:
		if strings.HasPrefix(path, "/api/") && r.Method == http.MethodGet {
			c.handleQuery(w, r)
			return
		}
		writeError(w, http.StatusBadRequest, "Request failed, unresolved class for "+path)
	}
}
