package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/connect"
	"onboard/internal/deliver"
	"onboard/internal/engine"
	"onboard/internal/golden"
	"onboard/internal/journal"
	"onboard/internal/lab"
	"onboard/internal/notify"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// An offboarding recorded as onboard records one, then its evidence and
// its audit: a real engine run of plan.LeaverSteps against slapd with
// ppolicy, journaled with mode "offboard". The leaver report proves each
// removal (goldens, the run's volatile fields normalised); the audit finds
// everything in place, then names a re-enabled account and a group put
// back by hand as drift (exit 5, the drift rule fires), and nothing once
// both are put right. An ordinary hire in the same journal is audited as
// before.
func TestLeaverReportAndAuditOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts a lab with OpenLDAP and ppolicy")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	l := lab.ForTest(t, lab.Config{Name: "lrep", Subnet: 235, Workstations: 1, OpenLDAP: true, PPolicy: true})
	e := newEnv(t, l)
	d := labDir(t, l, "corp-ldap")
	pd := &plan.Directory{Name: d.Name, Kind: d.Kind, URLs: []string{d.URL}, BaseDN: d.BaseDN, UsersOU: d.UsersDN,
		GroupsBase: d.GroupsDN, BindDN: d.BindDN, BindPassword: "file:" + d.BindPasswordFile, CACert: d.CACertFile}
	j, err := journal.Open(ctx, os.Getenv("ONBOARD_JOURNAL"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	dialer := &connect.Dialer{Secrets: &secret.Resolver{}, Deliver: &deliver.Channel{}}
	// record runs p through the engine, journaled as onboard journals a run.
	record := func(t *testing.T, p *plan.Plan, mode string) (string, *result.Run) {
		t.Helper()
		rec := j.Recorder(journal.RunStart{Operator: "tech", Trigger: "cli", Mode: mode, Plan: p})
		eng := &engine.Engine{Directories: dialer, Recorder: rec, Operator: "tech", Parallel: 4}
		if err := eng.Validate(p); err != nil {
			t.Fatal(err)
		}
		res := eng.Run(ctx, p, engine.Apply)
		for _, s := range append(res.Steps, res.Handover...) {
			if !s.Outcome.Done() {
				t.Fatalf("%s run: %s %s %q %+v", mode, s.ID, s.Outcome, s.Reason, s.Failure)
			}
		}
		return rec.RunID(), res
	}

	// Two hires set up: LV1 leaves, LV2 stays.
	hires := []plan.Hire{
		{ID: "LV1", Name: `Lee "Lefty" <Leaver> & Co`, Username: "lvleaver", Manager: "mia", Source: "lv1.yaml"},
		{ID: "LV2", Name: "Stan Stays", Username: "lvstays", Source: "lv2.yaml"},
	}
	pwFile := filepath.Join(e.dir, "lvleaver.pw")
	var setup []*plan.Step
	for i, h := range hires {
		acct := &plan.Step{ID: h.ID + ":account:" + h.Username, Kind: plan.KindAccount, Hire: h.ID, Directory: d.Name,
			Title: "Create account " + h.Username,
			Account: &plan.AccountSpec{Username: h.Username, EmployeeID: h.ID, GivenName: "Lee", Surname: "Test" + h.ID,
				DisplayName: h.Name, UIDMin: 20000 + 100*i, GIDNumber: 10000}}
		setup = append(setup, acct)
		for _, g := range []string{"sales", "crm-users"} {
			setup = append(setup, &plan.Step{ID: h.ID + ":membership:" + g, Kind: plan.KindMembership, Hire: h.ID, Directory: d.Name,
				Title: "Add " + h.Username + " to " + g, DependsOn: []string{acct.ID}, Membership: &plan.MembershipSpec{Username: h.Username, Group: g}})
		}
	}
	setup = append(setup, &plan.Step{ID: "LV1:activate:lvleaver", Kind: plan.KindActivate, Hire: "LV1", Directory: d.Name,
		Title: "Set the initial password", DependsOn: []string{"LV1:account:lvleaver"},
		Activate: &plan.ActivateSpec{Username: "lvleaver", Deliver: "file:" + pwFile, Length: 16}})
	setupID, _ := record(t, &plan.Plan{Version: 1, Created: time.Now().UTC(), Directories: map[string]*plan.Directory{d.Name: pd},
		Hires: hires, Steps: setup}, "apply")

	// The leave time falls a whole second after the password was set
	// (OpenLDAP dates it in seconds).
	time.Sleep(1100 * time.Millisecond)
	leaveAt := time.Now().Truncate(time.Second)
	leaver := hires[0]
	leaver.Source = "offboard LV1"
	leaver.Manual = []string{"Hand the mailbox of lvleaver over to mia"}
	off := &plan.Plan{Version: 1, Created: time.Now().UTC(), Directories: map[string]*plan.Directory{d.Name: pd},
		Hires: []plan.Hire{leaver},
		Steps: plan.LeaverSteps(plan.Leaver{Hire: "LV1", Username: "lvleaver", Directory: d.Name, LeaveAt: leaveAt,
			Groups: []string{"sales", "crm-users"}, Rule: plan.RulePlaced, Evidence: "run " + setupID,
			LeaversOU: "ou=Leavers," + d.BaseDN, Expire: true, TitleName: leaver.Name, Timeout: time.Minute})}
	offID, _ := record(t, off, "offboard")

	// By hand: the delivered password no longer binds.
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	c := ldapAs(t, d)
	u := entry(t, c, d.BaseDN, "(uid=lvleaver)", "uid")
	uc, err := ldap.DialURL(d.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: caPool(t, d)}))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if err := uc.Bind(u.DN, strings.TrimSpace(string(pw))); err == nil {
		t.Error("the leaver's password still binds after the offboarding")
	}

	t.Run("leaver report", func(t *testing.T) {
		groupsBefore := regexp.MustCompile(`groups \\?\[[^\]]*\] before`)
		volatile := []*regexp.Regexp{
			regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`),
			regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`),
		}
		for _, ext := range []string{"html", "md", "json"} {
			out := filepath.Join(e.dir, "leaver."+ext)
			code, stdout, stderr := e.onboard("report", "leaver", offID, "--out", out)
			if code != exitOK || !strings.Contains(stdout, "6 of 6 access removals proven") {
				t.Fatalf("report leaver --out %s: exit %d\n%s%s", out, code, stdout, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			s := strings.ReplaceAll(string(b), offID, "RUN-ID")
			for _, re := range volatile {
				s = re.ReplaceAllString(s, "TIME")
			}
			// The two group removals run at once: which of them saw the
			// other's group still there is a race, true either way.
			s = groupsBefore.ReplaceAllString(s, "groups [GROUPS] before")
			golden.Assert(t, filepath.Join("testdata", "leaver-lab."+ext), []byte(s))
		}
		// A setup run has no leaver report.
		if code, _, stderr := e.onboard("report", "leaver", setupID); code != exitInvalid || !strings.Contains(stderr, "not an offboarding") {
			t.Errorf("report leaver of a setup run: exit %d %s", code, stderr)
		}
	})

	audit := func(t *testing.T) (int, *result.Run, string) {
		t.Helper()
		code, out, stderr := e.onboard("audit", "-o", "json")
		var res result.Run
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("audit output: %v\n%s\n%s", err, out, stderr)
		}
		return code, &res, stderr
	}
	// checkStays: the ordinary hire is audited on its setup, as before.
	checkStays := func(t *testing.T, res *result.Run) {
		t.Helper()
		n := 0
		for _, s := range res.Steps {
			if s.Hire == "LV2" {
				n++
				if s.Outcome != result.OK {
					t.Errorf("LV2 %s: %s %+v", s.ID, s.Outcome, s.Failure)
				}
			}
		}
		if n != 3 {
			t.Errorf("LV2: %d steps audited, want its 3 setup steps", n)
		}
		for _, h := range res.Hires {
			if h.ID == "LV2" && (!strings.Contains(h.Source, "handed over in run "+setupID) || len(h.Added) > 0) {
				t.Errorf("LV2: source %q, added %v", h.Source, h.Added)
			}
			if h.ID == "LV1" && !strings.Contains(h.Source, "offboarded in run "+offID) {
				t.Errorf("LV1: source %q", h.Source)
			}
		}
	}
	t.Run("audit after the offboarding: no drift", func(t *testing.T) {
		code, res, stderr := audit(t)
		if code != exitOK {
			t.Fatalf("audit: exit %d: %s\n%+v", code, stderr, res.Steps)
		}
		kinds := map[string]bool{}
		for _, s := range res.Steps {
			if s.Hire == "LV1" {
				kinds[s.Kind] = true
			}
		}
		for _, k := range []string{plan.KindAccountDisable, plan.KindMembershipRemove, plan.KindPasswordScramble, plan.KindAccountMove, plan.KindAccountExpire} {
			if !kinds[k] {
				t.Errorf("the leaver's %s was not audited (%v)", k, kinds)
			}
		}
		if kinds[plan.KindAccount] || kinds[plan.KindMembership] {
			t.Errorf("the leaver was audited on its setup: %v", kinds)
		}
		checkStays(t, res)
	})

	mod := func(t *testing.T, m *ldap.ModifyRequest) {
		t.Helper()
		if err := c.Modify(m); err != nil {
			t.Fatal(err)
		}
	}
	salesDN := "cn=sales," + d.GroupsDN
	t.Run("re-enabled and put back in a group by hand: drift, named", func(t *testing.T) {
		m := ldap.NewModifyRequest(u.DN, nil)
		m.Delete("pwdAccountLockedTime", nil)
		mod(t, m)
		m = ldap.NewModifyRequest(salesDN, nil)
		m.Add("member", []string{u.DN})
		mod(t, m)
		code, res, stderr := audit(t)
		if code != exitDrift {
			t.Fatalf("audit: exit %d, want %d (drift): %s", code, exitDrift, stderr)
		}
		wantLines := []string{
			"leaver LV1's account lvleaver is enabled again (was disabled by run " + offID + ")",
			"leaver LV1 (lvleaver) is a member of sales again (was removed by run " + offID + ")",
		}
		failed := map[string]string{}
		for _, s := range res.Steps {
			if s.Outcome == result.Failed && s.Failure != nil {
				failed[s.ID] = s.Failure.Message
			} else if !s.Outcome.Done() {
				t.Errorf("%s: %s", s.ID, s.Outcome)
			}
		}
		if len(failed) != 2 || !strings.HasPrefix(failed["LV1:account-disable:lvleaver"], wantLines[0]) ||
			!strings.HasPrefix(failed["LV1:membership-remove:sales"], wantLines[1]) {
			t.Errorf("failed re-checks: %q", failed)
		}
		for _, w := range wantLines {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr does not say %q:\n%s", w, stderr)
			}
		}
		checkStays(t, res)
		// The drift rule fires on this audit, with the sentences.
		ruled := *off
		ruled.Hires = []plan.Hire{leaver}
		ruled.Hires[0].Notify = []plan.NotifyRule{{On: []string{notify.Drift}, Via: []string{"ops"},
			To: []plan.Recipient{{Who: "it-security@example.test", Address: "it-security@example.test"}}}}
		msgs := notify.Build(&ruled, res, notify.Options{Origin: res.ID})
		if len(msgs) != 1 || msgs[0].Event != notify.Drift || !strings.Contains(strings.Join(msgs[0].Drift, "\n"), wantLines[0]) {
			t.Errorf("drift notification: %+v", msgs)
		}
	})

	t.Run("put right again: no drift", func(t *testing.T) {
		m := ldap.NewModifyRequest(u.DN, nil)
		m.Add("pwdAccountLockedTime", []string{"000001010000Z"})
		mod(t, m)
		m = ldap.NewModifyRequest(salesDN, nil)
		m.Delete("member", []string{u.DN})
		mod(t, m)
		code, res, stderr := audit(t)
		if code != exitOK {
			t.Errorf("audit: exit %d: %s", code, stderr)
		}
		checkStays(t, res)
	})
}
