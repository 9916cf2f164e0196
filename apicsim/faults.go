package apicsim

import (
	"fmt"
	"strings"
	"time"
)

// RefreshFailure is how a refresh of a dead subscription is answered; real
// APICs are reported to do each (apic-protocol.md §3.3).
type RefreshFailure string

const (
	RefreshHTTP400   RefreshFailure = "http400"   // 400 with the error envelope
	RefreshError200  RefreshFailure = "error200"  // 200 with an error in imdata
	RefreshSilent200 RefreshFailure = "silent200" // plain 200; the subscription stays dead
)

// ParseRefreshFailure reads a RefreshFailure name.
func ParseRefreshFailure(s string) (RefreshFailure, error) {
	switch f := RefreshFailure(s); f {
	case RefreshHTTP400, RefreshError200, RefreshSilent200:
		return f, nil
	}
	return "", fmt.Errorf("unknown refresh failure %q (want http400, error200 or silent200)", s)
}

// CloseMode is how a socket is dropped.
type CloseMode string

const (
	CloseNormal    CloseMode = "normal"     // close frame 1000
	CloseGoingAway CloseMode = "going-away" // close frame 1001
	CloseAbrupt    CloseMode = "abrupt"     // TCP closed, no close frame (the client sees 1006)
)

func (m CloseMode) how() (closeHow, error) {
	switch m {
	case CloseNormal, "":
		return closeFrame(1000, "closed"), nil
	case CloseGoingAway:
		return closeFrame(1001, "going away"), nil
	case CloseAbrupt:
		return closeAbrupt, nil
	}
	return closeHow{}, fmt.Errorf("unknown close mode %q (want normal, going-away or abrupt)", m)
}

// faultState holds the faults switched on. Guarded by Sim.mu.
type faultState struct {
	refreshFailure    RefreshFailure
	throttleLogins    bool
	earlyPush         bool
	refuseComparisons bool
	latency           time.Duration
}

// DropSockets closes every open socket the given way while REST keeps
// working; sessions (and, unless SubscriptionsDieWithSocket, subscriptions)
// live on. It returns how many sockets were closed.
func (s *Sim) DropSockets(mode CloseMode) (int, error) {
	how, err := mode.how()
	if err != nil {
		return 0, err
	}
	socks := s.openSockets()
	for _, sock := range socks {
		sock.shutdown(how)
	}
	return len(socks), nil
}

// StallSockets makes every open socket half-open: the TCP connection stays,
// but nothing is written and pings go unanswered, until the client gives up.
func (s *Sim) StallSockets() int {
	socks := s.openSockets()
	for _, sock := range socks {
		sock.stalled.Store(true)
	}
	return len(socks)
}

func (s *Sim) openSockets() []*socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	socks := make([]*socket, 0, len(s.sockets))
	for sock := range s.sockets {
		socks = append(socks, sock)
	}
	return socks
}

// ExpireSessions ends every session as a token timeout would: later
// requests with its token get 403 and its socket is closed with a frame.
func (s *Sim) ExpireSessions() int {
	s.mu.Lock()
	var all []*session
	for _, c := range s.ctrls {
		all = append(all, c.sessions()...)
	}
	s.mu.Unlock()
	for _, sess := range all {
		s.endSession(sess, closeFrame(1000, "session expired"))
	}
	return len(all)
}

// KillSubscriptions silently kills every subscription: pushes stop, and
// refreshing one is answered the given way (a silent 200 leaves it dead).
func (s *Sim) KillSubscriptions(shape RefreshFailure) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.refreshFailure = shape
	n := 0
	for _, c := range s.ctrls {
		for _, sub := range c.subs {
			sub.dead = true
			n++
		}
	}
	return n
}

// SetRefreshFailure sets how refreshes of expired or unknown subscriptions
// are answered (default RefreshHTTP400).
func (s *Sim) SetRefreshFailure(shape RefreshFailure) {
	s.mu.Lock()
	s.faults.refreshFailure = shape
	s.mu.Unlock()
}

// KillController stops controller i (0-based): its sessions end abruptly
// and its address refuses connections until ReviveController.
func (s *Sim) KillController(i int) error {
	c, err := s.controller(i)
	if err != nil {
		return err
	}
	return c.kill()
}

// ReviveController serves controller i again on its old address.
func (s *Sim) ReviveController(i int) error {
	c, err := s.controller(i)
	if err != nil {
		return err
	}
	c.srvMu.Lock()
	running := c.srv != nil
	c.srvMu.Unlock()
	if running {
		return nil
	}
	return c.listen()
}

func (s *Sim) controller(i int) (*controller, error) {
	if i < 0 || i >= len(s.ctrls) {
		return nil, fmt.Errorf("no controller %d (have 0..%d)", i, len(s.ctrls)-1)
	}
	return s.ctrls[i], nil
}

// ThrottleLogins makes logins and token refreshes answer 503 with an HTML
// page, as an overloaded APIC's NGINX does.
func (s *Sim) ThrottleLogins(on bool) {
	s.mu.Lock()
	s.faults.throttleLogins = on
	s.mu.Unlock()
}

// SetLatency delays every HTTP answer by d.
func (s *Sim) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.faults.latency = d
	s.mu.Unlock()
}

func (s *Sim) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.latency
}

// SetEarlyPush makes each subscribe push a change in its scope before the
// subscribe answer is sent (apic-protocol.md §8.16).
func (s *Sim) SetEarlyPush(on bool) {
	s.mu.Lock()
	s.faults.earlyPush = on
	s.mu.Unlock()
}

// SetRefuseComparisons makes queries whose query-target-filter uses gt,
// ge, lt or le fail with 400 (see Config.RefuseComparisons).
func (s *Sim) SetRefuseComparisons(on bool) {
	s.mu.Lock()
	s.faults.refuseComparisons = on
	s.mu.Unlock()
}

// Malformed frame kinds for InjectFrame.
const (
	FrameInvalidJSON  = "invalid-json"
	FrameNoDN         = "no-dn"
	FrameUnknownClass = "unknown-class"
	FrameUnknownID    = "unknown-id"
	FrameOversized    = "oversized" // a valid 2 MiB frame, for read limits
)

// InjectFrame writes a malformed frame of the given kind to every open
// socket. It changes no object, so the ground truth is untouched.
func (s *Sim) InjectFrame(kind string) (int, error) {
	socks := s.openSockets()
	for _, sock := range socks {
		frame, err := s.malformed(kind, sock)
		if err != nil {
			return 0, err
		}
		sock.writeRaw(frame)
	}
	return len(socks), nil
}

func (s *Sim) malformed(kind string, sock *socket) ([]byte, error) {
	s.mu.Lock()
	id := "1"
	for sid := range sock.sess.subs {
		id = sid
		break
	}
	s.mu.Unlock()
	ts := apicTime(s.now())
	switch kind {
	case FrameInvalidJSON:
		return []byte(`{"subscriptionId":["` + id + `"],"imdata":[{"fvTenant":{"attributes":{"dn":"uni/tn-x",`), nil
	case FrameNoDN:
		return []byte(`{"subscriptionId":["` + id + `"],"imdata":[{"fvTenant":{"attributes":{"childAction":"","modTs":"` + ts + `","rn":"","status":"modified"}}}]}`), nil
	case FrameUnknownClass:
		return []byte(`{"subscriptionId":["` + id + `"],"imdata":[{"fooBarBaz":{"attributes":{"childAction":"","dn":"uni/tn-ghost/foo-1","modTs":"` + ts + `","rn":"","status":"created"}}}]}`), nil
	case FrameOversized:
		pad := strings.Repeat("x", 2<<20)
		return []byte(`{"subscriptionId":["` + id + `"],"imdata":[{"fvTenant":{"attributes":{"childAction":"","descr":"` + pad + `","dn":"uni/tn-huge","modTs":"` + ts + `","rn":"","status":"modified"}}}]}`), nil
	case FrameUnknownID:
		return []byte(`{"subscriptionId":["18374686685813276673"],"imdata":[{"fvTenant":{"attributes":{"childAction":"","dn":"uni/tn-ghost","modTs":"` + ts + `","rn":"","status":"created"}}}]}`), nil
	}
	return nil, fmt.Errorf("unknown frame kind %q (want %s, %s, %s, %s or %s)", kind, FrameInvalidJSON, FrameNoDN, FrameUnknownClass, FrameUnknownID, FrameOversized)
}
