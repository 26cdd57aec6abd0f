package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPlanOutNothingWhenIncomplete: plan --out writes no file when the
// plan could not be made whole (Terraform writes no plan then either), so
// a later apply never runs half a plan.
func TestPlanOutNothingWhenIncomplete(t *testing.T) {
	for _, tc := range []struct{ name, playbook string }{
		{"unknown host", "person: {employee_id: E7101, given_name: Ada, surname: Lovelace, start_date: 2026-12-07}\nmachine: {host: no-such-ws}\n"},
		{"a field misspelt", "person: {employee_id: E7102, given_name: Ada, surname: Lovelace, start_date: 2026-12-07}\nmachine: {host: ws1, sofware: [chat]}\n"},
		{"not YAML", "person: {employee_id: E7103\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pb := filepath.Join(dir, "hire.yaml")
			if err := os.WriteFile(pb, []byte(tc.playbook), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "plan.json")
			code, _, stderr := onboardCLI("plan", "-i", "testdata/cli/inventory.yaml", "--no-journal", "--out", out, pb)
			if code != exitInvalid {
				t.Errorf("exit %d, want %d: %s", code, exitInvalid, stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("plan --out wrote %s for a plan that could not be made: %v", out, err)
			}
		})
	}
}
