package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
)

// Steps of hire E7 (ada) as a planner makes them, by short name.
func histStep(name string) *plan.Step {
	mk := func(kind, item, host, dir string) *plan.Step {
		return &plan.Step{ID: "E7:" + kind + ":" + item, Kind: kind, Hire: "E7", Host: host, Directory: dir, Title: kind + " " + item}
	}
	switch name {
	case "account":
		return mk(plan.KindAccount, "ada", "", "corp")
	case "group eng":
		s := mk(plan.KindMembership, "eng", "", "corp")
		s.Membership = &plan.MembershipSpec{Username: "ada", Group: "eng"}
		return s
	case "group all":
		s := mk(plan.KindMembership, "all", "", "corp")
		s.Membership = &plan.MembershipSpec{Username: "ada", Group: "all"}
		return s
	case "remove group eng":
		s := mk(plan.KindMembershipRemove, "eng", "", "corp")
		s.Membership = &plan.MembershipSpec{Username: "ada", Group: "eng"}
		return s
	case "htop", "htop ws2":
		host := "ws1"
		if name == "htop ws2" {
			host = "ws2"
		}
		s := mk(plan.KindPackage, "htop", host, "")
		s.Package = &plan.PackageSpec{Name: "htop", Manager: "apt", Package: "htop"}
		return s
	case "remove htop":
		s := mk(plan.KindPackageRemove, "htop@ws1", "ws1", "")
		s.Package = &plan.PackageSpec{Name: "htop", Manager: "apt", Package: "htop"}
		return s
	case "jq":
		s := mk(plan.KindPackage, "jq", "ws1", "")
		s.Package = &plan.PackageSpec{Name: "jq", Manager: "apt", Package: "jq"}
		return s
	case "printer":
		s := mk(plan.KindPrinter, "hq", "ws1", "")
		s.Printer = &plan.PrinterSpec{Name: "HQ", URI: "ipp://p/hq", Model: "everywhere"}
		return s
	case "win app":
		s := mk(plan.KindWinSoftware, "7zip", "win1", "")
		s.WinSoftware = &plan.WinSoftwareSpec{Name: "7zip", Manager: "choco", Package: "7zip"}
		return s
	case "local admin":
		s := mk(plan.KindLocalGroup, "Administrators", "win1", "")
		s.LocalGroup = &plan.LocalGroupSpec{Group: "Administrators", Member: `CORP\ada`}
		return s
	}
	panic("unknown step " + name)
}

// histRun is one run of a history test: each step with its outcome, and
// for changed steps the action its check found ("update" or "create").
type histRun struct {
	dry     bool
	profile string
	steps   []string // "NAME=OUTCOME" or "NAME=changed/update"
}

func writeHistory(t *testing.T, j *Journal, runs []histRun) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i, r := range runs {
		p := &plan.Plan{Version: 1, Created: t0, Hosts: map[string]*plan.Host{}, Directories: map[string]*plan.Directory{"corp": {Name: "corp", Kind: "openldap"}},
			Hires: []plan.Hire{{ID: "E7", Name: "Ada", Username: "ada", Profile: r.profile, Host: "ws1"}}}
		var steps []result.Step
		for _, spec := range r.steps {
			name, how, _ := strings.Cut(spec, "=")
			outcome, action, _ := strings.Cut(how, "/")
			s := histStep(name)
			p.Steps = append(p.Steps, s)
			if s.Host != "" {
				p.Hosts[s.Host] = &plan.Host{Name: s.Host, Address: "10.0.0." + s.Host[len(s.Host)-1:], OS: "linux", Transport: "ssh", User: "root"}
			}
			if action == "" && outcome == string(result.Changed) {
				action = string(plan.ActionCreate)
			}
			steps = append(steps, result.Step{ID: s.ID, Kind: s.Kind, Hire: "E7", Host: s.Host, Title: s.Title,
				Outcome: result.Outcome(outcome), Action: action})
		}
		id := fmt.Sprintf("run-%d", i+1)
		if _, err := j.StartRun(ctx, RunStart{ID: id, Operator: "alice", Trigger: "cli", Mode: "apply", DryRun: r.dry, Plan: p,
			Started: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for k := range steps {
			if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Step: &steps[k], Time: t0.Add(time.Duration(i)*time.Hour + time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Record(ctx, id, result.Event{Type: result.RunFinished, Run: &result.Run{ID: id, DryRun: r.dry, Steps: steps}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// describe prints a history one item a line: item, host or directory,
// placed or found, run.
func describe(h *plan.History) string {
	var b strings.Builder
	if h.Last != nil {
		fmt.Fprintf(&b, "last %s profile %s\n", h.LastRun, h.Last.Profile)
	}
	for _, it := range h.Items {
		where := it.Step.Host + it.Step.Directory
		if it.Host == nil && it.Directory == nil {
			where += " (not described)"
		}
		fmt.Fprintf(&b, "%s on %s: %s\n", plan.ItemName(it.Step), where, it.Evidence())
	}
	return b.String()
}

func TestHistory(t *testing.T) {
	tests := []struct {
		name string
		runs []histRun
		want string
	}{
		{
			name: "changed is placed, ok is found, the account is no item",
			runs: []histRun{{profile: "engineering", steps: []string{"account=changed", "group eng=changed", "group all=ok", "htop=changed", "printer=changed", "jq=ok"}}},
			want: `last run-1 profile engineering
group: eng on corp: run run-1, step E7:membership:eng
group: all on corp: run run-1, step E7:membership:all found it in place
software: htop on ws1: run run-1, step E7:package:htop
printer: HQ on ws1: run run-1, step E7:printer:hq
software: jq on ws1: run run-1, step E7:package:jq found it in place
`,
		},
		{
			name: "dry runs, failures and skipped steps say nothing",
			runs: []histRun{
				{dry: true, profile: "engineering", steps: []string{"group eng=would-change"}},
				{profile: "engineering", steps: []string{"group eng=failed", "htop=skipped", "jq=changed"}},
			},
			want: `last run-2 profile engineering
software: jq on ws1: run run-2, step E7:package:jq
`,
		},
		{
			name: "a dry run's ok is not evidence either",
			runs: []histRun{{dry: true, profile: "engineering", steps: []string{"htop=ok"}}},
			want: ``,
		},
		{
			name: "an update of something already there is not placing it",
			runs: []histRun{{profile: "engineering", steps: []string{"printer=changed/update"}}},
			want: `last run-1 profile engineering
printer: HQ on ws1: run run-1, step E7:printer:hq found it in place
`,
		},
		{
			name: "placed first, found later: the placing run is the evidence",
			runs: []histRun{
				{profile: "engineering", steps: []string{"htop=changed"}},
				{profile: "engineering", steps: []string{"htop=ok"}},
			},
			want: `last run-2 profile engineering
software: htop on ws1: run run-1, step E7:package:htop
`,
		},
		{
			name: "found first, then put back by onboard: placed",
			runs: []histRun{
				{profile: "engineering", steps: []string{"htop=ok"}},
				{profile: "engineering", steps: []string{"htop=changed"}},
			},
			want: `last run-2 profile engineering
software: htop on ws1: run run-2, step E7:package:htop
`,
		},
		{
			name: "a removal (done, or found absent) takes the item off",
			runs: []histRun{
				{profile: "engineering", steps: []string{"group eng=changed", "htop=changed", "jq=changed"}},
				{profile: "sales", steps: []string{"remove group eng=changed", "remove htop=ok"}},
			},
			want: `last run-2 profile sales
software: jq on ws1: run run-1, step E7:package:jq
`,
		},
		{
			name: "a failed removal leaves it",
			runs: []histRun{
				{profile: "engineering", steps: []string{"htop=changed"}},
				{profile: "sales", steps: []string{"remove htop=failed"}},
			},
			want: `last run-1 profile engineering
software: htop on ws1: run run-1, step E7:package:htop
`,
		},
		{
			name: "one item per host: a package on two machines is two items",
			runs: []histRun{
				{profile: "engineering", steps: []string{"htop=changed"}},
				{profile: "engineering", steps: []string{"htop ws2=changed", "win app=changed", "local admin=ok"}},
			},
			want: `last run-2 profile engineering
software: htop on ws1: run run-1, step E7:package:htop
software: htop on ws2: run run-2, step E7:package:htop
software: 7zip on win1: run run-2, step E7:win-software:7zip
local group: Administrators on win1: run run-2, step E7:local-group:Administrators found it in place
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, _ := openTemp(t)
			writeHistory(t, j, tt.runs)
			h, err := j.History(context.Background(), "E7")
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(h); got != tt.want {
				t.Errorf("history:\n%s\nwant:\n%s", got, tt.want)
			}
			for _, it := range h.Items {
				if it.Step.Host != "" && it.Host == nil {
					t.Errorf("%s: the host %s as planned then is missing", it.Step.ID, it.Step.Host)
				}
			}
		})
	}
}

func TestHistoryOfAnotherHireIsEmpty(t *testing.T) {
	j, _ := openTemp(t)
	writeHistory(t, j, []histRun{{profile: "engineering", steps: []string{"htop=changed"}}})
	h, err := j.History(context.Background(), "E8")
	if err != nil || h.Last != nil || len(h.Items) != 0 {
		t.Errorf("history of E8: %+v, %v; want nothing", h, err)
	}
	hs, err := j.Histories(context.Background(), []string{"E7", "E8"})
	if err != nil || len(hs) != 2 || len(hs["E7"].Items) != 1 || hs["E8"].Last != nil {
		t.Errorf("histories of E7 and E8: %+v, %v; want E7's one item, nothing of E8", hs, err)
	}
}

// A journal changed outside onboard must not drive removals.
func TestHistoryRefusesATamperedJournal(t *testing.T) {
	ctx := context.Background()
	j, path := openTemp(t)
	writeHistory(t, j, []histRun{{profile: "engineering", steps: []string{"jq=ok", "htop=changed"}}})
	// Turn "found in place" into "placed by onboard", as a hand edit would.
	db := raw(t, path)
	sqlExec(t, db, `UPDATE records SET payload = json_set(payload, '$.step.outcome', 'changed', '$.step.action', 'create') WHERE step_id = 'E7:package:jq' AND kind = 'step-finished'`)
	h, err := j.History(ctx, "E7")
	var ce *ChainError
	if !errors.As(err, &ce) || h != nil {
		t.Fatalf("history of a tampered journal: %+v, %v; want a *ChainError and no history", h, err)
	}
	if !strings.Contains(err.Error(), "cannot be trusted") || !strings.Contains(err.Error(), "hires E7") {
		t.Errorf("the error does not say why the history is refused: %v", err)
	}

	// A hire the journal has no step of has nothing to remove: its plan
	// needs no verified chain (the chain is not read for it).
	if h, err := j.History(ctx, "E8"); err != nil || h.Last != nil || len(h.Items) != 0 {
		t.Errorf("history of a new hire over a tampered journal: %+v, %v; want empty, no error", h, err)
	}

	// A pin the chain no longer holds refuses too.
	j2, _ := openTemp(t)
	writeHistory(t, j2, []histRun{{profile: "engineering", steps: []string{"htop=changed"}}})
	if _, err := j2.History(ctx, "E7", Anchor{Seq: 1, Hash: strings.Repeat("0", 64)}); !errors.As(err, &ce) {
		t.Errorf("history against a pin the chain lacks: %v, want a *ChainError", err)
	}
}

// recordFor records one applying run of hire with histStep's steps (as
// that hire's) and their outcomes.
func recordFor(t testing.TB, j *Journal, runID, hire string, steps map[string]result.Outcome) {
	t.Helper()
	ctx := context.Background()
	p := &plan.Plan{Version: 1, Created: t0, Hosts: map[string]*plan.Host{}, Hires: []plan.Hire{{ID: hire, Host: "ws1"}}}
	var names []string
	for n := range steps {
		names = append(names, n)
	}
	slices.Sort(names)
	var rs []result.Step
	for _, n := range names {
		s := histStep(n)
		s.ID, s.Hire = hire+strings.TrimPrefix(s.ID, "E7"), hire
		p.Steps = append(p.Steps, s)
		p.Hosts[s.Host] = &plan.Host{Name: s.Host, OS: "linux", Transport: "ssh"}
		rs = append(rs, result.Step{ID: s.ID, Kind: s.Kind, Hire: hire, Host: s.Host, Outcome: steps[n], Action: string(plan.ActionCreate)})
	}
	if _, err := j.StartRun(ctx, RunStart{ID: runID, Operator: "alice", Trigger: "cli", Mode: "apply", Plan: p}); err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		if err := j.Record(ctx, runID, result.Event{Type: result.StepFinished, Step: &rs[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Record(ctx, runID, result.Event{Type: result.RunFinished, Run: &result.Run{ID: runID, Steps: rs}}); err != nil {
		t.Fatal(err)
	}
}

// What other hires' current setups have on the hire's machines is shared:
// not the hire's to remove. A colleague's item no longer in its latest
// setup, or on another machine, is not.
func TestHistoryShared(t *testing.T) {
	j, _ := openTemp(t)
	recordFor(t, j, "r1", "E7", map[string]result.Outcome{"htop": result.Changed, "jq": result.Changed, "printer": result.Changed})
	// E9 on ws1: htop and jq, then a setup without jq (kept by hand).
	recordFor(t, j, "r2", "E9", map[string]result.Outcome{"htop": result.OK, "jq": result.OK})
	recordFor(t, j, "r3", "E9", map[string]result.Outcome{"htop": result.OK})
	// E10 on ws2 only.
	recordFor(t, j, "r4", "E10", map[string]result.Outcome{"htop ws2": result.Changed})
	h, err := j.History(context.Background(), "E7")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k, v := range h.Shared {
		got = append(got, strings.ReplaceAll(k, "\x00", "/")+" = "+v)
	}
	want := []string{"software/ws1/htop = hire E9's setup has it (run r3, step E9:package:htop)"}
	if !slices.Equal(got, want) {
		t.Errorf("shared:\n%q\nwant:\n%q", got, want)
	}
	// Hires asked together are left to the planner, which has their new setups.
	hs, err := j.Histories(context.Background(), []string{"E7", "E9"})
	if err != nil || len(hs["E7"].Shared) != 0 {
		t.Errorf("E7 with E9 in the same plan: shared %v, %v; want none", hs["E7"].Shared, err)
	}
}

// What a re-plan of one known hire pays before planning: the whole chain
// checked, the hire's records read, and every record scanned for other
// hires on its machines; here 500 runs of another hire (100,500 records).
func BenchmarkHistory(b *testing.B) {
	ctx := context.Background()
	j := benchJournal(b, 500)
	recordFor(b, j, "r-e7", "E7", map[string]result.Outcome{"htop": result.Changed, "jq": result.OK, "group eng": result.Changed})
	for b.Loop() {
		if h, err := j.History(ctx, "E7"); err != nil || len(h.Items) != 3 {
			b.Fatal(err, h)
		}
	}
	b.ReportMetric(float64(100500*b.N)/b.Elapsed().Seconds(), "records/s")
}

// A run whose plan an older onboard stored scrubbed is no evidence: what
// its steps placed is not known to be onboard's (kept, never removed on its
// word), and the history of later runs stands.
func TestHistorySkipsLegacyScrubbedPlans(t *testing.T) {
	ctx := context.Background()
	j, _ := openTemp(t)
	s := histStep("htop")
	legacy := &plan.Plan{Version: 1, Hires: []plan.Hire{{ID: "E7", Profile: "old"}}, Steps: []*plan.Step{s},
		Hosts: map[string]*plan.Host{"ws1": {Name: "ws1", Credential: "env:[redacted]"}}}
	pj, err := json.Marshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	b, err := canonical(startPayload{Operator: "alice", Trigger: "cli", Mode: "apply", Plan: pj, Hires: []result.Hire{{ID: "E7"}}}, "plan")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.append(ctx, true, entry{runID: "legacy", kind: RunStarted, time: t0, payload: b}); err != nil {
		t.Fatal(err)
	}
	st := result.Step{ID: s.ID, Kind: s.Kind, Hire: "E7", Host: "ws1", Outcome: result.Changed, Action: "create"}
	if err := j.Record(ctx, "legacy", result.Event{Type: result.StepFinished, Step: &st}); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, j, []histRun{{profile: "engineering", steps: []string{"jq=changed"}}})
	h, err := j.History(ctx, "E7")
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(h); got != "last run-1 profile engineering\nsoftware: jq on ws1: run run-1, step E7:package:jq\n" {
		t.Errorf("history with a legacy run:\n%s", got)
	}
}
