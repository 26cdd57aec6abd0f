package serve

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/schedule"
	"onboard/internal/serve/store"
)

// A leaver's phases: the offboarding at the leave time, and the deletion
// of the directory object once the directory's retention has run out.
const (
	PhaseOffboard = "offboard"
	PhasePurge    = "purge"
)

// LeavePhases lists them in order.
var LeavePhases = []string{PhaseOffboard, PhasePurge}

func isLeavePhase(phase string) bool { return phase == PhaseOffboard || phase == PhasePurge }

// Departure is when a leaver's access ends: the last working day and the
// local time on it, as HR gives them, or At, an instant (a SCIM user made
// inactive leaves at once).
type Departure struct {
	LastDay string    `json:"last_day,omitempty"` // YYYY-MM-DD
	LeaveAt string    `json:"leave_at,omitempty"` // HH:MM; "" is the end of the last day
	At      time.Time `json:"at,omitzero"`
}

// LeavePolicy is what a leave's schedule needs from the inventory.
type LeavePolicy struct {
	// Location is the zone a last day and its time are local to: the hr
	// section's timezone, as for hires.
	Location *time.Location
	// RetentionDays is the leaver's directory's leavers.retention_days:
	// the purge runs that many days after the leave; 0 schedules none.
	RetentionDays int
	// Directory is the directory it was read from ("" when none is known).
	Directory string
}

// OffboardFunc builds a leaver's plan: the offboarding at at, or with
// purge the deletion of what the offboarding kept (at is then the leave
// time the retention counts from).
type OffboardFunc func(ctx context.Context, employeeID string, at time.Time, purge bool) (*plan.Plan, error)

// errNoOffboard fails a leave's run while cmd/onboard has not wired the
// planner in.
var errNoOffboard = errors.New("offboarding is not configured: this onboard serve has neither a journal nor a planner for leavers (Config.Offboard)")

// inventoryLeavePolicy reads the leave policy from the inventory of the
// moment: the hr timezone, and the retention of the hire's directory, or
// of the inventory's only directory when the hire's is not known.
func inventoryLeavePolicy(paths []string) func(a *Assignment) (LeavePolicy, error) {
	return func(a *Assignment) (LeavePolicy, error) {
		inv, err := inventory.Load(paths...)
		if err != nil {
			return LeavePolicy{}, fmt.Errorf("the inventory does not load: %w", err)
		}
		return policyOf(inv, a), nil
	}
}

func policyOf(inv *inventory.Inventory, a *Assignment) LeavePolicy {
	pol := LeavePolicy{Location: inv.HRLocation()}
	name := ""
	if a != nil {
		name = a.Directory
	}
	if name == "" && len(inv.Directories) == 1 {
		for n := range inv.Directories {
			name = n
		}
	}
	if d, ok := inv.Directories[name]; ok {
		pol.Directory, pol.RetentionDays = name, d.Leavers.RetentionDays
	}
	return pol
}

// leaveTime is the instant a leave takes effect: At, or LeaveAt on the
// last day in loc, or the end of the last day (midnight after it).
func leaveTime(l *Departure, loc *time.Location) (time.Time, error) {
	if !l.At.IsZero() {
		return l.At, nil
	}
	d, err := schedule.ParseDate(l.LastDay)
	if err != nil {
		return time.Time{}, fmt.Errorf("last_day: %w", err)
	}
	if l.LeaveAt == "" {
		return time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, loc), nil
	}
	c, err := schedule.ParseClock(l.LeaveAt)
	if err != nil {
		return time.Time{}, fmt.Errorf("leave_at: %w", err)
	}
	return time.Date(d.Year, d.Month, d.Day, c.Hour, c.Minute, 0, 0, loc), nil
}

// applyLeave schedules a leave: an offboard run at the leave time and a
// purge run after the retention, in place of any open runs of an earlier
// leave (a second leave event moves them). The hire's setup runs due at
// or after the leave are cancelled: nobody is set up after they left.
func (s *Service) applyLeave(ctx context.Context, tx *sql.Tx, in Intake, h *store.Hire, now time.Time) (*Accepted, []*store.Run, error) {
	emp := in.Person.EmployeeID
	out := &Accepted{EmployeeID: emp}
	if in.Leave == nil {
		return nil, nil, fmt.Errorf("leave event %s carries no leave", in.ID)
	}
	var a *Assignment
	if h != nil && len(h.Assignment) > 0 {
		a = &Assignment{}
		if err := json.Unmarshal(h.Assignment, a); err != nil {
			return nil, nil, fmt.Errorf("hire %s: stored assignment: %w", emp, err)
		}
	}
	pol, err := s.cfg.LeavePolicy(a)
	if err != nil {
		// Never dropped and never held: access must end on the day. The
		// zone falls back to UTC and no purge is scheduled; the detail
		// says so.
		pol = LeavePolicy{Location: time.UTC}
		out.Detail = "the leave policy could not be read (" + err.Error() + "): times in UTC, no purge scheduled; "
	}
	if pol.Location == nil {
		pol.Location = time.UTC
	}
	at, err := leaveTime(in.Leave, pol.Location)
	if err != nil {
		return nil, nil, fmt.Errorf("leave event %s: %w", in.ID, err)
	}
	superseded, err := store.CloseOpenRunsWhere(ctx, tx, emp, func(r *store.Run) bool { return isLeavePhase(r.Phase) }, store.RunSuperseded, now)
	if err != nil {
		return nil, nil, err
	}
	late, err := store.CloseOpenRunsWhere(ctx, tx, emp, func(r *store.Run) bool {
		return !isLeavePhase(r.Phase) && !r.ScheduledAt.Before(at)
	}, store.RunCancelled, now)
	if err != nil {
		return nil, nil, err
	}
	all, err := store.RunsOf(ctx, tx, emp)
	if err != nil {
		return nil, nil, err
	}
	n := 1
	for _, r := range all {
		n = max(n, leaveNumber(r)+1)
	}
	gen := 0
	if h == nil {
		// Someone onboard serve did not set up (hired before it ran, or by
		// hand): a record of their own shows the leave on the page and API.
		person, _ := json.Marshal(Person{EmployeeID: emp})
		h = &store.Hire{EmployeeID: emp, State: store.HireScheduled, Person: person, Trigger: in.Trigger, Created: now, Updated: now}
		if err := store.PutHire(ctx, tx, h); err != nil {
			return nil, nil, err
		}
	} else {
		gen = h.Generation
	}
	runAt := func(t time.Time) time.Time {
		if t.Before(now) {
			return now // a late leave is not skipped: access ends now
		}
		return t
	}
	off := &store.Run{ID: fmt.Sprintf("%s.leave%d.%s", emp, n, PhaseOffboard), EmployeeID: emp, Generation: gen, Phase: PhaseOffboard,
		State: store.RunScheduled, Trigger: in.Trigger, ScheduledAt: runAt(at), EffectiveAt: at}
	runs := []*store.Run{off}
	if pol.RetentionDays > 0 {
		purgeAt := at.In(pol.Location).AddDate(0, 0, pol.RetentionDays)
		runs = append(runs, &store.Run{ID: fmt.Sprintf("%s.leave%d.%s", emp, n, PhasePurge), EmployeeID: emp, Generation: gen, Phase: PhasePurge,
			State: store.RunScheduled, Trigger: in.Trigger, ScheduledAt: runAt(purgeAt), EffectiveAt: at})
	}
	for _, r := range runs {
		if err := store.InsertRun(ctx, tx, r); err != nil {
			return nil, nil, err
		}
	}
	out.Runs = runs
	out.Result = "scheduled"
	if len(superseded) > 0 {
		out.Result = "rescheduled"
	}
	out.Detail += "leaves " + at.In(pol.Location).Format("2006-01-02 15:04 MST")
	if len(runs) > 1 {
		out.Detail += fmt.Sprintf("; purged after %d days of retention (%s)", pol.RetentionDays, pol.Directory)
	} else {
		out.Detail += "; no purge (no retention_days)"
	}
	if len(late) > 0 {
		out.Detail += "; setup runs due after the leave cancelled: " + strings.Join(phasesOf(late), ", ")
	}
	return out, append(superseded, late...), nil
}

// cancelLeave calls off a pending leave: its runs not yet started are
// cancelled, what already ran is reported. ok is false when there is no
// pending leave, and the cancel is the hire's.
func (s *Service) cancelLeave(ctx context.Context, tx *sql.Tx, emp string, now time.Time) (out *Accepted, closed []*store.Run, ok bool, err error) {
	closed, err = store.CloseOpenRunsWhere(ctx, tx, emp, func(r *store.Run) bool { return isLeavePhase(r.Phase) }, store.RunCancelled, now)
	if err != nil || len(closed) == 0 {
		return nil, nil, false, err
	}
	runs, err := store.RunsOf(ctx, tx, emp)
	if err != nil {
		return nil, nil, false, err
	}
	out = &Accepted{EmployeeID: emp, Result: "cancelled", Runs: runs}
	out.Detail = fmt.Sprintf("the leave was called off: %d run(s) not started were cancelled (%s)", len(closed), strings.Join(phasesOf(closed), ", "))
	// What this leave already did: its runs share the id's leaveN part.
	leave := strings.TrimSuffix(closed[0].ID, closed[0].Phase)
	var done []string
	for _, r := range runs {
		if strings.HasPrefix(r.ID, leave) && r.State == store.RunOK {
			out.Done = append(out.Done, r)
			done = append(done, r.ID)
		}
	}
	if len(done) > 0 {
		out.Detail += "; already done: " + strings.Join(done, ", ") + " (not undone: restore to bring the account back)"
	}
	return out, closed, true, nil
}

// leaveNumber is the N of a leave's run id EMP.leaveN.PHASE, 0 for any
// other run.
func leaveNumber(r *store.Run) int {
	if !isLeavePhase(r.Phase) {
		return 0
	}
	rest := strings.TrimSuffix(r.ID, "."+r.Phase)
	i := strings.LastIndex(rest, ".leave")
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(rest[i+len(".leave"):])
	if err != nil {
		return 0
	}
	return n
}

func phasesOf(runs []*store.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Phase)
	}
	sort.Strings(out)
	return slices.Compact(out)
}
