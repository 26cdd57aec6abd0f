package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/lab"
	"onboard/internal/secret"
)

// dirEnv is one real directory server to test against, and how to control it.
type dirEnv struct {
	cfg         Config // LDAPS URL first
	startTLSURL string
	usersDN     string
	computersDN string
	stop, start func(context.Context) error
	sambaTool   func(context.Context, ...string) (string, error) // AD only
}

func envFromLab(l *lab.Lab, d lab.Directory) dirEnv {
	e := dirEnv{
		cfg: Config{
			Name: d.Name, Kind: Kind(d.Kind), URLs: []string{d.URL},
			BaseDN: d.BaseDN, UsersOU: d.UsersDN, GroupsBase: d.GroupsDN, ComputersOU: d.ComputersDN, Domain: d.Domain,
			BindDN: d.BindDN, BindPassword: secret.New(d.BindPassword), CACertFile: d.CACertFile, Timeout: 10 * time.Second,
			AllowAttributes: []string{"seeAlso"}, // a DN-valued attribute, allowed as an inventory would
		},
		startTLSURL: d.StartTLSURL,
		usersDN:     d.UsersDN,
		computersDN: d.ComputersDN,
		stop:        func(ctx context.Context) error { return l.StopDirectory(ctx, d.Name) },
		start:       func(ctx context.Context) error { return l.StartDirectory(ctx, d.Name) },
	}
	if d.Kind == lab.KindActiveDirectory {
		e.sambaTool = l.SambaTool
	}
	return e
}

// startLab starts the test lab with both directories, or skips under -short.
func startLab(t testing.TB) []dirEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test against the lab; skipped with -short")
	}
	l := lab.ForTest(t, lab.Config{Name: "dirt", Subnet: 240, Workstations: 1, Printers: []string{"Desk"},
		OpenLDAP: true, ActiveDirectory: true})
	var envs []dirEnv
	for _, d := range l.Directories {
		envs = append(envs, envFromLab(l, d))
	}
	if len(envs) != 2 {
		t.Fatalf("lab directories: %+v, want two", l.Directories)
	}
	return envs
}

func TestDirectories(t *testing.T) {
	for _, env := range startLab(t) {
		t.Run(string(env.cfg.Kind), func(t *testing.T) { testDirectory(t, env) })
	}
}

// testDirectory runs every check against one server.
func testDirectory(t *testing.T, env dirEnv) {
	ctx := context.Background()
	c, err := Dial(ctx, env.cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Server() != env.cfg.URLs[0] {
		t.Errorf("Server() = %s, want %s", c.Server(), env.cfg.URLs[0])
	}
	ad := env.cfg.Kind == ActiveDirectory
	nextUID := func() int {
		t.Helper()
		if ad {
			return 0
		}
		n, err := c.NextUIDNumber(ctx, 10000)
		if err != nil {
			t.Fatalf("NextUIDNumber: %v", err)
		}
		return n
	}

	spec := UserSpec{
		Username: "jobrien", GivenName: "José", Surname: "O'Brien-Łukasiewicz", DisplayName: "O'Brien, José + Co",
		Email: "jose.obrien@corp.example.test", Title: "Engineer", Department: "Engineering", EmployeeID: "E1001",
		Manager: "ghopper", Extra: map[string]string{"telephoneNumber": "+1 555 0100"},
		UIDNumber: nextUID(), GIDNumber: 10000,
	}
	var dn string

	t.Run("NextUIDNumber", func(t *testing.T) {
		if ad {
			t.Skip("Active Directory accounts get no uidNumber from onboard")
		}
		if spec.UIDNumber <= 10002 {
			t.Errorf("NextUIDNumber = %d, want above the seeded 10002", spec.UIDNumber)
		}
		if n, _ := c.NextUIDNumber(ctx, 50000); n != 50000 {
			t.Errorf("NextUIDNumber(min 50000) = %d", n)
		}
	})

	t.Run("create with escaped DN, find by username and employee id", func(t *testing.T) {
		if u, err := c.FindUser(ctx, spec.Username); err != nil || u != nil {
			t.Fatalf("before create: FindUser = %+v, %v", u, err)
		}
		dn, err = c.CreateUser(ctx, spec)
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if dn != c.UserDN(spec) {
			t.Errorf("DN %s, UserDN says %s", dn, c.UserDN(spec))
		}
		rdnValue := spec.Username
		if ad {
			rdnValue = spec.DisplayName
			if !strings.Contains(dn, `O'Brien\, José \+ Co`) {
				t.Errorf("DN %s: the comma and the plus are not escaped", dn)
			}
		}
		parsed, err := ldap.ParseDN(dn)
		if err != nil || parsed.RDNs[0].Attributes[0].Value != rdnValue {
			t.Errorf("DN %s parses to %+v (%v), want first value %q", dn, parsed, err, rdnValue)
		}
		u, err := c.FindUser(ctx, spec.Username)
		if err != nil || u == nil {
			t.Fatalf("FindUser: %+v, %v", u, err)
		}
		if !sameDN(u.DN, dn) || u.Username != spec.Username || u.EmployeeID != "E1001" || u.DisplayName != spec.DisplayName {
			t.Errorf("FindUser = %+v", u)
		}
		if u.Manager != "ghopper" {
			t.Errorf("Manager = %q, want ghopper (from %q)", u.Manager, u.Attrs["manager"])
		}
		if got := u.Attrs["sn"]; len(got) != 1 || got[0] != "O'Brien-Łukasiewicz" {
			t.Errorf("sn = %q", got)
		}
		if ad && (u.Enabled || u.PasswordSet) {
			t.Errorf("a new AD account: enabled %v, password set %v; want both false", u.Enabled, u.PasswordSet)
		}
		if !ad && u.PasswordSet {
			t.Error("a new OpenLDAP account has a password")
		}
		if _, ok := u.Attrs["userpassword"]; ok {
			t.Error("Attrs holds userPassword")
		}
		byID, err := c.FindUserByEmployeeID(ctx, "E1001")
		if err != nil || byID == nil || !sameDN(byID.DN, dn) {
			t.Errorf("FindUserByEmployeeID = %+v, %v", byID, err)
		}
		if d := c.Diff(u, spec); len(d) != 0 {
			t.Errorf("Diff right after create: %q", d)
		}
		if _, err := c.CreateUser(ctx, spec); !errors.Is(err, ErrUserExists) {
			t.Errorf("second CreateUser: %v, want ErrUserExists", err)
		}
	})
	if dn == "" {
		t.FailNow()
	}

	t.Run("update", func(t *testing.T) {
		spec2 := spec
		spec2.Title = "Senior Engineer"
		u, _ := c.FindUser(ctx, spec.Username)
		want := []string{`title: "Engineer" → "Senior Engineer"`}
		if d := c.Diff(u, spec2); strings.Join(d, "\n") != strings.Join(want, "\n") {
			t.Errorf("Diff = %q, want %q", d, want)
		}
		changed, err := c.UpdateUser(ctx, dn, spec2)
		if err != nil || strings.Join(changed, "\n") != strings.Join(want, "\n") {
			t.Errorf("UpdateUser = %q, %v; want %q", changed, err, want)
		}
		u, _ = c.FindUser(ctx, spec.Username)
		if d := c.Diff(u, spec2); len(d) != 0 {
			t.Errorf("Diff after update: %q", d)
		}
		if changed, err := c.UpdateUser(ctx, dn, spec2); err != nil || len(changed) != 0 {
			t.Errorf("second UpdateUser = %q, %v; want no change", changed, err)
		}
		spec3 := spec2
		spec3.Manager = "mbenioff"
		if d := c.Diff(u, spec3); len(d) != 1 || d[0] != `manager: "ghopper" → "mbenioff"` {
			t.Errorf("Diff of a new manager = %q", d)
		}
		spec3.Manager = "nobody-here"
		if _, err := c.UpdateUser(ctx, dn, spec3); !errors.Is(err, ErrNoSuchUser) || !strings.Contains(err.Error(), "nobody-here") {
			t.Errorf("UpdateUser with an unknown manager: %v", err)
		}
		if _, err := c.UpdateUser(ctx, "uid=nobody,"+env.usersDN, spec2); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("UpdateUser of a missing DN: %v", err)
		}
		spec = spec2
	})

	t.Run("password, enable, bind", func(t *testing.T) {
		pol, err := c.PasswordPolicy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pw, err := GeneratePassword(pol, 0, spec.Username, spec.DisplayName)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetPassword(ctx, dn, pw, false); err != nil {
			t.Fatalf("SetPassword: %v", err)
		}
		if err := c.SetEnabled(ctx, dn, true); err != nil {
			t.Fatalf("SetEnabled: %v", err)
		}
		if err := c.SetEnabled(ctx, dn, true); err != nil {
			t.Fatalf("SetEnabled again: %v", err)
		}
		u, err := c.FindUser(ctx, spec.Username)
		if err != nil || !u.Enabled || !u.PasswordSet {
			t.Errorf("after SetPassword and SetEnabled: %+v, %v", u, err)
		}
		if ad {
			uac := u.Attrs["useraccountcontrol"]
			if len(uac) != 1 || uac[0] != "512" {
				t.Errorf("userAccountControl = %q, want 512", uac)
			}
		}
		if err := c.VerifyBind(ctx, dn, pw); err != nil {
			t.Errorf("VerifyBind: %v", err)
		}
		wrong := secret.New("Wrong-Passw0rd-" + pw.Reveal()[:4])
		err = c.VerifyBind(ctx, dn, wrong)
		if !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("VerifyBind with a wrong password: %v", err)
		}
		if err != nil && strings.Contains(err.Error(), wrong.Reveal()) {
			t.Errorf("the error shows the password: %v", err)
		}
	})

	t.Run("groups", func(t *testing.T) {
		g, err := c.FindGroup(ctx, "engineering")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := c.IsMember(ctx, g, dn); err != nil || ok {
			t.Fatalf("IsMember before = %v, %v", ok, err)
		}
		for i := range 2 {
			if err := c.AddMember(ctx, g, dn); err != nil {
				t.Fatalf("AddMember #%d: %v", i+1, err)
			}
		}
		if ok, err := c.IsMember(ctx, g, dn); err != nil || !ok {
			t.Errorf("IsMember after = %v, %v", ok, err)
		}
		// The server compares DNs, not strings.
		if ok, err := c.IsMember(ctx, g, strings.ToUpper(dn)); err != nil || !ok {
			t.Errorf("IsMember with an upper-case DN = %v, %v", ok, err)
		}
		_, err = c.FindGroup(ctx, "no-such-group")
		if !errors.Is(err, ErrNoSuchGroup) || !strings.Contains(err.Error(), `"no-such-group"`) {
			t.Errorf("FindGroup(no-such-group) = %v", err)
		}
		if err := c.AddMember(ctx, "cn=missing,"+env.usersDN, dn); !errors.Is(err, ErrNoSuchGroup) {
			t.Errorf("AddMember to a missing group: %v", err)
		}
		if err := c.AddMember(ctx, g, "CN=nobody,"+env.usersDN); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("AddMember of a missing account: %v", err)
		}
	})

	t.Run("a re-run writes nothing", func(t *testing.T) {
		g, err := c.FindGroup(ctx, "engineering")
		if err != nil {
			t.Fatal(err)
		}
		// usnChanged (AD) and entryCSN (OpenLDAP) change with every write.
		stamp := func(dn string) string {
			t.Helper()
			es, err := c.search(ctx, "read", opPlain, c.searchReq(dn, ldap.ScopeBaseObject, filterPresent("objectClass"), "usnChanged", "entryCSN"))
			if err != nil || len(es) != 1 {
				t.Fatalf("read %s: %v", dn, err)
			}
			return es[0].GetEqualFoldAttributeValue("usnChanged") + es[0].GetEqualFoldAttributeValue("entryCSN")
		}
		before, gBefore := stamp(dn), stamp(g)
		if before == "" {
			t.Fatal("no change stamp")
		}
		// The account step, as onboard runs it: check, then act only on a difference.
		u, err := c.FindUser(ctx, spec.Username)
		if err != nil || u == nil {
			t.Fatal(err)
		}
		if d := c.Diff(u, spec); len(d) != 0 {
			t.Errorf("Diff on a re-run: %q", d)
		}
		if !u.PasswordSet || !u.Enabled {
			t.Errorf("on a re-run: password set %v, enabled %v", u.PasswordSet, u.Enabled)
		}
		if ch, err := c.UpdateUser(ctx, u.DN, spec); err != nil || len(ch) != 0 {
			t.Errorf("UpdateUser on a re-run: %q, %v", ch, err)
		}
		if err := c.SetEnabled(ctx, u.DN, true); err != nil {
			t.Error(err)
		}
		if err := c.AddMember(ctx, g, u.DN); err != nil {
			t.Error(err)
		}
		if after := stamp(dn); after != before {
			t.Errorf("the account changed on a re-run: %s → %s", before, after)
		}
		if after := stamp(g); after != gBefore {
			t.Errorf("the group changed on a re-run: %s → %s", gBefore, after)
		}
	})

	t.Run("names are literal", func(t *testing.T) {
		names := []string{"*)(uid=*", `a\b`}
		if ad {
			for _, bad := range names {
				if _, err := c.CreateUser(ctx, UserSpec{Username: bad, Surname: "X"}); !errors.Is(err, ErrInvalidValue) {
					t.Errorf("CreateUser(%q) on AD: %v, want ErrInvalidValue", bad, err)
				}
			}
			names = []string{"o)(x&y", "p(q)"}
		}
		for i, name := range names {
			s := UserSpec{Username: name, GivenName: "Lit", Surname: fmt.Sprintf("Eral%d", i), UIDNumber: nextUID(), GIDNumber: 10000}
			ndn, err := c.CreateUser(ctx, s)
			if err != nil {
				t.Fatalf("CreateUser(%q): %v", name, err)
			}
			u, err := c.FindUser(ctx, name)
			if err != nil || u == nil || u.Username != name || !sameDN(u.DN, ndn) {
				t.Errorf("FindUser(%q) = %+v, %v", name, u, err)
			}
		}
		for _, pattern := range []string{"*", "a*", "*)(objectClass=*"} {
			if u, err := c.FindUser(ctx, pattern); err != nil || u != nil {
				t.Errorf("FindUser(%q) = %+v, %v; want nothing", pattern, u, err)
			}
		}
		for _, nul := range []string{"a\x00b", "ghopper\x00"} {
			if _, err := c.FindUser(ctx, nul); !errors.Is(err, ErrInvalidValue) {
				t.Errorf("FindUser(%q): %v, want ErrInvalidValue", nul, err)
			}
			var e *Error
			if _, err := c.CreateUser(ctx, UserSpec{Username: nul, Surname: "N", UIDNumber: 1, GIDNumber: 1}); !errors.Is(err, ErrInvalidValue) || errors.As(err, &e) {
				t.Errorf("CreateUser(%q): %v, want ErrInvalidValue before any request", nul, err)
			}
		}
	})

	t.Run("CN taken by another account", func(t *testing.T) {
		if !ad {
			t.Skip("OpenLDAP DNs are made of the username")
		}
		s := UserSpec{Username: "jobrien2", GivenName: "José", Surname: "O'Brien-Łukasiewicz", DisplayName: spec.DisplayName}
		ndn, err := c.CreateUser(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if want := `CN=O'Brien\, José \+ Co (jobrien2),` + env.usersDN; ndn != want {
			t.Errorf("DN %s, want %s", ndn, want)
		}
	})

	t.Run("enabling needs a password", func(t *testing.T) {
		ndn, err := c.CreateUser(ctx, UserSpec{Username: "nopw", GivenName: "No", Surname: "Password", UIDNumber: nextUID(), GIDNumber: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetEnabled(ctx, ndn, true); err == nil || !strings.Contains(err.Error(), "no password") {
			t.Errorf("SetEnabled of an account without a password: %v", err)
		}
		if u, _ := c.FindUser(ctx, "nopw"); u == nil || u.Enabled || u.PasswordSet {
			t.Errorf("after the refused SetEnabled: %+v", u)
		}
		if err := c.SetEnabled(ctx, ndn, false); ad && err != nil || !ad && !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("SetEnabled(false): %v", err)
		}
	})

	t.Run("must change password", func(t *testing.T) {
		can, err := c.CanRequirePasswordChange(ctx)
		if err != nil || can != ad {
			t.Errorf("CanRequirePasswordChange = %v, %v; want %v (the lab's slapd has no ppolicy)", can, err, ad)
		}
		pw, _ := GeneratePassword(PasswordPolicy{}, 0)
		err = c.SetPassword(ctx, dn, pw, true)
		if !ad {
			if !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("SetPassword(mustChange) without ppolicy: %v, want ErrUnsupported", err)
			}
			if err := c.RequirePasswordChange(ctx, dn); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("RequirePasswordChange without ppolicy: %v, want ErrUnsupported", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		u, _ := c.FindUser(ctx, spec.Username)
		if !u.PasswordSet || u.Attr("pwdLastSet")[0] != "0" {
			t.Errorf("after a must-change password: PasswordSet %v, pwdLastSet %q", u.PasswordSet, u.Attr("pwdLastSet"))
		}
		err = c.VerifyBind(ctx, dn, pw)
		if !errors.Is(err, ErrMustChangePassword) || errors.Is(err, ErrInvalidCredentials) ||
			!strings.Contains(err.Error(), "must change the password") || !strings.Contains(err.Error(), "data 773") {
			t.Errorf("VerifyBind with a must-change password: %v, want ErrMustChangePassword with the server's text", err)
		}
		t.Logf("VerifyBind with a must-change password: %v", err)
		// A wrong password on that account is still wrong.
		if err := c.VerifyBind(ctx, dn, secret.New("Wrong-Passw0rd-x9")); !errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrMustChangePassword) {
			t.Errorf("VerifyBind of a must-change account with a wrong password: %v", err)
		}
		if err := c.SetPassword(ctx, dn, pw, false); err != nil {
			t.Fatal(err)
		}
		if err := c.VerifyBind(ctx, dn, pw); err != nil {
			t.Errorf("VerifyBind: %v", err)
		}
		// The flag alone, without sending the password again.
		for range 2 {
			if err := c.RequirePasswordChange(ctx, dn); err != nil {
				t.Fatal(err)
			}
		}
		if u, _ := c.FindUser(ctx, spec.Username); u.Attr("pwdLastSet")[0] != "0" || !u.PasswordSet {
			t.Errorf("after RequirePasswordChange: pwdLastSet %q, password set %v", u.Attr("pwdLastSet"), u.PasswordSet)
		}
		if err := c.VerifyBind(ctx, dn, pw); !errors.Is(err, ErrMustChangePassword) {
			t.Errorf("VerifyBind of a must-change account: %v", err)
		}
		if err := c.SetPassword(ctx, dn, pw, false); err != nil {
			t.Fatal(err)
		}
	})

	fresh := func(t *testing.T) *Client {
		t.Helper()
		c2, err := Dial(ctx, env.cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c2.Close() })
		return c2
	}
	t.Run("lookups that cannot change during a run are made once", func(t *testing.T) {
		c2 := fresh(t)
		const group = "engineering"
		for _, lookup := range []struct {
			name string
			do   func() error
		}{
			{"password policy", func() error { _, err := c2.PasswordPolicy(ctx); return err }},
			{"group " + group, func() error { _, err := c2.FindGroup(ctx, group); return err }},
		} {
			before := c2.RoundTrips()
			for range 3 {
				if err := lookup.do(); err != nil {
					t.Fatalf("%s: %v", lookup.name, err)
				}
			}
			if n := c2.RoundTrips() - before; n != 1 {
				t.Errorf("%s three times: %d round trips, want 1", lookup.name, n)
			}
		}
		// A membership check is one round trip once the group is known.
		before := c2.RoundTrips()
		gdn, _ := c2.FindGroup(ctx, group)
		if _, err := c2.IsMember(ctx, gdn, dn); err != nil {
			t.Fatal(err)
		}
		if n := c2.RoundTrips() - before; n != 1 {
			t.Errorf("IsMember with a known group: %d round trips, want 1", n)
		}
	})

	t.Run("password policy", func(t *testing.T) {
		pol, err := c.PasswordPolicy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ad {
			if pol != DefaultOpenLDAPPolicy {
				t.Errorf("PasswordPolicy = %+v, want the default", pol)
			}
			return
		}
		if pol != (PasswordPolicy{MinLength: 7, Complexity: true}) {
			t.Errorf("PasswordPolicy = %+v, want 7 and complexity", pol)
		}
		refused := func(t *testing.T, pw secret.Value) {
			t.Helper()
			err := c.SetPassword(ctx, dn, pw, false)
			if !errors.Is(err, ErrPasswordPolicy) {
				t.Fatalf("SetPassword: %v, want ErrPasswordPolicy", err)
			}
			if strings.Contains(err.Error(), pw.Reveal()) {
				t.Errorf("the error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), "0000052D") || !strings.Contains(err.Error(), dn) {
				t.Errorf("the error lacks the server's diagnostic or the DN: %v", err)
			}
			t.Logf("policy refusal: %v", err)
		}
		t.Run("complexity", func(t *testing.T) {
			refused(t, secret.New("onlylowercaseletters"))
		})
		t.Run("samba-tool minimum 14", func(t *testing.T) {
			// samba-tool accepts 0 to 14 ("must be in the range of 0 to 14").
			if _, err := env.sambaTool(ctx, "domain", "passwordsettings", "set", "--min-pwd-length=14"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if _, err := env.sambaTool(context.Background(), "domain", "passwordsettings", "set", "--min-pwd-length=7"); err != nil {
					t.Errorf("restore the password policy: %v", err)
				}
			})
			// A Client reads the policy once; a new one (the next run) sees
			// the change.
			if pol, _ := fresh(t).PasswordPolicy(ctx); pol.MinLength != 14 {
				t.Errorf("PasswordPolicy after the change = %+v", pol)
			}
			refused(t, secret.New("Sh0rt-Pass#1"))
		})
		t.Run("minimum 30 over LDAP", func(t *testing.T) {
			// Above samba-tool's limit: write the domain's minPwdLength.
			setMin := func(n string) error {
				req := ldap.NewModifyRequest(env.cfg.BaseDN, nil)
				req.Replace("minPwdLength", []string{n})
				return c.modify(context.Background(), "set minPwdLength of", opPlain, req, "")
			}
			if err := setMin("30"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := setMin("7"); err != nil {
					t.Errorf("restore the password policy: %v", err)
				}
			})
			pol, _ := fresh(t).PasswordPolicy(ctx)
			if pol.MinLength != 30 {
				t.Errorf("PasswordPolicy after the change = %+v", pol)
			}
			pw, _ := GeneratePassword(PasswordPolicy{}, 16)
			refused(t, pw)
			ok, _ := GeneratePassword(pol, 0, spec.Username, spec.DisplayName)
			if err := c.SetPassword(ctx, dn, ok, false); err != nil {
				t.Errorf("SetPassword of a generated password under the policy: %v", err)
			}
		})
	})

	t.Run("computers", func(t *testing.T) {
		if !ad {
			if _, err := c.FindComputer(ctx, "WS1"); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("FindComputer on OpenLDAP: %v", err)
			}
			return
		}
		if cm, err := c.FindComputer(ctx, "WS-TEST1"); err != nil || cm != nil {
			t.Fatalf("FindComputer before = %+v, %v", cm, err)
		}
		const marker = "pre-staged by onboard for E1042"
		cdn, err := c.PrestageComputer(ctx, "WS-TEST1", "", marker)
		if err != nil {
			t.Fatal(err)
		}
		if want := "CN=WS-TEST1," + env.computersDN; cdn != want {
			t.Errorf("DN %s, want %s", cdn, want)
		}
		cm, err := c.FindComputer(ctx, "ws-test1")
		if err != nil || cm == nil || !sameDN(cm.DN, cdn) || cm.Name != "WS-TEST1" || !cm.Enabled ||
			cm.DNSHostName != "ws-test1.corp.example.test" || cm.Description != marker {
			t.Errorf("FindComputer = %+v, %v", cm, err)
		}
		// An existing account is never taken over, wherever it is.
		again, err := c.PrestageComputer(ctx, "ws-test1", "", "pre-staged by onboard for E2000")
		var e *Error
		if !errors.Is(err, ErrComputerExists) || again != "" || !errors.As(err, &e) || !sameDN(e.DN, cdn) {
			t.Errorf("PrestageComputer of an existing account = %q, %v; want ErrComputerExists naming %s", again, err, cdn)
		}
		if _, err := c.PrestageComputer(ctx, "WS-TEST1", env.usersDN, ""); !errors.Is(err, ErrComputerExists) {
			t.Errorf("PrestageComputer of an existing account in another OU: %v", err)
		}
		if cm, _ := c.FindComputer(ctx, "WS-TEST1"); cm == nil || cm.Description != marker {
			t.Errorf("the existing account changed: %+v", cm)
		}
		// Without a description, none is set.
		if _, err := c.PrestageComputer(ctx, "WS-TEST2", "", ""); err != nil {
			t.Fatal(err)
		}
		if cm, err := c.FindComputer(ctx, "WS-TEST2"); err != nil || cm == nil || cm.Description != "" {
			t.Errorf("FindComputer(WS-TEST2) = %+v, %v", cm, err)
		}
		if _, err := c.PrestageComputer(ctx, "WS-TEST3", "", "bad\nmarker"); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("a description with a newline: %v", err)
		}
		// A computer is no user.
		if u, err := c.FindUser(ctx, "WS-TEST1$"); err != nil || u != nil {
			t.Errorf("FindUser(WS-TEST1$) = %+v, %v", u, err)
		}
	})

	t.Run("VerifyBind under short deadlines", func(t *testing.T) {
		vdn, err := c.CreateUser(ctx, UserSpec{Username: "vbind", GivenName: "Verify", Surname: "Bind", UIDNumber: nextUID(), GIDNumber: 10000})
		if err != nil {
			t.Fatal(err)
		}
		pw, err := GeneratePassword(PasswordPolicy{}, 0, "vbind", "Verify", "Bind")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetPassword(ctx, vdn, pw, false); err != nil {
			t.Fatal(err)
		}
		if err := c.SetEnabled(ctx, vdn, true); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 10 {
					if (g+i)%2 == 0 {
						// Ends before, during or after the bind.
						sctx, cancel := context.WithTimeout(ctx, time.Duration(1+(g*3+i)%8)*time.Millisecond)
						_ = c.VerifyBind(sctx, vdn, pw)
						cancel()
						continue
					}
					if err := c.VerifyBind(ctx, vdn, pw); err != nil {
						t.Errorf("VerifyBind #%d-%d without a deadline: %v", g, i, err)
					}
				}
			})
		}
		wg.Wait()
		if err := c.VerifyBind(ctx, vdn, pw); err != nil {
			t.Errorf("VerifyBind afterwards: %v", err)
		}
	})

	t.Run("password set at add; PASSWD_NOTREQD", func(t *testing.T) {
		if !ad {
			t.Skip("userAccountControl is Active Directory's")
		}
		pw, _ := GeneratePassword(PasswordPolicy{}, 0, "presetpw")
		// Another tool's way: the password and "must change" in the add.
		pdn := "CN=Preset Password," + env.usersDN
		add := ldap.NewAddRequest(pdn, nil)
		add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		add.Attribute("sAMAccountName", []string{"presetpw"})
		add.Attribute("unicodePwd", []string{string(unicodePwd(pw.Reveal()))})
		add.Attribute("pwdLastSet", []string{"0"})
		add.Attribute("userAccountControl", []string{"512"})
		if err := c.do(ctx, func(l *ldap.Conn) error { return l.Add(add) }); err != nil {
			t.Fatal(err)
		}
		u, err := c.FindUser(ctx, "presetpw")
		if err != nil || u == nil || !u.PasswordSet || !u.Enabled {
			t.Errorf("an account added enabled with a password and pwdLastSet 0: %+v, %v; want password set", u, err)
		}
		es, _ := c.search(ctx, "read", opPlain, c.searchReq(pdn, ldap.ScopeBaseObject, filterPresent("objectClass"), "replPropertyMetaData"))
		if len(es) == 1 {
			v, _ := attrMetaVersion(es[0].GetEqualFoldRawAttributeValue("replPropertyMetaData"), attidUnicodePwd)
			t.Logf("unicodePwd metadata version after the add: %d", v)
		}
		if err := c.VerifyBind(ctx, pdn, pw); !errors.Is(err, ErrMustChangePassword) {
			t.Errorf("VerifyBind: %v, want ErrMustChangePassword", err)
		}

		// Enabling clears PASSWD_NOTREQD along with ACCOUNTDISABLE.
		ndn, err := c.CreateUser(ctx, UserSpec{Username: "notreqd", GivenName: "Not", Surname: "Required"})
		if err != nil {
			t.Fatal(err)
		}
		setUAC := func(v string) {
			t.Helper()
			req := ldap.NewModifyRequest(ndn, nil)
			req.Replace("userAccountControl", []string{v})
			if err := c.modify(ctx, "set userAccountControl of", opPlain, req, ""); err != nil {
				t.Fatal(err)
			}
		}
		uac := func() string {
			t.Helper()
			u, err := c.FindUser(ctx, "notreqd")
			if err != nil || u == nil {
				t.Fatalf("FindUser(notreqd) = %+v, %v", u, err)
			}
			return u.Attr("userAccountControl")[0]
		}
		setUAC("546") // 0x222: normal, disabled, no password required
		if u, _ := c.FindUser(ctx, "notreqd"); u.PasswordSet || u.Enabled {
			t.Errorf("a disabled account with no password: %+v", u)
		}
		pw2, _ := GeneratePassword(PasswordPolicy{}, 0, "notreqd")
		if err := c.SetPassword(ctx, ndn, pw2, false); err != nil {
			t.Fatal(err)
		}
		if err := c.SetEnabled(ctx, ndn, true); err != nil {
			t.Fatal(err)
		}
		if got := uac(); got != "512" {
			t.Errorf("userAccountControl after SetEnabled = %s, want 512", got)
		}
		setUAC("544") // 0x220: enabled, no password required
		if err := c.SetEnabled(ctx, ndn, true); err != nil {
			t.Fatal(err)
		}
		if got := uac(); got != "512" {
			t.Errorf("userAccountControl after SetEnabled of an enabled PASSWD_NOTREQD account = %s, want 512", got)
		}
		if err := c.SetEnabled(ctx, ndn, false); err != nil || uac() != "514" {
			t.Errorf("SetEnabled(false): %v, userAccountControl %s", err, uac())
		}
	})

	t.Run("DN-valued attributes compare as DNs", func(t *testing.T) {
		gh, err := c.FindUser(ctx, "ghopper")
		if err != nil || gh == nil {
			t.Fatalf("FindUser(ghopper) = %+v, %v", gh, err)
		}
		want := strings.ToLower(gh.DN) // as a playbook author writes it
		s := spec
		s.Extra = map[string]string{"telephoneNumber": "+1 555 0100", "seeAlso": want}
		changed, err := c.UpdateUser(ctx, dn, s)
		if err != nil || len(changed) != 1 || !strings.HasPrefix(changed[0], "seeAlso:") {
			t.Fatalf("UpdateUser with seeAlso = %q, %v", changed, err)
		}
		u, err := c.FindUser(ctx, spec.Username)
		if err != nil || u == nil {
			t.Fatal(err)
		}
		t.Logf("seeAlso written %q, read back %q", want, u.Attr("seeAlso"))
		if d := c.Diff(u, s); len(d) != 0 {
			t.Errorf("Diff after writing seeAlso: %q", d)
		}
		if changed, err := c.UpdateUser(ctx, dn, s); err != nil || len(changed) != 0 {
			t.Errorf("second UpdateUser with seeAlso = %q, %v; want no change", changed, err)
		}
		mb, err := c.FindUser(ctx, "mbenioff")
		if err != nil || mb == nil {
			t.Fatal(err)
		}
		s.Extra["seeAlso"] = strings.ToLower(mb.DN)
		if d := c.Diff(u, s); len(d) != 1 {
			t.Errorf("Diff to another DN: %q", d)
		}
	})

	t.Run("uidNumber across runs", func(t *testing.T) {
		if ad {
			if n, err := c.UIDNumberCount(ctx, 987654); err != nil || n != 0 {
				t.Errorf("UIDNumberCount on AD = %d, %v", n, err)
			}
			return
		}
		u, err := c.FindUser(ctx, spec.Username)
		if err != nil || u == nil {
			t.Fatal(err)
		}
		if n, err := c.UIDNumberCount(ctx, spec.UIDNumber); err != nil || n != 1 {
			t.Errorf("UIDNumberCount(%d) = %d, %v; want 1", spec.UIDNumber, n, err)
		}
		n0 := nextUID()
		// Another run (another Client) takes the next numbers meanwhile.
		other, err := Dial(ctx, env.cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		for i, uid := range []int{n0 + 1, n0 + 2, n0 + 2} {
			s := UserSpec{Username: fmt.Sprintf("other%d", i), GivenName: "Other", Surname: "Run", UIDNumber: uid, GIDNumber: 10000}
			if _, err := other.CreateUser(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if n := nextUID(); n != n0+3 {
			t.Errorf("NextUIDNumber after another run took %d and %d = %d, want %d", n0+1, n0+2, n, n0+3)
		}
		if n, err := c.UIDNumberCount(ctx, n0+2); err != nil || n != 2 {
			t.Errorf("UIDNumberCount of a number taken twice = %d, %v; want 2", n, err)
		}
		if n, err := c.UIDNumberCount(ctx, n0); err != nil || n != 0 {
			t.Errorf("UIDNumberCount of a free number = %d, %v; want 0", n, err)
		}
	})

	t.Run("userPrincipalName is set at create only", func(t *testing.T) {
		if !ad {
			t.Skip("Active Directory attribute")
		}
		if d := strings.Join(c.Diff(nil, spec), "\n"); !strings.Contains(d, `userPrincipalName: (none) → "jobrien@corp.example.test"`) {
			t.Errorf("Diff of a new account lacks the UPN: %s", d)
		}
		req := ldap.NewModifyRequest(dn, nil)
		req.Replace("userPrincipalName", []string{"jose.obrien@corp.example.test"})
		if err := c.modify(ctx, "set userPrincipalName of", opPlain, req, ""); err != nil {
			t.Fatal(err)
		}
		u, err := c.FindUser(ctx, spec.Username)
		if err != nil || u == nil {
			t.Fatal(err)
		}
		if d := c.Diff(u, spec); len(d) != 0 {
			t.Errorf("Diff of an account with another UPN: %q", d)
		}
		if changed, err := c.UpdateUser(ctx, dn, spec); err != nil || len(changed) != 0 {
			t.Errorf("UpdateUser = %q, %v; want no change", changed, err)
		}
		if u, _ := c.FindUser(ctx, spec.Username); u.Attr("userPrincipalName")[0] != "jose.obrien@corp.example.test" {
			t.Errorf("UPN rewritten: %q", u.Attr("userPrincipalName"))
		}
	})

	t.Run("StartTLS", func(t *testing.T) {
		cfg := env.cfg
		cfg.URLs = []string{env.startTLSURL}
		c2, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		if u, err := c2.FindUser(ctx, spec.Username); err != nil || u == nil {
			t.Errorf("FindUser over StartTLS: %+v, %v", u, err)
		}
	})

	t.Run("wrong bind password", func(t *testing.T) {
		cfg := env.cfg
		cfg.BindPassword = secret.New("Not-The-Admin-Passw0rd")
		cfg.URLs = []string{env.cfg.URLs[0], env.startTLSURL}
		_, err := Dial(ctx, cfg)
		if !errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrUnreachable) {
			t.Errorf("Dial with a wrong password: %v, want ErrInvalidCredentials", err)
		}
		if err != nil && (strings.Contains(err.Error(), "Not-The-Admin") || strings.Contains(err.Error(), env.startTLSURL)) {
			t.Errorf("the error shows the password or went on to the next URL: %v", err)
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		cfg := env.cfg
		cfg.CACertFile = "" // the system's pool does not know the lab's CA
		for _, u := range []string{env.cfg.URLs[0], env.startTLSURL} {
			cfg.URLs = []string{u}
			_, err := Dial(ctx, cfg)
			if err == nil || errors.Is(err, ErrUnreachable) || !isCertError(err) {
				t.Errorf("Dial %s with the system's CAs: %v, want a certificate error", u, err)
			}
		}
	})

	t.Run("first answering URL is pinned", func(t *testing.T) {
		cfg := env.cfg
		cfg.Timeout = 2 * time.Second
		cfg.URLs = []string{"ldaps://127.0.0.1:1", env.cfg.URLs[0]}
		c2, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		if c2.Server() != env.cfg.URLs[0] {
			t.Errorf("Server() = %s", c2.Server())
		}
	})

	t.Run("a cancelled request leaves a working client", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.FindUser(cctx, spec.Username); !errors.Is(err, context.Canceled) {
			t.Errorf("FindUser with a cancelled context: %v", err)
		}
		tctx, cancel := context.WithTimeout(ctx, time.Microsecond)
		defer cancel()
		time.Sleep(time.Millisecond)
		_, _ = c.FindUser(tctx, spec.Username)
		if u, err := c.FindUser(ctx, spec.Username); err != nil || u == nil {
			t.Errorf("FindUser afterwards: %+v, %v", u, err)
		}
	})

	t.Run("server down and back", func(t *testing.T) {
		if err := env.stop(ctx); err != nil {
			t.Fatal(err)
		}
		cfg := env.cfg
		cfg.Timeout = 2 * time.Second
		_, err := Dial(ctx, cfg)
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), cfg.URLs[0]) {
			t.Errorf("Dial to a stopped server: %v, want ErrUnreachable naming the URL", err)
		}
		if _, err := c.FindUser(ctx, spec.Username); !errors.Is(err, ErrUnreachable) {
			t.Errorf("FindUser on a stopped server: %v, want ErrUnreachable", err)
		}
		if err := env.start(ctx); err != nil {
			t.Fatal(err)
		}
		c2, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatalf("Dial after restart: %v", err)
		}
		c2.Close()
		// The old client reconnects to its pinned server.
		if u, err := c.FindUser(ctx, spec.Username); err != nil || u == nil {
			t.Errorf("FindUser after restart: %+v, %v", u, err)
		}
	})
}

func sameDN(a, b string) bool {
	x, err1 := ldap.ParseDN(a)
	y, err2 := ldap.ParseDN(b)
	return err1 == nil && err2 == nil && x.EqualFold(y)
}
