package serve

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"onboard/internal/serve/store"
)

// Event types.
const (
	Hire   = "hire"
	Change = "change"
	Cancel = "cancel"
	// Leave schedules an offboarding (and a purge after the retention); a
	// cancel calls a pending one off.
	Leave = "leave"
)

// Intake is one event, decoded and authenticated by its front door (the
// HR webhook or SCIM).
type Intake struct {
	// ID is unique per event: hr:<event id>, scim:<user id>:<n>. The same
	// id twice is one event.
	ID      string
	Source  string // hr | scim
	Type    string // hire | change | cancel | leave
	Trigger string // recorded with every run: hr:<event id> or scim:<user id>
	Person  Person
	// Leave is when a leave takes effect (a leave only).
	Leave *Departure
	// Fields names the person fields a change sets (JSON names); nil means
	// every field (a hire, a SCIM replace).
	Fields []string
	// Body is the event as received, stored as evidence.
	Body json.RawMessage
}

// Accepted is what an event led to.
type Accepted struct {
	EventID    string `json:"event_id"`
	Duplicate  bool   `json:"duplicate,omitempty"`
	EmployeeID string `json:"employee_id"`
	// Result: scheduled, rescheduled, held, cancelled or ignored.
	Result string       `json:"result"`
	Detail string       `json:"detail,omitempty"`
	Runs   []*store.Run `json:"runs,omitempty"`
	// Done are the runs already finished when a cancel arrived: what the
	// cancel does not undo.
	Done []*store.Run `json:"done,omitempty"`
}

// Accept stores an event and what it leads to (a hire and its scheduled
// runs on the queue, a reschedule, a cancel, or a hold) in one
// transaction: when Accept returns without error, all of it is durable.
func (s *Service) Accept(ctx context.Context, in Intake) (*Accepted, error) {
	var out *Accepted
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.acceptTx(ctx, tx, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.stats.event(in.Source, out.Result, out.Duplicate)
	return out, nil
}

// acceptTx is Accept inside the caller's transaction (SCIM stores its
// user in the same one).
func (s *Service) acceptTx(ctx context.Context, tx *sql.Tx, in Intake) (*Accepted, error) {
	now := s.now().UTC()
	var out *Accepted
	err := func() error {
		var closed []*store.Run
		ev := &store.Event{ID: in.ID, Source: in.Source, Type: in.Type, EmployeeID: in.Person.EmployeeID,
			ReceivedAt: now, Body: in.Body, Result: "pending"}
		stored, inserted, err := store.InsertEvent(ctx, tx, ev)
		if err != nil {
			return err
		}
		if !inserted {
			out = &Accepted{EventID: stored.ID, Duplicate: true, EmployeeID: stored.EmployeeID, Result: stored.Result, Detail: stored.Detail}
			out.Runs, err = store.RunsOf(ctx, tx, stored.EmployeeID)
			return err
		}
		out, closed, err = s.apply(ctx, tx, in, now)
		if err != nil {
			return err
		}
		// Queued in the same transaction: an accepted event's runs are on
		// the queue, and a superseded run's job is off it.
		for _, r := range closed {
			if r.JobID != 0 {
				if err := s.queue.CancelTx(ctx, tx, r.JobID); err != nil {
					return fmt.Errorf("cancel the job of run %s: %w", r.ID, err)
				}
			}
		}
		for _, r := range out.Runs {
			if r.State == store.RunScheduled && r.JobID == 0 {
				if r.JobID, err = s.queue.InsertTx(ctx, tx, RunArgs{RunID: r.ID}, r.ScheduledAt); err != nil {
					return err
				}
				if err := store.SetJobID(ctx, tx, r.ID, r.JobID); err != nil {
					return err
				}
			}
		}
		out.EventID = in.ID
		return store.SetEventResult(ctx, tx, in.ID, out.Result, out.Detail)
	}()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// enqueue puts a run on the queue and records its job.
func (s *Service) enqueue(ctx context.Context, r *store.Run, try int) error {
	id, err := s.queue.Insert(ctx, RunArgs{RunID: r.ID, Try: try}, r.ScheduledAt)
	if err != nil {
		return err
	}
	r.JobID = id
	return store.SetJobID(ctx, s.store.DB, r.ID, id)
}

// apply works out what an event means for its hire, inside the event's
// transaction.
func (s *Service) apply(ctx context.Context, tx *sql.Tx, in Intake, now time.Time) (*Accepted, []*store.Run, error) {
	emp := in.Person.EmployeeID
	out := &Accepted{EmployeeID: emp}
	h, err := store.GetHire(ctx, tx, emp)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	if in.Type == Leave {
		return s.applyLeave(ctx, tx, in, h, now)
	}
	if in.Type == Cancel {
		// A cancel calls off a pending leave first: the hire it follows
		// is long done.
		if out, closed, ok, err := s.cancelLeave(ctx, tx, emp, now); err != nil || ok {
			return out, closed, err
		}
		if h == nil {
			out.Result, out.Detail = "ignored", fmt.Sprintf("no hire %s to cancel", emp)
			return out, nil, nil
		}
		closed, err := store.CloseOpenRuns(ctx, tx, emp, store.RunCancelled, now)
		if err != nil {
			return nil, nil, err
		}
		runs, err := store.RunsOf(ctx, tx, emp)
		if err != nil {
			return nil, nil, err
		}
		var done, going []string
		for _, r := range runs {
			switch r.State {
			case store.RunOK:
				out.Done = append(out.Done, r)
				done = append(done, r.Phase)
			case store.RunRunning:
				going = append(going, r.Phase)
			}
		}
		h.State, h.Updated, h.Trigger = store.HireCancelled, now, in.Trigger
		if err := store.PutHire(ctx, tx, h); err != nil {
			return nil, nil, err
		}
		out.Result = "cancelled"
		out.Detail = fmt.Sprintf("%d run(s) not started were cancelled", len(closed))
		if len(done) > 0 {
			out.Detail += "; already done: " + strings.Join(done, ", ") + " (not undone: offboard to remove them)"
		}
		if len(going) > 0 {
			out.Detail += "; running now, left to finish: " + strings.Join(going, ", ")
		}
		out.Runs = runs
		return out, closed, nil
	}

	// hire or change: the person as it now stands.
	p := in.Person
	result := "scheduled"
	gen := 1
	created := now
	if h != nil {
		created, gen = h.Created, h.Generation+1
		if h.State != store.HireCancelled || in.Type == Change {
			var old Person
			if err := json.Unmarshal(h.Person, &old); err != nil {
				return nil, nil, fmt.Errorf("hire %s: stored person: %w", emp, err)
			}
			if in.Type == Change {
				p = merge(old, in.Person, in.Fields)
			}
			result = "rescheduled"
		}
	} else if in.Type == Change {
		// A change for someone not yet seen: HR's hire event may have been
		// lost; take it as the hire if it says enough.
		result = "scheduled"
	}
	// A pending leave stays: a change of title in the notice period does
	// not call it off.
	closed, err := store.CloseOpenRunsWhere(ctx, tx, emp, func(r *store.Run) bool { return !isLeavePhase(r.Phase) }, store.RunSuperseded, now)
	if err != nil {
		return nil, nil, err
	}
	nh := &store.Hire{EmployeeID: emp, Generation: gen, StartDate: p.StartDate, Trigger: in.Trigger, Created: created, Updated: now}
	nh.Person, _ = json.Marshal(p)
	hold := func(reason string) (*Accepted, []*store.Run, error) {
		nh.State, nh.HeldReason = store.HireHeld, reason
		if err := store.PutHire(ctx, tx, nh); err != nil {
			return nil, nil, err
		}
		out.Result, out.Detail = "held", reason
		return out, closed, nil
	}
	if missing := required(p); len(missing) > 0 {
		return hold("missing " + strings.Join(missing, ", "))
	}
	a, err := s.cfg.Mapper(p)
	if err != nil {
		return hold(err.Error())
	}
	if a.Host == "" && len(a.Pool) > 0 {
		busy, err := busyHosts(ctx, tx, emp)
		if err != nil {
			return nil, nil, err
		}
		for _, host := range a.Pool {
			if !busy[host] {
				a.Host = host
				break
			}
		}
		if a.Host == "" {
			return hold(fmt.Sprintf("every workstation of rule %s is assigned to another open hire (%s)", a.Rule, strings.Join(a.Pool, ", ")))
		}
	}
	if err := expandReports(s.playbookPath(emp), p, a); err != nil {
		return hold(err.Error())
	}
	yml, err := playbookYAML(p, a)
	if err != nil {
		return hold(err.Error())
	}
	if _, err := parsePlaybook(s.playbookPath(emp), yml); err != nil {
		return hold(err.Error())
	}
	nh.Assignment, _ = json.Marshal(a)
	nh.Playbook = string(yml)
	nh.State = store.HireScheduled
	if err := store.PutHire(ctx, tx, nh); err != nil {
		return nil, nil, err
	}
	for _, sl := range a.Slots {
		at := sl.At
		if at.Before(now) {
			at = now // a late hire is not skipped: what is due runs now
		}
		r := &store.Run{ID: fmt.Sprintf("%s.g%d.%s", emp, gen, sl.Phase), EmployeeID: emp, Generation: gen, Phase: sl.Phase,
			State: store.RunScheduled, Trigger: in.Trigger, ScheduledAt: at}
		if err := store.InsertRun(ctx, tx, r); err != nil {
			return nil, nil, err
		}
		out.Runs = append(out.Runs, r)
	}
	out.Result = result
	out.Detail = fmt.Sprintf("rule %s: profile %s, host %s", a.Rule, a.Profile, a.Host)
	return out, closed, nil
}

// playbookPath is where a hire's generated playbook is written.
func (s *Service) playbookPath(emp string) string {
	return filepath.Join(s.cfg.StateDir, "playbooks", emp+".yaml")
}

// required names the fields a hire cannot be set up without.
func required(p Person) []string {
	var m []string
	for _, f := range []struct{ name, v string }{{"given_name", p.GivenName}, {"surname", p.Surname}, {"start_date", p.StartDate}} {
		if strings.TrimSpace(f.v) == "" {
			m = append(m, f.name)
		}
	}
	return m
}

// merge applies a change's fields to the stored person.
func merge(old, change Person, fields []string) Person {
	if fields == nil {
		change.EmployeeID = old.EmployeeID
		return change
	}
	set := map[string]*string{
		"given_name": &old.GivenName, "surname": &old.Surname, "preferred_name": &old.PreferredName,
		"title": &old.Title, "department": &old.Department, "manager": &old.Manager, "email": &old.Email,
		"location": &old.Location, "cost_center": &old.CostCenter, "start_date": &old.StartDate, "workstation": &old.Workstation,
	}
	from := map[string]string{
		"given_name": change.GivenName, "surname": change.Surname, "preferred_name": change.PreferredName,
		"title": change.Title, "department": change.Department, "manager": change.Manager, "email": change.Email,
		"location": change.Location, "cost_center": change.CostCenter, "start_date": change.StartDate, "workstation": change.Workstation,
	}
	for _, f := range fields {
		if p, ok := set[f]; ok {
			*p = from[f]
		}
	}
	return old
}

// busyHosts are the workstations assigned to other hires still being set
// up (a pool gives each machine to one hire at a time).
func busyHosts(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, except string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT h.assignment FROM onboard_hires h WHERE h.state = 'scheduled' AND h.employee_id <> $1
		AND EXISTS (SELECT 1 FROM onboard_runs r WHERE r.employee_id = h.employee_id AND r.generation = h.generation AND r.state <> 'ok')`, except)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	busy := map[string]bool{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var a Assignment
		if json.Unmarshal([]byte(raw), &a) == nil && a.Host != "" {
			busy[a.Host] = true
		}
	}
	return busy, rows.Err()
}

// Approve takes a held hire again through the mapping (the technician
// fixed the inventory, or the reason no longer holds), as a change that
// keeps the event's trigger. It fails, saying why, when the hire is still
// held.
func (s *Service) Approve(ctx context.Context, emp, who string) (*Accepted, error) {
	h, err := store.GetHire(ctx, s.store.DB, emp)
	if err != nil {
		return nil, err
	}
	if h.State != store.HireHeld {
		return nil, fmt.Errorf("hire %s is %s, not held: nothing to approve", emp, h.State)
	}
	var p Person
	if err := json.Unmarshal(h.Person, &p); err != nil {
		return nil, fmt.Errorf("hire %s: stored person: %w", emp, err)
	}
	body, _ := json.Marshal(map[string]string{"approved_by": who})
	acc, err := s.Accept(ctx, Intake{ID: fmt.Sprintf("approve:%s:g%d", emp, h.Generation), Source: "technician", Type: Change,
		Trigger: h.Trigger, Person: p, Body: body})
	if err != nil {
		return nil, err
	}
	if acc.Result == "held" {
		return acc, fmt.Errorf("hire %s is still held: %s", emp, acc.Detail)
	}
	s.log.Info("held hire approved", "hire", emp, "by", who)
	return acc, nil
}
