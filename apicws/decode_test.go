package apicws

import (
	"github.com/aci-exporter/aci-exporter/event"

	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeAll runs DecodeFrame and checks the type of its error.
func decodeAll(t testing.TB, data []byte) ([]event.Event, *DecodeError) {
	t.Helper()
	got, err := DecodeFrame(data)
	if err == nil {
		return got, nil
	}
	derr, ok := errors.AsType[*DecodeError](err)
	if !ok {
		t.Fatalf("DecodeFrame error %v (%T) is not a *DecodeError", err, err)
	}
	return got, derr
}

func readFrame(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "frames", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// bdModified is the fvBD event of apic-protocol.md §4, the most common shape.
var bdModified = event.Event{
	SubscriptionIDs: []string{"72059075820650497"},
	Class:           "fvBD",
	DN:              "uni/tn-CL/BD-CLbd",
	Tenant:          "CL",
	Status:          event.StatusModified,
	Attrs:           []event.Attr{{Name: "modTs", Value: "2023-05-04T16:02:00.972-04:00"}},
}

var tenantDeleted = event.Event{
	SubscriptionIDs: []string{"72057843163791520"},
	Class:           "fvTenant",
	DN:              "uni/tn-mtimm-simple2",
	Tenant:          "mtimm-simple2",
	Status:          event.StatusDeleted,
	Attrs:           []event.Attr{{Name: "modTs", Value: "2014-11-24T12:50:36.706-04:00"}},
}

// with returns a copy of ev with other subscription ids.
func withIDs(e event.Event, ids ...string) event.Event {
	e.SubscriptionIDs = ids
	return e
}

func TestDecodeFrameFixtures(t *testing.T) {
	tests := []struct {
		file        string
		want        []event.Event
		wantReason  string
		wantSkipped int
	}{
		{file: "bd-modified.json", want: []event.Event{bdModified}},
		{file: "tenant-deleted-4ids.json", want: []event.Event{withIDs(tenantDeleted,
			"72057843163791520", "72057843163791488", "72057843163791521", "72057843163791516")}},
		{file: "brc-created.json", want: []event.Event{{
			SubscriptionIDs: []string{"72058242595225601"},
			Class:           "vzBrCP",
			DN:              "uni/tn-TenantA/brc-test",
			Tenant:          "TenantA",
			Status:          event.StatusCreated,
			// Of all its attributes (lcOwn too), only modTs is fingerprinted.
			Attrs: []event.Attr{{Name: "modTs", Value: "2020-04-13T10:43:19.237+00:00"}},
		}}},
		{file: "fault-never.json", want: []event.Event{{
			SubscriptionIDs: []string{"72058242595225602"},
			Class:           "faultInst",
			DN:              "uni/tn-common/oobbrc-default/fault-F1228",
			Tenant:          "common",
			Status:          event.StatusModified,
			Attrs:           []event.Attr{{Name: "lc", Value: "raised"}, {Name: "modTs", Value: "never"}},
		}}},
		{file: "multi-object.json", want: []event.Event{
			tenantDeleted,
			{
				SubscriptionIDs: []string{"72057843163791520"},
				Class:           "fvRsTenantMonPol",
				DN:              "uni/tn-mtimm-simple2/rsTenantMonPol",
				Tenant:          "mtimm-simple2",
				Status:          event.StatusDeleted,
				Attrs:           []event.Attr{{Name: "modTs", Value: "2014-11-24T12:50:36.706-04:00"}},
			},
			withIDs(bdModified, "72057843163791520"),
			{
				SubscriptionIDs: []string{"72057843163791520"},
				Class:           "faultInst",
				DN:              "topology/pod-1/node-1/sys/caggr-[po1.1]/fault-F0104",
				Tenant:          "",
				Status:          event.StatusCreated,
				Attrs:           []event.Attr{{Name: "lc", Value: "raised"}, {Name: "modTs", Value: "never"}},
			},
		}},
		{file: "bracketed-dn.json", want: []event.Event{
			{
				SubscriptionIDs: []string{"72058242595225603"},
				Class:           "fvRtCustQosPol",
				DN:              "uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-dh-ansible-aac/ap-dh-ap/epg-dh-epg]",
				Tenant:          "common",
				Status:          event.StatusCreated,
				Attrs:           []event.Attr{{Name: "modTs", Value: "2023-05-04T16:02:00.972-04:00"}},
			},
			{
				SubscriptionIDs: []string{"72058242595225603"},
				Class:           "l3extRsNodeL3OutAtt",
				DN:              "uni/tn-Prod/out-X/lnodep-X/rsnodeL3OutAtt-[topology/pod-1/node-101]",
				Tenant:          "Prod",
				Status:          event.StatusCreated,
				Attrs:           []event.Attr{{Name: "modTs", Value: "2023-05-04T16:02:01.004-04:00"}},
			},
		}},
		{file: "scalar-id.json", want: []event.Event{withIDs(bdModified, "72058242595225601")}},
		{file: "number-id.json", want: []event.Event{{
			SubscriptionIDs: []string{"18374686685813276673", "72057843163791520"},
			Class:           "l1PhysIf",
			DN:              "topology/pod-1/node-101/sys/phys-[eth1/1]",
			Tenant:          "",
			Status:          event.StatusModified,
			Attrs:           []event.Attr{{Name: "modTs", Value: "2023-05-04T16:02:00.972-04:00"}},
		}}},
		// Good, bad status, no dn, not an object, good: the good ones survive.
		{file: "mixed-bad.json", want: []event.Event{bdModified, withIDs(tenantDeleted, "72059075820650497")},
			wantReason: ReasonBadStatus, wantSkipped: 3},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			checkDecode(t, readFrame(t, tt.file), tt.want, tt.wantReason, tt.wantSkipped)
		})
	}
}

func checkDecode(t *testing.T, data []byte, want []event.Event, wantReason string, wantSkipped int) {
	t.Helper()
	got, err := decodeAll(t, data)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %s\nwant %s", fmtEvents(got), fmtEvents(want))
	}
	var reason string
	var skipped int
	if err != nil {
		reason, skipped = err.Reason, err.Skipped
		if err.Err == nil || !strings.HasPrefix(err.Error(), reason+": ") {
			t.Errorf("error %q lacks its reason or details", err)
		}
	}
	if reason != wantReason || skipped != wantSkipped {
		t.Errorf("error %v: reason %q skipped %d, want %q and %d", err, reason, skipped, wantReason, wantSkipped)
	}
}

func fmtEvents(evs []event.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "\n  %+v", ev)
	}
	return b.String()
}

// decodeCase is a frame written inline, with what DecodeFrame must make of it.
type decodeCase struct {
	name        string
	frame       string
	want        []event.Event
	wantReason  string
	wantSkipped int
}

// decodeCases covers the contract case by case; FuzzDecodeFrame seeds from it too.
func decodeCases() []decodeCase {
	const (
		bd     = `{"fvBD":{"attributes":{"childAction":"","configIssues":"","dn":"uni/tn-CL/BD-CLbd","modTs":"2023-05-04T16:02:00.972-04:00","rn":"","status":"modified"}}}`
		ids    = `"subscriptionId":["72059075820650497"]`
		prefix = `{` + ids + `,"imdata":[`
	)
	// obj wraps attributes of an fvBD into a frame.
	obj := func(attrs string) string { return prefix + `{"fvBD":{"attributes":{` + attrs + `}}}]}` }
	modTs := bdModified.Attrs[0].Value
	bdWith := func(ds ...event.Attr) event.Event {
		ev := bdModified
		ev.Attrs = ds
		return ev
	}
	return []decodeCase{
		// Frames refused whole.
		{"empty", ``, nil, ReasonInvalidJSON, 0},
		{"truncated", prefix + bd, nil, ReasonInvalidJSON, 0},
		{"trailing garbage", prefix + bd + `]}x`, nil, ReasonInvalidJSON, 0},
		{"array", `[` + bd + `]`, nil, ReasonInvalidJSON, 0},
		{"null", `null`, nil, ReasonInvalidJSON, 0},
		{"no id", `{"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},
		{"empty id list", `{"subscriptionId":[],"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},
		{"empty id", `{"subscriptionId":[""],"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},
		{"null id", `{"subscriptionId":null,"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},
		{"fraction id", `{"subscriptionId":[1.5],"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},
		{"exponent id", `{"subscriptionId":1e3,"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},
		{"negative id", `{"subscriptionId":[-1],"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},
		{"bool id", `{"subscriptionId":[true],"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},
		{"one bad id of two", `{"subscriptionId":["1",{}],"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},
		{"no imdata", `{` + ids + `}`, nil, ReasonNoImdata, 0},
		{"null imdata", `{` + ids + `,"imdata":null}`, nil, ReasonNoImdata, 0},
		{"object imdata", `{` + ids + `,"imdata":` + bd + `}`, nil, ReasonNoImdata, 0},
		{"keys are case sensitive", `{"SubscriptionId":["1"],"imdata":[` + bd + `]}`, nil, ReasonNoSubscriptionID, 0},

		// Frames that decode.
		{"empty imdata", `{` + ids + `,"imdata":[]}`, nil, "", 0},
		{"ids after imdata, extra keys", `{"totalCount":"1","imdata":[` + bd + `],` + ids + `}`,
			[]event.Event{bdModified}, "", 0},
		{"last duplicate key wins", `{"subscriptionId":["1"],` + ids + `,"imdata":[` + bd + `]}`,
			[]event.Event{bdModified}, "", 0},
		{"white space everywhere", " {\n\t" + `"subscriptionId" : [ "72059075820650497" ] ,` + "\r\n" +
			`"imdata" : [ { "fvBD" : { "attributes" : { "dn" : "uni/tn-CL/BD-CLbd" , "status" : "modified" ,` +
			` "configIssues" : "" , "modTs" : "2023-05-04T16:02:00.972-04:00" } } } ] } `,
			[]event.Event{bdModified}, "", 0},
		{"children ignored", prefix + `{"fvBD":{"children":[{"fvSubnet":{"attributes":{"dn":"x"}}}],"attributes":` +
			`{"dn":"uni/tn-CL/BD-CLbd","status":"modified","configIssues":"","modTs":"2023-05-04T16:02:00.972-04:00"},"x":1}}]}`,
			[]event.Event{bdModified}, "", 0},
		{"escapes", prefix + `{"fv\u0042D":{"attributes":{"d\u006e":"uni\/tn-CL\/BD-CLbd","status":"modified","descr":"x\"y",` +
			`"l\u0063":"a\"b\\c\u00e9\ud83d\ude00\n","modTs":"2023-05-04T16:02:00.972-04:00"}}}]}`,
			[]event.Event{bdWith(event.Attr{Name: "lc", Value: "a\"b\\c\u00e9\U0001F600\n"}, event.Attr{Name: "modTs", Value: modTs})}, "", 0},
		{"invalid UTF-8 is replaced", obj(`"dn":"uni/tn-CL/BD-CLbd","status":"modified","severity":"a` + "\xff" + `b",` +
			`"descr":"` + "\xfe" + `","modTs":"2023-05-04T16:02:00.972-04:00"`),
			[]event.Event{bdWith(event.Attr{Name: "severity", Value: "a\uFFFDb"}, event.Attr{Name: "modTs", Value: modTs})}, "", 0},
		{"scalar values keep their JSON text", obj(`"dn":"uni/tn-CL/BD-CLbd","status":"modified","occur":3,` +
			`"severity":-1.5e3,"ack":true,"lc":false,"lastTransition":null,"prio":7,"modTs":"2023-05-04T16:02:00.972-04:00"`),
			[]event.Event{bdWith(event.Attr{Name: "occur", Value: "3"}, event.Attr{Name: "severity", Value: "-1.5e3"}, event.Attr{Name: "ack", Value: "true"},
				event.Attr{Name: "lc", Value: "false"}, event.Attr{Name: "lastTransition", Value: ""}, event.Attr{Name: "modTs", Value: modTs})}, "", 0},
		{"last dn wins, attrs keep both", obj(`"dn":"uni/tn-X/BD-a","dn":"uni/tn-CL/BD-CLbd","status":"modified",` +
			`"lc":"1","lc":"2","modTs":"2023-05-04T16:02:00.972-04:00"`),
			[]event.Event{bdWith(event.Attr{Name: "lc", Value: "1"}, event.Attr{Name: "lc", Value: "2"}, event.Attr{Name: "modTs", Value: modTs})}, "", 0},
		{"other attributes are checked and dropped", obj(`"dn":"uni/tn-CL/BD-CLbd","annotation":"","descr":"caf\u00e9",` +
			`"lcOwn":"local","ModTs":"x","status":"modified","modTs":"2023-05-04T16:02:00.972-04:00","uid":15374,"isAttrBasedEPg":false`),
			[]event.Event{bdModified}, "", 0},
		{"syntax error in a dropped attribute", obj(`"dn":"uni/tn-CL/BD-CLbd","status":"modified","descr":"` + "\x01" + `"`),
			nil, ReasonInvalidJSON, 0},
		{"bad number in a dropped attribute", obj(`"dn":"uni/tn-CL/BD-CLbd","status":"modified","uid":01`),
			nil, ReasonInvalidJSON, 0},
		{"no modTs", obj(`"dn":"uni/tn-CL/BD-CLbd","status":"modified"`),
			[]event.Event{{SubscriptionIDs: bdModified.SubscriptionIDs, Class: "fvBD", DN: "uni/tn-CL/BD-CLbd",
				Tenant: "CL", Status: event.StatusModified}}, "", 0},

		// Bad objects, each next to a good one that must survive.
		{"bad status", prefix + bd + `,` + `{"fvBD":{"attributes":{"dn":"uni/tn-CL/BD-x","status":"Created"}}}]}`,
			[]event.Event{bdModified}, ReasonBadStatus, 1},
		{"empty status", prefix + `{"fvBD":{"attributes":{"dn":"uni/tn-CL/BD-x","status":""}}},` + bd + `]}`,
			[]event.Event{bdModified}, ReasonBadStatus, 1},
		{"no status", prefix + `{"fvBD":{"attributes":{"dn":"uni/tn-CL/BD-x"}}},` + bd + `]}`,
			[]event.Event{bdModified}, ReasonBadStatus, 1},
		{"no dn", prefix + `{"fvBD":{"attributes":{"status":"created"}}},` + bd + `]}`,
			[]event.Event{bdModified}, ReasonNoDN, 1},
		{"null dn", prefix + `{"fvBD":{"attributes":{"dn":null,"status":"created"}}},` + bd + `]}`,
			[]event.Event{bdModified}, ReasonNoDN, 1},
		{"object attribute", prefix + `{"fvBD":{"attributes":{"dn":"uni/tn-CL/BD-x","status":"created","x":{"y":"]"}}}},` + bd + `]}`,
			[]event.Event{bdModified}, ReasonBadObject, 1},
		{"array attribute", prefix + bd + `,{"fvBD":{"attributes":{"dn":"uni/tn-CL/BD-x","status":"created","x":["}"]}}}]}`,
			[]event.Event{bdModified}, ReasonBadObject, 1},
		{"entry is a string", prefix + `"fvBD",` + bd + `]}`, []event.Event{bdModified}, ReasonBadObject, 1},
		{"entry is null", prefix + `null,` + bd + `]}`, []event.Event{bdModified}, ReasonBadObject, 1},
		{"entry is empty", prefix + `{},` + bd + `]}`, []event.Event{bdModified}, ReasonBadObject, 1},
		{"two classes", prefix + `{"fvBD":{"attributes":{"dn":"uni/tn-CL/BD-x","status":"created"}},` +
			`"fvCtx":{"attributes":{"dn":"uni/tn-CL/ctx-x","status":"created"}}},` + bd + `]}`,
			[]event.Event{bdModified}, ReasonBadObject, 1},
		{"empty class", prefix + `{"":{"attributes":{"dn":"uni/tn-CL/BD-x","status":"created"}}},` + bd + `]}`,
			[]event.Event{bdModified}, ReasonBadObject, 1},
		{"class is not an object", prefix + `{"fvBD":[]},` + bd + `]}`, []event.Event{bdModified}, ReasonBadObject, 1},
		{"no attributes", prefix + `{"fvBD":{"children":[]}},` + bd + `]}`, []event.Event{bdModified}, ReasonBadObject, 1},
		{"attributes not an object", prefix + `{"fvBD":{"attributes":"dn"}},` + bd + `]}`,
			[]event.Event{bdModified}, ReasonBadObject, 1},
		{"attributes twice", prefix + `{"fvBD":{"attributes":{"dn":"uni/tn-CL/BD-x","status":"created"},` +
			`"attributes":{"dn":"uni/tn-CL/BD-y","status":"created"}}},` + bd + `]}`,
			[]event.Event{bdModified}, ReasonBadObject, 1},
		{"error envelope", `{"subscriptionId":"1","imdata":[{"error":{"attributes":{"code":"403","text":"Token was invalid (Error: Token timeout)"}}}]}`,
			nil, ReasonNoDN, 1},
		{"first reason, all counted", prefix + `1,{"fvBD":{"attributes":{"status":"created"}}},` + bd + `,2]}`,
			[]event.Event{bdModified}, ReasonBadObject, 3},
	}
}

func TestDecodeFrameCases(t *testing.T) {
	for _, tt := range decodeCases() {
		t.Run(tt.name, func(t *testing.T) {
			checkDecode(t, []byte(tt.frame), tt.want, tt.wantReason, tt.wantSkipped)
		})
	}
}

// One Decoder over many frames gives what a fresh one gives each frame, and
// decoding a frame leaves the events of earlier frames alone.
func TestDecoderReuse(t *testing.T) {
	var d Decoder
	var frames [][]byte
	var kept [][]event.Event
	for _, c := range decodeCases() {
		frames = append(frames, []byte(c.frame))
	}
	for _, name := range []string{"multi-object.json", "bd-modified.json", "tenant-deleted-4ids.json", "bd-modified.json"} {
		frames = append(frames, readFrame(t, name))
	}
	buf := make([]byte, 0, 64<<10) // the reader reuses one buffer
	for _, fr := range frames {
		buf = append(buf[:0], fr...)
		got, _ := d.Decode(buf)
		want, _ := DecodeFrame(fr)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("reused Decoder on %s:\n got %s\nwant %s", fr, fmtEvents(got), fmtEvents(want))
		}
		kept = append(kept, got)
		clear(buf)
	}
	for i, fr := range frames {
		if want, _ := DecodeFrame(fr); !reflect.DeepEqual(kept[i], want) {
			t.Fatalf("events of %s changed by later frames:\n got %s\nwant %s", fr, fmtEvents(kept[i]), fmtEvents(want))
		}
	}
	// Frames that repeat their ids share one slice of them.
	a, _ := d.Decode(readFrame(t, "bd-modified.json"))
	b, _ := d.Decode(readFrame(t, "bd-modified.json"))
	if &a[0].SubscriptionIDs[0] != &b[0].SubscriptionIDs[0] {
		t.Error("repeated ids were copied again")
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	_, err := DecodeFrame(readFrame(t, "mixed-bad.json"))
	const want = `bad_status: imdata[1]: fvBD uni/tn-CL/BD-x: status "updated" is not created, modified or deleted (3 objects skipped)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestDecodeReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range DecodeReasons() {
		if seen[r] || r == "" {
			t.Errorf("reason %q empty or repeated", r)
		}
		seen[r] = true
	}
	if len(seen) != 6 {
		t.Errorf("DecodeReasons() = %v", DecodeReasons())
	}
}

func TestStatus(t *testing.T) {
	for _, s := range []event.Status{event.StatusCreated, event.StatusModified, event.StatusDeleted} {
		if got, ok := event.ParseStatus(s.String()); !ok || got != s {
			t.Errorf("event.ParseStatus(%q) = %v, %v", s, got, ok)
		}
	}
	for _, word := range []string{"", "Created", "updated", "Status(0)"} {
		if s, ok := event.ParseStatus(word); ok {
			t.Errorf("event.ParseStatus(%q) = %v, want refusal", word, s)
		}
	}
	if got := event.Status(0).String(); got != "Status(0)" {
		t.Errorf("event.Status(0).String() = %q", got)
	}
}

func TestEventAttr(t *testing.T) {
	ev := bdModified
	if v, ok := ev.Attr("modTs"); !ok || v != "2023-05-04T16:02:00.972-04:00" {
		t.Errorf("Attr(modTs) = %q, %v", v, ok)
	}
	if v, ok := ev.Attr("dn"); ok {
		t.Errorf("Attr(dn) = %q, want absent: dn is a field", v)
	}
}

// The decoder's cost model, per frame once a socket's Decoder is warm: a
// copy of the frame, and its events with their attributes: one allocation
// for a frame of one object, two for more. A regression here is a
// regression at 1M events/s.
func TestDecodeFrameAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	for _, c := range []struct {
		name string
		max  float64
	}{{"brc-created.json", 2}, {"bd-modified.json", 2}, {"tenant-deleted-4ids.json", 2}, {"scalar-id.json", 2}, {"multi-object.json", 3}} {
		data := readFrame(t, c.name)
		// Frames of other subscriptions come in between, as on a real socket.
		other := readFrame(t, "fault-never.json")
		var d Decoder
		allocs := testing.AllocsPerRun(100, func() {
			for _, fr := range [][]byte{data, other} {
				if _, err := d.Decode(fr); err != nil {
					t.Fatal(err)
				}
			}
		}) - 2 // fault-never.json's frame: its copy and its event

		if allocs > c.max {
			t.Errorf("%s: %v allocations per frame, want at most %v", c.name, allocs, c.max)
		}
	}
}

// A one-object frame that also carries attributes state metrics read (a
// port going down: lastLinkStChg, modTs, operSt, operStQual) is still its copy and one
// allocation for its event.
func TestDecodeFrameAllocsStateAttrs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	event.Keep([]string{"operSt", "operStQual"})
	defer event.Keep(nil)
	frame := []byte(`{"subscriptionId":["72058242595225603"],"imdata":[{"ethpmPhysIf":{"attributes":{"childAction":"",` +
		`"dn":"topology/pod-1/node-101/sys/phys-[eth1/7]/phys","lastLinkStChg":"2024-02-01T09:15:42.117+00:00","modTs":"never",` +
		`"operPhyEnSt":"down","operSt":"down","operStQual":"link-failure","resetCtr":"3","rn":"","status":"modified"}}}]}`)
	var d Decoder
	allocs := testing.AllocsPerRun(100, func() {
		evs, err := d.Decode(frame)
		if err != nil || len(evs) != 1 || len(evs[0].Attrs) != 4 {
			t.Fatalf("Decode: %v, %v", evs, err)
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations per frame, want at most 2", allocs)
	}
}
