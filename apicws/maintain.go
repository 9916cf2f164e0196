package apicws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// defaultSubscriptionTimeout is the APIC's, when refresh-timeout is not sent.
const defaultSubscriptionTimeout = 60 * time.Second

var errMaxLifetime = errors.New("token near its maximum lifetime: logging in again")

// refresh keeps the token and the subscriptions alive: the token at half
// its idle lifetime (as acitoolkit does), each subscription three times per
// timeout, one call per tick round robin (early, never a burst). Before the
// token's maximum lifetime the session starts over with a resync. A failed
// subscription refresh has its class subscribed again; anything that says
// the session is gone ends it.
func (s *session) refresh(ctx context.Context, info *loginInfo) error {
	sink := s.c.sink
	subs := s.c.cfg.Subscriptions
	tokenTick := time.NewTicker(info.refreshTimeout / 2)
	defer tokenTick.Stop()
	relogin := time.NewTimer(info.maxLifetime * 95 / 100)
	defer relogin.Stop()
	subTick := time.NewTicker(s.subscriptionTimeout() / 3 / time.Duration(len(subs)))
	defer subTick.Stop()
	next := 0
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-relogin.C:
			return errMaxLifetime
		case <-tokenTick.C:
			fresh, err := s.rest.refresh(ctx)
			sink.TokenRefresh(err == nil)
			if err != nil {
				return fmt.Errorf("token refresh: %w", err)
			}
			sink.SessionExpiry(time.Now().Add(fresh.refreshTimeout))
		case <-subTick.C:
			sub := subs[next]
			next = (next + 1) % len(subs)
			if err := s.refreshSubscription(ctx, sub); err != nil {
				return err
			}
		}
	}
}

func (s *session) subscriptionTimeout() time.Duration {
	if t := s.c.cfg.RefreshTimeout; t > 0 {
		return t
	}
	return defaultSubscriptionTimeout
}

// refreshSubscription refreshes one subscription, if it is made. A refresh
// the APIC refuses (400, or an error inside a 200) costs the class a new
// subscription and a resync; 401, 403 and 405 end the session.
func (s *session) refreshSubscription(ctx context.Context, sub Subscription) error {
	s.mu.Lock()
	id := s.subIDs[sub.Name]
	s.mu.Unlock()
	if id == "" {
		return nil // being made
	}
	path := "/api/subscriptionRefresh.json?id=" + id
	if t := s.c.cfg.RefreshTimeout; t > 0 {
		path += "&refresh-timeout=" + strconv.Itoa(int(t.Seconds()))
	}
	_, err := s.rest.do(ctx, http.MethodGet, path, nil)
	s.c.sink.SubscriptionRefresh(sub.Name, err == nil)
	if err == nil {
		return nil
	}
	if sessionGone(err) {
		return fmt.Errorf("refresh subscription %s: %w", sub.Name, err)
	}
	s.c.log.Warn("Subscription refresh failed, subscribing again", "subscription", sub.Name, "err", err)
	s.c.sink.SubscriptionUp(sub.Name, false)
	s.requestResubscribe(sub.Class)
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

func (s *session) requestResubscribe(class string) {
	s.mu.Lock()
	for _, sub := range s.c.cfg.Subscriptions {
		if sub.Class == class {
			s.subIDs[sub.Name] = "" // no more refreshes of the old ids
		}
	}
	s.mu.Unlock()
	select {
	case s.resubs <- class:
	default: // already asked
	}
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
	suspects := map[string]uint64{} // class -> events accepted at the last probe
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case class := <-s.resubs:
			if err := s.resubscribe(ctx, class, ctl); err != nil {
				return err
			}
		case <-probe.C:
			if err := s.probe(ctx, suspects); err != nil {
				return err
			}
		}
	}
}

func (s *session) subscribeOne(ctx context.Context, sub Subscription, ctl chan<- any) error {
	msg, err := s.subscribe(ctx, sub)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", sub.Name, err)
	}
	s.mu.Lock()
	s.subIDs[sub.Name] = msg.id
	s.mu.Unlock()
	return send(ctx, ctl, msg)
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

// probe compares each unfiltered class's object count with the APIC's. A
// subscription that the APIC dropped without telling (its refreshes still
// answer 200) shows as a count that stays wrong while no event arrives:
// two probes in a row like that subscribe the class again.
func (s *session) probe(ctx context.Context, suspects map[string]uint64) error {
	for _, class := range s.probedClasses() {
		p, err := s.rest.get(ctx, classQuery(class, "page=0", "page-size=1"))
		if err != nil {
			if sessionGone(err) {
				return fmt.Errorf("probe %s: %w", class, err)
			}
			continue
		}
		have := s.c.sink.Objects(class)
		seen := s.events[class].Load()
		if have < 0 || have == p.total {
			delete(suspects, class)
			continue
		}
		if last, ok := suspects[class]; ok && last == seen {
			s.c.log.Warn("Subscription silent while the APIC's count differs, subscribing again", "class", class, "apic", p.total, "tracked", have)
			delete(suspects, class)
			s.requestResubscribe(class)
			continue
		}
		suspects[class] = seen
	}
	return nil
}

// probedClasses are the classes with an unfiltered subscription: their
// tracked objects must match the APIC's class count.
func (s *session) probedClasses() []string {
	var out []string
	for _, sub := range s.c.cfg.Subscriptions {
		if sub.Filter == "" && !contains(out, sub.Class) {
			out = append(out, sub.Class)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// subscribe subscribes to a class and reads its snapshot. The first page
// comes with the subscription, atomically: it is the state at the moment
// pushes start. Further pages are read by DN (keyset), which stays stable
// while objects come and go.
func (s *session) subscribe(ctx context.Context, sub Subscription) (snapshotMsg, error) {
	size := s.c.cfg.PageSize
	opts := []string{"subscription=yes", "order-by=" + sub.Class + ".dn|asc", "page=0", "page-size=" + strconv.Itoa(size)}
	if t := s.c.cfg.RefreshTimeout; t > 0 {
		opts = append(opts, "refresh-timeout="+strconv.Itoa(int(t.Seconds())))
	}
	if sub.Filter != "" {
		opts = append(opts, "query-target-filter="+escapeFilter(sub.Filter))
	}
	p, err := s.rest.get(ctx, classQuery(sub.Class, opts...))
	if err != nil {
		return snapshotMsg{}, err
	}
	if p.subID == "" {
		return snapshotMsg{}, fmt.Errorf("%w: no subscriptionId", errBadAnswer)
	}
	msg := snapshotMsg{sub: sub, id: p.subID, objs: p.objs}
	if len(p.objs) == size {
		msg.cutoff = p.objs[size-1].DN
	}
	for last := p.objs; len(last) == size; {
		after := fmt.Sprintf(`gt(%s.dn,"%s")`, sub.Class, last[len(last)-1].DN)
		if sub.Filter != "" {
			after = "and(" + sub.Filter + "," + after + ")"
		}
		next, err := s.rest.get(ctx, classQuery(sub.Class, "order-by="+sub.Class+".dn|asc", "page=0",
			"page-size="+strconv.Itoa(size), "query-target-filter="+escapeFilter(after)))
		if err != nil {
			return snapshotMsg{}, fmt.Errorf("snapshot page: %w", err)
		}
		msg.objs = append(msg.objs, next.objs...)
		last = next.objs
	}
	return msg, nil
}

// escapeFilter percent-encodes only what would break the URL. APICs are
// reported to reject filters whose ( ) " , are encoded (apic-protocol.md §3.1).
var filterEscaper = strings.NewReplacer("%", "%25", " ", "%20", "&", "%26", "#", "%23", "+", "%2B")

func escapeFilter(f string) string { return filterEscaper.Replace(f) }
