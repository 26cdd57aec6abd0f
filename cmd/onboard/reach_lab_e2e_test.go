package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/result"
)

// A password file that exists is never replaced: the activation fails
// before any password is set (the account stays without one), the file
// keeps what it held, and once it is moved away the run completes; the
// re-run, with the file now there, sets no new password and passes.
func TestPasswordFileNeverReplaced(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	d := labDir(t, l, "corp-ldap")
	old := e.write("pw/E500.pw", "a password someone still needs\n")
	pb := e.write("una.yaml", `person: {employee_id: E500, given_name: Una, surname: Replace, start_date: 2026-12-01}
account:
  directory: corp-ldap
  must_change_password: false
  password: {deliver: "file:pw/E500.pw"}
`)
	code, r, stderr := e.jsonRun(pb)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, stderr)
	}
	var f *result.Failure
	for _, s := range r.Steps {
		if s.ID == "E500:activate:ureplace" {
			f = s.Failure
		}
	}
	if f == nil || !strings.Contains(f.Message, "already exists") {
		t.Fatalf("activate failure: %+v", f)
	}
	if got := mustRead(t, old); got != "a password someone still needs\n" {
		t.Errorf("the existing file was replaced: %q", got)
	}
	c := ldapAs(t, d)
	if u := entry(t, c, d.BaseDN, "(uid=ureplace)", "userPassword"); u.GetAttributeValue("userPassword") != "" {
		t.Errorf("a password was set that nobody received")
	}
	if err := os.Rename(old, old+".handed-over"); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := e.jsonRun(pb); code != exitOK {
		t.Fatalf("after moving the file away: exit %d: %s", code, stderr)
	}
	first := mustRead(t, old)
	code, r, stderr = e.jsonRun(pb)
	if code != exitOK || result.Counts(r.Steps)[result.OK] != len(r.Steps) {
		t.Fatalf("re-run: exit %d, %v: %s", code, result.Counts(r.Steps), stderr)
	}
	if mustRead(t, old) != first {
		t.Errorf("the re-run changed the password file")
	}
}

// Outputs outside the allowed folders, and two hires naming one password
// file, are refused when the plan is made: nothing is created anywhere.
func TestOutputsRefusedBeforeAnythingChanges(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	d := labDir(t, l, "corp-ldap")
	outside := t.TempDir()
	// A folder inside an allowed one that leads out by a symlink.
	if err := os.MkdirAll(filepath.Join(e.dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(e.dir, "out", "escape")); err != nil {
		t.Fatal(err)
	}
	hire := func(id, given, deliver, reports string) string {
		return e.write(id+".yaml", `person: {employee_id: `+id+`, given_name: `+given+`, surname: Out, start_date: 2026-12-01}
account:
  directory: corp-ldap
  password: {deliver: "file:`+deliver+`"}
handover: {reports: [`+reports+`]}
`)
	}
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"delivery outside", []string{hire("E510", "Ola", filepath.Join(outside, "E510.pw"), "out/E510.md")}, "account.password.deliver: playbooks write only in the folders"},
		{"report outside", []string{hire("E511", "Pia", "pw/E511.pw", filepath.Join(outside, "E511.html"))}, "handover.reports[0]: playbooks write only in the folders"},
		{"report through a symlink out", []string{hire("E512", "Rio", "pw/E512.pw", "out/escape/E512.md")}, "once symlinks are followed) is outside the allowed folders"},
		{"delivery by ..", []string{hire("E513", "Sol", "pw/../inventory/E513.pw", "out/E513.md")}, "inventory/E513.pw is outside the allowed folders"},
		{"two hires, one password file", []string{hire("E514", "Tam", "pw/shared.pw", "out/E514.md"), hire("E515", "Uma", "pw/shared.pw", "out/E515.md")},
			"deliver their initial passwords to the same file"},
	}
	c := ldapAs(t, d)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := e.onboard(tt.files...)
			if code != exitInvalid || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s%s", code, exitInvalid, tt.want, out, stderr)
			}
			res, err := c.Search(ldap.NewSearchRequest(d.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				"(sn=Out)", []string{"uid"}, nil))
			if err != nil || len(res.Entries) != 0 {
				t.Errorf("the directory changed: %v %v", res, err)
			}
		})
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the allowed folders: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "inventory", "E513.pw")); err == nil {
		t.Errorf("a password file was written into the inventory")
	}
}
