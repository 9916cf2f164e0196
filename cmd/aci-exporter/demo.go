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

const demoChurnRate = 20 // changes per second

func startDemo(listen string, logger *slog.Logger) (*demo, error) {
	pw := make([]byte, 12)
	rand.Read(pw)
	password := hex.EncodeToString(pw)
	sim, err := apicsim.New(apicsim.Config{
		Addrs:  []string{listen},
		Users:  map[string]string{"monitoring": password},
		Logger: logger.With("component", "apicsim"),
	})
	if err != nil {
		return nil, err
	}
	d := &demo{sim: sim}
	if err := d.setup(password); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (d *demo) setup(password string) error {
	profile, err := apicsim.ProfileByName("demo")
	if err != nil {
		return err
	}
	if err := d.sim.Populate(profile, 1); err != nil {
		return err
	}
	d.sim.StartChurn(profile, 1, demoChurnRate)
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
