package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"
)

// onboard init writes files that validate as written, prints what to do
// next, and overwrites nothing.
func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	code, out, errs := onboardCLI("init", dir)
	if code != exitOK || errs != "" {
		t.Fatalf("init: exit %d, stderr %q", code, errs)
	}
	golden.Assert(t, filepath.Join("testdata", "init", "init.golden"), []byte(strings.ReplaceAll(out, dir, "DIR")))

	inv := filepath.Join(dir, "inventory")
	pb := filepath.Join(dir, "playbooks", "new-hire.yaml")
	profile := filepath.Join(dir, "playbooks", "profiles", "staff.yaml")
	code, out, errs = onboardCLI("validate", "-i", inv, pb, profile)
	if code != exitOK || !strings.HasPrefix(out, "ok: inventory (1 hosts, 1 printers, 2 software) and 2 file(s) are valid") {
		t.Fatalf("validate the starter: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// Every starter file explains itself.
	for _, f := range []string{filepath.Join(inv, "inventory.yaml"), pb, profile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "# ") {
			t.Errorf("%s does not open with a comment", f)
		}
	}

	// A second init, and one into a folder holding one of the files,
	// write nothing and name what is there.
	if err := os.WriteFile(pb, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = onboardCLI("init", dir)
	if code != exitInvalid || out != "" || !strings.Contains(errs, pb) || !strings.Contains(errs, profile) {
		t.Errorf("init over a starter: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if b, _ := os.ReadFile(pb); string(b) != "mine\n" {
		t.Errorf("init overwrote %s: %q", pb, b)
	}
	other := t.TempDir()
	if err := os.MkdirAll(filepath.Join(other, "playbooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "playbooks", "new-hire.yaml"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = onboardCLI("init", other)
	want := "onboard: init wrote nothing: these files exist already (move them aside, or init another folder): " + filepath.Join(other, "playbooks", "new-hire.yaml") + "\n"
	if code != exitInvalid || errs != want {
		t.Errorf("init over one file: exit %d, stderr %q, want %q", code, errs, want)
	}
	if _, err := os.Stat(filepath.Join(other, "inventory")); err == nil {
		t.Errorf("init wrote the inventory beside an existing playbook")
	}
}
