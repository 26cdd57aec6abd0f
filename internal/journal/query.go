package journal

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// Record is one record of the chain as read back.
type Record struct {
	Seq   int64     `json:"seq"`
	RunID string    `json:"run_id"`
	Kind  Kind      `json:"kind"`
	Time  time.Time `json:"time"`
	// Step is the step's result: as it started (step-started), as it ended
	// (step-finished) or as re-checked (handover).
	Step *result.Step `json:"step,omitempty"`
	// Action is what the plan said the step would do.
	Action plan.Action `json:"action,omitempty"`
	// Total is the number of steps to re-check (handover-started).
	Total  int     `json:"total,omitempty"`
	Finish *Finish `json:"finish,omitempty"`
	// Notification is a delivery attempt (notification).
	Notification *NotificationRecord `json:"notification,omitempty"`
	PrevHash     string              `json:"prev_hash"`
	Hash         string              `json:"hash"`
}

// RunSummary is one line of `onboard history`.
type RunSummary struct {
	ID       string        `json:"id"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished,omitzero"`
	Operator string        `json:"operator"`
	Trigger  string        `json:"trigger"`
	Mode     string        `json:"mode,omitempty"`
	DryRun   bool          `json:"dry_run"`
	Process  Process       `json:"process"`
	Hires    []result.Hire `json:"hires"`
	Hosts    []string      `json:"hosts,omitempty"`
	// Outcome: ok, failed, cancelled, interrupted or running.
	Outcome string `json:"outcome"`
	// Total is the number of steps in the plan; Steps counts the finished
	// ones by outcome; InProgress the ones started and never finished (a
	// run interrupted in the middle of them).
	Total      int                    `json:"total"`
	Steps      map[result.Outcome]int `json:"steps"`
	InProgress int                    `json:"in_progress,omitempty"`
	// FirstSeq and LastSeq are the run's first and last records.
	FirstSeq int64 `json:"first_seq"`
	LastSeq  int64 `json:"last_seq"`
}

// RunDetail is a run with every record, for `onboard show` and `resume`.
type RunDetail struct {
	RunSummary
	Sources []string        `json:"sources,omitempty"`
	Plan    json.RawMessage `json:"plan,omitempty"`
	Finish  *Finish         `json:"finish,omitempty"`
	Records []Record        `json:"records"`
	// planExact: Plan was stored unscrubbed (see startPayload).
	planExact bool
	// Unverified are the records of the run that do not match their hash:
	// changed after they were written. Only CheckChain (VerifiedRun) says
	// whether the chain around them holds too.
	Unverified []int64 `json:"unverified,omitempty"`
}

// Filter selects runs; zero fields select everything.
type Filter struct {
	Hire     string // employee id
	Host     string // a host or directory the plan runs against
	Operator string
	// Since and Until bound the start of the run: [Since, Until).
	Since, Until time.Time
	// Outcome is ok, failed, cancelled, interrupted or running.
	Outcome string
	// Limit is the most runs returned, newest first; 0 returns all.
	Limit int
}

// StepRecord is the latest known state of one step of a hire.
type StepRecord struct {
	Record
	DryRun bool   `json:"dry_run"`
	Mode   string `json:"mode,omitempty"`
}

// Runs returns the runs that match f, newest first (by start time).
func (j *Journal) Runs(ctx context.Context, f Filter) ([]RunSummary, error) {
	q := `SELECT s.run_id, s.seq, s.time_ns, json_remove(s.payload, '$.plan'), f.time_ns, f.payload
FROM records s LEFT JOIN records f ON f.kind = 'run-finished' AND f.run_id = s.run_id
WHERE s.kind = 'run-started'`
	var args []any
	if !f.Since.IsZero() {
		q += ` AND s.time_ns >= ?`
		args = append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		q += ` AND s.time_ns < ?`
		args = append(args, f.Until.UnixNano())
	}
	if f.Hire != "" {
		q += ` AND EXISTS (SELECT 1 FROM json_each(s.payload, '$.hires') WHERE json_extract(value, '$.id') = ?)`
		args = append(args, f.Hire)
	}
	if f.Host != "" {
		q += ` AND EXISTS (SELECT 1 FROM json_each(s.payload, '$.hosts') WHERE value = ?)`
		args = append(args, f.Host)
	}
	if f.Operator != "" {
		q += ` AND json_extract(s.payload, '$.operator') = ?`
		args = append(args, f.Operator)
	}
	// Running and interrupted runs differ only by their process, checked
	// here; the other outcomes are in the run-finished record.
	live := false
	switch f.Outcome {
	case "":
	case RunRunning, RunInterrupted:
		q += ` AND f.seq IS NULL`
		live = true
	case RunOK, RunFailed, RunCancelled:
		q += ` AND json_extract(f.payload, '$.outcome') = ?`
		args = append(args, f.Outcome)
	default:
		return nil, fmt.Errorf("journal: unknown run outcome %q (ok, failed, cancelled, interrupted, running)", f.Outcome)
	}
	q += ` ORDER BY s.time_ns DESC, s.seq DESC` // records_started serves both the order and Since/Until
	if f.Limit > 0 && !live {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}

	tx, err := j.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("journal: list runs: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	type row struct {
		id            string
		seq, ns       int64
		start         string
		finNS         sql.NullInt64
		finishPayload sql.NullString
	}
	var rows []row
	rs, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("journal: list runs: %w", err)
	}
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.id, &r.seq, &r.ns, &r.start, &r.finNS, &r.finishPayload); err != nil {
			_ = rs.Close()
			return nil, fmt.Errorf("journal: list runs: %w", err)
		}
		rows = append(rows, r)
	}
	if err := errors.Join(rs.Err(), rs.Close()); err != nil {
		return nil, fmt.Errorf("journal: list runs: %w", err)
	}

	var out []RunSummary
	for _, r := range rows {
		var sp startPayload
		if err := json.Unmarshal([]byte(r.start), &sp); err != nil {
			return nil, fmt.Errorf("journal: run %s: start record: %w", r.id, err)
		}
		var fin *Finish
		var finTime time.Time
		if r.finishPayload.Valid {
			fin = new(Finish)
			if err := json.Unmarshal([]byte(r.finishPayload.String), fin); err != nil {
				return nil, fmt.Errorf("journal: run %s: finish record: %w", r.id, err)
			}
			finTime = fromNS(r.finNS.Int64)
		}
		st, err := runStats(ctx, tx, r.id)
		if err != nil {
			return nil, err
		}
		s := summarize(r.id, r.seq, fromNS(r.ns), sp, finTime, fin, st)
		if f.Outcome != "" && s.Outcome != f.Outcome {
			continue
		}
		out = append(out, s)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// stats is what a run's step records add up to.
type stats struct {
	steps      map[result.Outcome]int
	inProgress int
	lastSeq    int64
}

func runStats(ctx context.Context, tx *sql.Tx, runID string) (stats, error) {
	st := stats{steps: map[result.Outcome]int{}}
	rows, err := tx.QueryContext(ctx, `SELECT kind, coalesce(outcome, ''), count(*), max(seq) FROM records WHERE run_id = ? GROUP BY kind, outcome`, runID)
	if err != nil {
		return st, fmt.Errorf("journal: run %s: %w", runID, err)
	}
	for rows.Next() {
		var kind, outcome string
		var n int
		var last int64
		if err := rows.Scan(&kind, &outcome, &n, &last); err != nil {
			_ = rows.Close()
			return st, fmt.Errorf("journal: run %s: %w", runID, err)
		}
		if Kind(kind) == StepFinished {
			st.steps[result.Outcome(outcome)] += n
		}
		st.lastSeq = max(st.lastSeq, last)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return st, fmt.Errorf("journal: run %s: %w", runID, err)
	}
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM records s WHERE s.run_id = ?1 AND s.kind = 'step-started'
AND NOT EXISTS (SELECT 1 FROM records f WHERE f.run_id = ?1 AND f.kind = 'step-finished' AND f.step_id = s.step_id)`, runID).Scan(&st.inProgress)
	if err != nil {
		return st, fmt.Errorf("journal: run %s: %w", runID, err)
	}
	return st, nil
}

func summarize(id string, seq int64, started time.Time, sp startPayload, finished time.Time, fin *Finish, st stats) RunSummary {
	s := RunSummary{ID: id, Started: started, Finished: finished, Operator: sp.Operator, Trigger: sp.Trigger,
		Mode: sp.Mode, DryRun: sp.DryRun, Process: sp.Process, Hires: sp.Hires, Hosts: sp.Hosts,
		Total: sp.Total, Steps: st.steps, InProgress: st.inProgress, FirstSeq: seq, LastSeq: max(seq, st.lastSeq)}
	if s.Hires == nil {
		s.Hires = []result.Hire{}
	}
	switch {
	case fin != nil:
		s.Outcome = fin.Outcome
	case alive(sp.Process):
		s.Outcome = RunRunning
	default:
		s.Outcome = RunInterrupted
	}
	return s
}

// Run returns a run and all its records, in order. The error wraps
// ErrNotFound when there is no such run.
func (j *Journal) Run(ctx context.Context, runID string) (*RunDetail, error) {
	tx, err := j.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("journal: run %s: %w", runID, err)
	}
	defer func() { _ = tx.Rollback() }()
	return runIn(ctx, tx, runID)
}

// VerifiedRun is Run for acting on a run (resume): it verifies the whole
// chain first (see CheckChain) and reads the run in the same snapshot, so
// what it returns is what was verified. A broken chain is a *ChainError.
func (j *Journal) VerifiedRun(ctx context.Context, runID string, pins ...Anchor) (*RunDetail, error) {
	tx, err := j.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("journal: run %s: %w", runID, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := j.checkChain(ctx, tx, pins); err != nil {
		return nil, err
	}
	return runIn(ctx, tx, runID)
}

func runIn(ctx context.Context, tx *sql.Tx, runID string) (*RunDetail, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, run_id, kind, time_ns, payload, prev_hash, hash FROM records WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("journal: run %s: %w", runID, err)
	}
	defer func() { _ = rows.Close() }()
	d := &RunDetail{}
	var sp *startPayload
	var finished time.Time
	st := stats{steps: map[result.Outcome]int{}}
	open := map[string]bool{}
	for rows.Next() {
		rec, payload, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("journal: run %s: %w", runID, err)
		}
		if hashRecord(rec.PrevHash, rec.Seq, rec.RunID, rec.Kind, rec.Time.UnixNano(), payload) != rec.Hash {
			d.Unverified = append(d.Unverified, rec.Seq)
		}
		switch rec.Kind {
		case RunStarted:
			sp = new(startPayload)
			if err := json.Unmarshal(payload, sp); err != nil {
				return nil, fmt.Errorf("journal: run %s: record %d: %w", runID, rec.Seq, err)
			}
			d.FirstSeq = rec.Seq
			d.Started = rec.Time
		case StepStarted:
			open[rec.Step.ID] = true
		case StepFinished:
			delete(open, rec.Step.ID)
			st.steps[rec.Step.Outcome]++
		case RunFinished:
			d.Finish, finished = rec.Finish, rec.Time
		}
		st.lastSeq = rec.Seq
		d.Records = append(d.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: run %s: %w", runID, err)
	}
	if sp == nil {
		return nil, fmt.Errorf("journal: run %s: %w", runID, ErrNotFound)
	}
	st.inProgress = len(open)
	d.RunSummary = summarize(runID, d.FirstSeq, d.Started, *sp, finished, d.Finish, st)
	d.Sources, d.Plan, d.planExact = sp.Sources, sp.Plan, sp.PlanExact
	return d, nil
}

// ErrNotFound: no run of that id.
var ErrNotFound = errors.New("no such run in the journal")

// FinishedSteps returns, per step id, the step-finished record of the run: the
// steps a resume need not run again if their outcome is done.
func (d *RunDetail) FinishedSteps() map[string]Record {
	out := map[string]Record{}
	for _, r := range d.Records {
		if r.Kind == StepFinished {
			out[r.Step.ID] = r
		}
	}
	return out
}

// InProgressSteps returns the steps that started and never finished, in
// the order they started: what a killed run was doing when it died.
func (d *RunDetail) InProgressSteps() []string {
	fin := d.FinishedSteps()
	var out []string
	for _, r := range d.Records {
		if r.Kind == StepStarted {
			if _, ok := fin[r.Step.ID]; !ok {
				out = append(out, r.Step.ID)
			}
		}
	}
	return out
}

// MarshalJSON shows a run (onboard show -o json) with the secrets known to
// this process scrubbed from its plan, which is stored exactly. The other
// records were scrubbed before they were stored.
func (d RunDetail) MarshalJSON() ([]byte, error) {
	type shown RunDetail // without this method
	c := shown(d)
	if len(d.Plan) > 0 {
		b, err := canonical(d.Plan)
		if err != nil {
			return nil, fmt.Errorf("journal: run %s: plan: %w", d.ID, err)
		}
		c.Plan = b
	}
	return json.Marshal(c)
}

// PlanOf decodes the run's plan, exactly as planned, for a resume; nil if
// none was recorded.
func (d *RunDetail) PlanOf() (*plan.Plan, error) {
	if len(d.Plan) == 0 {
		return nil, nil
	}
	if !d.planExact && bytes.Contains(d.Plan, []byte(secret.Redacted)) {
		return nil, fmt.Errorf("journal: run %s: its plan was stored by an older onboard with secrets scrubbed, and holds %q: it may differ from what was planned, so it is not run again (apply the playbook instead)",
			d.ID, secret.Redacted)
	}
	var p plan.Plan
	if err := json.Unmarshal(d.Plan, &p); err != nil {
		return nil, fmt.Errorf("journal: run %s: plan: %w", d.ID, err)
	}
	return &p, nil
}

// LastKnown returns, per step id, the latest record of the hire's steps
// across all runs that observed the step's state: a step-finished or
// handover record whose outcome is ok, changed, failed or would-change.
// Skipped and cannot-tell say nothing about the machine and are passed
// over, so a run cancelled early does not hide what an earlier one did.
//
// resume runs again what is not Done; audit reads when each step was last
// verified, and by which run (a handover re-check, or a recheck run).
func (j *Journal) LastKnown(ctx context.Context, hireID string) (map[string]StepRecord, error) {
	rows, err := j.r.QueryContext(ctx, `SELECT r.seq, r.run_id, r.kind, r.time_ns, r.payload, r.prev_hash, r.hash,
	json_extract(s.payload, '$.dry_run'), coalesce(json_extract(s.payload, '$.mode'), '')
FROM records r JOIN records s ON s.kind = 'run-started' AND s.run_id = r.run_id
WHERE r.hire = ? AND r.kind IN ('step-finished', 'handover') AND r.outcome IN ('ok', 'changed', 'failed', 'would-change')
ORDER BY r.seq`, hireID)
	if err != nil {
		return nil, fmt.Errorf("journal: hire %s: %w", hireID, err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]StepRecord{}
	for rows.Next() {
		var sr StepRecord
		rec, _, err := scanRecord(rows, &sr.DryRun, &sr.Mode)
		if err != nil {
			return nil, fmt.Errorf("journal: hire %s: %w", hireID, err)
		}
		sr.Record = rec
		out[rec.Step.ID] = sr
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: hire %s: %w", hireID, err)
	}
	return out, nil
}

// scanRecord reads seq, run_id, kind, time_ns, payload, prev_hash, hash
// (and extra columns into extra) and decodes the payload by kind.
func scanRecord(rows *sql.Rows, extra ...any) (Record, []byte, error) {
	var r Record
	var kind string
	var ns int64
	var payload []byte
	dest := append([]any{&r.Seq, &r.RunID, &kind, &ns, &payload, &r.PrevHash, &r.Hash}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return r, nil, err
	}
	r.Kind, r.Time = Kind(kind), fromNS(ns)
	var err error
	switch r.Kind {
	case StepStarted, StepFinished, Handover:
		var p stepPayload
		err = json.Unmarshal(payload, &p)
		r.Step, r.Action = &p.Step, p.Action
	case HandoverStarted:
		var p handoverPayload
		err = json.Unmarshal(payload, &p)
		r.Total = p.Total
	case RunFinished:
		r.Finish = new(Finish)
		err = json.Unmarshal(payload, r.Finish)
	case Notification:
		r.Notification = new(NotificationRecord)
		err = json.Unmarshal(payload, r.Notification)
	}
	if err != nil {
		return r, nil, fmt.Errorf("record %d (%s): %w", r.Seq, kind, err)
	}
	return r, payload, nil
}

func fromNS(ns int64) time.Time { return time.Unix(0, ns).UTC() }
