package apicws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aci-exporter/aci-exporter/event"
)

// Dead subscriptions. An APIC can drop a subscription while its refreshes
// still answer 200 (apic-protocol.md §3.3): its pushes just stop. Every
// probe interval each subscription is compared with the APIC in one call,
// its newest object by change stamp (with the count of its objects in the
// answer's totalCount): a change the APIC holds but the exporter never saw,
// or (unfiltered) a count that differs, makes it a suspect. A few seconds
// later a second look confirms: the subscription is dead when no event
// came for it since, the socket is alive, and the APIC still holds what it
// never pushed. An event in flight at the first look has arrived by then,
// so a healthy subscription is never made again for it.

// confirmDelay is how long after a mismatch the second look comes.
const confirmDelay = 3 * time.Second

// stampLen bounds a stored stamp; APIC stamps are 29 bytes.
const stampLen = 47

// stamp is a change stamp held without allocating: modTs, or where modTs
// stays "never" the class's own stamp (event.AltStamps). Stamps of one APIC
// share one format and offset, so they compare as text.
type stamp struct {
	n uint8
	b [stampLen]byte
}

func (st *stamp) String() string { return string(st.b[:st.n]) }

// stampOf returns an object's change stamp, or "" when it has none: its
// modTs, else the first of event.AltStamps it carries.
func stampOf(attrs []event.Attr) string {
	if mod := attrOf(attrs, "modTs"); mod != "" && mod != "never" {
		return mod
	}
	for _, name := range event.AltStamps {
		if v := attrOf(attrs, name); v != "" {
			return v
		}
	}
	return ""
}

// newest holds the newest stamp seen per subscription, from its snapshot
// and its events. The loop writes it, once per batch; the prober reads it.
type newest struct {
	mu sync.Mutex
	m  map[string]*stamp
}

func (nw *newest) note(name, v string) {
	if v == "" {
		return
	}
	nw.mu.Lock()
	if st := nw.m[name]; st != nil && st.String() < v {
		st.n = uint8(copy(st.b[:], v))
	}
	nw.mu.Unlock()
}

func (nw *newest) get(name string) string {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if st := nw.m[name]; st != nil {
		return st.String()
	}
	return ""
}

// look is what one probe saw of a subscription.
type look struct {
	at     int64  // when (UnixNano)
	events uint64 // events accepted for the subscription by then
	total  int    // the APIC's count
	newest string // the APIC's newest stamp
	behind bool   // the APIC holds a change the exporter has not seen
	// count: the count says a change was missed. Unfiltered, the APIC's
	// count differs from the objects held; filtered (the objects held
	// are the union of the class's subscriptions), it moved since the
	// last look (or the subscription's answer) while no event came.
	count bool
}

// prober holds what probes learn, and the suspects between a probe and
// its second look.
type prober struct {
	suspects map[string]look // by subscription name
	confirm  <-chan time.Time
	stamp    map[string]string // the stamp ordered by, once it is not modTs: lastTransition, or "" for none
}

// probe looks at every subscription and schedules a second look, after
// delay, at those that differ.
func (s *session) probe(ctx context.Context, p *prober, delay time.Duration) error {
	p.suspects = map[string]look{}
	if p.stamp == nil {
		p.stamp = map[string]string{}
	}
	for _, sub := range s.c.cfg.Subscriptions {
		l, ok, err := s.look(ctx, sub, p)
		if err != nil {
			return err
		}
		if ok && (l.behind || l.count) {
			p.suspects[sub.Name] = l
		}
		if ok {
			s.looked[sub.Name] = l
		}
	}
	if len(p.suspects) > 0 {
		p.confirm = time.After(delay)
		select { // a pong by then shows the socket alive
		case s.pingNow <- struct{}{}:
		default:
		}
	}
	return nil
}

// confirm takes the second look at the suspects: one still behind or off
// count, with no event for it since the first look while the socket
// delivered, is dead; its class is subscribed again.
func (s *session) confirm(ctx context.Context, p *prober) error {
	p.confirm = nil
	for _, sub := range s.c.cfg.Subscriptions {
		first, ok := p.suspects[sub.Name]
		if !ok {
			continue
		}
		now, ok, err := s.look(ctx, sub, p)
		if err != nil {
			return err
		}
		// Quiet: no event for it since, while the socket delivered and the
		// loop has applied every frame read (a busy loop may still hold
		// the event the first look missed).
		read := s.framesRead.Load()
		quiet := now.events == first.events && s.lastRead.Load() > first.at && s.framesDone.Load() >= read
		// Behind still the change seen at the first look: it would have
		// come by now.
		behind := first.behind && s.newest.get(sub.Name) < first.newest
		// A filtered count moved without an event: quiet since says dead.
		count := first.count && (now.count || sub.Filter != "")
		if ok && quiet && (behind || count) {
			s.c.log.Warn("Subscription silent while the APIC holds changes it never pushed, subscribing again",
				"subscription", sub.Name, "class", sub.Class, "apic_newest", first.newest, "newest_seen", s.newest.get(sub.Name), "apic_count", now.total)
			s.requestResubscribe(sub.Class)
		}
	}
	p.suspects = nil
	return nil
}

// look asks the APIC for a subscription's newest object and count, in one
// call, and compares them with what the exporter holds. ok is false when
// they cannot be compared (a snapshot in progress, a refused query).
func (s *session) look(ctx context.Context, sub Subscription, p *prober) (look, bool, error) {
	l := look{at: time.Now().UnixNano(), events: s.subEvents[sub.Name].Load()}
	top, total, err := s.newestObject(ctx, sub, p)
	if err != nil {
		if sessionGone(err) {
			return l, false, fmt.Errorf("probe %s: %w", sub.Name, err)
		}
		return l, false, nil
	}
	l.total, l.newest = total, stampOf(top)
	ours := s.newest.get(sub.Name)
	l.behind = cut(l.newest) > ours // stored stamps are cut to stampLen
	if sub.Filter != "" {
		prev, ok := s.looked[sub.Name]
		l.count = ok && total != prev.total && l.events == prev.events
		return l, true, nil
	}
	have := s.c.sink.Objects(sub.Class)
	if have < 0 {
		return l, false, nil
	}
	l.count = have != total
	return l, true, nil
}

func cut(stamp string) string { return stamp[:min(len(stamp), stampLen)] }

// newestObject returns the attributes of the subscription's newest object
// (nil for none) and the count of its objects. Objects that keep modTs
// "never" are ordered by their own stamp (event.AltStamps), learned at the first
// look; with none, the look compares counts. An APIC that
// refuses the order is asked for the count alone from then on: the look
// still compares counts, and says so once.
func (s *session) newestObject(ctx context.Context, sub Subscription, p *prober) ([]event.Attr, int, error) {
	attr, learned := p.stamp[sub.Name]
	if !learned {
		attr = "modTs"
	}
	top, total, err := s.probeQuery(ctx, sub, attr)
	if apiErr, ok := errors.AsType[*APIError](err); ok && attr != "" && apiErr.Status == http.StatusBadRequest {
		s.c.log.Warn("The APIC refuses to order a class by its change stamp: the dead-subscription probe compares counts only",
			"subscription", sub.Name, "class", sub.Class, "attribute", attr, "err", err)
		p.stamp[sub.Name] = ""
		return s.probeQuery(ctx, sub, "")
	}
	if err == nil && !learned && attrOf(top, "modTs") == "never" {
		p.stamp[sub.Name] = ""
		for _, name := range event.AltStamps {
			if attrOf(top, name) != "" {
				p.stamp[sub.Name] = name
				break
			}
		}
		return s.newestObject(ctx, sub, p)
	}
	return top, total, err
}

func attrOf(attrs []event.Attr, name string) string {
	for _, a := range attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// probeQuery reads a page of one of the subscription's objects, ordered
// by attr descending (none for ""), and their count.
func (s *session) probeQuery(ctx context.Context, sub Subscription, attr string) ([]event.Attr, int, error) {
	opts := []string{"page=0", "page-size=1"}
	if attr != "" {
		opts = append([]string{"order-by=" + sub.Class + "." + attr + "|desc"}, opts...)
	}
	if sub.Filter != "" {
		opts = append(opts, "query-target-filter="+escapeFilter(sub.Filter))
	}
	p, err := s.rest.get(ctx, classQuery(sub.Class, opts...))
	if err != nil {
		return nil, 0, err
	}
	defer p.release()
	var attrs []event.Attr
	if len(p.objs) > 0 {
		for _, a := range p.objs[0].Attrs {
			attrs = append(attrs, event.Attr{Name: a.Name, Value: strings.Clone(a.Value)})
		}
	}
	return attrs, p.total, nil
}
