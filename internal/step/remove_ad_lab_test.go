package step_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strconv"
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

// A domain leaver's sign-in on a joined workstation ends by the machine's
// SSSD access filter: su as them is refused while their account is still
// enabled in the directory, their processes are ended; another domain
// user still signs in; a second leaver joins the first in the filter.
func TestDomainLoginRevokeOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab with Active Directory")
	}
	l := lab.ForTest(t, lab.Config{Name: "rma", Subnet: 244, Workstations: 1, ActiveDirectory: true})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	ad, _ := l.Directory(lab.ADName)
	client, err := directory.Dial(ctx, directory.Config{
		Name: ad.Name, Kind: directory.Kind(ad.Kind), URLs: []string{ad.URL}, BaseDN: ad.BaseDN, UsersOU: ad.UsersDN,
		GroupsBase: ad.GroupsDN, ComputersOU: ad.ComputersDN, Domain: ad.Domain, BindDN: ad.BindDN,
		BindPassword: secret.New(ad.BindPassword), CACertFile: ad.CACertFile, Timeout: 10 * time.Second,
	})
	mustT(t, "dial the directory", err)
	defer client.Close()
	dir := &step.DirTarget{Dir: &plan.Directory{Name: ad.Name, Kind: ad.Kind, Domain: ad.Domain}, Client: client, Deliver: &deliver.Channel{}}
	users := []string{"rleaver", "rstayer", "rlater"}
	for i, u := range users {
		_, err := step.Account{}.Apply(ctx, &step.Exec{D: dir}, &plan.Step{ID: "a" + u, Kind: plan.KindAccount, Hire: u,
			Account: &plan.AccountSpec{Username: u, EmployeeID: "R" + strconv.Itoa(i), GivenName: "R", Surname: u, DisplayName: "R " + u}})
		mustT(t, "account "+u, err)
		_, err = step.Activate{}.Apply(ctx, &step.Exec{D: dir}, &plan.Step{ID: "b" + u, Kind: plan.KindActivate, Hire: u,
			Activate: &plan.ActivateSpec{Username: u, Deliver: "file:" + filepath.Join(t.TempDir(), u+".pw"), Length: 16}})
		mustT(t, "activate "+u, err)
		found, err := client.FindUser(ctx, u)
		mustT(t, "find "+u, err)
		posixUID(t, ad, found.DN, 21001+i)
	}
	mustT(t, "join ws1", l.JoinDomain(ctx, "ws1"))
	mustT(t, "sssd on ws1", l.StartSSSD(ctx, "ws1"))

	inv, err := inventory.Load(l.InventoryFile)
	mustT(t, "inventory", err)
	host, err := inv.Host("ws1")
	mustT(t, "host", err)
	comm, err := (&connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: 10 * time.Second}).Dial(ctx, host)
	mustT(t, "dial ws1", err)
	defer comm.Close()
	x := &step.Exec{T: &step.Target{Host: host, Comm: comm}}

	signsIn := func(u string) bool {
		_, _, err := l.Exec(ctx, "ws1", "su -s /bin/sh -c true "+u+" </dev/null >/dev/null 2>&1")
		return err == nil
	}
	for _, u := range users {
		deadline := time.Now().Add(60 * time.Second)
		for !signsIn(u) {
			if time.Now().After(deadline) {
				t.Fatalf("%s does not sign in on ws1 after 60s", u)
			}
			time.Sleep(time.Second)
		}
	}
	_, _, err = l.Exec(ctx, "ws1", "su -s /bin/sh -c 'setsid sleep 600 </dev/null >/dev/null 2>&1 &' rleaver")
	mustT(t, "a process of the leaver", err)

	revoke := func(u string) *plan.Step {
		return &plan.Step{ID: "revoke-" + u, Kind: plan.KindLoginRevoke, LoginRevoke: &plan.LoginRevokeSpec{User: u, Domain: ad.Domain}}
	}
	st, err := step.LoginRevoke{}.Check(ctx, x, revoke("rleaver"))
	if err != nil || st.InPlace || !strings.Contains(st.Reason, "not denied by the SSSD access filter") || !strings.Contains(st.Reason, "1 processes of the user run") {
		t.Fatalf("before: %+v, %v", st, err)
	}
	what := convergeOn(ctx, t, x, revoke("rleaver"))
	if what != "denied rleaver in SSSD's access filter, ended their processes, removed their authorized_keys" {
		t.Errorf("apply said %q", what)
	}
	st, _ = step.LoginRevoke{}.Check(ctx, x, revoke("rleaver"))
	t.Logf("evidence: %s", st.Reason)
	if u, err := client.FindUser(ctx, "rleaver"); err != nil || !u.Enabled {
		t.Errorf("the directory account should be untouched by the host kind: %+v, %v", u, err)
	}
	// Another domain user is not affected, once SSSD answers again; the
	// leaver is refused by the filter, not by an SSSD that is restarting.
	online := func() {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !signsIn("rstayer"); {
			if time.Now().After(deadline) {
				t.Fatalf("another domain user no longer signs in")
			}
			time.Sleep(time.Second)
		}
	}
	online()
	if signsIn("rleaver") {
		t.Errorf("the leaver still signs in")
	}
	// A second leaver is added to the filter; the first stays denied.
	convergeOn(ctx, t, x, revoke("rlater"))
	conf, _, err := l.Exec(ctx, "ws1", "cat /etc/sssd/conf.d/onboard-leavers.conf; stat -c %a /etc/sssd/conf.d/onboard-leavers.conf")
	mustT(t, "read the filter", err)
	if !strings.Contains(conf, "(!(|(sAMAccountName=rlater)(sAMAccountName=rleaver)))") || !strings.HasSuffix(strings.TrimSpace(conf), "600") {
		t.Errorf("the filter: %s", conf)
	}
	if st, err := (step.LoginRevoke{}).Check(ctx, x, revoke("rleaver")); err != nil || !st.InPlace {
		t.Errorf("the first leaver after the second: %+v, %v", st, err)
	}
	online()
	if signsIn("rleaver") || signsIn("rlater") {
		t.Errorf("a leaver signs in")
	}
}

// posixUID gives an AD account the rfc2307 numbers the lab's SSSD reads.
func posixUID(t *testing.T, ad lab.Directory, dn string, uid int) {
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
	m.Replace("uidNumber", []string{strconv.Itoa(uid)})
	m.Replace("gidNumber", []string{"10000"})
	mustT(t, "modify", c.Modify(m))
}
