package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var (
	// classRE is the shape of an APIC class name such as fvAEPg.
	classRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9]+$`)
	// envRE is the shape of an environment variable name that a shell can set.
	envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// problems collects validation errors, each prefixed with its line.
type problems []error

func (p *problems) add(n *yaml.Node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if n != nil && n.Line > 0 {
		msg = fmt.Sprintf("line %d: %s", n.Line, msg)
	}
	*p = append(*p, errors.New(msg))
}

// check validates c as decoded, before defaults are applied. root gives line
// numbers and tells an omitted key from one set to its zero value; with a nil
// root, lines are left out and zero values count as omitted.
func (c *Config) check(root *yaml.Node) error {
	if len(c.Fabrics) == 0 {
		return errNoFabrics
	}
	doc := root
	if doc != nil && doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	fabrics := value(doc, "fabrics")
	var p problems
	seen := map[string]int{}
	for i := range c.Fabrics {
		n := item(fabrics, i)
		f := &c.Fabrics[i]
		f.check(&p, n, fmt.Sprintf("fabrics[%d]", i))
		if strings.TrimSpace(f.Name) == "" {
			continue
		}
		if j, dup := seen[f.Name]; dup {
			p.add(key(n, "name"), "fabrics[%d] %q: name is already used by fabrics[%d]", i, f.Name, j)
		} else {
			seen[f.Name] = i
		}
	}
	c.checkStateAcross(&p, doc)
	return errors.Join(p...)
}

// check adds f's problems to p; n is f's node and at names it in messages.
func (f *Fabric) check(p *problems, n *yaml.Node, at string) {
	if f.Name != "" {
		at = fmt.Sprintf("%s %q", at, f.Name)
	}
	if strings.TrimSpace(f.Name) == "" {
		p.add(orNode(key(n, "name"), n), "%s: name is required", at)
	} else if !utf8.ValidString(f.Name) {
		p.add(key(n, "name"), "%s: name is not valid UTF-8", at)
	}
	f.checkControllers(p, n, at)
	if f.Username == "" {
		p.add(orNode(key(n, "username"), n), "%s: username is required", at)
	}
	f.checkPassword(p, n, at)
	f.checkTimeout(p, n, at)
	f.checkSubscriptions(p, n, at)
	f.checkState(p, n, at)
	for _, k := range []struct {
		name string
		v    int
	}{{"snapshot_page_size", f.SnapshotPageSize}, {"max_objects", f.MaxObjects}} {
		if k.v < 0 || k.v == 0 && given(n, k.name) {
			p.add(key(n, k.name), "%s: %s must be positive", at, k.name)
		}
	}
	for _, k := range []struct {
		name string
		v    time.Duration
	}{{"ping_interval", f.PingInterval}, {"probe_interval", f.ProbeInterval}} {
		if k.v < 0 || k.v == 0 && given(n, k.name) {
			p.add(key(n, k.name), "%s: %s must be positive", at, k.name)
		}
	}
}

func (f *Fabric) checkControllers(p *problems, n *yaml.Node, at string) {
	if len(f.Controllers) == 0 {
		p.add(orNode(key(n, "controllers"), n), "%s: controllers are required", at)
		return
	}
	list := value(n, "controllers")
	seen := map[string]int{}
	for i, raw := range f.Controllers {
		u, err := checkController(raw)
		if err != nil {
			p.add(item(list, i), "%s: controllers[%d]: %v", at, i, err)
			continue
		}
		if j, dup := seen[u]; dup {
			p.add(item(list, i), "%s: controllers[%d]: %s is already listed as controllers[%d]", at, i, u, j)
			continue
		}
		seen[u] = i
	}
}

// checkController returns raw as scheme://host[:port]. Its errors never quote
// raw: a malformed URL may hold a password where the parser cannot see it.
func checkController(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL itself
		}
		return "", fmt.Errorf("not a valid URL: %w", err)
	}
	switch {
	case u.User != nil:
		return "", errors.New("must not contain a user name or password")
	case u.Scheme != "https" && u.Scheme != "http":
		return "", errors.New("must start with https:// or http://")
	case u.Hostname() == "":
		return "", errors.New("has no host")
	case u.Path != "" && u.Path != "/", u.RawPath != "":
		return "", errors.New("must not have a path")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("must not have a query")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return "", errors.New("must not have a fragment")
	}
	return u.Scheme + "://" + u.Host, nil
}

func (f *Fabric) checkPassword(p *problems, n *yaml.Node, at string) {
	var set []string
	for _, k := range []struct{ name, v string }{
		{"password_file", f.PasswordFile},
		{"password_env", f.PasswordEnv},
		{"password", string(f.Password)},
	} {
		if k.v != "" {
			set = append(set, k.name)
		}
	}
	switch len(set) {
	case 0:
		p.add(n, "%s: one of password_file, password_env or password is required", at)
	case 1:
		if f.PasswordEnv != "" && !envRE.MatchString(f.PasswordEnv) {
			p.add(key(n, "password_env"), "%s: password_env %q is not a valid environment variable name", at, f.PasswordEnv)
		}
	default:
		p.add(key(n, set[1]), "%s: only one of password_file, password_env or password may be set, found %s", at, strings.Join(set, " and "))
	}
}

func (f *Fabric) checkTimeout(p *problems, n *yaml.Node, at string) {
	const k = "subscription_refresh_timeout"
	t := f.SubscriptionRefreshTimeout
	switch kn := key(n, k); {
	case t < 0 || t == 0 && given(n, k):
		p.add(kn, "%s: %s must be positive, got %s", at, k, t)
	case t%time.Second != 0:
		p.add(kn, "%s: %s must be a whole number of seconds, got %s", at, k, t)
	case t > MaxSubscriptionRefreshTimeout:
		p.add(kn, "%s: %s must be at most %s (the APIC maximum), got %s", at, k, MaxSubscriptionRefreshTimeout, t)
	}
}

func (f *Fabric) checkSubscriptions(p *problems, n *yaml.Node, at string) {
	list := value(n, "subscriptions")
	if len(f.Subscriptions) == 0 {
		// Only an explicit [] is wrong; a missing or null key means the defaults.
		if list != nil && list.Kind == yaml.SequenceNode {
			p.add(key(n, "subscriptions"), "%s: subscriptions must not be empty; omit the key for the defaults", at)
		}
		return
	}
	seen := map[string]int{}
	for i, s := range f.Subscriptions {
		sn := item(list, i)
		sat := fmt.Sprintf("%s: subscriptions[%d]", at, i)
		if s.Class == "" {
			p.add(orNode(key(sn, "class"), sn), "%s: class is required", sat)
			continue
		}
		if !classRE.MatchString(s.Class) {
			p.add(key(sn, "class"), "%s: class %q is not a class name (want %s)", sat, s.Class, classRE)
			continue
		}
		name := s.Name
		if name == "" {
			name = s.Class
		} else if !utf8.ValidString(name) {
			p.add(key(sn, "name"), "%s: name is not valid UTF-8", sat)
			continue
		}
		if j, dup := seen[name]; dup {
			p.add(orNode(key(sn, "name"), sn), "%s: name %q is already used by subscriptions[%d]", sat, name, j)
			continue
		}
		seen[name] = i
	}
}

// The helpers below walk the yaml.Node tree that Parse keeps for positions.
// All of them accept and may return nil, so a missing node only costs the
// line number.

// deref follows an alias to the node it stands for.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// key returns the key node of k in mapping n.
func key(n *yaml.Node, k string) *yaml.Node {
	if n, i := member(n, k); i >= 0 {
		return n.Content[i]
	}
	return nil
}

// value returns the value node of k in mapping n.
func value(n *yaml.Node, k string) *yaml.Node {
	if n, i := member(n, k); i >= 0 {
		return deref(n.Content[i+1])
	}
	return nil
}

// member finds k in mapping n: the mapping (aliases followed) and the index
// of k's key node in its Content, or -1.
func member(n *yaml.Node, k string) (*yaml.Node, int) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return n, -1
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return n, i
		}
	}
	return n, -1
}

// item returns element i of sequence n.
func item(n *yaml.Node, i int) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return deref(n.Content[i])
}

// given reports whether mapping n sets k to something other than null.
func given(n *yaml.Node, k string) bool {
	v := value(n, k)
	return v != nil && v.Tag != "!!null"
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}
