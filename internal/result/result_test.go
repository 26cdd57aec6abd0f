package result

import (
	"testing"
	"time"

	"onboard/internal/plan"
)

func TestWaiverExpiry(t *testing.T) {
	w := &plan.Waiver{Reason: "r", Expires: "2027-01-31"}
	berlin := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name    string
		now     time.Time
		expired bool
	}{
		{"the day before", time.Date(2027, 1, 30, 23, 59, 0, 0, time.UTC), false},
		{"its last day", time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC), false},
		{"the day after", time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), true},
		// 00:30 in Berlin on 1 February is still 31 January in UTC.
		{"UTC day, not local", time.Date(2027, 2, 1, 0, 30, 0, 0, berlin), false},
		{"a year later", time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NewWaiver(w, tc.now)
			if got.Expired != tc.expired || got.Reason != "r" || got.Expires != "2027-01-31" {
				t.Errorf("got %+v, want expired %v", got, tc.expired)
			}
		})
	}
	if NewWaiver(nil, time.Now()) != nil {
		t.Error("no waiver gave one")
	}
}

func TestReadyWithWaivers(t *testing.T) {
	now := time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC)
	holds := &plan.Waiver{Reason: "rollout in January", Expires: "2027-01-31"}
	past := &plan.Waiver{Reason: "old", Expires: "2027-01-14"}
	for _, tc := range []struct {
		name    string
		outcome Outcome
		waiver  *plan.Waiver
		ready   bool
	}{
		{"failed, no waiver", Failed, nil, false},
		{"failed, waived", Failed, holds, true},
		{"failed, waiver expired", Failed, past, false},
		{"passed, waived", OK, holds, true},
		{"passed, waiver expired", OK, past, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Step{ID: "E1:check:c", Kind: "check", Hire: "E1", Outcome: tc.outcome, Waiver: NewWaiver(tc.waiver, now)}
			h := s
			if !s.Outcome.Done() {
				h.Outcome = Skipped
			}
			r := &Run{Steps: []Step{{ID: "E1:file:x", Hire: "E1", Outcome: OK}, s}, Handover: []Step{h}}
			if got := r.Ready("E1"); got != tc.ready {
				t.Errorf("ready %v, want %v", got, tc.ready)
			}
		})
	}
}
