package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/result"
)

// A hire whose name is shell syntax, through validate, plan --out, apply
// of the saved plan and a re-run, on a lab workstation: the commands,
// guards and checks see the name as one literal value, and nothing in it
// runs.
func TestTemplatesInCommandsStayData(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	const canary = "/tmp/tpl-e2e-canary"
	surname := `O'Brien "$(touch ` + canary + `)" ` + "`touch " + canary + "`" + `; touch ` + canary + ` ‘’“”„ %PATH% $HOME \ 50%`
	pb := e.write("tpl/seán.yaml", `person:
  employee_id: T8
  given_name: Seán
  surname: '`+strings.ReplaceAll(surname, "'", "''")+`'
  start_date: 2026-12-01
account:
  username: sobrien-tpl
machine:
  host: ws6
  commands:
    - name: note
      run: |
        mkdir -p /srv/tpl-e2e
        printf '%s' "${person.surname}" > /srv/tpl-e2e/${account.username}.txt
        cat > /srv/tpl-e2e/${account.username}.heredoc <<EOF
        Dear ${person.name},
        EOF
      creates: /srv/tpl-e2e/${account.username}.txt
      privileged: true
    - name: unprivileged
      run: printf '%s|' ${person.given_name} ${person.surname} > /tmp/tpl-e2e-${account.username}
      unless: grep -qxF -- "${person.given_name}|${person.surname}|" /tmp/tpl-e2e-${account.username}
checks:
  - name: note
    command:
      run: cat "/srv/tpl-e2e/${account.username}.txt"
      stdout: ["touch `+canary+`"]
`)
	bad := e.write("tpl/bad.yaml", `person:
  employee_id: T9
  given_name: Niamh
  surname: O'Brien
  start_date: 2026-12-01
machine:
  host: ws6
  commands:
    - name: greet
      run: echo 'Hello, ${person.given_name}' > /tmp/x
      creates: /tmp/x
`)
	code, out, stderr := e.onboard("validate", bad)
	if code == exitOK || !strings.Contains(out+stderr, "bad.yaml:10:12: machine.commands[0].run: template ${person.given_name} at line 1, column 14 of the command: it is inside single quotes") {
		t.Errorf("validate of a single-quoted template: exit %d\n%s%s", code, out, stderr)
	}

	planFile := filepath.Join(e.dir, "plan.json")
	if code, _, stderr := e.onboard("plan", "--out", planFile, pb); code != exitOK && code != exitChanges {
		t.Fatalf("plan --out: exit %d: %s", code, stderr)
	}
	saved, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(saved), `"values"`) || !strings.Contains(string(saved), `\"${__onboard_`) {
		t.Errorf("the saved plan does not carry the values apart from the commands:\n%s", saved)
	}

	code, run, stderr := e.jsonRun("apply", planFile)
	if c := result.Counts(run.Steps); code != exitOK || c[result.Changed] != 2 || c[result.OK] != 1 {
		t.Fatalf("apply plan.json: exit %d, %v: %s\nsteps: %+v", code, c, stderr, run.Steps)
	}
	read := func(path string) string {
		t.Helper()
		b, err := base64.StdEncoding.DecodeString(wsExec(t, l, "ws6", "base64 -w0 "+path))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("/srv/tpl-e2e/sobrien-tpl.txt"); got != surname {
		t.Errorf("run (privileged) wrote %q, want %q", got, surname)
	}
	if got, want := read("/srv/tpl-e2e/sobrien-tpl.heredoc"), "Dear Seán "+surname+",\n"; got != want {
		t.Errorf("here-document: %q, want %q", got, want)
	}
	if got, want := read("/tmp/tpl-e2e-sobrien-tpl"), "Seán|"+surname+"|"; got != want {
		t.Errorf("run (unprivileged) wrote %q, want %q", got, want)
	}
	if o, _, _ := l.Exec(context.Background(), "ws6", "test -e "+canary+" && echo INJECTED"); strings.Contains(o, "INJECTED") {
		t.Fatalf("the name ran as code: %s exists", canary)
	}

	// The re-run finds everything in place: creates, unless and the check
	// compare against the same literal values.
	code, run, stderr = e.jsonRun("apply", pb)
	if code != exitOK {
		t.Fatalf("re-run: exit %d: %s", code, stderr)
	}
	for id, o := range outcomes(run.Steps) {
		if o != result.OK {
			t.Errorf("re-run: %s is %s, want in place", id, o)
		}
	}
}

// validate checks a profile's check commands alone: a template inside
// single quotes is reported at its field, whatever hire uses the profile.
func TestValidateProfileTemplates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pr := filepath.Join(dir, "quoted.yaml")
	if err := os.WriteFile(pr, []byte("description: x\nchecks:\n  - name: ok\n    command: {run: 'test -d \"/home/${account.username}\"'}\n  - name: bad\n    command:\n      run: grep -q '^${account.username}:' /etc/passwd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	code := run(context.Background(), []string{"-i", "../../inventory", "validate", pr}, strings.NewReader(""), &out, &errb)
	want := "quoted.yaml:7:12: checks[1].command.run: template ${account.username} at line 1, column 11 of the command: it is inside single quotes"
	if code == exitOK || !strings.Contains(errb.String()+out.String(), want) || strings.Contains(errb.String(), "checks[0]") {
		t.Errorf("exit %d\n%s%s\nwant %q", code, out.String(), errb.String(), want)
	}
}
