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

// Snapshots. A subscription's answer is the state at the moment its pushes
// start, atomically, so a class that fits in one page is exact. A larger
// class is cut into DN ranges, each subscribed on its own with its objects
// in the answer: every object then has a snapshot taken at the moment its
// own pushes start, and a resync counts exactly what changed in the gap.
// (With one subscription and further plain pages, an object changed both
// in the gap and while its page was being read could not be told apart.)
//
// An APIC that refuses DN filters (an older release, a proxy in front of
// it) answers them with 400. The client then pages by number, with one
// subscription per class: page=1,2,... after the subscription's page 0.
// Such pages shift under churn (see pager), so that mode is not exact.

// snapshotOut hands a subscription's snapshot to the loop as it is read:
// the subscription with its answer, each later page, and the end.
type snapshotOut func(msg any) error

// subscribeWhole subscribes to the whole class. When the answer fills the
// page, the rest is read in plain pages, and the subscription is marked
// for ranges from the next resync on.
func (s *session) subscribeWhole(ctx context.Context, sub Subscription, out snapshotOut) error {
	size := s.c.cfg.PageSize
	msg, err := s.subscribeQuery(ctx, sub, sub.Filter, size)
	if err != nil {
		return err
	}
	full := len(msg.page.objs) == size
	if full {
		s.c.paged[sub.Name] = true
		msg.cutoff = strings.Clone(msg.page.objs[size-1].DN) // the page is given back
	}
	if err := out(msg); err != nil {
		return err
	}
	if full {
		if err := s.readAfter(ctx, sub, msg.cutoff, "", out); err != nil {
			return err
		}
	}
	return out(doneMsg{sub})
}

// subscribeRanges subscribes to a large class range by range. A plain read
// finds where each range ends (a page of objects on); the range is then
// subscribed with room for twice that, so growth meanwhile still fits.
// A range the APIC refuses makes one whole subscription instead (the
// refused request made none).
func (s *session) subscribeRanges(ctx context.Context, sub Subscription, out snapshotOut) error {
	size := s.c.cfg.PageSize
	lower := ""
	whole := func(err error, bounded bool) error {
		if bounded && s.refusesDNFilters(err) {
			return s.subscribeWhole(ctx, sub, out)
		}
		return err
	}
	for {
		upper, err := s.rangeEnd(ctx, sub, lower, size)
		if err != nil {
			return whole(err, lower != "")
		}
		msg, err := s.subscribeQuery(ctx, sub, dnRange(sub, lower, upper), 2*size)
		if err != nil {
			return whole(err, lower != "" || upper != "")
		}
		full := len(msg.page.objs) == 2*size // outgrew its room: read the rest late
		if full {
			msg.cutoff = strings.Clone(msg.page.objs[2*size-1].DN) // the page is given back
		}
		if err := out(msg); err != nil {
			return err
		}
		if full {
			if err := s.readAfter(ctx, sub, msg.cutoff, upper, out); err != nil {
				return whole(err, true)
			}
		}
		if upper == "" {
			return out(doneMsg{sub})
		}
		lower = upper
	}
}

// rangeEnd returns the DN of the size-th object after lower, or "" when
// fewer follow. It asks for that one object (page size-1 of pages of one),
// not the page before it, which the subscription reads anyway. A page past
// the end is an empty imdata, which clients that page by totalCount (and
// so ask for one page too many) rely on.
func (s *session) rangeEnd(ctx context.Context, sub Subscription, lower string, size int) (string, error) {
	p, err := s.rest.get(ctx, s.pageQuery(sub.Class, dnRange(sub, lower, ""), size-1, 1))
	if err != nil {
		return "", fmt.Errorf("snapshot range: %w", err)
	}
	defer p.release()
	if len(p.objs) == 0 {
		return "", nil
	}
	return strings.Clone(p.objs[0].DN), nil
}

// subscribeQuery makes one subscription and returns it with its answer.
func (s *session) subscribeQuery(ctx context.Context, sub Subscription, filter string, size int) (subscribedMsg, error) {
	q := s.pageQuery(sub.Class, filter, 0, size) + "&subscription=yes"
	if t := s.c.cfg.RefreshTimeout; t > 0 {
		q += "&refresh-timeout=" + strconv.Itoa(int(t.Seconds()))
	}
	p, err := s.rest.get(ctx, q)
	if err != nil {
		return subscribedMsg{}, err
	}
	if p.subID == "" {
		return subscribedMsg{}, fmt.Errorf("%w: no subscriptionId", errBadAnswer)
	}
	if filter == sub.Filter { // the whole subscription: the probe's first baseline
		s.looked[sub.Name] = look{at: time.Now().UnixNano(), events: s.subEvents[sub.Name].Load(), total: p.total}
	} else {
		delete(s.looked, sub.Name)
	}
	return subscribedMsg{sub: sub, id: p.subID, page: p}, nil
}

// readAfter hands on, in plain pages, the objects after DN from (the last
// of a first page) and up to DN to ("" for no end), each page as soon as
// it is read: a large class is never held whole.
func (s *session) readAfter(ctx context.Context, sub Subscription, from, to string, out snapshotOut) error {
	pg := &pager{s: s, sub: sub, last: from, to: to, page: 1}
	for {
		p, done, err := pg.next(ctx)
		if err != nil {
			return fmt.Errorf("snapshot page: %w", err)
		}
		if err := out(pageMsg{sub, p}); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// pager reads the pages of a class that follow a first one, in DN order:
// by keyset (gt(dn) after the last DN read), or by page number where the
// APIC refuses DN filters. Keyset pages are exact whatever changes before
// them; numbered pages shift: an object created before the page being read
// pushes one already read into it (dropped here), and one deleted pulls an
// unread one back into a page already read (missed until a later resync).
type pager struct {
	s    *session
	sub  Subscription
	last string // the last DN read
	to   string // the DN to stop at, "" for none; ranges exist only by keyset
	page int    // the number of the next page: keyset pages are full ones too
}

// next reads a page; done says it was the last.
func (p *pager) next(ctx context.Context) (pg *page, done bool, err error) {
	s, size := p.s, p.s.c.cfg.PageSize
	if s.c.byNumber && p.to == "" {
		pg, err = s.rest.get(ctx, s.pageQuery(p.sub.Class, p.sub.Filter, p.page, size))
	} else {
		pg, err = s.rest.get(ctx, s.pageQuery(p.sub.Class, dnRange(p.sub, p.last, p.to), 0, size))
		if err != nil && p.to == "" && s.refusesDNFilters(err) {
			return p.next(ctx) // by number from here on
		}
	}
	if err != nil {
		return nil, false, err
	}
	p.page++
	done = len(pg.objs) < size
	for len(pg.objs) > 0 && pg.objs[0].DN <= p.last {
		pg.objs = pg.objs[1:] // shifted in from the page before
	}
	if n := len(pg.objs); n > 0 {
		p.last = strings.Clone(pg.objs[n-1].DN) // the page is given back
	}
	return pg, done, nil
}

// refusesDNFilters reports whether err, the answer to a query with DN
// bounds, says the APIC refuses such filters: a 400 does, as the same query
// without the bounds was accepted before it. The client then pages large
// classes by number; the first time, it says so with the APIC's text.
func (s *session) refusesDNFilters(err error) bool {
	apiErr, ok := errors.AsType[*APIError](err)
	if !ok || apiErr.Status != http.StatusBadRequest {
		return false
	}
	if !s.c.byNumber {
		s.c.byNumber = true
		s.c.log.Warn("The APIC refuses DN filters: classes larger than a page are read by page number with one subscription each, and their snapshots are no longer exact under churn",
			"controller", s.controller, "err", err)
	}
	return true
}

// pageQuery is a class query for a page of objects in DN order.
func (s *session) pageQuery(class, filter string, page, size int) string {
	opts := []string{"order-by=" + class + ".dn|asc", "page=" + strconv.Itoa(page), "page-size=" + strconv.Itoa(size)}
	if filter != "" {
		opts = append(opts, "query-target-filter="+escapeFilter(filter))
	}
	return classQuery(class, opts...)
}

// dnRange adds DN bounds, after lower and up to upper ("" for none), to the
// subscription's own filter.
func dnRange(sub Subscription, lower, upper string) string {
	var parts []string
	if sub.Filter != "" {
		parts = append(parts, sub.Filter)
	}
	if lower != "" {
		parts = append(parts, fmt.Sprintf(`gt(%s.dn,"%s")`, sub.Class, lower))
	}
	if upper != "" {
		parts = append(parts, fmt.Sprintf(`le(%s.dn,"%s")`, sub.Class, upper))
	}
	if len(parts) > 1 {
		return "and(" + strings.Join(parts, ",") + ")"
	}
	return strings.Join(parts, "")
}
