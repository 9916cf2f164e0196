package apicws

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aci-exporter/aci-exporter/event"
)

// Snapshots. A subscription's answer is the state at the moment its pushes
// start, atomically, so a class that fits in one page is exact. A larger
// class is cut into DN ranges, each subscribed on its own with its objects
// in the answer: every object then has a snapshot taken at the moment its
// own pushes start, and a resync counts exactly what changed in the gap.
// (With one subscription and further plain pages, an object changed both
// in the gap and while its page was being read could not be told apart.)

// subscribeWhole subscribes to the whole class. When the answer fills the
// page, the rest is read in plain keyset pages, and the subscription is
// marked for ranges from the next resync on.
func (s *session) subscribeWhole(ctx context.Context, sub Subscription, emit func(snapshotMsg) error) error {
	size := s.c.cfg.PageSize
	msg, err := s.subscribeQuery(ctx, sub, sub.Filter, size)
	if err != nil {
		return err
	}
	if len(msg.objs) == size {
		s.c.paged[sub.Name] = true
		msg.cutoff = msg.objs[size-1].DN
		rest, err := s.readAfter(ctx, sub, msg.cutoff, "")
		if err != nil {
			return err
		}
		msg.objs = append(msg.objs, rest...)
	}
	return emit(msg)
}

// subscribeRanges subscribes to a large class range by range. A plain read
// finds where each range ends (one page of objects); the range is then
// subscribed with room for twice that, so growth meanwhile still fits.
func (s *session) subscribeRanges(ctx context.Context, sub Subscription, emit func(snapshotMsg) error) error {
	size := s.c.cfg.PageSize
	lower := ""
	for {
		p, err := s.rest.get(ctx, s.pageQuery(sub.Class, dnRange(sub, lower, ""), size))
		if err != nil {
			return fmt.Errorf("snapshot range: %w", err)
		}
		upper := ""
		if len(p.objs) == size {
			upper = p.objs[size-1].DN
		}
		msg, err := s.subscribeQuery(ctx, sub, dnRange(sub, lower, upper), 2*size)
		if err != nil {
			return err
		}
		if len(msg.objs) == 2*size { // outgrew its room: read the rest late
			msg.cutoff = msg.objs[2*size-1].DN
			rest, err := s.readAfter(ctx, sub, msg.cutoff, upper)
			if err != nil {
				return err
			}
			msg.objs = append(msg.objs, rest...)
		}
		msg.more = upper != ""
		if err := emit(msg); err != nil {
			return err
		}
		if upper == "" {
			return nil
		}
		lower = upper
	}
}

// subscribeQuery makes one subscription and returns its answer.
func (s *session) subscribeQuery(ctx context.Context, sub Subscription, filter string, size int) (snapshotMsg, error) {
	q := s.pageQuery(sub.Class, filter, size) + "&subscription=yes"
	if t := s.c.cfg.RefreshTimeout; t > 0 {
		q += "&refresh-timeout=" + strconv.Itoa(int(t.Seconds()))
	}
	p, err := s.rest.get(ctx, q)
	if err != nil {
		return snapshotMsg{}, err
	}
	if p.subID == "" {
		return snapshotMsg{}, fmt.Errorf("%w: no subscriptionId", errBadAnswer)
	}
	return snapshotMsg{sub: sub, id: p.subID, objs: p.objs}, nil
}

// readAfter reads, in plain keyset pages, the objects after DN from and up
// to DN to ("" for no end).
func (s *session) readAfter(ctx context.Context, sub Subscription, from, to string) ([]event.Object, error) {
	size := s.c.cfg.PageSize
	var objs []event.Object
	for {
		p, err := s.rest.get(ctx, s.pageQuery(sub.Class, dnRange(sub, from, to), size))
		if err != nil {
			return nil, fmt.Errorf("snapshot page: %w", err)
		}
		objs = append(objs, p.objs...)
		if len(p.objs) < size {
			return objs, nil
		}
		from = p.objs[size-1].DN
	}
}

// pageQuery is a class query for the first page of objects in DN order.
func (s *session) pageQuery(class, filter string, size int) string {
	opts := []string{"order-by=" + class + ".dn|asc", "page=0", "page-size=" + strconv.Itoa(size)}
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
