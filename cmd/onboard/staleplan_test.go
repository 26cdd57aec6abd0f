package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/plan"
)

// A saved plan records the digests of its inputs, and apply refuses it
// once one has changed, naming the file, as terraform apply refuses a
// stale plan. The starter of onboard init is the input, its host moved
// to a port nothing answers at: an apply that goes ahead ends unreachable.
func TestStalePlan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		code   int
		want   string // in stderr; with dir for the folder
	}{
		{"unchanged", func(*testing.T, string) {}, exitUnreachable, "unreachable: ws1"},
		{"playbook edited", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, "playbooks", "new-hire.yaml"), "# edited\n")
		}, exitInvalid, "playbook DIR/playbooks/new-hire.yaml changed"},
		{"profile edited", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, "playbooks", "profiles", "staff.yaml"), "# edited\n")
		}, exitInvalid, "profile DIR/playbooks/profiles/staff.yaml changed"},
		{"inventory edited", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, "inventory", "inventory.yaml"), "# edited\n")
		}, exitInvalid, "inventory DIR/inventory/inventory.yaml changed"},
		{"inventory file added", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, "inventory", "more.yaml"), "printers: {}\n")
		}, exitInvalid, "inventory-folder DIR/inventory has files added or removed"},
		{"playbook gone", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "playbooks", "new-hire.yaml")); err != nil {
				t.Fatal(err)
			}
		}, exitInvalid, "playbook DIR/playbooks/new-hire.yaml is gone"},
		{"no inputs recorded", func(t *testing.T, dir string) {
			planFile := filepath.Join(dir, "plan.json")
			b, err := os.ReadFile(planFile)
			if err != nil {
				t.Fatal(err)
			}
			var p plan.Plan
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			p.Inputs = nil
			if err := writeJSON(planFile, &p); err != nil {
				t.Fatal(err)
			}
		}, exitInvalid, "records no inputs, so whether it is stale cannot be told"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := starterOnClosedPort(t)
			inv := filepath.Join(dir, "inventory")
			pb := filepath.Join(dir, "playbooks", "new-hire.yaml")
			planFile := filepath.Join(dir, "plan.json")
			code, _, errs := onboardCLI("plan", "--no-journal", "--retries", "0", "-i", inv, "--out", planFile, pb)
			if code != exitUnreachable && code != exitOK {
				t.Fatalf("plan --out: exit %d: %s", code, errs)
			}
			b, err := os.ReadFile(planFile)
			if err != nil {
				t.Fatal(err)
			}
			var p plan.Plan
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, in := range p.Inputs {
				kinds = append(kinds, in.Kind+" "+strings.ReplaceAll(in.Path, dir, "DIR"))
			}
			want := "inventory-folder DIR/inventory, inventory DIR/inventory/inventory.yaml, playbook DIR/playbooks/new-hire.yaml, profile DIR/playbooks/profiles/staff.yaml"
			if got := strings.Join(kinds, ", "); got != want {
				t.Errorf("inputs: %s\nwant %s", got, want)
			}

			tc.change(t, dir)
			code, _, errs = onboardCLI("apply", "--no-journal", "--retries", "0", planFile)
			errs = strings.ReplaceAll(errs, dir, "DIR")
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("apply: exit %d, stderr %q; want exit %d and %q", code, errs, tc.code, tc.want)
			}
			if tc.code == exitInvalid && !strings.Contains(errs, "make it again with onboard plan --out DIR/plan.json") {
				t.Errorf("apply of a stale plan does not say what to do: %q", errs)
			}
		})
	}
}

// starterOnClosedPort writes onboard init's starter in a new folder, its
// host on 127.0.0.1 port 1, which refuses at once.
func starterOnClosedPort(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errs := onboardCLI("init", dir); code != exitOK {
		t.Fatalf("init: exit %d: %s", code, errs)
	}
	invFile := filepath.Join(dir, "inventory", "inventory.yaml")
	b, err := os.ReadFile(invFile)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "address: 192.0.2.10", "address: 127.0.0.1\n    port: 1", 1)
	if s == string(b) {
		t.Fatal("the starter's host address is not 192.0.2.10")
	}
	if err := os.WriteFile(invFile, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
