package journal

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"onboard/internal/result"
)

// TestGroupCommit: many goroutines recording through one Journal at once
// (the steps of many hosts finishing together) keep one valid chain with
// every record, and a record that cannot be written fails only its own
// caller, even when it shared a commit with others.
func TestGroupCommit(t *testing.T) {
	const writers, steps = 20, 60
	ctx := context.Background()
	j, _ := openTemp(t)
	var runs []string
	for w := range writers {
		id := fmt.Sprintf("r%d", w)
		if _, err := j.StartRun(ctx, RunStart{ID: id, Operator: "alice"}); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, id)
	}
	// A finished run: recording its end again must fail, for that caller.
	done := "finished"
	if _, err := j.StartRun(ctx, RunStart{ID: done, Operator: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Record(ctx, done, result.Event{Type: result.RunFinished, Run: &result.Run{ID: done}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	var refused []error
	var mu sync.Mutex
	for _, id := range runs {
		wg.Go(func() { errs <- writeSteps(ctx, j, id, steps, nil) })
	}
	for range 10 {
		wg.Go(func() {
			err := j.Record(ctx, done, result.Event{Type: result.RunFinished, Run: &result.Run{ID: done}})
			mu.Lock()
			refused = append(refused, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a writer failed: %v", err)
		}
	}
	for _, err := range refused {
		if err == nil || !strings.Contains(err.Error(), "already finished") {
			t.Errorf("recording a finished run's end again: %v, want already finished", err)
		}
	}
	// Records: each run's start, its steps, half of them started too; the
	// finished run's start and end.
	checkAll(t, j, runs, steps, writers*(1+steps+steps/2)+2)
}
