package journal

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// Kind names what a record says.
type Kind string

const (
	RunStarted      Kind = "run-started"
	StepStarted     Kind = "step-started"
	StepFinished    Kind = "step-finished"
	HandoverStarted Kind = "handover-started"
	Handover        Kind = "handover" // the final re-check of one step
	RunFinished     Kind = "run-finished"
)

// Outcomes of a run, as RunSummary.Outcome and Filter.Outcome spell them.
const (
	RunOK          = "ok"          // every step done (and, on apply, re-checked at handover)
	RunFailed      = "failed"      // a step failed or was skipped, or a handover re-check failed
	RunCancelled   = "cancelled"   // interrupted (Ctrl-C, SIGTERM) and recorded as such
	RunInterrupted = "interrupted" // never finished, and its process is gone (killed, crashed, power cut)
	RunRunning     = "running"     // not finished, and its process is still alive
)

// RunStart describes a run as it begins.
type RunStart struct {
	// ID is the run's id; empty makes one (like the engine's, sortable).
	ID string
	// Operator is the OS user who ran onboard (SUDO_USER first), or the
	// service account of an HR-triggered run.
	Operator string
	// Trigger is why the run happened: "cli", or "hr:<event id>".
	Trigger string
	// Mode is what the run does: "apply", "dry-run", "recheck", "resume"...
	Mode   string
	DryRun bool
	// Sources are the playbooks (and HR events) the plan was made from;
	// empty means the plan's.
	Sources []string
	// Plan is stored whole, as JSON; its secrets are references only.
	Plan *plan.Plan
	// Hires summarises the people of the run; empty means the plan's.
	Hires []result.Hire
	// Started is the run's start; zero means now.
	Started time.Time
	// Process identifies the process doing the run, to tell a running run
	// from an interrupted one; zero means this process.
	Process Process
}

// Process identifies a process on a machine well enough to tell, later,
// whether it is still alive (Boot and Start guard against a reused pid).
type Process struct {
	Machine string `json:"machine"`
	PID     int    `json:"pid"`
	Boot    string `json:"boot,omitempty"`  // Linux boot id
	Start   uint64 `json:"start,omitempty"` // Linux start time, clock ticks after boot
}

// Finish is what a run-finished record says.
type Finish struct {
	Outcome     string                 `json:"outcome"`
	Cancelled   bool                   `json:"cancelled,omitempty"`
	Unreachable []string               `json:"unreachable,omitempty"`
	Steps       map[result.Outcome]int `json:"steps"`
	Handover    map[result.Outcome]int `json:"handover,omitempty"`
}

// Payloads as stored. Field names are the JSON keys the indexes read.
type startPayload struct {
	Operator string        `json:"operator"`
	Trigger  string        `json:"trigger"`
	Mode     string        `json:"mode,omitempty"`
	DryRun   bool          `json:"dry_run"`
	Sources  []string      `json:"sources,omitempty"`
	Hires    []result.Hire `json:"hires,omitempty"`
	Hosts    []string      `json:"hosts,omitempty"`
	Total    int           `json:"total"`
	Process  Process       `json:"process"`
	// Plan is stored exactly, not scrubbed: resume runs it. It holds
	// references to secrets, never their values (see plan.Plan).
	Plan json.RawMessage `json:"plan,omitempty"`
	// PlanExact: the plan was stored unscrubbed. Journals written before
	// that scrubbed it, which corrupts any value that contains the text
	// of a secret resolved in the same process.
	PlanExact bool `json:"plan_exact,omitempty"`
}

type stepPayload struct {
	Step   result.Step `json:"step"`
	Action plan.Action `json:"action,omitempty"`
}

type handoverPayload struct {
	Total int `json:"total"`
}

// entry is one record to append.
type entry struct {
	runID   string
	kind    Kind
	time    time.Time
	payload []byte
}

// genesis is the previous hash of the first record.
const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// hashRecord is the chain: SHA-256 over the previous hash and the record,
// one field a line; the payload comes last, so it may hold newlines.
func hashRecord(prev string, seq int64, runID string, kind Kind, timeNS int64, payload []byte) string {
	// Built by hand, not with fmt: resume and audit hash every record of
	// the journal before they act.
	var buf [320]byte
	b := append(buf[:0], "onboard-journal-v1\n"...)
	b = append(append(b, prev...), '\n')
	b = append(strconv.AppendInt(b, seq, 10), '\n')
	b = append(append(b, runID...), '\n')
	b = append(append(b, kind...), '\n')
	b = append(strconv.AppendInt(b, timeNS, 10), '\n')
	h := sha256.New()
	h.Write(b)
	h.Write(payload)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// NewRunID makes a sortable, unique run id, in the engine's format.
func NewRunID(t time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// StartRun records the start of a run and returns its id. It fails if a
// run of that id is already in the journal.
func (j *Journal) StartRun(ctx context.Context, rs RunStart) (string, error) {
	if rs.ID == "" {
		rs.ID = NewRunID(time.Now())
	}
	if secret.Scrub(rs.ID) != rs.ID {
		return "", errors.New("journal: the run id holds a secret")
	}
	if !runIDPattern.MatchString(rs.ID) {
		return "", fmt.Errorf("journal: run id %q: use letters, digits and . _ : - (at most 128)", rs.ID)
	}
	if rs.Started.IsZero() {
		rs.Started = time.Now()
	}
	if rs.Process == (Process{}) {
		rs.Process = self()
	}
	p := startPayload{Operator: rs.Operator, Trigger: rs.Trigger, Mode: rs.Mode, DryRun: rs.DryRun,
		Sources: rs.Sources, Hires: rs.Hires, Process: rs.Process}
	actions := map[string]string{}
	if rs.Plan != nil {
		b, err := json.Marshal(rs.Plan)
		if err != nil {
			return "", fmt.Errorf("journal: run %s: plan: %w", rs.ID, err)
		}
		p.Plan, p.PlanExact = b, true
		p.Total = len(rs.Plan.Steps)
		if p.Sources == nil {
			p.Sources = rs.Plan.Sources
		}
		if p.Hires == nil {
			for _, h := range rs.Plan.Hires {
				p.Hires = append(p.Hires, result.Hire{ID: h.ID, Name: h.Name, Username: h.Username, Host: h.Host,
					Profile: h.Profile, Source: h.Source, StartDate: h.StartDate, Manager: h.Manager, Email: h.Email})
			}
		}
		p.Hosts = planHosts(rs.Plan)
		for _, s := range rs.Plan.Steps {
			actions[s.ID] = string(s.Action)
		}
	}
	for _, h := range p.Hires {
		if h.Host != "" && !contains(p.Hosts, h.Host) {
			p.Hosts = append(p.Hosts, h.Host)
		}
	}
	sort.Strings(p.Hosts)
	b, err := canonical(p, "plan")
	if err != nil {
		return "", fmt.Errorf("journal: run %s: %w", rs.ID, err)
	}
	if _, err := j.append(ctx, true, entry{runID: rs.ID, kind: RunStarted, time: rs.Started, payload: b}); err != nil {
		if isUnique(err) {
			return "", fmt.Errorf("journal: run %s is already in the journal", rs.ID)
		}
		return "", fmt.Errorf("journal: record start of run %s: %w", rs.ID, err)
	}
	j.mu.Lock()
	j.runs[rs.ID] = &runInfo{actions: actions}
	j.mu.Unlock()
	return rs.ID, nil
}

// planHosts are the hosts and directories a plan's steps run against.
func planHosts(p *plan.Plan) []string {
	var out []string
	for name := range p.Hosts {
		out = append(out, name)
	}
	for _, s := range p.Steps {
		if s.Host == "" && s.Directory != "" && !contains(out, s.Directory) {
			out = append(out, s.Directory)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Record records one event of a run started with StartRun: step-started,
// step-finished, handover-started, or run-finished (which also records the
// run's handover re-checks). When it returns nil the record is on disk; a
// step-finished or run-finished record has been fsynced.
//
// A cancelled ctx does not stop the write: the records of an interrupted
// run are the ones that matter most. SQLite's busy timeout bounds the wait.
func (j *Journal) Record(ctx context.Context, runID string, ev result.Event) error {
	if ev.RunID != "" && ev.RunID != runID {
		return fmt.Errorf("journal: event of run %s recorded as run %s", ev.RunID, runID)
	}
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	ctx = context.WithoutCancel(ctx)
	switch ev.Type {
	case result.StepStarted, result.StepFinished:
		if ev.Step == nil {
			return fmt.Errorf("journal: run %s: %s event without a step", runID, ev.Type)
		}
		st := *ev.Step // the engine goes on changing its step once this returns
		kind, durable := StepStarted, false
		if ev.Type == result.StepFinished {
			kind, durable = StepFinished, true
		}
		return j.recordSteps(ctx, runID, durable, nil, kind, t, []result.Step{st})
	case result.HandoverStarted:
		b, err := canonical(handoverPayload{Total: ev.Total})
		if err != nil {
			return err
		}
		return j.recordEntries(ctx, runID, false, entry{runID: runID, kind: HandoverStarted, time: t, payload: b})
	case result.RunFinished:
		if ev.Run == nil {
			return fmt.Errorf("journal: run %s: run-finished event without the run", runID)
		}
		f := finishOf(ev.Run)
		b, err := canonical(f)
		if err != nil {
			return err
		}
		last := entry{runID: runID, kind: RunFinished, time: t, payload: b}
		return j.recordSteps(ctx, runID, true, &last, Handover, t, ev.Run.Handover)
	case result.RunStarted:
		return fmt.Errorf("journal: run %s: record a run's start with StartRun", runID)
	}
	return fmt.Errorf("journal: run %s: unknown event %q", runID, ev.Type)
}

// recordSteps appends one record per step, then last if not nil, in one
// transaction, with each step's planned action.
func (j *Journal) recordSteps(ctx context.Context, runID string, durable bool, last *entry, kind Kind, t time.Time, steps []result.Step) error {
	info, err := j.run(ctx, runID)
	if err != nil {
		return err
	}
	var es []entry
	for _, st := range steps {
		b, err := canonical(stepPayload{Step: st, Action: plan.Action(info.actions[st.ID])})
		if err != nil {
			return fmt.Errorf("journal: run %s step %s: %w", runID, st.ID, err)
		}
		es = append(es, entry{runID: runID, kind: kind, time: t, payload: b})
	}
	if last != nil {
		es = append(es, *last)
	}
	return j.recordEntries(ctx, runID, durable, es...)
}

func (j *Journal) recordEntries(ctx context.Context, runID string, durable bool, es ...entry) error {
	if _, err := j.run(ctx, runID); err != nil {
		return err
	}
	if _, err := j.append(ctx, durable, es...); err != nil {
		if isUnique(err) {
			return fmt.Errorf("journal: run %s has already finished", runID)
		}
		return fmt.Errorf("journal: record %s of run %s: %w", es[len(es)-1].kind, runID, err)
	}
	return nil
}

// run returns what appends need to know about a run, reading its start
// record the first time (a run started by another Journal or process).
func (j *Journal) run(ctx context.Context, runID string) (*runInfo, error) {
	j.mu.Lock()
	info := j.runs[runID]
	j.mu.Unlock()
	if info != nil {
		return info, nil
	}
	var payload string
	err := j.r.QueryRowContext(ctx, `SELECT payload FROM records WHERE kind = 'run-started' AND run_id = ?`, runID).Scan(&payload)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("journal: run %s was never started (StartRun)", runID)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: run %s: %w", runID, err)
	}
	info = &runInfo{actions: map[string]string{}}
	var p startPayload
	if err := json.Unmarshal([]byte(payload), &p); err == nil && len(p.Plan) > 0 {
		var pl plan.Plan
		if err := json.Unmarshal(p.Plan, &pl); err == nil {
			for _, s := range pl.Steps {
				info.actions[s.ID] = string(s.Action)
			}
		}
	}
	j.mu.Lock()
	j.runs[runID] = info
	j.mu.Unlock()
	return info, nil
}

// finishOf sums up a finished run.
func finishOf(r *result.Run) Finish {
	f := Finish{Cancelled: r.Cancelled, Unreachable: r.Unreachable, Steps: result.Counts(r.Steps), Outcome: RunOK}
	if len(r.Handover) > 0 {
		f.Handover = result.Counts(r.Handover)
	}
	bad := f.Steps[result.Failed] + f.Steps[result.Skipped] + f.Handover[result.Failed] + f.Handover[result.Skipped]
	switch {
	case r.Cancelled:
		f.Outcome = RunCancelled
	case bad > 0:
		f.Outcome = RunFailed
	case !r.DryRun && len(r.Steps) > 0 && len(r.Handover) == 0:
		f.Outcome = RunFailed // applied, but never re-checked for handover
	}
	return f
}

// append adds es to the chain in one immediate transaction: it reads the
// head, links each record to the one before, and moves the head. durable
// commits with synchronous=FULL (the WAL is fsynced before Commit returns).
//
// Appends made at the same moment by several goroutines (the steps of
// many hosts finishing together) are committed together: whoever finds no
// commit under way commits everything queued, in one transaction and one
// fsync, and the others wait for it (group commit). Each caller still
// returns only once its records are on disk. Should the shared transaction
// fail, each caller's records are committed on their own, so that an error
// reaches only the caller it belongs to.
func (j *Journal) append(ctx context.Context, durable bool, es ...entry) ([]int64, error) {
	p := &pendingAppend{durable: durable, es: es, done: make(chan struct{})}
	j.gmu.Lock()
	j.queue = append(j.queue, p)
	if j.committing {
		j.gmu.Unlock()
		<-p.done
		return p.seqs, p.err
	}
	j.committing = true
	for len(j.queue) > 0 {
		batch := j.queue
		j.queue = nil
		j.gmu.Unlock()
		// The callers queued here share this commit: one caller's
		// cancellation must not fail the others' records.
		j.commitGroup(context.WithoutCancel(ctx), batch)
		j.gmu.Lock()
	}
	j.committing = false
	j.gmu.Unlock()
	return p.seqs, p.err
}

// pendingAppend is one caller's records waiting for a group commit.
type pendingAppend struct {
	durable bool
	es      []entry
	seqs    []int64
	err     error
	done    chan struct{}
}

// commitGroup commits batch in one transaction (durable if any caller
// asked for it), or each on its own if that fails, and wakes the callers.
func (j *Journal) commitGroup(ctx context.Context, batch []*pendingAppend) {
	defer func() {
		for _, p := range batch {
			close(p.done)
		}
	}()
	if len(batch) > 1 {
		var all []entry
		durable := false
		for _, p := range batch {
			all = append(all, p.es...)
			durable = durable || p.durable
		}
		if seqs, err := j.commit(ctx, durable, all...); err == nil {
			for _, p := range batch {
				p.seqs, seqs = seqs[:len(p.es)], seqs[len(p.es):]
			}
			return
		}
	}
	for _, p := range batch {
		p.seqs, p.err = j.commit(ctx, p.durable, p.es...)
	}
}

// commit appends es in one transaction (see append).
func (j *Journal) commit(ctx context.Context, durable bool, es ...entry) (seqs []int64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	level := "NORMAL"
	if durable {
		level = "FULL"
	}
	defer func() {
		if err != nil {
			j.sync = "" // the connection may have been replaced: set the level again
		}
	}()
	// Not allowed inside a transaction; w has one connection, so this
	// applies to the transaction below.
	if j.sync != level {
		if _, err := j.w.ExecContext(ctx, "PRAGMA synchronous = "+level); err != nil {
			return nil, err
		}
		j.sync = level
	}
	tx, err := j.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	var count, seq int64
	var prev string
	err = tx.StmtContext(ctx, j.readHead).QueryRowContext(ctx).Scan(&count, &seq, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errors.New("the chain head is missing: the journal was changed outside onboard (run `onboard journal verify`)")
	}
	if err != nil {
		return nil, err
	}
	insert := tx.StmtContext(ctx, j.insert)
	for _, e := range es {
		seq++
		ns := e.time.UnixNano()
		h := hashRecord(prev, seq, e.runID, e.kind, ns, e.payload)
		_, err := insert.ExecContext(ctx, seq, e.runID, string(e.kind), ns, string(e.payload), prev, h)
		if err != nil {
			if isPrimaryKey(err) {
				return nil, fmt.Errorf("record %d already exists past the chain head: the journal was changed outside onboard (run `onboard journal verify`)", seq)
			}
			return nil, err
		}
		prev = h
		seqs = append(seqs, seq)
	}
	count += int64(len(es))
	if _, err := tx.StmtContext(ctx, j.moveHead).ExecContext(ctx, count, seq, prev); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return seqs, nil
}

// canonical encodes v as the journal stores it: JSON with sorted keys, no
// HTML escaping, and every string (keys included) passed through
// secret.Scrub, except under the top-level keys named by exact, kept as
// they are. Scrubbing the decoded strings, not the JSON text, also
// catches a secret that JSON would have escaped.
func canonical(v any, exact ...string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if m, ok := tree.(map[string]any); ok && len(exact) > 0 {
		kept := map[string]any{}
		for _, k := range exact {
			if x, ok := m[k]; ok {
				kept[k] = x
				delete(m, k)
			}
		}
		m = scrub(m).(map[string]any)
		for k, x := range kept {
			m[k] = x
		}
		tree = m
	} else {
		tree = scrub(tree)
	}
	if err := enc.Encode(tree); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

func scrub(v any) any {
	switch x := v.(type) {
	case string:
		return secret.Scrub(x)
	case []any:
		for i := range x {
			x[i] = scrub(x[i])
		}
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[secret.Scrub(k)] = scrub(e)
		}
		return m
	}
	return v
}

// sqliteCode is the extended result code of a modernc.org/sqlite error.
func sqliteCode(err error) int {
	var c interface{ Code() int }
	if errors.As(err, &c) {
		return c.Code()
	}
	return 0
}

const (
	sqliteBusy                 = 5    // SQLITE_BUSY
	sqliteConstraintPrimaryKey = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	sqliteConstraintUnique     = 2067 // SQLITE_CONSTRAINT_UNIQUE
)

// isBusy: SQLITE_BUSY, with or without an extended code.
func isBusy(err error) bool { return sqliteCode(err)&0xff == sqliteBusy }

func isPrimaryKey(err error) bool { return sqliteCode(err) == sqliteConstraintPrimaryKey }
func isUnique(err error) bool     { return sqliteCode(err) == sqliteConstraintUnique }

// self identifies this process.
func self() Process {
	p := Process{PID: os.Getpid()}
	p.Machine, _ = os.Hostname()
	p.Boot, p.Start = procIdentity(p.PID)
	return p
}
