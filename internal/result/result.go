// Package result holds what a run did: the outcome of every step and the
// events of a run as they happen. The engine writes these; reports, the
// progress view and (later) the journal read them.
package result

import (
	"time"

	"onboard/internal/plan"
)

// Outcome is how a step ended.
type Outcome string

const (
	OK          Outcome = "ok"           // already in place
	Changed     Outcome = "changed"      // applied and verified
	Failed      Outcome = "failed"       // check, apply or verify failed
	Skipped     Outcome = "skipped"      // a dependency failed
	WouldChange Outcome = "would-change" // dry run: apply would change it
	CannotTell  Outcome = "cannot-tell"  // dry run: the check could not decide
)

// Done reports whether the outcome leaves the step in its desired state.
func (o Outcome) Done() bool { return o == OK || o == Changed }

// Failure describes why a step failed, with what a technician needs to act.
type Failure struct {
	Host  string `json:"host,omitempty"`
	Step  string `json:"step"`
	Phase string `json:"phase"` // check, apply, verify, connect
	// Class sets a failure apart from "ran and found otherwise":
	// ClassCannotRun, ClassNotYet, or "" for that.
	Class    string `json:"class,omitempty"`
	Command  string `json:"command,omitempty"`
	ExitCode int    `json:"exit_code,omitempty"`
	Output   string `json:"output,omitempty"` // tail of stdout+stderr
	Message  string `json:"message"`
	// Known is the knowledge-base article that best answers this failure
	// (internal/kb), set after the run; nil when none matched.
	Known *Known `json:"known,omitempty"`
}

// Known is a knowledge-base article matched to a failure: what the
// report and the notification show a technician.
type Known struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Fix   string `json:"fix"` // the article's first paragraph, Markdown
	Link  string `json:"link,omitempty"`
}

// ClassCannotRun is the class of a check that could not be made on its
// host (a tool it needs is missing): it proves nothing, so it never passes.
const ClassCannotRun = "cannot-run"

// ClassNotYet is the class of a step refused because its time has not
// come (a leaver's account before the leave time) or something holds it
// (a legal hold): nothing failed, and a later run applies it.
const ClassNotYet = "not-yet"

// Step is the result of one plan step.
type Step struct {
	ID      string  `json:"id"`
	Kind    string  `json:"kind"`
	Hire    string  `json:"hire"`
	Host    string  `json:"host,omitempty"`
	Title   string  `json:"title"`
	Outcome Outcome `json:"outcome"`
	// Action is what the check before apply found to do: create, update
	// or none (the step's planned action, as recorded in the journal).
	Action   string        `json:"action,omitempty"`
	Changed  string        `json:"changed,omitempty"` // what changed, in words
	Reason   string        `json:"reason,omitempty"`  // why skipped, would-change or cannot-tell
	Failure  *Failure      `json:"failure,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// Remote is the time spent waiting on the host (connecting and remote commands), so the engine's
	// own overhead can be measured.
	Remote   time.Duration `json:"remote_ns"`
	Attempts int           `json:"attempts,omitempty"`
	// Set names the check set of a check step ("baseline@1").
	Set string `json:"set,omitempty"`
	// Waiver excuses a check of this hire that does not pass, until it
	// expires.
	Waiver *Waiver `json:"waiver,omitempty"`
	// Diff is what the step changes (or would) in a file's content, as a
	// unified diff with secrets redacted; only with --diff.
	Diff string `json:"diff,omitempty"`
	// Evidence is what a check saw, field by field (the words are in
	// Reason or Failure.Message); absent from records written before.
	Evidence []Fact `json:"evidence,omitempty"`
	// EvidenceChange: in an audit, how Evidence differs from what the
	// journal last recorded of this check.
	EvidenceChange *EvidenceChange `json:"evidence_change,omitempty"`
}

// Waiver excuses one hire's check that does not pass: it does not block
// the handover while it holds, and the reports still show what was found.
type Waiver struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires"` // YYYY-MM-DD, the last UTC day it holds
	// Expired: the run was after that day, so the check counts again.
	Expired bool `json:"expired,omitempty"`
}

// NewWaiver is the plan's waiver judged on now's UTC day: it holds through
// its expiry date and has expired from the day after. Nil gives nil.
func NewWaiver(w *plan.Waiver, now time.Time) *Waiver {
	if w == nil {
		return nil
	}
	// YYYY-MM-DD strings order as the days they name.
	return &Waiver{Reason: w.Reason, Expires: w.Expires, Expired: now.UTC().Format("2006-01-02") > w.Expires}
}

// Waived reports whether the step did not pass and a waiver that holds
// excuses it.
func (s Step) Waived() bool {
	return s.Waiver != nil && !s.Waiver.Expired && !s.Outcome.Done()
}

// Hire summarises one new hire in a run.
type Hire struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Host     string `json:"host,omitempty"`
	Profile  string `json:"profile,omitempty"`
	Source   string `json:"source"`
	// For the handover report.
	StartDate string   `json:"start_date,omitempty"`
	Manager   string   `json:"manager,omitempty"`
	Email     string   `json:"email,omitempty"`
	Manual    []string `json:"manual,omitempty"` // left to do by hand
	// Added: what an audit found beyond the handed-over setup (a group,
	// a printer queue nobody planned).
	Added   []string `json:"added,omitempty"`
	Contact string   `json:"contact,omitempty"`
	Notes   string   `json:"notes,omitempty"`
}

// Run is the whole result of one invocation.
type Run struct {
	ID       string `json:"id"`
	Operator string `json:"operator"`
	DryRun   bool   `json:"dry_run"`
	// Audit: a re-check of completed setups; a step not in place is drift.
	Audit    bool      `json:"audit,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Hires    []Hire    `json:"hires"`
	Steps    []Step    `json:"steps"`
	// Handover holds the final re-check of every step after apply; empty on
	// a dry run or when apply failed before it.
	Handover []Step `json:"handover,omitempty"`
	// Unreachable lists hosts that could not be reached.
	Unreachable []string `json:"unreachable,omitempty"`
	// Cancelled: the run was interrupted (Ctrl-C, SIGTERM) before the end.
	Cancelled bool `json:"cancelled,omitempty"`
	// JournalError: the journal could not record an event, so the run
	// stopped; what the journal lacks is the last event before it.
	JournalError string `json:"journal_error,omitempty"`
}

// Counts tallies outcomes.
func Counts(steps []Step) map[Outcome]int {
	c := map[Outcome]int{}
	for _, s := range steps {
		c[s.Outcome]++
	}
	return c
}

// Unwaived counts the failed steps that no waiver excuses.
func Unwaived(steps []Step) int {
	n := 0
	for _, s := range steps {
		if s.Outcome == Failed && !s.Waived() {
			n++
		}
	}
	return n
}

// Ready reports whether the hire with the given id may be handed over: every
// step and every handover re-check of that hire is done, or is a check a
// waiver that holds excuses.
func (r *Run) Ready(hire string) bool {
	if r.DryRun || len(r.Handover) == 0 {
		return false
	}
	for _, list := range [][]Step{r.Steps, r.Handover} {
		for _, s := range list {
			if s.Hire == hire && !s.Outcome.Done() && !s.Waived() {
				return false
			}
		}
	}
	return true
}

// EventType names what happened.
type EventType string

const (
	RunStarted      EventType = "run-started"
	StepStarted     EventType = "step-started"
	StepFinished    EventType = "step-finished"
	HandoverStarted EventType = "handover-started"
	RunFinished     EventType = "run-finished"
)

// Event is one thing that happened during a run, in order. Observers
// (progress view, JSON lines output, journal) receive every event.
type Event struct {
	Time  time.Time `json:"time"`
	Type  EventType `json:"type"`
	RunID string    `json:"run_id"`
	Step  *Step     `json:"step,omitempty"`
	Run   *Run      `json:"run,omitempty"` // on run-finished
	Total int       `json:"total,omitempty"`
}

// Observer receives events. Implementations must be safe for concurrent use.
type Observer interface {
	Event(Event)
}
