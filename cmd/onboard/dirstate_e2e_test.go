package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/plan"
)

// TestSavedPlanDirectoryState: plan --out records the directory state the
// plan depends on (slapd); an account made by hand since makes apply
// refuse the plan, naming it; with the state as recorded, it applies.
func TestSavedPlanDirectoryState(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	d := labDir(t, l, "corp-ldap")
	pb := e.write("dirk.yaml", `person:
  employee_id: E301
  given_name: Dirk
  surname: Stale
  start_date: 2026-12-01
account:
  directory: corp-ldap
  groups: [sales]
  must_change_password: false
  password: {deliver: "file:pw/E301.pw"}
`)
	saved := filepath.Join(e.dir, "plan.json")
	if code, out, stderr := e.onboard("plan", "--out", saved, pb); code != exitOK {
		t.Fatalf("plan --out: exit %d\n%s\n%s", code, out, stderr)
	}
	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	var p plan.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	facts := map[string]string{}
	for _, f := range p.DirectoryState {
		facts[f.Directory+" "+f.Subject()] = f.State
	}
	for subject, want := range map[string]string{
		"corp-ldap account dstale":               plan.Absent,
		"corp-ldap the account of employee E301": plan.Absent,
		"corp-ldap group sales":                  "cn=sales,",
	} {
		if got, ok := facts[subject]; !ok || !strings.HasPrefix(got, want) {
			t.Errorf("recorded %s: %q, want %q (all: %v)", subject, got, want, facts)
		}
	}
	digests := 0
	for _, in := range p.Inputs {
		if in.Kind == "directory" && in.Path == "corp-ldap" && len(in.SHA256) == 64 {
			digests++
		}
	}
	if digests != 1 {
		t.Errorf("inputs %+v: want one digest of corp-ldap's state", p.Inputs)
	}

	// The account made by hand since the plan.
	c := ldapAs(t, d)
	dn := "uid=dstale," + d.UsersDN
	t.Cleanup(func() { forgetAccount(t, c, d.BaseDN, dn, "sales") })
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("cn", []string{"Dirk Stale"})
	add.Attribute("sn", []string{"Stale"})
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := e.onboard("apply", "--yes", saved)
	if code != exitInvalid || !strings.Contains(stderr, "directory corp-ldap: account dstale now exists (made since the plan)") {
		t.Fatalf("apply of a stale plan: exit %d, want %d naming the account\n%s\n%s", code, exitInvalid, out, stderr)
	}
	if strings.Contains(stderr, "employee E301") {
		t.Errorf("the account made by hand has no employee id, yet a change of E301's account is named:\n%s", stderr)
	}

	// As recorded again: the plan applies.
	if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		t.Fatal(err)
	}
	code, r, stderr := e.jsonRun("apply", "--yes", saved)
	if code != exitOK || !r.Ready("E301") {
		t.Fatalf("apply with the state as recorded: exit %d\n%s\n%+v", code, stderr, r.Steps)
	}
	entry(t, c, d.BaseDN, "(&(uid=dstale)(employeeNumber=E301))", "uid")
}

// forgetAccount removes an account the test made, and its membership of
// group, so that the test runs again on the same lab.
func forgetAccount(t *testing.T, c *ldap.Conn, base, dn, group string) {
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(&(cn="+ldap.EscapeFilter(group)+")(member="+ldap.EscapeFilter(dn)+"))", []string{"cn"}, nil))
	if err == nil {
		for _, g := range res.Entries {
			m := ldap.NewModifyRequest(g.DN, nil)
			m.Delete("member", []string{dn})
			if err := c.Modify(m); err != nil {
				t.Errorf("remove %s from %s: %v", dn, g.DN, err)
			}
		}
	}
	if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("remove %s: %v", dn, err)
	}
}
