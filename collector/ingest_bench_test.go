package collector

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/apicws"
	"github.com/aci-exporter/aci-exporter/event"
)

// Benchmarks of the ingestion path: frame bytes → events → state, on one
// core, the way the session's reader and loop do it (decode a frame into a
// slice of events, then Fabric.Apply). See BENCHMARKS.md.

const benchTenants = 200

// benchDN is a realistic EPG DN, 40–50 bytes.
func benchDN(i int) string {
	return fmt.Sprintf("uni/tn-tenant%03d/ap-application%02d/epg-epg%05d", i%benchTenants, i%37, i)
}

// Objects of a frame, the sizes of real ones: a created fvAEPg with its
// full attribute set (~600 B as a frame), a modified one (~200 B), a
// deleted one (~150 B).
func benchCreatedObj(dn string, seq int) string {
	return `{"fvAEPg":{"attributes":{` +
		`"annotation":"","childAction":"","configIssues":"","configSt":"applied","descr":"",` +
		`"dn":"` + dn + `","exceptionTag":"","extMngdBy":"","floodOnEncap":"disabled",` +
		`"fwdCtrl":"","hasMcastSource":"no","isAttrBasedEPg":"no","isSharedSrvMsiteEPg":"no","lcOwn":"local",` +
		`"matchT":"AtleastOne","modTs":"2024-02-01T09:15:42.` + fmt.Sprintf("%03d", seq%1000) + `+01:00","monPolDn":"uni/tn-common/monepg-default",` +
		`"name":"frontend","nameAlias":"","pcEnfPref":"unenforced","pcTag":"49153","prefGrMemb":"exclude",` +
		`"prio":"unspecified","rn":"","scope":"2490368","shutdown":"no","status":"created",` +
		`"triggerSt":"triggerable","uid":"15374"}}}`
}

func benchModifiedObj(dn string, seq int) string {
	return `{"fvAEPg":{"attributes":{"childAction":"","configIssues":"","descr":"changed ` + fmt.Sprint(seq%100) + `",` +
		`"dn":"` + dn + `","modTs":"2024-02-01T09:16:` + fmt.Sprintf("%02d.%03d", seq%60, seq%1000) + `+01:00","rn":"","status":"modified"}}}`
}

func benchDeletedObj(dn string, seq int) string {
	return `{"fvAEPg":{"attributes":{"childAction":"",` +
		`"dn":"` + dn + `","modTs":"2024-02-01T09:17:` + fmt.Sprintf("%02d.%03d", seq%60, seq%1000) + `+01:00","rn":"","status":"deleted"}}}`
}

func benchFrame(objs []string) []byte {
	return []byte(`{"subscriptionId":["72058242595225601"],"imdata":[` + strings.Join(objs, ",") + `]}`)
}

// ingestMix builds frames for a steady cycle over a pool of objects: per
// object created, then modified `mods` times, then deleted, the objects
// interleaved so that the state keeps about pool/2 of them. perFrame
// objects go in each frame.
func ingestMix(pool, mods, perFrame int, only string) (frames [][]byte, events int) {
	var objs []string
	steps := mods + 2
	for round := 0; round < steps; round++ {
		for i := 0; i < pool; i++ {
			dn := benchDN(i)
			seq := round*pool + i
			var o string
			switch {
			case round == 0:
				o = benchCreatedObj(dn, seq)
			case round == steps-1:
				o = benchDeletedObj(dn, seq)
			default:
				o = benchModifiedObj(dn, seq)
			}
			objs = append(objs, o)
		}
	}
	// only: a stream of one kind, over objects that exist (modified,
	// deleted are then no-ops on the state but still cost the lookups).
	if only != "" {
		objs = objs[:0]
		for i := 0; i < pool; i++ {
			switch only {
			case "created":
				objs = append(objs, benchCreatedObj(benchDN(i), i))
			case "modified":
				objs = append(objs, benchModifiedObj(benchDN(i), i))
			case "deleted":
				objs = append(objs, benchDeletedObj(benchDN(i), i))
			}
		}
	}
	for i := 0; i < len(objs); i += perFrame {
		frames = append(frames, benchFrame(objs[i:min(i+perFrame, len(objs))]))
	}
	return frames, len(objs)
}

func newIngestFabric() *Fabric {
	f := NewFabric("prod", nil, []Subscription{{"fvAEPg", "fvAEPg"}}, nil, 0)
	resync(f, "fvAEPg", nil)
	return f
}

// ingestFast is what the exporter does per frame: the socket reader's
// Decoder turns it into events, the loop applies them.
func ingestFast(f *Fabric, d *apicws.Decoder, frame []byte) {
	evs, err := d.Decode(frame)
	if err != nil {
		panic(err)
	}
	f.Apply(evs)
}

// ingestJSON is the baseline: encoding/json into map[string]any, then the
// same events and the same Apply.
func ingestJSON(f *Fabric, frame []byte, buf []event.Event) []event.Event {
	buf = buf[:0]
	var m map[string]any
	if err := json.Unmarshal(frame, &m); err != nil {
		panic(err)
	}
	var ids []string
	for _, id := range m["subscriptionId"].([]any) {
		ids = append(ids, id.(string))
	}
	for _, entry := range m["imdata"].([]any) {
		for class, v := range entry.(map[string]any) {
			attrs := v.(map[string]any)["attributes"].(map[string]any)
			ev := event.Event{SubscriptionIDs: ids, Class: class}
			for k, val := range attrs {
				s, _ := val.(string)
				switch k {
				case "dn":
					ev.DN = s
				case "status":
					ev.Status, _ = event.ParseStatus(s)
				default:
					if event.FingerprintIndex(k) >= 0 {
						ev.Attrs = append(ev.Attrs, event.Attr{Name: k, Value: s})
					}
				}
			}
			ev.Tenant = apicws.Tenant(ev.DN)
			buf = append(buf, ev)
		}
	}
	f.Apply(buf)
	return buf
}

// BenchmarkIngest: frame bytes → events → updated state, on one core
// (run with -cpu 1). Each sub-benchmark also runs the encoding/json
// baseline over the same frames and reports the ratio as x_vs_json.
func BenchmarkIngest(b *testing.B) {
	cases := []struct {
		name           string
		mods, perFrame int
		only           string
	}{
		{"created/1", 0, 1, "created"},
		{"modified/1", 0, 1, "modified"},
		{"deleted/1", 0, 1, "deleted"},
		{"mix/1", 3, 1, ""},
		{"mix/16", 3, 16, ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			frames, evsPerCycle := ingestMix(10000, c.mods, c.perFrame, c.only)
			bytes := 0
			for _, fr := range frames {
				bytes += len(fr)
			}
			perFrame := float64(evsPerCycle) / float64(len(frames))
			f := newIngestFabric()
			var (
				d   apicws.Decoder
				buf []event.Event
			)
			b.SetBytes(int64(bytes / len(frames)))
			b.ReportAllocs()
			frameCount := 0
			cpu0 := cpuTime()
			for b.Loop() {
				ingestFast(f, &d, frames[frameCount%len(frames)])
				frameCount++
			}
			cpu := (cpuTime() - cpu0).Seconds()
			fast := b.Elapsed().Seconds()
			events := float64(frameCount) * perFrame
			b.ReportMetric(events/fast, "events/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(events/cpu, "events/cpu-s")

			// The baseline over the same frames, timed by hand.
			g := newIngestFabric()
			n := min(frameCount, max(len(frames), 50000/int(perFrame)))
			jcpu0 := cpuTime()
			for i := 0; i < n; i++ {
				buf = ingestJSON(g, frames[i%len(frames)], buf)
			}
			slow := (cpuTime() - jcpu0).Seconds() / (float64(n) * perFrame) // CPU seconds per event
			b.ReportMetric(1/slow, "json_events/cpu-s")
			b.ReportMetric((events/cpu)*slow, "x_vs_json")
		})
	}
}

// cpuTime is the CPU time of the process so far. On a shared machine it
// measures the work better than the wall clock; with -cpu 1 the process
// runs Go code on one core at a time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
