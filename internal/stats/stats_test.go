package stats

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"onboard/internal/golden"
	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// fstep is one step a synthetic run finishes.
type fstep struct {
	hire, kind string
	outcome    result.Outcome
	phase      string // of the failure
	class      string
	handover   result.Outcome // "" for no handover re-check
}

// frun is one synthetic run, recorded through the journal's own API.
type frun struct {
	id        string
	hires     []plan.Hire
	trigger   string
	mode      string
	dry       bool
	start     time.Time
	took      time.Duration
	steps     []fstep
	cancelled bool
	never     bool // never finishes (killed)
	notify    []journal.NotificationRecord
}

var jan = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func hr(id, profile string, manual ...string) plan.Hire {
	return plan.Hire{ID: id, Name: id, Username: id, Profile: profile, Manual: manual}
}

func ok(hire, kind string) fstep {
	return fstep{hire: hire, kind: kind, outcome: result.Changed, handover: result.OK}
}

func fail(hire, kind, phase, class string) fstep {
	return fstep{hire: hire, kind: kind, outcome: result.Failed, phase: phase, class: class}
}

// build records runs in a new journal in a temp folder.
func build(t *testing.T, runs []frun) (*journal.Journal, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	for _, r := range runs {
		p := &plan.Plan{Version: 1, Hires: r.hires}
		for i, s := range r.steps {
			p.Steps = append(p.Steps, &plan.Step{ID: stepID(s, i), Kind: s.kind, Hire: s.hire, Title: s.kind})
		}
		trigger := r.trigger
		if trigger == "" {
			trigger = "cli"
		}
		mode := r.mode
		if mode == "" {
			mode = "apply"
		}
		// A dead process: a run that never finishes reads as interrupted.
		id, err := j.StartRun(ctx, journal.RunStart{ID: r.id, Operator: "alice", Trigger: trigger, Mode: mode, DryRun: r.dry,
			Plan: p, Started: r.start, Process: journal.Process{Machine: "elsewhere", PID: 1}})
		if err != nil {
			t.Fatal(err)
		}
		res := &result.Run{ID: id, Started: r.start, Finished: r.start.Add(r.took), Cancelled: r.cancelled, DryRun: r.dry}
		for i, s := range r.steps {
			st := result.Step{ID: stepID(s, i), Kind: s.kind, Hire: s.hire, Title: s.kind, Outcome: s.outcome,
				Started: r.start.Add(time.Duration(i+1) * time.Second), Duration: time.Second}
			if s.outcome == result.Failed {
				st.Failure = &result.Failure{Step: st.ID, Phase: s.phase, Class: s.class, Message: "it failed"}
			}
			if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Time: st.Started.Add(time.Second), RunID: id, Step: &st}); err != nil {
				t.Fatal(err)
			}
			res.Steps = append(res.Steps, st)
			if s.handover != "" {
				h := st
				h.Outcome = s.handover
				if s.handover == result.Failed {
					h.Failure = &result.Failure{Step: st.ID, Phase: "verify", Message: "no longer holds"}
				}
				res.Handover = append(res.Handover, h)
			}
		}
		if r.never {
			continue
		}
		if err := j.Record(ctx, id, result.Event{Type: result.RunFinished, Time: r.start.Add(r.took), RunID: id, Run: res}); err != nil {
			t.Fatal(err)
		}
		for i, n := range r.notify {
			if err := j.RecordNotification(ctx, id, n, r.start.Add(r.took+time.Duration(i+1)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return j, path
}

func stepID(s fstep, i int) string { return s.hire + "/" + s.kind + "/" + string(rune('a'+i)) }

func load(t *testing.T, runs []frun) []*journal.RunDetail {
	t.Helper()
	j, _ := build(t, runs)
	ds, err := Load(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func d(h int, m ...int) *time.Duration {
	x := time.Duration(h) * time.Hour
	if len(m) > 0 {
		x += time.Duration(m[0]) * time.Minute
	}
	return &x
}

// fig is what a test expects of one group.
type fig struct {
	key                                    string
	hires, ready, first, escalated, solved int
	handoverMed, handoverP90               *time.Duration
	resolutionMed                          *time.Duration
	failures                               []FailureCount
	manualHires                            int
	manual                                 []ManualCount
}

func check(t *testing.T, g Group, want fig) {
	t.Helper()
	if g.Key != want.key || g.Hires != want.hires || g.Ready != want.ready || g.FirstAttempt != want.first ||
		g.Escalated != want.escalated || g.Resolved != want.solved || g.ManualHires != want.manualHires {
		t.Errorf("group %s: got hires %d ready %d first %d escalated %d resolved %d manual %d, want %+v",
			g.Key, g.Hires, g.Ready, g.FirstAttempt, g.Escalated, g.Resolved, g.ManualHires, want)
	}
	if rate := float64(want.first) / float64(want.hires); g.FirstAttemptRate != rate {
		t.Errorf("group %s: first-attempt rate %v, want %v", g.Key, g.FirstAttemptRate, rate)
	}
	durEq := func(what string, got *Durations, med, p90 *time.Duration) {
		switch {
		case med == nil && got != nil:
			t.Errorf("group %s: %s %+v, want none", g.Key, what, *got)
		case med != nil && got == nil:
			t.Errorf("group %s: %s none, want median %v", g.Key, what, *med)
		case med != nil && (got.Median != *med || p90 != nil && got.P90 != *p90):
			t.Errorf("group %s: %s median %v p90 %v, want %v %v", g.Key, what, got.Median, got.P90, *med, p90)
		}
	}
	durEq("to handover", g.ToHandover, want.handoverMed, want.handoverP90)
	durEq("resolution", g.Resolution, want.resolutionMed, nil)
	if want.failures == nil {
		want.failures = []FailureCount{}
	}
	if !reflect.DeepEqual(g.Failures, want.failures) {
		t.Errorf("group %s: failures %+v, want %+v", g.Key, g.Failures, want.failures)
	}
	if want.manual == nil {
		want.manual = []ManualCount{}
	}
	if !reflect.DeepEqual(g.Manual, want.manual) {
		t.Errorf("group %s: manual %+v, want %+v", g.Key, g.Manual, want.manual)
	}
}

func TestFigures(t *testing.T) {
	tests := []struct {
		name   string
		runs   []frun
		opts   Options
		groups []fig
		total  fig
	}{{
		name: "first attempt",
		runs: []frun{{id: "r1", hires: []plan.Hire{hr("E1", "dev")}, start: jan, took: 2 * time.Hour,
			steps: []fstep{ok("E1", "account"), ok("E1", "package")}}},
		groups: []fig{{key: "2026-01", hires: 1, ready: 1, first: 1, handoverMed: d(2), handoverP90: d(2)}},
		total:  fig{key: "total", hires: 1, ready: 1, first: 1, handoverMed: d(2), handoverP90: d(2)},
	}, {
		// Failed, then resumed: not a first-attempt success; resolution
		// runs from the failure notification to the resumed run's end.
		name: "resumed after a failure notification",
		runs: []frun{
			{id: "r1", hires: []plan.Hire{hr("E1", "dev")}, start: jan, took: time.Hour,
				steps:  []fstep{ok("E1", "account"), fail("E1", "package", "apply", "")},
				notify: []journal.NotificationRecord{{Key: "r1/E1/failure", Channel: "mail", Event: "failure", Hire: "E1", Attempt: 1, Status: journal.NotifyFailed}, {Key: "r1/E1/failure", Channel: "mail", Event: "failure", Hire: "E1", Attempt: 2, Status: journal.NotifySent}}},
			{id: "r2", hires: []plan.Hire{hr("E1", "dev", "badge")}, mode: "resume of r1", start: jan.Add(5 * time.Hour), took: time.Hour,
				steps: []fstep{ok("E1", "account"), ok("E1", "package")}},
		},
		// escalated at r1's end + 2 minutes (the sent attempt); resolved at jan+6h
		groups: []fig{{key: "2026-01", hires: 1, ready: 1, escalated: 1, solved: 1, handoverMed: d(6), resolutionMed: d(4, 58),
			failures: []FailureCount{{Kind: "package", Phase: "apply", Count: 1}}, manualHires: 1, manual: []ManualCount{{Task: "badge", Hires: 1}}}},
		total: fig{key: "total", hires: 1, ready: 1, escalated: 1, solved: 1, handoverMed: d(6), resolutionMed: d(4, 58),
			failures: []FailureCount{{Kind: "package", Phase: "apply", Count: 1}}, manualHires: 1, manual: []ManualCount{{Task: "badge", Hires: 1}}},
	}, {
		// No notification: escalation is the failed run's end. A handover
		// re-check that fails is a failure of phase handover.
		name: "retried without notification, handover failure",
		runs: []frun{
			{id: "r1", hires: []plan.Hire{hr("E1", "dev")}, start: jan, took: time.Hour,
				steps: []fstep{{hire: "E1", kind: "group", outcome: result.Changed, handover: result.Failed}}},
			{id: "r2", hires: []plan.Hire{hr("E1", "dev")}, start: jan.Add(3 * time.Hour), took: time.Hour,
				steps: []fstep{ok("E1", "group")}},
		},
		groups: []fig{{key: "2026-01", hires: 1, ready: 1, escalated: 1, solved: 1, handoverMed: d(4), resolutionMed: d(3),
			failures: []FailureCount{{Kind: "group", Phase: "handover", Count: 1}}}},
		total: fig{key: "total", hires: 1, ready: 1, escalated: 1, solved: 1, handoverMed: d(4), resolutionMed: d(3),
			failures: []FailureCount{{Kind: "group", Phase: "handover", Count: 1}}},
	}, {
		// An HR event received the day before: the clock starts then.
		name: "HR event start",
		runs: []frun{{id: "r1", hires: []plan.Hire{hr("E1", "dev")}, trigger: "hr:ev-1", start: jan, took: time.Hour,
			steps: []fstep{ok("E1", "account")}}},
		opts:   Options{HREvents: map[string]time.Time{"hr:ev-1": jan.Add(-24 * time.Hour)}},
		groups: []fig{{key: "2026-01", hires: 1, ready: 1, first: 1, handoverMed: d(25)}},
		total:  fig{key: "total", hires: 1, ready: 1, first: 1, handoverMed: d(25)},
	}, {
		// Still failing, a killed run, a dry run and an audit: escalated,
		// unresolved, no handover time; dry runs and audits do not count.
		name: "unresolved, interrupted, dry run, audit",
		runs: []frun{
			{id: "dry", hires: []plan.Hire{hr("E9", "dev")}, dry: true, mode: "dry-run", start: jan, took: time.Minute,
				steps: []fstep{fail("E9", "package", "check", result.ClassCannotRun)}},
			{id: "r1", hires: []plan.Hire{hr("E1", "dev")}, start: jan, took: time.Hour,
				steps: []fstep{fail("E1", "package", "check", result.ClassCannotRun)}},
			{id: "r2", hires: []plan.Hire{hr("E2", "dev")}, start: jan, never: true, steps: []fstep{ok("E2", "account")}},
			{id: "r3", hires: []plan.Hire{hr("E1", "dev")}, start: jan.Add(time.Hour), took: time.Hour, cancelled: true,
				steps: []fstep{fail("E1", "package", "connect", "")}},
			{id: "audit", hires: []plan.Hire{hr("E1", "dev")}, mode: "audit", dry: true, start: jan.Add(3 * time.Hour), took: time.Minute,
				steps: []fstep{fail("E1", "group", "check", "")}},
		},
		groups: []fig{{key: "2026-01", hires: 2, escalated: 2, failures: []FailureCount{
			{Kind: "package", Phase: "check", Class: result.ClassCannotRun, Count: 1}, {Kind: "package", Phase: "connect", Count: 1}}}},
		total: fig{key: "total", hires: 2, escalated: 2, failures: []FailureCount{
			{Kind: "package", Phase: "check", Class: result.ClassCannotRun, Count: 1}, {Kind: "package", Phase: "connect", Count: 1}}},
	}, {
		// Month boundaries are UTC: 23:30 UTC on 31 January is January
		// wherever the command runs; the next hire is February. Since and
		// Until bound the hire's start: [Since, Until).
		name: "months in UTC, since and until",
		runs: []frun{
			{id: "r0", hires: []plan.Hire{hr("E0", "dev")}, start: time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), took: time.Hour, steps: []fstep{ok("E0", "account")}},
			{id: "r1", hires: []plan.Hire{hr("E1", "dev")}, start: time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), took: time.Hour, steps: []fstep{ok("E1", "account")}},
			{id: "r2", hires: []plan.Hire{hr("E2", "dev")}, start: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), took: 3 * time.Hour, steps: []fstep{ok("E2", "account")}},
			{id: "r3", hires: []plan.Hire{hr("E3", "dev")}, start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), took: 3 * time.Hour, steps: []fstep{ok("E3", "account")}},
		},
		opts: Options{Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		groups: []fig{
			{key: "2026-01", hires: 1, ready: 1, first: 1, handoverMed: d(1)},
			{key: "2026-02", hires: 1, ready: 1, first: 1, handoverMed: d(3)},
		},
		total: fig{key: "total", hires: 2, ready: 2, first: 2, handoverMed: d(2), handoverP90: d(3)},
	}, {
		// onboard serve's phases: account and machine run before the
		// start date and do not hand over; activation does. E1's machine
		// phase failed and its retry (attempt 2) resolved it, days before
		// activation; E2 went through at the first attempt of each.
		name: "serve phases",
		runs: []frun{
			{id: "a1", hires: []plan.Hire{hr("E1", "dev"), hr("E2", "dev")}, trigger: "hr:ev-1", mode: "serve account (run s1, attempt 1)", start: jan, took: time.Hour,
				steps: []fstep{ok("E1", "account"), ok("E2", "account")}},
			{id: "m1", hires: []plan.Hire{hr("E1", "dev"), hr("E2", "dev")}, trigger: "hr:ev-1", mode: "serve machine (run s2, attempt 1)", start: jan.Add(24 * time.Hour), took: time.Hour,
				steps: []fstep{ok("E1", "account"), fail("E1", "package", "connect", ""), ok("E2", "account"), ok("E2", "package")}},
			{id: "m2", hires: []plan.Hire{hr("E1", "dev")}, trigger: "hr:ev-1", mode: "serve machine (run s2, attempt 2)", start: jan.Add(26 * time.Hour), took: time.Hour,
				steps: []fstep{ok("E1", "account"), ok("E1", "package")}},
			{id: "v1", hires: []plan.Hire{hr("E1", "dev"), hr("E2", "dev")}, trigger: "hr:ev-1", mode: "serve activation (run s3, attempt 1)", start: jan.Add(72 * time.Hour), took: time.Hour,
				steps: []fstep{ok("E1", "account"), ok("E1", "package"), ok("E2", "account"), ok("E2", "package")}},
		},
		opts: Options{HREvents: map[string]time.Time{"hr:ev-1": jan.Add(-time.Hour)}},
		groups: []fig{{key: "2026-01", hires: 2, ready: 2, first: 1, escalated: 1, solved: 1, handoverMed: d(74), handoverP90: d(74),
			resolutionMed: d(2), failures: []FailureCount{{Kind: "package", Phase: "connect", Count: 1}}}},
		total: fig{key: "total", hires: 2, ready: 2, first: 1, escalated: 1, solved: 1, handoverMed: d(74), handoverP90: d(74),
			resolutionMed: d(2), failures: []FailureCount{{Kind: "package", Phase: "connect", Count: 1}}},
	}, {
		// By profile; one run with two hires where one's step failed: the
		// other is ready at that run.
		name: "by profile, partly failed run",
		runs: []frun{
			{id: "r1", hires: []plan.Hire{hr("E1", "dev"), hr("E2", "sales", "phone", "badge")}, start: jan, took: time.Hour,
				steps: []fstep{ok("E1", "account"), fail("E2", "printer", "apply", "")}},
			{id: "r2", hires: []plan.Hire{hr("E2", "sales", "phone", "badge")}, start: jan.Add(2 * time.Hour), took: time.Hour,
				steps: []fstep{ok("E2", "printer")}},
			{id: "r3", hires: []plan.Hire{hr("E3", "")}, start: jan, took: 30 * time.Minute, steps: []fstep{ok("E3", "account")}},
		},
		opts: Options{By: ByProfile},
		groups: []fig{
			{key: NoProfile, hires: 1, ready: 1, first: 1, handoverMed: d(0, 30)},
			{key: "dev", hires: 1, ready: 1, first: 1, handoverMed: d(1)},
			{key: "sales", hires: 1, ready: 1, escalated: 1, solved: 1, handoverMed: d(3), resolutionMed: d(2),
				failures: []FailureCount{{Kind: "printer", Phase: "apply", Count: 1}}, manualHires: 1,
				manual: []ManualCount{{Task: "badge", Hires: 1}, {Task: "phone", Hires: 1}}},
		},
		total: fig{key: "total", hires: 3, ready: 3, first: 2, escalated: 1, solved: 1, handoverMed: d(1), handoverP90: d(3), resolutionMed: d(2),
			failures: []FailureCount{{Kind: "printer", Phase: "apply", Count: 1}}, manualHires: 1,
			manual: []ManualCount{{Task: "badge", Hires: 1}, {Task: "phone", Hires: 1}}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Compute(load(t, tc.runs), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Groups) != len(tc.groups) {
				t.Fatalf("%d groups %+v, want %d", len(rep.Groups), rep.Groups, len(tc.groups))
			}
			for i, g := range rep.Groups {
				check(t, g, tc.groups[i])
			}
			if rep.Total == nil {
				t.Fatal("no total")
			}
			check(t, *rep.Total, tc.total)
		})
	}
}

func TestSummarise(t *testing.T) {
	m := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Minute)
		}
		return out
	}
	tests := []struct {
		in       []time.Duration
		med, p90 time.Duration
	}{
		{m(5), 5 * time.Minute, 5 * time.Minute},
		{m(10, 2), 6 * time.Minute, 10 * time.Minute},                              // even: mean of the middle two; p90 rank ceil(1.8)=2
		{m(3, 1, 2), 2 * time.Minute, 3 * time.Minute},                             // odd: the middle; rank ceil(2.7)=3
		{m(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 330 * time.Second, 9 * time.Minute},     // rank 9 of 10
		{m(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100), 6 * time.Minute, 10 * time.Minute}, // rank ceil(9.9)=10 of 11
	}
	for _, tc := range tests {
		got := Summarise(tc.in)
		if got == nil || got.Count != len(tc.in) || got.Median != tc.med || got.P90 != tc.p90 {
			t.Errorf("Summarise(%v) = %+v, want median %v p90 %v", tc.in, got, tc.med, tc.p90)
		}
	}
	if got := Summarise(nil); got != nil {
		t.Errorf("Summarise(nil) = %+v, want nil (nothing measured)", got)
	}
}

func TestNoRuns(t *testing.T) {
	for _, runs := range [][]frun{nil, {{id: "old", hires: []plan.Hire{hr("E1", "dev")}, start: jan, took: time.Hour, steps: []fstep{ok("E1", "account")}}}} {
		rep, err := Compute(load(t, runs), Options{Since: jan.AddDate(0, 1, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Empty() || rep.Total != nil || len(rep.Groups) != 0 || rep.Note == "" {
			t.Errorf("report %+v, want empty with a note", rep)
		}
		var b bytes.Buffer
		if err := WriteText(&b, rep); err != nil {
			t.Fatal(err)
		}
		if want := "no runs: no hire started in the period (hires started from 2026-02-05, UTC)\n"; b.String() != want {
			t.Errorf("text %q, want %q", b.String(), want)
		}
	}
	if _, err := Compute(nil, Options{By: "week"}); err == nil {
		t.Error("grouping by week accepted")
	}
}

// goldenRuns is a journal with every figure: two months, two profiles,
// first-attempt success, a resume, failures, manual tasks.
var goldenRuns = []frun{
	{id: "r1", hires: []plan.Hire{hr("E1", "dev", "badge")}, trigger: "hr:ev-1", start: jan, took: 90 * time.Minute,
		steps: []fstep{ok("E1", "account"), ok("E1", "package")}},
	{id: "r2", hires: []plan.Hire{hr("E2", "sales", "phone")}, start: jan.Add(24 * time.Hour), took: time.Hour,
		steps:  []fstep{ok("E2", "account"), fail("E2", "printer", "apply", "")},
		notify: []journal.NotificationRecord{{Key: "r2/E2/failure", Channel: "mail", Event: "failure", Hire: "E2", Attempt: 1, Status: journal.NotifySent}}},
	{id: "r3", hires: []plan.Hire{hr("E2", "sales", "phone")}, mode: "resume of r2", start: jan.Add(28 * time.Hour), took: time.Hour,
		steps: []fstep{ok("E2", "printer")}},
	{id: "r4", hires: []plan.Hire{hr("E3", "dev")}, start: time.Date(2026, 2, 2, 8, 0, 0, 0, time.UTC), took: 45 * time.Second,
		steps: []fstep{fail("E3", "package", "check", result.ClassCannotRun)}},
}

func TestGolden(t *testing.T) {
	ds := load(t, goldenRuns)
	for _, by := range []string{ByMonth, ByProfile} {
		rep, err := Compute(ds, Options{By: by, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			HREvents: map[string]time.Time{"hr:ev-1": jan.Add(-3 * 24 * time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			ext   string
			write func(*bytes.Buffer, *Report) error
		}{
			{"txt", func(b *bytes.Buffer, r *Report) error { return WriteText(b, r) }},
			{"json", func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) }},
			{"csv", func(b *bytes.Buffer, r *Report) error { return WriteCSV(b, r) }},
		} {
			var b bytes.Buffer
			if err := f.write(&b, rep); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", "by-"+by+"."+f.ext), b.Bytes())
		}
	}
}

// A journal changed outside onboard gives no figures.
func TestLoadRefusesABrokenChain(t *testing.T) {
	j, path := build(t, goldenRuns)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE records SET payload = replace(payload, '"failed"', '"changed"') WHERE kind = 'step-finished'`); err != nil {
		t.Fatal(err)
	}
	var ce *journal.ChainError
	if _, err := Load(context.Background(), j); !errors.As(err, &ce) {
		t.Fatalf("Load = %v, want a *journal.ChainError", err)
	}
}

func TestChart(t *testing.T) {
	if c := NewChart(&Report{By: ByMonth, Groups: []Group{}}); c != nil {
		t.Errorf("chart of an empty report: %+v", c)
	}
	rep, err := Compute(load(t, goldenRuns), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewChart(rep)
	// January: 2 hires (the tallest, 160 high), 1 at the first attempt
	// (80); February: 1 hire (80), none at the first attempt.
	want := []Bar{
		{Label: "2026-01", X: 54, W: 36, Y: 20, H: 160, FirstY: 100, FirstH: 80,
			Title: "2026-01: 2 hires, 2 ready, 1 at the first attempt (50%), median to handover 3h 15m"},
		{Label: "2026-02", X: 104, W: 36, Y: 100, H: 80, FirstY: 180, FirstH: 0,
			Title: "2026-02: 1 hires, 0 ready, 0 at the first attempt (0%)"},
	}
	if c == nil || c.Max != 2 || c.Base != 180 || c.Width != 154 || c.Height != 204 || !reflect.DeepEqual(c.Bars, want) {
		t.Errorf("chart %+v\nwant bars %+v", c, want)
	}
}
