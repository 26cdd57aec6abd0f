package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"onboard/internal/deliver"
	"onboard/internal/directory"
	"onboard/internal/engine"
	"onboard/internal/journal"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
	"onboard/internal/step"
)

const restoreHire = `person: {employee_id: E900, given_name: Rae, surname: Restore, start_date: 2026-12-01}
account:
  directory: corp-ldap
  groups: [sales, crm-users]
  must_change_password: false
  password: {deliver: "file:pw/E900.pw"}
machine:
  host: ws1
`

// restoreDir hands the engine one directory client for every run.
type restoreDir struct{ d *step.DirTarget }

func (o restoreDir) DialDirectory(context.Context, *plan.Directory) (*step.DirTarget, error) {
	return o.d, nil
}

type stayOpen struct{ *directory.Client }

func (stayOpen) Close() error { return nil }

// A hire onboarded for real, offboarded (plan.LeaverSteps through the
// engine, recorded in the journal with mode offboard), then brought back
// with onboard restore: the hire binds with the new password delivered to
// its file, is back in both groups, in the users OU, with no expiry, and
// enabled; the run is recorded with mode restore. A second restore changes
// nothing and delivers no password. Offboarded again with a leave 40 days
// back, past the 30 days of grace, the restore is refused (exit 2), naming
// the day the grace period ended.
func TestRestoreAfterAnOffboarding(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab with OpenLDAP and ppolicy")
	}
	l := lab.ForTest(t, lab.Config{Name: "rste", Subnet: 167, Workstations: 1, OpenLDAP: true, PPolicy: true})
	e := newEnv(t, l)
	invFile := filepath.Join(e.inv, filepath.Base(l.InventoryFile))
	b, err := os.ReadFile(invFile)
	if err != nil {
		t.Fatal(err)
	}
	d := labDir(t, l, "corp-ldap")
	leaversOU := "ou=Leavers," + d.BaseDN
	withLeavers := strings.Replace(string(b), "  corp-ldap:\n", "  corp-ldap:\n    leavers: {ou: \""+leaversOU+"\", grace_days: 30}\n", 1)
	if err := os.WriteFile(invFile, []byte(withLeavers), 0o644); err != nil {
		t.Fatal(err)
	}
	code, r, stderr := e.jsonRun(e.write("hires/rae.yaml", restoreHire), "--allow-write", e.dir)
	if code != exitOK {
		t.Fatalf("onboarding: exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	hire := r.Hires[0]
	user := hire.Username

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
	jpath := filepath.Join(e.dir, "journal.db")
	offboard := func(t *testing.T, leaveAt time.Time) {
		t.Helper()
		j, err := journal.Open(ctx, jpath)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		pd := &plan.Directory{Name: d.Name, Kind: d.Kind, BaseDN: d.BaseDN, UsersOU: d.UsersDN, GroupsBase: d.GroupsDN}
		p := &plan.Plan{Version: 1, Directories: map[string]*plan.Directory{d.Name: pd},
			Hires: []plan.Hire{{ID: hire.ID, Name: hire.Name, Username: user}},
			Steps: plan.LeaverSteps(plan.Leaver{Hire: hire.ID, Username: user, Directory: d.Name, LeaveAt: leaveAt,
				Groups: []string{"sales", "crm-users"}, Rule: plan.RulePlaced, Evidence: "run " + r.ID, LeaversOU: leaversOU, Expire: true})}
		eng := &engine.Engine{Parallel: 4,
			Directories: restoreDir{&step.DirTarget{Dir: pd, Client: stayOpen{client}, Deliver: &deliver.Channel{}}},
			Recorder:    j.Recorder(journal.RunStart{Operator: "test", Trigger: "test", Mode: "offboard", Plan: p})}
		res := eng.Run(ctx, p, engine.Apply)
		for _, s := range res.Steps {
			if !s.Outcome.Done() {
				t.Fatalf("offboarding: %s: %s %+v", s.ID, s.Outcome, s.Failure)
			}
		}
	}
	// The leave a whole second after the password was set (OpenLDAP dates
	// it in seconds), and before now.
	time.Sleep(1100 * time.Millisecond)
	offboard(t, time.Now().Truncate(time.Second))
	u, err := client.FindUser(ctx, user)
	if err != nil || u == nil || !strings.HasSuffix(u.DN, ","+leaversOU) || u.Enabled {
		t.Fatalf("after the offboarding: %+v, %v", u, err)
	}

	// The restore's password is dated in a later second than the
	// scramble's (OpenLDAP dates in seconds), as any restore's is.
	time.Sleep(1100 * time.Millisecond)
	restore := func(deliver string) (int, *result.Run, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"restore", hire.ID, "-i", e.inv, "--deliver", deliver, "--yes", "-o", "json"},
			strings.NewReader(""), &out, &errb)
		var final *result.Run
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var ev result.Event
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Type == result.RunFinished {
				final = ev.Run
			}
		}
		return code, final, errb.String()
	}
	pw := filepath.Join(e.dir, "pw", "E900-restored.pw")
	code, res, stderr := restore("file:" + pw)
	if code != exitOK || res == nil {
		t.Fatalf("restore: exit %d: %s", code, stderr)
	}
	for _, s := range res.Steps {
		// The activation enables the account; account-enable proves it.
		want := result.Changed
		if s.Kind == plan.KindAccountEnable {
			want = result.OK
		}
		if s.Outcome != want {
			t.Errorf("restore: %s: %s %q, want %s", s.ID, s.Outcome, s.Reason, want)
		}
	}
	u, err = client.FindUser(ctx, user)
	if err != nil || u == nil {
		t.Fatalf("after the restore: %+v, %v", u, err)
	}
	if !strings.HasSuffix(u.DN, ","+d.UsersDN) {
		t.Errorf("DN %s, want in %s", u.DN, d.UsersDN)
	}
	b, err = os.ReadFile(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.VerifyBind(ctx, u.DN, secret.New(strings.TrimSuffix(string(b), "\n"))); err != nil && !errors.Is(err, directory.ErrMustChangePassword) {
		t.Errorf("the hire cannot bind with the new password: %v", err)
	}
	if groups, err := client.GroupsOf(ctx, u.DN); err != nil || !slices.Equal(groups, []string{"crm-users", "sales"}) {
		t.Errorf("groups %v, %v", groups, err)
	}
	if at, err := client.Expiry(ctx, u.DN); err != nil || !at.IsZero() {
		t.Errorf("expiry %s, %v; want none", at, err)
	}
	if dis, err := client.UserDisabled(ctx, u.DN); err != nil || dis {
		t.Errorf("disabled %v, %v", dis, err)
	}

	// Twice: nothing changes, no password is delivered.
	pw2 := filepath.Join(e.dir, "pw", "E900-again.pw")
	code, res, stderr = restore("file:" + pw2)
	if code != exitOK || res == nil {
		t.Fatalf("second restore: exit %d: %s", code, stderr)
	}
	for _, s := range res.Steps {
		if s.Outcome != result.OK {
			t.Errorf("second restore: %s: %s %q", s.ID, s.Outcome, s.Changed)
		}
	}
	if _, err := os.Stat(pw2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the second restore delivered a password: %v", err)
	}
	// As the technician reads it: each step with the offboarding's record
	// it restores from, all in place now.
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"restore", hire.ID, "-i", e.inv, "--deliver", "terminal", "--yes"},
		strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("restore, text: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"= E900:restore:account-move:" + user,
		"rule restore: run ",
		`step E900:account-move:` + user + `: moved ` + user + ` from uid=` + user + `,` + d.UsersDN,
		"= E900:restore:membership:sales",
		"= E900:restore:activate:" + user,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the restore's text lacks %q:\n%s", want, out.String())
		}
	}
	modes := map[string]int{}
	j, err := journal.Open(ctx, jpath)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := j.Runs(ctx, journal.Filter{Hire: hire.ID})
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		modes[r.Mode]++
	}
	if modes["restore"] != 3 || modes["offboard"] != 1 {
		t.Errorf("the journal's runs of %s by mode: %v", hire.ID, modes)
	}

	// Offboarded again, the leave 40 days back: past the grace period.
	leave := time.Now().Add(-40 * 24 * time.Hour).Truncate(time.Second)
	offboard(t, leave)
	code, _, stderr = restore("terminal")
	ended := leave.AddDate(0, 0, 30).UTC().Format(time.RFC3339)
	if code != exitInvalid || !strings.Contains(stderr, "the grace period of 30 days after the leave at "+leave.UTC().Format(time.RFC3339)+" ended on "+ended) {
		t.Errorf("restore after the grace period: exit %d, stderr %q", code, stderr)
	}
	if u, err := client.FindUser(ctx, user); err != nil || u == nil || u.Enabled {
		t.Errorf("the refused restore changed the account: %+v, %v", u, err)
	}
}
