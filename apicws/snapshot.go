package apicws

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Snapshots. A subscription's answer is the state at the moment its pushes
// start, atomically, so a class that fits in one page is exact. A larger
// class is cut into DN ranges, each subscribed on its own with its objects
// in the answer: every object then has a snapshot taken at the moment its
// own pushes start, and a resync counts exactly what changed in the gap.
// (With one subscription and further plain pages, an object changed both
// in the gap and while its page was being read could not be told apart.)

// snapshotOut hands a subscription's snapshot to the loop as it is read:
// the subscription with its answer, each later page, and the end.
type snapshotOut func(msg any) error

// subscribeWhole subscribes to the whole class. When the answer fills the
// page, the rest is read in plain keyset pages, and the subscription is
// marked for ranges from the next resync on.
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
func (s *session) subscribeRanges(ctx context.Context, sub Subscription, out snapshotOut) error {
	size := s.c.cfg.PageSize
	lower := ""
	for {
		upper, err := s.rangeEnd(ctx, sub, lower, size)
		if err != nil {
			return err
		}
		msg, err := s.subscribeQuery(ctx, sub, dnRange(sub, lower, upper), 2*size)
		if err != nil {
			return err
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
				return err
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
	return subscribedMsg{sub: sub, id: p.subID, page: p}, nil
}

// readAfter hands on, in plain keyset pages, the objects after DN from and
// up to DN to ("" for no end), each page as soon as it is read: a large
// class is never held whole.
func (s *session) readAfter(ctx context.Context, sub Subscription, from, to string, out snapshotOut) error {
	size := s.c.cfg.PageSize
	for {
		p, err := s.rest.get(ctx, s.pageQuery(sub.Class, dnRange(sub, from, to), 0, size))
		if err != nil {
			return fmt.Errorf("snapshot page: %w", err)
		}
		n := len(p.objs)
		if n == size {
			from = strings.Clone(p.objs[size-1].DN) // the page is given back
		}
		if err := out(pageMsg{sub, p}); err != nil {
			return err
		}
		if n < size {
			return nil
		}
	}
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
