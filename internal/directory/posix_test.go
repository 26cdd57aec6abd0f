package directory

import (
	"strings"
	"testing"
)

// Active Directory accounts carry the RFC 2307 attributes when the spec
// gives them (the inventory asked for POSIX attributes), and none
// otherwise; they are managed attributes, never extra ones.
func TestADPosixAttributes(t *testing.T) {
	c := testClient(ActiveDirectory)
	base := UserSpec{Username: "ada", GivenName: "Ada", Surname: "Lovelace"}
	posix := base
	posix.UIDNumber, posix.GIDNumber, posix.Home, posix.Shell = 20001, 10000, "/home/ada", "/bin/zsh"
	for _, tt := range []struct {
		name string
		spec UserSpec
		u    *User
		want []string // lines of Diff that must appear
		not  []string
	}{
		{"new, posix", posix, nil, []string{`uidNumber: (none) → "20001"`, `gidNumber: (none) → "10000"`, `unixHomeDirectory: (none) → "/home/ada"`, `loginShell: (none) → "/bin/zsh"`}, nil},
		{"new, no posix", base, nil, nil, []string{"uidNumber", "gidNumber", "unixHomeDirectory", "loginShell"}},
		{"existing, other gid", posix, &User{Attrs: map[string][]string{"uidnumber": {"20001"}, "gidnumber": {"513"}, "unixhomedirectory": {"/home/ada"}, "loginshell": {"/bin/zsh"},
			"givenname": {"Ada"}, "sn": {"Lovelace"}, "displayname": {"Ada Lovelace"}}}, []string{`gidNumber: "513" → "10000"`}, []string{"uidNumber", "unixHomeDirectory", "loginShell"}},
	} {
		got := strings.Join(c.Diff(tt.u, tt.spec), "\n")
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: Diff lacks %q:\n%s", tt.name, w, got)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(got, w) {
				t.Errorf("%s: Diff has %q:\n%s", tt.name, w, got)
			}
		}
	}
	for _, a := range []string{"uidNumber", "gidNumber", "unixHomeDirectory", "loginShell"} {
		if err := CheckAttribute(ActiveDirectory, a, []string{a}); err == nil {
			t.Errorf("%s may be set as an extra attribute", a)
		}
	}
}
