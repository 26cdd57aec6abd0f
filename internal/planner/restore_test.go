package planner

import (
	"strings"
	"testing"

	"onboard/internal/plan"
)

// Each login-revoke of an offboarding becomes a task by hand, worded for
// the machine's kind of sign-in: onboard has no kind that gives it back.
func TestRevokeUndo(t *testing.T) {
	p := &plan.Plan{Hosts: map[string]*plan.Host{"ws1": {Name: "ws1", OS: "linux"}, "win1": {Name: "win1", OS: "windows"}}}
	for _, tt := range []struct {
		name string
		step *plan.Step
		want []string
	}{
		{"local account", &plan.Step{ID: "E1:login-revoke:ws1", Host: "ws1", LoginRevoke: &plan.LoginRevokeSpec{User: "ada"}},
			[]string{"On ws1: give ada the sign-in back by hand (run R1, step E1:login-revoke:ws1", "usermod -U -e '' ada", "authorized_keys"}},
		{"domain account", &plan.Step{ID: "E1:login-revoke:ws1", Host: "ws1", LoginRevoke: &plan.LoginRevokeSpec{User: "ada", Domain: "corp.example.test"}},
			[]string{`delete the line "# deny: ada"`, "(sAMAccountName=ada)", "/etc/sssd/conf.d/onboard-leavers.conf", "restart sssd"}},
		{"windows", &plan.Step{ID: "E1:login-revoke:win1", Host: "win1", LoginRevoke: &plan.LoginRevokeSpec{User: `CORP\ada`, Groups: []string{"Users"}}},
			[]string{`add CORP\ada back to the local groups it was in (of Users)`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := revokeUndo(p, tt.step, "R1")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}
