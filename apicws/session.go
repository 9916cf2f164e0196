package apicws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/aci-exporter/aci-exporter/event"
)

// closeWait is how long an ending session reads on after its goodbye.
const closeWait = time.Second

// session is one login on one controller: its socket, subscriptions and
// refresh timers. Goroutines serve it: the reader (frames → events), the
// pinger, the refresher (token and subscription refreshes), the subscriber
// (subscriptions, snapshots, probes) and the loop, the only one that hands
// events and snapshots to the sink, so they stay in order.
type session struct {
	c           *Client
	controller  string
	rest        *rest
	established bool // logged in, socket open and every class synced

	// Owned by the loop.
	ids       map[string]string         // live subscription id -> subscription name
	classes   map[string]bool           // subscribed classes
	subClass  map[string]string         // subscription name -> class
	syncing   map[string]*classSync     // classes being (re)subscribed
	subEvents map[string]*atomic.Uint64 // events accepted per subscription, read by probes
	touched   map[string]string         // subscriptions with events in the batch at hand -> newest stamp among them
	newest    newest                    // newest stamp seen per subscription, read by probes

	// looked is the last look at each subscription, or what its answer
	// counted; the subscriber's alone (subscriptions and probes).
	looked map[string]look

	// rounds counts the classes being (re)subscribed, for the refresher:
	// a planned re-login waits for them.
	rounds atomic.Int32

	// Frames read by the reader and applied by the loop: a probe trusts
	// the events it counted only once the loop has caught up.
	framesRead, framesDone atomic.Uint64

	// lastRead is when the socket last gave a frame or a pong (UnixNano):
	// a probe only blames a subscription while the socket is alive.
	lastRead atomic.Int64
	// closeBy is when the socket is cut off once the session said goodbye
	// (UnixNano), 0 before.
	closeBy atomic.Int64

	// Shared by the refresher and the subscriber.
	mu      sync.Mutex
	subIDs  map[string][]string // subscription name -> ids to refresh
	pending map[string]bool     // classes to subscribe again
	resubs  chan struct{}       // wakes the subscriber for pending
	pingNow chan struct{}       // asks the pinger for a ping now
}

// Messages from the reader and the subscriber to the loop.
type (
	frameMsg struct {
		evs    []event.Event
		reason string
		err    string
	}
	// resyncMsg starts a new round for a class before its subscriptions
	// are made again.
	resyncMsg struct{ class string }
	// subscribedMsg is one subscription made (a whole class or one DN
	// range of it), with the objects of its answer. cutoff is the last DN
	// of the answer when plain pages follow: objects beyond it are read
	// after pushes started.
	subscribedMsg struct {
		sub    Subscription
		id     string
		page   *page
		cutoff string
	}
	// pageMsg is one of those later pages.
	pageMsg struct {
		sub  Subscription
		page *page
	}
	// doneMsg says a subscription's snapshot is complete, every range of it.
	doneMsg struct{ sub Subscription }
)

func newSession(c *Client, controller string) *session {
	s := &session{
		c:          c,
		controller: controller,
		rest:       &rest{http: c.http, base: strings.TrimSuffix(controller, "/"), buffers: c.buffers, arenas: c.arenas},
		ids:        make(map[string]string),
		classes:    make(map[string]bool),
		subClass:   make(map[string]string),
		syncing:    make(map[string]*classSync),
		subEvents:  make(map[string]*atomic.Uint64),
		touched:    make(map[string]string),
		newest:     newest{m: make(map[string]*stamp)},
		subIDs:     make(map[string][]string),
		pending:    make(map[string]bool),
		resubs:     make(chan struct{}, 1),
		pingNow:    make(chan struct{}, 1),
		looked:     make(map[string]look),
	}
	for _, sub := range c.cfg.Subscriptions {
		s.classes[sub.Class] = true
		s.subClass[sub.Name] = sub.Class
		s.subEvents[sub.Name] = new(atomic.Uint64)
		s.newest.m[sub.Name] = new(stamp)
	}
	for class := range s.classes {
		s.newClassSync(class)
	}
	return s
}

// run logs in, opens the socket, subscribes and streams until an error or
// ctx ends. It returns why the session ended.
func (s *session) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sink := s.c.sink

	password, err := s.c.cfg.Password()
	if err != nil {
		sink.LoginAttempt(s.controller, false)
		return fmt.Errorf("password: %w", err)
	}
	info, err := s.rest.login(ctx, s.c.cfg.Username, password)
	sink.LoginAttempt(s.controller, err == nil)
	if err != nil {
		return fmt.Errorf("login to %s: %w", s.controller, err)
	}
	sink.SessionExpiry(time.Now().Add(info.refreshTimeout))

	conn, err := s.dial(ctx, info.token)
	if err != nil {
		return fmt.Errorf("websocket to %s: %w", s.controller, err)
	}
	sink.SocketUp(s.controller, true)
	defer sink.SocketUp(s.controller, false)
	// Ending, the session says goodbye and reads on until the APIC closes
	// too: frames it wrote before it saw the close still reach the state
	// instead of being lost. A peer that does not answer is cut off.
	stop := context.AfterFunc(ctx, func() {
		by := time.Now().Add(closeWait)
		s.closeBy.Store(by.UnixNano())
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), by)
		conn.SetReadDeadline(by)
	})
	defer stop()
	defer conn.Close()

	frames := make(chan frameMsg, 256)
	ctl := make(chan any)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		defer close(frames)
		cancel(s.read(conn, frames))
	})
	wg.Go(func() { cancel(s.ping(ctx, conn)) })
	wg.Go(func() { cancel(s.refresh(ctx, info)) })
	wg.Go(func() { cancel(s.subscribeAll(ctx, ctl)) })
	s.loop(frames, ctl)
	for _, sub := range s.c.cfg.Subscriptions {
		sink.SubscriptionUp(sub.Name, false)
	}
	return context.Cause(ctx)
}

// dial opens wss://controller/socket<token>: the raw token, not encoded.
func (s *session) dial(ctx context.Context, token string) (*websocket.Conn, error) {
	d := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		TLSClientConfig:  s.c.cfg.TLS,
		HandshakeTimeout: 30 * time.Second,
	}
	u := "wss://" + strings.TrimPrefix(s.rest.base, "https://") + "/socket" + token
	if strings.HasPrefix(s.rest.base, "http://") {
		u = "ws://" + strings.TrimPrefix(s.rest.base, "http://") + "/socket" + token
	}
	conn, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		return nil, err
	}
	conn.SetReadLimit(s.c.cfg.ReadLimit)
	return conn, nil
}

// read decodes frames until the socket fails (closing the socket is how
// the session stops it). A frame or a pong must come
// within two ping periods, so a half-open connection is noticed.
func (s *session) read(conn *websocket.Conn, out chan<- frameMsg) error {
	wait := 2 * s.c.cfg.PingInterval
	s.extendRead(conn, wait)
	conn.SetPongHandler(func(string) error {
		s.lastRead.Store(time.Now().UnixNano())
		return s.extendRead(conn, wait)
	})
	var (
		buf bytes.Buffer // reused: Decode copies what the events keep
		dec Decoder
	)
	for {
		data, err := readMessage(conn, &buf)
		if errors.Is(err, websocket.ErrReadLimit) {
			out <- frameMsg{reason: ReasonTooLarge, err: fmt.Sprintf("frame over %d bytes", s.c.cfg.ReadLimit)}
		}
		if err != nil {
			return fmt.Errorf("websocket read: %w", err)
		}
		s.lastRead.Store(time.Now().UnixNano())
		s.framesRead.Add(1)
		s.extendRead(conn, wait)
		evs, derr := dec.Decode(data)
		msg := frameMsg{evs: evs}
		if derr != nil {
			msg.reason, msg.err = ReasonInvalidJSON, derr.Error()
			if de, ok := errors.AsType[*DecodeError](derr); ok {
				msg.reason = de.Reason
			}
		}
		out <- msg // the loop drains frames until they are closed
	}
}

// extendRead gives the socket until wait from now to deliver, but no later
// than closeBy once the session said goodbye. closeBy is read again after
// the deadline is set, as the goodbye may come in between.
func (s *session) extendRead(conn *websocket.Conn, wait time.Duration) error {
	err := conn.SetReadDeadline(time.Now().Add(wait))
	if by := s.closeBy.Load(); by != 0 {
		err = conn.SetReadDeadline(time.Unix(0, by))
	}
	return err
}

// readMessage reads the next message into buf. A buffer grown by a rare
// huge frame is let go rather than kept for good.
func readMessage(conn *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	if buf.Cap() > 1<<20 {
		*buf = bytes.Buffer{}
	}
	buf.Reset()
	_, r, err := conn.NextReader()
	if err != nil {
		return nil, err
	}
	_, err = buf.ReadFrom(r)
	return buf.Bytes(), err
}

// ping keeps the socket's liveness visible: the APIC answers pings even
// when it has no events to send.
// A probe that suspects a subscription asks for a ping at once (pingNow),
// so that the socket's liveness is known when it looks again.
func (s *session) ping(ctx context.Context, conn *websocket.Conn) error {
	t := time.NewTicker(s.c.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		case <-s.pingNow:
		}
		if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)); err != nil {
			return fmt.Errorf("websocket ping: %w", err)
		}
	}
}
