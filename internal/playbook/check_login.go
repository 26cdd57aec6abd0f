package playbook

import "onboard/internal/plan"

// LoginCheck passes when the hire can sign in: a bind as the hire with the
// initial password set in this run (from the controller, over the
// directory's TLS), and on the joined machine the account resolves
// through the domain (getent passwd) and a command runs as the hire (su).
type LoginCheck struct {
	// User is the account; default: the hire's directory username.
	User string `yaml:"user"`
	// Bind: bind as the hire with the initial password (default true).
	Bind *bool `yaml:"bind"`
	// Workstation: resolve the hire and run id as the hire on the machine
	// (default true).
	Workstation *bool `yaml:"workstation"`
}

func (k *LoginCheck) validate(fail func(field, format string, args ...any)) {
	if k.User != "" && !templated(k.User) && !accountRE.MatchString(k.User) {
		fail("login.user", "must be a user name, got %q", k.User)
	}
	if !yes(k.Bind) && !yes(k.Workstation) {
		fail("login", "checks nothing: bind and workstation are both false")
	}
}

func (k *LoginCheck) templated(add func(field, s string)) { add("login.user", k.User) }

// plan leaves User empty when it is the hire's: the planner fills it, and
// the directory, from the hire's account.
func (k *LoginCheck) plan(cs *plan.CheckSpec, path string, p CheckPlanner) {
	cs.Login = &plan.LoginCheck{User: p.Expand(path+".login.user", k.User), Bind: yes(k.Bind), Workstation: yes(k.Workstation)}
}
