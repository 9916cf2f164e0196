package apicws

import (
	"github.com/aci-exporter/aci-exporter/event"

	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Reasons a frame or an object in it is refused. They are a small fixed set so
// that they can label a metric.
const (
	ReasonInvalidJSON      = "invalid_json"       // not JSON, or not a JSON object
	ReasonNoSubscriptionID = "no_subscription_id" // subscriptionId missing, empty or not string/integer ids
	ReasonNoImdata         = "no_imdata"          // imdata missing or not an array
	ReasonBadObject        = "bad_object"         // imdata entry is not {"class":{"attributes":{scalars}}}
	ReasonNoDN             = "no_dn"              // object without a dn
	ReasonBadStatus        = "bad_status"         // status is not created, modified or deleted
)

// DecodeReasons returns every Reason a DecodeError can carry, so that the
// series of an error counter can be created before the first error.
func DecodeReasons() []string {
	return []string{
		ReasonInvalidJSON, ReasonNoSubscriptionID, ReasonNoImdata,
		ReasonBadObject, ReasonNoDN, ReasonBadStatus,
	}
}

// DecodeError is what DecodeFrame returns when a frame, or some of its objects,
// could not be decoded.
type DecodeError struct {
	Reason string // one of the Reason constants; the first problem of the frame
	// Skipped counts the frame's objects that were not delivered. It is 0 when
	// the frame as a whole was refused (invalid_json, no_subscription_id,
	// no_imdata): then nothing was delivered and the objects were not counted.
	Skipped int
	Err     error // details of the first problem
}

func (e *DecodeError) Error() string {
	msg := e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Skipped > 1 {
		msg += fmt.Sprintf(" (%d objects skipped)", e.Skipped)
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

var (
	errNotObject  = errors.New("frame is not a JSON object")
	errNoIDs      = errors.New("no subscriptionId")
	errEmptyIDs   = errors.New("empty subscriptionId list")
	errBadID      = errors.New("subscription id is not a non-empty string or an unsigned integer")
	errNoImdata   = errors.New("no imdata")
	errImdataType = errors.New("imdata is not an array")
	errLost       = errors.New("scanner lost its place in valid JSON") // a bug, not bad input
)

// DecodeFrame decodes one websocket text frame,
//
//	{"subscriptionId":["1","2"],"imdata":[{"fvBD":{"attributes":{...}}}, ...]}
//
// and calls fn (if not nil) with every object of imdata that is a valid event,
// in frame order. It returns how many events it delivered.
//
// A frame that is not JSON or lacks usable subscription ids or imdata is refused
// whole. A bad object is skipped without losing the good ones around it; the
// *DecodeError returned then names the first problem and how many were skipped.
// subscriptionId may be an array or, defensively, a single value; ids may be
// strings or JSON integers, kept as their exact decimal text (they exceed
// int64). Attribute values are strings in APIC output; a number or boolean is
// kept as its JSON text, null as "", and an object or array makes the whole
// object bad. Member names match exactly, not case-insensitively as in
// encoding/json; for a repeated name the last one wins, as there.
func DecodeFrame(data []byte, fn func(event.Event)) (int, error) {
	// Validating first lets the scanner below trust the syntax and only find
	// structure; any error it still meets is reported, never a panic.
	// validJSON accepts exactly what json.Valid does, several times faster.
	if !validJSON(data) {
		return 0, &DecodeError{Reason: ReasonInvalidJSON, Err: syntaxError(data)}
	}
	// One conversion per frame: every string of every event is a substring.
	sc := scanner{s: string(data)}
	idsAt, imdataAt := -1, -1
	if !sc.open('{') {
		return 0, &DecodeError{Reason: ReasonInvalidJSON, Err: errNotObject}
	}
	for sc.more('}') {
		// APIC sends subscriptionId first, but JSON does not promise it, so
		// note where both values are and read them in the order we need.
		switch sc.key() {
		case "subscriptionId":
			idsAt = sc.pos
		case "imdata":
			imdataAt = sc.pos
		}
		sc.skip()
	}
	if sc.bad {
		return 0, &DecodeError{Reason: ReasonInvalidJSON, Err: errLost}
	}
	ids, err := sc.subscriptionIDs(idsAt)
	if err != nil {
		return 0, &DecodeError{Reason: ReasonNoSubscriptionID, Err: err}
	}
	return sc.objects(imdataAt, ids, fn)
}

// syntaxError explains why json.Valid refused data. It runs only for bad frames.
func syntaxError(data []byte) error {
	var v struct{}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return errors.New("invalid JSON")
}

func (sc *scanner) subscriptionIDs(at int) ([]string, error) {
	if at < 0 {
		return nil, errNoIDs
	}
	sc.pos = at
	if !sc.open('[') {
		id, err := sc.id()
		if err != nil {
			return nil, err
		}
		return []string{id}, nil
	}
	var buf [8]string // frames list a handful of ids; one exact-size copy below
	ids := buf[:0]
	for sc.more(']') {
		id, err := sc.id()
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errEmptyIDs
	}
	return slices.Clone(ids), nil
}

// id reads one subscription id: a non-empty string, or an integer literal whose
// text is taken as is so that no float rounding touches 20-digit ids.
func (sc *scanner) id() (string, error) {
	switch c := sc.peek(); {
	case c == '"':
		if id := sc.str(); id != "" {
			return id, nil
		}
	case c >= '0' && c <= '9':
		start := sc.pos
		sc.literal()
		if num := sc.s[start:sc.pos]; isDigits(num) {
			return num, nil
		}
	}
	return "", errBadID
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// objects walks the imdata array at position at and delivers each valid object.
func (sc *scanner) objects(at int, ids []string, fn func(event.Event)) (int, error) {
	if at < 0 {
		return 0, &DecodeError{Reason: ReasonNoImdata, Err: errNoImdata}
	}
	sc.pos = at
	if !sc.open('[') {
		return 0, &DecodeError{Reason: ReasonNoImdata, Err: errImdataType}
	}
	var buf [32]event.Attr // scratch for one object's attributes
	scratch := buf[:0]
	var (
		n    int
		derr *DecodeError
		// Every event's Attrs is a capped piece of one array per frame
		// (a new array when it is full; earlier events keep theirs).
		all []event.Attr
	)
	for i := 0; sc.more(']'); i++ {
		start := sc.pos
		ev := event.Event{SubscriptionIDs: ids}
		var bad *DecodeError
		scratch, bad = sc.object(&ev, scratch[:0])
		if bad != nil {
			// Only the first problem is formatted, so a flood of bad objects
			// costs little; the rest are counted.
			if derr == nil {
				derr = bad
				derr.Err = fmt.Errorf("imdata[%d]: %w", i, bad.Err)
			}
			derr.Skipped++
			sc.pos = start
			sc.skip() // resume after the bad entry
			continue
		}
		if len(scratch) > 0 {
			if cap(all)-len(all) < len(scratch) {
				all = make([]event.Attr, 0, max(2*cap(all), len(scratch)))
			}
			start := len(all)
			all = append(all, scratch...)
			ev.Attrs = all[start:len(all):len(all)]
		}
		n++
		if fn != nil {
			fn(ev)
		}
	}
	if sc.bad {
		return n, &DecodeError{Reason: ReasonInvalidJSON, Err: errLost}
	}
	if derr != nil {
		return n, derr
	}
	return n, nil
}

// object decodes one imdata entry, {"class":{"attributes":{...}}}, into ev. It
// returns the scratch slice, possibly grown, for the next object. Members of the
// class object other than attributes (children) are ignored.
func (sc *scanner) object(ev *event.Event, scratch []event.Attr) ([]event.Attr, *DecodeError) {
	if !sc.open('{') {
		return scratch, badObject("entry is not a JSON object")
	}
	classes, attributes := 0, 0
	var status string
	for sc.more('}') {
		if classes++; classes > 1 {
			return scratch, badObject("entry has more than one class")
		}
		ev.Class = sc.key()
		if !sc.open('{') {
			return scratch, badObject("class %q: value is not a JSON object", ev.Class)
		}
		for sc.more('}') {
			if sc.key() != "attributes" {
				sc.skip()
				continue
			}
			if attributes++; attributes > 1 {
				return scratch, badObject("class %q: attributes given twice", ev.Class)
			}
			var err error
			if scratch, status, err = sc.attributes(ev, scratch); err != nil {
				return scratch, &DecodeError{Reason: ReasonBadObject, Err: fmt.Errorf("class %q: %w", ev.Class, err)}
			}
		}
	}
	switch {
	case sc.bad:
		return scratch, badObject("%v", errLost)
	case classes == 0:
		return scratch, badObject("entry is an empty object")
	case ev.Class == "":
		return scratch, badObject("empty class name")
	case attributes == 0:
		return scratch, badObject("class %q: no attributes", ev.Class)
	case ev.DN == "":
		return scratch, &DecodeError{Reason: ReasonNoDN, Err: fmt.Errorf("class %q: no dn", ev.Class)}
	}
	st, ok := event.ParseStatus(status)
	if !ok {
		return scratch, &DecodeError{Reason: ReasonBadStatus,
			Err: fmt.Errorf("%s %s: status %q is not created, modified or deleted", ev.Class, ev.DN, status)}
	}
	ev.Status = st
	ev.Tenant = Tenant(ev.DN)
	return scratch, nil
}

func badObject(format string, args ...any) *DecodeError {
	return &DecodeError{Reason: ReasonBadObject, Err: fmt.Errorf(format, args...)}
}

// attributes reads an attributes object into ev and scratch and returns the
// status word. For a repeated name the last dn, status and modTs win, as in
// encoding/json; Attrs keeps every occurrence.
func (sc *scanner) attributes(ev *event.Event, scratch []event.Attr) ([]event.Attr, string, error) {
	if !sc.open('{') {
		return scratch, "", errors.New("attributes is not a JSON object")
	}
	var status string
	for sc.more('}') {
		name := sc.key()
		value, ok := sc.scalar()
		if !ok {
			return scratch, "", fmt.Errorf("attribute %q is an object or an array", name)
		}
		switch name {
		case "dn":
			ev.DN = value
		case "status":
			status = value
		case "rn", "childAction":
			// Always "" in events; identity is the dn.
		case "modTs":
			ev.ModTs = value
			scratch = append(scratch, event.Attr{Name: name, Value: value})
		default:
			scratch = append(scratch, event.Attr{Name: name, Value: value})
		}
	}
	return scratch, status, nil
}

// scanner walks JSON text that json.Valid has accepted, so it only finds
// structure. It still checks every bound: should it ever lose its place, it sets
// bad and jumps to the end, so that loops stop and the caller reports errLost.
type scanner struct {
	s   string
	pos int
	bad bool
}

func (sc *scanner) fail() {
	sc.bad = true
	sc.pos = len(sc.s)
}

// peek skips white space and returns the next byte, or 0 at the end.
func (sc *scanner) peek() byte {
	for sc.pos < len(sc.s) {
		switch c := sc.s[sc.pos]; c {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return c
		}
	}
	return 0
}

// open consumes c, '{' or '[', if it comes next.
func (sc *scanner) open(c byte) bool {
	if sc.peek() != c {
		return false
	}
	sc.pos++
	return true
}

// more reports whether the object or array being walked has another member,
// consuming the comma before it or the closing byte end after the last.
func (sc *scanner) more(end byte) bool {
	switch sc.peek() {
	case end:
		sc.pos++
		return false
	case 0:
		sc.fail()
		return false
	case ',':
		sc.pos++
	}
	return !sc.bad
}

// key reads an object member's name and the colon after it.
func (sc *scanner) key() string {
	k := sc.str()
	if sc.peek() != ':' {
		sc.fail()
		return ""
	}
	sc.pos++
	return k
}

// str reads a string. Plain strings are substrings of the frame; the rare one
// with escapes or invalid UTF-8 is left to encoding/json, which decodes the
// escapes and replaces bad bytes with U+FFFD, so every result is valid UTF-8.
func (sc *scanner) str() string {
	if sc.peek() != '"' {
		sc.fail()
		return ""
	}
	start := sc.pos
	plain := sc.skipStr()
	if sc.bad {
		return ""
	}
	if raw := sc.s[start+1 : sc.pos-1]; plain && utf8.ValidString(raw) {
		return raw
	}
	var v string
	if err := json.Unmarshal([]byte(sc.s[start:sc.pos]), &v); err != nil {
		sc.fail()
		return ""
	}
	return v
}

// skipStr consumes a string and reports whether it has no escapes.
func (sc *scanner) skipStr() (plain bool) {
	if sc.peek() != '"' {
		sc.fail()
		return false
	}
	plain = true
	for i := sc.pos + 1; i < len(sc.s); i++ {
		switch sc.s[i] {
		case '"':
			sc.pos = i + 1
			return plain
		case '\\':
			plain = false
			i++ // the escaped byte cannot end the string
		}
	}
	sc.fail()
	return false
}

// scalar reads an attribute value: a string, decoded; a number, true or false,
// as written; null as "". ok is false for an object or an array, which it skips.
func (sc *scanner) scalar() (value string, ok bool) {
	switch sc.peek() {
	case '"':
		return sc.str(), true
	case '{', '[':
		sc.skip()
		return "", false
	}
	start := sc.pos
	sc.literal()
	if lit := sc.s[start:sc.pos]; lit != "null" {
		return lit, true
	}
	return "", true
}

// literal consumes a number, true, false or null.
func (sc *scanner) literal() {
	start := sc.pos
loop:
	for sc.pos < len(sc.s) {
		switch sc.s[sc.pos] {
		case ',', '}', ']', ':', '"', '{', '[', ' ', '\t', '\n', '\r':
			break loop
		}
		sc.pos++
	}
	if sc.pos == start {
		sc.fail() // nothing consumed: not a value at all
	}
}

// skip consumes one value of any kind.
func (sc *scanner) skip() {
	switch sc.peek() {
	case '"':
		sc.skipStr()
	case '{', '[':
		sc.skipNested()
	default:
		sc.literal()
	}
}

// skipNested consumes an object or array, counting brackets outside strings.
func (sc *scanner) skipNested() {
	depth := 0
	for sc.pos < len(sc.s) {
		switch sc.s[sc.pos] {
		case '"':
			sc.skipStr()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				sc.pos++
				return
			}
		}
		sc.pos++
	}
	sc.fail()
}

// maxNestingDepth is encoding/json's: deeper JSON is not valid for it.
const maxNestingDepth = 10000

// validJSON reports whether data is one valid JSON value, exactly as
// json.Valid does (FuzzValidJSON compares them), in one tight pass: most
// of a frame is string bytes, scanned a byte at a time with one table
// lookup.
func validJSON(s []byte) bool {
	var stackBuf [16]byte
	stack := stackBuf[:0] // '{' or '[' per open container
	i := skipWS(s, 0)
	for {
		// A value starts at i.
		if i >= len(s) {
			return false
		}
		switch c := s[i]; c {
		case '{', '[':
			if len(stack) >= maxNestingDepth {
				return false
			}
			stack = append(stack, c)
			i = skipWS(s, i+1)
			if i < len(s) && s[i] == c+2 { // '}' or ']'
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				if i = memberName(s, i); i < 0 {
					return false
				}
			}
			continue
		case '"':
			if i = validString(s, i); i < 0 {
				return false
			}
		case 't':
			if i = validLiteral(s, i, "true"); i < 0 {
				return false
			}
		case 'f':
			if i = validLiteral(s, i, "false"); i < 0 {
				return false
			}
		case 'n':
			if i = validLiteral(s, i, "null"); i < 0 {
				return false
			}
		default:
			if i = validNumber(s, i); i < 0 {
				return false
			}
		}
		// After a value: close containers, or a comma and the next value.
		for {
			i = skipWS(s, i)
			if len(stack) == 0 {
				return i == len(s)
			}
			if i >= len(s) {
				return false
			}
			top := stack[len(stack)-1]
			if s[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if s[i] != ',' {
				return false
			}
			i = skipWS(s, i+1)
			if top == '{' {
				if i = memberName(s, i); i < 0 {
					return false
				}
			}
			break
		}
	}
}

func skipWS(s []byte, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// memberName consumes `"name" :` and the white space after it.
func memberName(s []byte, i int) int {
	if i >= len(s) || s[i] != '"' {
		return -1
	}
	if i = validString(s, i); i < 0 {
		return -1
	}
	if i = skipWS(s, i); i >= len(s) || s[i] != ':' {
		return -1
	}
	return skipWS(s, i+1)
}

// strStop marks the bytes that end the plain run of a string: the quote,
// the backslash and control characters (invalid in JSON strings).
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// validString consumes the string starting at s[i] == '"' and returns the
// index after it, or -1.
func validString(s []byte, i int) int {
	i++
	for i < len(s) {
		c := s[i]
		if !strStop[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		}
		// A backslash.
		if i+1 >= len(s) {
			return -1
		}
		switch s[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(s) {
				return -1
			}
			for _, h := range s[i+2 : i+6] {
				if !isHex(h) {
					return -1
				}
			}
			i += 6
		default:
			return -1
		}
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func validLiteral(s []byte, i int, lit string) int {
	if len(s)-i < len(lit) || string(s[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// validNumber consumes -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func validNumber(s []byte, i int) int {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(s []byte, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}
