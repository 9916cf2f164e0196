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
// attributes only, copied out so that a page's text is freed as soon as it
// is read: a snapshot holds many pages until its class is resynced.
func decodePage(data []byte) (*page, error) {
	if !validJSON(data) {
		return nil, fmt.Errorf("%w: %v", errBadAnswer, syntaxError(data))
	}
	sc := scanner{s: string(data)}
	p := &page{}
	if !sc.open('{') {
		return nil, fmt.Errorf("%w: not a JSON object", errBadAnswer)
	}
	for sc.more('}') {
		switch sc.key() {
		case "totalCount":
			v, _ := sc.scalar()
			p.total, _ = strconv.Atoi(v)
		case "subscriptionId":
			// A string, as APICs send it; a bare number is taken digit for
			// digit, since ids overflow float64.
			quoted := sc.peek() == '"'
			if v, ok := sc.scalar(); ok && v != "" && (quoted || isDigits(v)) {
				p.subID = v
			} else {
				return nil, fmt.Errorf("%w: subscriptionId %q", errBadAnswer, v)
			}
		case "imdata":
			if err := sc.pageObjects(p); err != nil {
				return nil, err
			}
		default:
			sc.skip()
		}
	}
	if sc.bad {
		return nil, fmt.Errorf("%w: %v", errBadAnswer, errLost)
	}
	return p, nil
}

func (sc *scanner) pageObjects(p *page) error {
	if !sc.open('[') {
		return fmt.Errorf("%w: imdata is not an array", errBadAnswer)
	}
	for sc.more(']') {
		o, err := sc.pageObject()
		if err != nil {
			return err
		}
		p.objs = append(p.objs, o)
	}
	return nil
}

// pageObject reads {"class":{"attributes":{...}}}.
func (sc *scanner) pageObject() (event.Object, error) {
	var o event.Object
	if !sc.open('{') {
		return o, fmt.Errorf("%w: an imdata entry is not an object", errBadAnswer)
	}
	for sc.more('}') {
		if sc.key() == "error" {
			return o, errPageError
		}
		if !sc.open('{') {
			return o, fmt.Errorf("%w: an object is not an object", errBadAnswer)
		}
		for sc.more('}') {
			if sc.key() != "attributes" {
				sc.skip()
				continue
			}
			if err := sc.pageAttributes(&o); err != nil {
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

func (sc *scanner) pageAttributes(o *event.Object) error {
	if !sc.open('{') {
		return fmt.Errorf("%w: attributes is not an object", errBadAnswer)
	}
	for sc.more('}') {
		name := sc.key()
		value, ok := sc.scalar()
		switch {
		case !ok:
			return fmt.Errorf("%w: attribute %q is not a scalar", errBadAnswer, name)
		case name == "dn":
			o.DN = strings.Clone(value)
		case event.Fingerprinted(name):
			o.Attrs = append(o.Attrs, event.Attr{Name: name, Value: strings.Clone(value)})
		}
	}
	return nil
}
