package serve

import (
	"context"
	"fmt"
	"onboard/internal/remote"
	"onboard/internal/result"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab"
	"onboard/internal/serve/store"
)

// databases are the engines a test runs on: the embedded SQLite file, and
// a private PostgreSQL cluster unless -short.
func databases(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"sqlite": filepath.Join(t.TempDir(), "serve.db")}
	if !testing.Short() {
		out["postgres"] = lab.PostgresForTest(t).DSN
	}
	return out
}

// fixedMapper places everyone on one host with one profile, and holds
// people of the department "Nowhere".
func fixedMapper(host string, slots func(start string) []Slot) Mapper {
	return func(p Person) (*Assignment, error) {
		if p.Department == "Nowhere" {
			return nil, fmt.Errorf("%w: no hr rule matches department %q", ErrHeld, p.Department)
		}
		return &Assignment{Rule: "everyone", Profile: "engineering", Host: host, Slots: slots(p.StartDate)}, nil
	}
}

func nowSlots(string) []Slot {
	return []Slot{{PhaseAccount, time.Now().Add(-time.Hour)}, {PhaseMachine, time.Now().Add(-time.Hour)}, {PhaseActivation, time.Now().Add(-time.Hour)}}
}

func laterSlots(string) []Slot {
	at := time.Now().Add(240 * time.Hour)
	return []Slot{{PhaseAccount, at}, {PhaseMachine, at.Add(time.Hour)}, {PhaseActivation, at.Add(2 * time.Hour)}}
}

func openService(t *testing.T, db string, cfg Config) *Service {
	t.Helper()
	cfg.Database = db
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	if cfg.Inventory == nil {
		cfg.Inventory = []string{t.TempDir()}
	}
	cfg.PollEvery = 50 * time.Millisecond
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s
}

func hireIntake(id, emp string) Intake {
	return Intake{ID: "hr:" + id, Source: "hr", Type: Hire, Trigger: "hr:" + id,
		Person: Person{EmployeeID: emp, GivenName: "Zoë", Surname: `O'Brien"; rm -rf / #`, Department: "Engineering", StartDate: "2027-01-04"},
		Body:   []byte(`{}`)}
}

func TestAcceptIsIdempotentAndSchedules(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			s := openService(t, db, Config{Mapper: fixedMapper("ws1", laterSlots)})
			ctx := context.Background()
			a1, err := s.Accept(ctx, hireIntake("evt-1", "E1"))
			if err != nil {
				t.Fatal(err)
			}
			if a1.Result != "scheduled" || len(a1.Runs) != 3 || a1.Duplicate {
				t.Fatalf("first: %+v", a1)
			}
			a2, err := s.Accept(ctx, hireIntake("evt-1", "E1"))
			if err != nil {
				t.Fatal(err)
			}
			if !a2.Duplicate || a2.Result != "scheduled" || len(a2.Runs) != 3 {
				t.Fatalf("second: %+v", a2)
			}
			runs, _ := store.RunsOf(ctx, s.store.DB, "E1")
			if len(runs) != 3 {
				t.Fatalf("%d runs after the same event twice", len(runs))
			}
			for _, r := range runs {
				if r.JobID == 0 || r.Trigger != "hr:evt-1" {
					t.Errorf("run %s: job %d trigger %q", r.ID, r.JobID, r.Trigger)
				}
			}
			h, _ := store.GetHire(ctx, s.store.DB, "E1")
			if !strings.Contains(h.Playbook, `surname: 'O''Brien"; rm -rf / #'`) {
				t.Errorf("the surname is not one quoted scalar in the playbook:\n%s", h.Playbook)
			}

			// A change reschedules: the open runs are superseded.
			ch := hireIntake("evt-2", "E1")
			ch.Type, ch.Fields = Change, []string{"start_date"}
			ch.Person = Person{EmployeeID: "E1", StartDate: "2027-02-01"}
			a3, err := s.Accept(ctx, ch)
			if err != nil || a3.Result != "rescheduled" {
				t.Fatalf("change: %+v %v", a3, err)
			}
			h, _ = store.GetHire(ctx, s.store.DB, "E1")
			if h.StartDate != "2027-02-01" || h.Generation != 2 || !strings.Contains(string(h.Person), `"given_name":"Zoë"`) {
				t.Fatalf("after change: %+v %s", h, h.Person)
			}
			runs, _ = store.RunsOf(ctx, s.store.DB, "E1")
			states := map[string]int{}
			for _, r := range runs {
				states[r.State]++
			}
			if states[store.RunSuperseded] != 3 || states[store.RunScheduled] != 3 {
				t.Fatalf("states after change: %v", states)
			}

			// A cancel removes what has not started.
			c := Intake{ID: "hr:evt-3", Source: "hr", Type: Cancel, Trigger: "hr:evt-3", Person: Person{EmployeeID: "E1"}, Body: []byte(`{}`)}
			a4, err := s.Accept(ctx, c)
			if err != nil || a4.Result != "cancelled" || !strings.Contains(a4.Detail, "3 run(s) not started were cancelled") {
				t.Fatalf("cancel: %+v %v", a4, err)
			}

			// Nothing maps: held, never dropped.
			held := hireIntake("evt-4", "E2")
			held.Person.Department = "Nowhere"
			a5, err := s.Accept(ctx, held)
			if err != nil || a5.Result != "held" || !strings.Contains(a5.Detail, `department "Nowhere"`) {
				t.Fatalf("held: %+v %v", a5, err)
			}
			if _, err := s.Approve(ctx, "E2", "tech"); err == nil || !strings.Contains(err.Error(), "still held") {
				t.Fatalf("approve of a hire that still maps nowhere: %v", err)
			}
		})
	}
}

// A due run is picked up, planned and, with a host the inventory lacks,
// fails with the planner's message; a retry runs it again.
func TestDueRunFailsWithReasonAndRetries(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			s := openService(t, db, Config{Mapper: fixedMapper("no-such-host", nowSlots)})
			ctx := context.Background()
			if _, err := s.Accept(ctx, hireIntake("evt-9", "E9")); err != nil {
				t.Fatal(err)
			}
			r := waitRun(t, s, "E9.g1.account", store.RunFailed)
			if !strings.Contains(r.Error, "no-such-host") {
				t.Fatalf("error does not name the host: %q", r.Error)
			}
			if err := s.Retry(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			r2 := waitRun(t, s, "E9.g1.account", store.RunFailed)
			if r2.Attempts != 2 {
				t.Fatalf("attempts %d after a retry", r2.Attempts)
			}
			if err := s.Retry(ctx, "E9.g1.nope"); err == nil {
				t.Fatal("retry of a missing run")
			}
		})
	}
}

func waitRun(t *testing.T, s *Service, id, state string) *store.Run {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := store.GetRun(context.Background(), s.store.DB, id)
		if err == nil && r.State == state && r.FinishedAt.After(r.StartedAt.Add(-time.Second)) && r.Holder != "" {
			if state != store.RunFailed || r.Error != "" {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s never reached %s: %+v %v", id, state, r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A host that refuses us (a changed host key, credentials not accepted)
// is not a transient fault: retrying cannot help, a technician must act.
func TestRefusedIsNotTransient(t *testing.T) {
	conn := func(msg string) *result.Run {
		return &result.Run{Unreachable: []string{"ws1"}, Steps: []result.Step{{Outcome: result.Failed,
			Failure: &result.Failure{Host: "ws1", Phase: "connect", Message: msg}}}}
	}
	for _, c := range []struct {
		msg  string
		want bool
	}{
		{"dial ws1: " + remote.ErrUnreachable.Error() + ": i/o timeout", false},
		{"ws1: " + remote.ErrHostKey.Error() + ": the key changed", true},
		{"ws1: " + remote.ErrAuth.Error(), true},
	} {
		if got := refused(conn(c.msg)); got != c.want {
			t.Errorf("%q: refused %v, want %v", c.msg, got, c.want)
		}
	}
}
