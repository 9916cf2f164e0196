package apicws

import (
	"time"

	"github.com/aci-exporter/aci-exporter/event"
)

// Reasons for frames or objects rejected after decoding.
const (
	ReasonUnknownClass        = "unknown_class"
	ReasonUnknownSubscription = "unknown_subscription"
	// ReasonTooLarge: a frame over the read limit; the socket is given up,
	// and the next session's resync accounts for what it held.
	ReasonTooLarge = "frame_too_large"
)

// classSync is a class being (re)subscribed: the events that arrived
// meanwhile. Its snapshot goes to the sink page by page as it is read.
type classSync struct {
	subs    int               // subscriptions of the class still without their snapshot
	newIDs  map[string]string // ids of this round's subscriptions -> names
	oldIDs  []string          // ids the round replaces
	cutoffs []string          // DNs beyond these were read after pushes started
	pending []event.Event
	// settleBy is set when every snapshot is in but old subscriptions may
	// still have frames on their way (the socket and REST are separate
	// channels: an event from before the new subscription can arrive after
	// its answer). The round finishes at the first frame that lists a new
	// id, or at settleBy.
	settleBy time.Time
}

// settleWindow bounds how long a resynced class waits for frames of its
// old subscriptions that a new subscription's answer overtook.
const settleWindow = 500 * time.Millisecond

// loop hands snapshots and events to the sink in order. While a class is
// being (re)subscribed its events wait; when its snapshot is complete the
// ones that happened before it (they list only the old subscriptions) are
// applied first, then the snapshot, then the ones after it: the snapshot is
// the state at the moment its subscription started pushing, so nothing is
// lost or counted twice. It runs until the reader closes frames, so every
// frame read before the socket failed is applied.
func (s *session) loop(frames <-chan frameMsg, ctl <-chan any) {
	settle := time.NewTicker(settleWindow / 5)
	defer settle.Stop()
	for {
		select {
		case m, ok := <-frames:
			if !ok {
				s.wrapUp()
				return
			}
			s.onFrame(m)
			s.framesDone.Add(1)
		case m := <-ctl:
			switch m := m.(type) {
			case resyncMsg:
				s.onResync(m.class)
			case subscribedMsg:
				s.onSubscribed(m)
			case pageMsg:
				s.onPage(m.sub, m.page)
			case doneMsg:
				s.onDone(m.sub)
			}
		case now := <-settle.C:
			for class, cs := range s.syncing {
				if !cs.settleBy.IsZero() && now.After(cs.settleBy) {
					s.finish(class, cs)
				}
			}
		}
	}
}

// wrapUp ends the session's rounds once the socket has given its last
// frame: a class with every snapshot in finishes (no frame can come late
// any more); one still waiting for a snapshot has what it applied of it
// undone and keeps the events its old subscriptions delivered, and the
// next session's resync does the rest.
func (s *session) wrapUp() {
	for class, cs := range s.syncing {
		if !cs.settleBy.IsZero() {
			s.finish(class, cs)
			continue
		}
		s.c.sink.DropSnapshot(class)
		if len(cs.oldIDs) == 0 {
			continue // a first round: no state to apply events to
		}
		var before []event.Event
		for _, ev := range cs.pending {
			if !listsAny(ev.SubscriptionIDs, cs.newIDs) && s.ours(ev) {
				before = append(before, ev)
			}
		}
		if len(before) > 0 {
			s.c.sink.Apply(before)
		}
	}
	s.noteEvents()
}

func (s *session) onFrame(m frameMsg) {
	sink := s.c.sink
	sink.Message()
	if m.reason != "" {
		s.reject(m.reason, m.err)
	}
	live := m.evs[:0] // filtered in place: pending keeps copies
	for _, ev := range m.evs {
		if cs := s.syncing[ev.Class]; cs != nil {
			if cs.settleBy.IsZero() || !listsAny(ev.SubscriptionIDs, cs.newIDs) {
				cs.pending = append(cs.pending, ev)
				continue
			}
			s.finish(ev.Class, cs) // the stream has passed the new subscriptions
		}
		if !s.classes[ev.Class] {
			s.reject(ReasonUnknownClass, "class "+ev.Class)
			continue
		}
		if s.ours(ev) {
			live = append(live, ev)
		}
	}
	if len(live) > 0 {
		sink.Apply(live)
	}
	s.noteEvents()
}

// ours reports whether one of the event's subscription ids is live, and
// notes the event time of those subscriptions.
func (s *session) ours(ev event.Event) bool {
	ours := false
	for _, id := range ev.SubscriptionIDs {
		if name, ok := s.ids[id]; ok {
			ours = true
			if st := stampOf(ev.Attrs); st >= s.touched[name] {
				s.touched[name] = st // an absent name reads "": touched either way
			}
			s.subEvents[name].Add(1)
		}
	}
	if !ours {
		s.reject(ReasonUnknownSubscription, "ids "+join(ev.SubscriptionIDs))
	}
	return ours
}

// noteEvents stamps the last-event time and the newest change stamp of the
// subscriptions that had events, once per batch rather than per event.
func (s *session) noteEvents() {
	if len(s.touched) == 0 {
		return
	}
	now := time.Now()
	for name, st := range s.touched {
		s.c.sink.LastEvent(name, now)
		s.newest.note(name, st)
	}
	clear(s.touched)
}

// reject counts a rejected frame or object and logs it, at most once a
// minute per reason.
func (s *session) reject(reason, detail string) {
	s.c.sink.MessageError(reason)
	now := time.Now()
	if now.Sub(s.c.logged[reason]) < time.Minute {
		return
	}
	s.c.logged[reason] = now
	s.c.log.Warn("Rejected a websocket frame (logged once a minute per reason)", "reason", reason, "detail", detail, "controller", s.controller)
}

// onResync starts a new round for a class whose subscriptions are replaced.
func (s *session) onResync(class string) {
	if prev := s.syncing[class]; prev != nil {
		s.finish(class, prev) // a round still settling: its snapshots are all in
	}
	cs := s.newClassSync(class)
	for id, name := range s.ids {
		if s.subClass[name] == class {
			cs.oldIDs = append(cs.oldIDs, id)
		}
	}
}

func (s *session) newClassSync(class string) *classSync {
	s.rounds.Add(1)
	cs := &classSync{newIDs: map[string]string{}}
	for _, sub := range s.c.cfg.Subscriptions {
		if sub.Class == class {
			cs.subs++
		}
	}
	s.syncing[class] = cs
	return cs
}

func (s *session) onSubscribed(m subscribedMsg) {
	cs := s.syncing[m.sub.Class]
	cs.newIDs[m.id] = m.sub.Name
	if m.cutoff != "" {
		cs.cutoffs = append(cs.cutoffs, m.cutoff)
	}
	s.onPage(m.sub, m.page)
}

// onPage hands a snapshot page to the sink and notes its newest stamp.
// Two subscriptions of a class may overlap; the sink keeps the first copy
// of a DN, which is the one taken when pushes started.
func (s *session) onPage(sub Subscription, p *page) {
	newest := ""
	for i := range p.objs {
		newest = max(newest, stampOf(p.objs[i].Attrs))
	}
	s.newest.note(sub.Name, newest)
	s.c.sink.Snapshot(sub.Class, p.objs)
	p.release()
}

func (s *session) onDone(sub Subscription) {
	s.c.sink.SubscriptionUp(sub.Name, true)
	s.c.sink.SubscriptionSnapshot(sub.Name)
	cs := s.syncing[sub.Class]
	if cs.subs--; cs.subs > 0 {
		return
	}
	if len(cs.oldIDs) > 0 {
		cs.settleBy = time.Now().Add(settleWindow)
		return
	}
	s.finish(sub.Class, cs)
}

// finish ends a round: the events before the snapshot, the snapshot, then
// the events after it.
func (s *session) finish(class string, cs *classSync) {
	sink := s.c.sink
	var before, after, late []event.Event
	for _, ev := range cs.pending {
		if listsAny(ev.SubscriptionIDs, cs.newIDs) {
			after = append(after, ev)
			if cs.late(ev.DN) {
				late = append(late, ev)
			}
		} else if s.ours(ev) {
			before = append(before, ev)
		}
	}
	sink.Resync(class, before, late)
	for _, id := range cs.oldIDs {
		delete(s.ids, id)
	}
	for id, name := range cs.newIDs {
		s.ids[id] = name
	}
	delete(s.syncing, class)
	s.rounds.Add(-1)
	live := after[:0]
	for _, ev := range after {
		if s.ours(ev) {
			live = append(live, ev)
		}
	}
	if len(live) > 0 {
		sink.Apply(live)
	}
	s.noteEvents()
	if len(s.syncing) == 0 && !s.established {
		s.established = true
		sink.Up(true)
	}
}

func (cs *classSync) late(dn string) bool {
	for _, c := range cs.cutoffs {
		if dn > c {
			return true
		}
	}
	return false
}

func listsAny(ids []string, set map[string]string) bool {
	for _, id := range ids {
		if _, ok := set[id]; ok {
			return true
		}
	}
	return false
}

func join(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ","
		}
		out += id
	}
	return out
}
