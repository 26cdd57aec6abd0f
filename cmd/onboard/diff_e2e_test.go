package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"onboard/internal/plan"
)

// TestDiffLab: plan --diff and apply --diff against a lab workstation show
// the diff of a changed file and of a new one, never the content of a file
// marked sensitive nor a line holding a secret the run knows (a line of
// the lab's SSH key), in text and in JSON; the reads for the diff ride in
// the host's batch of reads (the same round trips as without --diff).
func TestDiffLab(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	const ws, dir = "ws2", "/etc/onboard-difftest"
	key, err := os.ReadFile(l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyLine := strings.Split(string(key), "\n")[1] // a line of the key, registered as a secret when it is resolved
	setup := func() {
		wsExec(t, l, ws, fmt.Sprintf("rm -rf %[1]s && mkdir -p %[1]s && printf 'greeting=hello\\nport=22\\n' > %[1]s/motd.conf && "+
			"printf 'old-token-value\\n' > %[1]s/token && printf 'user=ada\\nkey=%[2]s\\n' > %[1]s/app.conf", dir, keyLine))
	}
	setup()
	t.Cleanup(func() { wsExec(t, l, ws, "rm -rf "+dir) })
	pb := e.write("diff.yaml", fmt.Sprintf(`person:
  employee_id: E77
  given_name: Dora
  surname: Diff
  start_date: 2026-12-01
machine:
  host: %[1]s
  files:
    - path: %[2]s/motd.conf
      content: |
        greeting=hello Dora
        port=22
    - path: %[2]s/new.conf
      content: |
        fresh
    - path: %[2]s/token
      sensitive: true
      content: |
        new-token-value
    - path: %[2]s/app.conf
      content: |
        user=dora
        key=rotated
`, ws, dir))
	leaks := func(what, out string) {
		t.Helper()
		for _, secret := range []string{"old-token-value", "new-token-value", keyLine, "\x1b["} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows %q:\n%s", what, secret, out)
			}
		}
	}

	code, out, stderr := e.onboard("plan", "--diff", "-vv", pb)
	if code != exitOK {
		t.Fatalf("plan --diff: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"-greeting=hello\n", "+greeting=hello Dora\n",
		"--- before: " + dir + "/new.conf on ws2 (absent)", "+fresh\n",
		"+++ after: " + dir + "/token\n", "(sensitive content redacted)",
		"-user=ada\n", "-(line redacted: it holds a secret)\n", "+key=rotated\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan --diff lacks %q:\n%s", want, out)
		}
	}
	leaks("plan --diff", out)
	withDiff := connectionFigures(t, stderr, ws)

	_, out, stderr = e.onboard("plan", "-vv", pb)
	if strings.Contains(out, "--- before:") {
		t.Errorf("plan without --diff shows a diff:\n%s", out)
	}
	// The reads ride in the checks' batch: no round trip, no command of
	// their own.
	if without := connectionFigures(t, stderr, ws); without != withDiff || !strings.HasSuffix(withDiff, " commands=0") {
		t.Errorf("connection figures without --diff %q, with %q: want the same, and no command on its own", without, withDiff)
	}
	t.Logf("connection figures of a plan, with and without --diff: %s", withDiff)

	code, out, stderr = e.onboard("plan", "--diff", "-o", "json", pb)
	if code != exitOK {
		t.Fatalf("plan --diff -o json: exit %d\n%s", code, stderr)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	diffs := map[string]string{}
	for _, s := range p.Steps {
		if s.File != nil {
			diffs[s.File.Path[len(dir)+1:]] = s.Diff
		}
	}
	for name, want := range map[string]string{"motd.conf": "+greeting=hello Dora", "new.conf": "+fresh", "token": "(sensitive content redacted)", "app.conf": "(line redacted"} {
		if !strings.Contains(diffs[name], want) {
			t.Errorf("plan JSON: %s diff %q, want it to hold %q", name, diffs[name], want)
		}
		leaks("plan JSON diff of "+name, diffs[name])
	}
	leaks("plan JSON", out)

	// Text: the plan shown first and the report both show the diff.
	code, out, stderr = e.onboard("apply", "--diff", "--yes", pb)
	if code != exitOK {
		t.Fatalf("apply --diff: exit %d\n%s\n%s", code, out, stderr)
	}
	if n := strings.Count(out, "+greeting=hello Dora\n"); n != 2 {
		t.Errorf("apply --diff shows the change %d times, want 2 (the plan, the report):\n%s", n, out)
	}
	leaks("apply --diff", out)

	setup()
	code, res, stderr := e.jsonRun("apply", "--diff", "--yes", pb)
	if code != exitOK {
		t.Fatalf("apply --diff: exit %d\n%s", code, stderr)
	}
	changed := 0
	for _, s := range res.Steps {
		if s.Kind == plan.KindFile && s.Outcome == "changed" && strings.HasPrefix(s.Diff, "--- before: ") {
			changed++
		}
		leaks("apply JSON "+s.ID, s.Diff)
	}
	if changed != 4 {
		t.Errorf("%d file steps changed with a diff, want 4: %+v", changed, res.Steps)
	}
	if got := wsExec(t, l, ws, "cat "+dir+"/motd.conf; stat -c %a "+dir+"/token"); got != "greeting=hello Dora\nport=22\n600\n" {
		t.Errorf("on the host after apply: %q", got)
	}
	// In place now: nothing to show.
	if _, out, _ := e.onboard("plan", "--diff", pb); strings.Contains(out, "--- before:") {
		t.Errorf("a plan with everything in place shows a diff:\n%s", out)
	}
}

// connectionFigures is the host's SSH figures (dials, sessions, batches,
// commands) from the -vv log.
func connectionFigures(t *testing.T, stderr, host string) string {
	t.Helper()
	re := regexp.MustCompile(`dials=\d+ sessions=\d+ batches=\d+ commands=\d+`)
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "connection closed") && strings.Contains(l, "host="+host) {
			return re.FindString(l)
		}
	}
	t.Fatalf("no connection figures of %s in:\n%s", host, stderr)
	return ""
}
