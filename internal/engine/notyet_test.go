package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/step"
)

// early is a kind whose change is due later: not in place, and its apply
// refuses with a NotYetError, as the leaver kinds do before the leave time.
type early struct{ due time.Time }

func (early) Check(context.Context, *step.Exec, *plan.Step) (step.State, error) {
	return step.State{Action: plan.ActionUpdate, Reason: "enabled"}, nil
}

func (k early) Apply(context.Context, *step.Exec, *plan.Step) (string, error) {
	return "", &step.NotYetError{What: "disable ada", Due: k.due}
}

// A step refused because its time has not come fails with class not-yet,
// once (no retry), with the due time; the steps after it are skipped; a
// dry run shows it as would-change.
func TestNotYetIsItsOwnClass(t *testing.T) {
	due := time.Date(2031, 1, 2, 17, 0, 0, 0, time.UTC)
	p := &plan.Plan{Hosts: map[string]*plan.Host{"h": {Name: "h"}}, Hires: []plan.Hire{{ID: "E1", Host: "h"}}, Steps: []*plan.Step{
		{ID: "disable", Kind: "early", Hire: "E1", Host: "h"},
		{ID: "after", Kind: "early", Hire: "E1", Host: "h", DependsOn: []string{"disable"}},
	}}
	e := &Engine{Dialer: shDialer{}, Retries: 2, RetryDelay: time.Millisecond, Kinds: map[string]step.Kind{"early": early{due}}}
	got := byID(e.Run(context.Background(), p, Apply))
	d := got["disable"]
	if d.Outcome != result.Failed || d.Failure == nil || d.Failure.Class != result.ClassNotYet || d.Failure.Phase != "apply" ||
		d.Failure.Message != "not yet: disable ada is due at 2031-01-02T17:00:00Z" || d.Attempts != 1 {
		t.Errorf("a step not due yet: %s %+v, %d attempts", d.Outcome, d.Failure, d.Attempts)
	}
	if a := got["after"]; a.Outcome != result.Skipped || !strings.Contains(a.Reason, "disable") {
		t.Errorf("the step after it: %s %q", a.Outcome, a.Reason)
	}
	dry := byID(e.Run(context.Background(), p, DryRun))
	if d := dry["disable"]; d.Outcome != result.WouldChange || d.Failure != nil {
		t.Errorf("dry run: %s %+v", d.Outcome, d.Failure)
	}
}

// A leaver or removal step without its settings is refused before the run.
func TestLeaverKindsNeedTheirSpec(t *testing.T) {
	for _, kind := range []string{plan.KindMembershipRemove, plan.KindAccountDisable, plan.KindPasswordScramble, plan.KindAccountMove,
		plan.KindAccountExpire, plan.KindComputerDisable, plan.KindAccountEnable, plan.KindAccountDelete} {
		p := &plan.Plan{Directories: map[string]*plan.Directory{"d": {Name: "d"}},
			Steps: []*plan.Step{{ID: "s", Kind: kind, Hire: "E1", Directory: "d"}}}
		err := (&Engine{}).Validate(p)
		if err == nil || !strings.Contains(err.Error(), "no "+kind+" settings") {
			t.Errorf("%s without a spec: %v", kind, err)
		}
	}
}
