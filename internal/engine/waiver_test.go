package engine

import (
	"context"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/step"
)

// A waived check that fails leaves the hire ready until the waiver's last
// day (UTC, on the engine's clock); from the day after it counts again.
// A check's own verdict exits say "cannot tell" (never a pass) and "not
// applicable" (a pass that says so).
func TestWaiversAndVerdictExits(t *testing.T) {
	p := &plan.Plan{Hosts: map[string]*plan.Host{"h": {Name: "h"}}, Hires: []plan.Hire{{ID: "E1", Host: "h"}}}
	add := func(id, run string, w *plan.Waiver) {
		p.Steps = append(p.Steps, &plan.Step{ID: id, Kind: plan.KindCheck, Hire: "E1", Host: "h", Timeout: plan.Duration(10 * time.Second),
			Check: &plan.CheckSpec{Name: id, Set: "baseline@1", Waiver: w,
				Command: &plan.CommandCheck{Run: run, CannotTellExit: 3, NotApplicableExit: 4}}})
	}
	add("firewall", "echo 'no input chain'; exit 1", &plan.Waiver{Reason: "rollout in January", Expires: "2027-01-31"})
	add("screen", "echo 'no desktop'; exit 4", nil)
	add("disk", "echo 'no block devices'; exit 3", &plan.Waiver{Reason: "re-imaged next week", Expires: "2027-01-31"})
	for _, tc := range []struct {
		name    string
		now     time.Time
		expired bool
	}{
		{"on its last day", time.Date(2027, 1, 31, 23, 30, 0, 0, time.UTC), false},
		{"the day after", time.Date(2027, 2, 1, 0, 0, 1, 0, time.UTC), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Engine{Dialer: shDialer{}, Kinds: map[string]step.Kind{plan.KindCheck: step.Check{}}, Now: func() time.Time { return tc.now }}
			r := e.Run(context.Background(), p, Apply)
			got := byID(r)
			fw := got["firewall"]
			if fw.Outcome != result.Failed || fw.Failure == nil || fw.Failure.Message != `"echo 'no input chain'; exit 1" exited 1, want 0: no input chain` ||
				fw.Set != "baseline@1" || fw.Waiver == nil || fw.Waiver.Expired != tc.expired || fw.Waived() == tc.expired {
				t.Errorf("firewall: %s %+v set %q waiver %+v", fw.Outcome, fw.Failure, fw.Set, fw.Waiver)
			}
			if s := got["screen"]; s.Outcome != result.OK || s.Reason != "not applicable: no desktop" {
				t.Errorf("screen: %s %q", s.Outcome, s.Reason)
			}
			d := got["disk"]
			if d.Outcome != result.Failed || d.Failure == nil || d.Failure.Class != result.ClassCannotRun || d.Failure.Message != "cannot tell: no block devices" {
				t.Errorf("disk: %s %+v", d.Outcome, d.Failure)
			}
			if ready := r.Ready("E1"); ready == tc.expired {
				t.Errorf("ready %v with waivers expired %v", ready, tc.expired)
			}
			for _, h := range r.Handover {
				if h.ID == "firewall" && (h.Waiver == nil || h.Waived() == tc.expired) {
					t.Errorf("the handover re-check lost the waiver: %+v", h)
				}
			}
		})
	}
}
