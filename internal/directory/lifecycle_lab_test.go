package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/lab"
)

// leaverLab starts a lab whose slapd has the ppolicy overlay, with the
// Samba DC, or skips under -short.
func leaverLab(t *testing.T, cfg lab.Config) []dirEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test against the lab; skipped with -short")
	}
	l := lab.ForTest(t, cfg)
	var envs []dirEnv
	for _, d := range l.Directories {
		envs = append(envs, envFromLab(l, d))
	}
	return envs
}

// adminModify changes an entry over a connection of its own, bound as the
// directory's administrator: what a person would do by hand.
func adminModify(t *testing.T, env dirEnv, req *ldap.ModifyRequest) {
	t.Helper()
	pem, err := os.ReadFile(env.cfg.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	l, err := ldap.DialURL(env.cfg.URLs[0], ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Bind(env.cfg.BindDN, env.cfg.BindPassword.Reveal()); err != nil {
		t.Fatal(err)
	}
	if err := l.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", req.DN, err)
	}
}

// Every leaver operation, against slapd with ppolicy and the Samba DC: the
// account is taken out of a group, disabled (a bind fails), enabled (it
// works again), its password scrambled (the old one fails; the directory
// dates the change), moved to the leavers OU, given an expiry, deleted;
// a computer is disabled. Each act a second time changes nothing.
func TestLeaverOps(t *testing.T) {
	envs := leaverLab(t, lab.Config{Name: "leavd", Subnet: 211, Workstations: 1, Printers: []string{"Desk"},
		OpenLDAP: true, PPolicy: true, ActiveDirectory: true})
	if len(envs) != 2 {
		t.Fatalf("lab directories: %d, want two", len(envs))
	}
	for _, env := range envs {
		t.Run(string(env.cfg.Kind), func(t *testing.T) { testLeaverOps(t, env) })
	}
}

func testLeaverOps(t *testing.T, env dirEnv) {
	ctx := context.Background()
	c, err := Dial(ctx, env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ad := env.cfg.Kind == ActiveDirectory
	leavers := "OU=Leavers," + env.cfg.BaseDN

	// A hire as onboard leaves one: enabled, with a known password, in a group.
	uid := 0
	if !ad {
		if uid, err = c.NextUIDNumber(ctx, 20000); err != nil {
			t.Fatal(err)
		}
	}
	dn, err := c.CreateUser(ctx, UserSpec{Username: "lleaver", GivenName: "Lee", Surname: "O'Leaver, Jr", EmployeeID: "L1",
		UIDNumber: uid, GIDNumber: 10000})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := GeneratePassword(PasswordPolicy{}, 20)
	if err := c.SetPassword(ctx, dn, pw, false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetEnabled(ctx, dn, true); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyBind(ctx, dn, pw); err != nil {
		t.Fatalf("bind before anything: %v", err)
	}
	group, err := c.FindGroup(ctx, "sales")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddMember(ctx, group, dn); err != nil {
		t.Fatal(err)
	}

	t.Run("remove member", func(t *testing.T) {
		if !memberOfLists(t, c, dn, "sales") {
			t.Fatal("before: memberOf does not list sales")
		}
		if err := c.RemoveMember(ctx, group, dn); err != nil {
			t.Fatal(err)
		}
		if ok, err := c.IsMember(ctx, group, dn); err != nil || ok {
			t.Errorf("IsMember after RemoveMember = %v, %v", ok, err)
		}
		if memberOfLists(t, c, dn, "sales") {
			t.Error("memberOf still lists sales")
		}
		before := c.RoundTrips()
		if err := c.RemoveMember(ctx, group, dn); err != nil {
			t.Errorf("RemoveMember again: %v", err)
		}
		if n := c.RoundTrips() - before; n != 1 {
			t.Errorf("RemoveMember of a non-member sent %d requests, want 1 (the check only)", n)
		}
		// The group's other members stay.
		if groups, err := c.GroupsOf(ctx, env.cfg.BindDN); !ad && (err != nil || !contains(groups, "sales")) {
			t.Errorf("the placeholder member left sales too: %v, %v", groups, err)
		}
		if err := c.RemoveMember(ctx, "cn=nosuch,"+env.cfg.GroupsBase, dn); !errors.Is(err, ErrNoSuchGroup) || !strings.Contains(err.Error(), "cn=nosuch") {
			t.Errorf("RemoveMember from a missing group: %v", err)
		}
	})

	t.Run("disable and enable", func(t *testing.T) {
		var uacBefore int64
		if ad {
			// A flag someone else set must survive both.
			adminModify(t, env, modReplace(dn, "userAccountControl", strconv.Itoa(0x200|0x10000)))
			uacBefore, _ = c.readUAC(ctx, "read", dn, opUser)
		}
		if d, err := c.UserDisabled(ctx, dn); err != nil || d {
			t.Fatalf("UserDisabled before = %v, %v", d, err)
		}
		if err := c.DisableUser(ctx, dn); err != nil {
			t.Fatal(err)
		}
		if d, err := c.UserDisabled(ctx, dn); err != nil || !d {
			t.Errorf("UserDisabled after DisableUser = %v, %v", d, err)
		}
		err := c.VerifyBind(ctx, dn, pw)
		if !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("bind as a disabled account: %v, want ErrInvalidCredentials", err)
		}
		if ad {
			if uac, _ := c.readUAC(ctx, "read", dn, opUser); uac != uacBefore|0x2 {
				t.Errorf("userAccountControl %#x after disable, want %#x", uac, uacBefore|0x2)
			}
			if err == nil || !strings.Contains(err.Error(), "account disabled") {
				t.Errorf("the refused bind does not say why: %v", err)
			}
		}
		before := c.RoundTrips()
		if err := c.DisableUser(ctx, dn); err != nil {
			t.Errorf("DisableUser again: %v", err)
		}
		if ad && c.RoundTrips()-before != 1 {
			t.Errorf("DisableUser of a disabled account sent %d requests, want 1 (the read)", c.RoundTrips()-before)
		}
		if u, err := c.FindUser(ctx, "lleaver"); err != nil || u.Enabled {
			t.Errorf("FindUser of the disabled account: Enabled %v, %v", u != nil && u.Enabled, err)
		}
		if err := c.EnableUser(ctx, dn); err != nil {
			t.Fatal(err)
		}
		if d, err := c.UserDisabled(ctx, dn); err != nil || d {
			t.Errorf("UserDisabled after EnableUser = %v, %v", d, err)
		}
		if u, err := c.FindUser(ctx, "lleaver"); err != nil || !u.Enabled {
			t.Errorf("FindUser of the enabled account: Enabled %v, %v", u != nil && u.Enabled, err)
		}
		// SetEnabled is the same pair of acts.
		if err := c.SetEnabled(ctx, dn, false); err != nil {
			t.Fatalf("SetEnabled(false): %v", err)
		}
		if d, _ := c.UserDisabled(ctx, dn); !d {
			t.Error("SetEnabled(false) left the account enabled")
		}
		if err := c.SetEnabled(ctx, dn, true); err != nil {
			t.Fatalf("SetEnabled(true): %v", err)
		}
		if err := c.VerifyBind(ctx, dn, pw); err != nil {
			t.Errorf("bind after EnableUser: %v", err)
		}
		if ad {
			if uac, _ := c.readUAC(ctx, "read", dn, opUser); uac != uacBefore {
				t.Errorf("userAccountControl %#x after enable, want %#x as before", uac, uacBefore)
			}
		}
		if err := c.EnableUser(ctx, dn); err != nil {
			t.Errorf("EnableUser again: %v", err)
		}
		if err := c.DisableUser(ctx, "uid=nosuch,"+env.usersDN); !errors.Is(err, ErrNoSuchUser) || !strings.Contains(err.Error(), "uid=nosuch") {
			t.Errorf("DisableUser of a missing account: %v", err)
		}
	})

	t.Run("scramble password", func(t *testing.T) {
		start := time.Now().Add(-time.Second).Truncate(time.Second) // the servers' clocks have seconds
		scrambled, err := c.ScramblePassword(ctx, dn)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.VerifyBind(ctx, dn, scrambled); err != nil && !errors.Is(err, ErrMustChangePassword) {
			t.Errorf("bind with the scrambled password of an enabled account: %v", err)
		}
		at, err := c.PasswordChangedAt(ctx, dn)
		if err != nil || at.Before(start) || at.After(time.Now().Add(5*time.Second)) {
			t.Errorf("PasswordChangedAt = %s, %v; want after %s", at, err, start)
		}
		// Samba, like Windows for NTLM, accepts the previous password for
		// "old password allowed period" (60 minutes by default) after a
		// change: disabling the account is what shuts a leaver out at once.
		if err := c.VerifyBind(ctx, dn, pw); !ad && !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("bind with the old password after the scramble: %v", err)
		}
		// A disabled account stays disabled through a scramble (OpenLDAP's
		// ppolicy lifts its lock on a new password).
		if err := c.DisableUser(ctx, dn); err != nil {
			t.Fatal(err)
		}
		scrambled, err = c.ScramblePassword(ctx, dn)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := c.UserDisabled(ctx, dn); err != nil || !d {
			t.Errorf("UserDisabled after a scramble of a disabled account = %v, %v", d, err)
		}
		// The account's real password is refused: the proof an offboarding
		// keeps of a disable.
		if err := c.VerifyBind(ctx, dn, scrambled); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("bind with the real password of a disabled account: %v, want invalid credentials", err)
		}
		if err := c.EnableUser(ctx, dn); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ScramblePassword(ctx, "uid=nosuch,"+env.usersDN); err == nil || !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("ScramblePassword of a missing account: %v", err)
		}
	})

	t.Run("move to the leavers OU", func(t *testing.T) {
		ndn, err := c.MoveUser(ctx, dn, leavers)
		if err != nil {
			t.Fatal(err)
		}
		first, parent, _ := parentDN(ndn)
		want, _ := ldap.ParseDN(leavers)
		if !parent.EqualFold(want) || !strings.HasPrefix(dn, first+",") {
			t.Errorf("moved to %s, want the same RDN under %s", ndn, leavers)
		}
		u, err := c.FindUser(ctx, "lleaver")
		if err != nil || u == nil || !sameDN(u.DN, ndn) {
			t.Fatalf("FindUser after the move: %+v, %v; want %s", u, err, ndn)
		}
		before := c.RoundTrips()
		if again, err := c.MoveUser(ctx, u.DN, leavers); err != nil || again != u.DN || c.RoundTrips() != before {
			t.Errorf("MoveUser again = %s, %v, %d requests; want %s without a request", again, err, c.RoundTrips()-before, u.DN)
		}
		if _, err := c.MoveUser(ctx, u.DN, "OU=Nowhere,"+env.cfg.BaseDN); err == nil || !strings.Contains(err.Error(), u.DN) {
			t.Errorf("MoveUser to a missing OU: %v", err)
		}
		dn = u.DN
	})

	t.Run("expiry", func(t *testing.T) {
		if at, err := c.Expiry(ctx, dn); err != nil || !at.IsZero() {
			t.Errorf("Expiry before = %s, %v; want never", at, err)
		}
		when := time.Date(2031, 6, 30, 17, 30, 0, 0, time.UTC)
		if err := c.SetExpiry(ctx, dn, when); err != nil {
			t.Fatal(err)
		}
		want := when
		if !ad {
			want = time.Date(2031, 7, 1, 0, 0, 0, 0, time.UTC) // the next midnight, in shadow days
		}
		if at, err := c.Expiry(ctx, dn); err != nil || !at.Equal(want) {
			t.Errorf("Expiry = %s, %v; want %s", at, err, want)
		}
		before := c.RoundTrips()
		if err := c.SetExpiry(ctx, dn, when); err != nil || c.RoundTrips()-before != 1 {
			t.Errorf("SetExpiry again: %v, %d requests (want the read only)", err, c.RoundTrips()-before)
		}
		later := when.AddDate(0, 0, 3)
		if err := c.SetExpiry(ctx, dn, later); err != nil {
			t.Fatal(err)
		}
		if at, _ := c.Expiry(ctx, dn); !at.Equal(want.AddDate(0, 0, 3)) {
			t.Errorf("Expiry after a change = %s", at)
		}
		if err := c.ClearExpiry(ctx, dn); err != nil {
			t.Fatal(err)
		}
		if at, err := c.Expiry(ctx, dn); err != nil || !at.IsZero() {
			t.Errorf("Expiry after ClearExpiry = %s, %v; want never", at, err)
		}
		before = c.RoundTrips()
		if err := c.ClearExpiry(ctx, dn); err != nil || c.RoundTrips()-before != 1 {
			t.Errorf("ClearExpiry again: %v, %d requests (want the read only)", err, c.RoundTrips()-before)
		}
		if err := c.SetExpiry(ctx, dn, later); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("computer", func(t *testing.T) {
		if !ad {
			if err := c.DisableComputer(ctx, "cn=ws1,"+env.cfg.BaseDN); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("DisableComputer on OpenLDAP: %v", err)
			}
			return
		}
		cdn, err := c.PrestageComputer(ctx, "LEAVPC1", "", "a leaver's laptop")
		if err != nil {
			t.Fatal(err)
		}
		if d, err := c.ComputerDisabled(ctx, cdn); err != nil || d {
			t.Fatalf("ComputerDisabled before = %v, %v", d, err)
		}
		if err := c.DisableComputer(ctx, cdn); err != nil {
			t.Fatal(err)
		}
		if d, err := c.ComputerDisabled(ctx, cdn); err != nil || !d {
			t.Errorf("ComputerDisabled after = %v, %v", d, err)
		}
		if pc, _ := c.FindComputer(ctx, "LEAVPC1"); pc == nil || pc.Enabled {
			t.Errorf("FindComputer after the disable: %+v", pc)
		}
		if uac, _ := c.readUAC(ctx, "read", cdn, opPlain); uac != 0x1002 {
			t.Errorf("computer userAccountControl %#x, want 0x1002", uac)
		}
		if err := c.DisableComputer(ctx, cdn); err != nil {
			t.Errorf("DisableComputer again: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := c.DeleteUser(ctx, dn); err != nil {
			t.Fatal(err)
		}
		if u, err := c.FindUser(ctx, "lleaver"); err != nil || u != nil {
			t.Errorf("FindUser after DeleteUser = %+v, %v", u, err)
		}
		if err := c.DeleteUser(ctx, dn); err != nil {
			t.Errorf("DeleteUser again: %v", err)
		}
	})
}

// OpenLDAP without the ppolicy overlay cannot disable an account nor date
// a password change, and says what it needs; expiry works through
// shadowAccount all the same.
func TestLeaverOpsWithoutPPolicy(t *testing.T) {
	envs := leaverLab(t, lab.Config{Name: "leavn", Subnet: 212, Workstations: 1, Printers: []string{"Desk"}, OpenLDAP: true})
	env := envs[0]
	ctx := context.Background()
	c, err := Dial(ctx, env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dn, err := c.CreateUser(ctx, UserSpec{Username: "nopol", GivenName: "No", Surname: "Policy", UIDNumber: 20001, GIDNumber: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"DisableUser": c.DisableUser(ctx, dn),
		"EnableUser":  c.EnableUser(ctx, dn),
	} {
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "ppolicy") || !strings.Contains(err.Error(), dn) {
			t.Errorf("%s without ppolicy: %v; want ErrUnsupported naming ppolicy and the DN", name, err)
		}
	}
	if _, err := c.PasswordChangedAt(ctx, dn); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "pwdChangedTime") {
		t.Errorf("PasswordChangedAt without ppolicy: %v", err)
	}
	if d, err := c.UserDisabled(ctx, dn); err != nil || d {
		t.Errorf("UserDisabled without ppolicy = %v, %v", d, err)
	}
	when := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	if err := c.SetExpiry(ctx, dn, when); err != nil {
		t.Fatal(err)
	}
	if at, err := c.Expiry(ctx, dn); err != nil || !at.Equal(when) {
		t.Errorf("Expiry = %s, %v", at, err)
	}
}

func modReplace(dn, attr, value string) *ldap.ModifyRequest {
	r := ldap.NewModifyRequest(dn, nil)
	r.Replace(attr, []string{value})
	return r
}

// memberOfLists says whether the account's memberOf names group (by its cn).
func memberOfLists(t *testing.T, c *Client, dn, group string) bool {
	t.Helper()
	e, err := c.readEntry(context.Background(), "read memberOf of", dn, opUser, "memberOf")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range e.GetEqualFoldAttributeValues("memberOf") {
		d, err := ldap.ParseDN(v)
		if err == nil && len(d.RDNs) > 0 && strings.EqualFold(d.RDNs[0].Attributes[0].Value, group) {
			return true
		}
	}
	return false
}

func contains(vs []string, want string) bool {
	for _, v := range vs {
		if v == want {
			return true
		}
	}
	return false
}
