package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/result"
)

// The handover check kinds on a lab workstation, end to end: what each saw
// is in the run's result, the handover report and the journal; a check
// whose tool is missing fails as cannot-run, so the hire is not ready.
func TestHandoverChecksEvidence(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	ws := l.Workstations[4]
	pb := e.write("nina.yaml", `person: {employee_id: E77, given_name: Nina, surname: Simone, start_date: 2026-12-01}
machine: {host: `+ws.Name+`}
checks:
  - name: names
    dns: {name: lab-services}
  - name: sshd-port
    tcp: {host: `+ws.Name+`, port: 22}
  - name: cups-page
    http: {url: "http://localhost:631/", contains: [CUPS]}
  - name: sshd
    service: {name: ssh, running: true, enabled: true}
  - name: lab-user
    user: {name: onboard}
    retry: {timeout: 5s}
  - name: no-such-tool
    command: {run: onboard-no-such-tool --version}
handover:
  reports: [out/nina.md, out/nina.json]
`)
	code, r, stderr := e.jsonRun(pb)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d (a check could not run): %s", code, exitFailed, stderr)
	}
	if r.Ready("E77") {
		t.Error("the hire is ready although a check could not run")
	}
	evidence := map[string]string{
		"E77:check:names":     "lab-services resolves to ",
		"E77:check:sshd-port": ws.Name + ":22 accepted a connection from the host",
		"E77:check:cups-page": "http://localhost:631/ answered 200 with each of 1 expected texts in its body; connected to ",
		"E77:check:sshd":      "ssh is running and enabled (sysv: /etc/init.d/ssh status: 0 (running); started at boot by /etc/rc",
		"E77:check:lab-user":  "user onboard exists: uid 1000, gid 1000, home /home/onboard, shell /bin/sh; groups onboard (passed on try 1, after ",
	}
	for _, list := range [][]result.Step{r.Steps, r.Handover} {
		for _, s := range list {
			if want, ok := evidence[s.ID]; ok && (s.Outcome != result.OK || !strings.Contains(s.Reason, want)) {
				t.Errorf("%s: %s %q, want ok with %q", s.ID, s.Outcome, s.Reason, want)
			}
			if s.ID == "E77:check:no-such-tool" && s.Outcome != result.Skipped &&
				(s.Outcome != result.Failed || s.Failure == nil || s.Failure.Class != result.ClassCannotRun) {
				t.Errorf("a missing tool: %s %+v", s.Outcome, s.Failure)
			}
		}
	}

	md, err := os.ReadFile(filepath.Join(e.dir, "out/nina.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lab-services resolves to ", "answered 200", "Class: cannot-run", "ssh is running and enabled"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the handover report lacks %q:\n%s", want, md)
		}
	}

	code, out, stderr := e.onboard("show", r.ID, "-o", "json")
	if code != exitOK {
		t.Fatalf("show: exit %d: %s", code, stderr)
	}
	var shown struct {
		Records []struct {
			Step *result.Step `json:"step"`
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("show -o json: %v\n%s", err, out)
	}
	found := map[string]bool{}
	for _, rec := range shown.Records {
		s := rec.Step
		if s == nil {
			continue
		}
		if want, ok := evidence[s.ID]; ok && strings.Contains(s.Reason, want) {
			found[s.ID] = true
		}
		if s.Failure != nil && s.Failure.Class == result.ClassCannotRun {
			found["cannot-run"] = true
		}
	}
	if len(found) != len(evidence)+1 {
		t.Errorf("the journal lacks evidence; found only %v in:\n%s", found, out)
	}
}
