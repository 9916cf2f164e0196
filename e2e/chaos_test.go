package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/internal/proctest"
)

// The chaos suite drives apicsim through seeded random sequences of every
// fault of apic-protocol.md §8 (items 9–19) during churn; after each
// sequence every object gauge, change counter and state series must equal
// the ground truth, and the stream must be up. ACI_CHAOS_SEEDS sets how many seeds run
// (default 20); ACI_CHAOS_SEED runs one.

// fault is one failure mode: inject breaks something, and returns once the
// exporter has got over it (where that can be observed).
type fault struct {
	name   string
	inject func(c *chaos)
}

type chaos struct {
	t       *testing.T
	f       *fabric
	e       *exporter
	rng     *rand.Rand
	fault   string // the fault being injected
	resyncs series // aci_resyncs_total before the fault
}

// resynced waits until the exporter has taken a new snapshot of every
// subscription (every fault here hits them all) and is up again.
func (c *chaos) resynced() { c.resyncedWhere(func(string) bool { return true }) }

// resyncedWhere is resynced for the subscriptions of the classes needed.
func (c *chaos) resyncedWhere(needed func(class string) bool) {
	c.t.Helper()
	proctest.Poll(c.t, 30*time.Second, "a resync of every subscription after "+c.fault, func() (bool, string) {
		now, err := c.e.scrape("aci_resyncs_total")
		if err != nil {
			return false, err.Error()
		}
		var stale []string
		for _, class := range subscribedClasses() {
			k := "aci_resyncs_total{fabric=prod,subscription=" + class + "}"
			if now[k] <= c.resyncs[k] && needed(class) {
				stale = append(stale, class)
			}
		}
		if len(stale) > 0 {
			return false, "no new snapshot of " + strings.Join(stale, ", ")
		}
		return c.e.value(c.t, "aci_up", "fabric=prod") == 1, "aci_up is not 1"
	})
	c.resyncs, _ = c.e.scrape("aci_resyncs_total")
}

// classState fingerprints the simulator's objects of a class.
func (c *chaos) classState(class string) string {
	var b strings.Builder
	for _, dn := range c.f.sim.DNs(class) {
		attrs, _ := c.f.sim.Get(dn)
		fmt.Fprint(&b, dn, attrs, "\n") // maps print sorted by key
	}
	return b.String()
}

// connected returns the index of the controller whose socket is open.
func (c *chaos) connected() int {
	for i, u := range c.f.sim.URLs() {
		if c.e.value(c.t, "aci_websocket_connected", "controller="+u+",fabric=prod") == 1 {
			return i
		}
	}
	return -1
}

// churnFor lets n more frames arrive (the churn runs meanwhile).
func (c *chaos) churnFor(n int) {
	c.t.Helper()
	before := c.e.value(c.t, "aci_websocket_messages_total", "fabric=prod")
	eventually(c.t, 30*time.Second, "churn", func() bool {
		return c.e.value(c.t, "aci_websocket_messages_total", "fabric=prod") >= before+float64(n)
	})
}

var faults = []fault{
	{"drop-normal", func(c *chaos) { c.f.sim.DropSockets(apicsim.CloseNormal); c.resynced() }},
	{"drop-going-away", func(c *chaos) { c.f.sim.DropSockets(apicsim.CloseGoingAway); c.resynced() }},
	{"drop-abrupt", func(c *chaos) { c.f.sim.DropSockets(apicsim.CloseAbrupt); c.resynced() }},
	{"half-open", func(c *chaos) { c.f.sim.StallSockets(); c.resynced() }},
	{"token-expired", func(c *chaos) { c.f.sim.ExpireSessions(); c.resynced() }},
	{"refresh-400", func(c *chaos) { c.f.sim.KillSubscriptions(apicsim.RefreshHTTP400); c.resynced() }},
	{"refresh-error-200", func(c *chaos) { c.f.sim.KillSubscriptions(apicsim.RefreshError200); c.resynced() }},
	{"refresh-silent-200", func(c *chaos) {
		before := map[string]string{}
		for _, class := range subscribedClasses() {
			before[class] = c.classState(class)
		}
		c.f.sim.KillSubscriptions(apicsim.RefreshSilent200)
		// The probe finds a dead subscription once the APIC holds a change
		// it never pushed: one whose class has not changed since (a quiet
		// one: nodes) cannot be found yet, and misses nothing.
		c.resyncedWhere(func(class string) bool { return c.classState(class) != before[class] })
		c.f.sim.SetRefreshFailure(apicsim.RefreshHTTP400)
	}},
	{"controller-down", func(c *chaos) {
		i := c.connected()
		if i < 0 {
			return
		}
		c.f.sim.KillController(i)
		c.resynced()
		if j := c.connected(); j == i {
			c.t.Errorf("still on the dead controller %d", i)
		}
		c.f.sim.ReviveController(i)
	}},
	{"login-throttled", func(c *chaos) {
		ctrl := "controller=" + c.f.sim.URLs()[max(c.connected(), 0)] + ",fabric=prod"
		before := c.e.value(c.t, "aci_login_failures_total", ctrl)
		c.f.sim.ThrottleLogins(true)
		c.f.sim.DropSockets(apicsim.CloseAbrupt)
		eventually(c.t, 10*time.Second, "a throttled login", func() bool {
			return c.e.value(c.t, "aci_login_failures_total", ctrl) > before || c.e.value(c.t, "aci_up", "fabric=prod") == 0
		})
		c.f.sim.ThrottleLogins(false)
		c.resynced()
	}},
	{"slow-apic", func(c *chaos) {
		c.f.sim.SetLatency(150 * time.Millisecond)
		c.f.sim.DropSockets(apicsim.CloseAbrupt)
		c.resynced()
		c.f.sim.SetLatency(0)
	}},
	{"malformed-frames", func(c *chaos) {
		before := c.e.value(c.t, "aci_websocket_messages_total", "fabric=prod")
		for _, k := range []string{apicsim.FrameInvalidJSON, apicsim.FrameNoDN, apicsim.FrameUnknownClass, apicsim.FrameUnknownID} {
			c.f.sim.InjectFrame(k)
		}
		eventually(c.t, 10*time.Second, "the bad frames read", func() bool {
			return c.e.value(c.t, "aci_websocket_messages_total", "fabric=prod") >= before+4
		})
	}},
	{"push-before-answer", func(c *chaos) {
		c.f.sim.SetEarlyPush(true)
		c.f.sim.DropSockets(apicsim.CloseAbrupt)
		c.resynced()
		c.f.sim.SetEarlyPush(false)
	}},
}

// recovery collects, per fault, how long the exporter took to be back.
var recovery = struct {
	sync.Mutex
	times map[string][]time.Duration
}{times: map[string][]time.Duration{}}

func chaosSeeds(t *testing.T) []uint64 {
	if s := os.Getenv("ACI_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ACI_CHAOS_SEED: %v", err)
		}
		return []uint64{n}
	}
	count := 20
	if s := os.Getenv("ACI_CHAOS_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ACI_CHAOS_SEEDS must be a positive number, got %q", s)
		}
		count = n
	}
	if testing.Short() {
		count = 3
	}
	seeds := make([]uint64, count)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

func TestChaos(t *testing.T) {
	for _, seed := range chaosSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runChaos(t, seed) })
	}
	recovery.Lock()
	defer recovery.Unlock()
	var lines []string
	for name, ds := range recovery.times {
		slices.Sort(ds)
		lines = append(lines, fmt.Sprintf("%-20s n=%-3d median %-8v max %v", name, len(ds), ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond)))
	}
	slices.Sort(lines)
	t.Logf("recovery time per fault (injection until the exporter is up on a fresh snapshot):\n%s", strings.Join(lines, "\n"))
}

func runChaos(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	f := newFabric(t, "prod", apicsim.Config{Controllers: 3, BatchSize: 1 + rng.IntN(4)}, "demo", int64(seed))
	e := startExporterArgs(t, "--config.file="+chaosConfig(t, f), "--apic.backoff-min=50ms", "--apic.backoff-max=1s")
	e.waitReady()
	c := &chaos{t: t, f: f, e: e, rng: rng}
	f.churn(float64(200+rng.IntN(400)), int64(seed))
	var done []string
	for range 4 + rng.IntN(3) {
		ft := faults[rng.IntN(len(faults))]
		done = append(done, ft.name)
		c.fault = ft.name
		c.resyncs, _ = e.scrape("aci_resyncs_total")
		start := time.Now()
		ft.inject(c)
		recovery.Lock()
		recovery.times[ft.name] = append(recovery.times[ft.name], time.Since(start))
		recovery.Unlock()
		c.churnFor(20 + rng.IntN(100))
	}
	f.sim.StopChurn()
	t.Logf("faults: %s", strings.Join(done, ", "))
	assertTruth(t, e, f)
	requireTransitions(t, f)
	eventually(t, 10*time.Second, "aci_up = 1 after recovery", func() bool { return e.value(t, "aci_up", "fabric=prod") == 1 })
	if code, _ := e.get("/-/ready"); code != 200 {
		t.Fatalf("/-/ready = %d after recovery", code)
	}
}

func chaosConfig(t *testing.T, f *fabric) string {
	path := t.TempDir() + "/aci.yml"
	writeConfig(t, path, f.yaml("    subscription_refresh_timeout: 2s\n    ping_interval: 250ms\n    probe_interval: 300ms\n"))
	return path
}
