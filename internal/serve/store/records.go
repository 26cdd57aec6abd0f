package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event is one accepted HR or SCIM event, stored before it is answered.
type Event struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"` // hr | scim
	Type       string          `json:"type"`   // hire | change | cancel
	EmployeeID string          `json:"employee_id"`
	ReceivedAt time.Time       `json:"received_at"`
	Body       json.RawMessage `json:"body"`
	Result     string          `json:"result"` // scheduled | held | rescheduled | cancelled | ignored
	Detail     string          `json:"detail,omitempty"`
}

// Hire is one person onboard serve is setting up.
type Hire struct {
	EmployeeID string          `json:"employee_id"`
	State      string          `json:"state"` // held | scheduled | cancelled
	Generation int             `json:"generation"`
	Person     json.RawMessage `json:"person"`
	Assignment json.RawMessage `json:"assignment,omitempty"`
	Playbook   string          `json:"playbook,omitempty"`
	StartDate  string          `json:"start_date"`
	Trigger    string          `json:"trigger"`
	HeldReason string          `json:"held_reason,omitempty"`
	Created    time.Time       `json:"created"`
	Updated    time.Time       `json:"updated"`
}

// Hire states.
const (
	HireHeld      = "held"
	HireScheduled = "scheduled"
	HireCancelled = "cancelled"
)

// Run is one scheduled phase of a hire's setup.
type Run struct {
	ID          string          `json:"id"`
	EmployeeID  string          `json:"employee_id"`
	Generation  int             `json:"generation"`
	Phase       string          `json:"phase"`
	State       string          `json:"state"`
	Trigger     string          `json:"trigger"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	StartedAt   time.Time       `json:"started_at,omitzero"`
	FinishedAt  time.Time       `json:"finished_at,omitzero"`
	Attempts    int             `json:"attempts"`
	Holder      string          `json:"holder,omitempty"`
	LeaseUntil  time.Time       `json:"lease_until,omitzero"`
	Plan        json.RawMessage `json:"-"`
	JournalRun  string          `json:"journal_run,omitempty"`
	Error       string          `json:"error,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	JobID       int64           `json:"job_id,omitempty"`
	// EffectiveAt is when a leave takes effect, for its offboard and purge
	// runs (a purge's retention counts from it); zero for a hire's runs.
	EffectiveAt time.Time `json:"effective_at,omitzero"`
}

// Run states. scheduled and running are open; the rest are final, except
// failed, which a technician may retry.
const (
	RunScheduled  = "scheduled"
	RunRunning    = "running"
	RunOK         = "ok"
	RunFailed     = "failed"
	RunCancelled  = "cancelled"
	RunSuperseded = "superseded"
)

// InsertEvent stores ev unless an event with its id is stored already:
// inserted is false then, and the stored one is returned.
func InsertEvent(ctx context.Context, q Querier, ev *Event) (stored *Event, inserted bool, err error) {
	res, err := q.ExecContext(ctx, `INSERT INTO onboard_events (id, source, type, employee_id, received_at, body, result, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		ev.ID, ev.Source, ev.Type, ev.EmployeeID, ms(ev.ReceivedAt), string(ev.Body), ev.Result, ev.Detail)
	if err != nil {
		return nil, false, fmt.Errorf("store event %s: %w", ev.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return ev, true, nil
	}
	old, err := GetEvent(ctx, q, ev.ID)
	return old, false, err
}

// SetEventResult records what an event led to.
func SetEventResult(ctx context.Context, q Querier, id, result, detail string) error {
	_, err := q.ExecContext(ctx, `UPDATE onboard_events SET result = $2, detail = $3 WHERE id = $1`, id, result, detail)
	return err
}

const eventCols = `id, source, type, employee_id, received_at, body, result, detail`

func scanEvent(row interface{ Scan(...any) error }) (*Event, error) {
	var ev Event
	var at int64
	var body string
	if err := row.Scan(&ev.ID, &ev.Source, &ev.Type, &ev.EmployeeID, &at, &body, &ev.Result, &ev.Detail); err != nil {
		return nil, err
	}
	ev.ReceivedAt, ev.Body = fromMS(at), json.RawMessage(body)
	return &ev, nil
}

// GetEvent reads one event.
func GetEvent(ctx context.Context, q Querier, id string) (*Event, error) {
	ev, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventCols+` FROM onboard_events WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	return ev, err
}

// Events lists the newest events first; employee "" means everyone's.
func Events(ctx context.Context, q Querier, employee string, limit int) ([]*Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+eventCols+` FROM onboard_events
		WHERE ($1 = '' OR employee_id = $1) ORDER BY received_at DESC, id DESC LIMIT $2`, employee, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

const hireCols = `employee_id, state, generation, person, assignment, playbook, start_date, trigger, held_reason, created_at, updated_at`

func scanHire(row interface{ Scan(...any) error }) (*Hire, error) {
	var h Hire
	var person, assignment string
	var created, updated int64
	if err := row.Scan(&h.EmployeeID, &h.State, &h.Generation, &person, &assignment, &h.Playbook, &h.StartDate,
		&h.Trigger, &h.HeldReason, &created, &updated); err != nil {
		return nil, err
	}
	h.Person = json.RawMessage(person)
	if assignment != "" {
		h.Assignment = json.RawMessage(assignment)
	}
	h.Created, h.Updated = fromMS(created), fromMS(updated)
	return &h, nil
}

// GetHire reads one hire.
func GetHire(ctx context.Context, q Querier, employee string) (*Hire, error) {
	h, err := scanHire(q.QueryRowContext(ctx, `SELECT `+hireCols+` FROM onboard_hires WHERE employee_id = $1`, employee))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("hire %s: %w", employee, ErrNotFound)
	}
	return h, err
}

// PutHire inserts or replaces a hire.
func PutHire(ctx context.Context, q Querier, h *Hire) error {
	_, err := q.ExecContext(ctx, `INSERT INTO onboard_hires (`+hireCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (employee_id) DO UPDATE SET state = excluded.state, generation = excluded.generation,
			person = excluded.person, assignment = excluded.assignment, playbook = excluded.playbook,
			start_date = excluded.start_date, trigger = excluded.trigger, held_reason = excluded.held_reason,
			updated_at = excluded.updated_at`,
		h.EmployeeID, h.State, h.Generation, string(h.Person), string(h.Assignment), h.Playbook, h.StartDate,
		h.Trigger, h.HeldReason, ms(h.Created), ms(h.Updated))
	if err != nil {
		return fmt.Errorf("store hire %s: %w", h.EmployeeID, err)
	}
	return nil
}

// Hires lists hires by start date, then employee id.
func Hires(ctx context.Context, q Querier) ([]*Hire, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+hireCols+` FROM onboard_hires ORDER BY start_date, employee_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Hire
	for rows.Next() {
		h, err := scanHire(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

const runCols = `id, employee_id, generation, phase, state, trigger, scheduled_at, started_at, finished_at, attempts,
	holder, lease_until, plan, journal_run, error, result, job_id, effective_at`

func scanRun(row interface{ Scan(...any) error }) (*Run, error) {
	var r Run
	var sched, started, finished, lease, effective int64
	var planJSON, result string
	if err := row.Scan(&r.ID, &r.EmployeeID, &r.Generation, &r.Phase, &r.State, &r.Trigger, &sched, &started, &finished,
		&r.Attempts, &r.Holder, &lease, &planJSON, &r.JournalRun, &r.Error, &result, &r.JobID, &effective); err != nil {
		return nil, err
	}
	r.ScheduledAt, r.StartedAt, r.FinishedAt, r.LeaseUntil = fromMS(sched), fromMS(started), fromMS(finished), fromMS(lease)
	if effective != 0 {
		r.EffectiveAt = fromMS(effective)
	}
	if planJSON != "" {
		r.Plan = json.RawMessage(planJSON)
	}
	if result != "" {
		r.Result = json.RawMessage(result)
	}
	return &r, nil
}

// InsertRun stores a new scheduled run.
func InsertRun(ctx context.Context, q Querier, r *Run) error {
	var effective int64
	if !r.EffectiveAt.IsZero() {
		effective = ms(r.EffectiveAt)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO onboard_runs (id, employee_id, generation, phase, state, trigger, scheduled_at, effective_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ID, r.EmployeeID, r.Generation, r.Phase, r.State, r.Trigger, ms(r.ScheduledAt), effective)
	if err != nil {
		return fmt.Errorf("store run %s: %w", r.ID, err)
	}
	return nil
}

// GetRun reads one run.
func GetRun(ctx context.Context, q Querier, id string) (*Run, error) {
	r, err := scanRun(q.QueryRowContext(ctx, `SELECT `+runCols+` FROM onboard_runs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return r, err
}

func queryRuns(ctx context.Context, q Querier, where string, args ...any) ([]*Run, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+runCols+` FROM onboard_runs `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RunsOf lists a hire's runs in schedule order (every generation).
func RunsOf(ctx context.Context, q Querier, employee string) ([]*Run, error) {
	return queryRuns(ctx, q, `WHERE employee_id = $1 ORDER BY generation, scheduled_at, id`, employee)
}

// RunsInState lists runs in one state, oldest schedule first.
func RunsInState(ctx context.Context, q Querier, state string, limit int) ([]*Run, error) {
	return queryRuns(ctx, q, `WHERE state = $1 ORDER BY scheduled_at, id LIMIT $2`, state, limit)
}

// Unqueued lists scheduled runs that have no queue job yet: those whose
// instance stopped between storing the event and queueing its runs.
func Unqueued(ctx context.Context, q Querier, limit int) ([]*Run, error) {
	return queryRuns(ctx, q, `WHERE state = 'scheduled' AND job_id = 0 ORDER BY scheduled_at, id LIMIT $1`, limit)
}

// Abandoned lists running runs whose holder's lease ran out: the instance
// died (or hung) mid-run.
func Abandoned(ctx context.Context, q Querier, now time.Time) ([]*Run, error) {
	return queryRuns(ctx, q, `WHERE state = 'running' AND lease_until < $1 ORDER BY scheduled_at, id`, ms(now))
}

// SetJobID records the queue job that will run r.
func SetJobID(ctx context.Context, q Querier, runID string, job int64) error {
	_, err := q.ExecContext(ctx, `UPDATE onboard_runs SET job_id = $2 WHERE id = $1`, runID, job)
	return err
}

// CloseOpenRuns moves a hire's runs that have not started (or are failed,
// awaiting a retry) to state (superseded or cancelled), and returns them.
func CloseOpenRuns(ctx context.Context, q Querier, employee, state string, now time.Time) ([]*Run, error) {
	return CloseOpenRunsWhere(ctx, q, employee, nil, state, now)
}

// CloseOpenRunsWhere is CloseOpenRuns for the open runs which returns
// true for (every one when which is nil): a hire's change leaves its
// leave's runs alone, a leave's cancel the hire's.
func CloseOpenRunsWhere(ctx context.Context, q Querier, employee string, which func(*Run) bool, state string, now time.Time) ([]*Run, error) {
	all, err := queryRuns(ctx, q, `WHERE employee_id = $1 AND state IN ('scheduled', 'failed') ORDER BY scheduled_at, id`, employee)
	if err != nil {
		return nil, err
	}
	var runs []*Run
	for _, r := range all {
		if which == nil || which(r) {
			runs = append(runs, r)
		}
	}
	for _, r := range runs {
		if _, err := q.ExecContext(ctx, `UPDATE onboard_runs SET state = $2, finished_at = $3 WHERE id = $1 AND state IN ('scheduled', 'failed')`,
			r.ID, state, ms(now)); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// Claim takes run id for holder until lease: it must be scheduled, or
// running under a lease that ran out. nil, nil when it is not claimable
// (finished, cancelled, or held by a live instance).
func Claim(ctx context.Context, q Querier, id, holder string, now, lease time.Time) (*Run, error) {
	res, err := q.ExecContext(ctx, `UPDATE onboard_runs SET state = 'running', holder = $2, lease_until = $3,
			attempts = attempts + 1, started_at = CASE WHEN started_at = 0 THEN $4 ELSE started_at END
		WHERE id = $1 AND (state = 'scheduled' OR (state = 'running' AND lease_until < $4))`,
		id, holder, ms(lease), ms(now))
	if err != nil {
		return nil, fmt.Errorf("claim run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil
	}
	return GetRun(ctx, q, id)
}

// Renew extends holder's lease on a running run; false when the run is no
// longer the holder's (another instance took it over after a pause longer
// than the lease).
func Renew(ctx context.Context, q Querier, id, holder string, lease time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE onboard_runs SET lease_until = $3 WHERE id = $1 AND holder = $2 AND state = 'running'`,
		id, holder, ms(lease))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return false, nil
	}
	_, err = q.ExecContext(ctx, `UPDATE onboard_leases SET expires = $3 WHERE run_id = $1 AND holder = $2`, id, holder, ms(lease))
	return true, err
}

// SetPlan records the plan a run's first attempt made; later attempts
// resume it.
func SetPlan(ctx context.Context, q Querier, id string, plan []byte) error {
	_, err := q.ExecContext(ctx, `UPDATE onboard_runs SET plan = $2 WHERE id = $1`, id, string(plan))
	return err
}

// Finish records a run's end, if holder still holds it.
func Finish(ctx context.Context, q Querier, r *Run, holder string, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE onboard_runs SET state = $3, finished_at = $4, journal_run = $5, error = $6, result = $7,
			lease_until = 0
		WHERE id = $1 AND holder = $2 AND state = 'running'`,
		r.ID, holder, r.State, ms(now), r.JournalRun, r.Error, string(r.Result))
	if err != nil {
		return false, fmt.Errorf("finish run %s: %w", r.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Release hands a running run back to the schedule (interrupted: this
// instance is stopping), if holder still holds it.
func Release(ctx context.Context, q Querier, id, holder string) error {
	_, err := q.ExecContext(ctx, `UPDATE onboard_runs SET state = 'scheduled', holder = '', lease_until = 0
		WHERE id = $1 AND holder = $2 AND state = 'running'`, id, holder)
	return err
}

// Retry puts a failed run back in the schedule, due now.
func Retry(ctx context.Context, q Querier, id string, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE onboard_runs SET state = 'scheduled', holder = '', error = '', scheduled_at = $2, job_id = 0
		WHERE id = $1 AND state = 'failed'`, id, ms(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// AllRuns lists every run by hire, in one query (the status page), without
// their plans; a run with a result has "{}" in its place, which says
// there is one (a handover report to link to) without reading it.
func AllRuns(ctx context.Context, q Querier) (map[string][]*Run, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, employee_id, generation, phase, state, trigger, scheduled_at, started_at, finished_at,
		attempts, holder, lease_until, '', journal_run, error, CASE WHEN result <> '' THEN '{}' ELSE '' END, job_id, effective_at
		FROM onboard_runs ORDER BY employee_id, generation, scheduled_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]*Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out[r.EmployeeID] = append(out[r.EmployeeID], r)
	}
	return out, rows.Err()
}

// EventArrivals maps a run's trigger to when the first event of that
// trigger was received: hr:<event id> is the event's own id; a SCIM
// user's events (scim:<user>:v<n>) share the trigger scim:<user>. The
// service figures (internal/stats) start a hire's clock there.
func EventArrivals(ctx context.Context, q Querier) (map[string]time.Time, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, source, received_at FROM onboard_events`)
	if err != nil {
		return nil, fmt.Errorf("event arrivals: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id, source string
		var at int64
		if err := rows.Scan(&id, &source, &at); err != nil {
			return nil, fmt.Errorf("event arrivals: %w", err)
		}
		trigger := id
		if source == "scim" {
			if i := strings.LastIndex(trigger, ":v"); i > len("scim:") {
				trigger = trigger[:i]
			}
		}
		if t, ok := out[trigger]; !ok || fromMS(at).Before(t) {
			out[trigger] = fromMS(at)
		}
	}
	return out, rows.Err()
}
