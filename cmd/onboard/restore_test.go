package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"onboard/internal/journal"
	"onboard/internal/plan"
)

// restore completes the employee ids of applied offboardings only, and
// refuses a hire the journal has no offboarding of, before anything runs.
func TestRestoreCommandLine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		id, name, mode string
		dry            bool
	}{
		{"E7003", "Lee Leaver", "offboard", false},
		{"E7004", "Nia New", "apply", false},
		{"E7005", "Dry Run", "offboard", true},
	} {
		p := &plan.Plan{Version: 1, Hires: []plan.Hire{{ID: r.id, Name: r.name, Username: strings.ToLower(r.id)}}}
		if _, err := j.StartRun(ctx, journal.RunStart{Operator: "test", Trigger: "test", Mode: r.mode, DryRun: r.dry, Plan: p}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()

	code, out, _ := onboardCLI(cobra.ShellCompRequestCmd, "restore", "--journal", path, "")
	if code != exitOK || out != "E7003\tLee Leaver\n:4\n" {
		t.Errorf("completion: exit %d, %q", code, out)
	}
	inv := filepath.Join("testdata", "cli", "inventory.yaml")
	for _, tt := range []struct{ id, want string }{
		{"E7004", "the journal has no offboarding of employee E7004"},
		{"E7005", "the journal has no offboarding of employee E7005"},
		{"E7003", "has no account-disable step for E7003: nothing to bring back"},
	} {
		code, out, errs := onboardCLI("restore", tt.id, "-i", inv, "--journal", path, "--yes")
		if code != exitInvalid || !strings.Contains(errs, tt.want) {
			t.Errorf("restore %s: exit %d, stdout %q, stderr %q; want exit 2 with %q", tt.id, code, out, errs, tt.want)
		}
	}
}
