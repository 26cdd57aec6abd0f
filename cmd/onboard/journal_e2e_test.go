package main

// The journal is trusted only when it verifies: resume and audit act on
// recorded plans, so an edited plan must never reach a host.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A hire whose only step is a command guarded by `unless`: the guard runs
// on the host whenever the step is checked (apply, resume, audit), so a
// guard edited in the journal would run too.
const guardedHire = `person:
  employee_id: %[1]s
  given_name: Jo
  surname: Urnal
  start_date: 2026-12-01
machine:
  host: %[2]s
  commands:
    - name: marker
      run: touch /tmp/%[1]s-ok
      unless: test -e /tmp/%[1]s-ok
`

// exists reports whether path exists on the workstation.
func exists(t *testing.T, e *env, ws, path string) bool {
	t.Helper()
	return strings.TrimSpace(wsExec(t, theLab, ws, "test -e "+path+" && echo yes || echo no")) == "yes"
}

// latestRun is the id of the newest run of a hire.
func latestRun(t *testing.T, e *env, hire string) string {
	t.Helper()
	code, out, stderr := e.onboard("history", "--hire", hire, "-o", "json")
	var runs []struct{ ID string }
	if code != exitOK || json.Unmarshal([]byte(out), &runs) != nil || len(runs) == 0 {
		t.Fatalf("history: exit %d: %s%s", code, out, stderr)
	}
	return runs[0].ID
}

// tamperPlans edits the stored plans as anyone with write access to the
// file could: every recorded guard now creates an evil file instead.
func tamperPlans(t *testing.T, path, from, to string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE records SET payload = replace(payload, ?, ?) WHERE kind = 'run-started'`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("no run-started record was changed")
	}
}

func TestResumeAndAuditRefuseAnEditedJournal(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	const ws, hire = "ws2", "JV1"
	ok, evil := "/tmp/"+hire+"-ok", "/tmp/"+hire+"-evil"
	wsExec(t, l, ws, "rm -f "+ok+" "+evil)
	t.Cleanup(func() { _, _, _ = l.Exec(t.Context(), ws, "rm -f "+ok+" "+evil) })
	pb := e.write("jv.yaml", fmt.Sprintf(guardedHire, hire, ws))

	// Controls on an intact journal: the run, its audit and its resume all
	// reach the host.
	if code, out, stderr := e.onboard(pb); code != exitOK || !exists(t, e, ws, ok) {
		t.Fatalf("apply: exit %d\n%s%s", code, out, stderr)
	}
	runID := latestRun(t, e, hire)
	if code, out, stderr := e.onboard("audit", hire); code != exitOK {
		t.Fatalf("audit of an intact journal: exit %d\n%s%s", code, out, stderr)
	}
	wsExec(t, l, ws, "rm -f "+ok)
	if code, out, stderr := e.onboard("resume", runID); code != exitOK || !exists(t, e, ws, ok) {
		t.Fatalf("resume of an intact journal: exit %d, marker made: %v\n%s%s", code, exists(t, e, ws, ok), out, stderr)
	}

	// Every stored plan's guard now makes the evil file.
	wsExec(t, l, ws, "rm -f "+ok)
	tamperPlans(t, os.Getenv("ONBOARD_JOURNAL"), "test -e "+ok, "touch "+evil)

	code, out, stderr := e.onboard("resume", runID)
	if code != exitTampered || !strings.Contains(stderr, "changed outside onboard") || !strings.Contains(stderr, ": edited: ") {
		t.Errorf("resume of an edited run: exit %d, want %d with the verify message\n%s%s", code, exitTampered, out, stderr)
	}
	code, out, stderr = e.onboard("audit", hire)
	if code != exitTampered || !strings.Contains(stderr, "changed outside onboard") || !strings.Contains(stderr, ": edited: ") {
		t.Errorf("audit of an edited journal: exit %d, want %d with the verify message\n%s%s", code, exitTampered, out, stderr)
	}
	if exists(t, e, ws, evil) || exists(t, e, ws, ok) {
		t.Errorf("something ran on %s from the edited journal (evil %v, ok %v)", ws, exists(t, e, ws, evil), exists(t, e, ws, ok))
	}
	// show still shows the edited run, and says which records changed.
	code, out, stderr = e.onboard("show", runID)
	if code != exitOK || !strings.Contains(out, runID) || !strings.Contains(stderr, "do not match their hashes") {
		t.Errorf("show of an edited run: exit %d\n%s%s", code, out, stderr)
	}
	// journal verify says the same, with the same exit code.
	if code, out, _ := e.onboard("journal", "verify"); code != exitTampered || !strings.Contains(out, ": edited: ") {
		t.Errorf("journal verify: exit %d\n%s", code, out)
	}
}

// A journal that cannot be opened is named once, in one error.
func TestJournalOpenErrorSaidOnce(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "journal.db") // under a file: cannot be made
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--journal", path, "history"}, strings.NewReader(""), &out, &errb)
	msg := errb.String()
	if code != exitFailed || strings.Count(msg, path) != 1 || strings.Count(msg, "open journal") != 1 || strings.Contains(msg, "open the journal") || !strings.Contains(msg, "not a directory") {
		t.Errorf("exit %d, want %d, naming the journal once and why:\n%s", code, exitFailed, msg)
	}
}

// A value that holds a secret's text (here the directory's bind password,
// resolved by the same run) is stored in the journal's plan exactly, so a
// resume runs what was planned: the stored plan once said
// /tmp/JX2-[redacted] and resume made that file instead.
func TestResumeRunsThePlanExactly(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	const ws, hire = "ws2", "JX2"
	pw := labDir(t, l, "corp-ldap").BindPassword
	if len(pw) < 8 {
		t.Fatalf("the lab's bind password is unknown (%d characters)", len(pw))
	}
	marker := "/tmp/" + hire + "-" + pw
	clean := "rm -f " + marker + " /tmp/" + hire + "-*redacted*"
	wsExec(t, l, ws, clean)
	t.Cleanup(func() { _, _, _ = l.Exec(t.Context(), ws, clean) })
	pb := e.write("jx.yaml", fmt.Sprintf(`person:
  employee_id: %[1]s
  given_name: Exa
  surname: Ctly
  start_date: 2026-12-01
account:
  directory: corp-ldap
  must_change_password: false
  password: {deliver: "file:pw/%[1]s.pw"}
machine:
  host: %[2]s
  commands:
    - name: marker
      run: touch %[3]s
      creates: %[3]s
`, hire, ws, marker))
	if code, out, stderr := e.onboard(pb); code != exitOK || !exists(t, e, ws, marker) {
		t.Fatalf("apply: exit %d\n%s%s", code, out, stderr)
	}
	runID := latestRun(t, e, hire)

	// The stored plan holds the value as planned.
	db, err := sql.Open("sqlite", os.Getenv("ONBOARD_JOURNAL"))
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	err = db.QueryRow(`SELECT json_extract(payload, '$.plan') FROM records WHERE kind = 'run-started' AND run_id = ?`, runID).Scan(&stored)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, `"creates":"`+marker+`","run":"touch `+marker+`"`) {
		t.Errorf("the stored plan is not the plan:\n%s", stored)
	}

	wsExec(t, l, ws, "rm -f "+marker)
	if code, out, stderr := e.onboard("resume", runID); code != exitOK {
		t.Fatalf("resume: exit %d\n%s%s", code, out, stderr)
	}
	if !exists(t, e, ws, marker) {
		t.Errorf("resume did not make %s: %s", marker, wsExec(t, l, ws, "ls /tmp"))
	}
	if got := strings.TrimSpace(wsExec(t, l, ws, "ls /tmp | grep -c redacted || true")); got != "0" {
		t.Errorf("resume ran a scrubbed plan: %s", wsExec(t, l, ws, "ls /tmp"))
	}
}
