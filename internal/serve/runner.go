package serve

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/riverqueue/river"

	"onboard/internal/connect"
	"onboard/internal/deliver"
	"onboard/internal/engine"
	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/planner"
	"onboard/internal/playbook"
	"onboard/internal/remote"
	"onboard/internal/report"
	"onboard/internal/result"
	"onboard/internal/secret"
	"onboard/internal/serve/store"
	"onboard/internal/strictyaml"
)

// runWorker is the queue's worker: one job, one scheduled run.
type runWorker struct {
	river.WorkerDefaults[RunArgs]
	s *Service
}

// Timeout: none from the queue; the run's lease and the steps' own
// timeouts bound it.
func (w *runWorker) Timeout(*river.Job[RunArgs]) time.Duration { return -1 }

// NextRetry backs off transient faults: 5s, 20s, 45s... capped at 10 min.
func (w *runWorker) NextRetry(job *river.Job[RunArgs]) time.Time {
	d := time.Duration(job.Attempt*job.Attempt) * 5 * time.Second
	return time.Now().Add(min(d, 10*time.Minute))
}

// errTransient marks a run that could not reach a host or directory: it is
// retried with backoff, unlike a step that ran and failed.
var errTransient = errors.New("transient fault")

func (w *runWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	s := w.s
	err := s.work(ctx, job.Args.RunID, job.Attempt >= job.MaxAttempts)
	var busy *busyError
	switch {
	case errors.As(err, &busy):
		// Another run holds a resource: come back soon, without counting
		// an attempt.
		return river.JobSnooze(busy.wait)
	case errors.Is(err, errInterrupted):
		return river.JobSnooze(time.Second)
	}
	return err
}

// busyError says a resource limit was reached.
type busyError struct {
	resource string
	wait     time.Duration
}

func (e *busyError) Error() string { return "busy: " + e.resource }

var errInterrupted = errors.New("interrupted: the instance is stopping; the run resumes later")

// work claims a run and executes it. last says no retry follows a
// transient fault.
func (s *Service) work(ctx context.Context, runID string, last bool) error {
	now := s.now()
	var r *store.Run
	var h *store.Hire
	var busy string
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		r, busy = nil, ""
		got, err := store.Claim(ctx, tx, runID, s.cfg.Instance, now, now.Add(s.cfg.Lease))
		if err != nil || got == nil {
			return err
		}
		h, err = store.GetHire(ctx, tx, got.EmployeeID)
		if err != nil {
			return err
		}
		// Phases run in order: an earlier phase of this hire that is
		// still to run (a late hire has every phase due at once) goes
		// first. One that failed does not hold the next back: each phase
		// re-checks the ones before it and resumes what failed.
		runs, err := store.RunsOf(ctx, tx, got.EmployeeID)
		if err != nil {
			return err
		}
		for _, o := range runs {
			if o.Generation == got.Generation && phaseIndex(o.Phase) < phaseIndex(got.Phase) &&
				(o.State == store.RunScheduled || o.State == store.RunRunning) {
				busy = "phase:" + o.Phase
				return errBusy
			}
		}
		var a Assignment
		_ = json.Unmarshal(h.Assignment, &a)
		for _, res := range s.resources(got, &a) {
			ok, err := store.Acquire(ctx, tx, res.name, res.slots, s.cfg.Instance, got.ID, now, now.Add(s.cfg.Lease))
			if err != nil {
				return err
			}
			if !ok {
				busy = res.name
				return errBusy // rolls the claim back
			}
		}
		r = got
		return nil
	})
	if errors.Is(err, errBusy) {
		s.stats.busy(busy)
		return &busyError{resource: busy, wait: time.Duration(500+rand.IntN(1500)) * time.Millisecond}
	}
	if err != nil {
		return fmt.Errorf("claim run %s: %w", runID, err)
	}
	if r == nil {
		return nil // finished, cancelled, superseded, or held by a live instance
	}
	return s.execute(ctx, r, h, last)
}

var errBusy = errors.New("resource busy")

type resource struct {
	name  string
	slots int
}

// resources are the limits a run takes a slot of: its hire (phases of one
// hire never overlap), its workstation (one run per machine), its
// directory (K), and the whole service.
func (s *Service) resources(r *store.Run, a *Assignment) []resource {
	out := []resource{{"hire:" + r.EmployeeID, 1}}
	if a.Host != "" {
		out = append(out, resource{"host:" + a.Host, 1})
	}
	if a.Directory != "" {
		out = append(out, resource{"directory:" + a.Directory, s.cfg.DirectoryLimit})
	}
	if s.cfg.GlobalLimit > 0 {
		out = append(out, resource{"global", s.cfg.GlobalLimit})
	}
	return out
}

// execute runs a claimed run to its end, keeping its lease alive.
func (s *Service) execute(ctx context.Context, r *store.Run, h *store.Hire, last bool) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hb := make(chan struct{})
	go func() {
		defer close(hb)
		t := time.NewTicker(s.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := store.Renew(context.WithoutCancel(ctx), s.store.DB, r.ID, s.cfg.Instance, s.now().Add(s.cfg.Lease))
				if err == nil && !ok {
					cancel(errors.New("lost the run's lease to another instance"))
					return
				}
			}
		}
	}()
	defer func() {
		cancel(nil)
		<-hb
		if err := store.ReleaseAll(context.WithoutCancel(ctx), s.store.DB, r.ID); err != nil {
			s.log.Warn("release leases", "run", r.ID, "err", err)
		}
	}()

	log := s.log.With("run", r.ID, "hire", r.EmployeeID, "phase", r.Phase, "attempt", r.Attempts)
	log.Info("run started")
	started := time.Now()
	res, jrun, err := s.runPlan(ctx, r, h)
	s.stats.runTime(r.Phase, time.Since(started))
	done := func(state, msg string) error {
		r.State, r.Error, r.JournalRun = state, secret.Scrub(msg), jrun
		if res != nil {
			b, _ := json.Marshal(res)
			r.Result = json.RawMessage(secret.Scrub(string(b)))
		}
		ok, ferr := store.Finish(context.WithoutCancel(ctx), s.store.DB, r, s.cfg.Instance, s.now())
		if ferr != nil {
			return ferr
		}
		if !ok {
			log.Warn("the run was taken over before it finished here")
			return nil
		}
		s.stats.outcome(r.Phase, state)
		if pe := (*planError)(nil); errors.As(err, &pe) {
			s.notifyUnbuilt(ctx, r, h, pe, res)
		} else {
			s.notifyRun(ctx, r, res)
		}
		if state == store.RunOK && r.Phase == PhaseActivation {
			s.stats.handedOver(h.StartDate, s.now())
		}
		log.Info("run finished", "state", state, "error", r.Error)
		return nil
	}
	switch {
	case ctx.Err() != nil || (res != nil && res.Cancelled):
		// Stopping (or the lease was lost): hand the run back; its next
		// attempt re-checks every step and does only what is left.
		if err := store.Release(context.WithoutCancel(ctx), s.store.DB, r.ID, s.cfg.Instance); err != nil {
			return err
		}
		log.Info("run interrupted", "cause", context.Cause(ctx))
		return errInterrupted
	case errors.Is(err, errTransient) && !last:
		if err := store.Release(context.WithoutCancel(ctx), s.store.DB, r.ID, s.cfg.Instance); err != nil {
			return err
		}
		log.Warn("transient fault; retrying", "err", err)
		return err
	case err != nil:
		if pe := (*planError)(nil); errors.As(err, &pe) {
			// No step ran: the journal records the plan's errors as the
			// run's one failed step, and the result shows them.
			res, jrun = s.recordUnbuilt(ctx, r, h, pe)
		}
		return done(store.RunFailed, err.Error())
	}
	return done(store.RunOK, "")
}

// runPlan builds (or resumes) the run's plan and applies its phase.
func (s *Service) runPlan(ctx context.Context, r *store.Run, h *store.Hire) (*result.Run, string, error) {
	p, err := s.planFor(ctx, r, h)
	if err != nil {
		return nil, "", err
	}
	if !isLeavePhase(r.Phase) {
		p = phasePlan(p, r.Phase)
	}
	d := s.dialer()
	e := &engine.Engine{Dialer: d, Directories: d, Parallel: 8, Retries: s.cfg.StepRetries, Log: s.log, Operator: "onboard serve (" + s.cfg.Instance + ")"}
	// The knowledge base is matched as failures are recorded; an inventory
	// that does not load now was loaded to make the plan, so it is only
	// the fixes that are then left out.
	if inv, err := s.inventory(); err == nil {
		e.Known = inv.KnowledgeBase()
	}
	if err := e.Validate(p); err != nil {
		return nil, "", fmt.Errorf("the plan cannot be run: %w", err)
	}
	var rec *journal.RunRecorder
	if s.cfg.Journal != nil {
		rec = s.cfg.Journal.Recorder(journal.RunStart{Operator: e.Operator, Trigger: r.Trigger,
			Mode: runMode(r), Sources: p.Sources, Plan: p})
		e.Recorder = rec
	}
	res := e.Run(ctx, p, engine.Apply)
	for _, st := range res.Steps {
		if st.Outcome != result.Skipped {
			s.stats.stepSeconds.WithLabelValues(st.Kind).Observe(st.Duration.Seconds())
		}
	}
	if res.JournalError != "" {
		return res, res.ID, fmt.Errorf("the journal could not be written, so the run stopped: %s", res.JournalError)
	}
	if res.Cancelled {
		return res, res.ID, nil
	}
	if r.Phase == PhaseActivation {
		if err := report.WriteHandovers(p, res); err != nil {
			return res, res.ID, fmt.Errorf("write handover reports: %w", err)
		}
	}
	if len(res.Unreachable) > 0 && !refused(res) {
		sort.Strings(res.Unreachable)
		return res, res.ID, fmt.Errorf("%w: unreachable: %s", errTransient, strings.Join(res.Unreachable, ", "))
	}
	if msg := failures(res); msg != "" {
		return res, res.ID, errors.New(msg)
	}
	return res, res.ID, nil
}

// refused says a host was reached and refused us (a changed host key,
// credentials not accepted): waiting will not help, a technician must.
func refused(res *result.Run) bool {
	for _, st := range res.Steps {
		if f := st.Failure; f != nil && f.Phase == "connect" &&
			(strings.Contains(f.Message, remote.ErrHostKey.Error()) || strings.Contains(f.Message, remote.ErrAuth.Error())) {
			return true
		}
	}
	return false
}

// failures summarises failed steps: host, step, command, exit code, output.
func failures(res *result.Run) string {
	var b strings.Builder
	n := 0
	for _, list := range [][]result.Step{res.Steps, res.Handover} {
		for _, st := range list {
			if st.Outcome != result.Failed || st.Waived() {
				continue // a waived check does not hold the hire back
			}
			n++
			if n > 1 {
				b.WriteString("\n")
			}
			f := st.Failure
			if f == nil {
				fmt.Fprintf(&b, "%s: %s failed", st.Host, st.Title)
				continue
			}
			fmt.Fprintf(&b, "%s: step %s failed in %s: %s", f.Host, f.Step, f.Phase, f.Message)
			if f.Command != "" {
				fmt.Fprintf(&b, "\n  command: %s (exit %d)", f.Command, f.ExitCode)
			}
			if f.Output != "" {
				fmt.Fprintf(&b, "\n  output: %s", strings.ReplaceAll(strings.TrimSpace(f.Output), "\n", "\n          "))
			}
		}
	}
	return b.String()
}

// planFor resumes the plan of the run's first attempt, or makes it from
// the hire's playbook and the inventory of the moment.
func (s *Service) planFor(ctx context.Context, r *store.Run, h *store.Hire) (*plan.Plan, error) {
	if len(r.Plan) > 0 {
		var p plan.Plan
		if err := json.Unmarshal(r.Plan, &p); err != nil {
			return nil, fmt.Errorf("run %s: stored plan: %w", r.ID, err)
		}
		return &p, nil
	}
	var p *plan.Plan
	var err error
	if isLeavePhase(r.Phase) {
		p, err = s.leavePlan(ctx, r)
	} else {
		path := s.playbookPath(h.EmployeeID)
		if err := writePlaybookFile(path, []byte(h.Playbook)); err != nil {
			return nil, err
		}
		p, err = s.buildPlan(ctx, path, []byte(h.Playbook))
	}
	if err != nil {
		return nil, &planError{err}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := store.SetPlan(ctx, s.store.DB, r.ID, b); err != nil {
		return nil, err
	}
	return p, nil
}

// runMode is the journal's mode of a run: a leaver's "offboard" or
// "purge" (what the audit and restore look for), a hire's phase with the
// run and attempt.
func runMode(r *store.Run) string {
	if isLeavePhase(r.Phase) {
		return r.Phase
	}
	return fmt.Sprintf("serve %s (run %s, attempt %d)", r.Phase, r.ID, r.Attempts)
}

// leavePlan builds a leaver's offboard or purge plan through the
// Offboard hook, at the leave time the run was scheduled for.
func (s *Service) leavePlan(ctx context.Context, r *store.Run) (*plan.Plan, error) {
	off := s.cfg.Offboard
	if off == nil && s.cfg.Journal != nil {
		off = s.offboardFromJournal
	}
	if off == nil {
		return nil, errNoOffboard
	}
	at := r.EffectiveAt
	if at.IsZero() {
		at = r.ScheduledAt
	}
	p, err := off(ctx, r.EmployeeID, at, r.Phase == PhasePurge)
	if err != nil {
		return nil, fmt.Errorf("the %s plan of leaver %s: %w", r.Phase, r.EmployeeID, err)
	}
	if p == nil {
		return nil, fmt.Errorf("the %s plan of leaver %s: the planner returned none", r.Phase, r.EmployeeID)
	}
	return p, nil
}

// offboardFromJournal plans a leaver as onboard offboard does: from the
// verified journal's record of their setup, with the groups the directory
// has the account in now.
func (s *Service) offboardFromJournal(ctx context.Context, id string, at time.Time, purge bool) (*plan.Plan, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	hist, err := s.cfg.Journal.History(ctx, id)
	if err != nil {
		return nil, err
	}
	res := &connect.UsernameResolver{Dialer: s.dialer()}
	defer res.Close()
	unreachable := false
	p, err := planner.Offboard(hist, inv, planner.OffboardOptions{At: at, Purge: purge, Now: time.Now(),
		Groups: func(d *plan.Directory, username string) ([]string, error) {
			g, err := res.Groups(ctx, d, username)
			unreachable = unreachable || errors.Is(err, remote.ErrUnreachable)
			return g, err
		}})
	if err != nil && unreachable {
		return nil, fmt.Errorf("%w: %w", errTransient, err)
	}
	return p, err
}

// writePlaybookFile keeps the generated playbook where a technician finds
// it (and where relative paths in it resolve).
func writePlaybookFile(path string, b []byte) error {
	if err := os.MkdirAll(dirOf(path), 0o750); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o640)
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}

// buildPlan plans one generated playbook as `onboard plan` would.
func (s *Service) buildPlan(ctx context.Context, path string, yml []byte) (*plan.Plan, error) {
	var errs *multierror.Error
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	pb, err := playbook.Parse(path, yml)
	if err != nil {
		return nil, err
	}
	// The journal's history of the hire makes an HR change of profile,
	// department or machine a mover's re-plan, with its removals, as an
	// edited playbook is on the command line.
	var hist map[string]*plan.History
	if s.cfg.Journal != nil {
		if hist, err = s.cfg.Journal.Histories(ctx, []string{pb.Person.EmployeeID}); err != nil {
			return nil, fmt.Errorf("the journal's history of hire %s: %w", pb.Person.EmployeeID, err)
		}
	}
	p, unreachable, err := s.dialer().Plan(ctx, []*playbook.Playbook{pb}, inv, planner.Options{ProfileDirs: s.cfg.Profiles, Write: s.cfg.AllowWrite, History: hist})
	errs = multierror.Append(errs, err)
	if err := errs.ErrorOrNil(); err != nil {
		errs.ErrorFormat = strictyaml.ListFormat
		if unreachable {
			return nil, fmt.Errorf("%w: %w", errTransient, errs)
		}
		return nil, errs
	}
	return p, nil
}

// dialer makes a run's connections: no terminal (passwords go to files
// only), known_hosts strictly, as the inventory says.
func (s *Service) dialer() *connect.Dialer {
	return &connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: s.cfg.DialTimeout, Log: s.log, Deliver: &deliver.Channel{}}
}

// sweep repairs what a stop or a crash left: runs stored but never queued,
// and runs whose instance died mid-run (their lease ran out), queued again
// with a fresh job so that a live instance resumes them.
func (s *Service) sweep(ctx context.Context) {
	t := time.NewTicker(max(s.cfg.Lease/2, 200*time.Millisecond))
	defer t.Stop()
	for {
		s.sweepOnce(ctx)
		s.stats.depth(ctx, s.queue)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) sweepOnce(ctx context.Context) {
	unq, err := store.Unqueued(ctx, s.store.DB, 500)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("sweep", "err", err)
	}
	for _, r := range unq {
		if err := s.enqueue(ctx, r, r.Attempts); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep: queue run", "run", r.ID, "err", err)
		}
	}
	ab, err := store.Abandoned(ctx, s.store.DB, s.now())
	if err != nil && ctx.Err() == nil {
		s.log.Warn("sweep", "err", err)
	}
	for _, r := range ab {
		s.log.Info("taking over a run whose instance stopped answering", "run", r.ID, "holder", r.Holder)
		if err := s.enqueue(ctx, r, r.Attempts); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep: queue run", "run", r.ID, "err", err)
		}
	}
}

// Retry queues a failed run again, due now (the status page's button).
func (s *Service) Retry(ctx context.Context, runID string) error {
	ok, err := store.Retry(ctx, s.store.DB, runID, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("run %s is not failed: only a failed run can be retried", runID)
	}
	r, err := store.GetRun(ctx, s.store.DB, runID)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, r, r.Attempts)
}
