package engine

// These tests pin the scheduling rules with step kinds written for the
// test; the real kinds and transports are exercised against the lab in
// cmd/onboard's end-to-end tests.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/result"
	"onboard/internal/step"
)

// nullComm is a connection that is never used by the test kinds.
type nullComm struct{}

func (nullComm) Run(context.Context, remote.Cmd) (int, error) { return 0, nil }
func (nullComm) Upload(context.Context, string, io.Reader, fs.FileMode, bool) error {
	return nil
}
func (nullComm) Close() error { return nil }

type dialer struct {
	fail map[string]error
}

func (d dialer) Dial(_ context.Context, h *plan.Host) (remote.Communicator, error) {
	if err := d.fail[h.Name]; err != nil {
		return nil, err
	}
	return nullComm{}, nil
}

// testKind behaves per step id as the test says: in place, needs a change,
// fails to apply, faults transiently n times, or hangs.
type testKind struct {
	mu       sync.Mutex
	applied  map[string]bool
	faults   map[string]int // transient faults left per step
	failing  map[string]bool
	hang     map[string]bool
	attempts map[string]int
	running  map[string]int // per host, concurrently
	maxHost  int
	maxAll   int
	all      int
}

func newKind() *testKind {
	return &testKind{applied: map[string]bool{}, faults: map[string]int{}, failing: map[string]bool{}, hang: map[string]bool{},
		attempts: map[string]int{}, running: map[string]int{}}
}

func (k *testKind) enter(s *plan.Step) func() {
	k.mu.Lock()
	k.running[s.Host]++
	k.all++
	k.maxHost = max(k.maxHost, k.running[s.Host])
	k.maxAll = max(k.maxAll, k.all)
	k.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	return func() {
		k.mu.Lock()
		k.running[s.Host]--
		k.all--
		k.mu.Unlock()
	}
}

func (k *testKind) Check(ctx context.Context, x *step.Exec, s *plan.Step) (step.State, error) {
	defer k.enter(s)()
	k.mu.Lock()
	k.attempts[s.ID]++
	if k.faults[s.ID] > 0 {
		k.faults[s.ID]--
		k.mu.Unlock()
		return step.State{}, fmt.Errorf("%s: %w", s.Host, remote.ErrConnectionLost)
	}
	done := k.applied[s.ID]
	hang := k.hang[s.ID]
	k.mu.Unlock()
	if hang {
		<-ctx.Done()
		return step.State{}, ctx.Err()
	}
	if done {
		return step.State{InPlace: true, Action: plan.ActionNone}, nil
	}
	return step.State{Action: plan.ActionCreate, Reason: "missing"}, nil
}

func (k *testKind) Apply(ctx context.Context, x *step.Exec, s *plan.Step) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failing[s.ID] {
		return "", &step.CommandError{Host: s.Host, Out: step.Out{Command: "install " + s.ID, ExitCode: 100, Stderr: "E: no such package"}}
	}
	k.applied[s.ID] = true
	return "made " + s.ID, nil
}

func testPlan(hosts []string, stepsPerHost int, deps bool) *plan.Plan {
	p := &plan.Plan{Hosts: map[string]*plan.Host{}}
	for _, h := range hosts {
		p.Hosts[h] = &plan.Host{Name: h}
		p.Hires = append(p.Hires, plan.Hire{ID: "H-" + h, Host: h})
		prev := ""
		for i := 0; i < stepsPerHost; i++ {
			s := &plan.Step{ID: fmt.Sprintf("%s-%d", h, i), Kind: "test", Hire: "H-" + h, Host: h, Timeout: plan.Duration(time.Second)}
			if deps && prev != "" {
				s.DependsOn = []string{prev}
			}
			prev = s.ID
			p.Steps = append(p.Steps, s)
		}
	}
	return p
}

func runWith(k *testKind, d dialer, p *plan.Plan, mode Mode, par int) *result.Run {
	e := &Engine{Dialer: d, Parallel: par, Retries: 2, RetryDelay: time.Millisecond, Kinds: map[string]step.Kind{"test": k}}
	return e.Run(context.Background(), p, mode)
}

func byID(r *result.Run) map[string]result.Step {
	m := map[string]result.Step{}
	for _, s := range r.Steps {
		m[s.ID] = s
	}
	return m
}

func TestApplyThenRerun(t *testing.T) {
	k := newKind()
	p := testPlan([]string{"a", "b"}, 3, true)
	r := runWith(k, dialer{}, p, Apply, 4)
	for _, s := range r.Steps {
		if s.Outcome != result.Changed || s.Action != string(plan.ActionCreate) {
			t.Errorf("%s: %s (planned action %q)", s.ID, s.Outcome, s.Action)
		}
	}
	if !r.Ready("H-a") || len(r.Handover) != 6 {
		t.Errorf("not ready after a clean run: handover %d", len(r.Handover))
	}
	r = runWith(k, dialer{}, p, Apply, 4)
	for _, s := range r.Steps {
		if s.Outcome != result.OK || s.Action != string(plan.ActionNone) {
			t.Errorf("re-run %s: %s (planned action %q)", s.ID, s.Outcome, s.Action)
		}
	}
}

func TestFailureSkipsOnlyDependents(t *testing.T) {
	k := newKind()
	k.failing["a-1"] = true
	p := testPlan([]string{"a", "b"}, 3, true)
	r := runWith(k, dialer{}, p, Apply, 4)
	got := byID(r)
	want := map[string]result.Outcome{"a-0": result.Changed, "a-1": result.Failed, "a-2": result.Skipped,
		"b-0": result.Changed, "b-1": result.Changed, "b-2": result.Changed}
	for id, o := range want {
		if got[id].Outcome != o {
			t.Errorf("%s: %s, want %s", id, got[id].Outcome, o)
		}
	}
	f := got["a-1"].Failure
	if f == nil || f.Host != "a" || f.Phase != "apply" || f.ExitCode != 100 || !strings.Contains(f.Output, "no such package") || f.Command != "install a-1" {
		t.Errorf("failure = %+v", f)
	}
	if k.attempts["a-1"] != 1 {
		t.Errorf("a real failure was retried: %d attempts", k.attempts["a-1"])
	}
	if !strings.Contains(got["a-2"].Reason, "a-1") {
		t.Errorf("skip reason does not name the failed step: %q", got["a-2"].Reason)
	}
	if r.Ready("H-a") || !r.Ready("H-b") {
		t.Errorf("ready: a=%v b=%v", r.Ready("H-a"), r.Ready("H-b"))
	}
}

func TestTransientFaultsAreRetried(t *testing.T) {
	k := newKind()
	k.faults["a-0"] = 2 // cured on the third attempt
	k.faults["b-0"] = 5 // never cured within 2 retries
	p := testPlan([]string{"a", "b"}, 1, false)
	got := byID(runWith(k, dialer{}, p, Apply, 4))
	if got["a-0"].Outcome != result.Changed || got["a-0"].Attempts != 3 {
		t.Errorf("a-0: %s after %d attempts", got["a-0"].Outcome, got["a-0"].Attempts)
	}
	if got["b-0"].Outcome != result.Failed || got["b-0"].Attempts != 3 || !strings.Contains(got["b-0"].Failure.Message, "connection lost") {
		t.Errorf("b-0: %s after %d attempts: %+v", got["b-0"].Outcome, got["b-0"].Attempts, got["b-0"].Failure)
	}
}

func TestLimits(t *testing.T) {
	k := newKind()
	hosts := []string{"a", "b", "c", "d", "e", "f"}
	p := testPlan(hosts, 4, false) // independent steps: only the host lock orders them
	runWith(k, dialer{}, p, Apply, 3)
	if k.maxHost != 1 {
		t.Errorf("%d steps ran at once on one host", k.maxHost)
	}
	if k.maxAll > 3 || k.maxAll < 2 {
		t.Errorf("concurrency peaked at %d with a limit of 3", k.maxAll)
	}
}

func TestTimeout(t *testing.T) {
	k := newKind()
	k.hang["a-0"] = true
	p := testPlan([]string{"a"}, 2, true)
	p.Steps[0].Timeout = plan.Duration(50 * time.Millisecond)
	got := byID(runWith(k, dialer{}, p, Apply, 2))
	if got["a-0"].Outcome != result.Failed || !strings.Contains(got["a-0"].Failure.Message, "timed out after 50ms") {
		t.Errorf("a-0: %s %+v", got["a-0"].Outcome, got["a-0"].Failure)
	}
	if got["a-1"].Outcome != result.Skipped {
		t.Errorf("a-1: %s", got["a-1"].Outcome)
	}
}

func TestUnreachable(t *testing.T) {
	k := newKind()
	d := dialer{fail: map[string]error{"b": fmt.Errorf("b (10.0.0.2:22): connect: refused: %w", remote.ErrUnreachable)}}
	p := testPlan([]string{"a", "b"}, 2, false)
	r := runWith(k, d, p, Apply, 2)
	if len(r.Unreachable) != 1 || r.Unreachable[0] != "b" {
		t.Errorf("unreachable = %v", r.Unreachable)
	}
	got := byID(r)
	if got["b-0"].Outcome != result.Failed || got["b-0"].Failure.Phase != "connect" || got["a-0"].Outcome != result.Changed {
		t.Errorf("outcomes: %v %v", got["b-0"], got["a-0"])
	}
	// A dry run cannot tell on an unreachable host: it never says ok.
	r = runWith(newKind(), d, p, DryRun, 2)
	got = byID(r)
	if got["b-0"].Outcome != result.CannotTell || got["a-0"].Outcome != result.WouldChange {
		t.Errorf("dry run: b-0 %s, a-0 %s", got["b-0"].Outcome, got["a-0"].Outcome)
	}
	if len(r.Handover) != 0 {
		t.Errorf("a dry run made a handover check")
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	k := newKind()
	p := testPlan([]string{"a"}, 3, true)
	runWith(k, dialer{}, p, DryRun, 2)
	if len(k.applied) != 0 {
		t.Errorf("dry run applied %v", k.applied)
	}
}

func TestCancelledRunSkips(t *testing.T) {
	k := newKind()
	k.hang["a-0"] = true
	p := testPlan([]string{"a"}, 3, true)
	p.Steps[0].Timeout = plan.Duration(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	e := &Engine{Dialer: dialer{}, Kinds: map[string]step.Kind{"test": k}}
	var events atomic.Int32
	e.Observer = observerFunc(func(result.Event) { events.Add(1) })
	r := e.Run(ctx, p, Apply)
	got := byID(r)
	if got["a-0"].Outcome != result.Failed || got["a-2"].Outcome != result.Skipped {
		t.Errorf("cancelled: %v", got)
	}
	if events.Load() < 5 {
		t.Errorf("only %d events", events.Load())
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) == false {
		t.Fatal("context not done")
	}
}

type observerFunc func(result.Event)

func (f observerFunc) Event(e result.Event) { f(e) }

func TestValidate(t *testing.T) {
	e := &Engine{Kinds: map[string]step.Kind{"test": newKind()}}
	good := testPlan([]string{"a"}, 3, true)
	if err := e.Validate(good); err != nil {
		t.Fatalf("a good plan: %v", err)
	}
	tests := []struct {
		name string
		mess func(p *plan.Plan)
		want string
	}{
		{"duplicate id", func(p *plan.Plan) { p.Steps[1].ID = p.Steps[0].ID }, "appears twice"},
		{"unknown dependency", func(p *plan.Plan) { p.Steps[0].DependsOn = []string{"nope"} }, "depends on nope"},
		{"cycle", func(p *plan.Plan) { p.Steps[0].DependsOn = []string{p.Steps[2].ID} }, "in a circle: a-0 → a-2 → a-1 → a-0"},
		{"unknown host", func(p *plan.Plan) { p.Steps[0].Host = "zz" }, `host "zz" is not in the plan`},
		{"unknown kind", func(p *plan.Plan) { p.Steps[0].Kind = "teleport" }, `unknown kind "teleport"`},
		{"no target", func(p *plan.Plan) { p.Steps[0].Host = "" }, "neither a host nor a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPlan([]string{"a"}, 3, true)
			tt.mess(p)
			err := e.Validate(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	spec := testPlan([]string{"a"}, 1, false)
	spec.Steps[0].Kind = plan.KindPackage
	if err := (&Engine{}).Validate(spec); err == nil || !strings.Contains(err.Error(), "no package settings") {
		t.Errorf("a step without its spec: %v", err)
	}
}

// Once cancelled, no further step starts, and the run says so.
func TestCancelStartsNothing(t *testing.T) {
	for i := 0; i < 20; i++ {
		k := newKind()
		p := testPlan([]string{"a", "b", "c", "d"}, 3, false)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := (&Engine{Dialer: dialer{}, Kinds: map[string]step.Kind{"test": k}}).Run(ctx, p, Apply)
		if !r.Cancelled || len(r.Handover) != 0 {
			t.Fatalf("cancelled=%v handover=%d", r.Cancelled, len(r.Handover))
		}
		if len(k.attempts) != 0 {
			t.Fatalf("steps ran after the cancel: %v", k.attempts)
		}
	}
}

type failingRecorder struct {
	mu     sync.Mutex
	events []result.EventType
	failAt int // fail the n-th event (1-based)
}

func (f *failingRecorder) Record(_ context.Context, ev result.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev.Type)
	if len(f.events) == f.failAt {
		return errors.New("disk full")
	}
	return nil
}

// Events are recorded before observers see them, and a journal that cannot
// write stops the run: no host is changed without a record.
func TestRecorderFailureStopsTheRun(t *testing.T) {
	k := newKind()
	p := testPlan([]string{"a"}, 4, true)
	rec := &failingRecorder{failAt: 4} // run-started, a-0 started, a-0 finished, a-1 started → fails
	var seen []result.EventType
	var mu sync.Mutex
	e := &Engine{Dialer: dialer{}, Kinds: map[string]step.Kind{"test": k}, Recorder: rec,
		Observer: observerFunc(func(ev result.Event) { mu.Lock(); seen = append(seen, ev.Type); mu.Unlock() })}
	r := e.Run(context.Background(), p, Apply)
	if r.JournalError == "" || !r.Cancelled {
		t.Fatalf("journal error %q, cancelled %v", r.JournalError, r.Cancelled)
	}
	if k.applied["a-1"] || k.applied["a-2"] {
		t.Errorf("steps were applied after the journal failed: %v", k.applied)
	}
	if !k.applied["a-0"] {
		t.Errorf("the step recorded before the failure should have run")
	}
	got := byID(r)
	if got["a-1"].Outcome != result.Skipped || !strings.Contains(got["a-1"].Reason, "journal") {
		t.Errorf("a-1: %s %q", got["a-1"].Outcome, got["a-1"].Reason)
	}
	if len(seen) != len(rec.events) {
		t.Errorf("observers saw %d events, the recorder %d", len(seen), len(rec.events))
	}
}
