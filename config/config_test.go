package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"

	"github.com/aci-exporter/aci-exporter/statedef"
)

// secret is the inline password used by fixtures; it must never show up in
// an error, a dump or a log line.
const secret = "hunter2"

func TestLoadBadConfigs(t *testing.T) {
	tests := map[string]string{
		"class-invalid":            `line 8: fabrics[0] "prod": subscriptions[0]: class "FaultInst" is not a class name (want ^[a-z][a-zA-Z0-9]+$)`,
		"class-missing":            `line 8: fabrics[0] "prod": subscriptions[0]: class is required`,
		"comments-only":            `config is empty`,
		"controller-bad-port":      `line 4: fabrics[0] "prod": controllers[0]: not a valid URL: invalid port ":port" after host`,
		"controller-duplicate":     `line 5: fabrics[0] "prod": controllers[1]: https://apic1.example.net is already listed as controllers[0]`,
		"controller-no-host":       `line 4: fabrics[0] "prod": controllers[0]: has no host`,
		"controller-no-scheme":     `line 4: fabrics[0] "prod": controllers[0]: must start with https:// or http://`,
		"controller-path":          `line 4: fabrics[0] "prod": controllers[0]: must not have a path`,
		"controller-query":         `line 4: fabrics[0] "prod": controllers[0]: must not have a query`,
		"controller-scheme":        `line 4: fabrics[0] "prod": controllers[0]: must start with https:// or http://`,
		"controller-userinfo":      `line 4: fabrics[0] "prod": controllers[0]: must not contain a user name or password`,
		"duplicate-key":            `line 7: mapping key "username" already defined at line 5`,
		"duplicate-name":           `line 7: fabrics[1] "prod": name is already used by fabrics[0]`,
		"empty":                    `config is empty`,
		"max-objects-negative":     `line 7: fabrics[0] "prod": max_objects must be positive`,
		"missing-controllers":      `line 2: fabrics[0] "prod": controllers are required`,
		"missing-name":             `line 2: fabrics[0]: name is required`,
		"missing-username":         `line 2: fabrics[0] "prod": username is required`,
		"multi-doc":                `config holds more than one YAML document`,
		"no-fabrics":               `no fabrics configured`,
		"no-password":              `line 2: fabrics[0] "prod": one of password_file, password_env or password is required`,
		"page-size-zero":           `line 7: fabrics[0] "prod": snapshot_page_size must be positive`,
		"ping-zero":                `line 6: fabrics[0] "prod": ping_interval must be positive`,
		"password-env-name":        `line 6: fabrics[0] "prod": password_env "ACI-PROD" is not a valid environment variable name`,
		"password-not-string":      `line 7: cannot unmarshal !!map into a string`,
		"subscription-duplicate":   `line 9: fabrics[0] "prod": subscriptions[1]: name "faultInst" is already used by subscriptions[0]`,
		"subscriptions-empty":      `line 7: fabrics[0] "prod": subscriptions must not be empty; omit the key for the defaults`,
		"syntax":                   `yaml: line 5: mapping values are not allowed in this context`,
		"timeout-int":              "line 7: cannot unmarshal !!int `600` into time.Duration",
		"timeout-negative":         `line 7: fabrics[0] "prod": subscription_refresh_timeout must be positive, got -5m0s`,
		"timeout-subsecond":        `line 7: fabrics[0] "prod": subscription_refresh_timeout must be a whole number of seconds, got 1.5s`,
		"timeout-too-long":         `line 7: fabrics[0] "prod": subscription_refresh_timeout must be at most 12h0m0s (the APIC maximum), got 12h0m1s`,
		"timeout-zero":             `line 7: fabrics[0] "prod": subscription_refresh_timeout must be positive, got 0s`,
		"two-passwords":            `line 7: fabrics[0] "prod": only one of password_file, password_env or password may be set, found password_env and password`,
		"unknown-key":              `line 5: unknown key "usernme" in a fabric`,
		"unknown-subscription-key": `line 8: unknown key "klass" in a subscription`,
		"unknown-tls-key":          `line 8: unknown key "ca" in tls`,
		"unknown-top-key":          `line 7: unknown key "fabric" at the top level`,
		// Every problem is reported, each with its line, in file order per fabric.
		"many-errors": `line 3: fabrics[0] "prod": controllers[0]: must start with https:// or http://
line 2: fabrics[0] "prod": username is required
line 4: fabrics[0] "prod": only one of password_file, password_env or password may be set, found password_file and password
line 6: fabrics[1] "prod": name is already used by fabrics[0]`,
	}

	// A fixture without an expected error would pass unnoticed.
	files, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := tests[strings.TrimSuffix(filepath.Base(f), ".bad.yml")]; !ok {
			t.Errorf("%s has no expected error in this test", f)
		}
	}

	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".bad.yml")
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) succeeded:\n%s", path, c)
			}
			if got, want := err.Error(), path+": "+want; got != want {
				t.Errorf("Load(%s) error:\n got: %s\nwant: %s", path, got, want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %s", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yml")
	if want := "reading config: open testdata/does-not-exist.yml: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestLoadMinimalDefaults(t *testing.T) {
	c, err := Load("testdata/minimal.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := Fabric{
		Name:        "prod",
		Controllers: []string{"https://apic1.example.net"},
		Username:    "monitoring",
		PasswordEnv: "ACI_PROD_PASSWORD",
		Subscriptions: []Subscription{
			{Name: "fvTenant", Class: "fvTenant"},
			{Name: "fvAp", Class: "fvAp"},
			{Name: "fvAEPg", Class: "fvAEPg"},
			{Name: "fvBD", Class: "fvBD"},
			{Name: "fvCtx", Class: "fvCtx"},
		},
		SnapshotPageSize: 10000,
		MaxObjects:       1000000,
		PingInterval:     30 * time.Second,
		ProbeInterval:    time.Minute,
	}
	if len(c.Fabrics) != 1 || !c.Fabrics[0].Same(want) {
		t.Errorf("got\n%s\nwant\n%s", c, want)
	}
	if c.Fabrics[0].SubscriptionRefreshTimeout != 0 {
		t.Error("an omitted subscription_refresh_timeout must stay 0 (APIC default)")
	}
}

func TestLoadFull(t *testing.T) {
	c, err := Load("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Fabric{{
		Name: "prod",
		// The trailing slash is dropped so callers can append /api/...
		Controllers: []string{"https://apic1.example.net", "https://apic2.example.net:8443"},
		Username:    "monitoring",
		Password:    secret,
		TLS: TLS{
			CAFile:     "/etc/aci-exporter/apic-ca.pem",
			ServerName: "apic.example.net",
		},
		SubscriptionRefreshTimeout: 10 * time.Minute,
		Subscriptions: []Subscription{
			{Name: "fvTenant", Class: "fvTenant"},
			{Name: "critical-faults", Class: "faultInst", Filter: `eq(faultInst.severity,"critical")`},
		},
		SnapshotPageSize: 500,
		MaxObjects:       20000,
		PingInterval:     10 * time.Second,
		ProbeInterval:    2 * time.Minute,
		State: State{
			Builtins: &[]string{"faults", "nodes"},
			Enable:   []string{"aci_interface_oper_state"},
			Disable:  []string{"aci_node_info"},
			Metrics: []statedef.Def{{
				Name:   "aci_faults",
				Class:  "faultInst",
				Kind:   statedef.Count,
				Labels: []statedef.Label{{Name: "severity", Attr: "severity"}},
				Where:  []statedef.Cond{{Attr: "severity", In: []string{"critical", "major"}}},
			}, {
				Name:   "aci_epg_health_score",
				Class:  "healthInst",
				Filter: `wcard(healthInst.dn,"/epg-")`,
				DN:     `^uni/tn-(?P<tenant>[^/]+)/ap-[^/]+/epg-(?P<epg>[^/]+)/health$`,
				Kind:   statedef.Value,
				Value:  &statedef.ValueFrom{Attr: "cur", Scale: 0.01},
				Labels: []statedef.Label{{Name: "tenant", DN: "tenant"}, {Name: "epg", DN: "epg"}},
			}},
		},
	}, {
		Name:        "lab",
		Controllers: []string{"http://10.0.0.1"},
		Username:    "admin",
		// Relative paths are taken relative to the config file.
		PasswordFile: "testdata/password.txt",
		TLS:          TLS{CAFile: "testdata/lab-ca.pem"},
		// "subscriptions:" with no value means the defaults.
		Subscriptions: []Subscription{
			{Name: "fvTenant", Class: "fvTenant"},
			{Name: "fvAp", Class: "fvAp"},
			{Name: "fvAEPg", Class: "fvAEPg"},
			{Name: "fvBD", Class: "fvBD"},
			{Name: "fvCtx", Class: "fvCtx"},
		},
		SnapshotPageSize: DefaultSnapshotPageSize,
		MaxObjects:       DefaultMaxObjects,
		PingInterval:     DefaultPingInterval,
		ProbeInterval:    DefaultProbeInterval,
		State:            State{Builtins: &[]string{}},
	}}
	if len(c.Fabrics) != len(want) || !c.Fabrics[0].Same(want[0]) || !c.Fabrics[1].Same(want[1]) {
		t.Errorf("got\n%s\nwant\n%s", c, &Config{Fabrics: want})
	}
	if p, err := c.Fabrics[1].ResolvePassword(); err != nil || p != "s3cret" {
		t.Errorf("lab password: got %q, %v", p, err)
	}
}

// TestExample checks that config.example.yaml parses and mentions every key.
func TestExample(t *testing.T) {
	const path = "../config.example.yaml"
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Its two user metrics, and the opt-in built-in it enables.
	for _, want := range []string{"aci_epg_health_score", "aci_ospf_adjacencies", "aci_bgp_peer_state"} {
		if !slices.Contains(names(c.Fabrics[0]), want) {
			t.Errorf("%s does not turn on %s: %v", path, want, names(c.Fabrics[0]))
		}
	}
	// The user metrics read the objects they are written for.
	for _, tc := range []struct {
		metric, dn, tenant string
		attrs              map[string]string
		want               string // label values joined by |; "" for no series
		value              float64
	}{
		{"aci_epg_health_score", "uni/tn-shop/ap-web/epg-front/health", "shop", map[string]string{"cur": "87"}, "shop|web|front", 87},
		{"aci_epg_health_score", "uni/tn-shop/ap-web/health", "shop", map[string]string{"cur": "87"}, "", 0},
		{"aci_ospf_adjacencies", "topology/pod-1/node-103/sys/ospf/inst-default/dom-shop:vrf1/if-[eth1/48]/adj-10.9.0.1", "",
			map[string]string{"operSt": "full", "area": "0.0.0.1"}, "1|103|shop:vrf1|full", 1},
		{"aci_ospf_adjacencies", "topology/pod-2/node-201/sys/ospf/inst-default/dom-overlay-1/if-[eth1/1]/adj-10.0.0.1", "",
			map[string]string{"operSt": "full", "area": "0.0.0.0"}, "", 0},
	} {
		i := slices.Index(names(c.Fabrics[0]), tc.metric)
		m := c.Fabrics[0].StateMetrics()[i]
		labels, v, ok := m.Series(tc.dn, tc.tenant, func(a string) (string, bool) { x, ok := tc.attrs[a]; return x, ok })
		if got := strings.Join(labels, "|"); ok != (tc.want != "") || got != tc.want || v != tc.value {
			t.Errorf("%s %s: %q %v %v, want %q %v", tc.metric, tc.dn, got, v, ok, tc.want, tc.value)
		}
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range yamlKeys(reflect.TypeFor[Config]()) {
		if !bytes.Contains(text, []byte(k+":")) {
			t.Errorf("%s does not show the key %s", path, k)
		}
	}
}

// yamlKeys lists the YAML keys of t and of the structs it holds.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		keys = append(keys, strings.Split(f.Tag.Get("yaml"), ",")[0])
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath() {
			keys = append(keys, yamlKeys(ft)...)
		}
	}
	return keys
}

// TestSecretNeverShown prints a config with an inline password every way a
// caller might, and checks the password is not there.
func TestSecretNeverShown(t *testing.T) {
	c, err := Load("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	f := c.Fabrics[0]
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("Loaded", "config", c, "fabric", f)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("Loaded", "config", c, "fabric", f)
	jsonBytes, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]string{
		"String":      c.String(),
		"Fabric":      f.String(),
		"%v config":   fmt.Sprintf("%v", *c),
		"%+v config":  fmt.Sprintf("%+v", c),
		"%#v fabric":  fmt.Sprintf("%#v", f),
		"%+v fabrics": fmt.Sprintf("%+v", c.Fabrics),
		"slog text":   text.String(),
		"slog json":   js.String(),
		"json":        string(jsonBytes),
	}
	for how, s := range shown {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the password:\n%s", how, s)
		}
	}
	if !strings.Contains(c.String(), "password: <secret>") {
		t.Errorf("String() should show the password as <secret>:\n%s", c)
	}

	// Dumps stay redacted even when a caller asks promconfig to reveal secrets.
	promconfig.MarshalSecretValue = true
	defer func() { promconfig.MarshalSecretValue = false }()
	if strings.Contains(c.String(), secret) {
		t.Errorf("String() shows the password when MarshalSecretValue is set:\n%s", c)
	}
}

func TestResolvePassword(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lf := write("lf", secret+"\n")
	crlf := write("crlf", secret+"\r\n")
	empty := write("empty", "\n")
	missing := filepath.Join(dir, "missing")
	t.Setenv("ACI_TEST_PASSWORD", secret)
	t.Setenv("ACI_TEST_EMPTY", "")
	os.Unsetenv("ACI_TEST_UNSET")

	tests := []struct {
		name    string
		fabric  Fabric
		want    string
		wantErr string
	}{
		{"file", Fabric{Name: "f", PasswordFile: lf}, secret, ""},
		{"file crlf", Fabric{Name: "f", PasswordFile: crlf}, secret, ""},
		{"file empty", Fabric{Name: "f", PasswordFile: empty}, "", fmt.Sprintf(`fabric "f": password_file %q is empty`, empty)},
		{"file missing", Fabric{Name: "f", PasswordFile: missing}, "", fmt.Sprintf(`fabric "f": reading password_file: open %s: no such file or directory`, missing)},
		{"env", Fabric{Name: "f", PasswordEnv: "ACI_TEST_PASSWORD"}, secret, ""},
		{"env empty", Fabric{Name: "f", PasswordEnv: "ACI_TEST_EMPTY"}, "", `fabric "f": environment variable ACI_TEST_EMPTY (password_env) is empty`},
		{"env unset", Fabric{Name: "f", PasswordEnv: "ACI_TEST_UNSET"}, "", `fabric "f": environment variable ACI_TEST_UNSET (password_env) is not set`},
		{"inline", Fabric{Name: "f", Password: secret}, secret, ""},
		{"none", Fabric{Name: "f"}, "", `fabric "f": no password_file, password_env or password set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fabric.ResolvePassword()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got error %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSame(t *testing.T) {
	c, err := Load("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Fabrics {
		if !c.Fabrics[i].Same(again.Fabrics[i]) {
			t.Errorf("fabric %s differs from itself after a reload", c.Fabrics[i].Name)
		}
	}

	base := c.Fabrics[0]
	changes := map[string]func(*Fabric){
		"name":          func(f *Fabric) { f.Name = "other" },
		"controller":    func(f *Fabric) { f.Controllers = []string{"https://apic9"} },
		"username":      func(f *Fabric) { f.Username = "other" },
		"password":      func(f *Fabric) { f.Password = "other" },
		"password_file": func(f *Fabric) { f.PasswordFile = "/other" },
		"password_env":  func(f *Fabric) { f.PasswordEnv = "OTHER" },
		"tls":           func(f *Fabric) { f.TLS.InsecureSkipVerify = true },
		"timeout":       func(f *Fabric) { f.SubscriptionRefreshTimeout = time.Minute },
		"filter":        func(f *Fabric) { f.Subscriptions[1].Filter = "" },
		"page size":     func(f *Fabric) { f.SnapshotPageSize++ },
		"max objects":   func(f *Fabric) { f.MaxObjects++ },
		"ping interval": func(f *Fabric) { f.PingInterval++ },
		"probe":         func(f *Fabric) { f.ProbeInterval++ },
		"state":         func(f *Fabric) { f.State.Disable = nil },
	}
	for name, change := range changes {
		g := base
		// Copy the slices so changing g leaves base alone.
		g.Controllers = append([]string(nil), base.Controllers...)
		g.Subscriptions = append([]Subscription(nil), base.Subscriptions...)
		change(&g)
		if base.Same(g) {
			t.Errorf("changing %s is not noticed", name)
		}
		// Only a changed state: section needs the fabric rebuilt.
		if base.SameState(g) != (name != "state") {
			t.Errorf("changing %s: SameState %v", name, base.SameState(g))
		}
	}
}

func TestTLSConfig(t *testing.T) {
	got := TLS{CAFile: "ca.pem", InsecureSkipVerify: true, ServerName: "apic"}.TLSConfig()
	want := &promconfig.TLSConfig{CAFile: "ca.pem", InsecureSkipVerify: true, ServerName: "apic"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// FuzzParse checks that Parse never panics, that whatever it accepts is
// valid, that a dump parses back to the same config, and that the dump does
// not depend on the password.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range append(seeds, "../config.example.yaml") {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a config and the error %v", err)
			}
			return
		}
		if err := c.check(nil); err != nil {
			t.Fatalf("Parse accepted a config that fails validation: %v\n%s", err, c)
		}
		dump := c.String()
		back, err := Parse([]byte(dump))
		if err != nil {
			t.Fatalf("the dump does not parse: %v\n%s", err, dump)
		}
		if len(back.Fabrics) != len(c.Fabrics) {
			t.Fatalf("the dump has %d fabrics, want %d", len(back.Fabrics), len(c.Fabrics))
		}
		for i := range c.Fabrics {
			want := c.Fabrics[i].redacted()
			if !back.Fabrics[i].Same(want) {
				t.Fatalf("fabric %d changed through a dump:\n%s\nbecame\n%s", i, want, back.Fabrics[i])
			}
			// Change the password; the dump must not change with it.
			if c.Fabrics[i].Password != "" {
				c.Fabrics[i].Password += "x"
			}
		}
		if c.String() != dump {
			t.Fatalf("the dump depends on the password")
		}
	})
}

func TestSelect(t *testing.T) {
	c := &Config{Fabrics: []Fabric{{Name: "east"}, {Name: "west"}, {Name: "north"}}}
	names := func(c *Config) []string {
		var out []string
		for _, f := range c.Fabrics {
			out = append(out, f.Name)
		}
		return out
	}
	for _, tc := range []struct {
		sel, want []string
	}{
		{nil, []string{"east", "west", "north"}},
		{[]string{"north", "east"}, []string{"east", "north"}}, // the file's order
		{[]string{"west", "west"}, []string{"west"}},
	} {
		got, err := c.Select(tc.sel)
		if err != nil || !reflect.DeepEqual(names(got), tc.want) {
			t.Errorf("Select(%q) = %q, %v; want %q", tc.sel, names(got), err, tc.want)
		}
	}
	_, err := c.Select([]string{"east", "sout", "wets", "sout"})
	want := `fabric "sout" is selected but not in the config (it has: east, west, north)` + "\n" +
		`fabric "wets" is selected but not in the config (it has: east, west, north)`
	if err == nil || err.Error() != want {
		t.Errorf("unknown names: %v, want\n%s", err, want)
	}
	if len(c.Fabrics) != 3 {
		t.Error("Select changed the config it selects from")
	}
}
