package planner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/username"
)

// namingInventory has an Active Directory with a fallback, an OpenLDAP
// without one, and an OpenLDAP whose policy is first.last.
const namingInventory = `directories:
  ad:
    kind: active-directory
    urls: [ldaps://dc.test]
    base_dn: DC=corp,DC=test
    users_ou: OU=Staff,DC=corp,DC=test
    domain: corp.test
    bind_dn: CN=Administrator,CN=Users,DC=corp,DC=test
    bind_password: env:AD_PW
    naming:
      fallback: "${person.employee_id|lower}"
  ldap:
    kind: openldap
    urls: [ldaps://ldap.test]
    base_dn: dc=corp,dc=test
    users_ou: ou=People,dc=corp,dc=test
    bind_dn: cn=admin,dc=corp,dc=test
    bind_password: env:LDAP_PW
  dotted:
    kind: openldap
    urls: [ldaps://ldap.test]
    base_dn: dc=corp,dc=test
    users_ou: ou=People,dc=corp,dc=test
    bind_dn: cn=admin,dc=corp,dc=test
    bind_password: env:LDAP_PW
    naming:
      username: "${person.given_name}.${person.surname}"
      max_length: 12
`

type hireSpec struct {
	id, given, surname, dir, username string
}

// planHires writes an inventory and one playbook per hire into a fresh
// folder and plans them together.
func planHires(t *testing.T, inv string, hires ...hireSpec) (*plan.Plan, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "inventory.yaml"), []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := inventory.Load(filepath.Join(dir, "inventory.yaml"))
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	var pbs []*playbook.Playbook
	for _, h := range hires {
		y := fmt.Sprintf("person: {employee_id: %q, given_name: %q, surname: %q, start_date: 2026-12-07}\naccount:\n  directory: %s\n  password: {deliver: \"file:%s.pw\"}\n",
			h.id, h.given, h.surname, h.dir, h.id)
		if h.username != "" {
			y += fmt.Sprintf("  username: %q\n", h.username)
		}
		f := filepath.Join(dir, h.id+".yaml")
		if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		pb, err := playbook.Load(f)
		if err != nil {
			t.Fatalf("load %s: %v", f, err)
		}
		pbs = append(pbs, pb)
	}
	return Build(pbs, in, Options{Write: []string{dir}})
}

func TestDerivedUsernames(t *testing.T) {
	for _, c := range []struct {
		name string
		hire hireSpec
		want string
	}{
		{"suffix Jr. in AD", hireSpec{"E1", "John", "Smith, Jr.", "ad", ""}, "jsmithjr"},
		{"suffix Jr. in OpenLDAP", hireSpec{"E1", "John", "Smith, Jr.", "ldap", ""}, "jsmithjr"},
		{"Latin folding kept", hireSpec{"E1", "José", "O'Brien-Łukasiewicz", "ad", ""}, "jobrien-lukasiewicz"},
		{"Greek", hireSpec{"E1", "Οδυσσέας", "Ελύτης", "ad", ""}, "oelutes"},
		{"Cyrillic", hireSpec{"E1", "Фёдор", "Достоевский", "ad", ""}, "fdostoevskii"},
		{"Arabic", hireSpec{"E1", "محمد", "عبد الله", "ldap", ""}, "mbdllh"},
		{"Hebrew", hireSpec{"E1", "יוסף", "כהן", "ad", ""}, "ykhn"},
		{"Chinese", hireSpec{"E1", "伟", "李", "ldap", ""}, "wli"},
		{"Japanese", hireSpec{"E1", "太郎", "山田", "ad", ""}, "tshantian"},
		{"Japanese kana", hireSpec{"E1", "さくら", "たなか", "ldap", ""}, "stanaka"},
		{"Korean", hireSpec{"E1", "민준", "김", "ad", ""}, "mgim"},
		{"Devanagari", hireSpec{"E1", "दीपिका", "शर्मा", "ldap", ""}, "dshrmaa"},
		{"long name cut in AD without a trailing dot", hireSpec{"E1", "Maximiliana", "Wolfeschlegelsteinh. Jr", "ad", ""}, "mwolfeschlegelsteinh"},
		{"first.last cut to 12 without a trailing dot", hireSpec{"E1", "Christopher", "Lee", "dotted", ""}, "christopher"},
		{"fallback for emoji", hireSpec{"E1042", "😀", "🎉", "ad", ""}, "e1042"},
		{"fallback for one letter", hireSpec{"E7", "😀", "Ö", "ad", ""}, "e7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := planHires(t, namingInventory, c.hire)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Hires[0].Username
			if got != c.want {
				t.Fatalf("username %q, want %q", got, c.want)
			}
			if err := username.Check(p.Directories[c.hire.dir].Kind, got); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The collision rule still runs after the repair: two hires of one batch
// whose names repair to the same base get base and base2.
func TestDerivedUsernamesCollide(t *testing.T) {
	p, err := planHires(t, namingInventory,
		hireSpec{"E1", "John", "Smith, Jr.", "ad", ""},
		hireSpec{"E2", "Jane", "Smith Jr", "ad", ""},
		hireSpec{"E3", "Иван", "Петров", "ldap", ""},
		hireSpec{"E4", "Игорь", "Петров", "ldap", ""})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range p.Hires {
		got = append(got, h.Username)
	}
	if strings.Join(got, " ") != "jsmithjr jsmithjr2 ipetrov ipetrov2" {
		t.Fatalf("usernames %q", got)
	}
}

func TestUsernameRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		inv  string
		hire hireSpec
		want string
	}{
		{"explicit trailing dot in AD", namingInventory, hireSpec{"E1", "John", "Smith", "ad", "jsmith."},
			`E1.yaml:5:13: account.username: "jsmith." breaks the Active Directory logon name (sAMAccountName) rule: no trailing '.'`},
		{"explicit comma in AD", namingInventory, hireSpec{"E1", "John", "Smith", "ad", "smith,jr"},
			`account.username: "smith,jr" breaks the Active Directory logon name (sAMAccountName) rule: none of "/\[]:;|=,+*?<> (found ",")`},
		{"explicit 21 characters in AD", namingInventory, hireSpec{"E1", "John", "Smith", "ad", strings.Repeat("a", 21)},
			`rule: at most 20 characters, this has 21`},
		{"explicit leading digit in OpenLDAP", namingInventory, hireSpec{"E1", "John", "Smith", "ldap", "1jsmith"},
			`account.username: "1jsmith" breaks the onboard username rule: lowercase letters, digits, '.', '_' and '-' only, starting with a letter or '_' (found '1')`},
		{"templated explicit name breaking the rules", namingInventory, hireSpec{"E1", "John", "Smith, Jr.", "ad", "${person.surname|lower}"},
			`account.username: "smith, jr." breaks the Active Directory logon name (sAMAccountName) rule`},
		{"nothing readable and no fallback", namingInventory, hireSpec{"E1", "😀", "🎉", "ldap", ""},
			`E1.yaml:1:9: person: "😀 🎉" gives no readable username in ldap (got ""): set account.username, or a naming.fallback on the directory (`},
		{"fallback with an unknown name, found though this hire does not need it",
			strings.Replace(namingInventory, "${person.employee_id|lower}", "${person.employe_id|lower}", 1),
			hireSpec{"E1", "John", "Smith", "ad", ""},
			`inventory.yaml:11:17: directories.ad.naming.fallback: template ${person.employe_id|lower}: unknown name "person.employe_id"`},
		{"fallback unreadable too", namingInventory,
			hireSpec{"1042", "😀", "🎉", "ad", ""},
			`inventory.yaml:11:17: directories.ad.naming.fallback: gives no readable username for `},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := planHires(t, c.inv, c.hire)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %s", err, c.want)
			}
		})
	}
}

// adopt: true alone is the safe choice (a disabled account gets a new
// password); keeping the old one is explicit, and only with adopt.
func TestAdoptedPassword(t *testing.T) {
	for _, c := range []struct {
		name, account string
		keep          bool
		err           string
	}{
		{"adopt alone resets", "adopt: true", false, ""},
		{"explicit reset", "adopt: true\n  password: {deliver: file:x.pw, adopted: reset}", false, ""},
		{"explicit keep", "adopt: true\n  password: {deliver: file:x.pw, adopted: keep}", true, ""},
		{"keep without adopt", "password: {deliver: file:x.pw, adopted: keep}", false, "account.password.adopted: applies only with account.adopt: true"},
		{"unknown choice", "adopt: true\n  password: {deliver: file:x.pw, adopted: maybe}", false, `account.password.adopted: must be reset or keep, got "maybe"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			inv := filepath.Join(dir, "inventory.yaml")
			if err := os.WriteFile(inv, []byte(namingInventory), 0o644); err != nil {
				t.Fatal(err)
			}
			y := "person: {employee_id: E1, given_name: Ann, surname: Lee, start_date: 2026-12-07}\naccount:\n  directory: ad\n  " + c.account + "\n"
			if !strings.Contains(c.account, "password:") {
				y += "  password: {deliver: file:x.pw}\n"
			}
			f := filepath.Join(dir, "E1.yaml")
			if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			pb, err := playbook.Load(f)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			in, err := inventory.Load(inv)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Build([]*playbook.Playbook{pb}, in, Options{Write: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			a := p.Step("E1:activate:alee").Activate
			if !a.Adopt || a.KeepPassword != c.keep {
				t.Fatalf("activate: adopt %v, keep password %v; want adopt, keep %v", a.Adopt, a.KeepPassword, c.keep)
			}
		})
	}
}
