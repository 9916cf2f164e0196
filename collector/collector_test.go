package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aci-exporter/aci-exporter/event"
)

func obj(dn string, attrs ...string) event.Object {
	o := event.Object{DN: dn, Tenant: tenantOf(dn)}
	for i := 0; i+1 < len(attrs); i += 2 {
		o.Attrs = append(o.Attrs, event.Attr{Name: attrs[i], Value: attrs[i+1]})
	}
	return o
}

func ev(status event.Status, class, dn string, attrs ...string) event.Event {
	o := obj(dn, attrs...)
	return event.Event{SubscriptionIDs: []string{"1"}, Class: class, DN: dn, Tenant: o.Tenant, Status: status, Attrs: o.Attrs}
}

// resync hands a whole snapshot over in one page, with no events around it.
func resync(f *Fabric, class string, objs []event.Object) {
	f.Snapshot(class, objs)
	f.Resync(class, nil, nil)
}

// tenantOf is enough for these DNs; the real parser lives in apicws.
func tenantOf(dn string) string {
	rest, ok := strings.CutPrefix(dn, "uni/tn-")
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(rest, "/")
	return t
}

// newTestFabric returns a fabric and what /metrics would serve of it.
func newTestFabric() (*Fabric, prometheus.Gatherer) {
	f := NewFabric("prod", []string{"https://apic1"}, []Subscription{{"fvTenant", "fvTenant"}, {"fvBD", "fvBD"}}, []string{"invalid_json"}, 0)
	c := New()
	c.Add(f)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return f, Gatherer(reg, c)
}

func countFamily(t *testing.T, g prometheus.Gatherer, name string) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if name == "" || mf.GetName() == name {
			n += len(mf.Metric)
		}
	}
	return n
}

func TestBaselineThenLiveThenResync(t *testing.T) {
	f, reg := newTestFabric()
	resync(f, "fvBD", []event.Object{
		obj("uni/tn-a/BD-keep", "modTs", "t1"),
		obj("uni/tn-a/BD-mod", "modTs", "t1"),
		obj("uni/tn-b/BD-gone", "modTs", "t1"),
	})
	f.Apply([]event.Event{
		ev(event.StatusCreated, "fvBD", "uni/tn-b/BD-new", "modTs", "t2", "name", "new"),
		ev(event.StatusModified, "fvBD", "uni/tn-a/BD-keep", "modTs", "t3"),
		ev(event.StatusDeleted, "fvBD", "uni/tn-b/BD-new", "modTs", "t4"),
	})
	// Resync: keep unchanged (its live modification already counted and
	// folded into the fingerprint), mod modified, gone deleted, born created.
	resync(f, "fvBD", []event.Object{
		obj("uni/tn-a/BD-keep", "modTs", "t3"),
		obj("uni/tn-a/BD-mod", "modTs", "t5"),
		obj("uni/tn-c/BD-born", "modTs", "t5"),
	})
	want := `
# HELP aci_objects Objects of the class that exist now.
# TYPE aci_objects gauge
aci_objects{class="fvBD",fabric="prod",tenant="a"} 2
aci_objects{class="fvBD",fabric="prod",tenant="c"} 1
# HELP aci_object_changes_total Object changes seen, live or recovered by a resync.
# TYPE aci_object_changes_total counter
aci_object_changes_total{class="fvBD",fabric="prod",status="created",tenant="a"} 0
aci_object_changes_total{class="fvBD",fabric="prod",status="created",tenant="b"} 1
aci_object_changes_total{class="fvBD",fabric="prod",status="created",tenant="c"} 1
aci_object_changes_total{class="fvBD",fabric="prod",status="deleted",tenant="a"} 0
aci_object_changes_total{class="fvBD",fabric="prod",status="deleted",tenant="b"} 2
aci_object_changes_total{class="fvBD",fabric="prod",status="deleted",tenant="c"} 0
aci_object_changes_total{class="fvBD",fabric="prod",status="modified",tenant="a"} 2
aci_object_changes_total{class="fvBD",fabric="prod",status="modified",tenant="b"} 0
aci_object_changes_total{class="fvBD",fabric="prod",status="modified",tenant="c"} 0
# HELP aci_object_resync_changes_total Object changes recovered by a resync diff instead of seen live.
# TYPE aci_object_resync_changes_total counter
aci_object_resync_changes_total{class="fvBD",fabric="prod",status="created"} 1
aci_object_resync_changes_total{class="fvBD",fabric="prod",status="deleted"} 1
aci_object_resync_changes_total{class="fvBD",fabric="prod",status="modified"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "aci_objects", "aci_object_changes_total", "aci_object_resync_changes_total"); err != nil {
		t.Fatal(err)
	}
}

// TestSeriesAtZeroFromTheStart: every series whose labels are known exists
// at 0 before its first event, so rate() counts that event and absent()
// rules do not fire on a healthy fabric. The change counters of a class
// exist from its first snapshot on, per status; only the two timestamps
// wait for a time to report.
func TestSeriesAtZeroFromTheStart(t *testing.T) {
	f, reg := newTestFabric()
	resync(f, "fvTenant", []event.Object{obj("uni/tn-a"), obj("uni/infra")})
	want := `
# HELP aci_object_changes_total Object changes seen, live or recovered by a resync.
# TYPE aci_object_changes_total counter
aci_object_changes_total{class="fvTenant",fabric="prod",status="created",tenant=""} 0
aci_object_changes_total{class="fvTenant",fabric="prod",status="created",tenant="a"} 0
aci_object_changes_total{class="fvTenant",fabric="prod",status="deleted",tenant=""} 0
aci_object_changes_total{class="fvTenant",fabric="prod",status="deleted",tenant="a"} 0
aci_object_changes_total{class="fvTenant",fabric="prod",status="modified",tenant=""} 0
aci_object_changes_total{class="fvTenant",fabric="prod",status="modified",tenant="a"} 0
# HELP aci_object_resync_changes_total Object changes recovered by a resync diff instead of seen live.
# TYPE aci_object_resync_changes_total counter
aci_object_resync_changes_total{class="fvTenant",fabric="prod",status="created"} 0
aci_object_resync_changes_total{class="fvTenant",fabric="prod",status="deleted"} 0
aci_object_resync_changes_total{class="fvTenant",fabric="prod",status="modified"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "aci_object_changes_total", "aci_object_resync_changes_total"); err != nil {
		t.Fatal(err)
	}
	// fvBD has had no snapshot: no series for it yet. Every other family
	// is there, one series per fabric, controller, subscription or reason.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		got[mf.GetName()] = len(mf.Metric)
	}
	for name, n := range map[string]int{
		"aci_objects": 2, "aci_object_changes_total": 6, "aci_object_resync_changes_total": 3,
		"aci_objects_limit_reached": 1, "aci_objects_over_limit_total": 1, "aci_up": 1,
		"aci_subscription_up": 2, "aci_subscription_refreshes_total": 2, "aci_subscription_refresh_failures_total": 2, "aci_resyncs_total": 2,
		"aci_websocket_connected": 1, "aci_websocket_connects_total": 1, "aci_websocket_disconnects_total": 1,
		"aci_websocket_messages_total": 1, "aci_websocket_message_errors_total": 1,
		"aci_logins_total": 1, "aci_login_failures_total": 1, "aci_token_refreshes_total": 1, "aci_token_refresh_failures_total": 1,
		"aci_subscription_last_event_timestamp_seconds": 0, "aci_session_expiry_timestamp_seconds": 0,
	} {
		if got[name] != n {
			t.Errorf("%s: %d series, want %d", name, got[name], n)
		}
	}
}

func TestFaultFingerprintFollowsLifecycle(t *testing.T) {
	f, _ := newTestFabric()
	dn := "uni/tn-a/BD-x/fault-F1"
	resync(f, "faultInst", []event.Object{obj(dn, "modTs", "never", "lc", "raised", "severity", "major", "descr", "d")})
	// A change only to descr (not in the fingerprint) is not a modification
	// on resync; a lifecycle step is.
	resync(f, "faultInst", []event.Object{obj(dn, "modTs", "never", "lc", "raised", "severity", "major", "descr", "other")})
	resync(f, "faultInst", []event.Object{obj(dn, "modTs", "never", "lc", "retaining", "severity", "cleared", "descr", "other")})
	if got := f.st.resyncs; len(got) != 1 || got[resyncKey{"faultInst", event.StatusModified}] != 1 {
		t.Fatalf("resync changes %v, want one modification", got)
	}
}

func TestMaxObjects(t *testing.T) {
	f := NewFabric("prod", nil, nil, nil, 2)
	resync(f, "fvTenant", []event.Object{obj("uni/tn-a"), obj("uni/tn-b"), obj("uni/tn-c")})
	f.Apply([]event.Event{ev(event.StatusCreated, "fvTenant", "uni/tn-d")})
	if st := f.Status(); st.Objects != 2 {
		t.Fatalf("tracked %d objects, want the cap of 2", st.Objects)
	}
	if !f.st.full || f.Objects("fvTenant") != -1 {
		t.Fatal("a capped fabric must say so, and must not offer its count for comparison")
	}
	resync(f, "fvTenant", []event.Object{obj("uni/tn-a")})
	if f.st.full || f.Objects("fvTenant") != 1 {
		t.Fatal("a snapshot under the cap clears the flag")
	}
}

func TestHealthSeriesAndLint(t *testing.T) {
	f, reg := newTestFabric()
	f.LoginAttempt("https://apic1", false)
	f.LoginAttempt("https://apic1", true)
	f.SessionExpiry(time.Unix(1700000600, 0))
	f.SocketUp("https://apic1", true)
	f.Message()
	f.MessageError("invalid_json")
	f.SubscriptionUp("fvTenant", true)
	f.SubscriptionUp("fvBD", true)
	f.SubscriptionRefresh("fvTenant", true)
	f.SubscriptionRefresh("fvTenant", false)
	f.SubscriptionSnapshot("fvTenant")
	f.SubscriptionSnapshot("fvTenant") // the second one is a resync
	f.LastEvent("fvTenant", time.Unix(1700000000, 500e6))
	f.TokenRefresh(true)
	f.Up(true)
	f.SocketUp("https://apic1", false)
	want := `
# HELP aci_login_failures_total aaaLogin attempts that failed.
# TYPE aci_login_failures_total counter
aci_login_failures_total{controller="https://apic1",fabric="prod"} 1
# HELP aci_logins_total aaaLogin attempts.
# TYPE aci_logins_total counter
aci_logins_total{controller="https://apic1",fabric="prod"} 2
# HELP aci_resyncs_total Snapshots taken after the first (reconnects, re-logins, failed refreshes).
# TYPE aci_resyncs_total counter
aci_resyncs_total{fabric="prod",subscription="fvBD"} 0
aci_resyncs_total{fabric="prod",subscription="fvTenant"} 1
# HELP aci_session_expiry_timestamp_seconds When the current token stops being valid unless refreshed.
# TYPE aci_session_expiry_timestamp_seconds gauge
aci_session_expiry_timestamp_seconds{fabric="prod"} 1.7000006e+09
# HELP aci_subscription_last_event_timestamp_seconds Time of the last event for the subscription.
# TYPE aci_subscription_last_event_timestamp_seconds gauge
aci_subscription_last_event_timestamp_seconds{fabric="prod",subscription="fvTenant"} 1.7000000005e+09
# HELP aci_subscription_refresh_failures_total Subscription refresh calls that failed.
# TYPE aci_subscription_refresh_failures_total counter
aci_subscription_refresh_failures_total{fabric="prod",subscription="fvBD"} 0
aci_subscription_refresh_failures_total{fabric="prod",subscription="fvTenant"} 1
# HELP aci_subscription_up 1 while the subscription is active and refreshed in time.
# TYPE aci_subscription_up gauge
aci_subscription_up{class="fvBD",fabric="prod",subscription="fvBD"} 1
aci_subscription_up{class="fvTenant",fabric="prod",subscription="fvTenant"} 1
# HELP aci_up 1 when logged in, the socket is open and every subscription is active.
# TYPE aci_up gauge
aci_up{fabric="prod"} 1
# HELP aci_websocket_connected 1 for the controller whose socket is open now.
# TYPE aci_websocket_connected gauge
aci_websocket_connected{controller="https://apic1",fabric="prod"} 0
# HELP aci_websocket_disconnects_total Websocket losses.
# TYPE aci_websocket_disconnects_total counter
aci_websocket_disconnects_total{controller="https://apic1",fabric="prod"} 1
# HELP aci_websocket_message_errors_total Frames that could not be decoded or matched, by reason.
# TYPE aci_websocket_message_errors_total counter
aci_websocket_message_errors_total{fabric="prod",reason="invalid_json"} 1
`
	names := []string{"aci_login_failures_total", "aci_logins_total", "aci_resyncs_total", "aci_session_expiry_timestamp_seconds", "aci_subscription_last_event_timestamp_seconds",
		"aci_subscription_refresh_failures_total", "aci_subscription_up", "aci_up", "aci_websocket_connected", "aci_websocket_disconnects_total", "aci_websocket_message_errors_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// A subscription down (a failed refresh) takes the stream's aci_up down.
	f.SubscriptionUp("fvBD", false)
	if f.Status().Up {
		t.Error("aci_up stays 1 with a subscription down")
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestRemoveFabricDropsItsSeries(t *testing.T) {
	f, _ := newTestFabric()
	resync(f, "fvTenant", []event.Object{obj("uni/tn-a")})
	c := New()
	c.Add(f)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	g := Gatherer(reg, c)
	if n := countFamily(t, g, "aci_objects"); n != 1 {
		t.Fatalf("%d aci_objects series, want 1", n)
	}
	c.Remove("prod")
	if n := countFamily(t, g, ""); n != 0 {
		t.Fatalf("%d series after removal", n)
	}
}

// TestFabricGatherer: the view of one fabric holds exactly the series of
// /metrics that carry its fabric label, and nothing of the other fabric or
// of the registry's other collectors.
func TestFabricGatherer(t *testing.T) {
	c := New()
	for _, name := range []string{"east", "west"} {
		f := NewFabric(name, []string{"https://apic-" + name}, []Subscription{{"fvTenant", "fvTenant"}}, []string{"invalid_json"}, 0)
		resync(f, "fvTenant", []event.Object{obj("uni/tn-" + name + "1"), obj("uni/tn-common")})
		f.Apply([]event.Event{ev(event.StatusCreated, "fvTenant", "uni/tn-"+name+"2", "modTs", "t1")})
		f.SubscriptionUp("fvTenant", true)
		c.Add(f)
	}
	own := prometheus.NewGauge(prometheus.GaugeOpts{Name: "aci_exporter_own", Help: "Not a fabric's."})
	own.Set(1)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c, own)
	all := gatherText(t, Gatherer(reg, c))
	east := FabricGatherer(c.Fabric("east"))
	got := gatherText(t, east)
	var want strings.Builder
	for line := range strings.Lines(all) {
		if strings.HasPrefix(line, "#") || strings.Contains(line, `fabric="east"`) {
			want.WriteString(line)
		}
	}
	// Nor the HELP and TYPE of the exporter's own gauge.
	wantText := strings.Replace(want.String(), "# HELP aci_exporter_own Not a fabric's.\n# TYPE aci_exporter_own gauge\n", "", 1)
	if got != wantText {
		t.Errorf("/metrics?fabric=east:\n%s\nwant the east series of /metrics:\n%s", got, wantText)
	}
	if !strings.Contains(got, `aci_objects{class="fvTenant",fabric="east",tenant="east2"} 1`) || strings.Contains(got, "west") {
		t.Errorf("the east view lacks east's objects or holds west's:\n%s", got)
	}
	problems, err := testutil.GatherAndLint(east)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
