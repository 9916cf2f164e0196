package apicws

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// maxNestingDepth is encoding/json's: deeper JSON is not valid for it.
const maxNestingDepth = 10000

// scanner reads JSON text in one pass and checks its syntax as it goes,
// accepting exactly what json.Valid accepts. On the first syntax error it
// sets bad and jumps to the end, so that every loop stops; the caller then
// refuses the whole text.
type scanner struct {
	b     []byte // the text, read by the scanner
	s     string // the same text as a string: the strings handed out are its substrings
	pos   int
	depth int // containers open around pos
	bad   bool
}

// newScanner copies data once; every string of the result shares that copy.
func newScanner(data []byte) scanner {
	return scanner{b: data, s: string(data)}
}

// newViewScanner reads data without copying it: the strings it hands out
// are views of data, valid only while data is neither changed nor reused.
// It is for a decoder that copies out whatever it keeps before it returns.
func newViewScanner(data []byte) scanner {
	return scanner{b: data, s: unsafe.String(unsafe.SliceData(data), len(data))}
}

func (sc *scanner) fail() {
	sc.bad = true
	sc.pos = len(sc.b)
}

// peek skips white space and returns the next byte, or 0 at the end.
func (sc *scanner) peek() byte {
	if sc.pos < len(sc.b) && sc.b[sc.pos] > ' ' {
		return sc.b[sc.pos] // APIC frames have no white space
	}
	sc.pos = skipWS(sc.b, sc.pos)
	if sc.pos < len(sc.b) {
		return sc.b[sc.pos]
	}
	return 0
}

// atEnd reports whether only white space is left.
func (sc *scanner) atEnd() bool {
	sc.peek()
	return sc.pos == len(sc.b)
}

// open consumes c, '{' or '[', if it comes next.
func (sc *scanner) open(c byte) bool {
	if sc.peek() != c {
		return false
	}
	if sc.depth++; sc.depth > maxNestingDepth {
		sc.fail()
		return false
	}
	sc.pos++
	return true
}

// more reports whether the container being walked has an i-th member (from
// 0), consuming the comma before it, or the closing byte end after the last.
func (sc *scanner) more(end byte, i int) bool {
	c := sc.peek()
	switch {
	case c == end:
		sc.pos++
		sc.depth--
		return false
	case i == 0:
	case c == ',':
		sc.pos++
	default:
		sc.fail()
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

// str reads a string value. Plain strings are substrings of the text; the
// rare one with escapes or invalid UTF-8 is left to encoding/json, which
// decodes the escapes and replaces bad bytes with U+FFFD, so every result is
// valid UTF-8.
func (sc *scanner) str() string {
	if sc.peek() != '"' {
		sc.fail()
		return ""
	}
	start := sc.pos
	end, flags := scanString(sc.b, start)
	if end < 0 {
		sc.fail()
		return ""
	}
	sc.pos = end
	raw := sc.s[start+1 : end-1]
	if flags == 0 || flags == strNonASCII && utf8.ValidString(raw) {
		return raw
	}
	var v string
	if json.Unmarshal(sc.b[start:end], &v) != nil {
		sc.fail()
		return ""
	}
	return v
}

// attribute reads one member of an attributes object. Its value is
// decoded only when wanted(name); the others are checked and dropped. ok is
// false, and the value not consumed, when it is an object or an array.
func (sc *scanner) attribute(wanted func(name string) bool) (name, value string, ok bool) {
	if name, value, ok = sc.plainMember(); ok {
		return name, value, true
	}
	name = sc.key()
	if wanted(name) {
		value, ok = sc.scalar()
	} else {
		ok = sc.skipScalar()
	}
	return name, value, ok
}

// plainMember reads a member written the way APIC writes attributes,
// "name":"value" with no white space, escapes or non-ASCII bytes, in one
// step. For anything else it consumes nothing and reports false, and the
// caller reads the member piece by piece.
func (sc *scanner) plainMember() (name, value string, ok bool) {
	b, i := sc.b, sc.pos
	if i >= len(b) || b[i] != '"' {
		return "", "", false
	}
	j := plainRun(b, i+1)
	if j+2 >= len(b) || b[j] != '"' || b[j+1] != ':' || b[j+2] != '"' {
		return "", "", false
	}
	k := plainRun(b, j+3)
	if k >= len(b) || b[k] != '"' {
		return "", "", false
	}
	sc.pos = k + 1
	return sc.s[i+1 : j], sc.s[j+3 : k], true
}

// scalar reads an attribute value: a string, decoded; a number, true or
// false, as written; null as "". ok is false, and nothing is consumed, when
// the value is an object or an array.
func (sc *scanner) scalar() (value string, ok bool) {
	switch c := sc.peek(); c {
	case '"':
		return sc.str(), true
	case '{', '[':
		return "", false
	}
	start := sc.pos
	sc.literal()
	if lit := sc.s[start:sc.pos]; lit != "null" {
		return lit, true
	}
	return "", true
}

// skipScalar is scalar for a value nobody reads: it checks the value and
// decodes nothing.
func (sc *scanner) skipScalar() bool {
	switch c := sc.peek(); c {
	case '"':
		end, _ := scanString(sc.b, sc.pos)
		if end < 0 {
			sc.fail()
			return true
		}
		sc.pos = end
		return true
	case '{', '[':
		return false
	}
	sc.literal()
	return true
}

// literal consumes a number, true, false or null.
func (sc *scanner) literal() {
	sc.peek()
	end := literalEnd(sc.b, sc.pos)
	if end < 0 {
		sc.fail()
		return
	}
	sc.pos = end
}

// skip consumes one value of any kind, checking it.
func (sc *scanner) skip() {
	if end := validValue(sc.b, skipWS(sc.b, sc.pos), sc.depth); end >= 0 {
		sc.pos = end
		return
	}
	sc.fail()
}

// validJSON reports whether data is one valid JSON value, exactly as
// json.Valid does (FuzzValidJSON compares them).
func validJSON(data []byte) bool {
	end := validValue(data, skipWS(data, 0), 0)
	return end >= 0 && skipWS(data, end) == len(data)
}

// validValue checks the value starting at s[i], inside depth open
// containers, and returns the index after it, or -1. Containers are walked
// with an explicit stack rather than recursion.
func validValue(s []byte, i, depth int) int {
	var stackBuf [16]byte
	stack := stackBuf[:0] // '{' or '[' per open container
	for {
		// A value starts at i.
		if i >= len(s) {
			return -1
		}
		switch c := s[i]; c {
		case '{', '[':
			if depth+len(stack) >= maxNestingDepth {
				return -1
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
					return -1
				}
			}
			continue
		case '"':
			if i, _ = scanString(s, i); i < 0 {
				return -1
			}
		default:
			i = literalEnd(s, i)
		}
		if i < 0 {
			return -1
		}
		// After a value: close containers, or a comma and the next value.
		for {
			if len(stack) == 0 {
				return i
			}
			if i = skipWS(s, i); i >= len(s) {
				return -1
			}
			top := stack[len(stack)-1]
			if s[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if s[i] != ',' {
				return -1
			}
			i = skipWS(s, i+1)
			if top == '{' {
				if i = memberName(s, i); i < 0 {
					return -1
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
	if i, _ = scanString(s, i); i < 0 {
		return -1
	}
	if i = skipWS(s, i); i >= len(s) || s[i] != ':' {
		return -1
	}
	return skipWS(s, i+1)
}

// What scanString met in a string besides plain ASCII.
const (
	strEscaped  = 1 << iota // a backslash escape
	strNonASCII             // a byte ≥ 0x80
)

// scanString checks the string starting at s[i] == '"' and returns the
// index after it, or -1, and what it met. Most of a frame's bytes are in
// strings: runs of plain bytes are skipped eight at a time.
func scanString(s []byte, i int) (end int, flags int) {
	i++
	for {
		i = plainRun(s, i)
		if i >= len(s) {
			return -1, 0
		}
		switch c := s[i]; {
		case c == '"':
			return i + 1, flags
		case c >= utf8.RuneSelf:
			flags |= strNonASCII
			i++
		case c == '\\':
			n := escapeLen(s, i)
			if n < 0 {
				return -1, 0
			}
			flags |= strEscaped
			i += n
		default: // a control byte, invalid in a JSON string
			return -1, 0
		}
	}
}

// plainRun returns the index of the first byte from i on that is a quote, a
// backslash, a control byte or not ASCII, or len(s).
func plainRun(s []byte, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := stopBytes(binary.LittleEndian.Uint64(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// stopBytes sets the top bit of every byte of w that plainRun stops at. A
// borrow can also mark a byte above (later than) a marked one, never below,
// so the lowest mark is exact.
func stopBytes(w uint64) uint64 {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	control := (w - ones*0x20) &^ w
	quote := (q - ones) &^ q
	backslash := (b - ones) &^ b
	return (w | control | quote | backslash) & tops
}

// escapeLen returns the length of the escape at s[i] == '\\', or -1.
func escapeLen(s []byte, i int) int {
	if i+1 >= len(s) {
		return -1
	}
	switch s[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if i+6 > len(s) {
			return -1
		}
		for _, h := range s[i+2 : i+6] {
			if !isHex(h) {
				return -1
			}
		}
		return 6
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// literalEnd checks the number, true, false or null starting at s[i] and
// returns the index after it, or -1.
func literalEnd(s []byte, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case 't':
		return validLiteral(s, i, "true")
	case 'f':
		return validLiteral(s, i, "false")
	case 'n':
		return validLiteral(s, i, "null")
	}
	return validNumber(s, i)
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

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
