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
	"strings"
	"sync"
	"time"

	"onboard/internal/kb"
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

// Recorder writes events durably (the journal) before they are reported:
// a step is shown done only once its record is safe. A failed write stops
// the run: nothing new starts that the journal could not record.
type Recorder interface {
	Record(ctx context.Context, ev result.Event) error
}

// DirectoryDialer opens a directory for a run: one pinned server, and the
// delivery channel for initial passwords.
type DirectoryDialer interface {
	DialDirectory(ctx context.Context, d *plan.Directory) (*step.DirTarget, error)
}

// Engine runs plans.
type Engine struct {
	Dialer Dialer
	// Directories opens directories; needed only by plans with accounts.
	Directories DirectoryDialer
	// Parallel is how many steps run at once (each on a different host).
	Parallel int
	// Retries is how many times a step is tried again after a transient
	// fault (connection lost, host unreachable); real failures never are.
	Retries    int
	RetryDelay time.Duration
	Observer   result.Observer
	Recorder   Recorder
	Log        *slog.Logger
	Operator   string
	// Kinds overrides the step kinds (tests); nil means step.Kinds.
	Kinds map[string]step.Kind
	// Prechecked is a dry run of the same plan made just before, over the
	// same connections (the plan shown first, as terraform apply shows
	// it). An Apply run takes its in-place verdicts instead of checking
	// those steps again, as long as nothing has changed on their host and
	// their dependencies were in place too; the handover re-checks every
	// step afresh all the same.
	Prechecked *result.Run
	// Now is the clock that starts a run and judges its waivers' expiry
	// (tests set it); nil means time.Now.
	Now func() time.Time
	// Diff: a step that writes a file's content (step.Differ) and is not
	// in place reads the content the host has, once, and its result
	// carries the diff (dry runs and applies; never re-checks).
	Diff bool
	// Known is the knowledge base of known failures: every failure is
	// matched as it is recorded, so the journal, the reports and the
	// notifications carry the fix (nil: none).
	Known *kb.Base
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
	hostMu  map[string]*hostLock
	targets map[string]*targetConn
	dirs    map[string]*dirConn

	mu      sync.Mutex
	results map[string]*result.Step
	done    map[string]chan struct{}
	// started holds the steps that began on their own; claims the steps
	// that another step's batch took over (see claimBatch).
	started map[string]bool
	claims  map[string]*claim
	// prechecked holds the dry run's in-place verdicts (Engine.Prechecked);
	// changed, the hosts an apply has touched in this run.
	prechecked map[string]*result.Step
	changed    map[string]bool

	cancel context.CancelFunc // stops the run when the journal fails
	recErr error
}

type targetConn struct {
	once sync.Once
	t    *step.Target
	err  error
}

type dirConn struct {
	once sync.Once
	d    *step.DirTarget
	err  error
}

// lockKeyOrTarget names the host or directory a step works on.
func lockKeyOrTarget(s *plan.Step) string {
	if s.Host != "" {
		return s.Host
	}
	return "directory " + s.Directory
}

// unreachable records a target once.
func (r *run) unreachable(target string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range r.res.Unreachable {
		if u == target {
			return
		}
	}
	r.res.Unreachable = append(r.res.Unreachable, target)
}

// lockKey names what a step must hold alone: its host; or, for account
// creation, its directory (one at a time, so a uidNumber is never drawn
// twice and a name collision is never checked by two hires at once). Other
// directory steps share the directory connection freely ("").
func lockKey(s *plan.Step) string {
	switch {
	case s.Host != "":
		return s.Host
	case s.Kind == plan.KindAccount:
		return "directory " + s.Directory
	}
	return ""
}

// Validate checks that a plan can be run: unique step ids, known
// dependencies without cycles, known hosts and directories, a kind the
// engine knows and its spec. Plans made by the planner always pass; plans
// read back from JSON are checked before anything runs.
func (e *Engine) Validate(p *plan.Plan) error {
	kinds := e.Kinds
	if kinds == nil {
		kinds = step.Kinds
	}
	var errs []error
	ids := map[string]*plan.Step{}
	for _, s := range p.Steps {
		if _, dup := ids[s.ID]; dup {
			errs = append(errs, fmt.Errorf("step %s appears twice", s.ID))
		}
		ids[s.ID] = s
		if _, ok := kinds[s.Kind]; !ok {
			errs = append(errs, fmt.Errorf("step %s: unknown kind %q", s.ID, s.Kind))
		}
		if s.Host == "" && s.Directory == "" {
			errs = append(errs, fmt.Errorf("step %s has neither a host nor a directory", s.ID))
		}
		if s.Host != "" && p.Hosts[s.Host] == nil {
			errs = append(errs, fmt.Errorf("step %s: host %q is not in the plan", s.ID, s.Host))
		}
		if s.Directory != "" && p.Directories[s.Directory] == nil {
			errs = append(errs, fmt.Errorf("step %s: directory %q is not in the plan", s.ID, s.Directory))
		}
		if !hasSpec(s) {
			errs = append(errs, fmt.Errorf("step %s: no %s settings", s.ID, s.Kind))
		} else if err := removalSpecError(s); err != nil {
			errs = append(errs, fmt.Errorf("step %s: %w", s.ID, err))
		}
	}
	for _, s := range p.Steps {
		for _, d := range s.DependsOn {
			if ids[d] == nil {
				errs = append(errs, fmt.Errorf("step %s depends on %s, which is not in the plan", s.ID, d))
			}
		}
	}
	if len(errs) == 0 {
		if cyc := findCycle(p.Steps, ids); cyc != "" {
			errs = append(errs, fmt.Errorf("steps depend on each other in a circle: %s", cyc))
		}
	}
	return errors.Join(errs...)
}

func hasSpec(s *plan.Step) bool {
	switch s.Kind {
	case plan.KindPackage:
		return s.Package != nil
	case plan.KindPrinter:
		return s.Printer != nil
	case plan.KindCommand:
		return s.Command != nil
	case plan.KindFile:
		return s.File != nil
	case plan.KindCheck:
		return s.Check != nil
	case plan.KindAccount:
		return s.Account != nil
	case plan.KindMembership:
		return s.Membership != nil
	case plan.KindActivate:
		return s.Activate != nil
	case plan.KindComputer:
		return s.Computer != nil
	case plan.KindJoin:
		return s.Join != nil
	case plan.KindPackageRemove:
		return s.Package != nil
	case plan.KindPrinterRemove:
		return s.Printer != nil
	case plan.KindWinSoftwareRemove:
		return s.WinSoftware != nil
	case plan.KindWinPrinterRemove:
		return s.WinPrinter != nil
	case plan.KindLocalGroupRemove:
		return s.LocalGroup != nil
	case plan.KindLoginRevoke:
		return s.LoginRevoke != nil
	case plan.KindHomeArchive:
		return s.HomeArchive != nil
	case plan.KindMembershipRemove:
		return s.Membership != nil
	case plan.KindAccountDisable, plan.KindPasswordScramble, plan.KindAccountMove, plan.KindAccountExpire,
		plan.KindComputerDisable, plan.KindAccountEnable, plan.KindAccountDelete:
		return s.Leaver != nil
	}
	return true // kinds added by tests carry no spec
}

// findCycle returns a dependency circle as "a → b → a", or "".
func findCycle(steps []*plan.Step, ids map[string]*plan.Step) string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(id string) string
	visit = func(id string) string {
		switch state[id] {
		case active:
			for i, p := range path {
				if p == id {
					return strings.Join(append(path[i:], id), " → ")
				}
			}
		case done:
			return ""
		}
		state[id] = active
		path = append(path, id)
		for _, d := range ids[id].DependsOn {
			if c := visit(d); c != "" {
				return c
			}
		}
		path = path[:len(path)-1]
		state[id] = done
		return ""
	}
	for _, s := range steps {
		if c := visit(s.ID); c != "" {
			return c
		}
	}
	return ""
}

// Run executes p in the given mode and returns what happened. The plan must
// pass Validate.
func (e *Engine) Run(ctx context.Context, p *plan.Plan, mode Mode) *result.Run {
	start := time.Now()
	if e.Now != nil {
		start = e.Now()
	}
	r := &run{
		e: e, p: p, mode: mode, kinds: e.Kinds,
		res:     &result.Run{ID: NewRunID(start), Operator: e.Operator, DryRun: mode != Apply, Started: start},
		hostMu:  map[string]*hostLock{},
		targets: map[string]*targetConn{},
		dirs:    map[string]*dirConn{},
		results: map[string]*result.Step{},
		done:    map[string]chan struct{}{},
		started: map[string]bool{},
		claims:  map[string]*claim{},
	}
	if r.kinds == nil {
		r.kinds = step.Kinds
	}
	r.changed = map[string]bool{}
	if e.Prechecked != nil && mode == Apply {
		r.prechecked = map[string]*result.Step{}
		for i := range e.Prechecked.Steps {
			if st := &e.Prechecked.Steps[i]; st.Outcome == result.OK {
				r.prechecked[st.ID] = st
			}
		}
	}
	par := e.Parallel
	if par <= 0 {
		par = 8
	}
	r.sem = make(chan struct{}, par)
	for name := range p.Hosts {
		r.hostMu[name] = newHostLock()
		r.targets[name] = &targetConn{}
	}
	for name := range p.Directories {
		r.hostMu["directory "+name] = newHostLock()
		r.dirs[name] = &dirConn{}
	}
	for _, h := range p.Hires {
		r.res.Hires = append(r.res.Hires, result.Hire{ID: h.ID, Name: h.Name, Username: h.Username, Host: h.Host,
			Profile: h.Profile, Source: h.Source, Manual: h.Manual, Contact: h.Handover.Contact, Notes: h.Handover.Notes,
			StartDate: h.StartDate, Manager: h.Manager, Email: h.Email})
	}
	for _, s := range p.Steps {
		r.done[s.ID] = make(chan struct{})
	}
	ctx, r.cancel = context.WithCancel(ctx)
	defer r.cancel()
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
			if l := r.hostMu[lockKey(s)]; l != nil {
				l.wake() // a step that waited for this one to go first
			}
			r.emit(result.Event{Type: result.StepFinished, Step: rs})
		}()
	}
	wg.Wait()
	for _, s := range p.Steps {
		r.res.Steps = append(r.res.Steps, *r.results[s.ID])
	}

	// A cancelled run has nothing to hand over: its report says so.
	if mode == Apply && ctx.Err() == nil {
		r.handover(ctx)
	}
	r.res.Cancelled = ctx.Err() != nil
	r.closeAll()
	r.res.Finished = time.Now()
	r.emit(result.Event{Type: result.RunFinished, Run: r.res})
	return r.res
}

func (r *run) emit(ev result.Event) {
	ev.Time = time.Now()
	if r.e.Known != nil {
		if ev.Step != nil && ev.Step.Failure != nil {
			ev.Step.Failure.Known = nil
			if m := r.e.Known.Match(ev.Step.Failure, ev.Step.Kind); len(m) > 0 {
				ev.Step.Failure.Known = m[0].Known()
			}
		}
		if ev.Run != nil {
			r.e.Known.Annotate(ev.Run)
		}
	}
	ev.RunID = r.res.ID
	if r.e.Recorder != nil {
		// The journal ignores the run's cancellation: an interrupted run's
		// last records must still be written.
		if err := r.e.Recorder.Record(context.Background(), ev); err != nil {
			r.mu.Lock()
			if r.recErr == nil {
				r.recErr = err
				r.res.JournalError = err.Error()
			}
			r.mu.Unlock()
			r.cancel()
		}
	}
	if r.e.Observer != nil {
		r.e.Observer.Event(ev)
	}
}

// journalFailed reports whether the journal could not record an event.
func (r *run) journalFailed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recErr != nil
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
	for _, dc := range r.dirs {
		if dc.d == nil {
			continue
		}
		if c, ok := dc.d.Client.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

// directory returns the run's client of a directory, opening it on first
// use; waited is this caller's time spent opening it.
func (r *run) directory(ctx context.Context, name string) (*step.DirTarget, time.Duration, error) {
	dc, ok := r.dirs[name]
	if !ok {
		return nil, 0, fmt.Errorf("directory %q is not in the plan", name)
	}
	start := time.Now()
	var waited time.Duration
	dc.once.Do(func() {
		defer func() { waited = time.Since(start) }()
		if r.e.Directories == nil {
			dc.err = fmt.Errorf("directory %s: this engine has no directory dialer", name)
			return
		}
		var err error
		for attempt := 0; attempt <= r.e.Retries; attempt++ {
			if attempt > 0 {
				r.sleep(ctx, attempt)
			}
			dc.d, err = r.e.Directories.DialDirectory(ctx, r.p.Directories[name])
			if err == nil || !remote.IsTransient(err) {
				break
			}
		}
		if err != nil {
			dc.err = err
			if remote.IsTransient(err) {
				r.mu.Lock()
				r.res.Unreachable = append(r.res.Unreachable, "directory "+name)
				r.mu.Unlock()
			}
		}
	})
	return dc.d, waited, dc.err
}

// exec prepares the connections a step needs.
func (r *run) exec(ctx context.Context, s *plan.Step) (*step.Exec, time.Duration, error) {
	x := &step.Exec{}
	var total time.Duration
	if s.Host != "" {
		t, waited, err := r.target(ctx, s.Host)
		total += waited
		if err != nil {
			return nil, total, err
		}
		x.T = t
	}
	if s.Directory != "" {
		d, waited, err := r.directory(ctx, s.Directory)
		total += waited
		if err != nil {
			return nil, total, err
		}
		x.D = d
	}
	return x, total, nil
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
// a time (package managers lock, and sshd caps sessions per connection),
// and s (nil: any order, as at handover) only once no step before it in
// the plan is ready and waiting for the same lock.
func (r *run) acquire(ctx context.Context, key string, s *plan.Step) (release func(), err error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	l := r.hostMu[key]
	if l != nil {
		stop := context.AfterFunc(ctx, l.wake)
		l.mu.Lock()
		for ctx.Err() == nil && (l.busy || (s != nil && r.earlierReady(s, key))) {
			l.cond.Wait()
		}
		if ctx.Err() != nil {
			// Never start a step after the run was cancelled.
			l.mu.Unlock()
			stop()
			return nil, ctx.Err()
		}
		l.busy = true
		l.mu.Unlock()
		stop()
	}
	unlock := func() {
		if l != nil {
			l.mu.Lock()
			l.busy = false
			l.mu.Unlock()
			l.wake()
		}
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		unlock()
		return nil, ctx.Err()
	}
	return func() {
		<-r.sem
		unlock()
	}, nil
}

// hostLock lets one step at a time work on a host (or create accounts in
// a directory) and, of the steps ready to, the first in the plan: a
// host's independent steps run in the order the playbook gives them, every
// time, not in the order their goroutines happen to arrive.
type hostLock struct {
	mu   sync.Mutex
	cond *sync.Cond
	busy bool
}

func newHostLock() *hostLock {
	l := &hostLock{}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// wake lets every waiter look again (the lock was freed, a step finished,
// or the run was cancelled).
func (l *hostLock) wake() {
	l.mu.Lock()
	l.cond.Broadcast()
	l.mu.Unlock()
}

// earlierReady reports whether a step before s in the plan, under the same
// lock, is ready to run (its dependencies finished) and has not started:
// it goes first.
func (r *run) earlierReady(s *plan.Step, key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.p.Steps {
		if o == s {
			return false
		}
		if lockKey(o) != key || r.results[o.ID] != nil || r.started[o.ID] || r.claims[o.ID] != nil {
			continue
		}
		ready := true
		for _, d := range o.DependsOn {
			if _, known := r.done[d]; known && r.results[d] == nil {
				ready = false
				break
			}
		}
		if ready {
			return true
		}
	}
	return false
}

func (r *run) newResult(s *plan.Step) *result.Step {
	host := s.Host
	if host == "" {
		host = s.Directory // a directory step: say where it ran
	}
	rs := &result.Step{ID: s.ID, Kind: s.Kind, Hire: s.Hire, Host: host, Title: s.Title, Started: time.Now()}
	if c := s.Check; c != nil {
		// A waiver is judged on the day the run started (UTC).
		rs.Set, rs.Waiver = c.Set, result.NewWaiver(c.Waiver, r.res.Started)
	}
	return rs
}

func (r *run) runStep(ctx context.Context, s *plan.Step, mode Mode) *result.Step {
	failedDep, pending := r.waitDeps(ctx, s)
	rs := r.newResult(s)
	// A re-check (audit) looks at every step whatever its dependencies
	// found: drift in one place does not hide drift in another.
	if failedDep != nil && mode == Recheck && ctx.Err() == nil {
		failedDep = nil
	}
	if failedDep != nil {
		rs.Outcome = result.Skipped
		rs.Reason = fmt.Sprintf("depends on %s, which %s", failedDep.ID, failedDep.Outcome)
		if failedDep.Outcome == result.Failed && ctx.Err() != nil {
			rs.Reason = "the run was cancelled"
		}
		return rs
	}
	var release func()
	for {
		var err error
		release, err = r.acquire(ctx, lockKey(s), s)
		if err != nil {
			rs.Outcome, rs.Reason = result.Skipped, "the run was cancelled"
			return rs
		}
		c := r.begin(s.ID)
		if c == nil {
			break
		}
		// Another step's batch took this one: its result is the batch's,
		// unless the batch gave it back to run on its own.
		release()
		<-c.done
		if c.rs != nil {
			return c.rs
		}
	}
	defer release()
	rs.Started = time.Now()
	r.emit(result.Event{Type: result.StepStarted, Step: rs})
	defer func() { rs.Duration = time.Since(rs.Started) }()
	if r.journalFailed() {
		// Never change a host without a record of it.
		rs.Outcome, rs.Reason = result.Skipped, "the journal could not be written"
		return rs
	}

	kind, ok := r.kinds[s.Kind]
	if !ok {
		r.fail(rs, s, "check", fmt.Errorf("unknown step kind %q", s.Kind))
		return rs
	}
	base, waited, err := r.exec(ctx, s)
	rs.Remote += waited
	if err != nil {
		if mode == DryRun {
			rs.Outcome, rs.Reason = result.CannotTell, "cannot connect: "+secret.Scrub(err.Error())
			return rs
		}
		r.fail(rs, s, "connect", err)
		return rs
	}
	if pre := r.reuse(s); pre != nil {
		rs.Outcome, rs.Action, rs.Reason, rs.Attempts = result.OK, pre.Action, pre.Reason, 1
		rs.Evidence = pre.Evidence
		return rs
	}
	if base.T != nil {
		// The host's other pending checks ride along in one round trip.
		rs.Remote += r.prefetch(ctx, base.T, r.pendingOn(s.Host))
	}
	for attempt := 0; ; attempt++ {
		rs.Attempts = attempt + 1
		err := r.attempt(ctx, kind, base, s, rs, mode, pending)
		if err == nil {
			return rs
		}
		if !remote.IsTransient(err) || attempt >= r.e.Retries || ctx.Err() != nil {
			if remote.IsTransient(err) && ctx.Err() == nil {
				// Still unreachable after the retries: say which target.
				r.unreachable(lockKeyOrTarget(s))
			}
			if mode == DryRun {
				rs.Outcome, rs.Reason = result.CannotTell, "the check could not run: "+secret.Scrub(err.Error())
				return rs
			}
			r.fail(rs, s, rs.Reason, err)
			return rs
		}
		r.log().Warn("transient fault, retrying", "target", lockKey(s), "step", s.ID, "attempt", attempt+1, "err", err)
		r.sleep(ctx, attempt+1)
	}
}

// attempt runs one try of a step. On error, rs.Reason holds the phase.
func (r *run) attempt(ctx context.Context, kind step.Kind, base *step.Exec, s *plan.Step, rs *result.Step, mode Mode, pending []string) error {
	timeout := time.Duration(s.Timeout)
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	x := &step.Exec{T: base.T, D: base.D, NoRetry: mode == DryRun}
	defer func() { rs.Remote += x.Remote }()
	phaseErr := func(phase string, err error) error {
		rs.Reason = phase
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("%s timed out after %s: %w", phase, timeout, err)
		}
		return err
	}

	x.Probed = true
	st, err := kind.Check(ctx, x, s)
	x.Probed = false
	if err != nil {
		return phaseErr("check", err)
	}
	rs.Action = string(st.Action)
	rs.Evidence = scrubFacts(st.Evidence)
	if st.InPlace {
		rs.Outcome, rs.Reason = result.OK, st.Reason
		return nil
	}
	if d, ok := kind.(step.Differ); ok && r.e.Diff && mode != Recheck {
		// Read before apply changes it; from the host's batch when it
		// was prefetched.
		x.Probed = true
		text, err := d.Diff(ctx, x, s)
		x.Probed = false
		if err != nil {
			text = "(the content on the host could not be read for the diff: " + err.Error() + ")\n"
		}
		rs.Diff = secret.Scrub(text)
	}
	switch mode {
	case DryRun:
		rs.Outcome, rs.Reason = result.WouldChange, st.Reason
		if s.Kind == plan.KindCheck {
			if len(pending) > 0 {
				rs.Outcome, rs.Reason = result.CannotTell, "depends on steps not applied yet; now: "+st.Reason
			} else {
				rs.Outcome = result.Failed
				rs.Failure = checkFailure(s, st)
			}
		}
		return nil
	case Recheck:
		rs.Outcome = result.Failed
		rs.Failure = checkFailure(s, st)
		return nil
	}
	if s.Kind == plan.KindCheck {
		rs.Outcome = result.Failed
		rs.Failure = checkFailure(s, st)
		return nil
	}
	var changed string
	r.changing(s.Host)
	if b, ok := kind.(step.Batcher); ok && mode == Apply && x.T != nil {
		changed, err = r.applyBatch(ctx, b, kind, x, s)
	} else {
		changed, err = kind.Apply(ctx, x, s)
		if x.T != nil {
			x.T.Invalidate()
		}
	}
	if err != nil {
		return phaseErr("apply", err)
	}
	if err := r.verify(ctx, kind, x, s); err != nil {
		return phaseErr("verify", err)
	}
	rs.Outcome, rs.Changed, rs.Reason = result.Changed, secret.Scrub(changed), st.Reason
	return nil
}

// pendingOn lists the steps of host that have not finished and will be
// checked (not taken from the plan shown first).
func (r *run) pendingOn(host string) []*plan.Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*plan.Step
	for _, s := range r.p.Steps {
		if s.Host == host && r.results[s.ID] == nil && r.reusableLocked(s) == nil {
			out = append(out, s)
		}
	}
	return out
}

// reuse returns the plan pass's in-place verdict for s when it still
// stands (see Engine.Prechecked), or nil.
func (r *run) reuse(s *plan.Step) *result.Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reusableLocked(s)
}

func (r *run) reusableLocked(s *plan.Step) *result.Step {
	pre := r.prechecked[s.ID]
	// A directory step is left out: other hires' steps change the
	// directory without touching this host.
	if pre == nil || s.Host == "" || s.Directory != "" || r.changed[s.Host] {
		return nil
	}
	for _, d := range s.DependsOn {
		if dr := r.results[d]; dr == nil || dr.Outcome != result.OK {
			return nil
		}
	}
	return pre
}

// changing marks host as changed in this run: from now on its steps are
// checked afresh.
func (r *run) changing(host string) {
	if host == "" {
		return
	}
	r.mu.Lock()
	r.changed[host] = true
	r.mu.Unlock()
}

// prefetch reads, in one batch, what the checks of steps will read on t
// (their kinds' probes), unless t was read so since it last changed. A
// failed batch is logged and forgotten: each check then reads for itself.
// It returns the time spent.
func (r *run) prefetch(ctx context.Context, t *step.Target, steps []*plan.Step) time.Duration {
	var probes []step.Probe
	for _, s := range steps {
		if p, ok := r.kinds[s.Kind].(step.Prober); ok {
			probes = append(probes, p.Probes(s)...)
		}
		if d, ok := r.kinds[s.Kind].(step.Differ); ok && r.e.Diff && r.mode != Recheck {
			probes = append(probes, d.DiffProbes(s)...)
		}
	}
	if len(probes) < 2 {
		return 0
	}
	// Bounded like a step: a read that hangs holds up one batch, not the run.
	ctx, cancel := context.WithTimeout(ctx, prefetchTimeout)
	defer cancel()
	spent, err := t.Prefetch(ctx, probes)
	if err != nil {
		r.log().Debug("prefetch failed, checks read one by one", "host", t.Host.Name, "err", secret.Scrub(err.Error()))
	}
	return spent
}

// prefetchTimeout bounds a batch of reads.
const prefetchTimeout = 2 * time.Minute

// scrubFacts is a check's evidence with any secret's text scrubbed, as its
// words are.
func scrubFacts(fs []result.Fact) []result.Fact {
	if len(fs) == 0 {
		return nil
	}
	out := make([]result.Fact, len(fs))
	for i, f := range fs {
		out[i] = result.Fact{Key: f.Key, Value: secret.Scrub(f.Value)}
	}
	return out
}

// checkFailure is a check that did not pass, with what it found; one that
// could not run on the host says so in its class.
func checkFailure(s *plan.Step, st step.State) *result.Failure {
	f := &result.Failure{Host: s.Host, Step: s.ID, Phase: "check", Message: secret.Scrub(st.Reason)}
	if st.CannotRun {
		f.Class = result.ClassCannotRun
	}
	return f
}

// fail records a failure with host, step, phase, command and output.
func (r *run) fail(rs *result.Step, s *plan.Step, phase string, err error) {
	rs.Outcome = result.Failed
	where := s.Host
	if where == "" && s.Directory != "" {
		where = "directory " + s.Directory
	}
	f := &result.Failure{Host: where, Step: s.ID, Phase: phase, Message: secret.Scrub(err.Error())}
	var ny *step.NotYetError
	if errors.As(err, &ny) {
		f.Class = result.ClassNotYet
	}
	var ce *step.CommandError
	if errors.As(err, &ce) {
		f.Command = secret.Scrub(ce.Command)
		f.ExitCode = ce.ExitCode
		f.Output = step.Tail(ce.Combined(), 2000)
	}
	rs.Failure = f
	rs.Reason = phase
	r.log().Error("step failed", "target", where, "step", s.ID, "phase", phase, "err", f.Message)
}

// handover re-checks every step that ended done, so the report proves the
// final state of the machine rather than the history of the run.
func (r *run) handover(ctx context.Context) {
	r.emit(result.Event{Type: result.HandoverStarted, Total: len(r.p.Steps)})
	for _, tc := range r.targets {
		if tc.t != nil {
			tc.t.Invalidate() // the handover reads the hosts afresh
		}
	}
	out := make([]result.Step, len(r.p.Steps))
	// What each host re-checks: read together, in one round trip.
	handoverOn := map[string][]*plan.Step{}
	for i, s := range r.p.Steps {
		if r.res.Steps[i].Outcome.Done() && s.Host != "" {
			handoverOn[s.Host] = append(handoverOn[s.Host], s)
		}
	}
	var wg sync.WaitGroup
	for i, s := range r.p.Steps {
		prev := r.res.Steps[i]
		if !prev.Outcome.Done() {
			rs := r.newResult(s)
			rs.Outcome, rs.Reason = result.Skipped, "the step did not complete: "+string(prev.Outcome)
			out[i] = *rs
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs := r.newResult(s)
			out[i] = *rs
			kind := r.kinds[s.Kind]
			x, _, err := r.exec(ctx, s)
			if err != nil {
				r.fail(rs, s, "connect", err)
				out[i] = *rs
				return
			}
			release, err := r.acquire(ctx, lockKey(s), nil)
			if err != nil {
				rs.Outcome, rs.Reason = result.Skipped, "the run was cancelled"
				out[i] = *rs
				return
			}
			defer release()
			rs.Started = time.Now()
			if x.T != nil {
				rs.Remote += r.prefetch(ctx, x.T, handoverOn[s.Host])
			}
			err = r.attempt(ctx, kind, x, s, rs, Recheck, nil)
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

// claim is a step taken over by another step's batch; done closes when
// its result is final.
type claim struct {
	done chan struct{}
	rs   *result.Step
}

// begin marks a step as started on its own, unless a batch claimed it:
// then it returns the claim.
func (r *run) begin(id string) *claim {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.claims[id]; c != nil {
		return c
	}
	r.started[id] = true
	return nil
}

// claimBatch takes over the steps that can join s's batch: same host and
// kind, not started, not claimed, and every dependency already finished
// done. A step whose dependencies are pending or failed is left to run on
// its own (and be skipped there), so dependency order holds.
func (r *run) claimBatch(s *plan.Step) []*plan.Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*plan.Step
	for _, o := range r.p.Steps {
		if o.ID == s.ID || o.Host != s.Host || o.Kind != s.Kind || r.started[o.ID] || r.claims[o.ID] != nil {
			continue
		}
		ready := true
		for _, d := range o.DependsOn {
			dr := r.results[d]
			if dr == nil || (dr.Outcome != result.OK && dr.Outcome != result.Changed) {
				ready = false
				break
			}
		}
		if ready {
			r.claims[o.ID] = &claim{done: make(chan struct{})}
			out = append(out, o)
		}
	}
	return out
}

// unclaim gives a claimed step back: it runs on its own as if never
// claimed.
func (r *run) unclaim(id string) {
	r.mu.Lock()
	c := r.claims[id]
	delete(r.claims, id)
	r.mu.Unlock()
	if c != nil {
		close(c.done) // c.rs is nil: a waiter starts again
	}
}

// finish settles a claimed step with its result.
func (r *run) finish(id string, rs *result.Step) {
	r.mu.Lock()
	c := r.claims[id]
	r.mu.Unlock()
	c.rs = rs
	close(c.done)
}

// applyBatch applies s together with the other ready steps of its kind on
// its host (one apt transaction for a host's packages). Each claimed step
// is checked on its own first; those in place, or whose check fails, are
// given back to run on their own (with their own retries). After the batch
// each step is verified on its own and gets its own result; s's outcome is
// returned to its caller like a plain Apply.
func (r *run) applyBatch(ctx context.Context, b step.Batcher, kind step.Kind, x *step.Exec, s *plan.Step) (string, error) {
	type member struct {
		s  *plan.Step
		rs *result.Step
		x  *step.Exec
	}
	var members []member
	for _, o := range r.claimBatch(s) {
		rs := r.newResult(o)
		ox := &step.Exec{T: x.T, D: x.D, Probed: true}
		st, err := kind.Check(ctx, ox, o)
		ox.Probed = false
		if err != nil || st.InPlace || ctx.Err() != nil {
			r.unclaim(o.ID)
			continue
		}
		rs.Action, rs.Reason, rs.Attempts = string(st.Action), st.Reason, 1
		r.emit(result.Event{Type: result.StepStarted, Step: rs})
		members = append(members, member{s: o, rs: rs, x: ox})
	}
	if r.journalFailed() {
		// Never change a host without a record of it: the members' starts
		// may not be written.
		for _, m := range members {
			r.unclaim(m.s.ID)
		}
		members = nil
	}
	steps := []*plan.Step{s}
	for _, m := range members {
		steps = append(steps, m.s)
	}
	bx := &step.Exec{T: x.T, D: x.D}
	applied := b.ApplyBatch(ctx, bx, steps)
	if len(applied) != len(steps) {
		err := fmt.Errorf("%s: the %s kind applied %d of %d steps", s.Host, s.Kind, len(applied), len(steps))
		applied = make([]step.Applied, len(steps))
		for i := range applied {
			applied[i].Err = err
		}
	}
	// The transaction's time is shared out among its steps.
	share := bx.Remote / time.Duration(len(steps))
	x.Remote += share
	for i, m := range members {
		a := applied[i+1]
		m.rs.Remote = m.x.Remote + share
		switch {
		case a.Err != nil && remote.IsTransient(a.Err):
			// Retried on its own, as any transient fault.
			r.unclaim(m.s.ID)
			continue
		case a.Err != nil:
			r.fail(m.rs, m.s, "apply", a.Err)
		default:
			err := r.verify(ctx, kind, m.x, m.s)
			if err != nil && remote.IsTransient(err) {
				r.unclaim(m.s.ID) // checked again on its own
				continue
			}
			if err != nil {
				r.fail(m.rs, m.s, "verify", err)
			} else {
				m.rs.Outcome, m.rs.Changed = result.Changed, secret.Scrub(a.Changed)
			}
			m.rs.Remote = m.x.Remote + share
		}
		m.rs.Duration = time.Since(m.rs.Started)
		r.finish(m.s.ID, m.rs)
	}
	return applied[0].Changed, applied[0].Err
}

// verify proves a step after apply: the kind's own Verify, or a check
// that now finds it in place. The check's reads and those of the host's
// other pending steps go in one batch, read after the change (the apply
// invalidated every earlier read): the verify and the next step's check
// cost one round trip, not two.
func (r *run) verify(ctx context.Context, kind step.Kind, x *step.Exec, s *plan.Step) error {
	if v, ok := kind.(step.Verifier); ok {
		return v.Verify(ctx, x, s)
	}
	if x.T != nil {
		x.Remote += r.prefetch(ctx, x.T, r.pendingOn(s.Host))
		x.Probed = true
		defer func() { x.Probed = false }()
	}
	after, err := kind.Check(ctx, x, s)
	if err != nil {
		return err
	}
	if !after.InPlace {
		return fmt.Errorf("applied, but the check still finds: %s", after.Reason)
	}
	return nil
}
