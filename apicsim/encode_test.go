package apicsim

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"unicode/utf8"
)

// The encoder before it merged the reserved attributes while writing and
// streamed query answers, kept verbatim as the reference: the answers and
// frames must stay byte for byte what they were.

func oldEncodeResult(res *queryResult, subID string) []byte {
	b := make([]byte, 0, 64+len(res.objs)*600)
	b = append(b, `{"totalCount":`...)
	b = oldAppendString(b, strconv.Itoa(res.total))
	if subID != "" {
		b = append(b, `,"subscriptionId":`...)
		b = oldAppendString(b, subID)
	}
	b = append(b, `,"imdata":[`...)
	for i, o := range res.objs {
		if i > 0 {
			b = append(b, ',')
		}
		b = oldAppendObject(b, o.Class, oldObjectAttrs(o, ""))
	}
	return append(b, "]}"...)
}

func oldAppendFrame(b []byte, ids []string, items []*pushItem) []byte {
	b = append(b, `{"subscriptionId":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = oldAppendString(b, id)
	}
	b = append(b, `],"imdata":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = oldAppendObject(b, it.c.obj().Class, oldEventAttrs(it.c))
	}
	return append(b, "]}"...)
}

func oldEventAttrs(c *change) []Attr {
	o := c.obj()
	switch c.status {
	case statusCreated:
		return oldObjectAttrs(o, statusCreated)
	case statusModified:
		attrs := make([]Attr, 0, len(c.changed)+1)
		for _, n := range c.changed {
			if n != "modTs" {
				v, _ := o.Get(n)
				attrs = append(attrs, Attr{n, v})
			}
		}
		attrs = append(attrs, Attr{"modTs", c.modTs})
		return oldMergeReserved(sortAttrs(attrs), o.DN, statusModified)
	}
	return oldMergeReserved([]Attr{{"modTs", c.modTs}}, o.DN, statusDeleted)
}

func oldObjectAttrs(o *Object, status string) []Attr {
	return oldMergeReserved(o.Attrs, o.DN, status)
}

func oldMergeReserved(attrs []Attr, dn, status string) []Attr {
	res := [...]Attr{{"childAction", ""}, {"dn", dn}, {"rn", ""}, {"status", status}}
	out := make([]Attr, 0, len(attrs)+len(res))
	i := 0
	for _, a := range attrs {
		for i < len(res) && res[i].Name < a.Name {
			out = append(out, res[i])
			i++
		}
		out = append(out, a)
	}
	return append(out, res[i:]...)
}

func oldAppendObject(b []byte, class string, attrs []Attr) []byte {
	b = append(b, '{')
	b = oldAppendString(b, class)
	b = append(b, `:{"attributes":`...)
	b = oldAppendAttrs(b, attrs)
	return append(b, "}}"...)
}

func oldAppendAttrs(b []byte, attrs []Attr) []byte {
	b = append(b, '{')
	for i, a := range attrs {
		if i > 0 {
			b = append(b, ',')
		}
		b = oldAppendString(b, a.Name)
		b = append(b, ':')
		b = oldAppendString(b, a.Value)
	}
	return append(b, '}')
}

func oldAppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// encodeObjects is a varied set: every model class, names on both sides of
// each reserved name, values that need escaping, no attributes at all.
func encodeObjects() []*Object {
	r := rand.New(rand.NewPCG(3, 4))
	var objs []*Object
	for _, class := range slices.Sorted(maps.Keys(mdlRNPrefix)) {
		for i := range 50 {
			dn := "uni/tn-t" + strconv.Itoa(i) + "/" + mdlRNPrefix[class] + "x" + strconv.Itoa(i)
			if class == "faultInst" {
				dn = "uni/tn-t" + strconv.Itoa(i) + "/fault-F" + strconv.Itoa(1000+i)
			}
			objs = append(objs, &Object{Class: class, DN: dn, Attrs: sortedAttrs(newAttrs(r, class, dn, "2026-11-26T12:00:00.000+00:00"))})
		}
	}
	odd := map[string]string{
		"a": "plain", "b": "", "childAct": "x", "childActionZ": "y", "d": `quote " back \ slash`,
		"dnA": "new\nline\ttab\rcr", "do": "\x00\x01\x1f\x7f", "q": "héllo wörld ✓", "rn0": "bad \xff utf8 \xc3",
		"ro": "</script>&<>", "s": "s", "statu": "u", "statusZ": "z", "zz": "last",
	}
	objs = append(objs,
		&Object{Class: "fvTenant", DN: `uni/tn-"quoted"\back`, Attrs: sortedAttrs(odd)},
		&Object{Class: "fvTenant", DN: "uni/tn-empty"},
		&Object{Class: "fvTenant", DN: "uni/tn-z", Attrs: []Attr{{"zzz", "1"}}},
		&Object{Class: "fvTenant", DN: "uni/tn-a", Attrs: []Attr{{"aaa", "1"}}},
		&Object{Class: "weird\"class", DN: "topology/pod-1/node-101/sys/phys-[eth1/1]", Attrs: []Attr{{"descr", "x"}, {"status2", "y"}}},
	)
	return objs
}

func TestWriteResultMatchesOldEncoder(t *testing.T) {
	objs := encodeObjects()
	big := slices.Repeat(objs, 4)
	if n := len(oldEncodeResult(&queryResult{objs: big}, "")); n < 3*resultChunk {
		t.Fatalf("the big answer is %d bytes, not several chunks", n)
	}
	for _, tc := range []struct {
		name  string
		res   *queryResult
		subID string
	}{
		{"empty", &queryResult{}, ""},
		{"empty page of a big class", &queryResult{total: 12345}, "72057594037927937"},
		{"one", &queryResult{objs: objs[:1], total: 1}, ""},
		{"varied", &queryResult{objs: objs, total: len(objs)}, ""},
		{"varied subscribed", &queryResult{objs: objs, total: 99999}, "72057594037927938"},
		{"several chunks", &queryResult{objs: big, total: len(big)}, "72057594037927939"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeResult(w, tc.res, tc.subID)
			want := oldEncodeResult(tc.res, tc.subID)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
			}
			if got := w.Body.Bytes(); !bytes.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Fatalf("answer differs at byte %d of %d/%d:\ngot  %.200s\nwant %.200s", i, len(got), len(want), got[i:], want[i:])
			}
		})
	}
}

func TestAppendFrameMatchesOldEncoder(t *testing.T) {
	objs := encodeObjects()
	var items []*pushItem
	for i, o := range objs {
		var c *change
		switch i % 3 {
		case 0:
			c = &change{post: o, status: statusCreated, modTs: "2026-11-26T12:00:00.000+00:00"}
		case 1:
			var changed []string
			for k, a := range o.Attrs {
				if k%2 == 0 {
					changed = append(changed, a.Name)
				}
			}
			c = &change{pre: o, post: o, status: statusModified, changed: changed, modTs: "2026-11-26T12:00:01.000+00:00"}
		default:
			c = &change{pre: o, status: statusDeleted, modTs: "never"}
		}
		items = append(items, &pushItem{c: c})
	}
	ids := []string{"72057594037927937", "72057594037927938"}
	for n := 1; n <= len(items); n += 7 {
		for _, run := range [][]*pushItem{items[n-1 : n], items[:n]} {
			got, want := appendFrame(nil, ids, run), oldAppendFrame(nil, ids, run)
			if !bytes.Equal(got, want) {
				t.Fatalf("frame of %d items differs:\ngot  %s\nwant %s", len(run), got, want)
			}
		}
	}
}

// appendString's byte table must escape exactly what the old comparisons
// did: every byte value, alone and amid plain text, and random bytes.
func TestAppendStringMatchesOldEncoder(t *testing.T) {
	var cases []string
	for c := range 256 {
		cases = append(cases, string([]byte{byte(c)}), "ab"+string([]byte{byte(c)})+"cd", string(rune(c)))
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		s := make([]byte, r.IntN(40))
		for i := range s {
			s[i] = byte(r.IntN(256))
		}
		cases = append(cases, string(s))
	}
	cases = append(cases, "", "é✓😀", "\u2028\u2029", "\xed\xa0\x80", "\xf4\x90\x80\x80")
	for _, s := range cases {
		if got, want := appendString(nil, s), oldAppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

// A paged answer of several chunks, over HTTPS through the real server, is
// the old encoder's answer for the same objects.
func TestQueryPageOverHTTPSMatchesOldEncoder(t *testing.T) {
	s := newSim(t, Config{})
	for _, o := range encodeObjects() {
		if o.Class == "fvCEp" {
			for i := range 40 {
				if err := s.Create(o.Class, o.DN+strconv.Itoa(i), o.Map()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	c := newClient(t, s, 0)
	c.mustLogin()
	const first = "uni/tn-t1"
	r := c.get(`/api/class/fvCEp.json?order-by=fvCEp.dn|asc&page=0&page-size=1500&query-target-filter=gt(fvCEp.dn,"` + first + `")`)
	s.mu.Lock()
	var objs []*Object // every match; the page is the first 1500
	for _, dn := range s.st.classes["fvCEp"].sortedDNs() {
		if dn > first {
			objs = append(objs, s.st.objs[dn])
		}
	}
	s.mu.Unlock()
	if len(objs) <= 1500 {
		t.Fatalf("only %d matches: want more than a page", len(objs))
	}
	want := oldEncodeResult(&queryResult{objs: objs[:1500], total: len(objs)}, "")
	if len(want) < 3*resultChunk {
		t.Fatalf("the page is %d bytes, not several chunks", len(want))
	}
	if r.code != http.StatusOK || !bytes.Equal(r.raw, want) {
		t.Fatalf("status %d, answer of %d bytes differs from the old encoder's %d", r.code, len(r.raw), len(want))
	}
}
