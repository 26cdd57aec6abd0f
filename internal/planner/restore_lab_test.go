package planner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/deliver"
	"onboard/internal/directory"
	"onboard/internal/engine"
	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// restoreDirectory hands the engine the same directory target every run.
type restoreDirectory struct{ d *step.DirTarget }

func (o restoreDirectory) DialDirectory(context.Context, *plan.Directory) (*step.DirTarget, error) {
	return o.d, nil
}

// openClient is the client with a Close that leaves it open: the engine
// closes its directories after each run, and this test's runs share one.
type openClient struct{ *directory.Client }

func (openClient) Close() error { return nil }

// A restore planned from a journal that a real offboarding wrote: a hire
// set up in slapd (with ppolicy), offboarded with plan.LeaverSteps through
// the engine and recorded with mode offboard. The plan moves the account
// back to the OU the move's evidence names, clears its expiry, puts back
// the groups the disable saw, gives it a new password delivered to a file
// and enables it; applied, the hire binds with that password; planned and
// applied again it changes nothing. Outside the grace period, after a
// purge, without a grace period, or from a run that is no offboarding, it
// is refused, saying why.
func TestRestoreFromARealOffboarding(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab with OpenLDAP")
	}
	l := lab.ForTest(t, lab.Config{Name: "rstp", Subnet: 166, Workstations: 1, OpenLDAP: true, PPolicy: true})
	d, ok := l.Directory("corp-ldap")
	if !ok {
		t.Fatal("the lab has no corp-ldap")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	client, err := directory.Dial(ctx, directory.Config{
		Name: d.Name, Kind: directory.Kind(d.Kind), URLs: []string{d.URL}, BaseDN: d.BaseDN, UsersOU: d.UsersDN,
		GroupsBase: d.GroupsDN, BindDN: d.BindDN, BindPassword: secret.New(d.BindPassword), CACertFile: d.CACertFile, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	dir := t.TempDir()
	j, err := journal.Open(ctx, filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pd := &plan.Directory{Name: d.Name, Kind: d.Kind, BaseDN: d.BaseDN, UsersOU: d.UsersDN, GroupsBase: d.GroupsDN}
	target := &step.DirTarget{Dir: pd, Client: openClient{client}, Deliver: &deliver.Channel{}}
	const user, hire = "rrestore", "RS1"
	run := func(t *testing.T, p *plan.Plan, mode string) *result.Run {
		t.Helper()
		eng := &engine.Engine{Directories: restoreDirectory{target}, Parallel: 4}
		if err := eng.Validate(p); err != nil {
			t.Fatal(err)
		}
		eng.Recorder = j.Recorder(journal.RunStart{Operator: "test", Trigger: "test", Mode: mode, Plan: p})
		res := eng.Run(ctx, p, engine.Apply)
		if res.JournalError != "" {
			t.Fatalf("journal: %s", res.JournalError)
		}
		return res
	}
	allDone := func(t *testing.T, what string, res *result.Run) {
		t.Helper()
		for _, s := range append(append([]result.Step(nil), res.Steps...), res.Handover...) {
			if !s.Outcome.Done() {
				t.Fatalf("%s: step %s: %s %q %+v", what, s.ID, s.Outcome, s.Reason, s.Failure)
			}
		}
	}
	hires := []plan.Hire{{ID: hire, Name: "Rae Restore", Username: user}}

	// The hire, as onboard sets one up: account, two groups, activated.
	acct := &plan.Step{ID: hire + ":account:" + user, Kind: plan.KindAccount, Hire: hire, Directory: d.Name,
		Account: &plan.AccountSpec{Username: user, EmployeeID: hire, GivenName: "Rae", Surname: "Restore", DisplayName: "Rae Restore",
			UIDMin: 20000, GIDNumber: 10000}}
	setup := []*plan.Step{acct}
	for _, g := range []string{"sales", "crm-users"} {
		setup = append(setup, &plan.Step{ID: hire + ":membership:" + g, Kind: plan.KindMembership, Hire: hire, Directory: d.Name,
			DependsOn: []string{acct.ID}, Membership: &plan.MembershipSpec{Username: user, Group: g}})
	}
	setup = append(setup, &plan.Step{ID: hire + ":activate:" + user, Kind: plan.KindActivate, Hire: hire, Directory: d.Name,
		DependsOn: []string{setup[1].ID, setup[2].ID},
		Activate:  &plan.ActivateSpec{Username: user, Deliver: "file:" + filepath.Join(dir, "first.pw"), Length: 16}})
	allDone(t, "setup", run(t, &plan.Plan{Version: 1, Directories: map[string]*plan.Directory{d.Name: pd}, Steps: setup, Hires: hires}, "apply"))

	// The offboarding: the leave time a whole second after the password
	// was set (OpenLDAP dates it in seconds), and before now.
	time.Sleep(1100 * time.Millisecond)
	leaveAt := time.Now().Truncate(time.Second)
	leaversOU := "ou=Leavers," + d.BaseDN
	offSteps := plan.LeaverSteps(plan.Leaver{Hire: hire, Username: user, Directory: d.Name, LeaveAt: leaveAt,
		Groups: []string{"sales", "crm-users"}, Rule: plan.RulePlaced, Evidence: "the setup run", LeaversOU: leaversOU, Expire: true})
	offRes := run(t, &plan.Plan{Version: 1, Directories: map[string]*plan.Directory{d.Name: pd}, Steps: offSteps, Hires: hires}, "offboard")
	allDone(t, "offboarding", offRes)
	off, err := j.VerifiedRun(ctx, offRes.ID)
	if err != nil {
		t.Fatal(err)
	}

	// The restore's password is dated in a later second than the
	// scramble's (OpenLDAP dates in seconds), as any restore's is.
	time.Sleep(1100 * time.Millisecond)
	inv := restoreInventory(t, l, dir, 30)
	pwFile := filepath.Join(dir, "pw", "restored.pw")
	within := RestoreOptions{Now: leaveAt.Add(time.Hour), Deliver: "file:" + pwFile}
	p, err := Restore(off, inv, within)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		got = append(got, fmt.Sprintf("%s after %v", s.ID, s.DependsOn))
	}
	pre := hire + ":restore:"
	want := []string{
		pre + "account-move:" + user + " after []",
		pre + "account-expire:" + user + " after [" + pre + "account-move:" + user + "]",
		pre + "membership:crm-users after [" + pre + "account-move:" + user + "]",
		pre + "membership:sales after [" + pre + "account-move:" + user + "]",
		pre + "activate:" + user + " after [" + pre + "account-move:" + user + " " + pre + "account-expire:" + user + " " +
			pre + "membership:crm-users " + pre + "membership:sales]",
		pre + "account-enable:" + user + " after [" + pre + "activate:" + user + "]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("restore steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	byKind := map[string]*plan.Step{}
	for _, s := range p.Steps {
		byKind[s.Kind] = s
	}
	if mv := byKind[plan.KindAccountMove]; mv.Leaver.OU != d.UsersDN || !strings.Contains(mv.Evidence, "run "+off.ID) {
		t.Errorf("move back to %q (evidence %q), want %s from run %s", mv.Leaver.OU, mv.Evidence, d.UsersDN, off.ID)
	}
	if e := byKind[plan.KindAccountExpire]; !e.Leaver.NoExpiry {
		t.Errorf("the expiry step does not clear it: %+v", e.Leaver)
	}
	if a := byKind[plan.KindActivate].Activate; a.Deliver != "file:"+pwFile || a.DeliverRoot != filepath.Join(dir, "pw") || !a.MustChangePassword {
		t.Errorf("activate: %+v", a)
	}
	if a := byKind[plan.KindActivate]; a.Activate.Scrambled.Before(leaveAt) || a.Activate.Scrambled.After(time.Now()) ||
		a.Evidence != "run "+off.ID+", step "+hire+":password-scramble:"+user+": the password was scrambled (changed)" {
		t.Errorf("activate: scrambled %s (leave %s), evidence %q", a.Activate.Scrambled, leaveAt, a.Evidence)
	}
	if len(p.Hires) != 1 || p.Hires[0].ID != hire || len(p.Hires[0].Manual) != 0 {
		t.Errorf("hires: %+v", p.Hires)
	}

	t.Run("refused", func(t *testing.T) {
		endDay := leaveAt.AddDate(0, 0, 30).UTC().Format(time.RFC3339)
		setupRun := *off
		setupRun.Mode = "apply"
		dry := *off
		dry.DryRun = true
		for _, tt := range []struct {
			name string
			off  *journal.RunDetail
			inv  *inventory.Inventory
			opt  RestoreOptions
			want string
		}{
			{"after the grace period", off, inv, RestoreOptions{Now: leaveAt.AddDate(0, 0, 30).Add(time.Second)},
				"the grace period of 30 days after the leave at " + leaveAt.UTC().Format(time.RFC3339) + " ended on " + endDay},
			{"purged", off, inv, RestoreOptions{Now: within.Now, PurgedBy: "20261203T000000Z-abc"},
				"the account " + user + " was purged by run 20261203T000000Z-abc"},
			{"no grace period", off, restoreInventory(t, l, dir, 0), within, "directory corp-ldap allows no restore (leavers.grace_days is 0)"},
			{"not an offboarding", &setupRun, inv, within, `is "apply", not an applied offboarding`},
			{"a dry run", &dry, inv, within, `is "offboard (dry run)", not an applied offboarding`},
			{"delivery outside the folders", off, inv, RestoreOptions{Now: within.Now, Deliver: "file:/etc/restored.pw"}, "onboard writes only in the folders"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p, err := Restore(tt.off, tt.inv, tt.opt)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, %v; want an error with %q", p, err, tt.want)
				}
			})
		}
		// The last day of the grace period still restores.
		if _, err := Restore(off, inv, RestoreOptions{Now: leaveAt.AddDate(0, 0, 30)}); err != nil {
			t.Errorf("on the grace period's last second: %v", err)
		}
		if _, err := Restore(off, inv, RestoreOptions{Now: leaveAt.AddDate(0, 0, 31)}); !errors.Is(err, ErrNoRestore) {
			t.Errorf("after the grace period: %v, want ErrNoRestore", err)
		}
	})

	res := run(t, p, "restore")
	allDone(t, "restore", res)
	u, err := client.FindUser(ctx, user)
	if err != nil || u == nil {
		t.Fatalf("after the restore: %+v %v", u, err)
	}
	if err := client.VerifyBind(ctx, u.DN, readPassword(t, pwFile)); err != nil && !errors.Is(err, directory.ErrMustChangePassword) {
		t.Errorf("a bind with the new password: %v", err)
	}
	if dn, _ := ldap.ParseDN(u.DN); dn == nil || !(&ldap.DN{RDNs: dn.RDNs[1:]}).EqualFold(mustDN(t, d.UsersDN)) {
		t.Errorf("DN %s is not in %s", u.DN, d.UsersDN)
	}
	if groups, err := client.GroupsOf(ctx, u.DN); err != nil || strings.Join(groups, ",") != "crm-users,sales" {
		t.Errorf("groups %v, %v", groups, err)
	}
	if at, err := client.Expiry(ctx, u.DN); err != nil || !at.IsZero() {
		t.Errorf("expiry %s, %v; want none", at, err)
	}
	if dis, err := client.UserDisabled(ctx, u.DN); err != nil || dis {
		t.Errorf("disabled: %v, %v", dis, err)
	}

	// Twice: the second restore changes nothing, and delivers no password.
	if err := os.Remove(pwFile); err != nil {
		t.Fatal(err)
	}
	again, err := Restore(off, inv, within)
	if err != nil {
		t.Fatal(err)
	}
	res = run(t, again, "restore")
	for _, s := range res.Steps {
		if s.Outcome != result.OK {
			t.Errorf("second restore: %s: %s %q", s.ID, s.Outcome, s.Changed)
		}
	}
	if _, err := os.Stat(pwFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the second restore delivered a password: %v", err)
	}

	// Offboarded again, then enabled by hand: the account still has the
	// scrambled password, and the restore gives it a new one.
	time.Sleep(1100 * time.Millisecond)
	leave2 := time.Now().Truncate(time.Second)
	offRes = run(t, &plan.Plan{Version: 1, Directories: map[string]*plan.Directory{d.Name: pd}, Hires: hires,
		Steps: plan.LeaverSteps(plan.Leaver{Hire: hire, Username: user, Directory: d.Name, LeaveAt: leave2,
			Groups: []string{"sales", "crm-users"}, LeaversOU: leaversOU, Expire: true})}, "offboard")
	allDone(t, "second offboarding", offRes)
	if off, err = j.VerifiedRun(ctx, offRes.ID); err != nil {
		t.Fatal(err)
	}
	if u, err = client.FindUser(ctx, user); err != nil || u == nil {
		t.Fatal(u, err)
	}
	if err := client.EnableUser(ctx, u.DN); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	third, err := Restore(off, inv, RestoreOptions{Now: leave2.Add(time.Minute), Deliver: "file:" + pwFile})
	if err != nil {
		t.Fatal(err)
	}
	res = run(t, third, "restore")
	allDone(t, "restore of an account enabled by hand", res)
	for _, s := range res.Steps {
		if s.Kind == plan.KindActivate && s.Outcome != result.Changed {
			t.Errorf("activate of an account enabled by hand with the scrambled password: %s %q", s.Outcome, s.Reason)
		}
	}
	if u, err = client.FindUser(ctx, user); err != nil || u == nil {
		t.Fatal(u, err)
	}
	if err := client.VerifyBind(ctx, u.DN, readPassword(t, pwFile)); err != nil && !errors.Is(err, directory.ErrMustChangePassword) {
		t.Errorf("a bind with the password of the restore after the hand enable: %v", err)
	}
}

// restoreInventory is the lab's inventory with a grace period for
// corp-ldap, allowed to write in dir/pw.
func restoreInventory(t *testing.T, l *lab.Lab, dir string, grace int) *inventory.Inventory {
	t.Helper()
	b, err := os.ReadFile(l.InventoryFile)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "  corp-ldap:\n", fmt.Sprintf("  corp-ldap:\n    leavers: {ou: \"ou=Leavers,dc=corp,dc=example,dc=test\", grace_days: %d}\n", grace), 1)
	text = strings.Replace(text, "playbooks:\n", "playbooks:\n  write: [pw]\n", 1)
	if err := os.MkdirAll(filepath.Join(dir, "pw"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("inventory-%d.yaml", grace))
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func readPassword(t *testing.T, path string) secret.Value {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return secret.New(strings.TrimSuffix(string(b), "\n"))
}

func mustDN(t *testing.T, s string) *ldap.DN {
	t.Helper()
	dn, err := ldap.ParseDN(s)
	if err != nil {
		t.Fatal(err)
	}
	return dn
}

// MovedFrom reads the OU back from an account-move's result, also when a
// DN holds " to ", and nothing from other text.
func TestMovedFrom(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"moved ada from uid=ada,ou=People,dc=corp,dc=test to uid=ada,ou=Leavers,dc=corp,dc=test", "ou=People,dc=corp,dc=test"},
		{"moved ada from CN=Ada,OU=Go to Market,DC=corp to CN=Ada,OU=Leavers,DC=corp", "OU=Go to Market,DC=corp"},
		{"moved ada from uid=ada,ou=People to uid=ada,ou=People", "ou=People"},
		{"disabled ada (uid=ada,ou=People); it was in groups []", ""},
		{"moved ada from uid=ada to nowhere", ""},
	} {
		got, ok := MovedFrom(tt.text)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("MovedFrom(%q) = %q, %v; want %q", tt.text, got, ok, tt.want)
		}
	}
}
