package playbook

import (
	"regexp"

	"onboard/internal/plan"
)

// ServiceCheck passes when a service is running and/or enabled as asked
// (running: true when neither is given).
type ServiceCheck struct {
	Name    string `yaml:"name" onboard:"required"`
	Running *bool  `yaml:"running"`
	Enabled *bool  `yaml:"enabled"`
}

// serviceRE: systemd units (with @ and .service) and init script names;
// never a path.
var serviceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9@._:+-]*$`)

func (k *ServiceCheck) validate(fail func(field, format string, args ...any)) {
	if !serviceRE.MatchString(k.Name) {
		fail("service.name", "must be a service name (letters, digits, '@', '.', '_', ':', '+', '-'), got %q", k.Name)
	}
}

func (k *ServiceCheck) templated(func(field, s string)) {}

func (k *ServiceCheck) plan(cs *plan.CheckSpec, _ string, _ CheckPlanner) {
	sc := &plan.ServiceCheck{Name: k.Name, Running: k.Running, Enabled: k.Enabled}
	if sc.Running == nil && sc.Enabled == nil {
		t := true
		sc.Running = &t
	}
	cs.Service = sc
}
