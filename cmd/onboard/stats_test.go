package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/serve/store"
)

// statsJournal records, through the journal's API, one HR-triggered hire
// handed over at the first attempt and one that failed and was resumed.
func statsJournal(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, "journal.db")
	j, err := journal.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, r := range []struct {
		id, hire, trigger string
		start             time.Time
		outcome           result.Outcome
	}{
		{"r1", "E1", "hr:ev-1", t0, result.Changed},
		{"r2", "E2", "cli", t0.Add(time.Hour), result.Failed},
		{"r3", "E2", "cli", t0.Add(3 * time.Hour), result.Changed},
	} {
		p := &plan.Plan{Version: 1, Hires: []plan.Hire{{ID: r.hire, Name: r.hire, Username: r.hire, Profile: "dev", Manual: []string{"badge"}}}}
		id, err := j.StartRun(ctx, journal.RunStart{ID: r.id, Operator: "alice", Trigger: r.trigger, Mode: "apply", Plan: p, Started: r.start,
			Process: journal.Process{Machine: "elsewhere", PID: 1}})
		if err != nil {
			t.Fatal(err)
		}
		st := result.Step{ID: r.hire + "/account", Kind: "account", Hire: r.hire, Title: "account", Outcome: r.outcome, Started: r.start}
		run := &result.Run{ID: id, Started: r.start, Finished: r.start.Add(30 * time.Minute), Steps: []result.Step{st}}
		if r.outcome == result.Failed {
			st.Failure = &result.Failure{Step: st.ID, Phase: "apply", Message: "ldap said no"}
			run.Steps[0] = st
		} else {
			h := st
			h.Outcome = result.OK
			run.Handover = []result.Step{h}
		}
		if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Time: r.start.Add(time.Minute), RunID: id, Step: &st}); err != nil {
			t.Fatal(err)
		}
		if err := j.Record(ctx, id, result.Event{Type: result.RunFinished, Time: run.Finished, RunID: id, Run: run}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestStatsCommand(t *testing.T) {
	dir := t.TempDir()
	j := statsJournal(t, dir)
	csvPath := filepath.Join(dir, "stats.csv")
	code, out, errs := onboardCLI("stats", "--journal", j, "-o", "json", "--csv", csvPath)
	if code != exitOK {
		t.Fatalf("stats: exit %d\n%s%s", code, out, errs)
	}
	var rep struct {
		Groups []struct{ Key string }
		Total  struct {
			Hires, Ready, Escalated, Resolved int
			FirstAttempt                      int `json:"first_attempt"`
			ToHandover                        struct {
				Median int64 `json:"median_ns"`
			} `json:"to_handover"`
			Resolution struct {
				Median int64 `json:"median_ns"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// E1: 30 minutes; E2: from 10:00 to 12:30. Escalated at r2's end
	// (10:30), resolved at 12:30.
	if len(rep.Groups) != 1 || rep.Groups[0].Key != "2026-03" || rep.Total.Hires != 2 || rep.Total.Ready != 2 ||
		rep.Total.FirstAttempt != 1 || rep.Total.Escalated != 1 || rep.Total.Resolved != 1 ||
		time.Duration(rep.Total.ToHandover.Median) != 90*time.Minute || time.Duration(rep.Total.Resolution.Median) != 2*time.Hour {
		t.Errorf("stats -o json:\n%s", out)
	}
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "month,hires,") ||
		!strings.HasPrefix(lines[1], "2026-03,2,2,") || !strings.HasPrefix(lines[2], "total,2,2,") {
		t.Errorf("--csv wrote:\n%s", b)
	}

	// The HR event arrived the day before, as serve.db beside the journal
	// says: E1's time to handover starts then.
	s, err := store.Open(context.Background(), filepath.Join(dir, "serve.db"))
	if err != nil {
		t.Fatal(err)
	}
	ev := &store.Event{ID: "hr:ev-1", Source: "hr", Type: "hire", EmployeeID: "E1", ReceivedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Body: json.RawMessage(`{}`), Result: "scheduled"}
	if _, _, err := store.InsertEvent(context.Background(), s.DB, ev); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	code, out, errs = onboardCLI("stats", "--journal", j, "--by", "profile")
	want := []string{"by profile, all recorded hires (UTC)", "dev ", "1d 0h 30m", "1 (50%)", "account  apply  -  1", "badge  2"}
	for _, w := range want {
		if code != exitOK || !strings.Contains(out, w) {
			t.Errorf("stats --by profile: exit %d, no %q in\n%s%s", code, w, out, errs)
		}
	}

	// No hire in the period: said, not zeros.
	code, out, _ = onboardCLI("stats", "--journal", j, "--since", "2026-04-01")
	if code != exitOK || out != "no runs: no hire started in the period (hires started from 2026-04-01, UTC)\n" {
		t.Errorf("stats --since 2026-04-01: exit %d\n%s", code, out)
	}
	code, out, _ = onboardCLI("stats", "--journal", j, "--since", "2026-04-01", "-o", "json")
	if code != exitOK || !strings.Contains(out, `"note": "no runs`) || strings.Contains(out, `"total"`) {
		t.Errorf("stats --since 2026-04-01 -o json: exit %d\n%s", code, out)
	}

	for _, args := range [][]string{{"--by", "week"}, {"-o", "csv"}, {"--since", "March"}, {"--since", "2026-04-01", "--until", "2026-03-01"}} {
		if code, _, errs := onboardCLI(append([]string{"stats", "--journal", j}, args...)...); code != exitInvalid || errs == "" {
			t.Errorf("stats %v: exit %d, %q; want %d with a reason", args, code, errs, exitInvalid)
		}
	}

	// A journal changed outside onboard gives no figures: exit 6.
	db, err := sql.Open("sqlite", j)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE records SET payload = replace(payload, '"failed"', '"changed"') WHERE kind = 'step-finished'`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if code, out, errs := onboardCLI("stats", "--journal", j); code != exitTampered || out != "" || !strings.Contains(errs, "changed outside onboard") {
		t.Errorf("stats on a tampered journal: exit %d\n%s%s", code, out, errs)
	}
}
