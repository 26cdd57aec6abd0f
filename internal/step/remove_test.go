package step

import (
	"slices"
	"strings"
	"testing"

	"onboard/internal/plan"
)

func TestAlsoRemoved(t *testing.T) {
	sim := `NOTE: This is only a simulation!
Reading package lists...
The following packages will be REMOVED:
  acme-git-tools acme-ide
Remv acme-ide [1.0]
Remv acme-git-tools [2.0]
Remv libfoo:amd64 [1.2-3]
`
	for _, tt := range []struct {
		name string
		pkgs []string
		want []string
	}{
		{"a dependent outside the batch", []string{"acme-git-tools", "libfoo"}, []string{"acme-ide"}},
		{"everything asked for", []string{"acme-git-tools", "acme-ide", "libfoo:amd64"}, nil},
		{"by bare name", []string{"acme-git-tools", "acme-ide", "libfoo"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := alsoRemoved(sim, tt.pkgs); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLeaversSnippet(t *testing.T) {
	got := leaversSnippet("CORP.example.test", []string{"bob", "a*(x)", "bob"})
	want := "# Written by onboard (login-revoke): leavers who may not sign in on this machine.\n" +
		"# deny: a*(x)\n# deny: bob\n" +
		"[domain/corp.example.test]\nad_access_filter = (!(|(sAMAccountName=a\\2a\\28x\\29)(sAMAccountName=bob)))\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if users := deniedUsers(got); !slices.Equal(users, []string{"a*(x)", "bob"}) {
		t.Errorf("read back: %q", users)
	}
}

func TestRevokeVerdict(t *testing.T) {
	local := &plan.LoginRevokeSpec{User: "ada"}
	domain := &plan.LoginRevokeSpec{User: "bob", Domain: "corp.example.test"}
	done := map[string]string{"resolves": "yes", "uid": "1001", "login": "no", "processes": "0", "keys": "no", "locked": "yes", "expired": "yes", "denied": "yes"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range done {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tt := range []struct {
		name  string
		spec  *plan.LoginRevokeSpec
		facts map[string]string
		in    bool
		says  string
	}{
		{"local revoked", local, done, true, "ada (uid 1001) cannot sign in: su as the user is refused, locked, expired, no process of the user, no authorized_keys"},
		{"local su works", local, with("login", "yes"), false, "su as the user still works"},
		{"local not locked", local, with("locked", "no"), false, "the account is not locked"},
		{"local not expired", local, with("expired", "no"), false, "the account has not expired"},
		{"processes left", local, with("processes", "3"), false, "3 processes of the user run"},
		{"keys left", local, with("keys", "yes"), false, "authorized_keys is still there"},
		{"local gone", local, map[string]string{"resolves": "no"}, true, "does not resolve"},
		{"domain revoked", domain, done, true, "denied by the SSSD access filter"},
		{"domain not denied", domain, with("denied", "no"), false, "not denied by the SSSD access filter"},
		{"domain not resolving, not denied", domain, map[string]string{"resolves": "no", "denied": "no"}, false, "not denied"},
		{"domain not resolving, denied", domain, map[string]string{"resolves": "no", "denied": "yes"}, true, "denied by the SSSD access filter, does not resolve"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := revokeVerdict(tt.spec, tt.facts)
			if st.InPlace != tt.in || !strings.Contains(st.Reason, tt.says) {
				t.Errorf("got %v %q, want %v and %q", st.InPlace, st.Reason, tt.in, tt.says)
			}
		})
	}
}

func TestRemovalSpecs(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    plan.HomeArchiveSpec
		err  string
	}{
		{"fine", plan.HomeArchiveSpec{User: "ada", Home: "/home/ada", Archive: "/srv/leavers/ada.tar.gz"}, ""},
		{"inside the home", plan.HomeArchiveSpec{User: "ada", Home: "/home/ada", Archive: "/home/ada/x.tar.gz"}, "inside the home"},
		{"relative", plan.HomeArchiveSpec{User: "ada", Home: "home/ada", Archive: "/srv/a.tar.gz"}, "clean absolute path"},
		{"unclean", plan.HomeArchiveSpec{User: "ada", Home: "/home/ada/../bob", Archive: "/srv/a.tar.gz"}, "clean absolute path"},
		{"not a tar.gz", plan.HomeArchiveSpec{User: "ada", Home: "/home/ada", Archive: "/srv/a.zip"}, "must end in .tar.gz"},
		{"no user", plan.HomeArchiveSpec{Home: "/home/ada", Archive: "/srv/a.tar.gz"}, "user is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.h.Validate()
			if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v, want %q", err, tt.err)
			}
		})
	}
	for _, tt := range []struct {
		p  plan.PackageSpec
		ok bool
	}{
		{plan.PackageSpec{Name: "chat", Manager: "apt", Package: "acme-chat"}, true},
		{plan.PackageSpec{Name: "agent", Manager: "command", Install: "i", IsInstalled: "t", Uninstall: "u"}, true},
		{plan.PackageSpec{Name: "agent", Manager: "command", Install: "i", IsInstalled: "t"}, false},
	} {
		if err := tt.p.Removable(); (err == nil) != tt.ok {
			t.Errorf("%+v: %v", tt.p, err)
		}
	}
}
