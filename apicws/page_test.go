package apicws

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aci-exporter/aci-exporter/event"
)

func TestDecodePage(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *page
		err  error
	}{
		{
			name: "subscribe answer",
			in: `{"totalCount":"103409","subscriptionId":"72058242595225601","imdata":[
				{"fvBD":{"attributes":{"childAction":"","descr":"x","dn":"uni/tn-a/BD-b","modTs":"2023-05-04T16:02:00.972-04:00","name":"b","rn":"","status":""}}},
				{"faultInst":{"attributes":{"dn":"uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-x/ap-a/epg-e]/fault-F1","lc":"raised","modTs":"never","severity":"major","code":"F1"},"children":[]}}]}`,
			want: &page{total: 103409, subID: "72058242595225601", objs: []event.Object{
				{DN: "uni/tn-a/BD-b", Tenant: "a", Attrs: []event.Attr{{Name: "modTs", Value: "2023-05-04T16:02:00.972-04:00"}}},
				{DN: "uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-x/ap-a/epg-e]/fault-F1", Tenant: "common",
					Attrs: []event.Attr{{Name: "lc", Value: "raised"}, {Name: "modTs", Value: "never"}, {Name: "severity", Value: "major"}}},
			}},
		},
		{name: "numeric id kept digit for digit", in: `{"subscriptionId":18374686685813276673,"imdata":[]}`, want: &page{subID: "18374686685813276673"}},
		{name: "plain page", in: `{"totalCount":"0","imdata":[]}`, want: &page{}},
		{name: "error record", in: `{"totalCount":"1","imdata":[{"error":{"attributes":{"code":"400","text":"x"}}}]}`, err: errPageError},
		{name: "no dn", in: `{"imdata":[{"fvBD":{"attributes":{"name":"b"}}}]}`, err: errBadAnswer},
		{name: "bad id", in: `{"subscriptionId":1.5,"imdata":[]}`, err: errBadAnswer},
		{name: "not json", in: `{"imdata":[`, err: errBadAnswer},
		{name: "nested attribute", in: `{"imdata":[{"fvBD":{"attributes":{"dn":"uni/tn-a/BD-b","x":{}}}}]}`, err: errBadAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePage([]byte(tt.in), nil)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if got != nil {
				got.arena = nil
				if len(got.objs) == 0 {
					got.objs = nil
				}
			}
			if tt.err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// FuzzDecodePage: whatever the answer, decodePage returns an error or
// objects with a dn, their tenant and fingerprint attributes only, and it
// refuses what json.Valid refuses.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"totalCount":"2","subscriptionId":"7","imdata":[{"fvBD":{"attributes":{"dn":"uni/tn-a/BD-b","modTs":"x","name":"b"}}},` +
		`{"faultInst":{"attributes":{"dn":"topology/pod-1/node-1/fault-F1","lc":"raised","severity":"major"},"children":[]}}]}`))
	f.Add([]byte(`{"imdata":[{"error":{"attributes":{"code":"400","text":"x"}}}]}`))
	f.Add([]byte(`{"imdata":[{"fvBD":{"attributes":{"d\u006e":"uni\/tn-\u00e9","modTs":"\ud83d\ude00"}}}]} `))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodePage(data, nil)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		for _, o := range p.objs {
			if o.DN == "" || o.Tenant != Tenant(o.DN) {
				t.Fatalf("object %+v", o)
			}
			for _, a := range o.Attrs {
				if event.FingerprintIndex(a.Name) < 0 {
					t.Fatalf("attribute %q kept", a.Name)
				}
			}
		}
	})
}

// decodePage reads its text in place; what it returns must be copies, as
// the buffer is reused for the next page.
func TestDecodePageKeepsNothingOfItsText(t *testing.T) {
	text := `{"totalCount":"2","subscriptionId":"72058242595225601","imdata":[` +
		`{"fvBD":{"attributes":{"dn":"uni/tn-a/BD-b","modTs":"2023-05-04T16:02:00.972-04:00","name":"b"}}},` +
		`{"faultInst":{"attributes":{"dn":"topology/pod-1/node-1/fault-F1","lc":"raised","severity":"major"}}}]}`
	data := []byte(text)
	got, err := decodePage(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := decodePage([]byte(text), nil)
	for i := range data {
		data[i] = 'x'
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the page changed with its buffer:\n got %+v\nwant %+v", got, want)
	}
}

// A released page's arena serves the next page, which reads right: the
// next page's objects never show the last one's text.
func TestReleasedArenaIsReused(t *testing.T) {
	spare := make(spares[pageArena], 1)
	first, err := decodePage([]byte(`{"imdata":[{"fvBD":{"attributes":{"dn":"uni/tn-a/BD-first-with-a-long-name","modTs":"t1"}}}]}`), spare)
	if err != nil {
		t.Fatal(err)
	}
	arena := first.arena
	first.release()
	if first.objs != nil || first.arena != nil {
		t.Fatal("a released page still holds its objects")
	}
	next, err := decodePage([]byte(`{"imdata":[{"fvBD":{"attributes":{"dn":"uni/tn-b/BD-2","modTs":"t2"}}},{"fvBD":{"attributes":{"dn":"uni/tn-c/BD-3"}}}]}`), spare)
	if err != nil {
		t.Fatal(err)
	}
	if next.arena != arena {
		t.Fatal("the released arena was not reused")
	}
	want := []event.Object{
		{DN: "uni/tn-b/BD-2", Tenant: "b", Attrs: []event.Attr{{Name: "modTs", Value: "t2"}}},
		{DN: "uni/tn-c/BD-3", Tenant: "c"},
	}
	if !reflect.DeepEqual(next.objs, want) {
		t.Fatalf("got %+v\nwant %+v", next.objs, want)
	}
}
