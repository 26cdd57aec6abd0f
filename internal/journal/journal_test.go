package journal

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/golden"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func openTemp(t testing.TB) (*Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "journal.db")
	j, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j, path
}

// testPlan: one hire with an account (directory corp) and a package on ws-01.
func testPlan() *plan.Plan {
	return &plan.Plan{
		Version: 1, Created: t0.Add(-time.Hour), Sources: []string{"hires/ada.yaml"},
		Hires: []plan.Hire{{ID: "E100", Source: "hires/ada.yaml", Name: "Ada Lovelace", Username: "ada", Host: "ws-01"}},
		Hosts: map[string]*plan.Host{"ws-01": {Name: "ws-01", Address: "10.0.0.11", OS: "linux", Transport: "ssh", User: "admin",
			Credential: "env:WS01_PASSWORD", Auth: "password"}},
		Steps: []*plan.Step{
			{ID: "E100/account", Kind: plan.KindAccount, Hire: "E100", Directory: "corp", Title: "account ada", Action: plan.ActionCreate},
			{ID: "E100/package/htop", Kind: plan.KindPackage, Hire: "E100", Host: "ws-01", Title: "install htop", Action: plan.ActionNone,
				DependsOn: []string{"E100/account"}, Package: &plan.PackageSpec{Name: "htop", Manager: "apt", Package: "htop"}},
			{ID: "E100/printer/hq", Kind: plan.KindPrinter, Hire: "E100", Host: "ws-01", Title: "printer hq", Action: plan.ActionCannotTell},
		},
	}
}

func stepAt(id, host, title string, o result.Outcome, start time.Time, d time.Duration) result.Step {
	return result.Step{ID: id, Kind: strings.Split(id, "/")[1], Hire: "E100", Host: host, Title: title, Outcome: o,
		Started: start, Duration: d, Remote: d / 2, Attempts: 1}
}

// engineEvents is what the engine emits for testPlan: the account is
// created, htop is in place, the printer fails; handover re-checks.
func engineEvents(runID string) []result.Event {
	acct := stepAt("E100/account", "corp", "account ada", result.Changed, t0.Add(time.Second), 2*time.Second)
	acct.Changed = "created uid=ada in ou=People"
	pkg := stepAt("E100/package/htop", "ws-01", "install htop", result.OK, t0.Add(4*time.Second), time.Second)
	prn := stepAt("E100/printer/hq", "ws-01", "printer hq", result.Failed, t0.Add(6*time.Second), 3*time.Second)
	prn.Reason = "apply"
	prn.Failure = &result.Failure{Host: "ws-01", Step: prn.ID, Phase: "apply", Command: "lpadmin -p hq", ExitCode: 1,
		Output: "lpadmin: Unable to connect to server", Message: "command failed: exit 1"}
	started := func(s result.Step) *result.Step {
		s.Outcome, s.Duration, s.Remote, s.Attempts, s.Reason, s.Failure, s.Changed = "", 0, 0, 0, "", nil, ""
		return &s
	}
	hoAcct := stepAt("E100/account", "corp", "account ada", result.OK, t0.Add(10*time.Second), 500*time.Millisecond)
	hoPkg := stepAt("E100/package/htop", "ws-01", "install htop", result.OK, t0.Add(10*time.Second), 300*time.Millisecond)
	hoPrn := result.Step{ID: "E100/printer/hq", Kind: "printer", Hire: "E100", Host: "ws-01", Title: "printer hq",
		Outcome: result.Skipped, Reason: "the step did not complete: failed", Started: t0.Add(10 * time.Second)}
	run := &result.Run{ID: runID, Operator: "alice", Started: t0, Finished: t0.Add(11 * time.Second),
		Hires:    []result.Hire{{ID: "E100", Name: "Ada Lovelace", Username: "ada", Host: "ws-01", Source: "hires/ada.yaml"}},
		Steps:    []result.Step{acct, pkg, prn},
		Handover: []result.Step{hoAcct, hoPkg, hoPrn}}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	return []result.Event{
		{Type: result.RunStarted, RunID: runID, Time: at(0), Total: 3},
		{Type: result.StepStarted, RunID: runID, Time: at(time.Second), Step: started(acct)},
		{Type: result.StepFinished, RunID: runID, Time: at(3 * time.Second), Step: &acct},
		{Type: result.StepStarted, RunID: runID, Time: at(4 * time.Second), Step: started(pkg)},
		{Type: result.StepFinished, RunID: runID, Time: at(5 * time.Second), Step: &pkg},
		{Type: result.StepStarted, RunID: runID, Time: at(6 * time.Second), Step: started(prn)},
		{Type: result.StepFinished, RunID: runID, Time: at(9 * time.Second), Step: &prn},
		{Type: result.HandoverStarted, RunID: runID, Time: at(10 * time.Second), Total: 3},
		{Type: result.RunFinished, RunID: runID, Time: at(11 * time.Second), Run: run},
	}
}

func testStart() RunStart {
	return RunStart{Operator: "alice", Trigger: "cli", Mode: "apply", Plan: testPlan(),
		Process: Process{Machine: "admin-01", PID: 4242, Boot: "boot", Start: 1}}
}

func TestRecordAndReadBack(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)
	const id = "20260302T090000Z-abc123"
	rec := j.Recorder(testStart())
	for _, ev := range engineEvents(id) {
		if err := rec.Record(ctx, ev); err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
	}
	if rec.RunID() != id {
		t.Fatalf("run id %q, want the engine's %q", rec.RunID(), id)
	}
	d, err := j.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/run.golden.json", append(got, '\n'))

	if d.Outcome != RunFailed || d.Steps[result.Failed] != 1 || d.InProgress != 0 {
		t.Errorf("outcome %s, steps %v, in progress %d; want failed, one failed step, none in progress", d.Outcome, d.Steps, d.InProgress)
	}
	if fin := d.FinishedSteps(); fin["E100/account"].Action != plan.ActionCreate || fin["E100/account"].Step.Changed == "" {
		t.Errorf("the account's finished record lacks its planned action or what changed: %+v", fin["E100/account"])
	}
	p, err := d.PlanOf()
	if err != nil || len(p.Steps) != 3 || p.Hosts["ws-01"].Credential != "env:WS01_PASSWORD" {
		t.Errorf("plan read back: %v, %+v", err, p)
	}
	rep, err := j.Verify(ctx)
	if err != nil || !rep.OK() || rep.Records != 12 || rep.Head != rep.Last {
		t.Errorf("verify: %v %+v", err, rep)
	}
	head, err := j.Head(ctx)
	if err != nil || head != rep.Head {
		t.Errorf("head %v %v, want %v", head, err, rep.Head)
	}
}

func TestRecordRefuses(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)
	step := &result.Step{ID: "s", Outcome: result.OK}
	if err := j.Record(ctx, "nope", result.Event{Type: result.StepFinished, Step: step}); err == nil || !strings.Contains(err.Error(), "never started") {
		t.Errorf("record in an unknown run: %v", err)
	}
	id, err := j.StartRun(ctx, RunStart{ID: "r1", Operator: "alice", Trigger: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.StartRun(ctx, RunStart{ID: "r1"}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("second start of r1: %v", err)
	}
	if _, err := j.StartRun(ctx, RunStart{ID: "bad id/1"}); err == nil {
		t.Error("a run id with a space and a slash was accepted")
	}
	if err := j.Record(ctx, id, result.Event{Type: result.StepFinished}); err == nil {
		t.Error("a step-finished event without a step was accepted")
	}
	if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, RunID: "other", Step: step}); err == nil {
		t.Error("an event of another run was accepted")
	}
	fin := result.Event{Type: result.RunFinished, Run: &result.Run{DryRun: true}}
	if err := j.Record(ctx, id, fin); err != nil {
		t.Fatal(err)
	}
	if err := j.Record(ctx, id, fin); err == nil || !strings.Contains(err.Error(), "already finished") {
		t.Errorf("second run-finished: %v", err)
	}
	if err := j.Recorder(RunStart{}).Record(ctx, result.Event{Type: result.StepStarted, Step: step}); !errors.Is(err, errNotStarted) {
		t.Errorf("event before run-started: %v", err)
	}
	// A cancelled context does not stop the record of an interrupted run.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	id2, _ := j.StartRun(ctx, RunStart{ID: "r2"})
	if err := j.Record(cctx, id2, result.Event{Type: result.StepFinished, Step: step}); err != nil {
		t.Errorf("record with a cancelled context: %v", err)
	}
}

func TestSecretsAreNotStored(t *testing.T) {
	ctx := context.Background()
	const pw = "S3cr3t-journal-xyz"
	_ = secret.New(pw)
	j, path := openTemp(t)
	// The plan holds references only, and is stored exactly
	// (TestPlanStoredExactly); what a run says about itself and its steps
	// is scrubbed.
	id, err := j.StartRun(ctx, RunStart{Operator: "alice", Trigger: "hr:evt-" + pw, Plan: testPlan()})
	if err != nil {
		t.Fatal(err)
	}
	st := &result.Step{ID: "E100/account", Hire: "E100", Title: "account", Outcome: result.Failed,
		Changed: "set password to " + pw, Reason: "apply",
		Failure: &result.Failure{Step: "E100/account", Phase: "apply", Command: `echo "` + pw + `" | passwd --stdin ada`,
			Output: "passwd: " + pw + " is too weak\n<" + pw + ">", Message: "exit 1: " + pw}}
	if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Step: st}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var all string
	if err := db.QueryRow(`SELECT group_concat(run_id || kind || payload, '|') FROM records`).Scan(&all); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(all, pw) {
		t.Fatalf("the secret is stored:\n%s", all)
	}
	if n := strings.Count(all, secret.Redacted); n < 6 {
		t.Errorf("%d redactions, want one per place the secret was (6):\n%s", n, all)
	}
	// Nor anywhere in the files: the database, its WAL, its shared memory.
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.Contains(string(b), pw) {
			t.Errorf("the secret is in %s", f)
		}
	}
}

// The plan is stored exactly: resume runs it. A resolved secret whose text
// also appears in a value (a 7-letter password equal to a username) used
// to turn /home/kzwodny/x into /home/[redacted]/x in the stored plan.
// Only what is shown is redacted; the steps' free text is scrubbed.
func TestPlanStoredExactly(t *testing.T) {
	ctx := context.Background()
	const pw = "kzwodny" // a password, and by chance a username
	_ = secret.New(pw)
	j, path := openTemp(t)
	p := testPlan()
	p.Hires[0].Username = pw
	p.Steps = append(p.Steps,
		&plan.Step{ID: "E100/command/home", Kind: plan.KindCommand, Hire: "E100", Host: "ws-01", Title: "workspace of " + pw,
			Command: &plan.CommandSpec{Run: "mkdir -p '/home/" + pw + "/x'", Creates: "/home/" + pw + "/x"}},
		&plan.Step{ID: "E100/file/motd", Kind: plan.KindFile, Hire: "E100", Host: "ws-01", Title: "motd",
			File: &plan.FileSpec{Path: "/etc/motd", Content: "<b>Welcome " + pw + "</b> & \"co\"\n\u2028\n", Owner: pw}})
	want, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	id, err := j.StartRun(ctx, RunStart{Operator: "alice", Trigger: "cli", Plan: p})
	if err != nil {
		t.Fatal(err)
	}
	st := &result.Step{ID: "E100/command/home", Hire: "E100", Title: "workspace", Outcome: result.Failed,
		Failure: &result.Failure{Step: "E100/command/home", Phase: "apply", Output: "mkdir: " + pw + " refused", Message: "exit 1: " + pw}}
	if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Step: st}); err != nil {
		t.Fatal(err)
	}
	// Read back by another process, as resume is.
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	d, err := j.VerifiedRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.PlanOf()
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotJSON, want) {
		t.Errorf("the plan resume runs differs from the plan recorded:\n got %s\nwant %s", gotJSON, want)
	}
	// The step's output and error are scrubbed as stored...
	for _, r := range d.Records {
		if r.Kind == StepFinished && (strings.Contains(r.Step.Failure.Output, pw) || strings.Contains(r.Step.Failure.Message, pw)) {
			t.Errorf("a step's output or error was stored unscrubbed: %+v", r.Step.Failure)
		}
	}
	// ...and so is the whole run when shown (onboard show -o json).
	shown, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(shown), pw) || !strings.Contains(string(shown), "/home/"+secret.Redacted+"/x") {
		t.Errorf("the run as shown is not redacted:\n%s", shown)
	}
}

// A plan stored scrubbed by an older onboard is not run again when it
// holds a redaction: it may not be what was planned.
func TestLegacyScrubbedPlanRefused(t *testing.T) {
	d := &RunDetail{RunSummary: RunSummary{ID: "old"}, Plan: json.RawMessage(`{"version":1,"steps":[{"id":"a","command":{"run":"mkdir /home/[redacted]/x"}}]}`)}
	if _, err := d.PlanOf(); err == nil || !strings.Contains(err.Error(), "older onboard") {
		t.Errorf("a legacy scrubbed plan was accepted: %v", err)
	}
	d.Plan = json.RawMessage(`{"version":1,"steps":[{"id":"a","command":{"run":"mkdir /home/ada/x"}}]}`)
	if p, err := d.PlanOf(); err != nil || p.Steps[0].Command.Run != "mkdir /home/ada/x" {
		t.Errorf("a legacy plan without redactions: %v %v", p, err)
	}
}

func TestFilesAndModes(t *testing.T) {
	j, path := openTemp(t)
	if _, err := j.StartRun(context.Background(), RunStart{Operator: "alice"}); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]os.FileMode{filepath.Dir(path): 0o700 | os.ModeDir, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(f), fi.Mode(), want)
		}
	}
	var mode string
	if err := j.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q %v, want wal", mode, err)
	}
}

func TestOpenTwiceAndSchema(t *testing.T) {
	ctx := context.Background()
	j, path := openTemp(t)
	j2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	var v int
	files, _ := fs.Glob(schemaFS, "schema/*.sql")
	if err := j2.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != len(files) {
		t.Errorf("schema version %d %v, want %d (one per schema file)", v, err, len(files))
	}
	if _, err := j.w.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("open of a newer schema: %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("ONBOARD_JOURNAL", "/srv/j.db")
	if p, err := DefaultPath(); err != nil || p != "/srv/j.db" {
		t.Errorf("with ONBOARD_JOURNAL: %q %v", p, err)
	}
	t.Setenv("ONBOARD_JOURNAL", "")
	t.Setenv("XDG_STATE_HOME", "/home/x/.state")
	t.Setenv("HOME", "/home/x")
	want := "/home/x/.state/onboard/journal.db"
	if os.Geteuid() == 0 {
		want = "/var/lib/onboard/journal.db"
	}
	if p, err := DefaultPath(); err != nil || p != want {
		t.Errorf("got %q %v, want %q", p, err, want)
	}
	if os.Geteuid() != 0 {
		t.Setenv("XDG_STATE_HOME", "")
		if p, _ := DefaultPath(); p != "/home/x/.local/state/onboard/journal.db" {
			t.Errorf("without XDG_STATE_HOME: %q", p)
		}
	}
}

func TestRunsFilters(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)
	gone := Process{Machine: "gone-host", PID: 1}
	type run struct {
		id, hire, host, operator string
		at                       time.Duration
		outcome                  result.Outcome // of its one step; "" leaves the run unfinished
		cancelled                bool
		proc                     Process
	}
	runs := []run{
		{id: "r1", hire: "E1", host: "ws-01", operator: "alice", at: 0, outcome: result.Changed, proc: gone},
		{id: "r2", hire: "E2", host: "ws-02", operator: "bob", at: time.Hour, outcome: result.Failed, proc: gone},
		{id: "r3", hire: "E1", host: "ws-01", operator: "alice", at: 2 * time.Hour, outcome: result.OK, cancelled: true, proc: gone},
		{id: "r4", hire: "E1", host: "ws-02", operator: "hr-bot", at: 3 * time.Hour, proc: gone},  // killed
		{id: "r5", hire: "E3", host: "ws-03", operator: "alice", at: 4 * time.Hour, proc: self()}, // this process: running
	}
	for _, r := range runs {
		p := &plan.Plan{Hires: []plan.Hire{{ID: r.hire, Host: r.host}}, Hosts: map[string]*plan.Host{r.host: {Name: r.host}},
			Steps: []*plan.Step{{ID: r.hire + "/s", Hire: r.hire, Host: r.host}}}
		if _, err := j.StartRun(ctx, RunStart{ID: r.id, Operator: r.operator, Trigger: "cli", Plan: p, Started: t0.Add(r.at), Process: r.proc}); err != nil {
			t.Fatal(err)
		}
		st := &result.Step{ID: r.hire + "/s", Hire: r.hire, Host: r.host}
		if err := j.Record(ctx, r.id, result.Event{Type: result.StepStarted, Step: st}); err != nil {
			t.Fatal(err)
		}
		if r.outcome == "" {
			continue
		}
		st.Outcome = r.outcome
		if err := j.Record(ctx, r.id, result.Event{Type: result.StepFinished, Step: st}); err != nil {
			t.Fatal(err)
		}
		res := &result.Run{Steps: []result.Step{*st}, Handover: []result.Step{*st}, Cancelled: r.cancelled}
		if err := j.Record(ctx, r.id, result.Event{Type: result.RunFinished, Run: res}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"all, newest first", Filter{}, "r5 r4 r3 r2 r1"},
		{"limit", Filter{Limit: 2}, "r5 r4"},
		{"hire", Filter{Hire: "E1"}, "r4 r3 r1"},
		{"host", Filter{Host: "ws-02"}, "r4 r2"},
		{"operator", Filter{Operator: "alice"}, "r5 r3 r1"},
		{"since", Filter{Since: t0.Add(time.Hour)}, "r5 r4 r3 r2"},
		{"until", Filter{Until: t0.Add(time.Hour)}, "r1"},
		{"since and until", Filter{Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)}, "r3 r2"},
		{"ok", Filter{Outcome: RunOK}, "r1"},
		{"failed", Filter{Outcome: RunFailed}, "r2"},
		{"cancelled", Filter{Outcome: RunCancelled}, "r3"},
		{"interrupted", Filter{Outcome: RunInterrupted}, "r4"},
		{"running", Filter{Outcome: RunRunning}, "r5"},
		{"hire and outcome and limit", Filter{Hire: "E1", Outcome: RunInterrupted, Limit: 1}, "r4"},
		{"nothing", Filter{Hire: "E9"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := j.Runs(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if s := strings.Join(ids, " "); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
	if _, err := j.Runs(ctx, Filter{Outcome: "great"}); err == nil {
		t.Error("an unknown outcome was accepted")
	}
	got, _ := j.Runs(ctx, Filter{Hire: "E1", Outcome: RunInterrupted})
	if len(got) != 1 || got[0].InProgress != 1 || got[0].Total != 1 || !got[0].Finished.IsZero() {
		t.Errorf("the killed run: %+v; want one step in progress of one, not finished", got)
	}
}

func TestLastKnown(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)
	record := func(id string, dry bool, kind result.EventType, steps ...result.Step) {
		t.Helper()
		if _, err := j.run(ctx, id); err != nil {
			if _, err := j.StartRun(ctx, RunStart{ID: id, DryRun: dry, Mode: map[bool]string{false: "apply", true: "dry-run"}[dry]}); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range steps {
			if s.Hire == "" {
				s.Hire = "E1"
			}
			ev := result.Event{Type: kind, Step: &s}
			if kind == result.RunFinished {
				ev = result.Event{Type: kind, Run: &result.Run{Handover: []result.Step{s}}}
			}
			if err := j.Record(ctx, id, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	record("r1", false, result.StepFinished, result.Step{ID: "a", Outcome: result.Changed}, result.Step{ID: "b", Outcome: result.Failed})
	record("r2", false, result.StepFinished, result.Step{ID: "a", Outcome: result.Skipped}, result.Step{ID: "b", Outcome: result.Changed})
	record("r2", false, result.RunFinished, result.Step{ID: "b", Outcome: result.OK}) // the handover re-check
	record("r3", true, result.StepFinished, result.Step{ID: "c", Outcome: result.WouldChange}, result.Step{ID: "b", Outcome: result.CannotTell})
	record("r4", false, result.StepFinished, result.Step{ID: "a", Outcome: result.OK, Hire: "E2"})

	got, err := j.LastKnown(ctx, "E1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "r1 step-finished changed", "b": "r2 handover ok", "c": "r3 step-finished would-change dry"}
	if len(got) != len(want) {
		t.Errorf("got %d steps, want %d: %+v", len(got), len(want), got)
	}
	for id, w := range want {
		g := got[id]
		s := g.RunID + " " + string(g.Kind)
		if g.Step != nil {
			s += " " + string(g.Step.Outcome)
		}
		if g.DryRun {
			s += " dry"
		}
		if s != w {
			t.Errorf("step %s: %q, want %q", id, s, w)
		}
	}
}
