package apicws

import (
	"github.com/aci-exporter/aci-exporter/event"

	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
)

// Decoder decodes the frames of one socket. Between frames it keeps its
// scratch space and the last subscription ids, which frames mostly repeat;
// it is not safe for concurrent use. The zero Decoder is ready.
type Decoder struct {
	evs   []event.Event // scratch: the frame's events
	spans []span        // scratch: where each event's attributes are in attrs
	attrs []event.Attr  // scratch: the frame's attributes
	idBuf []string      // scratch: the frame's ids
	// The ids handed out, shared by their events: frames of one
	// subscription by its id, frames listing several by the last such list.
	byID  map[string][]string
	multi []string
}

// maxSharedIDs bounds byID; subscriptions number in the tens or hundreds.
const maxSharedIDs = 4096

type span struct{ start, end int }

// DecodeFrame decodes one frame with a Decoder of its own.
func DecodeFrame(data []byte) ([]event.Event, error) {
	var d Decoder
	return d.Decode(data)
}

// Decode decodes one websocket text frame,
//
//	{"subscriptionId":["1","2"],"imdata":[{"fvBD":{"attributes":{...}}}, ...]}
//
// into the events of its valid objects, in frame order. Each event keeps
// the class, dn, status and kept attributes (event.KeptIndex)
// of its object; other attributes are checked and dropped. The events and
// their strings are the caller's: they share one copy of data, made once.
//
// A frame that is not JSON or lacks usable subscription ids or imdata is
// refused whole: no events. A bad object is skipped without losing the good
// ones around it; the *DecodeError returned then names the first problem and
// how many were skipped. subscriptionId may be an array or, defensively, a
// single value; ids may be strings or JSON integers, kept as their exact
// decimal text (they exceed int64). Attribute values are strings in APIC
// output; a number or boolean is kept as its JSON text, null as "", and an
// object or array makes the whole object bad. Member names match exactly,
// not case-insensitively as in encoding/json; for a repeated name the last
// one wins, as there.
//
// The frame is read in one pass that checks the syntax as it goes, exactly
// as strictly as json.Valid.
func (d *Decoder) Decode(data []byte) ([]event.Event, error) {
	sc := newScanner(data)
	if !sc.open('{') {
		return nil, &DecodeError{Reason: ReasonInvalidJSON, Err: notAnObject(data)}
	}
	d.reset()
	defer d.forget()
	var (
		ids       []string
		idsErr    = errNoIDs
		imdataErr = errNoImdata
		derr      *DecodeError
	)
	for i := 0; sc.more('}', i); i++ {
		// APIC sends subscriptionId first, but JSON does not promise it.
		switch sc.key() {
		case "subscriptionId":
			ids, idsErr = d.subscriptionIDs(&sc)
		case "imdata":
			d.reset() // the last imdata wins
			derr, imdataErr = d.objects(&sc)
		default:
			sc.skip()
		}
	}
	switch {
	case sc.bad || !sc.atEnd():
		return nil, &DecodeError{Reason: ReasonInvalidJSON, Err: syntaxError(data)}
	case idsErr != nil:
		return nil, &DecodeError{Reason: ReasonNoSubscriptionID, Err: idsErr}
	case imdataErr != nil:
		return nil, &DecodeError{Reason: ReasonNoImdata, Err: imdataErr}
	}
	evs := d.events(d.share(ids))
	if derr != nil {
		return evs, derr
	}
	return evs, nil
}

func (d *Decoder) reset() {
	d.evs, d.spans, d.attrs = d.evs[:0], d.spans[:0], d.attrs[:0]
}

// forget clears the scratch's strings once the events are copied out, so
// that it does not keep this frame's text alive until the next one.
func (d *Decoder) forget() {
	clear(d.evs)
	clear(d.attrs)
	clear(d.idBuf)
}

// oneEvent holds the event of a frame of one object, the usual frame, and
// its attributes in one allocation: up to two (a modification seen by the
// change counters), or up to four (one that state metrics read too: a
// port's operSt and operStQual, a fault's lc and severity).
type oneEvent struct {
	ev    [1]event.Event
	attrs [2]event.Attr
}

type oneEvent4 struct {
	ev    [1]event.Event
	attrs [4]event.Attr
}

// events copies the scratch events out, exact size: one slice of events and
// one of attributes per frame, or one oneEvent (or oneEvent4).
func (d *Decoder) events(ids []string) []event.Event {
	if len(d.evs) == 0 {
		return nil
	}
	var evs []event.Event
	var attrs []event.Attr
	switch {
	case len(d.evs) == 1 && len(d.attrs) <= len(oneEvent{}.attrs):
		one := &oneEvent{ev: [1]event.Event{d.evs[0]}}
		evs, attrs = one.ev[:], one.attrs[:copy(one.attrs[:], d.attrs)]
	case len(d.evs) == 1 && len(d.attrs) <= len(oneEvent4{}.attrs):
		one := &oneEvent4{ev: [1]event.Event{d.evs[0]}}
		evs, attrs = one.ev[:], one.attrs[:copy(one.attrs[:], d.attrs)]
	default:
		evs, attrs = slices.Clone(d.evs), slices.Clone(d.attrs)
	}
	for i := range evs {
		evs[i].SubscriptionIDs = ids
		if sp := d.spans[i]; sp.end > sp.start {
			evs[i].Attrs = attrs[sp.start:sp.end:sp.end]
		}
	}
	return evs
}

// share returns ids as handed out before when a frame listed the same, or
// else a copy of them that later frames can share. The frames of several
// subscriptions interleave, so one id is looked up among all seen.
func (d *Decoder) share(ids []string) []string {
	if len(ids) == 1 {
		if shared, ok := d.byID[ids[0]]; ok {
			return shared
		}
		if d.byID == nil || len(d.byID) >= maxSharedIDs {
			d.byID = make(map[string][]string)
		}
		shared := cloneIDs(ids)
		d.byID[shared[0]] = shared
		return shared
	}
	if !slices.Equal(ids, d.multi) {
		d.multi = cloneIDs(ids)
	}
	return d.multi
}

// cloneIDs copies ids, strings included, so as not to pin this frame's text
// for later frames.
func cloneIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.Clone(id)
	}
	return out
}

// notAnObject explains why a frame that is not a JSON object was refused.
func notAnObject(data []byte) error {
	if validJSON(data) {
		return errNotObject
	}
	return syntaxError(data)
}

// syntaxError explains why json.Valid refuses data. It runs only for bad frames.
func syntaxError(data []byte) error {
	var v struct{}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return errors.New("invalid JSON")
}

// subscriptionIDs reads the value of subscriptionId: an array of ids or one.
func (d *Decoder) subscriptionIDs(sc *scanner) ([]string, error) {
	start, depth := sc.pos, sc.depth
	ids, err := d.readIDs(sc)
	if err != nil && !sc.bad {
		sc.pos, sc.depth = start, depth
		sc.skip() // the rest of the value must still be valid JSON
	}
	return ids, err
}

func (d *Decoder) readIDs(sc *scanner) ([]string, error) {
	ids := d.idBuf[:0]
	if !sc.open('[') {
		id, err := sc.id()
		d.idBuf = append(ids, id)
		return d.idBuf, err
	}
	for i := 0; sc.more(']', i); i++ {
		id, err := sc.id()
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	d.idBuf = ids
	if len(ids) == 0 {
		return nil, errEmptyIDs
	}
	return ids, nil
}

// id reads one subscription id: a non-empty string, or an integer literal
// whose text is taken as is so that no float rounding touches 20-digit ids.
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

// objects reads the value of imdata into the scratch events. A bad object
// is skipped and counted in the *DecodeError; the error is for a value that
// is not an array.
func (d *Decoder) objects(sc *scanner) (*DecodeError, error) {
	if !sc.open('[') {
		sc.skip()
		return nil, errImdataType
	}
	var derr *DecodeError
	for i := 0; sc.more(']', i); i++ {
		start, depth, nattrs := sc.pos, sc.depth, len(d.attrs)
		ev, bad := d.object(sc)
		if sc.bad {
			return nil, nil // the frame is refused whole
		}
		if bad != nil {
			// Only the first problem is described; the rest are counted.
			if derr == nil {
				derr = bad
				derr.Err = fmt.Errorf("imdata[%d]: %w", i, bad.Err)
			}
			derr.Skipped++
			d.attrs = d.attrs[:nattrs]
			sc.pos, sc.depth = start, depth
			sc.skip() // resume after the bad entry, which must still be valid JSON
			continue
		}
		d.evs = append(d.evs, ev)
		d.spans = append(d.spans, span{nattrs, len(d.attrs)})
	}
	return derr, nil
}

// object decodes one imdata entry, {"class":{"attributes":{...}}}. Members
// of the class object other than attributes (children) are skipped. It
// stops at the first problem; the caller skips the rest of the entry.
func (d *Decoder) object(sc *scanner) (ev event.Event, bad *DecodeError) {
	if !sc.open('{') {
		return ev, badObject("entry is not a JSON object")
	}
	classes, attributes := 0, 0
	var status string
	for ; sc.more('}', classes); classes++ {
		if classes > 0 {
			return ev, badObject("entry has more than one class")
		}
		ev.Class = sc.key()
		if !sc.open('{') {
			return ev, badObject("class %q: value is not a JSON object", ev.Class)
		}
		for j := 0; sc.more('}', j); j++ {
			if sc.key() != "attributes" {
				sc.skip()
				continue
			}
			if attributes++; attributes > 1 {
				return ev, badObject("class %q: attributes given twice", ev.Class)
			}
			var err error
			if status, err = d.attributes(sc, &ev); err != nil {
				return ev, badObject("class %q: %w", ev.Class, err)
			}
		}
	}
	switch {
	case sc.bad:
		return ev, nil
	case classes == 0:
		return ev, badObject("entry is an empty object")
	case ev.Class == "":
		return ev, badObject("empty class name")
	case attributes == 0:
		return ev, badObject("class %q: no attributes", ev.Class)
	case ev.DN == "":
		return ev, &DecodeError{Reason: ReasonNoDN, Err: fmt.Errorf("class %q: no dn", ev.Class)}
	}
	st, ok := event.ParseStatus(status)
	if !ok {
		return ev, &DecodeError{Reason: ReasonBadStatus,
			Err: fmt.Errorf("%s %s: status %q is not created, modified or deleted", ev.Class, ev.DN, status)}
	}
	ev.Status = st
	ev.Tenant = Tenant(ev.DN)
	return ev, nil
}

func badObject(format string, args ...any) *DecodeError {
	return &DecodeError{Reason: ReasonBadObject, Err: fmt.Errorf(format, args...)}
}

// attributes reads an attributes object into ev and the scratch attributes
// and returns the status word. For a repeated name the last dn and status
// win, as in encoding/json; every occurrence of a kept attribute
// (event.KeptIndex) is kept.
func (d *Decoder) attributes(sc *scanner, ev *event.Event) (status string, err error) {
	if !sc.open('{') {
		return "", errors.New("attributes is not a JSON object")
	}
	for i := 0; sc.more('}', i); i++ {
		name, value, ok := sc.attribute(eventWants)
		if !ok {
			return "", fmt.Errorf("attribute %q is an object or an array", name)
		}
		switch name {
		case "dn":
			ev.DN = value
		case "status":
			status = value
		default:
			if event.KeptIndex(name) >= 0 {
				d.attrs = append(d.attrs, event.Attr{Name: name, Value: value})
			}
		}
	}
	return status, nil
}

// eventWants tells the attributes an event keeps.
func eventWants(name string) bool {
	return name == "dn" || name == "status" || event.KeptIndex(name) >= 0
}
