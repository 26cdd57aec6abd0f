package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/hrevent"
	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/serve/store"
)

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// fixedPolicy is a leave policy of one zone and retention.
func fixedPolicy(loc *time.Location, days int) func(*Assignment) (LeavePolicy, error) {
	return func(*Assignment) (LeavePolicy, error) {
		return LeavePolicy{Location: loc, RetentionDays: days, Directory: "corp"}, nil
	}
}

func leaveIntake(id, emp string, l Departure) Intake {
	return Intake{ID: "hr:" + id, Source: "hr", Type: Leave, Trigger: "hr:" + id, Person: Person{EmployeeID: emp}, Leave: &l, Body: []byte(`{}`)}
}

// runsByID reads an employee's runs by id.
func runsByID(t *testing.T, s *Service, emp string) map[string]*store.Run {
	t.Helper()
	runs, err := store.RunsOf(context.Background(), s.store.DB, emp)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*store.Run{}
	for _, r := range runs {
		out[r.ID] = r
	}
	return out
}

func wantRun(t *testing.T, runs map[string]*store.Run, id, state string, at, effective time.Time) {
	t.Helper()
	r := runs[id]
	switch {
	case r == nil:
		t.Errorf("no run %s", id)
	case r.State != state:
		t.Errorf("run %s is %s, want %s", id, r.State, state)
	case !at.IsZero() && !r.ScheduledAt.Equal(at):
		t.Errorf("run %s at %s, want %s", id, r.ScheduledAt.In(berlin), at.In(berlin))
	case !effective.IsZero() && !r.EffectiveAt.Equal(effective):
		t.Errorf("run %s takes effect at %s, want %s", id, r.EffectiveAt.In(berlin), effective.In(berlin))
	case state == store.RunScheduled && r.JobID == 0:
		t.Errorf("run %s is scheduled but not queued", id)
	}
}

// A leave schedules an offboarding at the leave time and a purge after
// the retention (in local time across a DST change); a second leave moves
// both; a change leaves them alone; a cancel unschedules both, and a
// second cancel is the hire's.
func TestLeaveSchedulesMovesAndCancels(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			s := openService(t, db, Config{Mapper: fixedMapper("ws1", laterSlots), LeavePolicy: fixedPolicy(berlin, 30)})
			ctx := context.Background()
			if _, err := s.Accept(ctx, hireIntake("evt-1", "E1")); err != nil {
				t.Fatal(err)
			}
			// 2030-03-29 is a Friday in CET; 30 days later is CEST.
			a, err := s.Accept(ctx, leaveIntake("leave-1", "E1", Departure{LastDay: "2030-03-29", LeaveAt: "17:30"}))
			if err != nil {
				t.Fatal(err)
			}
			leave := time.Date(2030, 3, 29, 17, 30, 0, 0, berlin)
			if a.Result != "scheduled" || len(a.Runs) != 2 || !strings.Contains(a.Detail, "leaves 2030-03-29 17:30 CET") ||
				!strings.Contains(a.Detail, "purged after 30 days of retention (corp)") {
				t.Fatalf("leave: %+v", a)
			}
			runs := runsByID(t, s, "E1")
			wantRun(t, runs, "E1.leave1.offboard", store.RunScheduled, leave, leave)
			wantRun(t, runs, "E1.leave1.purge", store.RunScheduled, time.Date(2030, 4, 28, 17, 30, 0, 0, berlin), leave)
			if got := runs["E1.leave1.purge"].ScheduledAt.Sub(leave); got != 30*24*time.Hour-time.Hour {
				t.Errorf("purge %s after the leave: not the same local time across the change to summer time", got)
			}
			for _, p := range Phases {
				wantRun(t, runs, "E1.g1."+p, store.RunScheduled, time.Time{}, time.Time{})
			}

			// The same event again is a duplicate; another leave moves it,
			// to the end of the last day without a time.
			if a, err := s.Accept(ctx, leaveIntake("leave-1", "E1", Departure{LastDay: "2030-03-29", LeaveAt: "17:30"})); err != nil || !a.Duplicate {
				t.Fatalf("redelivery: %+v %v", a, err)
			}
			a, err = s.Accept(ctx, leaveIntake("leave-2", "E1", Departure{LastDay: "2030-04-30"}))
			if err != nil || a.Result != "rescheduled" {
				t.Fatalf("second leave: %+v %v", a, err)
			}
			leave2 := time.Date(2030, 5, 1, 0, 0, 0, 0, berlin)
			runs = runsByID(t, s, "E1")
			wantRun(t, runs, "E1.leave1.offboard", store.RunSuperseded, time.Time{}, time.Time{})
			wantRun(t, runs, "E1.leave1.purge", store.RunSuperseded, time.Time{}, time.Time{})
			wantRun(t, runs, "E1.leave2.offboard", store.RunScheduled, leave2, leave2)
			wantRun(t, runs, "E1.leave2.purge", store.RunScheduled, time.Date(2030, 5, 31, 0, 0, 0, 0, berlin), leave2)

			// A change of title in the notice period re-plans the setup
			// and keeps the leave.
			ch := hireIntake("evt-2", "E1")
			ch.Type, ch.Fields, ch.Person = Change, []string{"title"}, Person{EmployeeID: "E1", Title: "Staff"}
			if a, err := s.Accept(ctx, ch); err != nil || a.Result != "rescheduled" {
				t.Fatalf("change: %+v %v", a, err)
			}
			runs = runsByID(t, s, "E1")
			wantRun(t, runs, "E1.leave2.offboard", store.RunScheduled, leave2, leave2)
			wantRun(t, runs, "E1.leave2.purge", store.RunScheduled, time.Time{}, time.Time{})
			wantRun(t, runs, "E1.g1.account", store.RunSuperseded, time.Time{}, time.Time{})
			wantRun(t, runs, "E1.g2.account", store.RunScheduled, time.Time{}, time.Time{})

			// A cancel calls the leave off, and only the leave.
			c := Intake{ID: "hr:evt-3", Source: "hr", Type: Cancel, Trigger: "hr:evt-3", Person: Person{EmployeeID: "E1"}, Body: []byte(`{}`)}
			a, err = s.Accept(ctx, c)
			if err != nil || a.Result != "cancelled" || a.Detail != "the leave was called off: 2 run(s) not started were cancelled (offboard, purge)" {
				t.Fatalf("cancel: %+v %v", a, err)
			}
			runs = runsByID(t, s, "E1")
			wantRun(t, runs, "E1.leave2.offboard", store.RunCancelled, time.Time{}, time.Time{})
			wantRun(t, runs, "E1.leave2.purge", store.RunCancelled, time.Time{}, time.Time{})
			wantRun(t, runs, "E1.g2.activation", store.RunScheduled, time.Time{}, time.Time{})
			for _, id := range []string{"E1.leave2.offboard", "E1.leave2.purge"} {
				assertJobCancelled(t, s, runs[id].JobID)
			}
			c.ID = "hr:evt-4"
			if a, err := s.Accept(ctx, c); err != nil || !strings.Contains(a.Detail, "3 run(s) not started were cancelled") {
				t.Fatalf("second cancel, the hire's: %+v %v", a, err)
			}
		})
	}
}

// assertJobCancelled checks a superseded or cancelled run's job is off
// the queue: it never runs.
func assertJobCancelled(t *testing.T, s *Service, job int64) {
	t.Helper()
	var state string
	if err := s.store.DB.QueryRow(`SELECT state FROM river_job WHERE id = $1`, job).Scan(&state); err != nil {
		t.Fatalf("job %d: %v", job, err)
	}
	if state != "cancelled" {
		t.Errorf("job %d is %s, want cancelled", job, state)
	}
}

// A leaver onboard serve never set up gets a record of their own; no
// retention schedules no purge; a leave already past runs now; a leave
// before the setup's runs cancels them.
func TestLeaveEdges(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			s := openService(t, db, Config{Mapper: fixedMapper("ws1", laterSlots), LeavePolicy: fixedPolicy(berlin, 0)})
			ctx := context.Background()
			a, err := s.Accept(ctx, leaveIntake("leave-9", "E9", Departure{LastDay: "2031-01-31", LeaveAt: "12:00"}))
			if err != nil || a.Result != "scheduled" || len(a.Runs) != 1 || !strings.Contains(a.Detail, "no purge") {
				t.Fatalf("leave: %+v %v", a, err)
			}
			h, err := store.GetHire(ctx, s.store.DB, "E9")
			if err != nil || h.Trigger != "hr:leave-9" {
				t.Fatalf("no record of the leaver: %+v %v", h, err)
			}
			wantRun(t, runsByID(t, s, "E9"), "E9.leave1.offboard", store.RunScheduled, time.Date(2031, 1, 31, 12, 0, 0, 0, berlin), time.Time{})

			// The setup is 10 days out; leaving in 5 calls it off.
			if _, err := s.Accept(ctx, hireIntake("evt-8", "E8")); err != nil {
				t.Fatal(err)
			}
			at := time.Now().Add(5 * 24 * time.Hour).Truncate(time.Millisecond)
			a, err = s.Accept(ctx, leaveIntake("leave-8", "E8", Departure{At: at}))
			if err != nil || !strings.Contains(a.Detail, "setup runs due after the leave cancelled: account, activation, machine") {
				t.Fatalf("leave before the start: %+v %v", a, err)
			}
			runs := runsByID(t, s, "E8")
			wantRun(t, runs, "E8.leave1.offboard", store.RunScheduled, at, at)
			for _, p := range Phases {
				wantRun(t, runs, "E8.g1."+p, store.RunCancelled, time.Time{}, time.Time{})
			}
		})
	}
}

// A leave already past runs at once; without an Offboard hook the run
// fails, saying offboarding is not configured, and is never skipped.
func TestLeaveWithoutPlannerFails(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			s := openService(t, db, Config{Mapper: fixedMapper("ws1", laterSlots), LeavePolicy: fixedPolicy(time.UTC, 0)})
			ctx := context.Background()
			before := time.Now()
			a, err := s.Accept(ctx, leaveIntake("leave-7", "E7", Departure{LastDay: before.AddDate(0, 0, -2).Format(time.DateOnly)}))
			if err != nil {
				t.Fatal(err)
			}
			if at := a.Runs[0].ScheduledAt; at.Before(before.Add(-time.Second)) || at.After(time.Now()) {
				t.Fatalf("a past leave scheduled at %s, not now", at)
			}
			r := waitRun(t, s, "E7.leave1.offboard", store.RunFailed)
			if !strings.Contains(r.Error, errNoOffboard.Error()) {
				t.Fatalf("error: %q", r.Error)
			}
		})
	}
}

func TestLeaveTime(t *testing.T) {
	for _, tc := range []struct {
		l    Departure
		want time.Time
		err  string
	}{
		{Departure{LastDay: "2030-03-29", LeaveAt: "17:30"}, time.Date(2030, 3, 29, 17, 30, 0, 0, berlin), ""},
		{Departure{LastDay: "2030-03-30"}, time.Date(2030, 3, 31, 0, 0, 0, 0, berlin), ""},
		{Departure{LastDay: "2030-12-31"}, time.Date(2031, 1, 1, 0, 0, 0, 0, berlin), ""},
		{Departure{At: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), LastDay: "2031-01-01"}, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), ""},
		{Departure{LastDay: "2030-02-30"}, time.Time{}, `last_day: "2030-02-30" is not a date`},
		{Departure{LastDay: "2030-02-28", LeaveAt: "7:00"}, time.Time{}, `leave_at: "7:00" is not a time of day`},
	} {
		got, err := leaveTime(&tc.l, berlin)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%+v: error %v, want %q", tc.l, err, tc.err)
		case tc.err == "" && (err != nil || !got.Equal(tc.want)):
			t.Errorf("%+v: %s %v, want %s", tc.l, got, err, tc.want)
		}
	}
}

// A SCIM user made inactive once at work is a leave, now; before the
// handover it is a cancel (TestSCIMProvisionsAHire).
func TestSCIMDeactivationIsALeave(t *testing.T) {
	s := openService(t, filepath.Join(t.TempDir(), "serve.db"), Config{Mapper: fixedMapper("ws1", laterSlots), LeavePolicy: fixedPolicy(berlin, 90)})
	h, err := s.Handler(HTTPConfig{SCIMTokens: []Token{{Name: "entra", Value: []byte(scimToken)}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	create := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:onboard:2.0:User"],
"userName":"ada@corp.example.test","active":true,"name":{"givenName":"Ada","familyName":"Lovelace"},
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E7002"},
"urn:ietf:params:scim:schemas:extension:onboard:2.0:User":{"startDate":"2027-01-04"}}`
	code, body := scimDo(t, srv.URL, "POST", "/scim/v2/Users", create, scimToken)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	id := jsonField(t, body, "id")
	// The setup ran (as far as the store knows): the person is at work.
	if _, err := s.store.DB.Exec(`UPDATE onboard_runs SET state = 'ok' WHERE employee_id = 'E7002'`); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	disable := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":false}]}`
	if code, body := scimDo(t, srv.URL, "PATCH", "/scim/v2/Users/"+id, disable, scimToken); code != 200 {
		t.Fatalf("disable: %d %s", code, body)
	}
	runs := runsByID(t, s, "E7002")
	off, purge := runs["E7002.leave1.offboard"], runs["E7002.leave1.purge"]
	if off == nil || purge == nil || off.EffectiveAt.Before(before) || off.EffectiveAt.After(time.Now()) || off.Trigger != "scim:"+id {
		t.Fatalf("runs after active=false: %+v %+v", off, purge)
	}
	if want := off.EffectiveAt.In(berlin).AddDate(0, 0, 90); !purge.ScheduledAt.Equal(want) {
		t.Errorf("purge at %s, want %s", purge.ScheduledAt, want)
	}
	evs, err := store.Events(ctx, s.store.DB, "E7002", 10)
	if err != nil || len(evs) != 2 || evs[0].Type != Leave || evs[0].Result != "scheduled" {
		t.Fatalf("events: %v", err)
	}
}

// The status page lists leavers apart, each with their latest leave's
// offboard and purge runs; a leaver onboard serve never set up is no hire
// row, and their failed offboarding is among the failures.
func TestPageLeavers(t *testing.T) {
	in, now := goldenInput(t)
	at := func(h int) time.Time { return now.Add(time.Duration(h) * time.Hour) }
	in.Hires = append(in.Hires, &store.Hire{EmployeeID: "E200", State: store.HireScheduled, Generation: 0,
		Person: personJSON(t, Person{EmployeeID: "E200"})})
	in.Runs["E102"] = append(in.Runs["E102"],
		&store.Run{ID: "E102.leave10.offboard", Generation: 1, Phase: PhaseOffboard, State: store.RunSuperseded, ScheduledAt: at(24), EffectiveAt: at(24)},
		&store.Run{ID: "E102.leave9.offboard", Generation: 1, Phase: PhaseOffboard, State: store.RunSuperseded, ScheduledAt: at(24), EffectiveAt: at(24)},
		&store.Run{ID: "E102.leave11.offboard", Generation: 1, Phase: PhaseOffboard, State: store.RunScheduled, ScheduledAt: at(48), EffectiveAt: at(48)},
		&store.Run{ID: "E102.leave11.purge", Generation: 1, Phase: PhasePurge, State: store.RunScheduled, ScheduledAt: at(48 + 720), EffectiveAt: at(48)})
	in.Runs["E200"] = []*store.Run{{ID: "E200.leave1.offboard", Phase: PhaseOffboard, State: store.RunFailed, ScheduledAt: at(-1),
		FinishedAt: at(-1), EffectiveAt: at(-1), Attempts: 1, Error: errNoOffboard.Error()}}
	v := makePage(in, now, time.FixedZone("CET", 3600), 5*time.Second)
	v.Who, v.CSRF = "alice", "csrf-fixed"
	golden(t, "page-leavers.golden.html", renderPage(t, v))

	if len(v.Leavers) != 2 || v.Leavers[0].Key != "E102" || v.Leavers[0].State != "scheduled" || v.Leavers[1].Key != "E200" || v.Leavers[1].State != "failed" {
		t.Fatalf("leavers: %+v", v.Leavers)
	}
	if p := v.Leavers[0].Phases; len(p) != 2 || p[0].Key != "E102.leave11.offboard" || p[1].Key != "E102.leave11.purge" || v.Leavers[0].StartDate != "2026-12-05 13:00" {
		t.Errorf("E102's latest leave: %s %+v", v.Leavers[0].StartDate, p)
	}
	if p := v.Leavers[1].Phases; p[1].State != "none" {
		t.Errorf("E200 has no purge: %+v", p)
	}
	for _, list := range [][]pageHire{v.Hires, v.Recent} {
		for _, h := range list {
			if h.Key == "E200" {
				t.Errorf("the leaver E200 is shown as a hire: %+v", h)
			}
		}
	}
	// E102's setup is done and stays among the recent, its leave pending.
	if !slices.ContainsFunc(v.Recent, func(h pageHire) bool { return h.Key == "E102" && h.State == "done" }) {
		t.Errorf("E102 is not a recent, done hire: %+v", v.Recent)
	}
	if len(v.Failures) != 2 || v.Failures[1].RunID != "E200.leave1.offboard" || v.Failures[1].Phase != PhaseOffboard {
		t.Errorf("failures: %+v", v.Failures)
	}
	if in2, _ := goldenInput(t); len(makePage(in2, now, time.UTC, time.Second).Leavers) != 0 {
		t.Error("leavers without any leave")
	}
}

// A decoded HR leave becomes a leave intake with its day and time.
func TestIntakeOfLeave(t *testing.T) {
	body, err := os.ReadFile("../hrevent/testdata/native-leave.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := hrevent.Decode(hrevent.Native, body, hrevent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := intakeOf(ev)
	if in.Type != Leave || in.Leave == nil || *in.Leave != (Departure{LastDay: "2027-03-31", LeaveAt: "17:30"}) ||
		in.Person.EmployeeID != "E2001" || in.ID != "hr:evt-2027-03-0001" {
		t.Fatalf("intake: %+v leave %+v", in, in.Leave)
	}
}

// Vendor terminations through the signed webhooks: BambooHR's batch (one
// termination, one ordinary update) and Personio's update with a
// termination date each schedule an offboarding at the end of the last
// day; the API shows the runs.
func TestHRWebhookLeave(t *testing.T) {
	s, srv := hookServer(t, filepath.Join(t.TempDir(), "serve.db"))
	s.cfg.LeavePolicy = fixedPolicy(berlin, 0)
	ctx := context.Background()
	for _, tc := range []struct {
		file, path, emp string
	}{
		{"bamboohr-leave.json", "/hooks/hr/bamboohr", "123"},
		{"personio-leave.json", "/hooks/hr/personio", "4711"},
	} {
		body, err := os.ReadFile("../hrevent/testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		code, a := post(t, srv.URL+tc.path, body, signed(body, time.Now()))
		if code != http.StatusAccepted {
			t.Fatalf("%s: %d %v", tc.file, code, a)
		}
		runs := runsByID(t, s, tc.emp)
		end := time.Date(2027, 4, 1, 0, 0, 0, 0, berlin)
		wantRun(t, runs, tc.emp+".leave1.offboard", store.RunScheduled, end, end)
		if len(runs) != 1 {
			t.Errorf("%s: runs %v, want the offboarding alone", tc.file, runs)
		}
	}
	// The batch's ordinary update is a change of someone not yet seen: a
	// hire's setup, no leave.
	if runs := runsByID(t, s, "124"); len(runs) != len(Phases) || runs["124.g1.account"] == nil {
		t.Errorf("an update without a termination date: runs %v, want the setup's", runs)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/hires/4711", nil)
	req.Header.Set("Authorization", "Bearer api-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Runs []struct {
			ID, Phase   string
			EffectiveAt time.Time `json:"effective_at"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || len(v.Runs) != 1 || v.Runs[0].Phase != PhaseOffboard ||
		!v.Runs[0].EffectiveAt.Equal(time.Date(2027, 4, 1, 0, 0, 0, 0, berlin)) {
		t.Fatalf("API: %d %+v %v", resp.StatusCode, v, err)
	}
}

// The inventory's leave policy: the hr zone, and the retention of the
// hire's directory, or of the only directory when the hire's is unknown.
func TestInventoryLeavePolicy(t *testing.T) {
	dir := func(name, retention string) string {
		return "  " + name + ":\n    kind: openldap\n    urls: [ldaps://" + name + ".corp.example.test:636]\n" +
			"    base_dn: dc=corp,dc=example,dc=test\n    users_ou: ou=People,dc=corp,dc=example,dc=test\n" +
			"    bind_dn: cn=admin,dc=corp,dc=example,dc=test\n    bind_password: env:LDAP_PW\n" +
			"    leavers: {retention_days: " + retention + "}\n"
	}
	write := func(doc string) []string {
		p := filepath.Join(t.TempDir(), "inv.yaml")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return []string{p}
	}
	two := write("hr:\n  timezone: Europe/Berlin\ndirectories:\n" + dir("corp-ldap", "90") + dir("lab-ldap", "0"))
	one := write("directories:\n" + dir("corp-ldap", "30"))
	for _, tc := range []struct {
		name  string
		paths []string
		a     *Assignment
		want  LeavePolicy
		err   string
	}{
		{"the hire's directory", two, &Assignment{Directory: "corp-ldap"}, LeavePolicy{Location: berlin, RetentionDays: 90, Directory: "corp-ldap"}, ""},
		{"another without retention", two, &Assignment{Directory: "lab-ldap"}, LeavePolicy{Location: berlin, Directory: "lab-ldap"}, ""},
		{"unknown among two", two, nil, LeavePolicy{Location: berlin}, ""},
		{"the only one, zone UTC", one, nil, LeavePolicy{Location: time.UTC, RetentionDays: 30, Directory: "corp-ldap"}, ""},
		{"the only one for a hire without a directory", one, &Assignment{}, LeavePolicy{Location: time.UTC, RetentionDays: 30, Directory: "corp-ldap"}, ""},
		{"no inventory", write("directories: [\n"), nil, LeavePolicy{}, "the inventory does not load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := inventoryLeavePolicy(tc.paths)(tc.a)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.Location.String() != tc.want.Location.String() || got.RetentionDays != tc.want.RetentionDays || got.Directory != tc.want.Directory {
				t.Errorf("policy %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
}

// A leave policy that cannot be read neither drops nor holds the leave:
// access still ends on the day (in UTC), and no purge is scheduled.
func TestLeaveWithoutPolicy(t *testing.T) {
	s := openService(t, filepath.Join(t.TempDir(), "serve.db"), Config{Mapper: fixedMapper("ws1", laterSlots),
		LeavePolicy: func(*Assignment) (LeavePolicy, error) {
			return LeavePolicy{}, errors.New("the inventory does not load: inv.yaml:3:1: bad")
		}})
	a, err := s.Accept(context.Background(), leaveIntake("leave-5", "E5", Departure{LastDay: "2031-06-30", LeaveAt: "18:00"}))
	if err != nil || a.Result != "scheduled" || len(a.Runs) != 1 ||
		!strings.HasPrefix(a.Detail, "the leave policy could not be read (the inventory does not load: inv.yaml:3:1: bad): times in UTC, no purge scheduled; leaves 2031-06-30 18:00 UTC") {
		t.Fatalf("leave: %+v %v", a, err)
	}
	wantRun(t, runsByID(t, s, "E5"), "E5.leave1.offboard", store.RunScheduled, time.Date(2031, 6, 30, 18, 0, 0, 0, time.UTC), time.Time{})
}

// A leave long past has both runs due at once: the offboarding runs
// first, then the purge; the hook gets the leave time (not now) for both,
// and the journal records them as "offboard" and "purge".
func TestLeaveRunsInOrderWithTheLeaveTime(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			var mu sync.Mutex
			var calls []string
			offboard := func(_ context.Context, emp string, at time.Time, purge bool) (*plan.Plan, error) {
				mu.Lock()
				defer mu.Unlock()
				calls = append(calls, fmt.Sprintf("%s %s purge=%v", emp, at.UTC().Format(time.RFC3339), purge))
				// Nothing left to do in the directory: the plan is its hire.
				return &plan.Plan{Version: 1, Hires: []plan.Hire{{ID: emp, Username: "gone"}}}, nil
			}
			s := openService(t, db, Config{Mapper: fixedMapper("ws1", laterSlots), LeavePolicy: fixedPolicy(berlin, 30), Offboard: offboard, Journal: j})
			last := time.Now().In(berlin).AddDate(0, 0, -40).Format(time.DateOnly)
			d, _ := time.ParseInLocation(time.DateOnly, last, berlin)
			leave := d.Add(9 * time.Hour)
			if _, err := s.Accept(ctx, leaveIntake("leave-6", "E6", Departure{LastDay: last, LeaveAt: "09:00"})); err != nil {
				t.Fatal(err)
			}
			purge := waitRun(t, s, "E6.leave1.purge", store.RunOK)
			off := waitRun(t, s, "E6.leave1.offboard", store.RunOK)
			// The order is the claim's: a purge is not claimed while the
			// offboarding is scheduled or running (the hook calls below
			// show it). A run's StartedAt is the clock read when its claim
			// began, which may precede the commit that finished the other.
			if purge.StartedAt.Before(off.StartedAt) {
				t.Errorf("the purge started at %s, before the offboarding started at %s", purge.StartedAt, off.StartedAt)
			}
			mu.Lock()
			got := strings.Join(calls, "; ")
			mu.Unlock()
			at := leave.UTC().Format(time.RFC3339)
			if want := "E6 " + at + " purge=false; E6 " + at + " purge=true"; got != want {
				t.Errorf("hook calls:\n got %s\nwant %s", got, want)
			}
			for r, mode := range map[*store.Run]string{off: "offboard", purge: "purge"} {
				det, err := j.Run(ctx, r.JournalRun)
				if err != nil || det.Mode != mode || det.Trigger != "hr:leave-6" {
					t.Errorf("journal run of %s: %+v %v", r.ID, det, err)
				}
			}
		})
	}
}
