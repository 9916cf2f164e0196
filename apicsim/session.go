package apicsim

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// session is one aaaLogin: its token, socket and subscriptions all belong
// to the controller that issued it.
type session struct {
	ctrl      *controller
	user      string
	token     string
	created   time.Time
	idleUntil time.Time // reset by aaaRefresh
	hardUntil time.Time // maximumLifetimeSeconds; refresh cannot pass it
	sock      *socket
	subs      map[string]*subscription
	ended     bool
}

func (sess *session) valid(now time.Time) bool {
	return !sess.ended && now.Before(sess.idleUntil) && now.Before(sess.hardUntil)
}

// subscription is one subscriptionId.
type subscription struct {
	id      string
	sess    *session
	q       *query
	timeout time.Duration
	expires time.Time
	dead    bool // killed by a fault: refreshes no longer revive it
	mute    bool // made with a duplicated cookie: never pushed to
}

func (sub *subscription) active(now time.Time) bool {
	return !sub.dead && !sub.mute && now.Before(sub.expires) && sub.sess.valid(now)
}

// matchingSubs lists the ids of the session's live subscriptions that see
// the change: before or after it, the object is in the query's answer.
func (sess *session) matchingSubs(c *change, now time.Time, lookup func(string) *Object) []string {
	var ids []string
	for _, sub := range sess.subs {
		if !sub.active(now) {
			continue
		}
		if (c.pre != nil && sub.q.pushes(c.pre, lookup)) || (c.post != nil && sub.q.pushes(c.post, lookup)) {
			ids = append(ids, sub.id)
		}
	}
	return ids
}

// newToken makes a token shaped like the APIC's: legacy base64 containing
// + / and = padding, or a JWT-like string for 5.x.
func newToken(jwt bool) string {
	b := make([]byte, 64)
	rand.Read(b)
	if jwt {
		body := base64.RawURLEncoding.EncodeToString(b[:40])
		sig := base64.RawURLEncoding.EncodeToString(b[40:])
		return "eyJhbGciOiJSUzI1NiIsImtpZCI6IjE2In0." + body + "." + sig
	}
	// 61 bytes encode to "…=" padding; + and / are forced in so clients
	// that mangle them fail in tests as they would against an APIC.
	s := base64.StdEncoding.EncodeToString(b[:61])
	return s[:8] + "+" + s[9:20] + "/" + s[21:]
}

// login creates a session for user on c. Called with s.mu held.
func (c *controller) login(user string, now time.Time) *session {
	cfg := &c.sim.cfg
	sess := &session{
		ctrl:      c,
		user:      user,
		token:     newToken(cfg.JWTTokens),
		created:   now,
		idleUntil: now.Add(cfg.RefreshTimeout),
		hardUntil: now.Add(cfg.MaxLifetime),
		subs:      make(map[string]*subscription),
	}
	c.tokens[sess.token] = sess
	return sess
}

// refresh renews the session's token and idle timer.
func (c *controller) refresh(sess *session, now time.Time) {
	cfg := &c.sim.cfg
	sess.idleUntil = now.Add(cfg.RefreshTimeout)
	if cfg.SameTokenOnRefresh {
		return
	}
	old := sess.token
	sess.token = newToken(cfg.JWTTokens)
	c.tokens[sess.token] = sess
	if cfg.OldTokenGrace <= 0 {
		delete(c.tokens, old)
		return
	}
	c.graceTokens = append(c.graceTokens, graceToken{old, now.Add(cfg.OldTokenGrace)})
}

type graceToken struct {
	token string
	until time.Time
}

// sessions returns the controller's sessions once each (a session can be
// reachable under an old token too).
func (c *controller) sessions() []*session {
	var out []*session
	for tok, sess := range c.tokens {
		if tok == sess.token {
			out = append(out, sess)
		}
	}
	return out
}

// authenticate finds the live session of a token on this controller, or on
// any controller when tokens are cluster-wide.
func (s *Sim) authenticate(c *controller, token string, now time.Time) *session {
	ctrls := []*controller{c}
	if s.cfg.ClusterWideTokens {
		ctrls = s.ctrls
	}
	for _, cc := range ctrls {
		sess := cc.tokens[token]
		if sess == nil || !sess.valid(now) {
			continue
		}
		if token != sess.token && !cc.graceValid(token, now) {
			continue
		}
		return sess
	}
	return nil
}

func (c *controller) graceValid(token string, now time.Time) bool {
	for _, g := range c.graceTokens {
		if g.token == token {
			return now.Before(g.until)
		}
	}
	return false
}

// endSession removes a session, its subscriptions and its tokens, and
// closes its socket the given way.
func (s *Sim) endSession(sess *session, how closeHow) {
	s.mu.Lock()
	sock := s.endSessionLocked(sess)
	s.mu.Unlock()
	if sock != nil {
		sock.shutdown(how)
	}
}

func (s *Sim) endSessionLocked(sess *session) *socket {
	sess.ended = true
	c := sess.ctrl
	for tok, ss := range c.tokens {
		if ss == sess {
			delete(c.tokens, tok)
		}
	}
	for id := range sess.subs {
		delete(c.subs, id)
	}
	sess.subs = map[string]*subscription{}
	return sess.sock
}

// newSubID returns the next subscription id, a large decimal string.
func (s *Sim) newSubID() string {
	s.nextSub++
	return strconv.FormatUint(s.nextSub, 10)
}

// cookieToken reads the APIC-cookie (any case) from the request's Cookie
// headers and how many times it was sent.
func cookieToken(headers []string) (token string, count int) {
	for _, h := range headers {
		for part := range strings.SplitSeq(h, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.EqualFold(name, "APIC-cookie") {
				token = value
				count++
			}
		}
	}
	return token, count
}
