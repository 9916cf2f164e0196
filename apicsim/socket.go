package apicsim

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const writeWait = 10 * time.Second

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 64 << 10,
	CheckOrigin:     func(*http.Request) bool { return true },
}

// pushItem is one change queued for one socket.
type pushItem struct {
	ids []string
	c   *change
}

// socket is a session's event websocket. One goroutine writes frames, one
// reads (to answer pings and notice the client leaving).
type socket struct {
	sim  *Sim
	sess *session
	conn *websocket.Conn
	out  *bufferedConn // under conn: frames leave on flush

	// writeMu is held while frames are on their way out; shutdown takes it
	// so that every frame is either fully written or never sent.
	writeMu sync.Mutex

	mu      sync.Mutex // guards queue
	queue   []*pushItem
	wake    chan struct{}
	flushed chan struct{} // signalled when the writer empties the queue

	closed   bool          // guarded by sim.mu
	stalled  atomic.Bool   // half-open: write nothing, answer no pings
	done     chan struct{} // closed when the socket starts closing
	readDone chan struct{} // closed when the reader has seen the end
	closing  atomic.Bool
}

// closeHow says how the simulator ends a socket.
type closeHow struct {
	abrupt bool
	code   int
	text   string
}

var closeAbrupt = closeHow{abrupt: true}

func closeFrame(code int, text string) closeHow { return closeHow{code: code, text: text} }

func (c *controller) serveSocket(w http.ResponseWriter, r *http.Request, token string) {
	s := c.sim
	s.mu.Lock()
	sess := s.authenticate(c, token, s.now())
	s.mu.Unlock()
	if sess == nil {
		writeError(w, http.StatusForbidden, textTokenTimeout)
		return
	}
	// The socket is registered before the 101 answer can reach the client,
	// so a subscribe sent right after the handshake finds it.
	s.mu.Lock()
	hj := &hijacker{ResponseWriter: w}
	conn, err := upgrader.Upgrade(hj, r, nil)
	if err == nil {
		if err = hj.conn.Flush(); err != nil {
			conn.Close()
		}
	}
	if err != nil {
		s.mu.Unlock()
		return // the upgrader has answered
	}
	sock := &socket{
		sim:      s,
		sess:     sess,
		conn:     conn,
		out:      hj.conn,
		wake:     make(chan struct{}, 1),
		flushed:  make(chan struct{}, 1),
		done:     make(chan struct{}),
		readDone: make(chan struct{}),
	}
	old := sess.sock
	if sess.ended {
		s.mu.Unlock()
		conn.Close()
		return
	}
	sess.sock = sock
	s.sockets[sock] = struct{}{}
	s.userTruth(sess.user).sessionVisible(sess, s.now(), s.st)
	s.mu.Unlock()
	if old != nil {
		old.shutdown(closeFrame(1000, "replaced"))
	}
	s.wg.Go(sock.writeLoop)
	s.wg.Go(sock.readLoop)
}

// enqueue adds a push. Called with sim.mu held.
func (sock *socket) enqueue(it *pushItem) {
	sock.mu.Lock()
	sock.queue = append(sock.queue, it)
	sock.mu.Unlock()
	sock.kick()
}

// kick wakes the writer.
func (sock *socket) kick() {
	select {
	case sock.wake <- struct{}{}:
	default:
	}
}

func (sock *socket) writeLoop() {
	var buf []byte
	for {
		select {
		case <-sock.done:
			return
		case <-sock.wake:
		}
		if sock.stalled.Load() {
			continue
		}
		var err error
		buf, err = sock.flush(buf)
		if err != nil {
			sock.shutdown(closeAbrupt)
			return
		}
	}
}

// flush writes everything queued, several objects per frame when batching
// is on and consecutive changes share their subscription ids.
func (sock *socket) flush(buf []byte) ([]byte, error) {
	sock.writeMu.Lock()
	defer sock.writeMu.Unlock()
	sock.mu.Lock()
	items := sock.queue
	sock.queue = nil
	sock.mu.Unlock()
	batch := sock.sim.cfg.BatchSize
	for len(items) > 0 {
		n := 1
		for n < len(items) && n < batch && slices.Equal(items[n].ids, items[0].ids) {
			n++
		}
		buf = appendFrame(buf[:0], items[0].ids, items[:n])
		items = items[n:]
		sock.conn.SetWriteDeadline(time.Now().Add(writeWait))
		if err := sock.conn.WriteMessage(websocket.TextMessage, buf); err != nil {
			return buf, err
		}
	}
	if err := sock.out.Flush(); err != nil {
		return buf, err
	}
	select {
	case sock.flushed <- struct{}{}:
	default:
	}
	return buf, nil
}

// waitFlushed waits until the writer has emptied the queue, or the timeout.
func (sock *socket) waitFlushed(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		sock.mu.Lock()
		empty := len(sock.queue) == 0
		sock.mu.Unlock()
		if empty {
			// The writer may still hold items it took; writeMu waits for it.
			sock.writeMu.Lock()
			//lint:ignore SA2001 taking the lock is the wait
			sock.writeMu.Unlock()
			return
		}
		select {
		case <-sock.flushed:
		case <-sock.done:
			return
		case <-t.C:
			return
		}
	}
}

// readLoop discards what the client sends (APIC clients send nothing) and
// lets gorilla answer pings, unless the socket is stalled.
func (sock *socket) readLoop() {
	sock.conn.SetPingHandler(func(data string) error {
		if sock.stalled.Load() {
			return nil
		}
		if err := sock.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait)); err != nil {
			return err
		}
		return sock.out.Flush()
	})
	for {
		if _, _, err := sock.conn.ReadMessage(); err != nil {
			close(sock.readDone)
			sock.shutdown(closeAbrupt)
			return
		}
	}
}

// shutdown closes the socket once. Queued changes that were never written
// go back to the ground truth as not seen by the client.
func (sock *socket) shutdown(how closeHow) {
	if !sock.closing.CompareAndSwap(false, true) {
		return
	}
	s := sock.sim
	close(sock.done)
	sock.writeMu.Lock()
	defer sock.writeMu.Unlock()
	s.mu.Lock()
	sock.closed = true
	delete(s.sockets, sock)
	sock.mu.Lock()
	lost := sock.queue
	sock.queue = nil
	sock.mu.Unlock()
	if ut := s.truth[sock.sess.user]; ut != nil {
		for _, it := range lost {
			ut.undeliver(it.c, s.st)
		}
	}
	if s.cfg.SubscriptionsDieWithSocket {
		for id := range sock.sess.subs {
			delete(sock.sess.ctrl.subs, id)
		}
		sock.sess.subs = map[string]*subscription{}
	}
	s.mu.Unlock()
	if !how.abrupt {
		msg := websocket.FormatCloseMessage(how.code, how.text)
		sock.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		sock.out.Flush()
	}
	sock.finish()
}

// finish ends the connection so that every frame written reaches the
// client: FIN rather than RST (closing with unread input would reset the
// connection, and the client could lose frames the ground truth counts as
// seen). It half-closes, waits for the client to close its side, then closes.
func (sock *socket) finish() {
	if cw, ok := sock.out.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-sock.readDone:
	case <-t.C:
	}
	sock.conn.Close()
}

// writeRaw sends one frame as is (fault injection).
func (sock *socket) writeRaw(frame []byte) {
	sock.writeMu.Lock()
	defer sock.writeMu.Unlock()
	sock.conn.SetWriteDeadline(time.Now().Add(writeWait))
	if sock.conn.WriteMessage(websocket.TextMessage, frame) == nil {
		_ = sock.out.Flush()
	}
}

// bufferedConn buffers what gorilla writes so a burst of frames leaves in
// one TLS record and syscall; the socket flushes it after each burst.
type bufferedConn struct {
	net.Conn
	mu sync.Mutex
	w  *bufio.Writer
}

func (c *bufferedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.Write(p)
}

func (c *bufferedConn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.Flush()
}

// hijacker hands gorilla a bufferedConn instead of the raw connection.
type hijacker struct {
	http.ResponseWriter
	conn *bufferedConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &bufferedConn{Conn: nc, w: bufio.NewWriterSize(nc, 64<<10)}
	return h.conn, brw, nil
}
