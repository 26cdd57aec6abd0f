package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"onboard/internal/golden"
	"onboard/internal/journal"
	"onboard/internal/result"
)

// kbJournal records a run whose steps failed as onboard's own errors say,
// in a journal of its own, and returns the journal's path and the run id.
func kbJournal(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	id, err := j.StartRun(ctx, journal.RunStart{ID: "20261203T090000Z-kb0001", Operator: "tech", Trigger: "cli", Mode: "apply", Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	steps := []result.Step{
		{ID: "E1/package/acme", Kind: "package", Hire: "E1", Host: "ws7", Title: "package acme", Outcome: result.Failed, Started: t0,
			Failure: &result.Failure{Host: "ws7", Step: "E1/package/acme", Phase: "connect",
				Message: "ws7 (10.77.0.7:22): unknown host key ssh-ed25519 SHA256:abc; if this is the right host, run again with --accept-new-host-key to trust it (it is then saved to inventory/known_hosts), or add its key to a known_hosts file: host key not trusted"}},
		{ID: "E1/command/hello", Kind: "command", Hire: "E1", Host: "ws7", Title: "say hello", Outcome: result.Failed, Started: t0,
			Failure: &result.Failure{Host: "ws7", Step: "E1/command/hello", Phase: "apply", Message: "command failed on ws7: exit code 3: \x1b[31mno\x1b[0m"}},
		{ID: "E1/file/motd", Kind: "file", Hire: "E1", Host: "ws7", Title: "motd", Outcome: result.Changed, Started: t0},
	}
	for i := range steps {
		if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Time: t0, RunID: id, Step: &steps[i]}); err != nil {
			t.Fatal(err)
		}
	}
	return path, id
}

func TestKBMatchAndList(t *testing.T) {
	jpath, id := kbJournal(t)
	inv := filepath.Join("..", "..", "inventory")
	var b strings.Builder
	for _, args := range [][]string{
		{"kb", "match", id, "-i", inv, "--journal", jpath},
		{"kb", "match", "no-such-run", "-i", inv, "--journal", jpath},
		{"kb", "list", "-i", filepath.Join("testdata", "cli", "inventory.yaml")},
	} {
		code, out, errOut := onboardCLI(args...)
		// The journal's and the inventory's paths differ per machine.
		out = strings.ReplaceAll(strings.ReplaceAll(out+errOut, jpath, "JOURNAL"), mustAbs(t, inv), "INVENTORY")
		b.WriteString("$ onboard " + strings.Join(args[:3], " ") + "\n" + "[exit " + strconv.Itoa(code) + "]\n" + out)
	}
	golden.Assert(t, filepath.Join("testdata", "kb", "match.golden"), []byte(b.String()))

	code, out, _ := onboardCLI("kb", "match", id, "-i", inv, "--journal", jpath, "-o", "json")
	var got []matchJSON
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("kb match -o json: exit %d, %v\n%s", code, err, out)
	}
	if len(got) != 2 || strings.Join(got[0].Articles, ",") != "unknown-host-key" || len(got[1].Articles) != 0 {
		t.Errorf("kb match -o json = %+v", got)
	}
	code, out, _ = onboardCLI("kb", "list", "-i", inv, "-o", "json")
	var arts []articleJSON
	if err := json.Unmarshal([]byte(out), &arts); code != 0 || err != nil || len(arts) != 7 || arts[0].Fix == "" {
		t.Errorf("kb list -o json: exit %d, %v, %d articles", code, err, len(arts))
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
