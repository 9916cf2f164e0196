package apicsim

import (
	"net/http"
	"strconv"
	"unicode/utf8"
)

// The APIC writes every value as a JSON string and attributes in name order;
// so does this hand-rolled encoder, which keeps pushing cheap.

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}

// writeError answers with the APIC's error envelope.
func writeError(w http.ResponseWriter, code int, text string) {
	writeJSON(w, code, errorBody(code, text))
}

func errorBody(code int, text string) []byte {
	b := []byte(`{"totalCount":"1","imdata":[{"error":{"attributes":{"code":`)
	b = appendString(b, strconv.Itoa(code))
	b = append(b, `,"text":`...)
	b = appendString(b, text)
	return append(b, `}}}]}`...)
}

// writeLogin answers aaaLogin and aaaRefresh, with the token as a cookie.
func writeLogin(w http.ResponseWriter, token string, body []byte) {
	w.Header().Set("Set-Cookie", "APIC-cookie="+token+"; path=/; HttpOnly; HttpOnly; Secure")
	writeJSON(w, http.StatusOK, body)
}

// loginBody is the aaaLogin record of apic-protocol.md §1.1.
func (c *controller) loginBody(sess *session) []byte {
	cfg := &c.sim.cfg
	created := strconv.FormatInt(sess.created.Unix(), 10)
	attrs := []Attr{
		{"buildTime", "Wed Aug 04 17:44:19 UTC 2021"},
		{"changePassword", "no"},
		{"creationTime", created},
		{"firstLoginTime", created},
		{"firstName", ""},
		{"guiIdleTimeoutSeconds", "3600"},
		{"lastName", ""},
		{"maximumLifetimeSeconds", strconv.FormatInt(int64(cfg.MaxLifetime.Seconds()), 10)},
		{"node", c.node()},
		{"refreshTimeoutSeconds", strconv.FormatInt(int64(cfg.RefreshTimeout.Seconds()), 10)},
		{"remoteUser", "false"},
		{"restTimeoutSeconds", "90"},
		{"sessionId", sessionID(sess.token)},
		{"siteFingerprint", "rjrdck0n5dszr2udbwb6wrdsnwq13qtj"},
		{"token", sess.token},
		{"unixUserId", "15374"},
		{"userName", sess.user},
		{"version", cfg.Version},
	}
	b := []byte(`{"totalCount":"1","imdata":[{"aaaLogin":{"attributes":`)
	b = appendAttrs(b, attrs)
	return append(b, `,"children":[]}}]}`...)
}

func sessionID(token string) string {
	if len(token) > 24 {
		return token[len(token)-24:]
	}
	return token
}

// resultChunk is how much of a query answer is encoded before it is handed
// to the connection. A page of 10,000 objects is 5–10 MB: encoding it whole
// took a buffer of that size per page (grown by doubling), most of the
// simulator's allocations and so of its GC work.
const resultChunk = 64 << 10

// writeResult writes a query answer, in pieces of about resultChunk bytes;
// objects carry status "" as in any GET. It runs without s.mu: Objects are
// immutable.
func writeResult(w http.ResponseWriter, res *queryResult, subID string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if res.count {
		w.Write(countBody(res.total, subID))
		return
	}
	n := len(res.objs)
	if res.tree != nil {
		n = len(res.tree)
	}
	// A small answer fits in one buffer of about its size; a large one
	// reuses a chunk, with room for the object that crosses its end.
	b := make([]byte, 0, min(64+n*600, resultChunk+4<<10))
	b = appendResultHead(b, res.total, subID)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		if res.tree != nil {
			b = appendNode(b, res.tree[i], res.props, true)
		} else {
			o := res.objs[i]
			b = appendObject(b, o.Class, o.DN, "", o.Attrs)
		}
		if len(b) >= resultChunk {
			if _, err := w.Write(b); err != nil {
				return // the client is gone: the rest would be wasted
			}
			b = b[:0]
		}
	}
	w.Write(append(b, "]}"...))
}

// countBody is the answer to rsp-subtree-include=count: one moCount object.
func countBody(n int, subID string) []byte {
	b := appendResultHead(nil, 1, subID)
	b = append(b, `{"moCount":{"attributes":{`...)
	b = appendMerged(b, []Attr{{"childAction", ""}, {"count", strconv.Itoa(n)}, {"dn", ""}, {"status", ""}}, nil)
	b[len(b)-1] = '}'
	return append(b, "}}]}"...)
}

// appendNode writes an object of a shaped answer with its children. A
// nested object names itself by its rn, without a dn.
func appendNode(b []byte, n *node, props string, top bool) []byte {
	o := n.o
	reserved := []Attr{{"childAction", ""}, {"dn", o.DN}, {"rn", ""}, {"status", ""}}
	if !top {
		_, rn := mdlLastRN(o.DN)
		reserved = []Attr{{"childAction", ""}, {"rn", rn}, {"status", ""}}
	}
	b = appendObjectHead(b, o.Class)
	b = appendMerged(b, reserved, propAttrs(props, o))
	b[len(b)-1] = '}' // the last attribute's comma
	if len(n.kids) > 0 {
		b = append(b, `,"children":[`...)
		for i, k := range n.kids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendNode(b, k, props, false)
		}
		b = append(b, ']')
	}
	return append(b, "}}"...)
}

// appendResultHead writes the answer up to the first object.
func appendResultHead(b []byte, total int, subID string) []byte {
	b = append(b, `{"totalCount":`...)
	b = appendString(b, strconv.Itoa(total))
	if subID != "" {
		b = append(b, `,"subscriptionId":`...)
		b = appendString(b, subID)
	}
	return append(b, `,"imdata":[`...)
}

// appendFrame writes one event frame for a run of changes that share the
// same subscription ids.
func appendFrame(b []byte, ids []string, items []*pushItem) []byte {
	b = append(b, `{"subscriptionId":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, id)
	}
	b = append(b, `],"imdata":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		o := it.c.obj()
		b = appendObject(b, o.Class, o.DN, it.c.status, eventAttrs(it.c))
	}
	return append(b, "]}"...)
}

// eventAttrs is what a push carries besides the reserved attributes:
// everything on create; on modify the changed attributes plus modTs; on
// delete only modTs (apic-protocol.md §4).
func eventAttrs(c *change) []Attr {
	o := c.obj()
	switch c.status {
	case statusCreated:
		return o.Attrs
	case statusModified:
		attrs := make([]Attr, 0, len(c.changed)+1)
		for _, n := range c.changed {
			if n != "modTs" {
				v, _ := o.Get(n)
				attrs = append(attrs, Attr{n, v})
			}
		}
		attrs = append(attrs, Attr{"modTs", c.modTs})
		return sortAttrs(attrs)
	}
	return []Attr{{"modTs", c.modTs}}
}

func sortAttrs(a []Attr) []Attr {
	for i := 1; i < len(a); i++ { // tiny slices: insertion sort
		for j := i; j > 0 && a[j].Name < a[j-1].Name; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	return a
}

// appendObject writes one object: attrs (name-sorted, without the reserved
// names) with childAction, dn, rn and status merged in, all in name order as
// the APIC writes them. Merging while writing, rather than into a new
// []Attr, spares an allocation per object.
func appendObject(b []byte, class, dn, status string, attrs []Attr) []byte {
	res := [...]Attr{{"childAction", ""}, {"dn", dn}, {"rn", ""}, {"status", status}}
	b = appendObjectHead(b, class)
	b = appendMerged(b, res[:], attrs)
	b[len(b)-1] = '}' // the last attribute's comma
	return append(b, "}}"...)
}

// appendObjectHead writes {"class":{"attributes":{ .
func appendObjectHead(b []byte, class string) []byte {
	b = append(b, '{')
	b = appendString(b, class)
	return append(b, `:{"attributes":{`...)
}

// appendMerged writes two name-sorted attribute lists merged in name
// order, each attribute followed by a comma.
func appendMerged(b []byte, reserved, attrs []Attr) []byte {
	r := 0
	for _, a := range attrs {
		for ; r < len(reserved) && reserved[r].Name < a.Name; r++ {
			b = appendAttr(b, reserved[r])
		}
		b = appendAttr(b, a)
	}
	for ; r < len(reserved); r++ {
		b = appendAttr(b, reserved[r])
	}
	return b
}

// appendAttr writes "name":"value", with a comma after it.
func appendAttr(b []byte, a Attr) []byte {
	b = appendString(b, a.Name)
	b = append(b, ':')
	b = appendString(b, a.Value)
	return append(b, ',')
}

func appendAttrs(b []byte, attrs []Attr) []byte {
	b = append(b, '{')
	for i, a := range attrs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, a.Name)
		b = append(b, ':')
		b = appendString(b, a.Value)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// plainByte[c]: c is written as is, without escaping or a UTF-8 check. One
// table load per byte is cheaper than the four comparisons it stands for,
// and appendString is most of the cost of a query answer.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainByte[c] {
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
