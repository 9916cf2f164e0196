package collector

import (
	"sync"
	"time"

	"github.com/aci-exporter/aci-exporter/event"
	"github.com/aci-exporter/aci-exporter/statedef"
)

// Fabric is one fabric's state and stream health. The APIC client feeds it;
// the Collector reads it at scrape time. All methods are safe for
// concurrent use.
type Fabric struct {
	name string
	st   *state

	mu          sync.Mutex // guards the health below
	up          bool
	ready       bool // every subscribed class has had a snapshot
	subs        map[string]*subHealth
	controllers map[string]*controllerHealth
	messages    uint64
	msgErrors   map[string]uint64
	snapshots   map[string]bool // subscriptions that had their first snapshot
	tokenRefs   uint64
	tokenFails  uint64
	expiry      time.Time
}

type subHealth struct {
	class               string
	up                  bool
	refreshes, failures uint64
	resyncs             uint64
	lastEvent           time.Time
}

type controllerHealth struct {
	connected             bool
	connects, disconnects uint64
	logins, loginFailures uint64
}

// Subscription names a subscription and its class, for series that exist
// (at zero) from the start.
type Subscription struct{ Name, Class string }

// NewFabric returns the state of a fabric with its known controllers,
// subscriptions and decode-error reasons, whose series start at zero.
// maxObjects caps the objects tracked (0: no cap).
func NewFabric(name string, controllers []string, subs []Subscription, errorReasons []string, maxObjects int) *Fabric {
	f := &Fabric{
		name:        name,
		st:          newState(name, maxObjects),
		subs:        make(map[string]*subHealth),
		controllers: make(map[string]*controllerHealth),
		msgErrors:   make(map[string]uint64),
		snapshots:   make(map[string]bool),
	}
	f.Configure(controllers, subs, errorReasons)
	return f
}

// Configure adds series for controllers, subscriptions and reasons that
// are new after a reload; existing counts stay.
func (f *Fabric) Configure(controllers []string, subs []Subscription, errorReasons []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range controllers {
		if f.controllers[c] == nil {
			f.controllers[c] = &controllerHealth{}
		}
	}
	keep := map[string]bool{}
	for _, s := range subs {
		keep[s.Name] = true
		if h := f.subs[s.Name]; h == nil || h.class != s.Class {
			f.subs[s.Name] = &subHealth{class: s.Class}
		}
	}
	classes := map[string]bool{}
	for name, h := range f.subs {
		if !keep[name] {
			delete(f.subs, name)
			continue
		}
		classes[h.class] = true
	}
	for _, r := range errorReasons {
		if _, ok := f.msgErrors[r]; !ok {
			f.msgErrors[r] = 0
		}
	}
	f.st.mu.Lock()
	f.st.prune(classes)
	f.st.mu.Unlock()
}

// UseStateMetrics sets the fabric's state metrics. It must be called
// before the first snapshot: objects keep only the attributes the metrics
// read, so a change of metrics needs a new Fabric.
func (f *Fabric) UseStateMetrics(ms []*statedef.Metric) {
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	f.st.eng = nil
	if len(ms) > 0 {
		f.st.eng = newEngine(ms, f.st.fabricPair)
	}
}

// Name is the fabric's name, the fabric label.
func (f *Fabric) Name() string { return f.name }

// Snapshot applies a page of a class's snapshot; the first page of a round
// starts it (see snapshot.go).
func (f *Fabric) Snapshot(class string, objs []event.Object) {
	f.st.mu.Lock()
	f.st.snapshotPage(class, objs)
	f.st.mu.Unlock()
}

// Resync ends a class's snapshot: the first is the baseline; later ones
// count the events before them live and the difference as resync changes.
func (f *Fabric) Resync(class string, before, late []event.Event) {
	f.st.mu.Lock()
	f.st.endSnapshot(class, before, late)
	f.st.mu.Unlock()
}

// DropSnapshot undoes a snapshot that cannot be finished.
func (f *Fabric) DropSnapshot(class string) {
	f.st.mu.Lock()
	f.st.dropSnapshot(class)
	f.st.mu.Unlock()
}

// Apply books live events.
func (f *Fabric) Apply(evs []event.Event) {
	f.st.mu.Lock()
	for i := range evs {
		f.st.apply(&evs[i])
	}
	f.st.mu.Unlock()
}

// LoginAttempt counts an aaaLogin on a controller.
func (f *Fabric) LoginAttempt(controller string, ok bool) {
	f.mu.Lock()
	h := f.controller(controller)
	h.logins++
	if !ok {
		h.loginFailures++
	}
	f.mu.Unlock()
}

func (f *Fabric) controller(c string) *controllerHealth {
	h := f.controllers[c]
	if h == nil {
		h = &controllerHealth{}
		f.controllers[c] = h
	}
	return h
}

// TokenRefresh counts an aaaRefresh.
func (f *Fabric) TokenRefresh(ok bool) {
	f.mu.Lock()
	f.tokenRefs++
	if !ok {
		f.tokenFails++
	}
	f.mu.Unlock()
}

// SessionExpiry records when the current token lapses unless refreshed.
func (f *Fabric) SessionExpiry(t time.Time) {
	f.mu.Lock()
	f.expiry = t
	f.mu.Unlock()
}

// SocketUp records a websocket opening or closing on a controller.
func (f *Fabric) SocketUp(controller string, up bool) {
	f.mu.Lock()
	h := f.controller(controller)
	if up {
		h.connects++
	} else if h.connected {
		h.disconnects++
	}
	h.connected = up
	f.mu.Unlock()
}

// Message counts a frame read.
func (f *Fabric) Message() {
	f.mu.Lock()
	f.messages++
	f.mu.Unlock()
}

// MessageError counts a frame or object rejected, by reason.
func (f *Fabric) MessageError(reason string) {
	f.mu.Lock()
	f.msgErrors[reason]++
	f.mu.Unlock()
}

// SubscriptionUp records whether a subscription is live.
func (f *Fabric) SubscriptionUp(name string, up bool) {
	f.mu.Lock()
	if h := f.subs[name]; h != nil {
		h.up = up
	}
	f.mu.Unlock()
}

// SubscriptionRefresh counts a subscriptionRefresh call.
func (f *Fabric) SubscriptionRefresh(name string, ok bool) {
	f.mu.Lock()
	if h := f.subs[name]; h != nil {
		h.refreshes++
		if !ok {
			h.failures++
		}
	}
	f.mu.Unlock()
}

// SubscriptionSnapshot counts a subscription's snapshots after its first,
// across sessions and reloads, as resyncs.
func (f *Fabric) SubscriptionSnapshot(name string) {
	f.mu.Lock()
	if h := f.subs[name]; h != nil && f.snapshots[name] {
		h.resyncs++
	}
	f.snapshots[name] = true
	f.mu.Unlock()
}

// Objects returns the objects tracked for a class, or -1 when that cannot
// be compared with the APIC's count.
func (f *Fabric) Objects(class string) int {
	f.st.mu.RLock()
	defer f.st.mu.RUnlock()
	return f.st.count(class)
}

// LastEvent records the time of the newest event of a subscription.
func (f *Fabric) LastEvent(name string, t time.Time) {
	f.mu.Lock()
	if h := f.subs[name]; h != nil && t.After(h.lastEvent) {
		h.lastEvent = t
	}
	f.mu.Unlock()
}

// Up records whether the stream is fully up (logged in, socket open, every
// subscription live) and, once up, that the fabric is ready.
func (f *Fabric) Up(up bool) {
	f.mu.Lock()
	f.up = up
	if up {
		f.ready = true
	}
	f.mu.Unlock()
}

// isUp: the stream is up and every subscription is active (a failed
// refresh takes its subscription down until it is made again). Called with
// f.mu held.
func (f *Fabric) isUp() bool {
	if !f.up {
		return false
	}
	for _, h := range f.subs {
		if !h.up {
			return false
		}
	}
	return true
}

// Status is a fabric's stream health, for the landing page and /-/ready.
type Status struct {
	Name          string
	Up            bool // aci_up: connected and every subscription active
	Connected     bool // logged in with the socket open and every class synced once
	Ready         bool // has been up at least once: every class has its baseline
	Controller    string
	Subscribed    int // subscriptions up
	Subscriptions int
	Objects       int
	LastMessage   time.Time
}

// Status returns the fabric's stream health.
func (f *Fabric) Status() Status {
	f.mu.Lock()
	st := Status{Name: f.name, Up: f.isUp(), Connected: f.up, Ready: f.ready, Subscriptions: len(f.subs)}
	for c, h := range f.controllers {
		if h.connected {
			st.Controller = c
		}
	}
	for _, h := range f.subs {
		if h.up {
			st.Subscribed++
		}
		if h.lastEvent.After(st.LastMessage) {
			st.LastMessage = h.lastEvent
		}
	}
	f.mu.Unlock()
	f.st.mu.RLock()
	st.Objects = f.st.total
	f.st.mu.RUnlock()
	return st
}
