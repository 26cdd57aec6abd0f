package serve

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/serve/store"
	"onboard/internal/stats"
)

// figuresReport records two hires through the journal's API, one ready at
// the first attempt, one after a failure, and computes their figures.
func figuresReport(t *testing.T) *stats.Report {
	t.Helper()
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	figuresRuns(t, j)
	runs, err := stats.Load(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := stats.Compute(runs, stats.Options{Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

var figuresT0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func figuresRuns(t *testing.T, j *journal.Journal) {
	t.Helper()
	ctx := context.Background()
	t0 := figuresT0
	for i, r := range []struct {
		hire    string
		outcome result.Outcome
	}{{"E1", result.Changed}, {"E2", result.Failed}, {"E2", result.Changed}} {
		start := t0.Add(time.Duration(i) * 24 * time.Hour)
		p := &plan.Plan{Version: 1, Hires: []plan.Hire{{ID: r.hire, Name: r.hire, Username: r.hire, Profile: "dev"}}}
		id, err := j.StartRun(ctx, journal.RunStart{Operator: "onboard serve (test)", Trigger: "hr:" + r.hire, Mode: "serve activation (run x, attempt 1)",
			Plan: p, Started: start, Process: journal.Process{Machine: "elsewhere", PID: 1}})
		if err != nil {
			t.Fatal(err)
		}
		st := result.Step{ID: r.hire + "/account", Kind: "account", Hire: r.hire, Outcome: r.outcome, Started: start}
		run := &result.Run{ID: id, Started: start, Finished: start.Add(time.Hour), Steps: []result.Step{st}}
		if r.outcome == result.Failed {
			run.Steps[0].Failure = &result.Failure{Step: st.ID, Phase: "apply", Message: "no"}
		} else {
			h := st
			h.Outcome = result.OK
			run.Handover = []result.Step{h}
		}
		if err := j.Record(ctx, id, result.Event{Type: result.RunFinished, Time: run.Finished, RunID: id, Run: run}); err != nil {
			t.Fatal(err)
		}
	}
}

// The status page shows the service figures with an SVG chart drawn on
// the server, says so when there are no runs or the journal does not
// verify, and has no section without a journal.
func TestPageFigures(t *testing.T) {
	in, now := goldenInput(t)
	in.Figures = figuresReport(t)
	v := makePage(in, now, time.FixedZone("CET", 3600), 5*time.Second)
	v.Who, v.CSRF = "alice", "csrf-fixed"
	got := renderPage(t, v)
	i, k := strings.Index(got, `<section id="figures">`), strings.Index(got, `<section id="events">`)
	if i < 0 || k < i {
		t.Fatalf("no figures section:\n%s", got)
	}
	golden(t, "page-figures.golden.html", got[i:k])
	if strings.Contains(got, "<script") {
		t.Error("the page has a script")
	}

	for _, tc := range []struct {
		name string
		rep  *stats.Report
		err  error
		want string
	}{
		{"no runs", &stats.Report{By: stats.ByMonth, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Groups: []stats.Group{}}, nil, "No runs: no hire started since 2026-01."},
		{"tampered", nil, &journal.ChainError{Path: "j.db"}, "changed outside onboard"},
		{"unreadable", nil, errors.New("disk on fire"), "could not be read"},
	} {
		in.Figures, in.FiguresErr = tc.rep, tc.err
		got := renderPage(t, makePage(in, now, time.UTC, time.Second))
		if !strings.Contains(got, `<section id="figures">`) || !strings.Contains(got, tc.want) || strings.Contains(got, "<svg") || strings.Contains(got, "disk on fire") {
			t.Errorf("%s: the figures section does not say %q", tc.name, tc.want)
		}
	}
	in.Figures, in.FiguresErr = nil, nil
	if got := renderPage(t, makePage(in, now, time.UTC, time.Second)); strings.Contains(got, `id="figures"`) {
		t.Error("a figures section without a journal")
	}
}

// The service reads the figures from its journal, starts a hire's clock at
// its HR event's arrival, and computes them again only when the journal
// changed.
func TestServiceFigures(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	j, err := journal.Open(ctx, filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	s := openService(t, filepath.Join(dir, "serve.db"), Config{Journal: j, Mapper: fixedMapper("no-such-host", nowSlots)})
	p := &page{h: &server{s: s}}
	now := figuresT0.AddDate(0, 1, 0)
	if rep, err := p.figures(ctx, now); err != nil || !rep.Empty() {
		t.Fatalf("figures of an empty journal: %+v, %v", rep, err)
	}
	figuresRuns(t, j)
	ev := &store.Event{ID: "hr:E1", Source: "hr", Type: "hire", EmployeeID: "E1", ReceivedAt: figuresT0.Add(-47 * time.Hour),
		Body: json.RawMessage(`{}`), Result: "scheduled"}
	if _, _, err := store.InsertEvent(ctx, s.store.DB, ev); err != nil {
		t.Fatal(err)
	}
	rep, err := p.figures(ctx, now)
	if err != nil || rep.Empty() {
		t.Fatalf("figures: %+v, %v", rep, err)
	}
	// E1: from the HR event 47 hours before its run to the run's end, 48
	// hours; E2: 25 hours. The window is the last 12 months.
	if h := rep.Total.ToHandover; rep.Total.Hires != 2 || h == nil || h.P90 != 48*time.Hour || h.Median != 36*time.Hour+30*time.Minute ||
		!rep.Since.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("figures %+v, to handover %+v", rep, rep.Total.ToHandover)
	}
	if again, err := p.figures(ctx, now); err != nil || again != rep {
		t.Errorf("the journal did not change, yet the figures were computed again (%v)", err)
	}
	db, err := sql.Open("sqlite", j.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE records SET payload = replace(payload, '"failed"', '"changed"') WHERE kind = 'run-finished'`); err != nil {
		t.Fatal(err)
	}
	// The head did not move: cached figures stand until the next run; a
	// new record makes them computed again, from a chain that is broken.
	if _, err := j.StartRun(ctx, journal.RunStart{Operator: "x", Trigger: "cli", Started: now}); err != nil {
		t.Fatal(err)
	}
	var ce *journal.ChainError
	if _, err := p.figures(ctx, now); !errors.As(err, &ce) {
		t.Errorf("figures of a tampered journal: %v, want a *journal.ChainError", err)
	}
}
