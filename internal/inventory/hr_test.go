package inventory

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"onboard/internal/golden"
	"onboard/internal/schedule"
)

func loadHR(t *testing.T, dir string) *Inventory {
	t.Helper()
	inv, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// Every problem of the hr section at its file:line:column and field, all
// at once: first what the decoder refuses, then the references.
func TestHRLoadErrors(t *testing.T) {
	for _, name := range []string{"decode", "bad"} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "hr", name))
			if err == nil {
				t.Fatal("accepted")
			}
			golden.Assert(t, filepath.Join("testdata", "hr", name+".golden"), []byte(err.Error()+"\n"))
		})
	}
}

func TestHRLoadGood(t *testing.T) {
	inv := loadHR(t, filepath.Join("testdata", "hr", "good"))
	if got, want := inv.HRRules(), []string{"engineers", "sales", "hotdesk", "everyone-else"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rules %v, want %v (file order, then the order within a file)", got, want)
	}
	if got := inv.HRLocation().String(); got != "Europe/Berlin" {
		t.Errorf("zone %s", got)
	}
	// sales overrides the account phase; the rest is the default's.
	s := inv.ScheduleFor("sales")
	want := map[schedule.Phase]schedule.When{
		schedule.Account:    {WorkingDaysBefore: 3, At: schedule.Clock{Hour: 10}},
		schedule.Machine:    {WorkingDaysBefore: 1, At: schedule.Clock{Hour: 9}},
		schedule.Activation: {WorkingDaysBefore: 0, At: schedule.Clock{Hour: 7, Minute: 30}},
	}
	if !reflect.DeepEqual(s.Phases, want) || s.Name != "sales" {
		t.Errorf("sales schedule %s %v, want %v", s.Name, s.Phases, want)
	}
	if d := inv.ScheduleFor("engineering"); d.Name != "default" || d.Phases[schedule.Account].WorkingDaysBefore != 5 {
		t.Errorf("engineering gets %s %v, want the default", d.Name, d.Phases)
	}
	// The holidays reach the schedule: the year end is skipped.
	start, _ := schedule.ParseDate("2027-01-04")
	if got := s.Times(start)[0].At.Format("2006-01-02 15:04 MST"); got != "2026-12-28 10:00 CET" {
		t.Errorf("sales account for 2027-01-04 at %s, want 2026-12-28 10:00 CET (three working days, holidays skipped)", got)
	}
	// Without an hr section: the built-in default, in UTC.
	empty := loadHR(t, filepath.Join("testdata", "hr", "good", "estate.yaml"))
	if d := empty.ScheduleFor("x"); !reflect.DeepEqual(d.Phases, DefaultPhases()) || empty.HRLocation().String() != "UTC" {
		t.Errorf("no hr section: %v in %s", d.Phases, empty.HRLocation())
	}
	if _, err := empty.MatchHR(HRPerson{Department: "Engineering"}); !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "the inventory has no hr rules") {
		t.Errorf("no rules: %v", err)
	}
}

// Schedules that are each right but out of order once a profile's phases
// are laid over the default's: said where the profile writes its phase.
func TestHRScheduleOrder(t *testing.T) {
	dir := writeInv(t, map[string]string{"hr.yaml": `hr:
  schedules:
    default:
      machine: {working_days_before: 2, at: "09:00"}
    sales:
      account: {working_days_before: 1, at: "10:00"}
    late:
      activation: {working_days_before: 0, at: "09:00"}
      machine: {working_days_before: 0, at: "09:30"}
`})
	_, err := Load(dir)
	if err == nil {
		t.Fatal("accepted")
	}
	got := strings.ReplaceAll(err.Error(), dir, "$DIR")
	want := `2 errors:
  $DIR/hr.yaml:6:16: hr.schedules.sales.account: machine would run before account: account is 1 working day before at 10:00, machine is 2 working days before at 09:00 (from hr.schedules.default); account, machine and activation run in that order
  $DIR/hr.yaml:8:19: hr.schedules.late.activation: activation would run before machine: machine is on the start date at 09:30, activation is on the start date at 09:00; account, machine and activation run in that order`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestValidateHRProfiles(t *testing.T) {
	inv := loadHR(t, filepath.Join("testdata", "hr", "good"))
	known := map[string]bool{"engineering": true, "staff": true}
	err := inv.ValidateHR(func(name string) bool { return known[name] })
	if err == nil {
		t.Fatal("unknown profiles accepted")
	}
	got := err.Error()
	for _, want := range []string{
		"testdata/hr/good/hr.yaml:10:7: hr.schedules.sales: names no profile: schedules are by profile name (or default), and there is no profile sales in the profile folders",
		"testdata/hr/good/hr.yaml:28:16: hr.rules[1].profile: no profile sales in the profile folders (",
		"testdata/hr/good/hr.yaml:35:16: hr.rules[2].profile: no profile support in the profile folders (",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n  "); n != 3 {
		t.Errorf("%d errors, want 3:\n%s", n, got)
	}
	known["sales"], known["support"] = true, true
	if err := inv.ValidateHR(func(name string) bool { return known[name] }); err != nil {
		t.Error(err)
	}
}

func TestMatchHR(t *testing.T) {
	inv := loadHR(t, filepath.Join("testdata", "hr", "good"))
	eng := HRPerson{EmployeeID: "E1", Department: "Engineering", Title: "Senior Software Engineer", Location: "Berlin", CostCenter: "CC-4711"}
	tests := []struct {
		name string
		p    HRPerson
		rule string
		host string
		pool []string
	}{
		{"all four keys", eng, "engineers", "ws1", nil},
		{"case ignored, exact and regexp", HRPerson{Department: "ENGINEERING", Title: "DEVELOPER", Location: "berlin", CostCenter: "cc-4"}, "engineers", "ws1", nil},
		{"exact is whole: a longer department is not Engineering", func() HRPerson { p := eng; p.Department = "Engineering Ops"; return p }(), "everyone-else", "", []string{"ws4"}},
		{"one key off: the next rule", func() HRPerson { p := eng; p.Location = "Munich"; return p }(), "everyone-else", "", []string{"ws4"}},
		{"regexp anchored by the rule", func() HRPerson { p := eng; p.CostCenter = "XCC-4"; return p }(), "everyone-else", "", []string{"ws4"}},
		{"pool", HRPerson{Department: "Sales EMEA"}, "sales", "", []string{"ws2", "ws3"}},
		{"first match wins over later ones", HRPerson{Department: "sales", Location: "Hamburg"}, "sales", "", []string{"ws2", "ws3"}},
		{"one of a list, from the event", HRPerson{Department: "operations", Location: "Hamburg", Workstation: "WS4"}, "hotdesk", "ws4", nil},
		{"catch-all", HRPerson{Department: "Marketing"}, "everyone-else", "", []string{"ws4"}},
		{"a value that is a pattern is data", HRPerson{Department: "/.*/", Title: ".*"}, "everyone-else", "", []string{"ws4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := inv.MatchHR(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if a.Rule != tt.rule || a.Host != tt.host || !reflect.DeepEqual(a.Pool, tt.pool) {
				t.Errorf("rule %s host %q pool %v, want %s %q %v", a.Rule, a.Host, a.Pool, tt.rule, tt.host, tt.pool)
			}
		})
	}
	a, err := inv.MatchHR(eng)
	if err != nil {
		t.Fatal(err)
	}
	want := &HRAssignment{
		Rule: "engineers", RuleAt: "testdata/hr/good/hr.yaml:12:7", Profile: "engineering", Directory: "corp-ad",
		JoinOU: "OU=Engineering,OU=Computers,DC=corp,DC=example,DC=test", Host: "ws1", Groups: []string{"eng-all"},
		PasswordDeliver: "file:/var/lib/onboard/passwords/${person.employee_id}.txt", HandoverContact: "it-desk@corp.example.test",
		HandoverReports: []string{"/var/lib/onboard/reports/${person.employee_id}.html"}, Schedule: inv.ScheduleFor("engineering"),
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got  %+v\nwant %+v", a, want)
	}
	if s, _ := inv.MatchHR(HRPerson{Department: "Sales"}); s.Schedule.Name != "sales" || s.Schedule.Phases[schedule.Account].WorkingDaysBefore != 3 {
		t.Errorf("sales hire gets schedule %s %v", s.Schedule.Name, s.Schedule.Phases)
	}
	if h, _ := inv.MatchHR(HRPerson{Department: "Support", Location: "HAMBURG", Workstation: "ws3"}); !h.FromEvent || h.Host != "ws3" || h.Pool != nil {
		t.Errorf("from_event: %+v", h)
	}
}

// Why nothing matched, for the technician holding the event: the fields
// tried with the hire's values quoted, and the nearest rules' wants.
func TestMatchHRNoMatch(t *testing.T) {
	// The good rules without the catch-all of later.yaml.
	inv, err := Load(filepath.Join("testdata", "hr", "good", "estate.yaml"), filepath.Join("testdata", "hr", "good", "hr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    HRPerson
		want string
		ws   bool // also ErrWorkstation
	}{
		{"the issue's example", HRPerson{Department: "Marketing", Title: "Designer"},
			`no hr rule matches: department "Marketing", title "Designer", location "", cost_center "" (rules: sales wants department /^sales/; hotdesk wants department Support or Operations and location Hamburg; engineers wants department Engineering and title /engineer|developer/ and location Berlin and cost_center /^CC-4/)`, false},
		{"nearest first", HRPerson{Department: "Engineering", Title: "Engineer", Location: "Munich", CostCenter: "CC-4"},
			`no hr rule matches: department "Engineering", title "Engineer", location "Munich", cost_center "CC-4" (rules: engineers wants location Berlin; sales wants department /^sales/; hotdesk wants department Support or Operations and location Hamburg)`, false},
		{"hostile values are quoted, never patterns", HRPerson{Department: "x\") (rules: all match", Title: `.*`, Location: `Ber"lin`, CostCenter: "/^CC-4/"},
			`no hr rule matches: department "x\") (rules: all match", title ".*", location "Ber\"lin", cost_center "/^CC-4/" (rules: sales wants department /^sales/; hotdesk wants department Support or Operations and location Hamburg; engineers wants department Engineering and title /engineer|developer/ and location Berlin and cost_center /^CC-4/)`, false},
		{"long values are cut", HRPerson{Department: strings.Repeat("a", 100)},
			`no hr rule matches: department "` + strings.Repeat("a", 64) + `"…, title "", location "", cost_center "" (rules: sales wants department /^sales/; hotdesk wants department Support or Operations and location Hamburg; engineers wants department Engineering and title /engineer|developer/ and location Berlin and cost_center /^CC-4/)`, false},
		{"control characters refused", HRPerson{Department: "Sales\x1b[31m"},
			`no hr rule matches: the hire's department "Sales\x1b[31m" contains the control character U+001B`, false},
		{"too long refused", HRPerson{Title: strings.Repeat("t", 257)},
			`no hr rule matches: the hire's title is 257 bytes long, more than 256`, false},
		{"invalid UTF-8 refused", HRPerson{Location: "\xff"},
			`no hr rule matches: the hire's location is not valid UTF-8`, false},
		{"from the event, none named", HRPerson{Department: "Support", Location: "Hamburg"},
			`hr rule hotdesk (testdata/hr/good/hr.yaml:31:7) takes the workstation from the event, and the event names none (allowed: ws3, ws4)`, true},
		{"from the event, not allowed", HRPerson{Department: "Support", Location: "Hamburg", Workstation: "ws1\n"},
			`no hr rule matches: the hire's workstation "ws1\n" contains the control character U+000A`, false},
		{"from the event, not allowed", HRPerson{Department: "Support", Location: "Hamburg", Workstation: "ws1"},
			`the event's workstation "ws1" is not one hr rule hotdesk (testdata/hr/good/hr.yaml:31:7) allows (ws3, ws4)`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := inv.MatchHR(tt.p)
			if err == nil {
				t.Fatalf("matched %s", a.Rule)
			}
			if !errors.Is(err, ErrNoMatch) {
				t.Errorf("not ErrNoMatch: %v", err)
			}
			if errors.Is(err, ErrWorkstation) != tt.ws {
				t.Errorf("errors.Is(ErrWorkstation) = %v, want %v", !tt.ws, tt.ws)
			}
			if err.Error() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

func TestMatchHRMoreRules(t *testing.T) {
	var b strings.Builder
	b.WriteString("hr:\n  rules:\n")
	for _, d := range []string{"a", "b", "c", "d", "e"} {
		b.WriteString("    - {name: r" + d + ", match: {department: " + d + ", title: t}, profile: p, directory: corp-ad, machine: {host: ws1}}\n")
	}
	b.WriteString("    - {name: near, match: {department: x, title: t}, profile: p, directory: corp-ad, machine: {host: ws1}}\n")
	dir := writeInv(t, map[string]string{"hr.yaml": b.String()})
	inv, err := Load(dir, filepath.Join("testdata", "hr", "good", "estate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = inv.MatchHR(HRPerson{Department: "z", Title: "t"})
	want := `no hr rule matches: department "z", title "t" (rules: ra wants department a; rb wants department b; rc wants department c; 3 more)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// Whatever HR sends, matching neither panics nor shows a value unquoted.
func FuzzMatchHR(f *testing.F) {
	inv, err := Load(filepath.Join("testdata", "hr", "good", "estate.yaml"), filepath.Join("testdata", "hr", "good", "hr.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Engineering", "Engineer", "Berlin", "CC-4", "ws3")
	f.Add("Marketing", "/.*/", "(rules: x)", "\x00", "")
	f.Add("Support", "", "Hamburg", "", "WS9\n")
	f.Fuzz(func(t *testing.T, dep, title, loc, cc, ws string) {
		p := HRPerson{Department: dep, Title: title, Location: loc, CostCenter: cc, Workstation: ws}
		a, err := inv.MatchHR(p)
		if err == nil {
			if a.Rule == "" || (a.Host == "") == (a.Pool == nil) {
				t.Fatalf("assignment %+v", a)
			}
			return
		}
		if !errors.Is(err, ErrNoMatch) {
			t.Fatalf("not ErrNoMatch: %v", err)
		}
		if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("control character in %q", err)
		}
	})
}
