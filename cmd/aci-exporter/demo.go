package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aci-exporter/aci-exporter/apicsim"
	"github.com/aci-exporter/aci-exporter/config"
)

// demo is an embedded simulated fabric with steady churn.
type demo struct {
	sim *apicsim.Sim
	dir string
	cfg *config.Config
}

// The demo's fabric: apicsim's demo profile, populated and churned from
// demoSeed at demoChurnRate changes per second, a laptop's worth of CPU.
// TestDemoMovesEveryBuiltin holds it to moving every built-in state
// metric within a minute.
const (
	demoProfile   = "demo"
	demoSeed      = 1
	demoChurnRate = 20
)

// newDemoSim starts a sim of cfg and populates the demo's fabric on it;
// the caller starts the churn.
func newDemoSim(cfg apicsim.Config) (*apicsim.Sim, apicsim.Profile, error) {
	profile, err := apicsim.ProfileByName(demoProfile)
	if err != nil {
		return nil, profile, err
	}
	sim, err := apicsim.New(cfg)
	if err != nil {
		return nil, profile, err
	}
	if err := sim.Populate(profile, demoSeed); err != nil {
		sim.Close()
		return nil, profile, err
	}
	return sim, profile, nil
}

func startDemo(listen string, logger *slog.Logger) (*demo, error) {
	pw := make([]byte, 12)
	rand.Read(pw)
	password := hex.EncodeToString(pw)
	sim, profile, err := newDemoSim(apicsim.Config{
		Addrs:  []string{listen},
		Users:  map[string]string{"monitoring": password},
		Logger: logger.With("component", "apicsim"),
	})
	if err != nil {
		return nil, err
	}
	sim.StartChurn(profile, demoSeed, demoChurnRate)
	d := &demo{sim: sim}
	if err := d.setup(password); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (d *demo) setup(password string) error {
	var err error
	if d.dir, err = os.MkdirTemp("", "aci-exporter-demo"); err != nil {
		return err
	}
	ca := filepath.Join(d.dir, "ca.pem")
	if err := d.sim.WriteCA(ca); err != nil {
		return err
	}
	// The demo's config goes through the same parser and checks as a user's.
	yml := fmt.Sprintf(`fabrics:
  - name: demo
    controllers: [%q]
    username: monitoring
    password_env: ACI_EXPORTER_DEMO_PASSWORD
    tls: {ca_file: %q}
    subscriptions:
      - class: fvTenant
      - class: fvAp
      - class: fvAEPg
      - class: fvBD
      - class: fvCtx
      - class: fvCEp
      - class: faultInst
      - name: critical-faults
        class: faultInst
        filter: 'eq(faultInst.severity,"critical")'
`, d.sim.URLs()[0], ca)
	os.Setenv("ACI_EXPORTER_DEMO_PASSWORD", password)
	d.cfg, err = config.Parse([]byte(yml))
	return err
}

func (d *demo) close() {
	d.sim.Close()
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}
