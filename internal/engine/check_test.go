package engine

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/result"
	"onboard/internal/step"
)

// shComm runs commands in a local sh: a real shell, so a missing tool
// exits 127 as it does on a host.
type shComm struct{}

func (shComm) Run(ctx context.Context, c remote.Cmd) (int, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", c.Command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}
func (shComm) Upload(context.Context, string, io.Reader, fs.FileMode, bool) error {
	return errors.New("no uploads")
}
func (shComm) Close() error { return nil }

type shDialer struct{}

func (shDialer) Dial(context.Context, *plan.Host) (remote.Communicator, error) { return shComm{}, nil }

// A check whose tool is missing fails with class cannot-run in a run, a
// dry run and the handover; a check that passes keeps its evidence.
func TestCannotRunIsNeverAPass(t *testing.T) {
	p := &plan.Plan{Hosts: map[string]*plan.Host{"h": {Name: "h"}}, Hires: []plan.Hire{{ID: "E1", Host: "h"}}}
	add := func(id, run string) {
		p.Steps = append(p.Steps, &plan.Step{ID: id, Kind: plan.KindCheck, Hire: "E1", Host: "h", Timeout: plan.Duration(10 * time.Second),
			Check: &plan.CheckSpec{Name: id, Command: &plan.CommandCheck{Run: run}}})
	}
	add("missing", "onboard-no-such-tool --version")
	add("present", "echo found it")
	e := &Engine{Dialer: shDialer{}, Kinds: map[string]step.Kind{plan.KindCheck: step.Check{}}}
	for _, mode := range []Mode{Apply, DryRun, Recheck} {
		r := e.Run(context.Background(), p, mode)
		got := byID(r)
		m := got["missing"]
		if m.Outcome != result.Failed || m.Failure == nil || m.Failure.Class != result.ClassCannotRun ||
			!strings.Contains(m.Failure.Message, "cannot run") || !strings.Contains(m.Failure.Message, "exit 127") {
			t.Errorf("mode %v: a missing tool gave %s %+v", mode, m.Outcome, m.Failure)
		}
		if ok := got["present"]; ok.Outcome != result.OK || ok.Reason != `"echo found it" exited 0: found it` {
			t.Errorf("mode %v: a passing check gave %s %q", mode, ok.Outcome, ok.Reason)
		}
		// What each saw, as fields, for an audit to compare.
		if ev := got["present"].Evidence; len(ev) != 1 || ev[0] != (result.Fact{Key: "evidence", Value: `"echo found it" exited 0: found it`}) {
			t.Errorf("mode %v: the passing check's evidence %+v", mode, ev)
		}
		if ev := m.Evidence; len(ev) != 1 || !strings.Contains(ev[0].Value, "exit 127") {
			t.Errorf("mode %v: the missing tool's evidence %+v", mode, ev)
		}
		if r.Ready("E1") {
			t.Errorf("mode %v: the hire is ready with a check that could not run", mode)
		}
	}
}

// A check's retry waits for a change in a run and at handover; a dry run
// applies nothing, so it tries once.
func TestRetryNotInDryRun(t *testing.T) {
	p := &plan.Plan{Hosts: map[string]*plan.Host{"h": {Name: "h"}}, Hires: []plan.Hire{{ID: "E1", Host: "h"}}}
	p.Steps = append(p.Steps, &plan.Step{ID: "never", Kind: plan.KindCheck, Hire: "E1", Host: "h", Timeout: plan.Duration(10 * time.Second),
		Check: &plan.CheckSpec{Name: "never", Command: &plan.CommandCheck{Run: "false"},
			Retry: &plan.Retry{Timeout: plan.Duration(400 * time.Millisecond), Interval: plan.Duration(100 * time.Millisecond)}}})
	e := &Engine{Dialer: shDialer{}, Kinds: map[string]step.Kind{plan.KindCheck: step.Check{}}}
	for _, tt := range []struct {
		mode  Mode
		tries bool
	}{{Apply, true}, {Recheck, true}, {DryRun, false}} {
		s := byID(e.Run(context.Background(), p, tt.mode))["never"]
		if s.Outcome != result.Failed || s.Failure == nil {
			t.Fatalf("mode %v: %s %+v", tt.mode, s.Outcome, s.Failure)
		}
		if got := strings.Contains(s.Failure.Message, "tries in"); got != tt.tries {
			t.Errorf("mode %v: retried %v, want %v: %s", tt.mode, got, tt.tries, s.Failure.Message)
		}
	}
}
