// Command acibench measures the whole-process figures of BENCHMARKS.md: it
// runs a simulated APIC (apicsim) in this process and the aci-exporter
// binary beside it, and reports
//
//   - APIC cost: REST calls during scrapes, and per hour in steady state
//     for 10 subscriptions with default settings (through a counting proxy);
//   - freshness: a change committed in apicsim until a /metrics scrape shows
//     it, p50 and p99 over -changes changes;
//   - resync: the paged first snapshot of a class of -objects objects, its
//     time, the CPU each side spent, and the exporter's RSS afterwards;
//   - fleet (not run by default): one exporter serving -fleet fabrics of
//     -fleet-profile each under churn: RSS, CPU per 1,000 events/s, scrape
//     times (see fleet.go).
//
// Usage: go build -o /tmp/aci-exporter ./cmd/aci-exporter &&
// go run ./cmd/acibench -exporter /tmp/aci-exporter
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/collector"
	"github.com/aci-exporter/aci-exporter/event"
)

var (
	exporterBin = flag.String("exporter", "", "the aci-exporter binary (built with go build ./cmd/aci-exporter)")
	phases      = flag.String("phases", "cost,freshness,resync,rss", "phases to run (also: deadsub, fleet)")
	changes     = flag.Int("changes", 10000, "freshness: changes to time")
	objects     = flag.Int("objects", 100000, "resync: objects in the class")
	rssObjects  = flag.Int("rss-objects", 1000000, "rss: objects tracked")
	window      = flag.Duration("window", 60*time.Second, "APIC cost: steady-state window to count REST calls in")
	kills       = flag.Int("kills", 20, "deadsub: silent deaths of every subscription to time")
	probeEvery  = flag.Duration("probe-interval", 10*time.Second, "deadsub: the exporter's probe_interval")
)

const user, password = "monitoring", "s3cret"

func main() {
	flag.Parse()
	log.SetFlags(0)
	if *exporterBin == "" {
		log.Fatal("-exporter is required")
	}
	dir, err := os.MkdirTemp("", "acibench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, p := range strings.Split(*phases, ",") {
		switch p {
		case "cost":
			apicCost(dir)
		case "freshness":
			freshness(dir)
		case "resync":
			resync(dir)
		case "rss":
			rssPhase()
		case "deadsub":
			deadSub(dir)
		case "fleet":
			for _, n := range strings.Split(*fleetSizes, ",") {
				fabrics, err := strconv.Atoi(n)
				if err != nil || fabrics < 1 {
					log.Fatalf("-fleet: %q is not a number of fabrics", n)
				}
				fleet(dir, fabrics)
			}
		default:
			log.Fatalf("unknown phase %q", p)
		}
	}
}

func newSim(cfg apicsim.Config) *apicsim.Sim {
	cfg.Users = map[string]string{user: password}
	s, err := apicsim.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

// exporter is a running aci-exporter process.
type exporter struct {
	cmd  *exec.Cmd
	url  string
	logs *os.File
}

func startExporter(dir, name string, controller, caFile string, insecure bool, classes []string, extra string) *exporter {
	pw := filepath.Join(dir, "pw")
	must(os.WriteFile(pw, []byte(password+"\n"), 0o600))
	tlsCfg := "{ca_file: " + caFile + "}"
	if insecure {
		tlsCfg = "{insecure_skip_verify: true}"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "fabrics:\n  - name: %s\n    controllers: [%s]\n    username: %s\n    password_file: %s\n    tls: %s\n%s    subscriptions:\n",
		name, controller, user, pw, tlsCfg, extra)
	for _, c := range classes {
		fmt.Fprintf(&b, "      - class: %s\n", c)
	}
	return runExporter(dir, name, b.String())
}

// runExporter starts the exporter on the config text cfg.
func runExporter(dir, name, cfg string) *exporter {
	cfgPath := filepath.Join(dir, name+".yml")
	must(os.WriteFile(cfgPath, []byte(cfg), 0o600))
	addr := freeAddr()
	logs, err := os.Create(filepath.Join(dir, name+".log"))
	must(err)
	cmd := exec.Command(*exporterBin, "--config.file="+cfgPath, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logs, logs
	must(cmd.Start())
	return &exporter{cmd: cmd, url: "http://" + addr, logs: logs}
}

func (e *exporter) stop() {
	e.cmd.Process.Signal(syscall.SIGTERM)
	e.cmd.Wait()
	e.logs.Close()
}

func (e *exporter) waitReady(timeout time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < timeout {
		resp, err := http.Get(e.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	out, _ := os.ReadFile(e.logs.Name())
	log.Fatalf("exporter not ready after %v:\n%s", timeout, out)
	return 0
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}

func (e *exporter) scrape() string {
	resp, err := client.Get(e.url + "/metrics")
	must(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(err)
	return string(b)
}

// value returns the value of the series whose line starts with prefix.
func value(text, prefix string) float64 {
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

// procStat returns the RSS (bytes) and CPU time of a process.
func procStat(pid int) (rss int64, cpu time.Duration) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	must(err)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			rss = kb << 10
		}
	}
	f.Close()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	must(err)
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return rss, time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	must(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// counter counts the REST calls that pass the proxy, by kind.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func kind(r *http.Request) string {
	p := r.URL.Path
	q := r.URL.RawQuery
	switch {
	case strings.HasPrefix(p, "/socket"):
		return "websocket"
	case strings.Contains(p, "aaaLogin"):
		return "aaaLogin"
	case strings.Contains(p, "aaaRefresh"):
		return "aaaRefresh"
	case strings.Contains(p, "subscriptionRefresh"):
		return "subscriptionRefresh"
	case strings.Contains(q, "subscription=yes"):
		return "subscribe"
	case strings.Contains(q, "page-size=1&") || strings.HasSuffix(q, "page-size=1"):
		return "probe"
	}
	return "query"
}

// proxy is an HTTPS reverse proxy to the simulator that counts REST calls
// (websocket upgrades pass through).
func proxy(sim *apicsim.Sim) (*httptest.Server, *counter) {
	target, _ := url.Parse(sim.URLs()[0])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}
	rp.ErrorLog = log.New(io.Discard, "", 0)
	c := &counter{n: map[string]int{}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n[kind(r)]++
		c.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	return srv, c
}

var tenClasses = []string{"fvTenant", "fvAp", "fvAEPg", "fvBD", "fvCtx", "fvSubnet", "vzBrCP", "l3extOut", "fvCEp", "faultInst"}

func diff(a, b map[string]int) (map[string]int, int) {
	out, total := map[string]int{}, 0
	for k, v := range b {
		if k == "websocket" {
			continue
		}
		if d := v - a[k]; d != 0 {
			out[k] = d
			total += d
		}
	}
	return out, total
}

func apicCost(dir string) {
	sim := newSim(apicsim.Config{})
	defer sim.Close()
	p, _ := apicsim.ProfileByName("medium")
	must(sim.Populate(p, 1))
	srv, cnt := proxy(sim)
	defer srv.Close()
	e := startExporter(dir, "cost", srv.URL, "", true, tenClasses, "")
	defer e.stop()
	e.waitReady(60 * time.Second)
	time.Sleep(time.Second)

	// Scrapes: what 1000 of them cost the APIC, next to what the timers
	// spent meanwhile.
	before := cnt.snapshot()
	start := time.Now()
	const scrapes = 1000
	for range scrapes {
		e.scrape()
	}
	took := time.Since(start)
	calls, total := diff(before, cnt.snapshot())
	fmt.Printf("apic-cost: %d scrapes in %v: %d REST calls in that time, all from the timers %v => REST calls per scrape: 0 (a scrape reads memory only)\n",
		scrapes, took.Round(time.Millisecond), total, calls)

	before = cnt.snapshot()
	time.Sleep(*window)
	calls, total = diff(before, cnt.snapshot())
	perHour := float64(total) * float64(time.Hour) / float64(*window)
	fmt.Printf("apic-cost: steady state, 10 subscriptions, default settings: %d REST calls in %v %v => %.0f per hour measured\n",
		total, *window, calls, perHour)
	fmt.Printf("apic-cost: by the timers: subscriptionRefresh 3 per 60 s timeout per id = %d/h, probe 1 per 60 s per subscription = %d/h, aaaRefresh every 300 s (refreshTimeoutSeconds 600 / 2) = 12/h, re-login at 95%% of 24 h: %.2f/h (+ 10 subscribes and snapshots)\n",
		10*3*60, 10*60, 1/(24*0.95))
	fmt.Printf("apic-cost: a polling exporter at a 60 s interval making ~60 calls per scrape: %d per hour\n", 60*60)
}

// deadSub times how long a silently dead subscription goes unnoticed: at a
// random moment of the probe cycle, every subscription is killed (its
// refreshes still answer 200) while each of the ten classes sees a
// modification every 200 ms (modifications only: the case a count cannot
// see), and each subscription is timed until it is made again (its
// resync).
func deadSub(dir string) {
	sim := newSim(apicsim.Config{})
	defer sim.Close()
	p, _ := apicsim.ProfileByName("medium")
	must(sim.Populate(p, 1))
	stop := make(chan struct{})
	defer close(stop)
	go modifyEvery(sim, 200*time.Millisecond, stop)
	ca := filepath.Join(dir, "ca.pem")
	must(sim.WriteCA(ca))
	e := startExporter(dir, "deadsub", sim.URLs()[0], ca, false, tenClasses,
		fmt.Sprintf("    subscription_refresh_timeout: 600s\n    probe_interval: %s\n", *probeEvery))
	defer e.stop()
	e.waitReady(60 * time.Second)
	resyncs := func() map[string]float64 {
		text := e.scrape()
		out := map[string]float64{}
		for _, c := range tenClasses {
			out[c] = value(text, `aci_resyncs_total{fabric="deadsub",subscription="`+c+`"} `)
		}
		return out
	}
	var found []time.Duration
	missed := 0
	for range *kills {
		for value(e.scrape(), `aci_up{fabric="deadsub"} `) != 1 {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(rand.N(*probeEvery)) // any moment of the probe cycle
		before := resyncs()
		sim.KillSubscriptions(apicsim.RefreshSilent200)
		start := time.Now()
		for len(before) > 0 && time.Since(start) < *probeEvery+30*time.Second {
			now := resyncs()
			for c := range before {
				if now[c] > before[c] {
					found = append(found, time.Since(start))
					delete(before, c)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		missed += len(before)
		sim.SetRefreshFailure(apicsim.RefreshHTTP400)
	}
	if len(found) == 0 {
		log.Fatal("deadsub: no dead subscription found")
	}
	slices.Sort(found)
	med, worst := found[len(found)/2], found[len(found)-1]
	fmt.Printf("deadsub: %d kills of 10 subscriptions at random moments, probe_interval %v, every class modified every 200 ms: %d deaths found, median %v, max %v after the death (%.2f and %.2f probe intervals); %d not found within the interval + 30 s\n",
		*kills, *probeEvery, len(found), med.Round(10*time.Millisecond), worst.Round(10*time.Millisecond),
		med.Seconds()/probeEvery.Seconds(), worst.Seconds()/probeEvery.Seconds(), missed)
}

// modifyEvery modifies a random object of each of the ten classes every
// period, until stop.
func modifyEvery(sim *apicsim.Sim, period time.Duration, stop <-chan struct{}) {
	rnd := rand.New(rand.NewPCG(1, 2))
	t := time.NewTicker(period)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for _, c := range tenClasses {
			dn, _, ok := sim.Pick(rnd, c)
			if !ok {
				continue
			}
			change := map[string]string{"descr": fmt.Sprint("probe test ", i)}
			if c == "faultInst" { // faults keep modTs "never" and stamp lastTransition
				ts := time.Now().UTC().Format("2006-01-02T15:04:05.000") + "+00:00"
				change = map[string]string{"lastTransition": ts, "occur": strconv.Itoa(i)}
			}
			sim.Modify(dn, change)
		}
	}
}

func freshness(dir string) {
	sim := newSim(apicsim.Config{})
	defer sim.Close()
	const tenants = 100
	for i := range tenants {
		must(sim.Create("fvTenant", "uni/tn-t"+strconv.Itoa(i), map[string]string{"name": "t" + strconv.Itoa(i), "descr": ""}))
	}
	ca := filepath.Join(dir, "ca.pem")
	must(sim.WriteCA(ca))
	e := startExporter(dir, "fresh", sim.URLs()[0], ca, false, []string{"fvTenant"}, "")
	defer e.stop()
	e.waitReady(30 * time.Second)
	// One scrape alone, for scale.
	var scrapeTimes []time.Duration
	for range 200 {
		t := time.Now()
		e.scrape()
		scrapeTimes = append(scrapeTimes, time.Since(t))
	}
	lat := make([]time.Duration, 0, *changes)
	scrapesPer := 0
	for i := range *changes {
		tn := i % tenants
		prefix := `aci_object_changes_total{class="fvTenant",fabric="fresh",status="modified",tenant="t` + strconv.Itoa(tn) + `"} `
		want := float64(i/tenants + 1)
		t0 := time.Now()
		must(sim.Modify("uni/tn-t"+strconv.Itoa(tn), map[string]string{"descr": strconv.Itoa(i)}))
		for {
			scrapesPer++
			if value(e.scrape(), prefix) >= want {
				break
			}
			if time.Since(t0) > 10*time.Second {
				log.Fatalf("change %d not visible after 10 s", i)
			}
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	slices.Sort(scrapeTimes)
	q := func(d []time.Duration, p float64) time.Duration { return d[int(p*float64(len(d)-1))] }
	fmt.Printf("freshness: %d changes, commit in apicsim -> visible in a /metrics scrape: p50 %v p99 %v max %v (%.2f scrapes per change; one scrape alone p50 %v p99 %v)\n",
		len(lat), q(lat, 0.5).Round(time.Microsecond), q(lat, 0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond),
		float64(scrapesPer)/float64(len(lat)), q(scrapeTimes, 0.5).Round(time.Microsecond), q(scrapeTimes, 0.99).Round(time.Microsecond))
}

func resync(dir string) {
	sim := newSim(apicsim.Config{MaxResultSize: 100000})
	defer sim.Close()
	start := time.Now()
	for i := range *objects {
		t := i % 300
		dn := fmt.Sprintf("uni/tn-tenant%03d/ap-app%02d/epg-epg%04d/cep-00:50:56:%02X:%02X:%02X", t, i%40, i%5000, i>>16&255, i>>8&255, i&255)
		must(sim.Create("fvCEp", dn, map[string]string{
			"encap": "vlan-" + strconv.Itoa(100+i%3000), "ip": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			"mac": dn[len(dn)-17:], "name": dn[len(dn)-17:], "lcC": "learned", "nameAlias": "", "annotation": "",
			"uid": "0", "fabricPathDn": "topology/pod-1/paths-101/pathep-[eth1/" + strconv.Itoa(i%48) + "]",
		}))
	}
	fmt.Printf("resync: populated %d fvCEp objects in %v\n", *objects, time.Since(start).Round(time.Millisecond))
	ca := filepath.Join(dir, "ca.pem")
	must(sim.WriteCA(ca))
	simCPU0 := selfCPU()
	e := startExporter(dir, "resync", sim.URLs()[0], ca, false, []string{"fvCEp"}, "    max_objects: 2000000\n")
	defer e.stop()
	ready := e.waitReady(10 * time.Minute)
	simCPU := selfCPU() - simCPU0
	rss, expCPU := procStat(e.cmd.Process.Pid)
	text := e.scrape()
	n := 0.0
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "aci_objects{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			n += v
		}
	}
	heap := value(text, "go_memstats_heap_inuse_bytes ")
	bottleneck := "exporter (decoding pages)"
	if simCPU > expCPU {
		bottleneck = "apicsim (serving pages)"
	}
	fmt.Printf("resync: first snapshot of %d objects (pages of 10000) to /-/ready in %v (%.0f objects/s); CPU: exporter %v, apicsim+harness %v => bottleneck: %s\n",
		int(n), ready.Round(time.Millisecond), n/ready.Seconds(), expCPU.Round(time.Millisecond), simCPU.Round(time.Millisecond), bottleneck)
	fmt.Printf("resync: exporter RSS at %d objects: %.0f MiB (heap in use %.0f MiB); %.0f B/object of RSS\n", int(n), float64(rss)/(1<<20), heap/(1<<20), float64(rss)/n)
	fmt.Printf("resync: exporter RSS peak during the first snapshot: %.0f MiB\n", float64(peakRSS(e.cmd.Process.Pid))/(1<<20))
	time.Sleep(3 * time.Second) // let the exporter return snapshot garbage
	rss, _ = procStat(e.cmd.Process.Pid)
	text = e.scrape()
	fmt.Printf("resync: exporter RSS 3 s later: %.0f MiB (heap in use %.0f MiB, idle and not yet released %.0f MiB)\n", float64(rss)/(1<<20),
		value(text, "go_memstats_heap_inuse_bytes ")/(1<<20), (value(text, "go_memstats_heap_idle_bytes ")-value(text, "go_memstats_heap_released_bytes "))/(1<<20))

	// A resync of the whole class: the socket dropped, a new session.
	resetPeakRSS(e.cmd.Process.Pid)
	resyncs := value(text, `aci_resyncs_total{fabric="resync",subscription="fvCEp"} `)
	start = time.Now()
	_, err := sim.DropSockets(apicsim.CloseNormal)
	must(err)
	for value(e.scrape(), `aci_resyncs_total{fabric="resync",subscription="fvCEp"} `) <= resyncs || value(e.scrape(), `aci_up{fabric="resync"} `) != 1 {
		if time.Since(start) > 10*time.Minute {
			log.Fatal("resync: no resync within 10 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("resync: a resync of %d objects after a socket drop took %v; exporter RSS peak during it: %.0f MiB\n",
		int(n), time.Since(start).Round(time.Millisecond), float64(peakRSS(e.cmd.Process.Pid))/(1<<20))
}

// peakRSS returns a process's peak resident memory (VmHWM), in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(err)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS starts a process's VmHWM over from its RSS now.
func resetPeakRSS(pid int) {
	must(os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0))
}

// rssPhase measures the resident memory of the exporter's state at
// -rss-objects objects, in this process: the collector fed a snapshot the
// way the session does (event.Objects with their attributes), then the
// snapshot dropped. The exporter binary adds a few MiB of its own.
func rssPhase() {
	runtime.GC()
	debug.FreeOSMemory()
	rss0 := selfRSS()
	f := collector.NewFabric("rss", nil, []collector.Subscription{{Name: "fvCEp", Class: "fvCEp"}}, nil, 0)
	objs := make([]event.Object, *rssObjects)
	for i := range objs {
		dn := fmt.Sprintf("uni/tn-tenant%03d/ap-app%02d/epg-epg%04d/cep-00:50:56:%02X:%02X:%02X", i%300, i%40, i%5000, i>>16&255, i>>8&255, i&255)
		objs[i] = event.Object{DN: dn, Tenant: fmt.Sprintf("tenant%03d", i%300), Attrs: []event.Attr{
			{Name: "encap", Value: "vlan-" + strconv.Itoa(100+i%3000)}, {Name: "ip", Value: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)},
			{Name: "lcC", Value: "learned"}, {Name: "mac", Value: dn[len(dn)-17:]}, {Name: "modTs", Value: "2024-02-01T09:15:42.117+00:00"}}}
	}
	runtime.GC()
	peakSnap := selfRSS()
	start := time.Now()
	for page := range slices.Chunk(objs, 10000) {
		f.Snapshot("fvCEp", page)
	}
	f.Resync("fvCEp", nil, nil)
	took := time.Since(start)
	peak := selfRSS()
	objs = nil
	runtime.GC()
	debug.FreeOSMemory()
	rss := selfRSS()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("rss: %d objects: Resync of the snapshot in %v; RSS with the snapshot held %.0f MiB (peak %.0f MiB), after it is dropped %.0f MiB, %.0f MiB above the empty process (%.0f B/object; heap in use %.0f MiB)\n",
		f.Objects("fvCEp"), took.Round(time.Millisecond), float64(peakSnap)/(1<<20), float64(peak)/(1<<20), float64(rss)/(1<<20), float64(rss-rss0)/(1<<20), float64(rss-rss0)/float64(*rssObjects), float64(ms.HeapInuse)/(1<<20))
	runtime.KeepAlive(f)
}

func selfRSS() int64 {
	rss, _ := procStat(os.Getpid())
	return rss
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	defer l.Close()
	return l.Addr().String()
}

func must(err error) {
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
