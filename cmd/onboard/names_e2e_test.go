package main

// End-to-end tests of usernames from real names, and of adopting disabled
// accounts, against the lab's Samba AD DC and OpenLDAP slapd.

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/lab"
	"onboard/internal/result"
	"onboard/internal/username"
)

// withFallback gives corp-ad and corp-ldap a naming fallback in the env's
// copy of the lab inventory.
func withFallback(t *testing.T, e *env, l *lab.Lab) {
	t.Helper()
	p := filepath.Join(e.inv, filepath.Base(l.InventoryFile))
	s := mustRead(t, p)
	for _, name := range []string{"corp-ad", "corp-ldap"} {
		head := "  " + name + ":\n"
		if !strings.Contains(s, head) {
			t.Fatalf("no %s in the lab inventory", name)
		}
		s = strings.Replace(s, head, head+"    naming: {fallback: \"${person.employee_id|lower}\"}\n", 1)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bindWith binds as dn with the password; nil when it works (for AD, the
// accounts here have no "must change").
func bindWith(t *testing.T, d lab.Directory, dn, pw string) error {
	t.Helper()
	c, err := ldap.DialURL(d.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: caPool(t, d)}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Bind(dn, pw)
}

// Hires named "Smith, Jr.", in Cyrillic, Chinese and Arabic, and in emoji,
// onboarded into the real directories in one batch: each gets a valid,
// distinct account that binds with its delivered password; the collision
// rule runs after the repair, against the batch and the directory.
func TestNamesFromEveryScript(t *testing.T) {
	l := needLab(t)
	for _, dir := range []struct {
		name, kind, idAttr, userAttr, prefix string
	}{
		{"corp-ad", username.ActiveDirectory, "employeeID", "sAMAccountName", "E51"},
		{"corp-ldap", username.OpenLDAP, "employeeNumber", "uid", "E52"},
	} {
		t.Run(dir.name, func(t *testing.T) {
			e := newEnv(t, l)
			withFallback(t, e, l)
			d := labDir(t, l, dir.name)
			hires := []struct{ given, surname, want string }{
				{"John", "Smith, Jr.", "jsmithjr"},
				{"Jane", "Smith Jr.", "jsmithjr2"}, // the same base after the repair
				{"Фёдор", "Достоевский", "fdostoevskii"},
				{"伟", "李", "wli"},
				{"محمد", "عبد الله", "mbdllh"},
				{"😀", "🎉", strings.ToLower(dir.prefix) + "5"}, // the fallback
				{"Greta", "Hopper.", "ghopper[0-9]+"},         // the seeded ghopper holds the base
			}
			var files []string
			for i, h := range hires {
				id := fmt.Sprintf("%s%d", dir.prefix, i)
				files = append(files, e.write(id+".yaml", fmt.Sprintf(`person: {employee_id: %s, given_name: %q, surname: %q, start_date: 2026-12-01}
account:
  directory: %s
  must_change_password: false
  password: {deliver: "file:pw/%s.pw"}
`, id, h.given, h.surname, dir.name, id)))
			}
			code, r, stderr := e.jsonRun(files...)
			if code != exitOK {
				t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
			}
			c := ldapAs(t, d)
			seen := map[string]string{}
			for i, h := range hires {
				id := fmt.Sprintf("%s%d", dir.prefix, i)
				u := entry(t, c, d.BaseDN, fmt.Sprintf("(%s=%s)", dir.idAttr, id), dir.userAttr)
				name := u.GetAttributeValue(dir.userAttr)
				if !regexp.MustCompile("^" + h.want + "$").MatchString(name) {
					t.Errorf("%s %s: username %q, want %s", h.given, h.surname, name, h.want)
				}
				if err := username.Check(dir.kind, name); err != nil {
					t.Errorf("%s %s: %v", h.given, h.surname, err)
				}
				if prev, ok := seen[name]; ok {
					t.Errorf("%s and %s both got %s", prev, id, name)
				}
				seen[name] = id
				pw, err := os.ReadFile(filepath.Join(e.dir, "pw", id+".pw"))
				if err != nil {
					t.Fatal(err)
				}
				if err := bindWith(t, d, u.DN, strings.TrimSpace(string(pw))); err != nil {
					t.Errorf("%s (%s): bind with the delivered password: %v", name, id, err)
				}
			}
			if name := entry(t, c, d.BaseDN, fmt.Sprintf("(%s=%s6)", dir.idAttr, dir.prefix), dir.userAttr).GetAttributeValue(dir.userAttr); name == "ghopper" {
				t.Error("the seeded ghopper was taken over")
			}
			// A re-run finds every hire's account by employee id: nothing changes.
			if code, r, stderr := e.jsonRun(files...); code != exitOK || len(r.Steps) == 0 {
				t.Fatalf("re-run: exit %d: %s", code, stderr)
			} else {
				for _, s := range r.Steps {
					if s.Outcome != result.OK {
						t.Errorf("re-run: %s %s", s.ID, s.Outcome)
					}
				}
			}
		})
	}
}

// Adopting a disabled Active Directory account gives it a new password,
// delivered, before it is enabled: its old password no longer works.
// Keeping the old one takes the explicit password.adopted: keep.
func TestAdoptDisabledAccount(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	d := labDir(t, l, "corp-ad")
	ctx := context.Background()
	const old = "Old-Passw0rd-of-9x"
	for _, u := range []string{"adoptreset", "adoptkeep"} {
		if out, err := l.SambaTool(ctx, "user", "create", u, old, "--given-name="+u, "--surname=Adopted"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if out, err := l.SambaTool(ctx, "user", "disable", u); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	c := ldapAs(t, d)
	hire := func(id, user, extra string) string {
		return e.write(id+".yaml", fmt.Sprintf(`person: {employee_id: %s, given_name: Ada, surname: Adopted, start_date: 2026-12-01}
account:
  directory: corp-ad
  username: %s
  adopt: true
  must_change_password: false
  password: {deliver: "file:pw/%s.pw"%s}
`, id, user, id, extra))
	}
	enabled := func(user string) (string, bool) {
		u := entry(t, c, d.BaseDN, "(sAMAccountName="+user+")", "userAccountControl")
		uac, _ := strconv.Atoi(u.GetAttributeValue("userAccountControl"))
		return u.DN, uac&2 == 0
	}

	pwdLastSet := func(user string) string {
		return entry(t, c, d.BaseDN, "(sAMAccountName="+user+")", "pwdLastSet").GetAttributeValue("pwdLastSet")
	}
	before := pwdLastSet("adoptreset")

	// adopt: true, the default: a new password.
	code, r, stderr := e.jsonRun(hire("E530", "adoptreset", ""))
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	dn, on := enabled("adoptreset")
	if !on {
		t.Fatal("the adopted account is not enabled")
	}
	// Samba, like Windows, still accepts the previous password for an hour
	// after a reset ("old password allowed period"), so a bind with it
	// proves nothing: the password's last-set time does.
	if after := pwdLastSet("adoptreset"); after == before {
		t.Errorf("the adopted account was enabled with its old password (pwdLastSet %s unchanged)", before)
	}
	pw, err := os.ReadFile(filepath.Join(e.dir, "pw", "E530.pw"))
	if err != nil {
		t.Fatalf("no new password delivered: %v", err)
	}
	if err := bindWith(t, d, dn, strings.TrimSpace(string(pw))); err != nil {
		t.Errorf("bind with the delivered password: %v", err)
	}

	// password.adopted: keep, the explicit choice: the old password, nothing delivered.
	keepBefore := pwdLastSet("adoptkeep")
	code, r, stderr = e.jsonRun(hire("E531", "adoptkeep", ", adopted: keep"))
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	dn, on = enabled("adoptkeep")
	if !on {
		t.Fatal("the adopted account is not enabled")
	}
	if err := bindWith(t, d, dn, old); err != nil || pwdLastSet("adoptkeep") != keepBefore {
		t.Errorf("keep: the old password was not kept: bind %v, pwdLastSet %s → %s", err, keepBefore, pwdLastSet("adoptkeep"))
	}
	if _, err := os.Stat(filepath.Join(e.dir, "pw", "E531.pw")); !os.IsNotExist(err) {
		t.Errorf("keep: a password file was written (%v)", err)
	}
	var said bool
	for _, s := range r.Steps {
		said = said || strings.Contains(s.Changed, "enabled with its old password (password.adopted: keep)")
	}
	if !said {
		t.Errorf("the run does not say the old password was kept: %+v", r.Steps)
	}
}

// OpenLDAP has no disable flag: an account is enabled by having a
// password. Adopting one that has a password leaves that password alone
// (the account is in use); one without gets a new password, delivered.
func TestAdoptOpenLDAPAccount(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	d := labDir(t, l, "corp-ldap")
	c := ldapAs(t, d)
	const old = "Old-Passw0rd-of-9x"
	for i, u := range []string{"adoptinuse", "adoptnopw"} {
		add := ldap.NewAddRequest("uid="+u+",ou=People,"+d.BaseDN, nil)
		add.Attribute("objectClass", []string{"inetOrgPerson", "posixAccount"})
		add.Attribute("uid", []string{u})
		add.Attribute("cn", []string{"Ada Adopted"})
		add.Attribute("sn", []string{"Adopted"})
		add.Attribute("uidNumber", []string{strconv.Itoa(15300 + i)})
		add.Attribute("gidNumber", []string{"10000"})
		add.Attribute("homeDirectory", []string{"/home/" + u})
		if u == "adoptinuse" {
			add.Attribute("userPassword", []string{old})
		}
		if err := c.Add(add); err != nil {
			t.Fatalf("add %s: %v", u, err)
		}
	}
	for i, u := range []string{"adoptinuse", "adoptnopw"} {
		id := fmt.Sprintf("E54%d", i)
		pb := e.write(id+".yaml", fmt.Sprintf(`person: {employee_id: %s, given_name: Ada, surname: Adopted, start_date: 2026-12-01}
account:
  directory: corp-ldap
  username: %s
  adopt: true
  must_change_password: false
  password: {deliver: "file:pw/%s.pw"}
`, id, u, id))
		if code, r, stderr := e.jsonRun(pb); code != exitOK {
			t.Fatalf("%s: exit %d: %s\n%+v", u, code, stderr, r.Steps)
		}
	}
	dn := "uid=adoptinuse,ou=People," + d.BaseDN
	if err := bindWith(t, d, dn, old); err != nil {
		t.Errorf("an account in use lost its password: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "pw", "E540.pw")); !os.IsNotExist(err) {
		t.Errorf("a password was delivered for an account in use (%v)", err)
	}
	pw, err := os.ReadFile(filepath.Join(e.dir, "pw", "E541.pw"))
	if err != nil {
		t.Fatalf("no password delivered for the adopted account without one: %v", err)
	}
	if err := bindWith(t, d, "uid=adoptnopw,ou=People,"+d.BaseDN, strings.TrimSpace(string(pw))); err != nil {
		t.Errorf("bind with the delivered password: %v", err)
	}
}
