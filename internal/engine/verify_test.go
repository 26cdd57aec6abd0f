package engine

import (
	"context"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/result"
	"onboard/internal/step"
)

// dirHost is a host whose only state is which paths exist: it answers
// "test -e P" and runs "mkdir -p P", in batches (remote.BatchRunner) or on
// their own, and logs every round trip.
type dirHost struct {
	mu    sync.Mutex
	paths map[string]bool
	log   []string
}

func (h *dirHost) do(cmd string) int {
	switch {
	case strings.HasPrefix(cmd, "test -e "):
		if h.paths[strings.TrimPrefix(cmd, "test -e ")] {
			return 0
		}
		return 1
	case strings.HasPrefix(cmd, "mkdir -p "):
		h.paths[strings.TrimPrefix(cmd, "mkdir -p ")] = true
		return 0
	}
	return 127
}

func (h *dirHost) Run(_ context.Context, c remote.Cmd) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, "run "+c.Command)
	return h.do(c.Command), nil
}

func (h *dirHost) RunBatch(_ context.Context, cmds []remote.Cmd) ([]int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	codes := make([]int, len(cmds))
	var words []string
	for i, c := range cmds {
		codes[i] = h.do(c.Command)
		words = append(words, strings.TrimPrefix(c.Command, "test -e "))
	}
	h.log = append(h.log, "batch test -e "+strings.Join(words, " "))
	return codes, nil
}

func (h *dirHost) Upload(context.Context, string, io.Reader, fs.FileMode, bool) error { return nil }
func (h *dirHost) Close() error                                                       { return nil }

type dirDialer struct{ h *dirHost }

func (d dirDialer) Dial(context.Context, *plan.Host) (remote.Communicator, error) { return d.h, nil }

// TestVerifyReadsWithTheNextChecks: after a change, the changed step's
// verify and the host's pending checks are read in one batch, after the
// change; a read made before a change is never used after it (else the
// verifies would find nothing made); the handover reads afresh.
func TestVerifyReadsWithTheNextChecks(t *testing.T) {
	p := &plan.Plan{Hosts: map[string]*plan.Host{"ws1": {Name: "ws1"}}, Hires: []plan.Hire{{ID: "H", Host: "ws1"}}}
	for _, d := range []string{"/a", "/b", "/c"} {
		p.Steps = append(p.Steps, &plan.Step{ID: "cmd:" + d, Kind: plan.KindCommand, Hire: "H", Host: "ws1", Timeout: plan.Duration(time.Minute),
			Command: &plan.CommandSpec{Run: "mkdir -p " + d, Creates: d}})
	}
	h := &dirHost{paths: map[string]bool{"/b": true}}
	e := &Engine{Dialer: dirDialer{h}, Parallel: 1, Retries: 0, RetryDelay: time.Millisecond,
		Kinds: map[string]step.Kind{plan.KindCommand: step.Command{}}}
	r := e.Run(context.Background(), p, Apply)
	want := []string{
		"batch test -e /a /b /c", // the checks, before any change
		"run mkdir -p /a",
		"batch test -e /a /b /c", // /a's verify, /b's and /c's checks: after the change
		"run mkdir -p /c",        // /b was in place: no change, no read
		"run test -e /c",         // /c's verify: the only read left
		"batch test -e /a /b /c", // the handover
	}
	if got := strings.Join(h.log, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("round trips:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	outcomes := map[string]result.Outcome{"cmd:/a": result.Changed, "cmd:/b": result.OK, "cmd:/c": result.Changed}
	for _, s := range r.Steps {
		if s.Outcome != outcomes[s.ID] {
			t.Errorf("%s: %s (%s), want %s", s.ID, s.Outcome, s.Reason, outcomes[s.ID])
		}
	}
	for _, s := range r.Handover {
		if s.Outcome != result.OK {
			t.Errorf("handover %s: %s (%s)", s.ID, s.Outcome, s.Reason)
		}
	}
	if !r.Ready("H") {
		t.Errorf("not ready after a clean run: %+v", r.Handover)
	}
}
