package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aci-exporter/aci-exporter/event"
)

// scrapeFabric returns a fabric with about `series` aci_* series: per
// (class, tenant) pair one aci_objects gauge and three
// aci_object_changes_total counters (one of them non-zero).
func scrapeFabric(series int) *Fabric {
	const classes = 10
	tenants := series / 4 / classes
	var subs []Subscription
	for c := range classes {
		subs = append(subs, Subscription{Name: "class" + strconv.Itoa(c), Class: "class" + strconv.Itoa(c)})
	}
	f := NewFabric("prod", []string{"https://apic1"}, subs, nil, 0)
	for c := range classes {
		class := "class" + strconv.Itoa(c)
		objs := make([]event.Object, tenants)
		for t := range tenants {
			tn := "tenant" + strconv.Itoa(t)
			objs[t] = event.Object{DN: "uni/tn-" + tn + "/x-" + class, Tenant: tn, Attrs: []event.Attr{{Name: "modTs", Value: "t1"}}}
		}
		resync(f, class, nil)
		evs := make([]event.Event, tenants)
		for t := range tenants {
			evs[t] = event.Event{Class: class, DN: objs[t].DN, Tenant: objs[t].Tenant, Status: event.StatusCreated, Attrs: objs[t].Attrs}
		}
		f.Apply(evs)
	}
	return f
}

// BenchmarkScrape: GET /metrics through promhttp, as the exporter serves
// it (its collector plus the Go and process collectors), with 10k and 100k
// aci_* series; plain text and gzip.
func BenchmarkScrape(b *testing.B) {
	for _, series := range []int{10000, 100000} {
		f := scrapeFabric(series)
		reg := prometheus.NewRegistry()
		c := New()
		c.Add(f)
		reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		benchScrapes(b, Gatherer(reg, c), series)
	}
}

type discardWriter struct {
	h http.Header
	n int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}
func (w *discardWriter) WriteHeader(int) {}

var _ io.Writer = (*discardWriter)(nil)

// memDN returns realistic DNs of about 55 bytes: client endpoints, faults
// on interfaces, EPGs.
func memDN(i int) string {
	switch i % 3 {
	case 0:
		return fmt.Sprintf("uni/tn-tenant%03d/ap-app%02d/epg-epg%05d/cep-00:50:56:%02X:%02X:%02X", i%300, i%40, i%20000, i>>16&255, i>>8&255, i&255)
	case 1:
		return fmt.Sprintf("topology/pod-1/node-%d/sys/phys-[eth1/%d]/fault-F%07d", 101+i%200, i%48, i)
	}
	return fmt.Sprintf("uni/tn-tenant%03d/ap-application%02d/epg-epg%07d", i%300, i%40, i)
}

// benchHeapPerObject reports the heap a fabric made by newFabric grows by
// when load gives it n objects (whose DNs are dnBytes long and take
// dnAlloc bytes), per object, in all and beyond the DN.
func benchHeapPerObject(b *testing.B, n, dnBytes, dnAlloc int, load func(*Fabric), newFabric func() *Fabric) {
	var perObj float64
	for b.Loop() {
		f := newFabric()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		load(f)
		runtime.GC()
		runtime.ReadMemStats(&after)
		perObj = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		runtime.KeepAlive(f)
	}
	b.ReportMetric(perObj, "B/object")
	b.ReportMetric(perObj-float64(dnAlloc)/float64(n), "B/object-beyond-DN")
	b.ReportMetric(float64(dnBytes)/float64(n), "DN-bytes")
	b.ReportMetric(float64(dnAlloc)/float64(n), "DN-alloc-bytes")
	b.ReportMetric(float64(n), "objects")
}

// benchScrapes times scrapes of g through the /metrics handler, as text
// and gzipped, reporting size, CPU and wall time per scrape.
func benchScrapes(b *testing.B, g prometheus.Gatherer, series int) {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("series=%d/gzip=%v", series, gz), func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if gz {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			b.ReportAllocs()
			var size int
			cpu0 := cpuTime()
			for b.Loop() {
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				size = w.n
			}
			b.ReportMetric(float64(size), "bytes/scrape")
			b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/scrape")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/scrape")
		})
	}
}

// sizeClass rounds an allocation of n bytes up to Go's size class (for
// the sizes of DNs).
func sizeClass(n int) int {
	for _, c := range []int{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320} {
		if n <= c {
			return c
		}
	}
	return n
}

// BenchmarkStateMemory: heap bytes per tracked object after a baseline
// snapshot of n objects, total and beyond the DN string the state keeps.
// One third are faults (modTs "never", lifecycle attributes), the rest
// carry modTs. Run with -benchtime 1x.
func BenchmarkStateMemory(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		b.Run("objects="+strconv.Itoa(n), func(b *testing.B) {
			objs := make([]event.Object, n)
			dnBytes, dnAlloc := 0, 0
			for i := range objs {
				dn := memDN(i)
				o := event.Object{DN: dn}
				if i%3 == 1 {
					o.Attrs = []event.Attr{{Name: "ack", Value: "no"}, {Name: "lastTransition", Value: "2024-02-01T09:15:42.117+01:00"},
						{Name: "lc", Value: "raised"}, {Name: "modTs", Value: "never"}, {Name: "occur", Value: "1"}, {Name: "severity", Value: "major"}}
				} else {
					o.Tenant = fmt.Sprintf("tenant%03d", i%300)
					o.Attrs = []event.Attr{{Name: "modTs", Value: "2024-02-01T09:15:42.117+01:00"}, {Name: "name", Value: "x"}}
				}
				objs[i] = o
				dnBytes += len(dn)
				dnAlloc += sizeClass(len(dn))
			}
			benchHeapPerObject(b, n, dnBytes, dnAlloc, func(f *Fabric) { resync(f, "c", objs) },
				func() *Fabric { return NewFabric("prod", nil, []Subscription{{"c", "c"}}, nil, 0) })
		})
	}
}
