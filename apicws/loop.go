package apicws

import (
	"time"

	"github.com/aci-exporter/aci-exporter/event"
)

// Reasons for frames or objects rejected after decoding.
const (
	ReasonUnknownClass        = "unknown_class"
	ReasonUnknownSubscription = "unknown_subscription"
)

// loop hands snapshots and events to the sink in order. A class's events
// wait until its snapshot is in, then replay on top of it: the snapshot is
// the state at the moment its subscription started pushing, so nothing is
// lost or counted twice. It runs until the reader closes frames, so every
// frame read before the socket failed is applied.
func (s *session) loop(frames <-chan frameMsg, snaps <-chan snapshotMsg) {
	for {
		select {
		case m, ok := <-frames:
			if !ok {
				return
			}
			s.onFrame(m)
		case m := <-snaps:
			s.onSnapshot(m)
		}
	}
}

func (s *session) onFrame(m frameMsg) {
	sink := s.c.sink
	sink.Message()
	if m.reason != "" {
		sink.MessageError(m.reason)
	}
	live := make([]event.Event, 0, len(m.evs))
	for _, ev := range m.evs {
		cs := s.classes[ev.Class]
		switch {
		case cs == nil:
			sink.MessageError(ReasonUnknownClass)
		case !cs.synced:
			cs.pending = append(cs.pending, ev)
		default:
			live = s.accept(live, ev)
		}
	}
	if len(live) > 0 {
		sink.Apply(live)
	}
}

// accept appends ev if one of its subscription ids is ours, and notes the
// event time of those subscriptions.
func (s *session) accept(live []event.Event, ev event.Event) []event.Event {
	ours := false
	now := time.Now()
	for _, id := range ev.SubscriptionIDs {
		if sub := s.ids[id]; sub != nil {
			ours = true
			s.c.sink.LastEvent(sub.Name, now)
		}
	}
	if !ours {
		s.c.sink.MessageError(ReasonUnknownSubscription)
		return live
	}
	return append(live, ev)
}

func (s *session) onSnapshot(m snapshotMsg) {
	sink := s.c.sink
	s.ids[m.id] = &subState{Subscription: m.sub, id: m.id}
	sink.SubscriptionUp(m.sub.Name, true)
	if s.c.synced[m.sub.Name] {
		sink.Resynced(m.sub.Name)
	}
	s.c.synced[m.sub.Name] = true

	cs := s.classes[m.sub.Class]
	for _, o := range m.objs {
		if !cs.seen[o.DN] { // two subscriptions of a class may overlap
			cs.seen[o.DN] = true
			cs.objs = append(cs.objs, o)
		}
	}
	if cs.subs--; cs.subs > 0 {
		return
	}
	sink.Resync(m.sub.Class, cs.objs)
	live := make([]event.Event, 0, len(cs.pending))
	for _, ev := range cs.pending {
		live = s.accept(live, ev)
	}
	if len(live) > 0 {
		sink.Apply(live)
	}
	*cs = classSync{synced: true}
	for _, c := range s.classes {
		if !c.synced {
			return
		}
	}
	s.established = true
	s.upSince = time.Now()
	sink.Up(true)
}
