package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// moverFiles writes an inventory of two unreachable machines with a
// software catalogue, and a hire's playbook before and after a move to
// sales and from ws1 to ws2.
func moverFiles(t *testing.T) (inv, before, after string) {
	t.Helper()
	dir := t.TempDir()
	base, err := os.ReadFile("testdata/cli/inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	catalogue := `
software:
  ide: {linux: {package: acme-ide}}
  git-tools: {linux: {package: acme-git-tools}}
  chat: {linux: {package: acme-chat}}
  crm: {linux: {package: acme-crm}}
`
	inv = filepath.Join(dir, "inventory.yaml")
	before = filepath.Join(dir, "before", "mo.yaml")
	after = filepath.Join(dir, "after", "mo.yaml")
	for path, text := range map[string]string{
		inv:    string(base) + catalogue,
		before: "person: {employee_id: E7201, given_name: Mo, surname: Ver, start_date: 2026-12-01, department: Engineering}\nmachine: {host: ws1, software: [ide, git-tools, chat]}\n",
		after:  "person: {employee_id: E7201, given_name: Mo, surname: Ver, start_date: 2026-12-01, department: Sales}\nmachine: {host: ws2, software: [crm, chat]}\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return inv, before, after
}

// fakeRun records in the journal at path a run of p, as the engine would
// have: each step finished with the outcome given (changed steps found
// missing, so placed by onboard).
func fakeRun(t *testing.T, path string, p *plan.Plan, outcomes map[string]result.Outcome) string {
	t.Helper()
	ctx := context.Background()
	j, err := journal.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	id, err := j.StartRun(ctx, journal.RunStart{Operator: "alice", Trigger: "cli", Mode: "apply", Plan: p})
	if err != nil {
		t.Fatal(err)
	}
	var steps []result.Step
	for _, s := range p.Steps {
		o, ok := outcomes[s.ID]
		if !ok {
			continue
		}
		rs := result.Step{ID: s.ID, Kind: s.Kind, Hire: s.Hire, Host: s.Host, Title: s.Title, Outcome: o, Action: string(plan.ActionCreate)}
		if o == result.OK {
			rs.Action = string(plan.ActionNone)
		}
		if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Step: &rs}); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, rs)
	}
	if err := j.Record(ctx, id, result.Event{Type: result.RunFinished, Run: &result.Run{ID: id, Steps: steps}}); err != nil {
		t.Fatal(err)
	}
	return id
}

// An edited playbook is re-planned from the journal with no new flag:
// what onboard installed on the old machine is removed there (what it
// found there is kept, with its rule), the new machine gets the new setup.
func TestMoverPlanFromJournal(t *testing.T) {
	ctx := context.Background()
	inv, before, after := moverFiles(t)
	jpath := filepath.Join(t.TempDir(), "journal.db")
	opts := func() *options {
		var out, errb bytes.Buffer
		return &options{inventory: []string{inv}, journalPath: jpath, stdout: &out, stderr: &errb}
	}
	first, err := opts().load(ctx, []string{before})
	if err != nil {
		t.Fatal(err)
	}
	if n := countRemovals(first); n != 0 {
		t.Fatalf("a first onboarding plans %d removals", n)
	}
	run := fakeRun(t, jpath, first, map[string]result.Outcome{
		"E7201:package:ide": result.Changed, "E7201:package:git-tools": result.OK, "E7201:package:chat": result.Changed,
	})

	p, err := opts().load(ctx, []string{after})
	if err != nil {
		t.Fatal(err)
	}
	if err := opts().engine(nil).Validate(p); err != nil && !strings.Contains(err.Error(), "unknown kind") {
		// The removal kinds' check/apply live in internal/step; the rest
		// of the plan must hold already.
		t.Errorf("plan does not validate: %v", err)
	}
	for _, want := range []struct{ id, host string }{
		{"E7201:package-remove:ide@ws1", "ws1"}, {"E7201:package-remove:chat@ws1", "ws1"},
	} {
		s := p.Step(want.id)
		if s == nil || s.Host != want.host || s.Rule != plan.RulePlaced || !strings.Contains(s.Evidence, "run "+run+", step E7201:package:") {
			t.Errorf("removal %s: %+v", want.id, s)
		}
	}
	for _, id := range []string{"E7201:package:crm", "E7201:package:chat"} {
		if s := p.Step(id); s == nil || s.Host != "ws2" {
			t.Errorf("install %s on the new machine: %+v", id, s)
		}
	}
	if p.Hosts["ws1"] == nil {
		t.Error("the old machine is not in the plan")
	}
	h := p.Hires[0]
	var rules []string
	for _, k := range h.Kept {
		rules = append(rules, k.Item+": "+k.Rule)
	}
	if want := "software: git-tools on ws1: kept-not-placed, software: chat on ws1: placed-by-onboard, software: ide on ws1: placed-by-onboard"; strings.Join(rules, ", ") != want {
		t.Errorf("kept: %s\nwant: %s", strings.Join(rules, ", "), want)
	}
	if strings.Join(h.Moved, "\n") != `machine: "ws1" → "ws2" (run `+run+`)`+"\n"+`department: "Engineering" → "Sales" (run `+run+`)` {
		t.Errorf("moved: %q", h.Moved)
	}
	if n := countRemovals(p); n != 2 {
		t.Errorf("%d removals, want 2", n)
	}

	// --no-journal plans without history: no removal.
	o := opts()
	o.noJournal = true
	p, err = o.load(ctx, []string{after})
	if err != nil || countRemovals(p) != 0 || len(p.Hires[0].Kept) != 0 {
		t.Errorf("--no-journal: %v, %d removals, kept %v", err, countRemovals(p), p.Hires[0].Kept)
	}
}

// A journal changed outside onboard does not drive removals: plan stops,
// with the tampered journal's exit code, saying why.
func TestMoverTamperedJournal(t *testing.T) {
	ctx := context.Background()
	inv, before, after := moverFiles(t)
	jpath := filepath.Join(t.TempDir(), "journal.db")
	o := &options{inventory: []string{inv}, journalPath: jpath, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	first, err := o.load(ctx, []string{before})
	if err != nil {
		t.Fatal(err)
	}
	fakeRun(t, jpath, first, map[string]result.Outcome{"E7201:package:git-tools": result.OK})
	db, err := sql.Open("sqlite", jpath)
	if err != nil {
		t.Fatal(err)
	}
	// Claim onboard installed git-tools, so that a re-plan would remove it.
	if _, err := db.Exec(`UPDATE records SET payload = json_set(payload, '$.step.outcome', 'changed') WHERE kind = 'step-finished'`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	code, stdout, stderr := onboardCLI("plan", "-i", inv, "--journal", jpath, after)
	if code != exitTampered || !strings.Contains(stderr, "cannot be trusted") || !strings.Contains(stderr, "changed outside onboard") {
		t.Errorf("plan over a tampered journal: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitTampered, stdout, stderr)
	}
	if strings.Contains(stdout, "remove") {
		t.Errorf("a plan was shown: %s", stdout)
	}
}

func countRemovals(p *plan.Plan) int {
	n := 0
	for _, s := range p.Steps {
		if plan.IsRemoval(s.Kind) {
			n++
		}
	}
	return n
}
