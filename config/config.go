// Package config holds the aci-exporter configuration: the YAML schema, strict
// loading and validation, a redacted dump, and the helpers a reload needs.
//
// Load and Parse are pure: they read nothing but the config itself. Passwords
// kept in files or environment variables are read by Fabric.ResolvePassword,
// at each login, so a rotated secret needs no reload.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"

	"github.com/aci-exporter/aci-exporter/statedef"
)

const (
	// DefaultSnapshotPageSize is the page-size of snapshot queries when
	// snapshot_page_size is omitted; acitoolkit reads with the same size.
	DefaultSnapshotPageSize = 10000
	// DefaultMaxObjects caps the objects tracked per fabric when max_objects
	// is omitted, so a runaway class cannot exhaust the exporter's memory.
	DefaultMaxObjects = 1000000
	// DefaultPingInterval and DefaultProbeInterval apply when
	// ping_interval and probe_interval are omitted.
	DefaultPingInterval  = 30 * time.Second
	DefaultProbeInterval = 60 * time.Second
	// MaxSubscriptionRefreshTimeout is the largest refresh-timeout the APIC
	// is known to accept (12 h).
	MaxSubscriptionRefreshTimeout = 43200 * time.Second
)

// defaultClasses are subscribed to when a fabric lists no subscriptions.
var defaultClasses = []string{"fvTenant", "fvAp", "fvAEPg", "fvBD", "fvCtx"}

var (
	errEmpty      = errors.New("config is empty")
	errNoFabrics  = errors.New("no fabrics configured")
	errManyDocs   = errors.New("config holds more than one YAML document")
	errNoPassword = errors.New("no password_file, password_env or password set")
)

// Config is the whole configuration file.
type Config struct {
	Fabrics []Fabric `yaml:"fabrics"`
}

// Fabric is one ACI fabric: the controllers of one cluster and what to
// subscribe to there.
type Fabric struct {
	// Name is the value of the fabric label; required and unique.
	Name string `yaml:"name"`
	// Controllers are tried in order, failing over to the next. Parse
	// stores them as scheme://host[:port], without a trailing slash.
	Controllers []string `yaml:"controllers"`
	Username    string   `yaml:"username"`
	// Exactly one of PasswordFile, PasswordEnv and Password is set.
	// Load makes a relative PasswordFile relative to the config file.
	PasswordFile string            `yaml:"password_file,omitempty"`
	PasswordEnv  string            `yaml:"password_env,omitempty"`
	Password     promconfig.Secret `yaml:"password,omitempty"`
	TLS          TLS               `yaml:"tls,omitempty"`
	// SubscriptionRefreshTimeout is sent as refresh-timeout, in whole
	// seconds up to 43200. Zero means omitted: the APIC default (60 s).
	SubscriptionRefreshTimeout time.Duration `yaml:"subscription_refresh_timeout,omitempty"`
	// Subscriptions default to fvTenant, fvAp, fvAEPg, fvBD and fvCtx.
	Subscriptions []Subscription `yaml:"subscriptions"`
	// SnapshotPageSize is the page-size of snapshot queries; default 10000.
	SnapshotPageSize int `yaml:"snapshot_page_size"`
	// MaxObjects caps the objects tracked for the fabric; default 1000000.
	MaxObjects int `yaml:"max_objects"`
	// PingInterval is how often the websocket is pinged; a socket with no
	// frame and no pong for two intervals is given up (a half-open
	// connection). Default 30 s.
	PingInterval time.Duration `yaml:"ping_interval,omitempty"`
	// ProbeInterval is how often each subscription's newest change and
	// object count are checked against the APIC's; a difference that a
	// second look a few seconds later confirms, with no event in between,
	// means the subscription died silently, and the class is subscribed
	// again with a resync. Default 60 s.
	ProbeInterval time.Duration `yaml:"probe_interval,omitempty"`
	// State says which state metrics the fabric exports.
	State State `yaml:"state,omitempty"`

	// stateMetrics are State resolved, set by Parse: not part of the YAML,
	// so a dump shows the section as written.
	stateMetrics []*statedef.Metric
}

// State is a fabric's state: section (README "Fabric state metrics").
type State struct {
	// Builtins are the built-in groups on: nil (omitted or null) means all
	// of them, an empty list none.
	Builtins *[]string `yaml:"builtins,omitempty"`
	// Enable switches opt-in built-ins on, by name.
	Enable []string `yaml:"enable,omitempty"`
	// Disable switches built-ins off, by name.
	Disable []string `yaml:"disable,omitempty"`
	// Metrics are the user's; one with a built-in's name replaces it.
	Metrics []statedef.Def `yaml:"metrics,omitempty"`
}

// TLS configures how the controllers' certificates are checked.
type TLS struct {
	// CAFile verifies the controllers; empty means the system roots.
	// Load makes a relative path relative to the config file.
	CAFile string `yaml:"ca_file,omitempty"`
	// InsecureSkipVerify turns verification off; the caller should warn.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify,omitempty"`
	// ServerName overrides the name checked in the certificate.
	ServerName string `yaml:"server_name,omitempty"`
}

// Subscription is one class query held open on the websocket.
type Subscription struct {
	// Name is the value of the subscription label; Parse sets it to Class
	// when omitted.
	Name  string `yaml:"name"`
	Class string `yaml:"class"`
	// Filter is sent as query-target-filter when not empty.
	Filter string `yaml:"filter,omitempty"`
}

// Load reads and parses the file at path. Relative password_file and ca_file
// paths are taken relative to the file's directory, as Prometheus does.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for i := range c.Fabrics {
		f := &c.Fabrics[i]
		f.PasswordFile = promconfig.JoinDir(dir, f.PasswordFile)
		f.TLS.CAFile = promconfig.JoinDir(dir, f.TLS.CAFile)
	}
	return c, nil
}

// Parse decodes data strictly, validates it and fills in the defaults.
func Parse(data []byte) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errEmpty
		}
		return nil, yamlError(err)
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, errManyDocs
	}
	// The strict decode above succeeded, so this one cannot fail. It is
	// only kept for the line numbers in validation errors: a yaml.Node
	// cannot be decoded strictly itself.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(err)
	}
	if err := c.check(&root); err != nil {
		return nil, err
	}
	c.setDefaults()
	return c, nil
}

// unknownField matches yaml.v3's message for a key that KnownFields rejects.
var unknownField = regexp.MustCompile(`^line (\d+): field (.*) not found in type ((?:config|statedef)\.\w+)$`)

// where says, for a Go type, where its keys sit in the YAML file.
var where = map[string]string{
	"config.Config":       "at the top level",
	"config.Fabric":       "in a fabric",
	"config.TLS":          "in tls",
	"config.Subscription": "in a subscription",
	"config.State":        "in state",
	"statedef.Def":        "in a state metric",
	"statedef.ValueFrom":  "in a state metric's value",
	"statedef.Label":      "in a state metric's label",
	"statedef.Cond":       "in a state metric's where",
}

// yamlError rewrites yaml.v3's type errors into one error per problem, each
// with its line, and says "unknown key" in terms of the file, not Go types.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		if m := unknownField.FindStringSubmatch(msg); m != nil && where[m[3]] != "" {
			msg = fmt.Sprintf("line %s: unknown key %q %s", m[1], m[2], where[m[3]])
		}
		// promconfig.Secret decodes through a type named plain.
		msg = strings.Replace(msg, " into config.plain", " into a string", 1)
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// Select returns the config with only the named fabrics, in the file's
// order: the share of a fleet that one replica serves. No names select
// every fabric. A name the config does not hold is an error, so a typo or
// a fabric removed from a shared file does not silently leave it unserved.
func (c *Config) Select(names []string) (*Config, error) {
	if len(names) == 0 {
		return c, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := &Config{}
	var have []string
	for _, f := range c.Fabrics {
		have = append(have, f.Name)
		if want[f.Name] {
			out.Fabrics = append(out.Fabrics, f)
			delete(want, f.Name)
		}
	}
	if len(want) > 0 {
		var errs []error
		for _, n := range names {
			if want[n] {
				errs = append(errs, fmt.Errorf("fabric %q is selected but not in the config (it has: %s)", n, strings.Join(have, ", ")))
				delete(want, n)
			}
		}
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// setDefaults fills in what a valid config left out.
func (c *Config) setDefaults() {
	for i := range c.Fabrics {
		f := &c.Fabrics[i]
		for j, raw := range f.Controllers {
			f.Controllers[j], _ = checkController(raw)
		}
		if len(f.Subscriptions) == 0 {
			for _, class := range defaultClasses {
				f.Subscriptions = append(f.Subscriptions, Subscription{Class: class})
			}
		}
		for j := range f.Subscriptions {
			if f.Subscriptions[j].Name == "" {
				f.Subscriptions[j].Name = f.Subscriptions[j].Class
			}
		}
		if f.SnapshotPageSize == 0 {
			f.SnapshotPageSize = DefaultSnapshotPageSize
		}
		if f.MaxObjects == 0 {
			f.MaxObjects = DefaultMaxObjects
		}
		if f.PingInterval == 0 {
			f.PingInterval = DefaultPingInterval
		}
		if f.ProbeInterval == 0 {
			f.ProbeInterval = DefaultProbeInterval
		}
		f.State.normalize()
	}
}

// String returns the config as YAML with every password shown as <secret>.
func (c *Config) String() string {
	r := Config{Fabrics: make([]Fabric, len(c.Fabrics))}
	for i, f := range c.Fabrics {
		r.Fabrics[i] = f.redacted()
	}
	return marshal(r)
}

// String returns the fabric as YAML with its password shown as <secret>, so
// that logging a Fabric with %v cannot leak it.
func (f Fabric) String() string {
	return marshal(f.redacted())
}

// GoString keeps %#v from printing the password either.
func (f Fabric) GoString() string {
	type plain Fabric // no methods, so no recursion
	return fmt.Sprintf("%#v", plain(f.redacted()))
}

// redacted replaces the password itself, rather than trusting Secret's
// MarshalYAML, which promconfig.MarshalSecretValue can turn off.
func (f Fabric) redacted() Fabric {
	if f.Password != "" {
		f.Password = "<secret>"
	}
	return f
}

func marshal(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		// Only reachable through a bug in this package: every field is a
		// plain value that yaml can encode.
		return fmt.Sprintf("<config cannot be marshalled: %v>", err)
	}
	return string(out)
}

// Same reports whether f and g are configured identically, so a reload can
// leave an unchanged fabric's stream alone. The password compared is the
// inline one; a password_file or password_env is compared by name only.
func (f Fabric) Same(g Fabric) bool {
	f.stateMetrics, g.stateMetrics = nil, nil // State says the same
	return reflect.DeepEqual(f, g)
}

// SameState reports whether f and g have the same state: section, as
// written. A reload rebuilds a fabric whose section changed from a fresh
// snapshot, so that every new definition starts from the objects.
func (f Fabric) SameState(g Fabric) bool {
	return reflect.DeepEqual(f.State, g.State)
}

// StateMetrics returns the state metrics the fabric exports: its state:
// section resolved against the built-ins. Nil for a Fabric not made by Parse.
func (f Fabric) StateMetrics() []*statedef.Metric { return f.stateMetrics }

// ResolvePassword returns the password from whichever of password_file,
// password_env and password is set. Errors name the file or variable, never
// what it holds.
func (f *Fabric) ResolvePassword() (string, error) {
	switch {
	case f.PasswordFile != "":
		b, err := os.ReadFile(f.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("fabric %q: reading password_file: %w", f.Name, err)
		}
		p := strings.TrimRight(string(b), "\r\n")
		if p == "" {
			return "", fmt.Errorf("fabric %q: password_file %q is empty", f.Name, f.PasswordFile)
		}
		return p, nil
	case f.PasswordEnv != "":
		p, ok := os.LookupEnv(f.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("fabric %q: environment variable %s (password_env) is not set", f.Name, f.PasswordEnv)
		}
		if p == "" {
			return "", fmt.Errorf("fabric %q: environment variable %s (password_env) is empty", f.Name, f.PasswordEnv)
		}
		return p, nil
	case f.Password != "":
		return string(f.Password), nil
	}
	return "", fmt.Errorf("fabric %q: %w", f.Name, errNoPassword)
}

// TLSConfig returns t in the shared Prometheus form, ready for
// promconfig.NewTLSConfig, which reads the CA file.
func (t TLS) TLSConfig() *promconfig.TLSConfig {
	return &promconfig.TLSConfig{
		CAFile:             t.CAFile,
		InsecureSkipVerify: t.InsecureSkipVerify,
		ServerName:         t.ServerName,
	}
}
