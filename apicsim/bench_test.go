package apicsim

import (
	"bytes"
	"strconv"
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
