package apicsim

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The encoder is checked against encoding/json: every answer and frame must
// be valid JSON of the APIC's exact shape (apic-protocol.md §3, §4), and
// every object must carry, in name order, the attributes written here from
// the Object and change data.

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

// decoded is s as a JSON decoder returns it: each invalid UTF-8 byte
// becomes U+FFFD.
func decoded(s string) string { return string([]rune(s)) }

// The expected outputs are lists of json.Decoder tokens. For valid JSON such
// a list fixes the document but for spacing and escaping: every member in
// order, each attribute's decoded name and value.

// wantObject appends {"class":{"attributes":{...}}}: attrs plus the reserved
// four, in strictly increasing name order (the names are unique).
func wantObject(toks []json.Token, class, dn, status string, attrs map[string]string) []json.Token {
	all := []Attr{{"childAction", ""}, {"dn", dn}, {"rn", ""}, {"status", status}}
	for n, v := range attrs {
		all = append(all, Attr{n, v})
	}
	slices.SortFunc(all, func(a, b Attr) int { return strings.Compare(a.Name, b.Name) })
	toks = append(toks, json.Delim('{'), decoded(class), json.Delim('{'), "attributes", json.Delim('{'))
	for _, a := range all {
		toks = append(toks, decoded(a.Name), decoded(a.Value))
	}
	return append(toks, json.Delim('}'), json.Delim('}'), json.Delim('}'))
}

// wantAnswer is {"totalCount":"N"[,"subscriptionId":"ID"],"imdata":[...]}
// with every attribute of each object and status "" (apic-protocol.md §3).
func wantAnswer(total int, subID string, objs []*Object) []json.Token {
	toks := []json.Token{json.Delim('{'), "totalCount", strconv.Itoa(total)}
	if subID != "" {
		toks = append(toks, "subscriptionId", subID)
	}
	toks = append(toks, "imdata", json.Delim('['))
	for _, o := range objs {
		toks = wantObject(toks, o.Class, o.DN, "", o.Map())
	}
	return append(toks, json.Delim(']'), json.Delim('}'))
}

// wantFrame is {"subscriptionId":[ids],"imdata":[...]}: created carries
// every attribute, modified the changed ones plus the change's modTs,
// deleted only modTs (apic-protocol.md §4).
func wantFrame(ids []string, items []*pushItem) []json.Token {
	toks := []json.Token{json.Delim('{'), "subscriptionId", json.Delim('[')}
	for _, id := range ids {
		toks = append(toks, id)
	}
	toks = append(toks, json.Delim(']'), "imdata", json.Delim('['))
	for _, it := range items {
		switch c := it.c; c.status {
		case statusCreated:
			toks = wantObject(toks, c.post.Class, c.post.DN, c.status, c.post.Map())
		case statusModified:
			attrs := map[string]string{}
			for _, n := range c.changed {
				attrs[n], _ = c.post.Get(n)
			}
			attrs["modTs"] = c.modTs // the change's, even if modTs is among the changed
			toks = wantObject(toks, c.post.Class, c.post.DN, c.status, attrs)
		default:
			toks = wantObject(toks, c.pre.Class, c.pre.DN, c.status, map[string]string{"modTs": c.modTs})
		}
	}
	return append(toks, json.Delim(']'), json.Delim('}'))
}

// checkJSON checks that body is valid JSON in UTF-8 made of the tokens want.
func checkJSON(t *testing.T, body []byte, want []json.Token) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("not valid JSON: %v", json.Unmarshal(body, new(any)))
	}
	if !utf8.Valid(body) { // json.Valid lets invalid UTF-8 through
		t.Fatalf("not valid UTF-8: %.300q", body)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	for i := 0; ; i++ {
		tok, err := d.Token()
		if err == io.EOF && i == len(want) {
			return
		}
		if err != nil || i == len(want) || tok != want[i] {
			off := int(d.InputOffset())
			t.Fatalf("token %d: got %q (%v) in %q, want %q", i, tok, err, body[max(0, off-150):off], want[i:min(i+1, len(want))])
		}
	}
}

func TestWriteResult(t *testing.T) {
	objs := encodeObjects()
	big := slices.Repeat(objs, 4)
	for _, tc := range []struct {
		name     string
		res      *queryResult
		subID    string
		minBytes int
	}{
		{"empty", &queryResult{}, "", 0},
		{"empty page of a big class", &queryResult{total: 12345}, "72057594037927937", 0},
		{"one", &queryResult{objs: objs[:1], total: 1}, "", 0},
		{"varied", &queryResult{objs: objs, total: len(objs)}, "", 0},
		{"varied subscribed", &queryResult{objs: objs, total: 99999}, "72057594037927938", 0},
		{"several chunks", &queryResult{objs: big, total: len(big)}, "72057594037927939", 3 * resultChunk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeResult(w, tc.res, tc.subID)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
			}
			if w.Body.Len() < tc.minBytes {
				t.Fatalf("the answer is %d bytes, not several chunks", w.Body.Len())
			}
			checkJSON(t, w.Body.Bytes(), wantAnswer(tc.res.total, tc.subID, tc.res.objs))
		})
	}
}

func TestAppendFrame(t *testing.T) {
	var items []*pushItem
	for i, o := range encodeObjects() {
		c := &change{pre: o, status: statusDeleted, modTs: "never"}
		switch i % 3 {
		case 0:
			c = &change{post: o, status: statusCreated, modTs: "2026-11-26T12:00:00.000+00:00"}
		case 1: // every other attribute changes, modTs among them for some
			upd := map[string]string{}
			for k, a := range o.Attrs {
				if k%2 == 0 {
					upd[a.Name] = a.Value + "+"
				}
			}
			post, changed := o.withChanges(upd)
			c = &change{pre: o, post: post, status: statusModified, changed: changed, modTs: "2026-11-26T12:00:01.000+00:00"}
		}
		items = append(items, &pushItem{c: c})
	}
	ids := []string{"72057594037927937", "18374686685813276673"}
	for i, it := range items {
		run := []*pushItem{it}
		checkJSON(t, appendFrame(nil, ids[:1+i%2], run), wantFrame(ids[:1+i%2], run))
	}
	checkJSON(t, appendFrame(nil, ids, items), wantFrame(ids, items))
}

// appendString on every byte value, alone and amid plain text, on random
// bytes and on invalid UTF-8.
func TestAppendString(t *testing.T) {
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
	cases = append(cases, "", "é✓😀", "\u2028\u2029", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3", "ok\xe2\x9c")
	for _, s := range cases {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != decoded(s) {
			t.Fatalf("appendString(%q) = %q: decodes to %q (%v), want %q", s, b, got, err, decoded(s))
		}
		// Unmarshal replaces invalid UTF-8 itself: it must not be there.
		if !utf8.Valid(b) || bytes.ContainsFunc(b, func(r rune) bool { return r < 0x20 }) {
			t.Fatalf("appendString(%q) = %q: invalid UTF-8 or a raw control byte", s, b)
		}
	}
}

// A paged answer of several chunks, over HTTPS through the real server.
func TestQueryPageOverHTTPS(t *testing.T) {
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
	if r.code != http.StatusOK || len(r.raw) < 3*resultChunk {
		t.Fatalf("status %d, answer of %d bytes: want 200 and several chunks", r.code, len(r.raw))
	}
	checkJSON(t, r.raw, wantAnswer(len(objs), "", objs[:1500]))
}
