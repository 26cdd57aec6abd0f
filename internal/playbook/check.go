package playbook

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"onboard/internal/strictyaml"
)

// CheckKinds names every check kind, in the order errors list them.
var CheckKinds = []string{"command", "file", "package", "printer", "dns", "tcp", "http", "service", "user", "group"}

// DNSCheck passes when a name resolves on the machine (its resolver and
// /etc/hosts, as its programs see them), to each listed address if any.
type DNSCheck struct {
	Name      string        `yaml:"name" onboard:"required"`
	Resolves  *bool         `yaml:"resolves"`
	Addresses []string      `yaml:"addresses"`
	Timeout   time.Duration `yaml:"timeout"`
}

// TCPCheck passes when a TCP port answers from the machine (or, with
// reachable: false, when it does not).
type TCPCheck struct {
	Host      string        `yaml:"host" onboard:"required"`
	Port      int           `yaml:"port" onboard:"required"`
	Reachable *bool         `yaml:"reachable"`
	Timeout   time.Duration `yaml:"timeout"`
}

// HTTPCheck passes when a URL, fetched from the machine, answers the
// expected status and its body contains each entry.
type HTTPCheck struct {
	URL      string        `yaml:"url" onboard:"required"`
	Status   int           `yaml:"status"`
	Contains []string      `yaml:"contains" onboard:"text"`
	Insecure bool          `yaml:"insecure"`
	Timeout  time.Duration `yaml:"timeout"`
}

// ServiceCheck passes when a service is running and/or enabled as asked
// (running: true when neither is given).
type ServiceCheck struct {
	Name    string `yaml:"name" onboard:"required"`
	Running *bool  `yaml:"running"`
	Enabled *bool  `yaml:"enabled"`
}

// UserCheck passes when a user exists (or not), in each listed group.
type UserCheck struct {
	Name   string   `yaml:"name" onboard:"required"`
	Exists *bool    `yaml:"exists"`
	Groups []string `yaml:"groups"`
}

// GroupCheck passes when a group exists (or not).
type GroupCheck struct {
	Name   string `yaml:"name" onboard:"required"`
	Exists *bool  `yaml:"exists"`
}

// Retry repeats a check that does not pass, every interval (default 1s),
// until it passes or the timeout has passed.
type Retry struct {
	Timeout  time.Duration `yaml:"timeout" onboard:"required"`
	Interval time.Duration `yaml:"interval"`
}

// Default time limits of the network checks, one try each.
const (
	DefaultNetTimeout  = 5 * time.Second
	DefaultHTTPTimeout = 10 * time.Second
	DefaultRetryEvery  = time.Second
)

// kinds lists the kinds a check sets.
func (c *Check) kinds() []string {
	var ks []string
	for i, set := range []bool{c.Command != nil, c.File != nil, c.Package != nil, c.Printer != nil,
		c.DNS != nil, c.TCP != nil, c.HTTP != nil, c.Service != nil, c.User != nil, c.Group != nil} {
		if set {
			ks = append(ks, CheckKinds[i])
		}
	}
	return ks
}

var (
	// Service names: systemd units (with @ and .service) and init scripts.
	serviceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9@._:+-]*$`)
	// User and group names as getent and id take them (domain users too:
	// "CORP\ada", "ada@corp.example.test").
	accountRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@\\$-]*$`)
	// hostRE: a DNS name or an address.
	hostRE      = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.:-]*[A-Za-z0-9_.])?$`)
	versionOpRE = regexp.MustCompile(`^(>=|<=|>>|<<|>|<|=)\s*(\S+)$`)
)

// templated reports whether s holds a template, whose value is known only
// when the plan is made (the planner checks it then).
func templated(s string) bool { return strings.Contains(s, "${") }

// validate checks the fields of the check's kind that a playbook can judge
// on its own; path is the check's field path.
func (c *Check) validate(d *strictyaml.Doc, path string) []error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, d.Errorf(path+"."+field, format, args...))
	}
	// Negative durations are refused by the decoder (strictyaml).
	if r := c.Retry; r != nil {
		if r.Interval > 0 && r.Timeout > 0 && r.Interval >= r.Timeout {
			fail("retry.interval", "must be shorter than retry.timeout (%s), got %s", r.Timeout, r.Interval)
		}
		if c.Timeout > 0 && r.Timeout >= c.Timeout {
			fail("retry.timeout", "must be shorter than the check's timeout (%s), which bounds every try together; got %s", c.Timeout, r.Timeout)
		}
	}
	if p := c.Package; p != nil && p.Version != "" {
		if strings.ContainsAny(p.Version[:1], "<>=") && !versionOpRE.MatchString(p.Version) {
			fail("package.version", `must be a version ("3.1.0") or a comparison such as ">= 3.1" (>=, <=, >>, <<, >, <, =), got %q`, p.Version)
		}
		if p.Installed != nil && !*p.Installed {
			fail("package.version", "applies only to an installed package (installed is false)")
		}
	}
	if k := c.DNS; k != nil {
		if !templated(k.Name) && !hostRE.MatchString(k.Name) {
			fail("dns.name", "must be a host name (letters, digits, '.', '-'), got %q", k.Name)
		}
		for i, a := range k.Addresses {
			if net.ParseIP(a) == nil {
				fail(fmt.Sprintf("dns.addresses[%d]", i), "must be an IPv4 or IPv6 address, got %q", a)
			}
		}
		if k.Resolves != nil && !*k.Resolves && len(k.Addresses) > 0 {
			fail("dns.addresses", "applies only to a name that resolves (resolves is false)")
		}
	}
	if k := c.TCP; k != nil {
		if !templated(k.Host) && !hostRE.MatchString(k.Host) {
			fail("tcp.host", "must be a host name or an address, got %q", k.Host)
		}
		if k.Port < 0 || k.Port > 65535 { // 0: not given, reported by the decoder
			fail("tcp.port", "must be a port number from 1 to 65535, got %d", k.Port)
		}
	}
	if k := c.HTTP; k != nil {
		if !templated(k.URL) {
			if err := CheckURL(k.URL); err != nil {
				fail("http.url", "%v", err)
			}
		}
		if k.Status != 0 && (k.Status < 100 || k.Status > 599) {
			fail("http.status", "must be an HTTP status from 100 to 599, got %d", k.Status)
		}
	}
	if k := c.Service; k != nil && !serviceRE.MatchString(k.Name) {
		fail("service.name", "must be a service name (letters, digits, '@', '.', '_', ':', '+', '-'), got %q", k.Name)
	}
	if k := c.User; k != nil {
		if !templated(k.Name) && !accountRE.MatchString(k.Name) {
			fail("user.name", "must be a user name, got %q", k.Name)
		}
		for i, g := range k.Groups {
			if !templated(g) && !accountRE.MatchString(g) {
				fail(fmt.Sprintf("user.groups[%d]", i), "must be a group name, got %q", g)
			}
		}
		if k.Exists != nil && !*k.Exists && len(k.Groups) > 0 {
			fail("user.groups", "applies only to a user that exists (exists is false)")
		}
	}
	if k := c.Group; k != nil && !templated(k.Name) && !accountRE.MatchString(k.Name) {
		fail("group.name", "must be a group name, got %q", k.Name)
	}
	return errs
}

// CheckURL accepts an absolute http or https URL with a host.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be an http:// or https:// URL, got %q", s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("must name a host, got %q", s)
	case strings.ContainsAny(s, " \t\r\n"):
		return fmt.Errorf("must not contain spaces, got %q", s)
	case u.User != nil:
		// Never echo it: the part before @ may be a password.
		return fmt.Errorf("must not carry a user or password (user:password@): the URL is shown in every report and journal")
	}
	return nil
}

// templated lists the templated fields of the check's kind with their
// paths, in a fixed order.
func (c *Check) templated(path string) [][2]string {
	var out [][2]string
	add := func(field, s string) { out = append(out, [2]string{path + "." + field, s}) }
	if c.DNS != nil {
		add("dns.name", c.DNS.Name)
	}
	if c.TCP != nil {
		add("tcp.host", c.TCP.Host)
	}
	if c.HTTP != nil {
		add("http.url", c.HTTP.URL)
		for i, s := range c.HTTP.Contains {
			add(fmt.Sprintf("http.contains[%d]", i), s)
		}
	}
	if c.User != nil {
		add("user.name", c.User.Name)
		for i, g := range c.User.Groups {
			add(fmt.Sprintf("user.groups[%d]", i), g)
		}
	}
	if c.Group != nil {
		add("group.name", c.Group.Name)
	}
	return out
}
