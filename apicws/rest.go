package apicws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aci-exporter/aci-exporter/event"
)

// APIError is an error answer of the APIC: its HTTP status and the text of
// its error envelope, or a short description of a non-JSON body (an
// overloaded APIC's NGINX answers HTML).
type APIError struct {
	Status int
	Text   string
}

func (e *APIError) Error() string { return fmt.Sprintf("APIC answered %d: %s", e.Status, e.Text) }

// auth reports whether the error means the session is gone (log in again).
func (e *APIError) auth() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

var (
	errBadAnswer   = errors.New("unexpected APIC answer")
	titleRE        = regexp.MustCompile(`(?i)<title>([^<]*)</title>`)
	maxAnswerBytes = int64(1 << 30) // a 1M-object page is about 600 MB
)

// rest is the REST side of one session: one controller, one token.
type rest struct {
	http *http.Client
	base string
	// Requests hold mu shared; aaaRefresh holds it alone, so no request is
	// in flight with the token it replaces: whether the APIC keeps the old
	// token valid is not known (apic-protocol.md §1.3), and apicsim by
	// default does not.
	mu    sync.RWMutex
	token string
	// Kept across pages: a snapshot of a million objects reads a hundred
	// pages of megabytes each, whose buffers would otherwise be most of
	// its garbage and page faults.
	buffers spares[bytes.Buffer]
	arenas  spares[pageArena]
}

// envelope is the APIC's answer shape.
type envelope struct {
	TotalCount     string            `json:"totalCount"`
	SubscriptionID json.RawMessage   `json:"subscriptionId"`
	Imdata         []json.RawMessage `json:"imdata"`
}

// do sends a request and decodes the answer's envelope; any non-200, or a
// 200 whose imdata holds an error, is an *APIError.
func (r *rest) do(ctx context.Context, method, path string, body []byte) (*envelope, error) {
	var buf bytes.Buffer
	code, raw, err := r.send(ctx, method, path, body, &buf)
	if err != nil {
		return nil, err
	}
	return answer(code, raw)
}

// send makes one request and reads its answer into buf.
func (r *rest) send(ctx context.Context, method, path string, body []byte, buf *bytes.Buffer) (int, []byte, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sendWith(ctx, r.token, method, path, body, buf)
}

func (r *rest) sendWith(ctx context.Context, token string, method, path string, body []byte, buf *bytes.Buffer) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		// Exactly one cookie header: a duplicated cookie makes an APIC accept
		// subscriptions that never push (apic-protocol.md §1.2).
		req.Header.Set("Cookie", "APIC-cookie="+token)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if n := resp.ContentLength; n > 0 {
		// A page in one allocation, not twenty; what a header claims
		// buys room only up to maxPresizeBytes.
		buf.Grow(int(min(n, maxPresizeBytes)) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxAnswerBytes)); err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, buf.Bytes(), nil
}

// answer decodes an answer's envelope; any non-200, or a 200 whose imdata
// holds an error, is an *APIError.
func answer(code int, raw []byte) (*envelope, error) {
	var env envelope
	jsonErr := json.Unmarshal(raw, &env)
	if e := errorOf(&env); e != nil {
		if code != http.StatusOK {
			e.Status = code
		}
		return nil, e
	}
	if code != http.StatusOK {
		return nil, &APIError{Status: code, Text: describe(raw)}
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("%w: %v", errBadAnswer, jsonErr)
	}
	return &env, nil
}

// errorOf returns imdata[0].error as an APIError, if it is one.
func errorOf(env *envelope) *APIError {
	if len(env.Imdata) == 0 {
		return nil
	}
	var e struct {
		Error *struct {
			Attributes struct{ Code, Text string } `json:"attributes"`
		} `json:"error"`
	}
	if json.Unmarshal(env.Imdata[0], &e) != nil || e.Error == nil {
		return nil
	}
	code, _ := strconv.Atoi(e.Error.Attributes.Code)
	return &APIError{Status: code, Text: e.Error.Attributes.Text}
}

// describe summarises a non-JSON body: an HTML title, or its first bytes.
func describe(raw []byte) string {
	if m := titleRE.FindSubmatch(raw); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// session timers from an aaaLogin or aaaRefresh answer.
type loginInfo struct {
	token          string
	refreshTimeout time.Duration
	maxLifetime    time.Duration
}

func (r *rest) login(ctx context.Context, user, password string) (*loginInfo, error) {
	body, err := json.Marshal(map[string]any{"aaaUser": map[string]any{"attributes": map[string]string{"name": user, "pwd": password}}})
	if err != nil {
		return nil, err
	}
	env, err := r.do(ctx, http.MethodPost, "/api/aaaLogin.json", body)
	if err != nil {
		return nil, err
	}
	info, err := loginOf(env)
	if err == nil {
		r.mu.Lock()
		r.token = info.token
		r.mu.Unlock()
	}
	return info, err
}

// refresh replaces the token, with no other request in flight.
func (r *rest) refresh(ctx context.Context) (*loginInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var buf bytes.Buffer
	code, raw, err := r.sendWith(ctx, r.token, http.MethodGet, "/api/aaaRefresh.json", nil, &buf)
	if err != nil {
		return nil, err
	}
	env, err := answer(code, raw)
	if err != nil {
		return nil, err
	}
	info, err := loginOf(env)
	if err == nil {
		r.token = info.token
	}
	return info, err
}

// loginOf reads an aaaLogin record.
func loginOf(env *envelope) (*loginInfo, error) {
	var rec struct {
		AAALogin struct {
			Attributes struct {
				Token                  string `json:"token"`
				RefreshTimeoutSeconds  string `json:"refreshTimeoutSeconds"`
				MaximumLifetimeSeconds string `json:"maximumLifetimeSeconds"`
			} `json:"attributes"`
		} `json:"aaaLogin"`
	}
	if len(env.Imdata) == 0 || json.Unmarshal(env.Imdata[0], &rec) != nil || rec.AAALogin.Attributes.Token == "" {
		return nil, fmt.Errorf("%w: no aaaLogin token", errBadAnswer)
	}
	a := rec.AAALogin.Attributes
	info := &loginInfo{
		token:          a.Token,
		refreshTimeout: seconds(a.RefreshTimeoutSeconds, 600*time.Second),
		maxLifetime:    seconds(a.MaximumLifetimeSeconds, 24*time.Hour),
	}
	return info, nil
}

func seconds(s string, def time.Duration) time.Duration {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return def
	}
	return time.Duration(n) * time.Second
}

// query builds a class query path with raw (unencoded) filter text, as
// APIC clients send it; the values are percent-encoded only where a URL
// requires it.
func classQuery(class string, opts ...string) string {
	return "/api/class/" + class + ".json?" + strings.Join(opts, "&")
}

// page is one page of a class snapshot.
type page struct {
	objs  []event.Object
	total int
	subID string
	arena *pageArena // holds objs and their strings; see release
	spare spares[pageArena]
}

// maxPresizeBytes bounds the read buffer made ahead of an answer's bytes,
// and the buffers kept for the next page.
const maxPresizeBytes = 64 << 20

// get reads one page of objects. Pages are the big answers (a snapshot of
// a million objects), so they are read with the frame scanner and keep only
// the dn and the fingerprint attributes; anything else goes the envelope way.
func (r *rest) get(ctx context.Context, path string) (*page, error) {
	buf := r.buffers.get()
	defer func() {
		if buf.Cap() <= maxPresizeBytes { // a rare huge page is let go
			r.buffers.put(buf) // decodePage copies what it keeps
		}
	}()
	code, raw, err := r.send(ctx, http.MethodGet, path, nil, buf)
	if err != nil {
		return nil, err
	}
	if code == http.StatusOK {
		p, err := decodePage(raw, r.arenas)
		if !errors.Is(err, errPageError) {
			return p, err
		}
	}
	if _, err := answer(code, raw); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: an error record that is no error", errBadAnswer)
}
