package apicws

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time of the process so far: on a shared machine it
// measures the work better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSnapshotPage: the exporter's side of a paged snapshot, one
// 10000-object page of fvCEp (~500 B per object) fetched over loopback
// HTTP and decoded by rest.get, as a resync does 100 times for a class of
// 1M objects. The server only writes prepared bytes, so the figure is the
// client's cost.
func BenchmarkSnapshotPage(b *testing.B) {
	const n = 10000
	var sb strings.Builder
	sb.WriteString(`{"totalCount":"1000000","imdata":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		dn := fmt.Sprintf("uni/tn-tenant%03d/ap-app%02d/epg-epg%04d/cep-00:50:56:%02X:%02X:%02X", i%300, i%40, i%5000, i>>16&255, i>>8&255, i&255)
		fmt.Fprintf(&sb, `{"fvCEp":{"attributes":{"annotation":"","childAction":"","dn":"%s","encap":"vlan-%d","fabricPathDn":"topology/pod-1/paths-101/pathep-[eth1/%d]",`+
			`"ip":"10.0.%d.%d","lcC":"learned","mac":"%s","modTs":"2024-02-01T09:15:42.117+00:00","name":"%s","nameAlias":"","status":"","uid":"0"}}}`,
			dn, 100+i%3000, i%48, i>>8&255, i&255, dn[len(dn)-17:], dn[len(dn)-17:])
	}
	sb.WriteString(`]}`)
	page := []byte(sb.String())
	// With its length, as a server that has the whole answer sends it.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page)
	}))
	defer srv.Close()
	r := &rest{http: srv.Client(), base: srv.URL}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		p, err := r.get(context.Background(), "/api/class/fvCEp.json")
		if err != nil || len(p.objs) != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*100, "s/1M-objects")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N)*100, "cpu-s/1M-objects")
}
