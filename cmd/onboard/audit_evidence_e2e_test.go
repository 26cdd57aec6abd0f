package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/lab"
	"onboard/internal/result"
)

// probeService is a SysV service of the test's own on a workstation: a
// process with a pid file, whose init script answers LSB status (0
// running, 3 stopped).
const probeService = `#!/bin/sh
p=/run/%[1]s.pid
case "$1" in
start) nohup sleep 100000 </dev/null >/dev/null 2>&1 & echo $! >"$p" ;;
stop) [ -e "$p" ] && kill "$(cat "$p")"; rm -f "$p" ;;
status) [ -e "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null && exit 0; exit 3 ;;
esac
`

// auditJSON runs onboard audit -o json and decodes its result.
func auditJSON(t *testing.T, e *env, args ...string) (int, *result.Run, string) {
	t.Helper()
	code, out, stderr := e.onboard(append([]string{"audit", "-o", "json"}, args...)...)
	var r result.Run
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("audit -o json: exit %d: %v\n%s%s", code, err, out, stderr)
	}
	return code, &r, stderr
}

// evidenceOf is each check's evidence change, by step id.
func evidenceOf(r *result.Run) map[string]*result.EvidenceChange {
	out := map[string]*result.EvidenceChange{}
	for _, s := range r.Steps {
		if s.Kind == "check" {
			out[s.ID] = s.EvidenceChange
		}
	}
	return out
}

// An audit compares what each check sees now with what the journal last
// recorded of it: after the handover, nothing changed; once the lab's DNS
// points the name elsewhere and the service is stopped, the audit names
// the fields that changed, from what to what (text, JSON, Markdown); the
// next audit compares with that audit, so what it saw is unchanged.
func TestAuditEvidenceChanges(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	ws := l.Workstations[3]
	name, _ := testLabName("audit-probe-", 0)
	svc := "onboard-" + name
	first, second := l.Workstations[0].Addr, l.Workstations[1].Addr
	if err := l.SetName(t.Context(), name, first); err != nil {
		t.Fatal(err)
	}
	script := "/etc/init.d/" + svc
	wsExec(t, l, ws.Name, fmt.Sprintf("cat >%s <<'EOF'\n%sEOF\nchmod 755 %s && %s start", script, fmt.Sprintf(probeService, svc), script, script))
	t.Cleanup(func() { _, _, _ = l.Exec(t.Context(), ws.Name, script+" stop; rm -f "+script) })

	pb := e.write("audra.yaml", fmt.Sprintf(`person: {employee_id: E88, given_name: Audra, surname: Evidence, start_date: 2026-12-01}
machine: {host: %s}
checks:
  - name: probe-name
    dns: {name: %s}
  - name: probe-service
    service: {name: %s, running: true}
`, ws.Name, lab.FQDN(name), svc))
	if code, r, stderr := e.jsonRun(pb); code != exitOK || !r.Ready("E88") {
		t.Fatalf("apply: exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	handover := latestRun(t, e, "E88")

	code, r, stderr := auditJSON(t, e, "E88")
	if code != exitOK {
		t.Fatalf("audit after handover: exit %d: %s", code, stderr)
	}
	for id, c := range evidenceOf(r) {
		if c == nil || !c.Unchanged || c.SinceRun != handover {
			t.Errorf("%s right after handover: %+v, want unchanged since run %s", id, c, handover)
		}
	}

	if err := l.SetName(t.Context(), name, second); err != nil {
		t.Fatal(err)
	}
	wsExec(t, l, ws.Name, script+" stop")
	report := filepath.Join(e.dir, "out", "audit.md")
	code, r, _ = auditJSON(t, e, "--report", report, "E88")
	if code != exitDrift {
		t.Errorf("audit of a stopped service: exit %d, want %d", code, exitDrift)
	}
	firstAudit := r.ID
	want := map[string]result.FieldChange{
		"E88:check:probe-name":    {Field: "addresses", Was: first, Now: second},
		"E88:check:probe-service": {Field: "state", Was: "running (status 0)", Now: "not running (status 3)"},
	}
	got := evidenceOf(r)
	for id, w := range want {
		c := got[id]
		if c == nil || c.Unchanged || len(c.Changed) != 1 || c.Changed[0] != w {
			t.Errorf("%s: %+v, want the one change %+v", id, c, w)
		}
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Evidence since last recorded", "| addresses | " + first + " | " + second + " |", "| state | running (status 0) | not running (status 3) |"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("the audit report lacks %q:\n%s", w, md)
		}
	}

	// The next audit compares with the last one, which the journal holds.
	code, out, _ := e.onboard("audit", "E88")
	if code != exitDrift {
		t.Errorf("second audit: exit %d, want %d", code, exitDrift)
	}
	for _, w := range []string{"Evidence unchanged since last recorded: Check probe-name on " + ws.Name + ", Check probe-service on " + ws.Name} {
		if !strings.Contains(out, w) {
			t.Errorf("the second audit lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "Evidence changed") {
		t.Errorf("the second audit compared with the handover, not with audit %s:\n%s", firstAudit, out)
	}
}
