package apicws

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aci-exporter/aci-exporter/event"
)

// errPageError: the answer's imdata holds an error record, not objects.
var errPageError = errors.New("error record in a page")

// decodePage reads {"totalCount":"N","subscriptionId":"ID","imdata":[...]}
// with the frame scanner. Objects keep their dn and the fingerprint
// attributes only, copied into one arena per page: nothing of the page's
// text is kept, so it is read in place, and its buffer is reused for the
// next page.
func decodePage(data []byte) (*page, error) {
	sc := newViewScanner(data)
	p := &page{}
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

// pageArena holds the strings and attributes a page's objects keep, a few
// large allocations instead of three small ones per object.
type pageArena struct {
	text  strings.Builder
	attrs []event.Attr
}

// keep copies s into the arena. A Builder never changes bytes it has
// written, so earlier strings stay valid as it grows.
func (a *pageArena) keep(s string) string {
	a.text.WriteString(s)
	all := a.text.String()
	return all[len(all)-len(s):]
}

func (sc *scanner) pageObjects(p *page, size int) error {
	if !sc.open('[') {
		return fmt.Errorf("%w: imdata is not an array", errBadAnswer)
	}
	var a pageArena
	// A dn and a modTs are about a sixth of an object's text.
	a.text.Grow(size / 6)
	for i := 0; sc.more(']', i); i++ {
		o, err := sc.pageObject(&a)
		if err != nil {
			return err
		}
		p.objs = append(p.objs, o)
	}
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
func pageWants(name string) bool { return name == "dn" || event.FingerprintIndex(name) >= 0 }

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
		} else if k := event.FingerprintIndex(name); k >= 0 {
			// The name is the package's constant: a name read from the
			// page would pin its whole text.
			a.attrs = append(a.attrs, event.Attr{Name: event.FingerprintAttrs[k], Value: a.keep(value)})
		}
	}
	if end := len(a.attrs); end > start {
		o.Attrs = a.attrs[start:end:end]
	}
	return nil
}
