package apicws

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aci-exporter/aci-exporter/event"
)

// defaultSubscriptionTimeout is the APIC's, when refresh-timeout is not sent.
const defaultSubscriptionTimeout = 60 * time.Second

var errMaxLifetime = errors.New("token near its maximum lifetime: logging in again")

// maintain subscribes every subscription, sends each snapshot to the loop,
// then keeps the token and the subscriptions refreshed, early and spread
// out. It returns the error that ends the session.
func (s *session) maintain(ctx context.Context, info *loginInfo, snaps chan<- snapshotMsg) error {
	sink := s.c.sink
	subs := s.c.cfg.Subscriptions
	ids := make([]string, len(subs))
	for i, sub := range subs {
		id, objs, err := s.subscribe(ctx, sub)
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", sub.Name, err)
		}
		ids[i] = id
		select {
		case snaps <- snapshotMsg{sub: sub, id: id, objs: objs}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}

	// A token is refreshed at half its idle lifetime (as acitoolkit does);
	// before its maximum lifetime the session starts over with a resync.
	tokenTick := time.NewTicker(info.refreshTimeout / 2)
	defer tokenTick.Stop()
	relogin := time.NewTimer(info.maxLifetime * 95 / 100)
	defer relogin.Stop()
	// Each subscription is refreshed three times per timeout, one call per
	// tick, round robin: early, and never a burst.
	timeout := s.c.cfg.RefreshTimeout
	if timeout <= 0 {
		timeout = defaultSubscriptionTimeout
	}
	subTick := time.NewTicker(timeout / 3 / time.Duration(len(subs)))
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
			err := s.refreshSubscription(ctx, ids[next])
			sink.SubscriptionRefresh(sub.Name, err == nil)
			if err != nil {
				return fmt.Errorf("refresh subscription %s: %w", sub.Name, err)
			}
			next = (next + 1) % len(subs)
		}
	}
}

func (s *session) refreshSubscription(ctx context.Context, id string) error {
	path := "/api/subscriptionRefresh.json?id=" + id
	if t := s.c.cfg.RefreshTimeout; t > 0 {
		path += "&refresh-timeout=" + strconv.Itoa(int(t.Seconds()))
	}
	_, err := s.rest.do(ctx, "GET", path, nil)
	return err
}

// subscribe subscribes to a class and reads its snapshot. The first page
// comes with the subscription, atomically: it is the state at the moment
// pushes start. Further pages are read by DN (keyset), which stays stable
// while objects come and go.
func (s *session) subscribe(ctx context.Context, sub Subscription) (string, []event.Object, error) {
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
		return "", nil, err
	}
	if p.subID == "" {
		return "", nil, fmt.Errorf("%w: no subscriptionId", errBadAnswer)
	}
	objs := p.objs
	for last := p.objs; len(last) == size; {
		after := fmt.Sprintf(`gt(%s.dn,"%s")`, sub.Class, last[len(last)-1].DN)
		if sub.Filter != "" {
			after = "and(" + sub.Filter + "," + after + ")"
		}
		next, err := s.rest.get(ctx, classQuery(sub.Class, "order-by="+sub.Class+".dn|asc", "page=0",
			"page-size="+strconv.Itoa(size), "query-target-filter="+escapeFilter(after)))
		if err != nil {
			return "", nil, fmt.Errorf("snapshot page: %w", err)
		}
		objs = append(objs, next.objs...)
		last = next.objs
	}
	return p.subID, objs, nil
}

// escapeFilter percent-encodes only what would break the URL. APICs are
// reported to reject filters whose ( ) " , are encoded (apic-protocol.md §3.1).
var filterEscaper = strings.NewReplacer("%", "%25", " ", "%20", "&", "%26", "#", "%23", "+", "%2B")

func escapeFilter(f string) string { return filterEscaper.Replace(f) }
