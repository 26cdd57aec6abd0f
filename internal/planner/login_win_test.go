package planner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On a Windows machine the login check's sign-in needs the hire's Active
// Directory account (its initial password and domain): the step runs with
// that directory even without the bind; an OpenLDAP account, or none, is
// refused at the check's field.
func TestWindowsLoginCheckPlan(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	person := "person: {employee_id: W1, given_name: Ada, surname: Lovelace, start_date: 2026-12-01}\n"
	p, err := build(t, write("w.yaml", person+"account: {directory: corp-ad, password: {deliver: terminal}}\n"+
		"machine: {host: win1}\nchecks: [{name: sign-in, login: {bind: false}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range p.Steps {
		if s.Check != nil && s.Check.Login != nil {
			found = true
			if s.Directory != "corp-ad" || !s.Check.Login.Workstation || s.Check.Login.Bind || s.Check.Login.User == "" {
				t.Errorf("login step %+v on directory %q", s.Check.Login, s.Directory)
			}
		}
	}
	if !found {
		t.Fatal("no login check planned")
	}
	for _, tt := range []struct{ name, account string }{
		{"openldap.yaml", "account: {directory: corp-ldap, password: {deliver: terminal}}\n"},
		{"none.yaml", ""},
	} {
		_, err := build(t, write(tt.name, person+tt.account+"machine: {host: win1}\nchecks: [{name: sign-in, login: {user: ada, bind: false}}]\n"))
		if err == nil || !strings.Contains(err.Error(), "checks[0].login: login check: signing in on a Windows machine needs the hire's Active Directory account") {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}
