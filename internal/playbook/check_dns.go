package playbook

import (
	"net"
	"time"

	"onboard/internal/plan"
)

// DNSCheck passes when a name resolves on the machine (its resolver and
// /etc/hosts, as its programs see them), to each listed address if any.
type DNSCheck struct {
	Name      string        `yaml:"name" onboard:"required"`
	Resolves  *bool         `yaml:"resolves"`
	Addresses []string      `yaml:"addresses"`
	Timeout   time.Duration `yaml:"timeout"`
}

func (k *DNSCheck) validate(fail func(field, format string, args ...any)) {
	if !templated(k.Name) && !hostRE.MatchString(k.Name) {
		fail("dns.name", "must be a host name (letters, digits, '.', '-'), got %q", k.Name)
	}
	for i, a := range k.Addresses {
		if net.ParseIP(a) == nil {
			fail(indexed("dns.addresses", i), "must be an IPv4 or IPv6 address, got %q", a)
		}
	}
	if !yes(k.Resolves) && len(k.Addresses) > 0 {
		fail("dns.addresses", "applies only to a name that resolves (resolves is false)")
	}
}

func (k *DNSCheck) templated(add func(field, s string)) { add("dns.name", k.Name) }

func (k *DNSCheck) plan(cs *plan.CheckSpec, path string, p CheckPlanner) {
	cs.DNS = &plan.DNSCheck{Name: p.Expand(path+".dns.name", k.Name), Resolves: yes(k.Resolves),
		Addresses: k.Addresses, Timeout: orDefault(k.Timeout, DefaultNetTimeout)}
}
