package schedule

import (
	"strings"
	"testing"
	"time"
)

func date(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func holidays(t *testing.T, days ...string) map[Date]bool {
	m := map[Date]bool{}
	for _, d := range days {
		m[date(t, d)] = true
	}
	return m
}

// standard is the example: the account five working days before,
// the machine the day before, activation on the morning of the day.
func standard(loc *time.Location, hol map[Date]bool) Schedule {
	return Schedule{Name: "default", Location: loc, Holidays: hol, Phases: map[Phase]When{
		Account:    {5, Clock{9, 0}},
		Machine:    {1, Clock{9, 0}},
		Activation: {0, Clock{7, 30}},
	}}
}

// Golden dates, worked out by hand with a calendar: the times are given in
// UTC so that the zone's offset on that day is part of what is checked.
func TestTimes(t *testing.T) {
	berlin, ny := zone(t, "Europe/Berlin"), zone(t, "America/New_York")
	yearEnd := holidays(t, "2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01")
	tests := []struct {
		name  string
		s     Schedule
		start string
		want  []string // account, machine, activation, RFC 3339 in UTC
	}{
		{"plain week, winter time", standard(berlin, nil), "2026-02-13", // a Friday
			[]string{"2026-02-06T08:00:00Z", "2026-02-12T08:00:00Z", "2026-02-13T06:30:00Z"}},
		{"monday start: the weekend is skipped", standard(berlin, nil), "2026-02-16",
			[]string{"2026-02-09T08:00:00Z", "2026-02-13T08:00:00Z", "2026-02-16T06:30:00Z"}},
		{"year end: holidays and weekends skipped", standard(berlin, yearEnd), "2027-01-04",
			[]string{"2026-12-22T08:00:00Z", "2026-12-30T08:00:00Z", "2027-01-04T06:30:00Z"}},
		{"year end without holidays", standard(berlin, nil), "2027-01-04",
			[]string{"2026-12-28T08:00:00Z", "2027-01-01T08:00:00Z", "2027-01-04T06:30:00Z"}},
		{"Berlin: the week clocks go forward", standard(berlin, nil), "2026-03-30", // after Sunday 29 March
			[]string{"2026-03-23T08:00:00Z", "2026-03-27T08:00:00Z", "2026-03-30T05:30:00Z"}},
		{"Berlin: the week clocks go back", standard(berlin, nil), "2026-10-26", // after Sunday 25 October
			[]string{"2026-10-19T07:00:00Z", "2026-10-23T07:00:00Z", "2026-10-26T06:30:00Z"}},
		{"Berlin: start on the day clocks go forward stays that day", standard(berlin, nil), "2026-03-29",
			[]string{"2026-03-23T08:00:00Z", "2026-03-27T08:00:00Z", "2026-03-29T05:30:00Z"}},
		{"New York: start on the day clocks go forward", standard(ny, nil), "2026-03-08",
			[]string{"2026-03-02T14:00:00Z", "2026-03-06T14:00:00Z", "2026-03-08T11:30:00Z"}},
		{"New York: Thanksgiving", standard(ny, holidays(t, "2026-11-26")), "2026-11-30",
			[]string{"2026-11-20T14:00:00Z", "2026-11-27T14:00:00Z", "2026-11-30T12:30:00Z"}},
		{"New York: the week clocks go back", standard(ny, nil), "2026-11-02", // after Sunday 1 November
			[]string{"2026-10-26T13:00:00Z", "2026-10-30T13:00:00Z", "2026-11-02T12:30:00Z"}},
		{"start on a Saturday, the day before a holiday", standard(berlin, holidays(t, "2026-05-01")), "2026-05-02",
			[]string{"2026-04-24T07:00:00Z", "2026-04-30T07:00:00Z", "2026-05-02T05:30:00Z"}},
		{"leap day", standard(time.UTC, nil), "2028-03-01",
			[]string{"2028-02-23T09:00:00Z", "2028-02-29T09:00:00Z", "2028-03-01T07:30:00Z"}},
		{"no location is UTC", standard(nil, nil), "2028-03-01",
			[]string{"2028-02-23T09:00:00Z", "2028-02-29T09:00:00Z", "2028-03-01T07:30:00Z"}},
		{"all on the day, in order", Schedule{Location: berlin, Phases: map[Phase]When{
			Account: {0, Clock{6, 0}}, Machine: {0, Clock{6, 0}}, Activation: {0, Clock{7, 0}}}}, "2026-07-01",
			[]string{"2026-07-01T04:00:00Z", "2026-07-01T04:00:00Z", "2026-07-01T05:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); err != nil {
				t.Fatal(err)
			}
			slots := tt.s.Times(date(t, tt.start))
			if len(slots) != len(Phases) {
				t.Fatalf("%d slots, want %d", len(slots), len(Phases))
			}
			for i, sl := range slots {
				if sl.Phase != Phases[i] {
					t.Errorf("slot %d is %s, want %s", i, sl.Phase, Phases[i])
				}
				if got := sl.At.UTC().Format(time.RFC3339); got != tt.want[i] {
					t.Errorf("%s at %s (%s), want %s", sl.Phase, got, sl.At, tt.want[i])
				}
				if DateOf(sl.At) != sl.Day {
					t.Errorf("%s: day %s but the local date of %s", sl.Phase, sl.Day, sl.At)
				}
				if sl.At.Location() != tt.s.loc() {
					t.Errorf("%s: in %s, want the schedule's zone", sl.Phase, sl.At.Location())
				}
			}
		})
	}
}

// A time of day that does not exist or happens twice on a change of clocks.
func TestClockChanges(t *testing.T) {
	berlin, ny := zone(t, "Europe/Berlin"), zone(t, "America/New_York")
	tests := []struct {
		name string
		loc  *time.Location
		day  string
		at   Clock
		want string
	}{
		{"Berlin 09:00 on the day clocks go forward", berlin, "2026-03-29", Clock{9, 0}, "2026-03-29T07:00:00Z"},
		{"Berlin 01:30, before the change", berlin, "2026-03-29", Clock{1, 30}, "2026-03-29T00:30:00Z"},
		{"Berlin 02:30 does not exist: the change, 03:00", berlin, "2026-03-29", Clock{2, 30}, "2026-03-29T01:00:00Z"},
		{"Berlin 02:00 does not exist: the change, 03:00", berlin, "2026-03-29", Clock{2, 0}, "2026-03-29T01:00:00Z"},
		{"Berlin 03:00 is the change", berlin, "2026-03-29", Clock{3, 0}, "2026-03-29T01:00:00Z"},
		{"Berlin 09:00 on the day clocks go back", berlin, "2026-10-25", Clock{9, 0}, "2026-10-25T08:00:00Z"},
		{"Berlin 02:30 happens twice: the first", berlin, "2026-10-25", Clock{2, 30}, "2026-10-25T00:30:00Z"},
		{"Berlin 02:00 happens twice: the first", berlin, "2026-10-25", Clock{2, 0}, "2026-10-25T00:00:00Z"},
		{"Berlin 03:00 after going back", berlin, "2026-10-25", Clock{3, 0}, "2026-10-25T02:00:00Z"},
		{"Berlin midnight on the day clocks go back", berlin, "2026-10-25", Clock{0, 0}, "2026-10-24T22:00:00Z"},
		{"New York 09:00 on the day clocks go forward", ny, "2026-03-08", Clock{9, 0}, "2026-03-08T13:00:00Z"},
		{"New York 02:30 does not exist: 03:00", ny, "2026-03-08", Clock{2, 30}, "2026-03-08T07:00:00Z"},
		{"New York 01:30 happens twice: the first", ny, "2026-11-01", Clock{1, 30}, "2026-11-01T05:30:00Z"},
		{"New York 09:00 on the day clocks go back", ny, "2026-11-01", Clock{9, 0}, "2026-11-01T14:00:00Z"},
		{"New York 23:59 on the day clocks go back", ny, "2026-11-01", Clock{23, 59}, "2026-11-02T04:59:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Schedule{Location: tt.loc}
			got := s.at(date(t, tt.day), tt.at)
			if g := got.UTC().Format(time.RFC3339); g != tt.want {
				t.Errorf("%s %s in %s is %s (%s), want %s", tt.day, tt.at, tt.loc, g, got, tt.want)
			}
		})
	}
}

func TestWorkingDaysBefore(t *testing.T) {
	s := Schedule{Holidays: holidays(t, "2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01")}
	tests := []struct {
		start string
		n     int
		want  string
	}{
		{"2027-01-04", 0, "2027-01-04"},
		{"2027-01-03", 0, "2027-01-03"}, // a Sunday start stays
		{"2027-01-04", 1, "2026-12-30"},
		{"2027-01-03", 1, "2026-12-30"},
		{"2027-01-04", 4, "2026-12-23"},
		{"2026-12-28", 1, "2026-12-23"},
		{"2026-12-28", 20, "2026-11-26"},
	}
	for _, tt := range tests {
		if got := s.WorkingDaysBefore(date(t, tt.start), tt.n); got.String() != tt.want {
			t.Errorf("%d working days before %s = %s, want %s", tt.n, tt.start, got, tt.want)
		}
	}
}

// A phase whose time has passed is due: a hire recorded late is not skipped.
func TestDueAndNext(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	s := standard(berlin, nil)
	start := date(t, "2026-02-16")
	at := func(v string) time.Time {
		tm, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		now  string
		due  string
		next string
	}{
		{"2026-01-01T00:00:00Z", "", "account"},
		{"2026-02-09T07:59:59Z", "", "account"},
		{"2026-02-09T08:00:00Z", "account", "machine"}, // 09:00 Berlin exactly
		{"2026-02-13T08:00:00Z", "account machine", "activation"},
		{"2026-02-16T06:30:00Z", "account machine activation", ""},
		{"2026-03-01T12:00:00Z", "account machine activation", ""}, // recorded after the start
	}
	for _, tt := range tests {
		var due []string
		for _, sl := range s.Due(start, at(tt.now)) {
			due = append(due, string(sl.Phase))
		}
		if got := strings.Join(due, " "); got != tt.due {
			t.Errorf("at %s due %q, want %q", tt.now, got, tt.due)
		}
		next, ok := s.Next(start, at(tt.now))
		if ok != (tt.next != "") || string(next.Phase) != tt.next {
			t.Errorf("at %s next %q (%v), want %q", tt.now, next.Phase, ok, tt.next)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		phases map[Phase]When
		want   string
	}{
		{"machine before account", map[Phase]When{Account: {1, Clock{9, 0}}, Machine: {2, Clock{9, 0}}, Activation: {0, Clock{9, 0}}},
			"schedule sales: machine: runs before account, which must come first (account 1 working day before at 09:00, machine 2 working days before at 09:00)"},
		{"same day, earlier hour", map[Phase]When{Account: {0, Clock{9, 0}}, Machine: {0, Clock{8, 59}}, Activation: {0, Clock{9, 0}}},
			"schedule sales: machine: runs before account, which must come first (account on the start date at 09:00, machine on the start date at 08:59)"},
		{"activation first", map[Phase]When{Account: {3, Clock{9, 0}}, Machine: {1, Clock{9, 0}}, Activation: {2, Clock{9, 0}}},
			"schedule sales: activation: runs before machine, which must come first (machine 1 working day before at 09:00, activation 2 working days before at 09:00)"},
		{"negative days and a bad time", map[Phase]When{Account: {-1, Clock{24, 0}}, Machine: {1, Clock{9, 0}}, Activation: {0, Clock{9, 0}}},
			"schedule sales: account.at: 24:00 is not a time of day (00:00 to 23:59); account.working_days_before: must be between 0 and 260, got -1"},
		{"too many days", map[Phase]When{Account: {261, Clock{9, 0}}, Machine: {1, Clock{9, 0}}, Activation: {0, Clock{9, 0}}},
			"schedule sales: account.working_days_before: must be between 0 and 260, got 261"},
		{"a phase missing", map[Phase]When{Account: {3, Clock{9, 0}}, Activation: {0, Clock{9, 0}}},
			"schedule sales: machine: the phase is not placed"},
		{"an unknown phase", map[Phase]When{Account: {3, Clock{9, 0}}, Machine: {1, Clock{9, 0}}, Activation: {0, Clock{9, 0}}, "laptop": {0, Clock{9, 0}}},
			"schedule sales: laptop: unknown phase (account, machine or activation)"},
		{"equal times are in order", map[Phase]When{Account: {0, Clock{9, 0}}, Machine: {0, Clock{9, 0}}, Activation: {0, Clock{9, 0}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Schedule{Name: "sales", Phases: tt.phases}.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"2026-02-30", "2026-2-3", "26-02-03", "2026-02-03T00:00:00Z", ""} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted", s)
		}
	}
	if d, err := ParseDate("2028-02-29"); err != nil || d.String() != "2028-02-29" {
		t.Errorf("ParseDate(2028-02-29) = %v, %v", d, err)
	}
	for _, s := range []string{"24:00", "9:00", "09:60", "09-00", "0900", "-1:00", "09:00:00", "+9:00"} {
		if _, err := ParseClock(s); err == nil {
			t.Errorf("ParseClock(%q) accepted", s)
		}
	}
	for _, s := range []string{"00:00", "07:30", "23:59"} {
		if c, err := ParseClock(s); err != nil || c.String() != s {
			t.Errorf("ParseClock(%q) = %v, %v", s, c, err)
		}
	}
}

func TestDateText(t *testing.T) {
	d := date(t, "2027-01-04")
	b, err := d.MarshalText()
	if err != nil || string(b) != "2027-01-04" {
		t.Fatalf("MarshalText = %s, %v", b, err)
	}
	var e Date
	if err := e.UnmarshalText(b); err != nil || e != d {
		t.Errorf("UnmarshalText = %v, %v", e, err)
	}
	if err := e.UnmarshalText([]byte("2027-13-01")); err == nil {
		t.Error("month 13 accepted")
	}
}
