package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A directory's leavers settings: the OU lies under the base DN, and an
// account cannot be restorable for longer than it is kept.
func TestLeavers(t *testing.T) {
	const ldap = "directories:\n  corp-ldap:\n    kind: openldap\n    urls: [ldaps://ldap.corp.example.test:636]\n" +
		"    base_dn: dc=corp,dc=example,dc=test\n    users_ou: ou=People,dc=corp,dc=example,dc=test\n" +
		"    bind_dn: cn=admin,dc=corp,dc=example,dc=test\n    bind_password: env:LDAP_PW\n"
	for _, tt := range []struct {
		name, leavers string
		want          Leavers
		err           string
	}{
		{"none", "", Leavers{}, ""},
		{"all", "    leavers: {ou: \"ou=Leavers,dc=corp,dc=example,dc=test\", grace_days: 30, retention_days: 90}\n",
			Leavers{OU: "ou=Leavers,dc=corp,dc=example,dc=test", GraceDays: 30, RetentionDays: 90}, ""},
		{"ou elsewhere", "    leavers: {ou: \"ou=Leavers,dc=other,dc=test\"}\n", Leavers{},
			`inv.yaml:9:19: directories.corp-ldap.leavers.ou: must be a DN under the directory's base_dn dc=corp,dc=example,dc=test, got "ou=Leavers,dc=other,dc=test"`},
		{"grace past retention", "    leavers: {grace_days: 100, retention_days: 90}\n", Leavers{},
			"directories.corp-ldap.leavers.grace_days: is 100 days, longer than retention_days (90)"},
		{"negative", "    leavers: {grace_days: -1}\n", Leavers{}, "grace_days and retention_days must be 0 or more"},
		{"unknown field", "    leavers: {grace: 30}\n", Leavers{}, "directories.corp-ldap.leavers.grace: unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "inv.yaml")
			if err := os.WriteFile(p, []byte(ldap+tt.leavers), 0o644); err != nil {
				t.Fatal(err)
			}
			inv, err := Load(p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := inv.Directories["corp-ldap"].Leavers; got != tt.want {
				t.Errorf("leavers = %+v, want %+v", got, tt.want)
			}
		})
	}
}
