package apicws

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/aci-exporter/aci-exporter/event"
)

// errPageError: the answer's imdata holds an error record, not objects.
var errPageError = errors.New("error record in a page")

// decodePage reads {"totalCount":"N","subscriptionId":"ID","imdata":[...]}
// with the frame scanner. Objects keep their dn and the fingerprint
// attributes only, copied into an arena taken from spare: nothing of the
// page's text is kept, so it is read in place, and its buffer is reused for
// the next page.
func decodePage(data []byte, spare spares[pageArena]) (*page, error) {
	sc := newViewScanner(data)
	p := &page{spare: spare}
	if !sc.open('{') {
		return nil, fmt.Errorf("%w: not a JSON object", errBadAnswer)
	}
	for i := 0; sc.more('}', i); i++ {
		var err error
		switch sc.key() {
		case "totalCount":
			v, ok := sc.scalar()
			if !ok {
				return nil, fmt.Errorf("%w: totalCount is not a scalar", errBadAnswer)
			}
			p.total, _ = strconv.Atoi(v)
		case "subscriptionId":
			err = sc.pageSubscriptionID(p)
		case "imdata":
			err = sc.pageObjects(p, len(data))
		default:
			sc.skip()
		}
		if err != nil {
			return nil, err
		}
	}
	if sc.bad || !sc.atEnd() {
		return nil, fmt.Errorf("%w: %v", errBadAnswer, syntaxError(data))
	}
	return p, nil
}

// pageSubscriptionID reads a string, as APICs send it; a bare number is
// taken digit for digit, since ids overflow float64.
func (sc *scanner) pageSubscriptionID(p *page) error {
	quoted := sc.peek() == '"'
	v, ok := sc.scalar()
	if !ok || v == "" || !quoted && !isDigits(v) {
		return fmt.Errorf("%w: subscriptionId is not a string or an unsigned integer", errBadAnswer)
	}
	p.subID = strings.Clone(v)
	return nil
}

// pageArena holds a page's objects and the strings and attributes they
// keep: a few large allocations instead of three small ones per object.
// A snapshot page, once the state has taken what it keeps, gives its arena
// back for the next page (release): a resync of a million objects then
// makes next to no garbage, which would otherwise let the heap grow to
// twice the state before the collector runs.
type pageArena struct {
	text  []byte
	attrs []event.Attr
	objs  []event.Object
}

// spares keeps a few values for reuse. Unlike a sync.Pool it is not
// emptied by garbage collections, which come often while a large snapshot
// is read. A nil spares keeps nothing.
type spares[T any] chan *T

func (s spares[T]) get() *T {
	select {
	case v := <-s:
		return v
	default:
		return new(T)
	}
}

func (s spares[T]) put(v *T) {
	select {
	case s <- v:
	default:
	}
}

// maxArenaBytes bounds the arenas kept for reuse.
const maxArenaBytes = 64 << 20

// keep copies s into the arena. Growing never moves bytes already written
// (a full buffer is left to the strings that point into it), so earlier
// strings stay valid until the arena is released.
func (a *pageArena) keep(s string) string {
	if s == "" {
		return ""
	}
	if len(a.text)+len(s) > cap(a.text) {
		a.text = make([]byte, 0, max(2*cap(a.text), len(s), 4096))
	}
	start := len(a.text)
	a.text = append(a.text, s...)
	return unsafe.String(&a.text[start], len(s))
}

// release gives the arena back: every string and object of its page is
// invalid from then on.
func (p *page) release() {
	a := p.arena
	if a == nil {
		return
	}
	p.arena, p.objs = nil, nil
	if cap(a.text) > maxArenaBytes {
		return
	}
	clear(a.objs) // no pointers into old text linger in the spare
	clear(a.attrs)
	a.text, a.attrs, a.objs = a.text[:0], a.attrs[:0], a.objs[:0]
	p.spare.put(a)
}

func (sc *scanner) pageObjects(p *page, size int) error {
	if !sc.open('[') {
		return fmt.Errorf("%w: imdata is not an array", errBadAnswer)
	}
	a := p.spare.get()
	p.arena = a
	if cap(a.text) == 0 {
		// A dn and a modTs are about a sixth of an object's text.
		a.text = make([]byte, 0, size/6)
	}
	for i := 0; sc.more(']', i); i++ {
		o, err := sc.pageObject(a)
		if err != nil {
			return err
		}
		a.objs = append(a.objs, o)
	}
	p.objs = a.objs
	return nil
}

// pageObject reads {"class":{"attributes":{...}}}.
func (sc *scanner) pageObject(a *pageArena) (event.Object, error) {
	var o event.Object
	if !sc.open('{') {
		return o, fmt.Errorf("%w: an imdata entry is not an object", errBadAnswer)
	}
	for i := 0; sc.more('}', i); i++ {
		if sc.key() == "error" {
			return o, errPageError
		}
		if !sc.open('{') {
			return o, fmt.Errorf("%w: an object is not an object", errBadAnswer)
		}
		for j := 0; sc.more('}', j); j++ {
			if sc.key() != "attributes" {
				sc.skip()
				continue
			}
			if err := sc.pageAttributes(&o, a); err != nil {
				return o, err
			}
		}
	}
	if sc.bad || o.DN == "" {
		return o, fmt.Errorf("%w: object without dn", errBadAnswer)
	}
	o.Tenant = Tenant(o.DN)
	return o, nil
}

// pageWants tells the attributes a snapshot keeps.
func pageWants(name string) bool { return name == "dn" || event.KeptIndex(name) >= 0 }

func (sc *scanner) pageAttributes(o *event.Object, a *pageArena) error {
	if !sc.open('{') {
		return fmt.Errorf("%w: attributes is not an object", errBadAnswer)
	}
	start := len(a.attrs)
	for i := 0; sc.more('}', i); i++ {
		name, value, ok := sc.attribute(pageWants)
		if !ok {
			return fmt.Errorf("%w: attribute %q is not a scalar", errBadAnswer, name)
		}
		if name == "dn" {
			o.DN = a.keep(value)
		} else if k := event.KeptIndex(name); k >= 0 {
			// The name is the event package's: a name read from the
			// page would pin its whole text.
			a.attrs = append(a.attrs, event.Attr{Name: event.KeptName(k), Value: a.keep(value)})
		}
	}
	if end := len(a.attrs); end > start {
		o.Attrs = a.attrs[start:end:end]
	}
	return nil
}
