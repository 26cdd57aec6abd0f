package playbook

import "onboard/internal/plan"

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

func (k *UserCheck) validate(fail func(field, format string, args ...any)) {
	if !templated(k.Name) && !accountRE.MatchString(k.Name) {
		fail("user.name", "must be a user name, got %q", k.Name)
	}
	for i, g := range k.Groups {
		if !templated(g) && !accountRE.MatchString(g) {
			fail(indexed("user.groups", i), "must be a group name, got %q", g)
		}
	}
	if !yes(k.Exists) && len(k.Groups) > 0 {
		fail("user.groups", "applies only to a user that exists (exists is false)")
	}
}

func (k *UserCheck) templated(add func(field, s string)) {
	add("user.name", k.Name)
	for i, g := range k.Groups {
		add(indexed("user.groups", i), g)
	}
}

func (k *UserCheck) plan(cs *plan.CheckSpec, path string, p CheckPlanner) {
	u := &plan.UserCheck{Name: p.Expand(path+".user.name", k.Name), Exists: yes(k.Exists)}
	for i, g := range k.Groups {
		u.Groups = append(u.Groups, p.Expand(indexed(path+".user.groups", i), g))
	}
	cs.User = u
}

func (k *GroupCheck) validate(fail func(field, format string, args ...any)) {
	if !templated(k.Name) && !accountRE.MatchString(k.Name) {
		fail("group.name", "must be a group name, got %q", k.Name)
	}
}

func (k *GroupCheck) templated(add func(field, s string)) { add("group.name", k.Name) }

func (k *GroupCheck) plan(cs *plan.CheckSpec, path string, p CheckPlanner) {
	cs.Group = &plan.GroupCheck{Name: p.Expand(path+".group.name", k.Name), Exists: yes(k.Exists)}
}
