package apicws

import (
	"github.com/aci-exporter/aci-exporter/event"

	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// addFrameSeeds seeds a fuzzer with the frame fixtures and every frame of
// the decode table.
func addFrameSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "frames", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, c := range decodeCases() {
		f.Add([]byte(c.frame))
	}
}

func FuzzDecodeFrame(f *testing.F) {
	addFrameSeeds(f)
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"subscriptionId":"1","imdata":[]}`,
		`{"subscriptionId":[1],"imdata":[{"a":{"attributes":{"dn":"uni/tn-\u0041","status":"created","x":{}}}}]}`,
		`{"subscriptionId":["1"],"imdata":[{"a":{"attributes":{"dn":"d","status":"deleted"}},"b":{}},"x",{}]}`,
		"{\"subscriptionId\":[\"1\"],\"imdata\":[{\"a\":{\"attributes\":{\"dn\":\"\xff\",\"status\":\"modified\"}}}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// One Decoder, as a socket has, with frames before and after.
		var d Decoder
		d.Decode(benchModified)
		got, err := d.Decode(data)
		d.Decode(benchCreated)
		var reason string
		var skipped int
		if err != nil {
			derr, ok := err.(*DecodeError)
			if !ok || !slices.Contains(DecodeReasons(), derr.Reason) || derr.Err == nil || derr.Skipped < 0 {
				t.Fatalf("error %#v is not a well-formed *DecodeError", err)
			}
			reason, skipped = derr.Reason, derr.Skipped
		}
		for _, ev := range got {
			checkEvent(t, ev)
		}
		// The model below decodes the same frame with encoding/json alone.
		want, wantReason, wantSkipped := refDecode(t, data)
		if reason != wantReason || skipped != wantSkipped {
			t.Fatalf("error %v: reason %q skipped %d; model says %q and %d", err, reason, skipped, wantReason, wantSkipped)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("events differ from the model:\n got %s\nwant %s", fmtEvents(got), fmtEvents(want))
		}
	})
}

// checkEvent asserts what every delivered event promises, whatever the frame.
func checkEvent(t *testing.T, ev event.Event) {
	t.Helper()
	if ev.Class == "" || ev.DN == "" || len(ev.SubscriptionIDs) == 0 {
		t.Fatalf("event lacks class, dn or ids: %+v", ev)
	}
	if _, ok := event.ParseStatus(ev.Status.String()); !ok {
		t.Fatalf("event status %v", ev.Status)
	}
	if ev.Tenant != Tenant(ev.DN) {
		t.Fatalf("tenant %q for dn %q", ev.Tenant, ev.DN)
	}
	strs := append([]string{ev.Class, ev.DN}, ev.SubscriptionIDs...)
	for _, id := range ev.SubscriptionIDs {
		if id == "" {
			t.Fatalf("empty subscription id in %+v", ev)
		}
	}
	for _, a := range ev.Attrs {
		if event.FingerprintIndex(a.Name) < 0 {
			t.Fatalf("attribute %q is not a fingerprint attribute: %+v", a.Name, ev)
		}
		strs = append(strs, a.Name, a.Value)
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 %q in %+v", s, ev)
		}
	}
}

// jnode is a JSON value that keeps object members in order, duplicates
// included, which a map would not.
type jnode struct {
	kind  byte   // '{', '[', '"' string, '0' number, 't' true/false, 'n' null
	text  string // string value or literal text
	keys  []string
	elems []jnode // member values or array elements
}

func readNode(dec *json.Decoder) (jnode, error) {
	tok, err := dec.Token()
	if err != nil {
		return jnode{}, err
	}
	switch v := tok.(type) {
	case json.Delim:
		n := jnode{kind: byte(v)}
		for dec.More() {
			if v == '{' {
				k, err := dec.Token()
				if err != nil {
					return n, err
				}
				n.keys = append(n.keys, k.(string))
			}
			e, err := readNode(dec)
			if err != nil {
				return n, err
			}
			n.elems = append(n.elems, e)
		}
		_, err := dec.Token()
		return n, err
	case string:
		return jnode{kind: '"', text: v}, nil
	case json.Number:
		return jnode{kind: '0', text: string(v)}, nil
	case bool:
		return jnode{kind: 't', text: strconv.FormatBool(v)}, nil
	}
	return jnode{kind: 'n'}, nil
}

// member returns the last value of key in an object node.
func (n *jnode) member(key string) *jnode {
	var v *jnode
	for i, k := range n.keys {
		if k == key {
			v = &n.elems[i]
		}
	}
	return v
}

// refDecode is a slow model of DecodeFrame written straight from its contract
// on top of encoding/json, to check the hand-written scanner against.
func refDecode(t *testing.T, data []byte) (evs []event.Event, reason string, skipped int) {
	if !json.Valid(data) {
		return nil, ReasonInvalidJSON, 0
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := readNode(dec)
	if err != nil {
		t.Fatalf("model cannot read valid JSON: %v", err)
	}
	if root.kind != '{' {
		return nil, ReasonInvalidJSON, 0
	}
	ids, ok := refIDs(root.member("subscriptionId"))
	if !ok {
		return nil, ReasonNoSubscriptionID, 0
	}
	imdata := root.member("imdata")
	if imdata == nil || imdata.kind != '[' {
		return nil, ReasonNoImdata, 0
	}
	for _, entry := range imdata.elems {
		ev, r := refObject(entry)
		if r != "" {
			if reason == "" {
				reason = r
			}
			skipped++
			continue
		}
		ev.SubscriptionIDs = ids
		evs = append(evs, ev)
	}
	return evs, reason, skipped
}

func refIDs(n *jnode) ([]string, bool) {
	if n == nil {
		return nil, false
	}
	list := []jnode{*n}
	if n.kind == '[' {
		list = n.elems
	}
	var ids []string
	for _, e := range list {
		switch {
		case e.kind == '"' && e.text != "":
		case e.kind == '0' && isDigits(e.text):
		default:
			return nil, false
		}
		ids = append(ids, e.text)
	}
	return ids, len(ids) > 0
}

func refObject(entry jnode) (event.Event, string) {
	if entry.kind != '{' || len(entry.keys) != 1 || entry.keys[0] == "" || entry.elems[0].kind != '{' {
		return event.Event{}, ReasonBadObject
	}
	class := entry.elems[0]
	var attrs *jnode
	for i, k := range class.keys {
		if k == "attributes" {
			if attrs != nil {
				return event.Event{}, ReasonBadObject
			}
			attrs = &class.elems[i]
		}
	}
	if attrs == nil || attrs.kind != '{' {
		return event.Event{}, ReasonBadObject
	}
	ev := event.Event{Class: entry.keys[0]}
	var status string
	for i, name := range attrs.keys {
		v := attrs.elems[i]
		if v.kind == '{' || v.kind == '[' {
			return event.Event{}, ReasonBadObject
		}
		switch name {
		case "dn":
			ev.DN = v.text
		case "status":
			status = v.text
		default:
			if event.FingerprintIndex(name) >= 0 {
				ev.Attrs = append(ev.Attrs, event.Attr{Name: name, Value: v.text})
			}
		}
	}
	if ev.DN == "" {
		return event.Event{}, ReasonNoDN
	}
	st, ok := event.ParseStatus(status)
	if !ok {
		return event.Event{}, ReasonBadStatus
	}
	ev.Status = st
	ev.Tenant = Tenant(ev.DN)
	return ev, ""
}

// Frames the size of real ones (apic-protocol.md §4): a created fvAEPg with its
// full attribute set, a modified fvBD, a deleted fvBD.
var (
	benchCreated = []byte(`{"subscriptionId":["72058242595225601"],"imdata":[{"fvAEPg":{"attributes":{` +
		`"annotation":"","childAction":"","configIssues":"","configSt":"applied","descr":"",` +
		`"dn":"uni/tn-Prod/ap-web/epg-frontend","exceptionTag":"","extMngdBy":"","floodOnEncap":"disabled",` +
		`"fwdCtrl":"","hasMcastSource":"no","isAttrBasedEPg":"no","isSharedSrvMsiteEPg":"no","lcOwn":"local",` +
		`"matchT":"AtleastOne","modTs":"2024-02-01T09:15:42.117+01:00","monPolDn":"uni/tn-common/monepg-default",` +
		`"name":"frontend","nameAlias":"","pcEnfPref":"unenforced","pcTag":"49153","prefGrMemb":"exclude",` +
		`"prio":"unspecified","rn":"","scope":"2490368","shutdown":"no","status":"created",` +
		`"triggerSt":"triggerable","uid":"15374"}}}]}`)
	benchModified = []byte(`{"subscriptionId":["72059075820650497"],"imdata":[{"fvBD":{"attributes":{"childAction":"",` +
		`"configIssues":"","dn":"uni/tn-CL/BD-CLbd","modTs":"2023-05-04T16:02:00.972-04:00","rn":"","status":"modified"}}}]}`)
	benchDeleted = []byte(`{"subscriptionId":["72059075820650497"],"imdata":[{"fvBD":{"attributes":{"childAction":"",` +
		`"dn":"uni/tn-CL/BD-web","modTs":"2023-05-04T16:02:00.972-04:00","rn":"","status":"deleted"}}}]}`)
)

func BenchmarkDecodeFrame(b *testing.B) {
	// Config churn: per five changes one create, three modifies, one delete.
	mix := [][]byte{benchCreated, benchModified, benchModified, benchModified, benchDeleted}
	for _, bm := range []struct {
		name   string
		frames [][]byte
	}{
		{"created", [][]byte{benchCreated}},
		{"modified", [][]byte{benchModified}},
		{"deleted", [][]byte{benchDeleted}},
		{"mix", mix},
	} {
		b.Run(bm.name, func(b *testing.B) {
			size := 0
			for _, fr := range bm.frames {
				size += len(fr)
			}
			b.SetBytes(int64(size / len(bm.frames)))
			b.ReportAllocs()
			var (
				d      Decoder
				events int
			)
			i := 0
			for b.Loop() {
				evs, err := d.Decode(bm.frames[i%len(bm.frames)])
				if err != nil {
					b.Fatal(err)
				}
				events += len(evs)
				i++
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func TestBenchFramesAreRealistic(t *testing.T) {
	for _, c := range []struct {
		data     []byte
		min, max int
	}{{benchCreated, 550, 700}, {benchModified, 180, 230}, {benchDeleted, 140, 200}} {
		if n := len(c.data); n < c.min || n > c.max {
			t.Errorf("bench frame of %d bytes, want %d..%d: %s", n, c.min, c.max, strings.TrimSpace(string(c.data[:60])))
		}
		if _, err := DecodeFrame(c.data); err != nil {
			t.Error(err)
		}
	}
}
