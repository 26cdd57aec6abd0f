package main

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/result"
)

const welcomeHireTmpl = `person:
  employee_id: %ID%
  given_name: Wen
  surname: Sheet
  preferred_name: "*[x](javascript:alert(1))* <script>alert(1)</script> |"
  title: "<b>Boss</b> ` + "`id`" + `"
  start_date: 2026-12-01
  email: wen.sheet@example.test
account:
  directory: corp-ldap
  username: %USER%
  must_change_password: false
  password: {deliver: "file:pw/%ID%.pw"}
machine:
  host: ws6
  software: [chat]
  printers: [office-2f]
%CHECKS%handover:
  contact: Tech Nician, ext. 4711
  welcome:
    sheets: [out/%ID%-welcome.md, out/%ID%-welcome.html]
`

func welcomePlaybook(e *env, id, user, checks string) string {
	r := strings.NewReplacer("%ID%", id, "%USER%", user, "%CHECKS%", checks)
	return e.write(id+".yaml", r.Replace(welcomeHireTmpl))
}

// A run that makes the hire ready writes the sheet with what ws6 really
// has (the installed version of the chat client, the printer queue and
// its location) and never the initial password; the sheet made again from
// the journal is the same. A run that fails writes none and says so.
func TestWelcomeSheet(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	e.write("inventory/helpdesk.yaml", "helpdesk: {name: Lab Service Desk, phone: '+49 30 555-0100', url: 'https://help.corp.example.test/'}\n")
	wsExec(t, l, "ws6", "dpkg --purge acme-chat >/dev/null 2>&1; lpadmin -x Office-2F 2>/dev/null; true")

	pb := welcomePlaybook(e, "E310", "wsheet", "")
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK || !r.Ready("E310") {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	password, err := os.ReadFile(filepath.Join(e.dir, "pw/E310.pw"))
	if err != nil || len(bytes.TrimSpace(password)) < 12 {
		t.Fatalf("the password file: %v %q", err, password)
	}
	installed := strings.TrimSpace(wsExec(t, l, "ws6", "dpkg-query -W -f='${Version}' acme-chat"))
	sheets := map[string][]byte{}
	for _, ext := range []string{"md", "html"} {
		f := filepath.Join(e.dir, "out/E310-welcome."+ext)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("the ready run wrote no %s sheet: %v", ext, err)
		}
		sheets[ext] = b
		if bytes.Contains(b, bytes.TrimSpace(password)) {
			t.Errorf("%s holds the initial password", f)
		}
		for _, want := range []string{"Team chat", installed, "Office-2F", "Lab, Office-2F", "ws6", "wsheet", "wen.sheet@example.test",
			"Lab Service Desk", "Tech Nician, ext. 4711", "hands you your initial password separately"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("%s lacks %q:\n%s", f, want, b)
			}
		}
		if bytes.Contains(b, []byte("<script>")) || bytes.Contains(b, []byte("<b>")) {
			t.Errorf("%s carries the person data's markup:\n%s", f, b)
		}
	}
	if installed == "" {
		t.Fatal("acme-chat is not installed on ws6")
	}

	// Made again later from the journal: the same sheets.
	for ext, want := range sheets {
		out := filepath.Join(e.dir, "again."+ext)
		code, stdout, stderr := e.onboard("report", "welcome", r.ID, "--hire", "E310", "--out", out)
		if code != exitOK {
			t.Fatalf("report welcome: exit %d: %s %s", code, stdout, stderr)
		}
		got, err := os.ReadFile(out)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("the %s sheet from the journal differs from the run's (%v):\n%s", ext, err, got)
		}
	}

	// A run whose handover check fails: no sheet, and it says so.
	failing := welcomePlaybook(e, "E311", "wsheet2", "checks:\n  - name: never\n    command: {run: 'false'}\n")
	code, r, stderr = e.jsonRun(failing)
	if code != exitFailed || r.Ready("E311") {
		t.Fatalf("exit %d, want a failed run: %s", code, stderr)
	}
	if !strings.Contains(stderr, "welcome sheet of E311 not written: not ready for handover") {
		t.Errorf("the failed run does not say it wrote no sheet: %s", stderr)
	}
	for _, ext := range []string{"md", "html"} {
		if _, err := os.Stat(filepath.Join(e.dir, "out/E311-welcome."+ext)); !os.IsNotExist(err) {
			t.Errorf("the failed run wrote a %s sheet (%v)", ext, err)
		}
	}
	code, _, stderr = e.onboard("report", "welcome", r.ID, "--out", filepath.Join(e.dir, "failed.md"))
	if code != exitFailed || !strings.Contains(stderr, "did not make hire E311 ready") {
		t.Errorf("report welcome of the failed run: exit %d: %s", code, stderr)
	}
	if o := outcomes(r.Steps)["E311:check:never"]; o != result.Failed {
		t.Errorf("the failing check: %s, want failed", o)
	}
}

// Only a playbook that names the sheet as the password's channel gets the
// password on it, read from its password file; that sheet is 0600.
func TestWelcomeSheetWithPassword(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	pb := welcomePlaybook(e, "E312", "wsheet3", "")
	b, err := os.ReadFile(pb)
	if err != nil {
		t.Fatal(err)
	}
	pb = e.write("E312.yaml", strings.Replace(string(b), "  welcome:\n", "  welcome:\n    password: sheet\n", 1))
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK || !r.Ready("E312") {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	password, err := os.ReadFile(filepath.Join(e.dir, "pw/E312.pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"md", "html"} {
		f := filepath.Join(e.dir, "out/E312-welcome."+ext)
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		sheet, _ := os.ReadFile(f)
		if ext == "html" {
			// html/template escapes more than html.EscapeString (a + is
			// &#43;): compare the text a browser shows.
			sheet = []byte(html.UnescapeString(string(sheet)))
		}
		if !bytes.Contains(sheet, bytes.TrimSpace(password)) || st.Mode().Perm() != 0o600 {
			t.Errorf("%s (%s) does not carry the password as its channel:\n%s", f, st.Mode(), sheet)
		}
	}
	// Printing it on the terminal is refused: only to a file.
	code, _, stderr = e.onboard("report", "welcome", r.ID)
	if code != exitInvalid || !strings.Contains(stderr, "write it to a file") {
		t.Errorf("report welcome of a password sheet to stdout: exit %d: %s", code, stderr)
	}
}
