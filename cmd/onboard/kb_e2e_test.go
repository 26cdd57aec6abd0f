package main

import (
	"encoding/json"
	"fmt"
	"onboard/internal/result"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A run that cannot trust ws7's host key fails in connect, and the report,
// the run's JSON and onboard kb match name the shipped article that says
// what to do.
func TestKnownFailureInTheReport(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	var addr string
	for _, w := range l.Workstations {
		if w.Name == "ws7" {
			addr = w.Addr
		}
	}
	if addr == "" {
		t.Fatal("the lab has no ws7")
	}
	// ws7 alone is checked against an empty known_hosts file: its key is
	// unknown, as on a freshly imaged machine.
	invFile := filepath.Join(e.inv, filepath.Base(l.InventoryFile))
	b, err := os.ReadFile(invFile)
	if err != nil {
		t.Fatal(err)
	}
	entry := fmt.Sprintf("  ws7:\n    address: %s\n    groups: [lab]\n", addr)
	if !strings.Contains(string(b), entry) {
		t.Fatalf("the lab inventory has no entry %q", entry)
	}
	empty := e.write("empty_known_hosts", "")
	b = []byte(strings.Replace(string(b), entry, entry+fmt.Sprintf("    known_hosts: %q\n", empty), 1))
	if err := os.WriteFile(invFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	articles, err := filepath.Abs(filepath.Join("..", "..", "inventory", "kb"))
	if err != nil {
		t.Fatal(err)
	}
	e.write("inventory/kb.yaml", fmt.Sprintf("knowledge_base: %q\n", articles))

	pb := e.write("kim.yaml", fmt.Sprintf(hireTmpl, "E70", "Kim", "Known", "front-desk", "ws7", ""))
	report := filepath.Join(e.dir, "out", "kim.md")
	code, r, stderr := e.jsonRun("--report", report, "--connect-timeout", "5s", pb)
	if code != exitUnreachable {
		t.Fatalf("unknown host key: exit %d, want %d\n%s", code, exitUnreachable, stderr)
	}
	known := 0
	for _, s := range r.Steps {
		if f := s.Failure; f != nil && strings.Contains(f.Message, "unknown host key") {
			if f.Known == nil || f.Known.ID != "unknown-host-key" {
				t.Errorf("%s failed on the host key with article %+v", s.ID, f.Known)
			} else {
				known++
			}
		}
	}
	if known == 0 {
		t.Fatalf("no step failed on ws7's unknown host key: %+v", r.Steps)
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Known failure: **The host's SSH key is not known yet**", "https://intranet.example.com/kb/unknown-host-key"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the report does not say %q:\n%s", want, md)
		}
	}
	code, out, stderr := e.onboard("kb", "match", r.ID, "-i", e.inv)
	if code != exitOK || !strings.Contains(out, "unknown-host-key  The host's SSH key is not known yet") {
		t.Errorf("kb match: exit %d\n%s%s", code, out, stderr)
	}

	// A resumed run has no inventory of its own: the plan names the
	// knowledge base, and its failures are explained all the same.
	code, out, stderr = e.onboard("resume", r.ID, "-o", "json", "--connect-timeout", "5s")
	if code != exitUnreachable {
		t.Fatalf("resume: exit %d, want %d\n%s", code, exitUnreachable, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last struct{ Run *result.Run }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Run == nil {
		t.Fatalf("resume output: %v\n%s", err, out)
	}
	resumed := 0
	for _, s := range last.Run.Steps {
		if f := s.Failure; f != nil && f.Known != nil && f.Known.ID == "unknown-host-key" {
			resumed++
		}
	}
	if resumed == 0 {
		t.Errorf("the resumed run's failures carry no article: %+v", last.Run.Steps)
	}
}
