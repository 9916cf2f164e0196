package apicws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// defaultSubscriptionTimeout is the APIC's, when refresh-timeout is not sent.
const defaultSubscriptionTimeout = 60 * time.Second

var errMaxLifetime = errors.New("token near its maximum lifetime: logging in again")

// refresh keeps the token and the subscriptions alive: the token at half
// its idle lifetime (as acitoolkit does), each subscription id three times
// per timeout, one call at a time round robin (early, never a burst).
// Before the token's maximum lifetime the session starts over with a
// resync. A failed subscription refresh has its class subscribed again;
// anything that says the session is gone ends it.
func (s *session) refresh(ctx context.Context, info *loginInfo) error {
	sink := s.c.sink
	tokenTick := time.NewTicker(info.refreshTimeout / 2)
	defer tokenTick.Stop()
	relogin := time.NewTimer(info.maxLifetime * 95 / 100)
	defer relogin.Stop()
	lastChance := time.Now().Add(info.maxLifetime * 99 / 100)
	subTimer := time.NewTimer(s.refreshSpacing())
	defer subTimer.Stop()
	next := 0
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-relogin.C:
			// Ending the session mid-round would lose what the round's new
			// subscriptions pushed so far: wait for the round, within the
			// token's lifetime.
			if s.rounds.Load() > 0 && time.Now().Before(lastChance) {
				relogin.Reset(50 * time.Millisecond)
				continue
			}
			return errMaxLifetime
		case <-tokenTick.C:
			fresh, err := s.rest.refresh(ctx)
			sink.TokenRefresh(err == nil)
			if err != nil {
				return fmt.Errorf("token refresh: %w", err)
			}
			sink.SessionExpiry(time.Now().Add(fresh.refreshTimeout))
		case <-subTimer.C:
			if ids := s.liveIDs(); len(ids) > 0 {
				next %= len(ids)
				if err := s.refreshSubscription(ctx, ids[next]); err != nil {
					return err
				}
				next++
			}
			subTimer.Reset(s.refreshSpacing())
		}
	}
}

// liveID is one subscription id to refresh.
type liveID struct {
	sub Subscription
	id  string
}

// liveIDs lists the ids to refresh, in configuration order.
func (s *session) liveIDs() []liveID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []liveID
	for _, sub := range s.c.cfg.Subscriptions {
		for _, id := range s.subIDs[sub.Name] {
			out = append(out, liveID{sub, id})
		}
	}
	return out
}

// refreshSpacing spreads three refreshes of every id over a timeout.
func (s *session) refreshSpacing() time.Duration {
	s.mu.Lock()
	n := 0
	for _, ids := range s.subIDs {
		n += len(ids)
	}
	s.mu.Unlock()
	return s.subscriptionTimeout() / 3 / time.Duration(max(n, len(s.c.cfg.Subscriptions)))
}

func (s *session) subscriptionTimeout() time.Duration {
	if t := s.c.cfg.RefreshTimeout; t > 0 {
		return t
	}
	return defaultSubscriptionTimeout
}

// refreshSubscription refreshes one subscription id. A refresh the APIC
// refuses (400, or an error inside a 200) costs the class new
// subscriptions and a resync; 401, 403, 405 and 5xx end the session.
func (s *session) refreshSubscription(ctx context.Context, l liveID) error {
	path := "/api/subscriptionRefresh.json?id=" + l.id
	if t := s.c.cfg.RefreshTimeout; t > 0 {
		path += "&refresh-timeout=" + strconv.Itoa(int(t.Seconds()))
	}
	_, err := s.rest.do(ctx, http.MethodGet, path, nil)
	s.c.sink.SubscriptionRefresh(l.sub.Name, err == nil)
	if err == nil {
		return nil
	}
	if sessionGone(err) {
		return fmt.Errorf("refresh subscription %s: %w", l.sub.Name, err)
	}
	s.c.log.Warn("Subscription refresh failed, subscribing again", "subscription", l.sub.Name, "err", err)
	s.requestResubscribe(l.sub.Class)
	return nil
}

// sessionGone: the APIC no longer knows the session or its socket, or
// cannot be reached; only a new login helps.
func sessionGone(err error) bool {
	apiErr, ok := errors.AsType[*APIError](err)
	if !ok {
		return true // network error
	}
	return apiErr.auth() || apiErr.Status == http.StatusMethodNotAllowed || apiErr.Status >= 500
}

// requestResubscribe asks the subscriber to make a class's subscriptions
// again. They count as down (and so does aci_up) until their snapshots are in.
func (s *session) requestResubscribe(class string) {
	s.mu.Lock()
	for _, sub := range s.c.cfg.Subscriptions {
		if sub.Class == class {
			s.subIDs[sub.Name] = nil // no more refreshes of the old ids
			s.c.sink.SubscriptionUp(sub.Name, false)
		}
	}
	s.pending[class] = true // asked twice, made once
	s.mu.Unlock()
	select {
	case s.resubs <- struct{}{}:
	default: // the subscriber has been told already
	}
}

// takePending returns the classes asked for, in configuration order.
func (s *session) takePending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, sub := range s.c.cfg.Subscriptions {
		if s.pending[sub.Class] && !slices.Contains(out, sub.Class) {
			out = append(out, sub.Class)
		}
	}
	clear(s.pending)
	return out
}

// subscribeAll makes every subscription, then serves requests to subscribe
// a class again and probes for subscriptions that died silently.
func (s *session) subscribeAll(ctx context.Context, ctl chan<- any) error {
	for _, sub := range s.c.cfg.Subscriptions {
		if err := s.subscribeOne(ctx, sub, ctl); err != nil {
			return err
		}
	}
	probe := time.NewTicker(s.c.cfg.ProbeInterval)
	defer probe.Stop()
	var p prober
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-s.resubs:
			for _, class := range s.takePending() {
				if err := s.resubscribe(ctx, class, ctl); err != nil {
					return err
				}
			}
		case <-probe.C:
			if p.confirm != nil {
				continue // a second look is due first
			}
			if err := s.probe(ctx, &p, confirmDelay); err != nil {
				return err
			}
		case <-p.confirm:
			if err := s.confirm(ctx, &p); err != nil {
				return err
			}
		}
	}
}

func (s *session) subscribeOne(ctx context.Context, sub Subscription, ctl chan<- any) error {
	emit := func(msg any) error {
		if m, ok := msg.(subscribedMsg); ok {
			s.mu.Lock()
			s.subIDs[sub.Name] = append(s.subIDs[sub.Name], m.id)
			s.mu.Unlock()
		}
		return send(ctx, ctl, msg)
	}
	var err error
	if s.c.paged[sub.Name] && !s.c.byNumber {
		err = s.subscribeRanges(ctx, sub, emit)
	} else {
		err = s.subscribeWhole(ctx, sub, emit)
	}
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", sub.Name, err)
	}
	return nil
}

func send(ctx context.Context, ctl chan<- any, msg any) error {
	select {
	case ctl <- msg:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// resubscribe replaces every subscription of a class and resyncs it.
func (s *session) resubscribe(ctx context.Context, class string, ctl chan<- any) error {
	if err := send(ctx, ctl, resyncMsg{class}); err != nil {
		return err
	}
	for _, sub := range s.c.cfg.Subscriptions {
		if sub.Class == class {
			if err := s.subscribeOne(ctx, sub, ctl); err != nil {
				return err
			}
		}
	}
	return nil
}

// escapeFilter percent-encodes only what would break the URL. APICs are
// reported to reject filters whose ( ) " , are encoded (apic-protocol.md §3.1).
var filterEscaper = strings.NewReplacer("%", "%25", " ", "%20", "&", "%26", "#", "%23", "+", "%2B")

func escapeFilter(f string) string { return filterEscaper.Replace(f) }
