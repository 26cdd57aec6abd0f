package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/journal"
	"onboard/internal/plan"
)

// report leaver from the command line: a complete offboarding's report on
// stdout and in each format by extension; an incomplete one is written,
// says NOT COMPLETE and exits 1; a setup run has none (exit 2); a journal
// edited outside onboard gives no report (exit 6).
func TestReportLeaverCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	jpath := filepath.Join(dir, "journal.db")
	j, err := journal.Open(ctx, jpath)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	dirs := map[string]*plan.Directory{"corp": {Name: "corp", Kind: "openldap"}}
	offboard := func(hire string) *plan.Plan {
		return &plan.Plan{Version: 1, Created: t0, Directories: dirs,
			Hires: []plan.Hire{{ID: hire, Name: "Ann \x1b[31mX", Username: "u" + hire, Manual: []string{"Hand the mailbox over to mia"}}},
			Steps: plan.LeaverSteps(plan.Leaver{Hire: hire, Username: "u" + hire, Directory: "corp", LeaveAt: t0, Groups: []string{"sales"}})}
	}
	setupID := recordRun(t, j, &plan.Plan{Version: 1, Created: t0, Directories: dirs, Hires: []plan.Hire{{ID: "E1"}},
		Steps: []*plan.Step{{ID: "E1:account:u", Kind: plan.KindAccount, Hire: "E1", Directory: "corp", Account: &plan.AccountSpec{Username: "uE1"}}}}, "apply", t0)
	okID := recordRun(t, j, offboard("E1"), "offboard", t0.Add(time.Hour))
	badID := recordRun(t, j, offboard("E2"), "offboard", t0.Add(2*time.Hour), "E2:membership-remove:sales")
	j.Close()

	code, stdout, stderr := onboardCLI("--journal", jpath, "report", "leaver", okID)
	if code != exitOK || !strings.Contains(stdout, "Every access removal is proven (3 of 3)") || !strings.Contains(stdout, `Ann \\x1b\[31mX`) {
		t.Errorf("report on stdout: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, ext := range []string{"html", "md", "json"} {
		out := filepath.Join(dir, "r."+ext)
		code, stdout, stderr := onboardCLI("--journal", jpath, "report", "leaver", okID, "--out", out)
		b, err := os.ReadFile(out)
		if code != exitOK || err != nil || !strings.Contains(stdout, "3 of 3 access removals proven") || !strings.Contains(string(b), "Hand the mailbox over to mia") {
			t.Errorf("--out %s: exit %d %v\n%s%s", out, code, err, stdout, stderr)
		}
	}
	out := filepath.Join(dir, "bad.md")
	code, stdout, stderr = onboardCLI("--journal", jpath, "report", "leaver", badID, "--out", out)
	b, _ := os.ReadFile(out)
	if code != exitFailed || !strings.Contains(stderr, "did not prove every access removal of E2") ||
		!strings.Contains(string(b), "NOT COMPLETE: 2 of 3") || !strings.Contains(string(b), "**FAILED**") {
		t.Errorf("incomplete: exit %d\n%s%s\n%s", code, stdout, stderr, b)
	}
	if code, _, stderr := onboardCLI("--journal", jpath, "report", "leaver", setupID); code != exitInvalid || !strings.Contains(stderr, "not an offboarding") {
		t.Errorf("setup run: exit %d %s", code, stderr)
	}
	if code, _, stderr := onboardCLI("--journal", jpath, "report", "leaver", "no-such-run"); code != exitInvalid || !strings.Contains(stderr, "no run no-such-run") {
		t.Errorf("unknown run: exit %d %s", code, stderr)
	}

	db, err := sql.Open("sqlite", jpath)
	if err != nil {
		t.Fatal(err)
	}
	// Claim the failed removal held.
	if _, err := db.Exec(`UPDATE records SET payload = replace(payload, '"failed"', '"changed"') WHERE kind = 'step-finished'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, stdout, stderr := onboardCLI("--journal", jpath, "report", "leaver", badID); code != exitTampered || stdout != "" {
		t.Errorf("tampered journal: exit %d, want %d\n%s%s", code, exitTampered, stdout, stderr)
	}
}
