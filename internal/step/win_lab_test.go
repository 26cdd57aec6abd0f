package step_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"onboard/internal/connect"
	"onboard/internal/deliver"
	"onboard/internal/directory"
	"onboard/internal/inventory"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// The lab's Windows host as a domain member, for real: it asks the lab's
// DNS server and trusts the lab CA; the hire's Active Directory account is
// made with POSIX attributes, resolves with that uid on a Linux workstation
// whose join configured SSSD to use them; and the hire signs in on the
// Windows host (LogonUser, answered by a bind to the Samba DC) until the
// account is disabled.
func TestWindowsMemberOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab with Active Directory and a Windows host")
	}
	l := lab.ForTest(t, lab.Config{Name: "w11", Subnet: 231, Workstations: 1, ActiveDirectory: true, Windows: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	inv, err := inventory.Load(l.InventoryFile)
	mustT(t, "inventory", err)
	dial := func(name string, d *step.DirTarget) *step.Exec {
		host, err := inv.Host(name)
		mustT(t, "host", err)
		comm, err := (&connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: 10 * time.Second}).Dial(ctx, host)
		mustT(t, "dial "+name, err)
		t.Cleanup(func() { comm.Close() })
		return &step.Exec{T: &step.Target{Host: host, Comm: comm}, D: d}
	}
	win := dial("win1", nil)

	t.Run("network", func(t *testing.T) {
		intranet, _ := l.Addr(lab.NameIntranet)
		sec := plan.Duration(5 * time.Second)
		for _, tt := range []struct {
			name  string
			c     *plan.CheckSpec
			want  string
			words string
		}{
			{"lab name", &plan.CheckSpec{DNS: &plan.DNSCheck{Name: lab.FQDN(lab.NameIntranet), Resolves: true, Addresses: []string{intranet}, Timeout: sec}},
				"pass", "resolves to " + intranet},
			{"short name, the DNS suffix", &plan.CheckSpec{DNS: &plan.DNSCheck{Name: lab.NameIntranet, Resolves: true, Addresses: []string{intranet}, Timeout: sec}},
				"pass", "resolves to " + intranet},
			{"unknown name", &plan.CheckSpec{DNS: &plan.DNSCheck{Name: "nope." + lab.Domain, Resolves: true, Timeout: sec}},
				"fail", "DNS name does not exist"},
			{"intranet over https", &plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: lab.IntranetURL(lab.IntranetPath), Status: 200, Timeout: sec}},
				"pass", "trusted by the host"},
			{"unknown site", &plan.CheckSpec{HTTP: &plan.HTTPCheck{URL: "https://nope." + lab.Domain + "/", Status: 200, Timeout: sec}},
				"fail", "The remote name could not be resolved: 'nope." + lab.Domain + "'"},
		} {
			st := runCheck(ctx, t, win, tt.c)
			if verdict(st) != tt.want || !strings.Contains(st.Reason, tt.words) {
				t.Errorf("%s: %s: %s; want %s and %q", tt.name, verdict(st), st.Reason, tt.want, tt.words)
			}
		}
	})

	ad, _ := l.Directory(lab.ADName)
	client, err := directory.Dial(ctx, directory.Config{
		Name: ad.Name, Kind: directory.Kind(ad.Kind), URLs: []string{ad.URL}, BaseDN: ad.BaseDN, UsersOU: ad.UsersDN,
		GroupsBase: ad.GroupsDN, ComputersOU: ad.ComputersDN, Domain: ad.Domain, BindDN: ad.BindDN,
		BindPassword: secret.New(ad.BindPassword), CACertFile: ad.CACertFile, Timeout: 10 * time.Second,
	})
	mustT(t, "dial the DC", err)
	defer client.Close()
	dir := &step.DirTarget{Dir: &plan.Directory{Name: ad.Name, Kind: ad.Kind, Domain: ad.Domain, JoinUser: "Administrator", Posix: true},
		Client: client, Deliver: &deliver.Channel{}, JoinPassword: secret.New(ad.BindPassword)}

	// The hire, as the planner makes the steps for a directory with posix.enabled.
	const hire = "whire"
	acct := &plan.Step{ID: "a", Kind: plan.KindAccount, Hire: "W11", Account: &plan.AccountSpec{Username: hire, EmployeeID: "W11",
		GivenName: "Wanda", Surname: "Hire", DisplayName: "Wanda Hire", UIDMin: 30000, GIDNumber: 10000, Home: "/home/" + hire, Shell: "/bin/bash"}}
	did, err := step.Account{}.Apply(ctx, &step.Exec{D: dir}, acct)
	mustT(t, "account", err)
	t.Logf("account: %s", did)
	st, err := step.Account{}.Check(ctx, &step.Exec{D: dir}, acct)
	mustT(t, "account check", err)
	if !st.InPlace {
		t.Errorf("the account is not in place after its step: %s", st.Reason)
	}
	u, err := client.FindUser(ctx, hire)
	mustT(t, "find", err)
	uid := u.Attr("uidNumber")
	if len(uid) != 1 || u.Attr("gidNumber")[0] != "10000" || u.Attr("unixHomeDirectory")[0] != "/home/"+hire {
		t.Fatalf("the account's POSIX attributes: uidNumber %q, gidNumber %q, unixHomeDirectory %q", uid, u.Attr("gidNumber"), u.Attr("unixHomeDirectory"))
	}
	if n, _ := strconv.Atoi(uid[0]); n < 30000 {
		t.Errorf("uidNumber %s is below uid_min 30000", uid[0])
	}
	_, err = step.Activate{}.Apply(ctx, &step.Exec{D: dir}, &plan.Step{ID: "b", Kind: plan.KindActivate, Hire: "W11",
		Activate: &plan.ActivateSpec{Username: hire, Deliver: "file:" + filepath.Join(t.TempDir(), hire+".pw"), Length: 16}})
	mustT(t, "activate", err)

	t.Run("posix ids on a joined workstation", func(t *testing.T) {
		x := dial("ws1", dir)
		join := &plan.Step{ID: "j", Kind: plan.KindJoin, Hire: "W11", Host: "ws1", Join: &plan.JoinSpec{Domain: ad.Domain,
			Computer: "ws1", FQDN: "ws1." + ad.Domain, Stale: "fail", Logins: "sssd", User: hire, PosixIDs: true}}
		did, err := step.Join{}.Apply(ctx, x, join)
		if err != nil {
			out, _ := x.Run(ctx, "tail -n 25 /var/log/sssd/*.log", true, "")
			t.Fatalf("join: %v\n%s", err, out.Combined())
		}
		t.Logf("join: %s", did)
		x.T.Invalidate()
		st, err := step.Join{}.Check(ctx, x, join)
		mustT(t, "join check", err)
		if !st.InPlace {
			t.Errorf("after the join: %s", st.Reason)
		}
		out, err := x.Run(ctx, "getent passwd "+hire+"; grep ^ldap_id_mapping /etc/sssd/sssd.conf", true, "")
		mustT(t, "getent", err)
		f := strings.Split(strings.TrimSpace(out.Stdout), ":")
		if len(f) < 7 || f[2] != uid[0] || f[3] != "10000" || !strings.Contains(out.Stdout, "ldap_id_mapping = False") {
			t.Errorf("getent passwd %s shows %q, want uid %s and gid 10000 with ldap_id_mapping = False", hire, out.Stdout, uid[0])
		}
		login := &plan.CheckSpec{Login: &plan.LoginCheck{User: hire, Workstation: true}}
		if st := runCheck(ctx, t, x, login); verdict(st) != "pass" || !strings.Contains(st.Reason, "uid "+uid[0]) {
			t.Errorf("login on ws1: %s: %s", verdict(st), st.Reason)
		}
	})

	t.Run("sign in on Windows", func(t *testing.T) {
		x := dial("win1", dir)
		signIn := &plan.CheckSpec{Login: &plan.LoginCheck{User: hire, Bind: true, Workstation: true}}
		onMachine := &plan.CheckSpec{Login: &plan.LoginCheck{User: hire, Workstation: true}}
		// Not yet a member: the domain is unknown to the machine.
		if st := runCheck(ctx, t, x, onMachine); verdict(st) != "fail" || !strings.Contains(st.Reason, "error 1326") {
			t.Errorf("before the join: %s: %s", verdict(st), st.Reason)
		}
		// Join (the computer object pre-staged, as the planner's prestage
		// step does), then the reboot that completes it.
		_, err := client.PrestageComputer(ctx, "WIN1", ad.ComputersDN, "onboard test")
		mustT(t, "prestage", err)
		joinStep := &plan.Step{ID: "wj", Kind: plan.KindWinJoin, Host: "win1", WinJoin: &plan.WinJoinSpec{Domain: ad.Domain}}
		_, err = step.WinJoin{}.Apply(ctx, x, joinStep)
		mustT(t, "join win1", err)
		_, err = step.Reboot{}.Apply(ctx, x, &plan.Step{ID: "r", Kind: plan.KindReboot, Host: "win1", Reboot: &plan.RebootSpec{Wait: plan.Duration(time.Minute)}})
		mustT(t, "reboot win1", err)
		x.T.Invalidate()
		st, err := step.WinJoin{}.Check(ctx, x, joinStep)
		mustT(t, "join check", err)
		if !st.InPlace {
			t.Fatalf("win1 is not joined: %s", st.Reason)
		}
		// The machine knows the hire's account through the DC, and not a
		// name the domain lacks.
		if st := runCheck(ctx, t, x, &plan.CheckSpec{User: &plan.UserCheck{Name: `CORP\` + hire, Exists: true}}); verdict(st) != "pass" {
			t.Errorf("user CORP\\%s: %s: %s", hire, verdict(st), st.Reason)
		}
		if st := runCheck(ctx, t, x, &plan.CheckSpec{User: &plan.UserCheck{Name: `CORP\nobody`, Exists: true}}); verdict(st) != "fail" ||
			!strings.Contains(st.Reason, "not known to the host") {
			t.Errorf("user CORP\\nobody: %s: %s", verdict(st), st.Reason)
		}

		st = runCheck(ctx, t, x, signIn)
		if verdict(st) != "pass" || !strings.Contains(st.Reason, "bind as "+hire+" with the initial password works") ||
			!strings.Contains(st.Reason, "signs in with the initial password (LogonUser, interactive): CORP\\"+hire) {
			t.Errorf("the hire cannot sign in on win1: %s: %s", verdict(st), st.Reason)
		}
		t.Logf("sign-in evidence: %s", st.Reason)

		// A wrong password is refused by the DC through the machine.
		wrong := &step.DirTarget{Dir: dir.Dir, Client: client}
		wrong.RememberInitial(hire, secret.New("Not-the-password-1"))
		if st := runCheck(ctx, t, &step.Exec{T: x.T, D: wrong}, onMachine); verdict(st) != "fail" || !strings.Contains(st.Reason, "error 1326") ||
			strings.Contains(st.Reason, "Not-the-password") {
			t.Errorf("a wrong password: %s: %s", verdict(st), st.Reason)
		}
		// A run that did not set the password cannot tell.
		later := &step.Exec{T: x.T, D: &step.DirTarget{Dir: dir.Dir, Client: client}}
		if st := runCheck(ctx, t, later, onMachine); verdict(st) != "cannot-run" {
			t.Errorf("a later run: %s: %s", verdict(st), st.Reason)
		}
		// Must change at first sign-in: the password is still accepted.
		mustT(t, "require a change", client.RequirePasswordChange(ctx, u.DN))
		if st := runCheck(ctx, t, x, onMachine); verdict(st) != "pass" || !strings.Contains(st.Reason, "error 1907") {
			t.Errorf("must change: %s: %s", verdict(st), st.Reason)
		}
		// Disabled: the machine refuses the sign-in.
		mustT(t, "disable", client.SetEnabled(ctx, u.DN, false))
		if st := runCheck(ctx, t, x, onMachine); verdict(st) != "fail" || !strings.Contains(st.Reason, "the account is disabled") ||
			!strings.Contains(st.Reason, "error 1331") {
			t.Errorf("disabled: %s: %s", verdict(st), st.Reason)
		}
	})
}
