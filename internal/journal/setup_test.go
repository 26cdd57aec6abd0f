package journal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
)

// leaverStep is a leaver kind's step of hire E7 (ada), leaving at left.
func leaverStep(kind string, left time.Time) *plan.Step {
	return &plan.Step{ID: "E7:" + kind + ":ada", Kind: kind, Hire: "E7", Directory: "corp", Title: kind + " ada",
		Leaver: &plan.LeaverSpec{Username: "ada", EmployeeID: "E7", NotBefore: left}}
}

// The history names the latest run that set the hire up (not an
// offboarding), with its steps, hosts and directories, and the leave time
// of the latest offboarding whose disable was done.
func TestHistorySetupAndLeave(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)
	left := time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)
	type run struct {
		profile string
		steps   []*plan.Step
		outcome []result.Outcome
	}
	runs := []run{
		{"engineering", []*plan.Step{histStep("account"), histStep("group eng"), histStep("htop")}, []result.Outcome{result.Changed, result.Changed, result.Changed}},
		{"sales", []*plan.Step{histStep("account"), histStep("remove group eng")}, []result.Outcome{result.OK, result.Changed}},
		// An offboarding before the leave time: the disable not yet.
		{"sales", []*plan.Step{leaverStep(plan.KindAccountDisable, left), leaverStep(plan.KindAccountExpire, left)}, []result.Outcome{result.Failed, result.Changed}},
		// At the leave time.
		{"sales", []*plan.Step{leaverStep(plan.KindAccountDisable, left), leaverStep(plan.KindAccountExpire, left)}, []result.Outcome{result.Changed, result.OK}},
	}
	want := []struct {
		setupRun, profile string
		steps             int
		leftRun           string
	}{
		{"run-1", "engineering", 3, ""},
		{"run-2", "sales", 2, ""},
		{"run-2", "sales", 2, ""},
		{"run-2", "sales", 2, "run-4"},
	}
	for i, r := range runs {
		id := fmt.Sprintf("run-%d", i+1)
		p := &plan.Plan{Version: 1, Created: t0, Hosts: map[string]*plan.Host{"ws1": {Name: "ws1", Address: "10.0.0.1", OS: "linux", Transport: "ssh", User: "root"}},
			Directories: map[string]*plan.Directory{"corp": {Name: "corp", Kind: "openldap"}},
			Hires:       []plan.Hire{{ID: "E7", Name: "Ada", Username: "ada", Profile: r.profile, Host: "ws1"}}, Steps: r.steps}
		if _, err := j.StartRun(ctx, RunStart{ID: id, Operator: "alice", Trigger: "cli", Mode: "apply", Plan: p, Started: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for k, s := range r.steps {
			st := result.Step{ID: s.ID, Kind: s.Kind, Hire: "E7", Host: s.Host, Title: s.Title, Outcome: r.outcome[k], Action: string(plan.ActionCreate)}
			if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Step: &st, Time: t0.Add(time.Duration(i)*time.Hour + time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		h, err := j.History(ctx, "E7")
		if err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if h.Setup == nil || h.SetupRun != w.setupRun || h.Setup.Profile != w.profile || len(h.SetupSteps) != w.steps {
			t.Fatalf("after run %d: setup %s %+v with %d steps, want %s %s with %d", i+1, h.SetupRun, h.Setup, len(h.SetupSteps), w.setupRun, w.profile, w.steps)
		}
		if h.SetupDirectories["corp"] == nil || (w.steps == 3) != (h.SetupHosts["ws1"] != nil) {
			t.Errorf("after run %d: setup hosts %v, directories %v", i+1, h.SetupHosts, h.SetupDirectories)
		}
		if h.LeftRun != w.leftRun || (w.leftRun != "") != h.LeftAt.Equal(left) {
			t.Errorf("after run %d: left %s at %v, want %q at %v", i+1, h.LeftRun, h.LeftAt, w.leftRun, left)
		}
	}
}
