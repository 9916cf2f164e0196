package apicws

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// logBuffer collects a client's log lines.
type logBuffer struct{ buf proctest.Buffer }

func (l *logBuffer) Write(p []byte) (int, error) { return l.buf.Write(p) }

func (l *logBuffer) count(s string) int { return strings.Count(l.buf.String(), s) }

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

const refusedLog = `level=WARN msg="The APIC refuses DN filters`

// refusingFabric has 237 endpoints and 100 bridge domains, 60 of them with
// arpFlood=yes: with pages of 40, both classes need paging.
func refusingFabric(t *testing.T, refuse bool) *apicsim.Sim {
	sim := newSim(t, apicsim.Config{RefuseComparisons: refuse})
	for i := range 237 {
		sim.Create("fvCEp", fmt.Sprintf("uni/tn-a/ap-p/epg-e/cep-00:00:00:00:%02X:%02X", i/256, i%256), map[string]string{})
	}
	for i := range 100 {
		sim.Create("fvBD", fmt.Sprintf("uni/tn-a/BD-%03d", i), map[string]string{"arpFlood": map[bool]string{true: "yes", false: "no"}[i%5 < 3]})
	}
	return sim
}

var refusingSubs = []Subscription{{Class: "fvCEp"}, {Name: "flooding", Class: "fvBD", Filter: `eq(fvBD.arpFlood,"yes")`}}

// An APIC that answers the first snapshot's keyset page with 400: the
// page-0 subscriptions stay, the rest is read by page number (with the
// subscription's own filter), and the client says so once. It remembers:
// resyncs make one whole subscription per class even once the APIC would
// take DN filters again.
func TestClientPagesByNumberWhereDNFiltersAreRefused(t *testing.T) {
	sim := refusingFabric(t, true)
	var log logBuffer
	sink, _ := startClient(t, sim, Config{PageSize: 40, Subscriptions: refusingSubs, Logger: log.logger()})
	eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })
	if got := sim.Status().Subscriptions; got != 2 {
		t.Errorf("%d subscriptions, want one per class", got)
	}
	if n := sink.Objects("fvCEp"); n != 237 {
		t.Errorf("fvCEp: %d objects, want 237", n)
	}
	if n := sink.Objects("fvBD"); n != 60 {
		t.Errorf("fvBD: %d objects, want the 60 that match the filter", n)
	}

	sim.SetRefuseComparisons(false)
	before := sim.Status().Subscriptions
	sim.DropSockets(apicsim.CloseAbrupt)
	sim.Create("fvCEp", "uni/tn-a/ap-p/epg-e/cep-00:00:00:00:01:FF", map[string]string{})
	eventually(t, "resync", func() bool {
		return sink.read(func(r *recSink) bool { return r.up && r.resynced["fvCEp"] == 1 && r.resynced["flooding"] == 1 })
	})
	if n := sink.Objects("fvCEp"); n != 238 {
		t.Errorf("fvCEp after the resync: %d objects, want 238", n)
	}
	if got := sim.Status().Subscriptions - before; got != 2 {
		t.Errorf("the resync made %d subscriptions, want one per class (no DN ranges)", got)
	}
	if n := log.count(refusedLog); n != 1 {
		t.Errorf("the refusal was logged %d times, want once", n)
	}
	if n := log.count("unsupported operator gt in query-target-filter"); n != 1 {
		t.Errorf("the log does not quote the APIC's text once:\n%s", log.buf.String())
	}
}

// An APIC that starts refusing DN filters between two syncs refuses the
// resync's first range subscription, which made no subscription: the
// class is subscribed whole instead.
func TestClientFallsBackWhenRangesAreRefused(t *testing.T) {
	sim := refusingFabric(t, false)
	var log logBuffer
	sink, _ := startClient(t, sim, Config{PageSize: 40, Subscriptions: refusingSubs, Logger: log.logger()})
	eventually(t, "up", func() bool { return sink.read(func(r *recSink) bool { return r.up }) })

	sim.SetRefuseComparisons(true)
	before := sim.Status().Subscriptions
	sim.DropSockets(apicsim.CloseAbrupt)
	sim.Create("fvCEp", "uni/tn-a/ap-p/epg-e/cep-00:00:00:00:01:FF", map[string]string{})
	sim.Create("fvBD", "uni/tn-a/BD-new", map[string]string{"arpFlood": "yes"})
	eventually(t, "resync", func() bool {
		return sink.read(func(r *recSink) bool { return r.up && r.resynced["fvCEp"] == 1 && r.resynced["flooding"] == 1 })
	})
	if n, m := sink.Objects("fvCEp"), sink.Objects("fvBD"); n != 238 || m != 61 {
		t.Errorf("after the resync: %d fvCEp and %d fvBD, want 238 and 61", n, m)
	}
	if got := sim.Status().Subscriptions - before; got != 2 {
		t.Errorf("the resync made %d subscriptions, want one whole one per class", got)
	}
	if n := log.count(refusedLog); n != 1 {
		t.Errorf("the refusal was logged %d times, want once", n)
	}
}

// A 400 to a query without DN bounds is no refusal of them: a
// subscription whose own filter the APIC refuses fails as any other, and
// the client keeps trying without falling back.
func TestClientFailsOnUnrelated400(t *testing.T) {
	sim := refusingFabric(t, true)
	var log logBuffer
	sink, _ := startClient(t, sim, Config{PageSize: 40, Logger: log.logger(),
		Subscriptions: []Subscription{{Class: "fvBD", Filter: `ge(fvBD.arpFlood,"yes")`}}})
	eventually(t, "retries", func() bool {
		return sink.read(func(r *recSink) bool { return r.logins[sim.URLs()[0]][0] >= 3 })
	})
	if n := log.count("unsupported operator ge in query-target-filter"); n < 2 {
		t.Errorf("the failed subscription is not logged at each attempt:\n%s", log.buf.String())
	}
	if sink.read(func(r *recSink) bool { return r.up }) || sink.Objects("fvBD") != -1 || log.count(refusedLog) != 0 || sim.Status().Subscriptions != 0 {
		t.Errorf("a refused filter of the user's own was taken for refused DN filters:\n%s", log.buf.String())
	}
}

// By number, pages shift under churn: an object created before the page
// being read pushes one already read into it, which is dropped; objects
// deleted before it pull unread ones back into pages already read, which
// are missed (the README's limitation). Keyset pages do neither.
func TestPagerByNumberUnderChurn(t *testing.T) {
	sim := newSim(t, apicsim.Config{RefuseComparisons: true})
	dn := func(i int) string { return fmt.Sprintf("uni/tn-a/ap-p/epg-e/cep-00:00:00:00:00:%02X", i) }
	for i := 1; i <= 10; i++ {
		sim.Create("fvCEp", dn(i), map[string]string{})
	}
	c := New(Config{PageSize: 3, Controllers: sim.URLs(), TLS: sim.ClientTLSConfig()}, newRecSink())
	defer c.http.CloseIdleConnections()
	s := newSession(c, sim.URLs()[0])
	if _, err := s.rest.login(t.Context(), "admin", "password"); err != nil {
		t.Fatal(err)
	}
	p := &pager{s: s, sub: Subscription{Name: "fvCEp", Class: "fvCEp"}, last: dn(3), page: 1}
	read := func(want []string, wantDone bool) {
		t.Helper()
		pg, done, err := p.next(t.Context())
		var got []string
		if pg != nil {
			for _, o := range pg.objs {
				got = append(got, o.DN)
			}
			pg.release()
		}
		if err != nil || done != wantDone || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("page %d: %v done=%v err=%v, want %v done=%v", p.page, got, done, err, want, wantDone)
		}
	}
	read([]string{dn(4), dn(5), dn(6)}, false) // the keyset page refused: page 1
	if !c.byNumber {
		t.Fatal("the client does not remember that DN filters are refused")
	}
	sim.Create("fvCEp", dn(0), map[string]string{})
	read([]string{dn(7), dn(8)}, false) // dn(6) shifted in again
	sim.Delete(dn(1))
	sim.Delete(dn(2))
	read(nil, true) // dn(9) and dn(10) shifted back into page 2: missed
}
