package engine

import (
	"context"
	"testing"
	"time"

	"onboard/internal/result"
	"onboard/internal/step"
)

// TestPrecheckedVerdictsAreReused: the apply after the plan shown first
// takes the plan's in-place verdicts while nothing has changed on the
// host, checks afresh once something has, and the handover re-checks
// every step whatever the plan said.
func TestPrecheckedVerdictsAreReused(t *testing.T) {
	tests := []struct {
		name string
		// applied before the plan: in place
		inPlace []string
		deps    bool
		// steps whose apply-time check must run (not taken from the plan)
		checked []string
	}{
		{"all in place: no check before handover", []string{"a-0", "a-1", "a-2", "b-0", "b-1", "b-2"}, false, nil},
		{"a change on a host: its later steps are checked", []string{"a-1", "a-2", "b-0", "b-1", "b-2"}, true, []string{"a-0", "a-1", "a-2"}},
		{"a change on another host only", []string{"a-0", "a-1", "a-2", "b-1", "b-2"}, true, []string{"b-0", "b-1", "b-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKind()
			for _, id := range tt.inPlace {
				k.applied[id] = true
			}
			p := testPlan([]string{"a", "b"}, 3, tt.deps)
			e := &Engine{Dialer: dialer{}, Parallel: 4, Kinds: map[string]step.Kind{"test": k}}
			e.Prechecked = e.Run(context.Background(), p, DryRun)
			k.mu.Lock()
			k.attempts = map[string]int{}
			k.mu.Unlock()
			var checks map[string]int
			e.Observer = observerFunc(func(ev result.Event) {
				if ev.Type == result.HandoverStarted {
					// What the apply checked, before the handover re-checks.
					k.mu.Lock()
					checks = map[string]int{}
					for id, n := range k.attempts {
						checks[id] = n
					}
					k.mu.Unlock()
				}
			})
			r := e.Run(context.Background(), p, Apply)
			want := map[string]bool{}
			for _, id := range tt.checked {
				want[id] = true
			}
			for _, s := range p.Steps {
				if got := checks[s.ID] > 0; got != want[s.ID] {
					t.Errorf("%s checked in the apply: %v, want %v", s.ID, got, want[s.ID])
				}
			}
			for _, s := range r.Steps {
				if !s.Outcome.Done() {
					t.Errorf("%s: %s", s.ID, s.Outcome)
				}
			}
			k.mu.Lock()
			defer k.mu.Unlock()
			for _, s := range p.Steps {
				if k.attempts[s.ID] <= checks[s.ID] {
					t.Errorf("%s was not re-checked at handover", s.ID)
				}
			}
			if !r.Ready("H-a") || !r.Ready("H-b") {
				t.Error("not ready")
			}
		})
	}
}

// TestPrecheckedIgnoredOutsideApply: a dry run or a re-check never takes
// an earlier verdict.
func TestPrecheckedIgnoredOutsideApply(t *testing.T) {
	k := newKind()
	p := testPlan([]string{"a"}, 2, false)
	k.applied["a-0"], k.applied["a-1"] = true, true
	e := &Engine{Dialer: dialer{}, Parallel: 2, RetryDelay: time.Millisecond, Kinds: map[string]step.Kind{"test": k}}
	e.Prechecked = e.Run(context.Background(), p, DryRun)
	for _, mode := range []Mode{DryRun, Recheck} {
		k.mu.Lock()
		k.attempts = map[string]int{}
		k.mu.Unlock()
		e.Run(context.Background(), p, mode)
		k.mu.Lock()
		if k.attempts["a-0"] != 1 || k.attempts["a-1"] != 1 {
			t.Errorf("mode %d: checks %v, want each step checked once", mode, k.attempts)
		}
		k.mu.Unlock()
	}
}
