// Package engine executes a plan: it runs every step's check, apply and
// verify on its host, in dependency order, hosts in parallel, then re-checks
// everything for handover. It reads only the plan.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/result"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// Dialer opens a connection to a host.
type Dialer interface {
	Dial(ctx context.Context, h *plan.Host) (remote.Communicator, error)
}

// Engine runs plans.
type Engine struct {
	Dialer Dialer
	// Parallel is how many steps run at once (each on a different host).
	Parallel int
	// Retries is how many times a step is tried again after a transient
	// fault (connection lost, host unreachable); real failures never are.
	Retries    int
	RetryDelay time.Duration
	Observer   result.Observer
	Log        *slog.Logger
	Operator   string
	// Kinds overrides the step kinds (tests); nil means step.Kinds.
	Kinds map[string]step.Kind
}

// Mode says what a run does.
type Mode int

const (
	// Apply changes hosts, verifies, and re-checks for handover.
	Apply Mode = iota
	// DryRun only checks: nothing is changed.
	DryRun
	// Recheck only checks, and reports a step that is not in place as
	// failed (the handover check on its own, or an audit).
	Recheck
)

// NewRunID makes a sortable, unique run id.
func NewRunID(t time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

type run struct {
	e     *Engine
	p     *plan.Plan
	mode  Mode
	res   *result.Run
	kinds map[string]step.Kind

	sem     chan struct{}
	hostMu  map[string]*sync.Mutex
	targets map[string]*targetConn

	mu      sync.Mutex
	results map[string]*result.Step
	done    map[string]chan struct{}
}

type targetConn struct {
	once sync.Once
	t    *step.Target
	err  error
}

// Run executes p in the given mode and returns what happened.
func (e *Engine) Run(ctx context.Context, p *plan.Plan, mode Mode) *result.Run {
	start := time.Now()
	r := &run{
		e: e, p: p, mode: mode, kinds: e.Kinds,
		res:     &result.Run{ID: NewRunID(start), Operator: e.Operator, DryRun: mode != Apply, Started: start},
		hostMu:  map[string]*sync.Mutex{},
		targets: map[string]*targetConn{},
		results: map[string]*result.Step{},
		done:    map[string]chan struct{}{},
	}
	if r.kinds == nil {
		r.kinds = step.Kinds
	}
	par := e.Parallel
	if par <= 0 {
		par = 8
	}
	r.sem = make(chan struct{}, par)
	for name := range p.Hosts {
		r.hostMu[name] = &sync.Mutex{}
		r.targets[name] = &targetConn{}
	}
	for _, h := range p.Hires {
		r.res.Hires = append(r.res.Hires, result.Hire{ID: h.ID, Name: h.Name, Username: h.Username, Host: h.Host,
			Profile: h.Profile, Source: h.Source, Manual: h.Manual, Contact: h.Handover.Contact, Notes: h.Handover.Notes,
			StartDate: h.StartDate, Manager: h.Manager, Email: h.Email})
	}
	for _, s := range p.Steps {
		r.done[s.ID] = make(chan struct{})
	}
	r.emit(result.Event{Type: result.RunStarted, Total: len(p.Steps)})

	var wg sync.WaitGroup
	for _, s := range p.Steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(r.done[s.ID])
			rs := r.runStep(ctx, s, mode)
			r.mu.Lock()
			r.results[s.ID] = rs
			r.mu.Unlock()
			r.emit(result.Event{Type: result.StepFinished, Step: rs})
		}()
	}
	wg.Wait()
	for _, s := range p.Steps {
		r.res.Steps = append(r.res.Steps, *r.results[s.ID])
	}

	if mode == Apply {
		r.handover(ctx)
	}
	r.closeAll()
	r.res.Finished = time.Now()
	r.emit(result.Event{Type: result.RunFinished, Run: r.res})
	return r.res
}

func (r *run) emit(ev result.Event) {
	if r.e.Observer == nil {
		return
	}
	ev.Time = time.Now()
	ev.RunID = r.res.ID
	r.e.Observer.Event(ev)
}

func (r *run) log() *slog.Logger {
	if r.e.Log != nil {
		return r.e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// waitDeps waits for the step's dependencies and returns the first that
// did not end done, and whether any is still pending (dry runs).
func (r *run) waitDeps(ctx context.Context, s *plan.Step) (failed *result.Step, pending []string) {
	for _, d := range s.DependsOn {
		ch, ok := r.done[d]
		if !ok {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return &result.Step{ID: d, Outcome: result.Failed}, nil
		}
		r.mu.Lock()
		dr := r.results[d]
		r.mu.Unlock()
		switch dr.Outcome {
		case result.OK, result.Changed:
		case result.WouldChange, result.CannotTell:
			pending = append(pending, d)
		default:
			if failed == nil {
				failed = dr
			}
		}
	}
	return failed, pending
}

// target returns the host's connection, dialling it on first use. waited is
// the time this caller spent dialling (zero when another step dialled), so
// that it counts as time spent on the host rather than engine overhead.
func (r *run) target(ctx context.Context, host string) (t *step.Target, waited time.Duration, err error) {
	tc := r.targets[host]
	start := time.Now()
	dialled := false
	tc.once.Do(func() {
		dialled = true
		h := r.p.Hosts[host]
		var comm remote.Communicator
		var err error
		for attempt := 0; attempt <= r.e.Retries; attempt++ {
			if attempt > 0 {
				r.sleep(ctx, attempt)
			}
			comm, err = r.e.Dialer.Dial(ctx, h)
			if err == nil || !remote.IsTransient(err) {
				break
			}
		}
		if err != nil {
			tc.err = err
			if errors.Is(err, remote.ErrUnreachable) || errors.Is(err, remote.ErrHostKey) || errors.Is(err, remote.ErrAuth) {
				r.mu.Lock()
				r.res.Unreachable = append(r.res.Unreachable, host)
				r.mu.Unlock()
			}
			return
		}
		tc.t = &step.Target{Host: h, Comm: comm}
	})
	if dialled {
		waited = time.Since(start)
	}
	return tc.t, waited, tc.err
}

func (r *run) closeAll() {
	for _, tc := range r.targets {
		if tc.t != nil {
			_ = tc.t.Comm.Close()
		}
	}
}

func (r *run) sleep(ctx context.Context, attempt int) {
	d := r.e.RetryDelay
	if d == 0 {
		d = 500 * time.Millisecond
	}
	select {
	case <-time.After(d * time.Duration(attempt)):
	case <-ctx.Done():
	}
}

// acquire takes the host's lock and a slot; steps of one host run one at
// a time (package managers lock, and sshd caps sessions per connection).
func (r *run) acquire(ctx context.Context, host string) (release func(), err error) {
	mu := r.hostMu[host]
	if mu != nil {
		mu.Lock()
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		if mu != nil {
			mu.Unlock()
		}
		return nil, ctx.Err()
	}
	return func() {
		<-r.sem
		if mu != nil {
			mu.Unlock()
		}
	}, nil
}

func newResult(s *plan.Step) *result.Step {
	return &result.Step{ID: s.ID, Kind: s.Kind, Hire: s.Hire, Host: s.Host, Title: s.Title, Started: time.Now()}
}

func (r *run) runStep(ctx context.Context, s *plan.Step, mode Mode) *result.Step {
	failedDep, pending := r.waitDeps(ctx, s)
	rs := newResult(s)
	if failedDep != nil {
		rs.Outcome = result.Skipped
		rs.Reason = fmt.Sprintf("depends on %s, which %s", failedDep.ID, failedDep.Outcome)
		if failedDep.Outcome == result.Failed && ctx.Err() != nil {
			rs.Reason = "the run was cancelled"
		}
		return rs
	}
	release, err := r.acquire(ctx, s.Host)
	if err != nil {
		rs.Outcome, rs.Reason = result.Skipped, "the run was cancelled"
		return rs
	}
	defer release()
	rs.Started = time.Now()
	r.emit(result.Event{Type: result.StepStarted, Step: rs})
	defer func() { rs.Duration = time.Since(rs.Started) }()

	kind, ok := r.kinds[s.Kind]
	if !ok {
		r.fail(rs, s, "check", fmt.Errorf("unknown step kind %q", s.Kind))
		return rs
	}
	t, waited, err := r.target(ctx, s.Host)
	rs.Remote += waited
	if err != nil {
		if mode == DryRun {
			rs.Outcome, rs.Reason = result.CannotTell, "cannot reach the host: "+secret.Scrub(err.Error())
			return rs
		}
		r.fail(rs, s, "connect", err)
		return rs
	}
	for attempt := 0; ; attempt++ {
		rs.Attempts = attempt + 1
		err := r.attempt(ctx, kind, t, s, rs, mode, pending)
		if err == nil {
			return rs
		}
		if !remote.IsTransient(err) || attempt >= r.e.Retries || ctx.Err() != nil {
			if mode == DryRun {
				rs.Outcome, rs.Reason = result.CannotTell, "the check could not run: "+secret.Scrub(err.Error())
				return rs
			}
			r.fail(rs, s, rs.Reason, err)
			return rs
		}
		r.log().Warn("transient fault, retrying", "host", s.Host, "step", s.ID, "attempt", attempt+1, "err", err)
		r.sleep(ctx, attempt+1)
	}
}

// attempt runs one try of a step. On error, rs.Reason holds the phase.
func (r *run) attempt(ctx context.Context, kind step.Kind, t *step.Target, s *plan.Step, rs *result.Step, mode Mode, pending []string) error {
	timeout := time.Duration(s.Timeout)
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	x := &step.Exec{T: t}
	defer func() { rs.Remote += x.Remote }()
	phaseErr := func(phase string, err error) error {
		rs.Reason = phase
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("%s timed out after %s: %w", phase, timeout, err)
		}
		return err
	}

	st, err := kind.Check(ctx, x, s)
	if err != nil {
		return phaseErr("check", err)
	}
	if st.InPlace {
		rs.Outcome, rs.Reason = result.OK, st.Reason
		return nil
	}
	switch mode {
	case DryRun:
		rs.Outcome, rs.Reason = result.WouldChange, st.Reason
		if s.Kind == plan.KindCheck {
			if len(pending) > 0 {
				rs.Outcome, rs.Reason = result.CannotTell, "depends on steps not applied yet; now: "+st.Reason
			} else {
				rs.Outcome = result.Failed
				rs.Failure = &result.Failure{Host: s.Host, Step: s.ID, Phase: "check", Message: st.Reason}
			}
		}
		return nil
	case Recheck:
		rs.Outcome = result.Failed
		rs.Failure = &result.Failure{Host: s.Host, Step: s.ID, Phase: "check", Message: secret.Scrub(st.Reason)}
		return nil
	}
	if s.Kind == plan.KindCheck {
		rs.Outcome = result.Failed
		rs.Failure = &result.Failure{Host: s.Host, Step: s.ID, Phase: "check", Message: secret.Scrub(st.Reason)}
		return nil
	}
	changed, err := kind.Apply(ctx, x, s)
	if err != nil {
		return phaseErr("apply", err)
	}
	if v, ok := kind.(step.Verifier); ok {
		if err := v.Verify(ctx, x, s); err != nil {
			return phaseErr("verify", err)
		}
	} else {
		after, err := kind.Check(ctx, x, s)
		if err != nil {
			return phaseErr("verify", err)
		}
		if !after.InPlace {
			return phaseErr("verify", fmt.Errorf("applied, but the check still finds: %s", after.Reason))
		}
	}
	rs.Outcome, rs.Changed, rs.Reason = result.Changed, secret.Scrub(changed), st.Reason
	return nil
}

// fail records a failure with host, step, phase, command and output.
func (r *run) fail(rs *result.Step, s *plan.Step, phase string, err error) {
	rs.Outcome = result.Failed
	f := &result.Failure{Host: s.Host, Step: s.ID, Phase: phase, Message: secret.Scrub(err.Error())}
	var ce *step.CommandError
	if errors.As(err, &ce) {
		f.Command = secret.Scrub(ce.Command)
		f.ExitCode = ce.ExitCode
		f.Output = step.Tail(ce.Combined(), 2000)
	}
	rs.Failure = f
	rs.Reason = phase
	r.log().Error("step failed", "host", s.Host, "step", s.ID, "phase", phase, "err", f.Message)
}

// handover re-checks every step that ended done, so the report proves the
// final state of the machine rather than the history of the run.
func (r *run) handover(ctx context.Context) {
	r.emit(result.Event{Type: result.HandoverStarted, Total: len(r.p.Steps)})
	out := make([]result.Step, len(r.p.Steps))
	var wg sync.WaitGroup
	for i, s := range r.p.Steps {
		prev := r.res.Steps[i]
		if !prev.Outcome.Done() {
			rs := newResult(s)
			rs.Outcome, rs.Reason = result.Skipped, "the step did not complete: "+string(prev.Outcome)
			out[i] = *rs
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs := newResult(s)
			out[i] = *rs
			kind := r.kinds[s.Kind]
			t, _, err := r.target(ctx, s.Host)
			if err != nil {
				r.fail(rs, s, "connect", err)
				out[i] = *rs
				return
			}
			release, err := r.acquire(ctx, s.Host)
			if err != nil {
				rs.Outcome, rs.Reason = result.Skipped, "the run was cancelled"
				out[i] = *rs
				return
			}
			defer release()
			rs.Started = time.Now()
			err = r.attempt(ctx, kind, t, s, rs, Recheck, nil)
			rs.Duration = time.Since(rs.Started)
			if err != nil {
				r.fail(rs, s, "handover", err)
			}
			out[i] = *rs
		}()
	}
	wg.Wait()
	r.res.Handover = out
}
