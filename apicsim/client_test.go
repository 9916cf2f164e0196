package apicsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testClock is a settable clock for expiry tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newSim(t *testing.T, cfg Config) *Sim {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client is a minimal APIC client, written the way real ones are, with
// gorilla/websocket for the event channel.
type client struct {
	t     *testing.T
	base  string
	http  *http.Client
	token string
	ws    *websocket.Conn
}

func newClient(t *testing.T, s *Sim, ctrl int) *client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: s.ClientTLSConfig()}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{
		t:    t,
		base: s.URLs()[ctrl],
		http: &http.Client{Transport: tr, Timeout: 10 * time.Second},
	}
}

// response is a decoded APIC answer.
type response struct {
	code   int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r *response) imdata() []map[string]any {
	var out []map[string]any
	list, _ := r.body["imdata"].([]any)
	for _, x := range list {
		out = append(out, x.(map[string]any))
	}
	return out
}

// errorText returns imdata[0].error.attributes.text.
func (r *response) errorText() string {
	im := r.imdata()
	if len(im) == 0 {
		return ""
	}
	e, _ := im[0]["error"].(map[string]any)
	attrs, _ := e["attributes"].(map[string]any)
	text, _ := attrs["text"].(string)
	return text
}

func (c *client) do(method, path string, body []byte, cookies ...string) *response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ck := range cookies {
		req.Header.Add("Cookie", ck)
	}
	if len(cookies) == 0 && c.token != "" {
		req.Header.Set("Cookie", "APIC-cookie="+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &response{code: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (c *client) get(path string) *response { return c.do(http.MethodGet, path, nil) }

func (c *client) login(user, pwd string) *response {
	c.t.Helper()
	body := `{"aaaUser":{"attributes":{"name":"` + user + `","pwd":"` + pwd + `"}}}`
	r := c.do(http.MethodPost, "/api/aaaLogin.json", []byte(body))
	if r.code == http.StatusOK {
		c.token = loginAttr(r, "token")
	}
	return r
}

func loginAttr(r *response, name string) string {
	im := r.imdata()
	if len(im) == 0 {
		return ""
	}
	l, _ := im[0]["aaaLogin"].(map[string]any)
	attrs, _ := l["attributes"].(map[string]any)
	v, _ := attrs[name].(string)
	return v
}

// mustLogin logs in as admin and opens the event socket.
func (c *client) mustLogin() {
	c.t.Helper()
	if r := c.login("admin", "password"); r.code != http.StatusOK {
		c.t.Fatalf("login: %d %s", r.code, r.raw)
	}
	c.dial()
}

func (c *client) dial() {
	c.t.Helper()
	d := websocket.Dialer{TLSClientConfig: c.http.Transport.(*http.Transport).TLSClientConfig, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("wss://"+strings.TrimPrefix(c.base, "https://")+"/socket"+c.token, nil)
	if err != nil {
		c.t.Fatalf("dial: %v (%v)", err, resp)
	}
	c.ws = ws
	c.t.Cleanup(func() { ws.Close() })
}

// subscribe subscribes to path (query included) and returns the answer and id.
func (c *client) subscribe(path string) (*response, string) {
	c.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	r := c.get(path + sep + "subscription=yes")
	if r.code != http.StatusOK {
		c.t.Fatalf("subscribe %s: %d %s", path, r.code, r.raw)
	}
	id, ok := r.body["subscriptionId"].(string)
	if !ok {
		c.t.Fatalf("subscriptionId is not a string: %s", r.raw)
	}
	return r, id
}

// frame is a decoded push.
type frame struct {
	IDs    []string                                            `json:"subscriptionId"`
	Imdata []map[string]struct{ Attributes map[string]string } `json:"imdata"`
}

// readFrame reads one frame, failing the test after the deadline.
func (c *client) readFrame() frame {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("frame type %d, want text", typ)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("frame %s: %v", data, err)
	}
	return f
}

// object returns the only object of a frame's imdata entry i.
func (f frame) object(i int) (class string, attrs map[string]string) {
	for cls, o := range f.Imdata[i] {
		return cls, o.Attributes
	}
	return "", nil
}

// expectNoFrame asserts nothing arrives within d (used only where silence
// is the behaviour under test).
func (c *client) expectNoFrame(d time.Duration) {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(d))
	if _, data, err := c.ws.ReadMessage(); err == nil {
		c.t.Fatalf("unexpected frame %s", data)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// refresh calls aaaRefresh and keeps the token it returns.
func (c *client) refresh() *response {
	r := c.get("/api/aaaRefresh.json")
	if r.code == http.StatusOK {
		c.token = loginAttr(r, "token")
	}
	return r
}

// mustCreate creates an object with a few attributes given as name, value pairs.
func (s *Sim) mustCreate(t *testing.T, class, dn string, kv ...string) {
	t.Helper()
	attrs := map[string]string{"name": dn[strings.LastIndex(dn, "-")+1:], "descr": ""}
	for i := 0; i+1 < len(kv); i += 2 {
		attrs[kv[i]] = kv[i+1]
	}
	if err := s.Create(class, dn, attrs); err != nil {
		t.Fatal(err)
	}
}
