package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// recordRun journals a finished run of p with mode, every step changed
// and re-checked in place but those failed names (failed, not re-checked).
func recordRun(t *testing.T, j *journal.Journal, p *plan.Plan, mode string, at time.Time, failed ...string) string {
	t.Helper()
	ctx := context.Background()
	id, err := j.StartRun(ctx, journal.RunStart{Operator: "tech", Trigger: "cli", Mode: mode, Plan: p, Started: at})
	if err != nil {
		t.Fatal(err)
	}
	var steps, handover []result.Step
	for _, s := range p.Steps {
		rs := result.Step{ID: s.ID, Kind: s.Kind, Hire: s.Hire, Title: s.Title, Outcome: result.Changed, Changed: "did " + s.Kind}
		if slices.Contains(failed, s.ID) {
			rs.Outcome, rs.Changed = result.Failed, ""
			rs.Failure = &result.Failure{Step: s.ID, Phase: "apply", Message: "insufficient access"}
		}
		if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Time: at, RunID: id, Step: &rs}); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, rs)
		if rs.Outcome == result.Failed {
			continue
		}
		rs.Outcome = result.OK
		handover = append(handover, rs)
	}
	run := &result.Run{ID: id, Started: at, Finished: at.Add(time.Minute), Steps: steps, Handover: handover}
	if err := j.Record(ctx, id, result.Event{Type: result.RunFinished, Time: at.Add(time.Minute), RunID: id, Run: run}); err != nil {
		t.Fatal(err)
	}
	return id
}

// A hire whose latest run is an offboarding is audited on that run's
// steps and named a leaver; a hire only set up is audited as before.
func TestAuditPlansTakesLeavers(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	dirs := map[string]*plan.Directory{"corp": {Name: "corp", Kind: "openldap"}}
	setup := &plan.Plan{Version: 1, Created: t0, Directories: dirs, Hires: []plan.Hire{{ID: "E1", Source: "e1.yaml"}, {ID: "E2", Source: "e2.yaml"}}}
	for _, h := range []string{"E1", "E2"} {
		setup.Steps = append(setup.Steps,
			&plan.Step{ID: h + ":account:u", Kind: plan.KindAccount, Hire: h, Directory: "corp", Account: &plan.AccountSpec{Username: "u" + h}},
			&plan.Step{ID: h + ":membership:sales", Kind: plan.KindMembership, Hire: h, Directory: "corp", Membership: &plan.MembershipSpec{Username: "u" + h, Group: "sales"}})
	}
	setupID := recordRun(t, j, setup, "apply", t0)
	off := &plan.Plan{Version: 1, Created: t0, Directories: dirs, Hires: []plan.Hire{{ID: "E1", Source: "offboard E1"}},
		Steps: plan.LeaverSteps(plan.Leaver{Hire: "E1", Username: "uE1", Directory: "corp", LeaveAt: t0, Groups: []string{"sales"}})}
	offID := recordRun(t, j, off, "offboard", t0.Add(time.Hour))

	p, leavers, err := auditPlans(ctx, j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(leavers) != 1 || leavers["E1"] != offID {
		t.Errorf("leavers %v, want E1 from %s", leavers, offID)
	}
	kinds := map[string][]string{}
	for _, s := range p.Steps {
		kinds[s.Hire] = append(kinds[s.Hire], s.Kind)
	}
	if got := strings.Join(kinds["E1"], " "); got != "account-disable membership-remove password-scramble" {
		t.Errorf("E1 audited on %s, want its offboarding's steps", got)
	}
	if got := strings.Join(kinds["E2"], " "); got != "account membership" {
		t.Errorf("E2 audited on %s, want its setup", got)
	}
	for _, h := range p.Hires {
		want := map[string]string{"E1": "offboard E1 (offboarded in run " + offID + ")", "E2": "e2.yaml (handed over in run " + setupID + ")"}[h.ID]
		if h.Source != want {
			t.Errorf("%s: source %q, want %q", h.ID, h.Source, want)
		}
	}
}

func TestLeaverDrift(t *testing.T) {
	p := &plan.Plan{Steps: append(plan.LeaverSteps(plan.Leaver{Hire: "E260", Username: "nx", Directory: "corp", Groups: []string{"sales"},
		LeaversOU: "ou=Leavers,dc=x", Computer: "PC1"}),
		&plan.Step{ID: "E260:login-revoke:nx", Kind: plan.KindLoginRevoke, Hire: "E260", Host: "ws6", LoginRevoke: &plan.LoginRevokeSpec{User: "nx"}},
		&plan.Step{ID: "E2:account:u", Kind: plan.KindAccount, Hire: "E2", Directory: "corp", Account: &plan.AccountSpec{Username: "u"}})}
	for _, tc := range []struct {
		name, id string
		step     result.Step
		want     string // the line; empty: not a leaver's drift
	}{
		{"re-enabled", "E260:account-disable:nx", result.Step{Outcome: result.Failed, Action: "update", Failure: &result.Failure{Phase: "check", Message: "account nx (uid=nx) is enabled"}},
			"leaver E260's account nx is enabled again (was disabled by run R)"},
		{"back in a group", "E260:membership-remove:sales", result.Step{Outcome: result.Failed, Action: "update", Failure: &result.Failure{Phase: "check", Message: "nx is a member of sales"}},
			"leaver E260 (nx) is a member of sales again (was removed by run R)"},
		{"moved back", "E260:account-move:nx", result.Step{Outcome: result.Failed, Action: "update", Failure: &result.Failure{Phase: "check", Message: "x"}},
			"leaver E260's account nx is no longer in ou=Leavers,dc=x (was moved there by run R)"},
		{"computer", "E260:computer-disable:PC1", result.Step{Outcome: result.Failed, Action: "update", Failure: &result.Failure{Phase: "check", Message: "x"}},
			"leaver E260's computer account PC1 is enabled again (was disabled by run R)"},
		{"sign-in", "E260:login-revoke:nx", result.Step{Outcome: result.Failed, Action: "update", Failure: &result.Failure{Phase: "check", Message: "x"}},
			"leaver E260 (nx) may sign in on ws6 again (access was ended by run R)"},
		{"cannot read", "E260:account-disable:nx", result.Step{Outcome: result.Failed, Failure: &result.Failure{Phase: "check", Message: "dial: refused"}},
			`leaver E260: cannot tell whether "Disable nx's account nx in corp" still holds (done by run R)`},
		{"in place", "E260:account-disable:nx", result.Step{Outcome: result.OK}, ""},
		{"not a leaver", "E2:account:u", result.Step{Outcome: result.Failed, Action: "create", Failure: &result.Failure{Phase: "check", Message: "no account"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.step
			s.ID, s.Hire = tc.id, p.Step(tc.id).Hire
			was := ""
			if s.Failure != nil {
				was = s.Failure.Message
			}
			res := &result.Run{Audit: true, Steps: []result.Step{s}}
			lines := leaverDrift(res, p, map[string]string{"E260": "R"})
			if tc.want == "" {
				if len(lines) != 0 || (s.Failure != nil && res.Steps[0].Failure.Message != was) {
					t.Errorf("lines %q, message %q", lines, res.Steps[0].Failure.Message)
				}
				return
			}
			if len(lines) != 1 || lines[0] != tc.want {
				t.Errorf("lines %q, want %q", lines, tc.want)
			}
			if got := res.Steps[0].Failure.Message; got != tc.want+": "+was {
				t.Errorf("message %q", got)
			}
		})
	}
}
