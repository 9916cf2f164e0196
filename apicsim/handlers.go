package apicsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// APIC error texts (apic-protocol.md §1, §2, §3).
const (
	textBadPassword  = "Username or password is incorrect - FAILED local authentication"
	textNoCookie     = "Need a valid webtoken cookie (named APIC-Cookie) or a signed request with signature in the cookie APIC-Request-Signature for all REST API requests"
	textTokenTimeout = "Token was invalid (Error: Token timeout)"
	textNoSocket     = "Subscription request failed, unable to locate opened web socket. Please re-login to the application"
	textTooBig       = "Unable to process the query, result dataset is too big"
)

// throttledPage is what an overloaded APIC's NGINX answers: HTML, not JSON.
const throttledPage = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx/1.13.12</center>\r\n</body>\r\n</html>\r\n"

type loginRequest struct {
	AAAUser struct {
		Attributes struct {
			Name string `json:"name"`
			Pwd  string `json:"pwd"`
		} `json:"attributes"`
	} `json:"aaaUser"`
}

func (c *controller) handleLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusBadRequest, "aaaLogin must be a POST")
		return
	}
	var req loginRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Failed to parse login request")
		return
	}
	s := c.sim
	s.mu.Lock()
	now := s.now()
	if c.throttled(now) {
		s.mu.Unlock()
		writeThrottled(w)
		return
	}
	user := req.AAAUser.Attributes.Name
	want, known := s.cfg.Users[user]
	if !known || want != req.AAAUser.Attributes.Pwd {
		s.mu.Unlock()
		writeError(w, http.StatusUnauthorized, textBadPassword)
		return
	}
	sess := c.login(user, now)
	body := c.loginBody(sess)
	s.mu.Unlock()
	writeLogin(w, sess.token, body)
}

// throttled records a login and reports whether the controller refuses it.
func (c *controller) throttled(now time.Time) bool {
	s := c.sim
	if s.faults.throttleLogins {
		return true
	}
	if s.cfg.LoginRate <= 0 {
		return false
	}
	cutoff := now.Add(-time.Second)
	kept := c.logins[:0]
	for _, t := range c.logins {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	c.logins = kept
	if float64(len(c.logins)) >= s.cfg.LoginRate {
		return true
	}
	c.logins = append(c.logins, now)
	return false
}

func writeThrottled(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, throttledPage)
}

func (c *controller) handleRefresh(w http.ResponseWriter, r *http.Request) {
	s := c.sim
	sess, now, ok := c.lockSession(w, r)
	if !ok {
		return
	}
	if s.faults.throttleLogins {
		s.mu.Unlock()
		writeThrottled(w)
		return
	}
	c.refresh(sess, now)
	body := c.loginBody(sess)
	s.mu.Unlock()
	writeLogin(w, sess.token, body)
}

func (c *controller) handleLogout(w http.ResponseWriter, r *http.Request) {
	s := c.sim
	s.mu.Lock()
	sess, code, text := c.session(r, s.now())
	s.mu.Unlock()
	if sess == nil {
		writeError(w, code, text)
		return
	}
	s.endSession(sess, closeFrame(1000, "logout"))
	writeJSON(w, http.StatusOK, []byte(`{"totalCount":"0","imdata":[]}`))
}

// lockSession takes s.mu and authenticates the request. On failure it
// answers the APIC's error and returns false with s.mu released; on
// success s.mu stays held for the caller.
func (c *controller) lockSession(w http.ResponseWriter, r *http.Request) (*session, time.Time, bool) {
	c.sim.mu.Lock()
	now := c.sim.now()
	sess, code, text := c.session(r, now)
	if sess == nil {
		c.sim.mu.Unlock()
		writeError(w, code, text)
		return nil, now, false
	}
	return sess, now, true
}

// session authenticates a request; on failure it returns the APIC's status
// and text. Called with s.mu held.
func (c *controller) session(r *http.Request, now time.Time) (*session, int, string) {
	token, n := cookieToken(r.Header.Values("Cookie"))
	if n == 0 {
		return nil, http.StatusForbidden, textNoCookie
	}
	sess := c.sim.authenticate(c, token, now)
	if sess == nil {
		return nil, http.StatusForbidden, textTokenTimeout
	}
	return sess, 0, ""
}

func (c *controller) handleSubscriptionRefresh(w http.ResponseWriter, r *http.Request) {
	s := c.sim
	sess, now, ok := c.lockSession(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	id := q.Get("id")
	sub := c.subs[id]
	if sub == nil || sub.sess != sess || !sub.active(now) {
		shape := s.faults.refreshFailure
		s.mu.Unlock()
		writeRefreshFailure(w, shape, id)
		return
	}
	if rt, err := strconv.Atoi(q.Get("refresh-timeout")); err == nil && rt > 0 {
		sub.timeout = min(time.Duration(rt)*time.Second, maxRefreshTimeout)
	}
	sub.expires = now.Add(sub.timeout)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, []byte(`{"totalCount":"0","imdata":[]}`))
}

func writeRefreshFailure(w http.ResponseWriter, shape RefreshFailure, id string) {
	text := "Subscription refresh failed: subscription id " + id + " does not exist"
	switch shape {
	case RefreshError200:
		writeJSON(w, http.StatusOK, errorBody(http.StatusBadRequest, text))
	case RefreshSilent200:
		writeJSON(w, http.StatusOK, []byte(`{"totalCount":"0","imdata":[]}`))
	default:
		writeError(w, http.StatusBadRequest, text)
	}
}

func (c *controller) handleQuery(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Path, r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s := c.sim
	sess, now, ok := c.lockSession(w, r)
	if !ok {
		return
	}
	s.logUnmodelled(q.unknown)
	res, err := s.runQuery(q)
	if err != nil {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var sub *subscription
	if q.subscribe {
		if sess.sock == nil || sess.sock.closed {
			s.mu.Unlock()
			writeError(w, http.StatusMethodNotAllowed, textNoSocket)
			return
		}
		_, dup := cookieToken(r.Header.Values("Cookie"))
		sub = s.subscribe(sess, q, now, s.cfg.StrictCookies && dup > 1)
	}
	earlyPush := sub != nil && s.faults.earlyPush
	s.mu.Unlock()
	if earlyPush {
		s.pushBeforeResponse(sub)
	}
	id := ""
	if sub != nil {
		id = sub.id
	}
	writeResult(w, res, id)
}

// maxUnmodelled bounds the option names remembered as logged, so a client
// inventing names cannot grow the set without end.
const maxUnmodelled = 256

// logUnmodelled logs, once per simulator, each query option it accepts
// without modelling it. Called with s.mu held.
func (s *Sim) logUnmodelled(opts []string) {
	for _, o := range opts {
		if s.unmodelled[o] || len(s.unmodelled) >= maxUnmodelled {
			continue
		}
		if s.unmodelled == nil {
			s.unmodelled = make(map[string]bool)
		}
		s.unmodelled[o] = true
		s.log.Debug("Query option accepted but not modelled; answered as without it", "option", o)
	}
}

// queryResult is one page of objects and the full match count.
type queryResult struct {
	objs  []*Object
	total int
	tree  []*node // the page with its children, when the query shapes the answer
	props string  // rsp-prop-include
	count bool    // answer one moCount object holding total
}

//lint:ignore ST1005 the APIC's own text, answered verbatim
var errTooBig = errors.New(textTooBig)

// comparisonRefused is the answer of an APIC that does not take an
// operator. No capture of a real one is known; the text follows the
// APIC's "Unable to process the query" answers.
func comparisonRefused(op string) error {
	//lint:ignore ST1005 the APIC's own style of text, answered verbatim
	return fmt.Errorf("Unable to process the query, unsupported operator %s in query-target-filter", op)
}
