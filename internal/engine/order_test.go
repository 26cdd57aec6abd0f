package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"onboard/internal/plan"
	"onboard/internal/step"
)

// orderKind records the order in which steps apply.
type orderKind struct {
	mu    sync.Mutex
	order []string
}

func (k *orderKind) Check(context.Context, *step.Exec, *plan.Step) (step.State, error) {
	return step.State{Action: plan.ActionCreate, Reason: "missing"}, nil
}

func (k *orderKind) Apply(_ context.Context, _ *step.Exec, s *plan.Step) (string, error) {
	k.mu.Lock()
	k.order = append(k.order, s.ID)
	k.mu.Unlock()
	return "done", nil
}

func (k *orderKind) Verify(context.Context, *step.Exec, *plan.Step) error { return nil }

// TestHostStepsInPlanOrder: the independent steps of one host run in the
// plan's order every time, whatever order their goroutines arrive in;
// steps that depend on others run once those are done.
func TestHostStepsInPlanOrder(t *testing.T) {
	for round := range 30 {
		k := &orderKind{}
		p := testPlan([]string{"a", "b"}, 8, false)
		// b-3 waits for a-7: b's later steps do not wait for it.
		for _, s := range p.Steps {
			if s.ID == "b-3" {
				s.DependsOn = []string{"a-7"}
			}
		}
		e := &Engine{Dialer: dialer{}, Parallel: 16, Kinds: map[string]step.Kind{"test": k}}
		r := e.Run(context.Background(), p, Apply)
		for _, s := range r.Steps {
			if !s.Outcome.Done() {
				t.Fatalf("round %d: %s %s", round, s.ID, s.Outcome)
			}
		}
		var a, b []string
		for _, id := range k.order {
			if id[0] == 'a' {
				a = append(a, id)
			} else {
				b = append(b, id)
			}
		}
		var wantA []string
		for i := range 8 {
			wantA = append(wantA, fmt.Sprintf("a-%d", i))
		}
		if !slices.Equal(a, wantA) {
			t.Fatalf("round %d: host a ran %v, want the plan's order", round, a)
		}
		// b's ready steps in order; b-3 whenever a-7 is done, after it.
		var bNo3 []string
		for _, id := range b {
			if id != "b-3" {
				bNo3 = append(bNo3, id)
			}
		}
		if !slices.IsSorted(bNo3) {
			t.Fatalf("round %d: host b ran %v", round, b)
		}
		if slices.Index(k.order, "b-3") < slices.Index(k.order, "a-7") {
			t.Fatalf("round %d: b-3 ran before its dependency a-7: %v", round, k.order)
		}
	}
}
