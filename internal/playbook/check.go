package playbook

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/strictyaml"
)

// The check kinds that read the machine's network and state live one per
// file (check_dns.go, check_tcp.go, check_http.go, check_service.go,
// check_user.go, check_login.go, check_windows_security.go), each with its fields, its
// validation and its plan; what runs on the machine is in internal/step/check_KIND.go.

// CheckKinds names every check kind, in the order errors list them.
var CheckKinds = []string{"command", "file", "package", "printer", "dns", "tcp", "http", "service", "user", "group", "login", "windows_security"}

// Retry repeats a check that does not pass, every interval (default 1s),
// until it passes or the timeout has passed.
type Retry struct {
	Timeout  time.Duration `yaml:"timeout" onboard:"required"`
	Interval time.Duration `yaml:"interval"`
}

// Default time limits of the network checks (one try each) and the pause
// between retries.
const (
	DefaultNetTimeout  = 5 * time.Second
	DefaultHTTPTimeout = 10 * time.Second
	DefaultRetryEvery  = time.Second
)

// CheckPlanner is what a check kind needs from the planner: templates
// expanded and problems reported, each at a field path of the check.
type CheckPlanner interface {
	Expand(path, s string) string
	Fail(path, format string, args ...any)
}

// stateKind is one of the kinds of a file of its own.
type stateKind interface {
	// validate checks what the playbook can judge on its own; fail takes
	// a field path relative to the check.
	validate(fail func(field, format string, args ...any))
	// templated lists the templated fields, relative to the check.
	templated(add func(field, s string))
	// plan sets the kind's field of cs; path is the check's.
	plan(cs *plan.CheckSpec, path string, p CheckPlanner)
}

// stateKind returns the check's kind if it is one of a file of its own.
func (c *Check) stateKind() stateKind {
	switch {
	case c.DNS != nil:
		return c.DNS
	case c.TCP != nil:
		return c.TCP
	case c.HTTP != nil:
		return c.HTTP
	case c.Service != nil:
		return c.Service
	case c.User != nil:
		return c.User
	case c.Group != nil:
		return c.Group
	case c.Login != nil:
		return c.Login
	case c.WindowsSecurity != nil:
		return c.WindowsSecurity
	}
	return nil
}

// PlanState sets cs from a check of one of the kinds of a file of their
// own, with defaults and templates expanded, and reports whether it was one.
func (c *Check) PlanState(cs *plan.CheckSpec, path string, p CheckPlanner) bool {
	k := c.stateKind()
	if k == nil {
		return false
	}
	k.plan(cs, path, p)
	return true
}

// PlanRetry is the check's retry with its interval defaulted, or nil.
func (c *Check) PlanRetry() *plan.Retry {
	r := c.Retry
	if r == nil || r.Timeout <= 0 {
		return nil
	}
	every := r.Interval
	if every <= 0 {
		every = DefaultRetryEvery
	}
	return &plan.Retry{Timeout: plan.Duration(r.Timeout), Interval: plan.Duration(every)}
}

// kinds lists the kinds a check sets.
func (c *Check) kinds() []string {
	var ks []string
	for i, set := range []bool{c.Command != nil, c.File != nil, c.Package != nil, c.Printer != nil,
		c.DNS != nil, c.TCP != nil, c.HTTP != nil, c.Service != nil, c.User != nil, c.Group != nil, c.Login != nil, c.WindowsSecurity != nil} {
		if set {
			ks = append(ks, CheckKinds[i])
		}
	}
	return ks
}

var (
	// User and group names as getent and id take them (domain users too:
	// "CORP\ada", "ada@corp.example.test"), and Windows' local groups,
	// whose names have inner spaces ("Remote Desktop Users").
	accountRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.@\\$ -]*[A-Za-z0-9_.@\\$-])?$`)
	// hostRE: a DNS name or an address.
	hostRE      = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.:-]*[A-Za-z0-9_.])?$`)
	versionOpRE = regexp.MustCompile(`^(>=|<=|>>|<<|>|<|=)\s*(\S+)$`)
)

// templated reports whether s holds a template, whose value is known only
// when the plan is made.
func templated(s string) bool { return strings.Contains(s, "${") }

// yes reads an optional flag whose default is true.
func yes(p *bool) bool { return p == nil || *p }

// orDefault is d, or def when d is not given.
func orDefault(d, def time.Duration) plan.Duration {
	if d <= 0 {
		d = def
	}
	return plan.Duration(d)
}

// validate checks the check's retry, its package version and the fields of
// a kind of a file of its own; path is the check's field path.
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
	if k := c.stateKind(); k != nil {
		k.validate(fail)
	}
	return errs
}

// templated lists the templated fields of a kind of a file of its own,
// with their paths, in a fixed order.
func (c *Check) templated(path string) [][2]string {
	var out [][2]string
	if k := c.stateKind(); k != nil {
		k.templated(func(field, s string) { out = append(out, [2]string{path + "." + field, s}) })
	}
	return out
}

// indexed names the i-th item of a list field: "dns.addresses[2]".
func indexed(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// LinuxOnly reports whether the check reads Linux tools (sh, dpkg,
// CUPS): command, file, package and printer checks.
func (c *Check) LinuxOnly() bool {
	return c.Command != nil || c.File != nil || c.Package != nil || c.Printer != nil
}

// WindowsOnly reports whether the check asks Windows alone.
func (c *Check) WindowsOnly() bool { return c.WindowsSecurity != nil }
