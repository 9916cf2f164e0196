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

// encodeResult writes a query answer; objects carry status "" as in any GET.
func encodeResult(res *queryResult, subID string) []byte {
	b := make([]byte, 0, 64+len(res.objs)*600)
	b = append(b, `{"totalCount":`...)
	b = appendString(b, strconv.Itoa(res.total))
	if subID != "" {
		b = append(b, `,"subscriptionId":`...)
		b = appendString(b, subID)
	}
	b = append(b, `,"imdata":[`...)
	for i, o := range res.objs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendObject(b, o.Class, objectAttrs(o, ""))
	}
	return append(b, "]}"...)
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
		b = appendObject(b, it.c.obj().Class, eventAttrs(it.c))
	}
	return append(b, "]}"...)
}

// eventAttrs is what a push carries: everything on create; on modify the
// changed attributes plus dn, status, modTs, rn and childAction; on delete
// only those five (apic-protocol.md §4).
func eventAttrs(c *change) []Attr {
	o := c.obj()
	switch c.status {
	case statusCreated:
		return objectAttrs(o, statusCreated)
	case statusModified:
		attrs := make([]Attr, 0, len(c.changed)+1)
		for _, n := range c.changed {
			if n != "modTs" {
				v, _ := o.Get(n)
				attrs = append(attrs, Attr{n, v})
			}
		}
		attrs = append(attrs, Attr{"modTs", c.modTs})
		return mergeReserved(sortAttrs(attrs), o.DN, statusModified)
	}
	return mergeReserved([]Attr{{"modTs", c.modTs}}, o.DN, statusDeleted)
}

func objectAttrs(o *Object, status string) []Attr {
	return mergeReserved(o.Attrs, o.DN, status)
}

// mergeReserved adds childAction, dn, rn and status to name-sorted attrs,
// keeping the order.
func mergeReserved(attrs []Attr, dn, status string) []Attr {
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

func sortAttrs(a []Attr) []Attr {
	for i := 1; i < len(a); i++ { // tiny slices: insertion sort
		for j := i; j > 0 && a[j].Name < a[j-1].Name; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	return a
}

func appendObject(b []byte, class string, attrs []Attr) []byte {
	b = append(b, '{')
	b = appendString(b, class)
	b = append(b, `:{"attributes":`...)
	b = appendAttrs(b, attrs)
	return append(b, "}}"...)
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

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
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
