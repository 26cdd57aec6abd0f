package main

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// Which hires an audit takes from a run that failed: a hire whose only
// failure is a check a waiver excused was handed over, so it is audited;
// one with a failed step, or whose waiver had expired, was not.
func TestAuditPlanTakesWaivedHandovers(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	p := &plan.Plan{Version: 1, Created: t0, Hosts: map[string]*plan.Host{"ws1": {Name: "ws1"}}, Directories: map[string]*plan.Directory{}}
	var steps, handover []result.Step
	for _, h := range []struct {
		id      string
		outcome result.Outcome
		waiver  *result.Waiver
	}{
		{"WAIVED", result.Failed, &result.Waiver{Reason: "TPM on order", Expires: "2099-12-31"}},
		{"EXPIRED", result.Failed, &result.Waiver{Reason: "TPM on order", Expires: "2026-01-31", Expired: true}},
		{"FAILED", result.Failed, nil},
		{"PASSED", result.OK, nil},
	} {
		p.Hires = append(p.Hires, plan.Hire{ID: h.id, Host: "ws1", Source: "hire.yaml"})
		pkg := &plan.Step{ID: h.id + ":package:htop", Kind: plan.KindPackage, Hire: h.id, Host: "ws1", Package: &plan.PackageSpec{Package: "htop"}}
		chk := &plan.Step{ID: h.id + ":check:disk", Kind: plan.KindCheck, Hire: h.id, Host: "ws1", Check: &plan.CheckSpec{Name: "disk"}}
		p.Steps = append(p.Steps, pkg, chk)
		steps = append(steps,
			result.Step{ID: pkg.ID, Kind: "package", Hire: h.id, Host: "ws1", Outcome: result.Changed},
			result.Step{ID: chk.ID, Kind: "check", Hire: h.id, Host: "ws1", Outcome: h.outcome, Waiver: h.waiver})
		re := result.OK
		if h.outcome != result.OK {
			re = result.Skipped // a step that did not finish done is not re-checked
		}
		handover = append(handover,
			result.Step{ID: pkg.ID, Kind: "package", Hire: h.id, Host: "ws1", Outcome: result.OK},
			result.Step{ID: chk.ID, Kind: "check", Hire: h.id, Host: "ws1", Outcome: re, Waiver: h.waiver})
	}
	id, err := j.StartRun(ctx, journal.RunStart{Operator: "tech", Trigger: "cli", Mode: "apply", Plan: p, Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	for i := range steps {
		if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Time: t0, RunID: id, Step: &steps[i]}); err != nil {
			t.Fatal(err)
		}
	}
	run := &result.Run{ID: id, Started: t0, Finished: t0.Add(time.Minute), Steps: steps, Handover: handover}
	if err := j.Record(ctx, id, result.Event{Type: result.RunFinished, Time: t0.Add(time.Minute), RunID: id, Run: run}); err != nil {
		t.Fatal(err)
	}

	ap, err := auditPlan(ctx, j, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hires []string
	for _, h := range ap.Hires {
		hires = append(hires, h.ID)
	}
	sort.Strings(hires)
	if got := strings.Join(hires, " "); got != "PASSED WAIVED" {
		t.Errorf("audited %s, want PASSED WAIVED (the run failed, for EXPIRED and FAILED)", got)
	}
	if _, err := auditPlan(ctx, j, map[string]bool{"FAILED": true}); err == nil || !strings.Contains(err.Error(), "no completed (handed over) run of hire FAILED") {
		t.Errorf("auditing a hire never handed over: %v", err)
	}
}
