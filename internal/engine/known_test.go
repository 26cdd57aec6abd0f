package engine

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"onboard/internal/kb"
	"onboard/internal/result"
	"onboard/internal/step"
)

type stepEvents struct {
	mu    sync.Mutex
	known map[string]*result.Known // step id -> Known as its step-finished event carried it
}

func (o *stepEvents) Event(ev result.Event) {
	if ev.Type != result.StepFinished || ev.Step == nil || ev.Step.Failure == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.known[ev.Step.ID] = ev.Step.Failure.Known
}

// The knowledge base is matched as a failure is recorded: the event the
// journal and the notifications see carries the article, and so does the
// run the reports are made from.
func TestFailuresCarryTheKnownFix(t *testing.T) {
	dir := t.TempDir()
	article := "---\nid: no-package\ntitle: No such package\nlink: https://kb.example.test/p\nmatches:\n  - phase: apply\n    output: no such package\n---\nRun apt-get update.\n"
	if err := os.WriteFile(filepath.Join(dir, "p.md"), []byte(article), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := kb.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	k := newKind()
	k.failing["a-1"] = true
	obs := &stepEvents{known: map[string]*result.Known{}}
	e := &Engine{Dialer: dialer{}, Parallel: 2, RetryDelay: time.Millisecond, Kinds: map[string]step.Kind{"test": k}, Observer: obs, Known: base}
	r := e.Run(context.Background(), testPlan([]string{"a"}, 2, false), Apply)
	want := result.Known{ID: "no-package", Title: "No such package", Fix: "Run apt-get update.", Link: "https://kb.example.test/p"}
	got := byID(r)["a-1"].Failure
	if got == nil || got.Known == nil || *got.Known != want {
		t.Fatalf("failure of a-1 = %+v", got)
	}
	if k := obs.known["a-1"]; k == nil || *k != want {
		t.Errorf("the step-finished event carried %+v", k)
	}
	if f := byID(r)["a-0"].Failure; f != nil {
		t.Errorf("a-0 failed: %+v", f)
	}
}
