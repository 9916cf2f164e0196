package apicws

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recSink records what the client hands over and keeps a tiny object
// table, enough to check ordering and counts.
type recSink struct {
	mu             sync.Mutex
	objects        map[string]map[string]bool // class -> DN set
	pages          map[string]map[string]bool // class -> DN set of a snapshot in progress
	changes        map[string]int             // "class status"
	resyncs        int
	tokenRefreshes int
	up             bool
	logins         map[string][2]int // controller -> attempts, failures
	errors         map[string]int
	messages       int
	socket         map[string]bool
	subUp          map[string]bool
	refresh        map[string][2]int
	resynced       map[string]int
}

func newRecSink() *recSink {
	return &recSink{
		objects: map[string]map[string]bool{}, pages: map[string]map[string]bool{}, changes: map[string]int{}, logins: map[string][2]int{},
		errors: map[string]int{}, socket: map[string]bool{}, subUp: map[string]bool{}, refresh: map[string][2]int{},
		resynced: map[string]int{},
	}
}

// Snapshot collects a snapshot's pages; Resync makes them the class's
// objects, after the events before it.
func (r *recSink) Snapshot(class string, objs []event.Object) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pages[class] == nil {
		r.pages[class] = map[string]bool{}
	}
	for _, o := range objs {
		r.pages[class][strings.Clone(o.DN)] = true // objs are reused after the call
	}
}

func (r *recSink) Resync(class string, before, late []event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range before {
		r.changes[ev.Class+" "+ev.Status.String()]++
	}
	set := r.pages[class]
	if set == nil {
		set = map[string]bool{}
	}
	r.objects[class] = set
	delete(r.pages, class)
	r.resyncs++
}

func (r *recSink) DropSnapshot(class string) {
	r.mu.Lock()
	delete(r.pages, class)
	r.mu.Unlock()
}

func (r *recSink) Apply(evs []event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		set := r.objects[ev.Class]
		if set == nil {
			panic("event before snapshot for " + ev.Class)
		}
		if ev.Status == event.StatusDeleted {
			delete(set, ev.DN)
		} else {
			set[ev.DN] = true
		}
		r.changes[ev.Class+" "+ev.Status.String()]++
	}
}

func (r *recSink) LoginAttempt(c string, ok bool) {
	r.mu.Lock()
	v := r.logins[c]
	v[0]++
	if !ok {
		v[1]++
	}
	r.logins[c] = v
	r.mu.Unlock()
}
func (r *recSink) TokenRefresh(bool)           { r.mu.Lock(); r.tokenRefreshes++; r.mu.Unlock() }
func (r *recSink) SessionExpiry(time.Time)     {}
func (r *recSink) LastEvent(string, time.Time) {}
func (r *recSink) SocketUp(c string, up bool)  { r.mu.Lock(); r.socket[c] = up; r.mu.Unlock() }
func (r *recSink) Message()                    { r.mu.Lock(); r.messages++; r.mu.Unlock() }
func (r *recSink) MessageError(reason string) {
	r.mu.Lock()
	r.errors[reason]++
	r.mu.Unlock()
}
func (r *recSink) SubscriptionUp(n string, up bool) { r.mu.Lock(); r.subUp[n] = up; r.mu.Unlock() }
func (r *recSink) SubscriptionRefresh(n string, ok bool) {
	r.mu.Lock()
	v := r.refresh[n]
	v[0]++
	if !ok {
		v[1]++
	}
	r.refresh[n] = v
	r.mu.Unlock()
}
func (r *recSink) SubscriptionSnapshot(n string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.resynced[n]; ok {
		r.resynced[n]++
		return
	}
	r.resynced[n] = 0
}

func (r *recSink) Objects(class string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if set, ok := r.objects[class]; ok {
		return len(set)
	}
	return -1
}
func (r *recSink) Up(up bool) { r.mu.Lock(); r.up = up; r.mu.Unlock() }

func (r *recSink) read(f func(r *recSink) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return f(r)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startClient(t *testing.T, sim *apicsim.Sim, cfg Config) (*recSink, context.CancelFunc) {
	t.Helper()
	sink := newRecSink()
	if cfg.Controllers == nil {
		cfg.Controllers = sim.URLs()
	}
	cfg.Username = "admin"
	cfg.Password = func() (string, error) { return "password", nil }
	cfg.TLS = sim.ClientTLSConfig()
	cfg.BackoffMin, cfg.BackoffMax = 5*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { New(cfg, sink).Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return sink, stop
}

func newSim(t *testing.T, cfg apicsim.Config) *apicsim.Sim {
	t.Helper()
	s, err := apicsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestClientSnapshotThenEvents(t *testing.T) {
	sim := newSim(t, apicsim.Config{})
	sim.Create("fvTenant", "uni/tn-a", map[string]string{"name": "a"})
	sim.Create("fvBD", "uni/tn-a/BD-x", map[string]string{"name": "x"})
	sink, _ := startClient(t, sim, Config{Subscriptions: []Subscription{{Class: "fvTenant"}, {Class: "fvBD"}}})
	eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })

	sim.Create("fvTenant", "uni/tn-b", map[string]string{"name": "b"})
	sim.Delete("uni/tn-a")
	eventually(t, "events", func() bool {
		return sink.read(func(r *recSink) bool { return r.changes["fvTenant deleted"] == 1 && r.changes["fvBD deleted"] == 1 })
	})
	sink.read(func(r *recSink) bool {
		if !maps.Equal(r.objects["fvTenant"], map[string]bool{"uni/tn-b": true}) || len(r.objects["fvBD"]) != 0 {
			t.Errorf("objects %v", r.objects)
		}
		if r.changes["fvTenant created"] != 1 || r.resyncs != 2 || r.logins[sim.URLs()[0]] != [2]int{1, 0} {
			t.Errorf("changes %v resyncs %d logins %v", r.changes, r.resyncs, r.logins)
		}
		return true
	})
}

func TestClientPagesLargeClasses(t *testing.T) {
	sim := newSim(t, apicsim.Config{MaxResultSize: 50})
	for i := range 237 {
		sim.Create("fvCEp", fmt.Sprintf("uni/tn-a/ap-p/epg-e/cep-00:00:00:00:%02X:%02X", i/256, i%256), map[string]string{})
	}
	sink, _ := startClient(t, sim, Config{PageSize: 40, Subscriptions: []Subscription{{Class: "fvCEp"}}})
	eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })
	sink.read(func(r *recSink) bool {
		if len(r.objects["fvCEp"]) != 237 {
			t.Errorf("snapshot holds %d objects, want 237", len(r.objects["fvCEp"]))
		}
		return true
	})
}

// After a drop a paged class is read again in DN ranges, each ended by the
// page-size-th object after the last: class sizes around the page size
// must all come back whole.
func TestClientResyncsPagedClassInRanges(t *testing.T) {
	const pageSize = 10
	for _, n := range []int{10, 11, 19, 20, 21, 30, 47} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sim := newSim(t, apicsim.Config{})
			for i := range n {
				sim.Create("fvCEp", fmt.Sprintf("uni/tn-a/ap-p/epg-e/cep-00:00:00:00:00:%02X", i), map[string]string{})
			}
			sink, _ := startClient(t, sim, Config{PageSize: pageSize, Subscriptions: []Subscription{{Class: "fvCEp"}}})
			eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })
			before := sim.Status().Subscriptions
			sim.DropSockets(apicsim.CloseAbrupt)
			sim.Create("fvCEp", "uni/tn-a/ap-p/epg-e/cep-00:00:00:00:01:00", map[string]string{})
			eventually(t, "resync in ranges", func() bool {
				return sink.read(func(r *recSink) bool { return r.up && r.resynced["fvCEp"] == 1 })
			})
			if got := sink.Objects("fvCEp"); got != n+1 {
				t.Errorf("%d objects after the resync, want %d", got, n+1)
			}
			// One subscription per range; each full range ends at its
			// pageSize-th object, and an open-ended one follows the last.
			if got, want := sim.Status().Subscriptions-before, (n+1)/pageSize+1; got != want {
				t.Errorf("the resync made %d range subscriptions, want %d", got, want)
			}
		})
	}
}

func TestClientReconnectsAndFailsOver(t *testing.T) {
	sim := newSim(t, apicsim.Config{Controllers: 3})
	sim.Create("fvTenant", "uni/tn-a", map[string]string{"name": "a"})
	urls := sim.URLs()
	if err := sim.KillController(0); err != nil {
		t.Fatal(err)
	}
	sink, _ := startClient(t, sim, Config{Subscriptions: []Subscription{{Class: "fvTenant"}}})
	eventually(t, "up on controller 2", func() bool {
		return sink.read(func(r *recSink) bool { return r.up && r.socket[urls[1]] })
	})
	// A drop: same controller again, a resync, and the gap's change is in.
	sim.DropSockets(apicsim.CloseAbrupt)
	sim.Create("fvTenant", "uni/tn-gap", map[string]string{"name": "gap"})
	eventually(t, "resync after drop", func() bool {
		return sink.read(func(r *recSink) bool {
			return r.up && r.resynced["fvTenant"] == 1 && r.objects["fvTenant"]["uni/tn-gap"]
		})
	})
	sink.read(func(r *recSink) bool {
		if !r.socket[urls[1]] || r.logins[urls[1]][0] != 2 {
			t.Errorf("sockets %v logins %v: want a second login on controller 2", r.socket, r.logins)
		}
		return true
	})
}

func TestClientCountsBadFrames(t *testing.T) {
	sim := newSim(t, apicsim.Config{})
	sim.Create("fvTenant", "uni/tn-a", map[string]string{"name": "a"})
	sink, _ := startClient(t, sim, Config{Subscriptions: []Subscription{{Class: "fvTenant"}}})
	eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })
	for _, k := range []string{apicsim.FrameInvalidJSON, apicsim.FrameNoDN, apicsim.FrameUnknownClass, apicsim.FrameUnknownID} {
		sim.InjectFrame(k)
	}
	want := map[string]int{ReasonInvalidJSON: 1, ReasonNoDN: 1, ReasonUnknownClass: 1, ReasonUnknownSubscription: 1}
	eventually(t, "errors counted", func() bool { return sink.read(func(r *recSink) bool { return maps.Equal(r.errors, want) }) })
	sink.read(func(r *recSink) bool {
		if r.objects["fvTenant"]["uni/tn-ghost"] || !r.up {
			t.Errorf("a bad frame changed state or broke the stream: %v up=%v", r.objects, r.up)
		}
		return true
	})
}

func TestClientGivesUpOversizedFrames(t *testing.T) {
	sim := newSim(t, apicsim.Config{})
	sim.Create("fvTenant", "uni/tn-a", map[string]string{"name": "a"})
	sink, _ := startClient(t, sim, Config{ReadLimit: 64 << 10, Subscriptions: []Subscription{{Class: "fvTenant"}}})
	eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })
	sim.InjectFrame(apicsim.FrameOversized)
	eventually(t, "a new session after the oversized frame", func() bool {
		return sink.read(func(r *recSink) bool { return r.errors[ReasonTooLarge] == 1 && r.resynced["fvTenant"] == 1 && r.up })
	})
}
