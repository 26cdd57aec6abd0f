// Package schedule places a hire's runs relative to the start date: each
// phase (account, machine, activation) so many working days before it, at a
// time of day in the organisation's time zone, skipping weekends and
// holidays.
package schedule

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	// The zone database is built in: a service in a container without
	// /usr/share/zoneinfo must place 09:00 Berlin where a laptop does.
	_ "time/tzdata"
)

// Phase is one part of an onboarding, run at its own time.
type Phase string

// The phases, in the order they run.
const (
	Account    Phase = "account"
	Machine    Phase = "machine"
	Activation Phase = "activation"
)

// Phases lists every phase in order.
var Phases = []Phase{Account, Machine, Activation}

// Date is a civil date (no time, no zone), such as a start date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads YYYY-MM-DD and refuses dates that do not exist.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return Date{}, fmt.Errorf("%q is not a date written YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// DateOf is the date of t on its own clock.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// MarshalText writes YYYY-MM-DD, for JSON and databases.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// AddDays returns the date n days later (earlier for a negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday is the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// Before reports whether d comes before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// Clock is a time of day, hours and minutes.
type Clock struct{ Hour, Minute int }

// ParseClock reads HH:MM, 00:00 to 23:59.
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || !digits(h+m) || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return Clock{}, fmt.Errorf("%q is not a time of day written HH:MM (00:00 to 23:59)", s)
	}
	return Clock{hh, mm}, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (c Clock) valid() bool { return c.Hour >= 0 && c.Hour <= 23 && c.Minute >= 0 && c.Minute <= 59 }

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// When places one phase: WorkingDaysBefore working days before the start
// date (0: the start date itself), at At local time.
type When struct {
	WorkingDaysBefore int
	At                Clock
}

// before reports whether w comes strictly before v for every start date:
// more working days before is always an earlier day.
func (w When) before(v When) bool {
	if w.WorkingDaysBefore != v.WorkingDaysBefore {
		return w.WorkingDaysBefore > v.WorkingDaysBefore
	}
	return w.At.Hour*60+w.At.Minute < v.At.Hour*60+v.At.Minute
}

// MaxWorkingDays bounds WorkingDaysBefore: a year of working days.
const MaxWorkingDays = 260

// Schedule places the phases of one profile's hires.
type Schedule struct {
	// Name is the profile the schedule is for ("default" for the rest), for
	// errors.
	Name string
	// Phases says when each phase runs; every phase of Phases is needed.
	Phases map[Phase]When
	// Location is the zone the times are local to; nil means UTC.
	Location *time.Location
	// Holidays are dates that are not working days (Saturdays and Sundays
	// never are).
	Holidays map[Date]bool
}

// Slot is when one phase runs.
type Slot struct {
	Phase Phase
	Day   Date      // the local date
	At    time.Time // the instant, in the schedule's location
}

// Problem is one thing wrong with a schedule.
type Problem struct {
	Phase Phase  // the phase at fault
	Field string // working_days_before or at; empty for the phase as a whole
	// After is the phase this one runs before, when they are out of order.
	After Phase
	Msg   string
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("%s: %s", p.Phase, p.Msg)
	}
	return fmt.Sprintf("%s.%s: %s", p.Phase, p.Field, p.Msg)
}

// Validate checks that every phase is placed, within bounds, and that the
// phases run in order: account no later than machine, machine no later
// than activation. The error names the schedule and every problem.
func (s Schedule) Validate() error {
	ps := s.Problems()
	if len(ps) == 0 {
		return nil
	}
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, p.String())
	}
	return fmt.Errorf("schedule %s: %s", s.Name, strings.Join(msgs, "; "))
}

// Problems lists what Validate finds, in phase order.
func (s Schedule) Problems() []Problem {
	var out []Problem
	missing := false
	for _, p := range Phases {
		w, ok := s.Phases[p]
		if !ok {
			out, missing = append(out, Problem{Phase: p, Msg: "the phase is not placed"}), true
			continue
		}
		if !w.At.valid() {
			out = append(out, Problem{Phase: p, Field: "at", Msg: fmt.Sprintf("%s is not a time of day (00:00 to 23:59)", w.At)})
		}
		if w.WorkingDaysBefore < 0 || w.WorkingDaysBefore > MaxWorkingDays {
			out = append(out, Problem{Phase: p, Field: "working_days_before", Msg: fmt.Sprintf("must be between 0 and %d, got %d", MaxWorkingDays, w.WorkingDaysBefore)})
		}
	}
	var unknown []string
	for p := range s.Phases {
		if !known(p) {
			unknown = append(unknown, string(p))
		}
	}
	sort.Strings(unknown)
	for _, p := range unknown {
		out = append(out, Problem{Phase: Phase(p), Msg: "unknown phase (account, machine or activation)"})
	}
	// The order is checked once each phase is placed within bounds.
	for i := 1; i < len(Phases) && !missing && len(out) == 0; i++ {
		a, b := Phases[i-1], Phases[i]
		if s.Phases[b].before(s.Phases[a]) {
			out = append(out, Problem{Phase: b, After: a, Msg: fmt.Sprintf("runs before %s, which must come first (%s %s, %s %s)", a, a, s.Phases[a], b, s.Phases[b])})
		}
	}
	return out
}

func known(p Phase) bool {
	for _, q := range Phases {
		if p == q {
			return true
		}
	}
	return false
}

// String says when, as "5 working days before at 09:00".
func (w When) String() string {
	switch w.WorkingDaysBefore {
	case 0:
		return fmt.Sprintf("on the start date at %s", w.At)
	case 1:
		return fmt.Sprintf("1 working day before at %s", w.At)
	}
	return fmt.Sprintf("%d working days before at %s", w.WorkingDaysBefore, w.At)
}

// IsWorkingDay reports whether d is neither a Saturday, a Sunday nor a
// holiday.
func (s Schedule) IsWorkingDay(d Date) bool {
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !s.Holidays[d]
}

// WorkingDaysBefore is the nth working day before start. 0 is the start
// date itself, even when it is not a working day: the hire starts then, and
// activation belongs to that morning.
func (s Schedule) WorkingDaysBefore(start Date, n int) Date {
	d := start
	for n > 0 {
		d = d.AddDays(-1)
		if s.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// Times places every phase for a hire starting on start, in phase order.
func (s Schedule) Times(start Date) []Slot {
	var out []Slot
	for _, p := range Phases {
		w, ok := s.Phases[p]
		if !ok {
			continue
		}
		day := s.WorkingDaysBefore(start, w.WorkingDaysBefore)
		out = append(out, Slot{Phase: p, Day: day, At: s.at(day, w.At)})
	}
	return out
}

// Due lists the phases whose time has come at now: a phase whose time has
// passed is due (a hire recorded late is not skipped, its phases run at
// once).
func (s Schedule) Due(start Date, now time.Time) []Slot {
	var out []Slot
	for _, sl := range s.Times(start) {
		if !sl.At.After(now) {
			out = append(out, sl)
		}
	}
	return out
}

// Next is the first phase not yet due at now, if any.
func (s Schedule) Next(start Date, now time.Time) (Slot, bool) {
	for _, sl := range s.Times(start) {
		if sl.At.After(now) {
			return sl, true
		}
	}
	return Slot{}, false
}

func (s Schedule) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// at is the instant the wall clock shows c on day d. On the day clocks go
// forward, a time that does not exist (02:30 in Berlin) is the instant of
// the change (03:00); on the day they go back, a time that happens twice
// is the first of the two.
func (s Schedule) at(d Date, c Clock) time.Time {
	loc := s.loc()
	t := time.Date(d.Year, d.Month, d.Day, c.Hour, c.Minute, 0, 0, loc)
	wall := time.Date(d.Year, d.Month, d.Day, c.Hour, c.Minute, 0, 0, time.UTC)
	var best time.Time
	// The offsets in force around that day: a day has at most one change.
	for _, near := range []time.Time{t, t.Add(-24 * time.Hour), t.Add(24 * time.Hour)} {
		_, off := near.Zone()
		cand := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if cand.Hour() == c.Hour && cand.Minute() == c.Minute && DateOf(cand) == d && (best.IsZero() || cand.Before(best)) {
			best = cand
		}
	}
	if !best.IsZero() {
		return best
	}
	// In the gap: read with the offset before the change, the wall time
	// falls after it, in the zone that begins at the change.
	_, off := t.Add(-24 * time.Hour).Zone()
	after := wall.Add(-time.Duration(off) * time.Second).In(loc)
	if start, _ := after.ZoneBounds(); !start.IsZero() && DateOf(start.In(loc)) == d {
		return start.In(loc)
	}
	return t
}
