package engine

import (
	"strings"
	"testing"

	"onboard/internal/plan"
)

// A plan that removes what onboard cannot remove safely is refused before
// anything runs.
func TestValidateRemovals(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(s *plan.Step)
		want string // "" when valid
	}{
		{"apt package", func(s *plan.Step) {
			s.Kind, s.Package = plan.KindPackageRemove, &plan.PackageSpec{Name: "chat", Manager: "apt", Package: "acme-chat"}
		}, ""},
		{"command package with uninstall", func(s *plan.Step) {
			s.Kind, s.Package = plan.KindPackageRemove, &plan.PackageSpec{Name: "agent", Manager: "command", Install: "i", IsInstalled: "t", Uninstall: "u"}
		}, ""},
		{"command package without uninstall", func(s *plan.Step) {
			s.Kind, s.Package = plan.KindPackageRemove, &plan.PackageSpec{Name: "agent", Manager: "command", Install: "i", IsInstalled: "t"}
		}, `software "agent" (manager command) has no uninstall command`},
		{"no printer", func(s *plan.Step) { s.Kind = plan.KindPrinterRemove }, "no printer-remove settings"},
		{"no login", func(s *plan.Step) { s.Kind = plan.KindLoginRevoke }, "no login-revoke settings"},
		{"archive inside the home", func(s *plan.Step) {
			s.Kind, s.HomeArchive = plan.KindHomeArchive, &plan.HomeArchiveSpec{User: "ada", Home: "/home/ada", Archive: "/home/ada/a.tar.gz"}
		}, "inside the home"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := testPlan([]string{"a"}, 1, false)
			tt.set(p.Steps[0])
			err := (&Engine{}).Validate(p)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
