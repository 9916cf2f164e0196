package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
)

var (
	fleetSizes   = flag.String("fleet", "10,50", "fleet: numbers of fabrics, one exporter run for each")
	fleetProfile = flag.String("fleet-profile", "medium", "fleet: apicsim profile of every fabric (demo, medium, large)")
	fleetChurn   = flag.Float64("fleet-churn", 20, "fleet: changes per second on the shared simulated APIC; every fabric sees each")
	fleetWindow  = flag.Duration("fleet-window", 30*time.Second, "fleet: how long the exporter's CPU is measured, idle and under churn")
	fleetScrapes = flag.Int("fleet-scrapes", 20, "fleet: scrapes timed of each kind")
	fleetSettle  = flag.Duration("fleet-settle", 3*time.Minute, "fleet: longest wait, at the end, for the exporter's RSS to settle")
)

// fleet runs one exporter serving n fabrics of -fleet-profile each and
// reports its RSS, its CPU idle and under churn, and its scrape times.
//
// The fabrics share one simulated APIC, each logged in as its own user: in
// the exporter each is its own session, socket, subscriptions and state,
// exactly as n APICs would make them, while the harness, on the same two
// cores, holds one object store and runs one churn generator instead of n.
// Every change on it is so pushed to all n fabrics at once: the events come
// in bursts of n, harsher than n fabrics changing independently.
func fleet(dir string, n int) {
	users := map[string]string{}
	for i := range n {
		users[fmt.Sprintf("monitoring%03d", i)] = password
	}
	sim, err := apicsim.New(apicsim.Config{Users: users})
	must(err)
	defer sim.Close()
	p, err := apicsim.ProfileByName(*fleetProfile)
	must(err)
	must(sim.Populate(p, 1))
	ca := filepath.Join(dir, "ca.pem")
	must(sim.WriteCA(ca))
	pw := filepath.Join(dir, "pw")
	must(os.WriteFile(pw, []byte(password+"\n"), 0o600))
	var b strings.Builder
	b.WriteString("fabrics:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: fab%03d\n    controllers: [%s]\n    username: monitoring%03d\n    password_file: %s\n    tls: {ca_file: %s}\n    subscriptions:\n",
			i, sim.URLs()[0], i, pw, ca)
		for _, c := range tenClasses {
			fmt.Fprintf(&b, "      - class: %s\n", c)
		}
	}
	e := runExporter(dir, fmt.Sprintf("fleet%d", n), b.String())
	defer e.stop()
	pid := e.cmd.Process.Pid
	ready := e.waitReady(10 * time.Minute)
	peak := peakRSS(pid)
	rss, _ := procStat(pid)
	text := e.scrape()
	objects := sumFamily(text, "aci_objects")
	fmt.Printf("fleet: %d fabrics of apicsim %q (%.0f objects, %d classes each), %.0f objects in all, %d aci_* series on /metrics; all ready in %v\n",
		n, *fleetProfile, objects/float64(n), len(tenClasses), objects, countSeries(text, "aci_"), ready.Round(10*time.Millisecond))
	fmt.Printf("fleet: RSS when ready %.0f MiB (peak during the first snapshots %.0f MiB); %.1f MiB per fabric\n",
		mib(rss), mib(peak), mib(rss)/float64(n))

	// Idle: the timers only (token and subscription refreshes, probes, pings).
	_, cpu0 := procStat(pid)
	time.Sleep(*fleetWindow)
	_, cpu1 := procStat(pid)
	idle := (cpu1 - cpu0).Seconds() / fleetWindow.Seconds()
	fmt.Printf("fleet: idle (timers of %d subscriptions): exporter CPU %.1f%% of a core\n", n*len(tenClasses), 100*idle)

	// Churn.
	sim.StartChurn(p, 2, *fleetChurn)
	text = e.scrape()
	changes0, frames0, resync0 := sumFamily(text, "aci_object_changes_total"), sumFamily(text, "aci_websocket_messages_total"), sumFamily(text, "aci_object_resync_changes_total")
	_, cpu0 = procStat(pid)
	self0 := selfCPU()
	start := time.Now()
	time.Sleep(*fleetWindow)
	_, cpu1 = procStat(pid)
	self1 := selfCPU()
	took := time.Since(start)
	text = e.scrape()
	must(sim.StopChurn())
	events := (sumFamily(text, "aci_object_changes_total") - changes0) / took.Seconds()
	frames := (sumFamily(text, "aci_websocket_messages_total") - frames0) / took.Seconds()
	busy := (cpu1 - cpu0).Seconds() / took.Seconds()
	rss, _ = procStat(pid)
	fmt.Printf("fleet: churn %.0f changes/s on the APIC: %.0f events/s (%.0f frames/s) into the exporter; exporter CPU %.1f%% of a core => %.1f ms of CPU per second per 1,000 events/s above idle (%.1f with idle); harness (apicsim pushing to %d sockets) %.0f%%\n",
		*fleetChurn, events, frames, 100*busy, 1000*(busy-idle)/(events/1000), 1000*busy/(events/1000), n, 100*(self1-self0).Seconds()/took.Seconds())
	fmt.Printf("fleet: after the churn: RSS %.0f MiB, heap in use %.0f MiB; fabrics up %.0f of %d; resync changes meanwhile %.0f (0: nothing was lost)\n",
		mib(rss), value(text, "go_memstats_heap_inuse_bytes ")/(1<<20), sumFamily(text, "aci_up"), n, sumFamily(text, "aci_object_resync_changes_total")-resync0)

	// Scrapes, once the churn has stopped, each kind back to back.
	for _, path := range []string{"/metrics", "/metrics?fabric=fab000"} {
		var line []string
		for _, gz := range []bool{false, true} {
			line = append(line, timeScrapes(e, path, gz, idle))
		}
		fmt.Printf("fleet: scrape %s: %s\n", path, strings.Join(line, "; "))
	}

	// The first snapshots' garbage is freed at the next GC, but the runtime
	// gives the memory back to the system gradually.
	rss, waited := settleRSS(pid, *fleetSettle)
	text = e.scrape()
	fmt.Printf("fleet: RSS settled at %.0f MiB (%.1f MiB per fabric) %v after the scrapes; heap in use %.0f MiB\n",
		mib(rss), mib(rss)/float64(n), waited.Round(time.Second), value(text, "go_memstats_heap_inuse_bytes ")/(1<<20))
}

// settleRSS waits until a process's RSS has moved less than 2 % in 30 s,
// at most max, and returns it and the time waited.
func settleRSS(pid int, max time.Duration) (int64, time.Duration) {
	start := time.Now()
	var samples []int64
	for {
		rss, _ := procStat(pid)
		samples = append(samples, rss)
		if k := len(samples) - 7; k >= 0 && math.Abs(float64(rss-samples[k])) < 0.02*float64(rss) || time.Since(start) >= max {
			return rss, time.Since(start)
		}
		time.Sleep(5 * time.Second)
	}
}

// timeScrapes scrapes path -fleet-scrapes times and returns the median and
// max wall time, the size on the wire and the exporter's CPU per scrape
// (above its idle rate).
func timeScrapes(e *exporter, path string, gz bool, idle float64) string {
	var walls []time.Duration
	size := 0
	_, cpu0 := procStat(e.cmd.Process.Pid)
	start := time.Now()
	for range *fleetScrapes {
		req, err := http.NewRequest("GET", e.url+path, nil)
		must(err)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip") // set by hand: the body stays compressed
		}
		t := time.Now()
		resp, err := client.Do(req)
		must(err)
		n, err := io.Copy(io.Discard, resp.Body)
		must(err)
		resp.Body.Close()
		walls = append(walls, time.Since(t))
		size = int(n)
	}
	_, cpu1 := procStat(e.cmd.Process.Pid)
	cpu := (cpu1 - cpu0).Seconds() - idle*time.Since(start).Seconds()
	slices.Sort(walls)
	kind := "text"
	if gz {
		kind = "gzip"
	}
	return fmt.Sprintf("%s p50 %v max %v, %.0f KiB, %.1f ms CPU each", kind, walls[len(walls)/2].Round(100*time.Microsecond),
		walls[len(walls)-1].Round(100*time.Microsecond), float64(size)/1024, 1000*cpu/float64(len(walls)))
}

// sumFamily adds up the series of one family in a text scrape.
func sumFamily(text, name string) float64 {
	sum := 0.0
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, name); ok && (rest[0] == '{' || rest[0] == ' ') {
			f := strings.Fields(line)
			var v float64
			fmt.Sscan(f[len(f)-1], &v)
			sum += v
		}
	}
	return sum
}

// countSeries counts the series whose name starts with prefix.
func countSeries(text, prefix string) int {
	n := 0
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
