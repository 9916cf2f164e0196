package apicsim

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPush measures how many events per second the simulator commits
// and pushes to one client over TLS on loopback, the client reading and
// counting every object. It must never be what limits the exporter's
// benchmarks.
var statusKey = []byte(`"status":"`)

func BenchmarkPush(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			s, err := New(Config{BatchSize: batch})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const tenants = 100
			for i := range tenants {
				s.Create("fvTenant", "uni/tn-t"+strconv.Itoa(i), map[string]string{"name": "t" + strconv.Itoa(i), "descr": ""})
			}
			c := newClient(&testing.T{}, s, 0)
			c.mustLogin()
			c.subscribe("/api/class/fvTenant.json")
			got := make(chan int)
			go func() {
				n := 0
				for n < b.N {
					c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
					_, data, err := c.ws.ReadMessage()
					if err != nil {
						break
					}
					// Every object carries one status; counting them is
					// cheaper than decoding and leaves the CPU to the simulator.
					n += bytes.Count(data, statusKey)
				}
				got <- n
			}()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				s.Modify("uni/tn-t"+strconv.Itoa(i%tenants), map[string]string{"descr": strconv.Itoa(i)})
			}
			if n := <-got; n != b.N {
				b.Fatalf("client got %d of %d events", n, b.N)
			}
			b.StopTimer() // closing the sockets is not part of it
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			c.ws.Close()
		})
	}
}

// cpuTime is the CPU time of the process so far: on a shared machine it
// measures the work better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discardWriter is an http.ResponseWriter that only counts the body, so
// the benchmark measures the simulator and not a recorder's buffer.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// benchPageObjects is the class size of BenchmarkQueryPage.
const benchPageObjects = 200000

// modelCEps creates n fvCEp objects with the model's attributes (about 25
// each, like a real endpoint) under a few thousand EPGs.
func modelCEps(tb testing.TB, s *Sim, n int) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		epg := mdlEPGDN("tenant"+strconv.Itoa(i%300), "app"+strconv.Itoa(i%40), "epg"+strconv.Itoa(i%5000))
		dn := epg + "/cep-" + mdlMAC(uint64(i))
		if err := s.Create("fvCEp", dn, newAttrs(r, "fvCEp", dn, "2026-01-02T03:04:05.678+00:00")); err != nil {
			tb.Fatal(err)
		}
	}
}

// acibenchCEps creates n fvCEp objects as cmd/acibench's resync phase does
// (9 attributes besides modTs).
func acibenchCEps(tb testing.TB, s *Sim, n int) {
	for i := range n {
		dn := fmt.Sprintf("uni/tn-tenant%03d/ap-app%02d/epg-epg%04d/cep-00:50:56:%02X:%02X:%02X", i%300, i%40, i%5000, i>>16&255, i>>8&255, i&255)
		if err := s.Create("fvCEp", dn, map[string]string{
			"encap": "vlan-" + strconv.Itoa(100+i%3000), "ip": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			"mac": dn[len(dn)-17:], "name": dn[len(dn)-17:], "lcC": "learned", "nameAlias": "", "annotation": "",
			"uid": "0", "fabricPathDn": "topology/pod-1/paths-101/pathep-[eth1/" + strconv.Itoa(i%48) + "]",
		}); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkQueryPage: apicsim's side of a paged snapshot. One op is one
// keyset page of 10000 fvCEp objects, as the exporter asks for it
// (apicws/snapshot.go pageQuery: order-by dn, page-size, gt on the last
// DN), served by the controller's handler, JSON encoding included; only
// TLS and the socket are left out. The pages walk the whole class.
func BenchmarkQueryPage(b *testing.B) {
	for _, shape := range []struct {
		name     string
		populate func(testing.TB, *Sim, int)
	}{{"attrs=model", modelCEps}, {"attrs=acibench", acibenchCEps}} {
		b.Run(shape.name, func(b *testing.B) {
			s, err := New(Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			shape.populate(b, s, benchPageObjects)
			benchPages(b, s, "fvCEp", 10000)
		})
	}
}

// benchPages reads class page by page, keyset paged, once per op.
func benchPages(b *testing.B, s *Sim, class string, size int) {
	c := s.ctrls[0]
	s.mu.Lock()
	sess := c.login("admin", s.now())
	dns := s.st.classes[class].sortedDNs()
	s.mu.Unlock()
	var reqs []*http.Request
	for i := 0; i < len(dns); i += size {
		opts := "order-by=" + class + ".dn|asc&page=0&page-size=" + strconv.Itoa(size)
		if i > 0 {
			opts += "&query-target-filter=gt(" + class + `.dn,"` + dns[i-1] + `")`
		}
		r := httptest.NewRequest(http.MethodGet, "/api/class/"+class+".json?"+opts, nil)
		r.Header.Set("Cookie", "APIC-cookie="+sess.token)
		reqs = append(reqs, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	sent := 0
	for i := range b.N {
		w := &discardWriter{h: make(http.Header)}
		c.ServeHTTP(w, reqs[i%len(reqs)])
		if w.code != http.StatusOK || w.n < size*100 {
			b.Fatalf("page %d: status %d, %d bytes", i%len(reqs), w.code, w.n)
		}
		sent += w.n
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	objs := float64(b.N * size)
	b.ReportMetric(objs/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(objs/cpu.Seconds(), "objects/CPU-s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "CPU-ns/op")
	b.ReportMetric(float64(sent)/objs, "JSON-B/object")
}

// BenchmarkPopulate builds a profile's fabric in a simulator and reports
// the objects it holds and the heap they take once built.
func BenchmarkPopulate(b *testing.B) {
	for _, name := range []string{"medium", "large"} {
		b.Run(name, func(b *testing.B) {
			p, err := ProfileByName(name)
			if err != nil {
				b.Fatal(err)
			}
			var objects int
			var heap float64
			for range b.N {
				b.StopTimer()
				before := heapInUse()
				b.StartTimer()
				s, err := New(Config{})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Populate(p, 1); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				heap = float64(heapInUse()-before) / (1 << 20)
				objects = s.Status().Objects
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(objects), "objects")
			b.ReportMetric(heap, "heap-MiB")
		})
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
