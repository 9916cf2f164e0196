// Package event holds the plain values that cross from the APIC client
// (apicws) to the collector: no network code, no Prometheus.
package event

import "strconv"

// Status is the change an event reports. The zero value is not a valid status,
// so an Event that was never filled in cannot pass for a real change.
type Status uint8

// The three statuses APIC pushes (apic-protocol.md §4).
const (
	StatusCreated Status = iota + 1
	StatusModified
	StatusDeleted
)

// String returns the APIC's own word for s, which is also the `status` label value.
func (s Status) String() string {
	switch s {
	case StatusCreated:
		return "created"
	case StatusModified:
		return "modified"
	case StatusDeleted:
		return "deleted"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// ParseStatus maps an APIC status word to a Status. The empty status of objects
// in a query or snapshot answer is not an event status and is refused.
func ParseStatus(word string) (Status, bool) {
	switch word {
	case "created":
		return StatusCreated, true
	case "modified":
		return StatusModified, true
	case "deleted":
		return StatusDeleted, true
	}
	return 0, false
}

// Attr is one attribute of an event's object, as the APIC sent it.
type Attr struct {
	Name, Value string
}

// Event is one object change from one websocket frame. It is the plain value
// that crosses from apicws to the collector.
//
// Its strings share the frame text as backing memory: a consumer that keeps a
// few of them for long (the DN as a map key, say) should strings.Clone them so
// that it does not pin whole frames. SubscriptionIDs is shared by all events of
// a frame, and by later frames that list the same ids: it must not be
// modified.
type Event struct {
	SubscriptionIDs []string // every id the frame lists, as decimal text
	Class           string   // e.g. fvBD
	DN              string
	Tenant          string // Tenant(DN): "" outside uni/tn-NAME
	Status          Status
	// Attrs holds the kept attributes (KeptIndex: the fingerprint ones and
	// those state metrics read) the object carries, in frame order: the
	// others are not needed and not kept.
	// Modified events carry only what changed, plus modTs.
	Attrs []Attr
}

// Attr returns the value of the attribute called name, and whether the event
// carries it.
func (e *Event) Attr(name string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Object is one object of a query answer (a snapshot), not a change.
type Object struct {
	DN, Tenant string
	Attrs      []Attr // the kept attributes (KeptIndex)
}

// FingerprintAttrs are the attributes that tell whether an object changed:
// a real APIC moves modTs on every modification; faults keep modTs "never"
// and change through lc, severity, lastTransition, occur and ack; the
// operational objects switches own keep it "never" too and stamp their own
// changes: health scores updTs, ports lastLinkStChg, BGP peers lastFlapTs.
// The collector fingerprints objects by them (and by the attributes its
// state metrics read).
var FingerprintAttrs = [...]string{"modTs", "lc", "severity", "lastTransition", "occur", "ack", "updTs", "lastLinkStChg", "lastFlapTs"}

// AltStamps are the change stamps of objects whose modTs stays "never",
// in the order they are looked for: faults (lastTransition), health scores
// (updTs), ports (lastLinkStChg) and BGP peers (lastFlapTs). All are
// fingerprint attributes.
var AltStamps = [...]string{"lastTransition", "updTs", "lastLinkStChg", "lastFlapTs"}

// FingerprintIndex returns the index of name in FingerprintAttrs, or -1.
// Every attribute of every event is looked up here, hence a switch; it must
// list exactly FingerprintAttrs, in their order (TestFingerprintIndex).
func FingerprintIndex(name string) int {
	switch name {
	case "modTs":
		return 0
	case "lc":
		return 1
	case "severity":
		return 2
	case "lastTransition":
		return 3
	case "occur":
		return 4
	case "ack":
		return 5
	case "updTs":
		return 6
	case "lastLinkStChg":
		return 7
	case "lastFlapTs":
		return 8
	}
	return -1
}
