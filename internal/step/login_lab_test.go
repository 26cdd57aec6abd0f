package step_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/connect"
	"onboard/internal/deliver"
	"onboard/internal/directory"
	"onboard/internal/inventory"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// The hire can sign in, for real, against the lab's Samba DC: the hire's
// account made and activated by the steps, the workstation joined by the
// join step with domain logins (SSSD), then the login check passes with
// its evidence, fails once the password in the directory is no longer the
// initial one, cannot tell in a run that did not set it, and fails on the
// machine once the account is disabled.
func TestSignInOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab with Active Directory")
	}
	l := lab.ForTest(t, lab.Config{Name: "sgn", Subnet: 226, Workstations: 2, ActiveDirectory: true})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	ad, _ := l.Directory(lab.ADName)
	client, err := directory.Dial(ctx, directory.Config{
		Name: ad.Name, Kind: directory.Kind(ad.Kind), URLs: []string{ad.URL}, BaseDN: ad.BaseDN, UsersOU: ad.UsersDN,
		GroupsBase: ad.GroupsDN, ComputersOU: ad.ComputersDN, Domain: ad.Domain, BindDN: ad.BindDN,
		BindPassword: secret.New(ad.BindPassword), CACertFile: ad.CACertFile, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	dir := &step.DirTarget{Dir: &plan.Directory{Name: ad.Name, Kind: ad.Kind, Domain: ad.Domain, JoinUser: "Administrator"},
		Client: client, Deliver: &deliver.Channel{}, JoinPassword: secret.New(ad.BindPassword)}

	// The hire, as the account and activation steps make it.
	const hire = "lhire"
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = step.Account{}.Apply(ctx, &step.Exec{D: dir}, &plan.Step{ID: "a", Kind: plan.KindAccount, Hire: "SG1",
		Account: &plan.AccountSpec{Username: hire, EmployeeID: "SG1", GivenName: "Lena", Surname: "Hire", DisplayName: "Lena Hire"}})
	must("account", err)
	_, err = step.Activate{}.Apply(ctx, &step.Exec{D: dir}, &plan.Step{ID: "b", Kind: plan.KindActivate, Hire: "SG1",
		Activate: &plan.ActivateSpec{Username: hire, Deliver: "file:" + filepath.Join(t.TempDir(), hire+".pw"), Length: 16}})
	must("activate", err)
	// The lab's SSSD maps no IDs: the hire gets the rfc2307 numbers a
	// directory administrator gives (onboard sets none in AD).
	u, err := client.FindUser(ctx, hire)
	must("find", err)
	posix(t, ad, u.DN)

	inv, err := inventory.Load(l.InventoryFile)
	must("inventory", err)
	dial := func(name string) *step.Exec {
		host, err := inv.Host(name)
		must("host", err)
		comm, err := (&connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: 10 * time.Second}).Dial(ctx, host)
		must("dial "+name, err)
		t.Cleanup(func() { comm.Close() })
		return &step.Exec{T: &step.Target{Host: host, Comm: comm}, D: dir}
	}
	x := dial("ws1")
	x2 := dial("ws2")
	t.Run("join with logins", func(t *testing.T) { joinWithLogins(ctx, t, x2, hire, ad.Domain) })

	// Before the join the hire does not resolve on the machine.
	login := &plan.CheckSpec{Login: &plan.LoginCheck{User: hire, Bind: true, Workstation: true}}
	if st := runCheck(ctx, t, x, login); verdict(st) != "fail" || !strings.Contains(st.Reason, "does not resolve") {
		t.Errorf("before the join: %s: %s", verdict(st), st.Reason)
	}

	// ws1 joined with the lab's own SSSD configuration.
	must("join ws1", l.JoinDomain(ctx, "ws1"))
	must("sssd on ws1", l.StartSSSD(ctx, "ws1"))
	st := runCheck(ctx, t, x, login)
	if verdict(st) != "pass" || !strings.Contains(st.Reason, "bind as "+hire+" with the initial password works") ||
		!strings.Contains(st.Reason, "a login runs id: uid=") || !strings.Contains(st.Reason, "("+hire+")") {
		t.Errorf("the hire cannot sign in: %s: %s", verdict(st), st.Reason)
	}
	t.Logf("sign-in evidence: %s", st.Reason)

	// A run that did not set the password cannot tell about the bind.
	later := &step.Exec{T: x.T, D: &step.DirTarget{Dir: dir.Dir, Client: client}}
	if st := runCheck(ctx, t, later, login); verdict(st) != "cannot-run" || !strings.Contains(st.Reason, "cannot tell") {
		t.Errorf("a later run: %s: %s", verdict(st), st.Reason)
	}

	// A wrong password does not bind.
	wrong := &step.DirTarget{Dir: dir.Dir, Client: client}
	wrong.RememberInitial(hire, secret.New("Not-the-password-1"))
	bindOnly := &plan.CheckSpec{Login: &plan.LoginCheck{User: hire, Bind: true}}
	if st := runCheck(ctx, t, &step.Exec{T: x.T, D: wrong}, bindOnly); verdict(st) != "fail" || !strings.Contains(st.Reason, "fails on") {
		t.Errorf("a wrong password: %s: %s", verdict(st), st.Reason)
	}

	// Disabled: the bind fails, and SSSD refuses the login within seconds.
	must("disable", client.SetEnabled(ctx, u.DN, false))
	if st := runCheck(ctx, t, x, login); verdict(st) != "fail" || !strings.Contains(st.Reason, "is disabled") {
		t.Errorf("disabled: %s: %s", verdict(st), st.Reason)
	}
	onMachine := &plan.CheckSpec{Login: &plan.LoginCheck{User: hire, Workstation: true}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := runCheck(ctx, t, x, onMachine)
		if verdict(st) == "fail" {
			if !strings.Contains(st.Reason, "cannot log in") {
				t.Errorf("disabled, on the machine: %s", st.Reason)
			}
			t.Logf("disabled evidence: %s", st.Reason)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a disabled account still logs in after 60s: %s", st.Reason)
		}
		time.Sleep(time.Second)
		x.T.Invalidate()
	}
	// The same on ws2, whose SSSD the join step configured.
	for deadline := time.Now().Add(60 * time.Second); ; {
		st := runCheck(ctx, t, x2, onMachine)
		if verdict(st) == "fail" {
			if !strings.Contains(st.Reason, "cannot log in") {
				t.Errorf("disabled, on ws2: %s", st.Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a disabled account still logs in on ws2 after 60s: %s", st.Reason)
		}
		time.Sleep(time.Second)
		x2.T.Invalidate()
	}
}

func mustT(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// The join step with logins: sssd joins ws2 and configures SSSD so that
// the hire resolves and signs in, and a second check finds it in place.
func joinWithLogins(ctx context.Context, t *testing.T, x *step.Exec, hire, domain string) {
	join := &plan.Step{ID: "j", Kind: plan.KindJoin, Hire: "SG1", Host: "ws2", Join: &plan.JoinSpec{Domain: domain,
		Computer: "ws2", FQDN: "ws2." + domain, Stale: "fail", Logins: "sssd", User: hire}}
	st, err := step.Join{}.Check(ctx, x, join)
	mustT(t, "join check", err)
	if st.InPlace {
		t.Fatalf("joined before the join: %s", st.Reason)
	}
	did, err := step.Join{}.Apply(ctx, x, join)
	if err != nil {
		out, _ := x.Run(ctx, "tail -n 25 /var/log/sssd/*.log; getent hosts dc1.corp.example.test; getent ahosts _ldap._tcp.corp.example.test", true, "")
		t.Fatalf("join: %v\n%s", err, out.Combined())
	}
	t.Logf("join: %s", did)
	x.T.Invalidate()
	st, err = step.Join{}.Check(ctx, x, join)
	mustT(t, "join verify", err)
	if !st.InPlace || !strings.Contains(st.Reason, hire+" resolves") {
		t.Fatalf("after the join: %s", st.Reason)
	}
	// The configuration as written: 0600, sss in NSS.
	out, err := x.Run(ctx, "stat -c %a /etc/sssd/sssd.conf; grep '^passwd:' /etc/nsswitch.conf", true, "")
	mustT(t, "stat", err)
	if f := strings.Fields(out.Stdout); len(f) < 2 || f[0] != "600" || !strings.Contains(out.Stdout, "sss") {
		t.Errorf("sssd.conf mode and nsswitch: %q", out.Stdout)
	}

	login := &plan.CheckSpec{Login: &plan.LoginCheck{User: hire, Workstation: true}}
	if st := runCheck(ctx, t, x, login); verdict(st) != "pass" {
		t.Errorf("after the join with logins: %s: %s", verdict(st), st.Reason)
	}
	st, err = step.Join{}.Check(ctx, x, join)
	mustT(t, "join re-check", err)
	if !st.InPlace {
		t.Errorf("the join is not in place on a second check: %s", st.Reason)
	}
	// A joined machine whose SSSD configuration drifted is put right
	// without joining again.
	_, err = x.Run(ctx, "chmod 644 /etc/sssd/sssd.conf", true, "")
	mustT(t, "chmod", err)
	x.T.Invalidate()
	st, err = step.Join{}.Check(ctx, x, join)
	mustT(t, "drift check", err)
	if st.InPlace || !strings.Contains(st.Reason, "mode 644, want 0600") {
		t.Errorf("a 0644 sssd.conf: %s", st.Reason)
	}
	did, err = step.Join{}.Apply(ctx, x, join)
	mustT(t, "repair", err)
	if !strings.HasPrefix(did, "configured SSSD") {
		t.Errorf("the repair joined again: %s", did)
	}
	x.T.Invalidate()
	st, err = step.Join{}.Check(ctx, x, join)
	mustT(t, "repair verify", err)
	if !st.InPlace {
		t.Errorf("after the repair: %s", st.Reason)
	}
}

// posix gives an AD entry a uidNumber and gidNumber, as the lab's seeded
// users have.
func posix(t *testing.T, ad lab.Directory, dn string) {
	t.Helper()
	pem, err := os.ReadFile(ad.CACertFile)
	mustT(t, "ca", err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := ldap.DialURL(ad.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool}))
	mustT(t, "dial", err)
	defer c.Close()
	mustT(t, "bind", c.Bind(ad.BindDN, ad.BindPassword))
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace("uidNumber", []string{"20001"})
	m.Replace("gidNumber", []string{"10000"})
	mustT(t, "modify", c.Modify(m))
}
