package main

// End-to-end tests: the onboard command against the lab's real
// workstations (sshd in network namespaces), real CUPS and ippeveprinter,
// and a real apt repository. Run as root; `go test -short` skips them.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab"
	"onboard/internal/result"
)

var theLab *lab.Lab

func TestMain(m *testing.M) {
	testingShort := false
	for _, a := range os.Args {
		if a == "-test.short=true" || a == "-test.short" {
			testingShort = true
		}
	}
	if testingShort {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	name, subnet := testLabName("e", 100)
	l, err := lab.Start(ctx, lab.Config{Name: name, Subnet: subnet, Workstations: 7, Printers: []string{"Office-2F", "Lobby", "Annex"},
		OpenLDAP: true, PPolicy: true, ActiveDirectory: true})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the lab:", err)
		os.Exit(1)
	}
	theLab = l
	code := m.Run()
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Minute)
	if err := l.Stop(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop the lab:", err)
		code = 1
	}
	scancel()
	os.Exit(code)
}

// testLabName gives this test process its own lab name and subnet, so that
// two test runs on one machine (CI and a developer, say) never replace
// each other's labs: starting a lab replaces a running one of that name.
func testLabName(prefix string, base int) (string, int) {
	pid := os.Getpid()
	return fmt.Sprintf("%s%d", prefix, pid%10000), base + pid%50
}

func needLab(t *testing.T) *lab.Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the lab (run without -short)")
	}
	return theLab
}

// env is one test's workspace: playbooks, an inventory that joins the
// repository's catalogue with the lab's generated hosts and printers.
type env struct {
	t   *testing.T
	dir string
	inv string
}

func newEnv(t *testing.T, l *lab.Lab) *env {
	t.Helper()
	dir := t.TempDir()
	// Every test run gets its own journal, never the machine's.
	t.Setenv("ONBOARD_JOURNAL", filepath.Join(dir, "journal.db"))
	inv := filepath.Join(dir, "inventory")
	if err := os.MkdirAll(inv, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"../../inventory/software.yaml", "../../inventory/groups.yaml", l.InventoryFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inv, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The folders the tests' playbooks write their reports and passwords in.
	policy := "playbooks:\n  write: [../pw, ../out, ../batch/reports]\n"
	if err := os.WriteFile(filepath.Join(inv, "playbooks.yaml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: dir, inv: inv}
}

func (e *env) write(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// onboard runs the command in-process and returns its exit code and output.
func (e *env) onboard(args ...string) (int, string, string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	full := args
	if readsPlaybooks(args) {
		full = append([]string{"-i", e.inv, "--profiles", "../../playbooks/profiles"}, args...)
	}
	code := run(context.Background(), full, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// readsPlaybooks tells whether onboard ARGS takes -i and --profiles: the
// commands working from the journal have neither.
func readsPlaybooks(args []string) bool {
	if len(args) == 0 {
		return true
	}
	switch args[0] {
	case "history", "show", "audit", "resume", "journal", "report", "kb", "offboard":
		return false
	case "apply": // a saved plan carries its inventory and profiles
		return !slices.ContainsFunc(args[1:], func(a string) bool { return strings.HasSuffix(a, ".json") })
	}
	return true
}

// jsonRun runs onboard with JSON lines output and returns the final run.
func (e *env) jsonRun(args ...string) (int, *result.Run, string) {
	e.t.Helper()
	// -o json last: the first word may be the command.
	code, out, stderr := e.onboard(append(slices.Clone(args), "-o", "json")...)
	var final *result.Run
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev result.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			e.t.Fatalf("output is not JSON lines: %q: %v", line, err)
		}
		if ev.Type == result.RunFinished {
			final = ev.Run
		}
	}
	if final == nil {
		e.t.Fatalf("no run-finished event; exit %d; stderr:\n%s\nstdout:\n%s", code, stderr, out)
	}
	return code, final, stderr
}

func outcomes(steps []result.Step) map[string]result.Outcome {
	m := map[string]result.Outcome{}
	for _, s := range steps {
		m[s.ID] = s.Outcome
	}
	return m
}

func wsExec(t *testing.T, l *lab.Lab, ws, cmd string) string {
	t.Helper()
	out, errOut, err := l.Exec(context.Background(), ws, cmd)
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", ws, cmd, err, errOut)
	}
	return out
}

const hireTmpl = `person:
  employee_id: %s
  given_name: %s
  surname: %s
  start_date: 2026-12-01
profile: %s
machine:
  host: %s
%s`

// Several hires on several workstations, in one call, then a re-run that
// changes nothing, then the proofs on the machines themselves.
func TestOnboardBatch(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	e.write("batch/ada.yaml", fmt.Sprintf(hireTmpl, "E1", "Ada", "Lovelace", "engineering", "ws1", `  software: {add: [git-tools], omit: [office]}
  files:
    - path: /etc/motd
      mode: "0640"
      content: "Welcome ${person.name} (${account.username})\n"
  commands:
    - name: workspace
      run: mkdir -p /srv/workspace/${account.username}
      creates: /srv/workspace/${account.username}
      privileged: true
checks:
  - name: motd
    file: {path: /etc/motd, contains: ["Welcome Ada Lovelace (alovelace)"], mode: "0640"}
handover:
  reports: [reports/ada.html, reports/ada.md, reports/ada.xml]
`))
	e.write("batch/grace.yaml", fmt.Sprintf(hireTmpl, "E2", "Grâce", "O'Hopper", "sales", "ws2", ""))
	// A location with an apostrophe and a comma (lpoptions quotes it
	// without escaping): the re-run below must still find it in place.
	var lobby string
	for _, p := range l.Printers {
		if p.Name == "Lobby" {
			lobby = p.URI
		}
	}
	e.write("inventory/bob.yaml", fmt.Sprintf("printers:\n  bobs-desk:\n    queue: Bobs-Desk\n    uri: %s\n    location: \"Reception, Bob's desk\"\n    description: \"Lobby printer (Bob's)\"\n", lobby))
	e.write("batch/jose.yaml", fmt.Sprintf(hireTmpl, "E3", "José", "Łukasiewicz", "front-desk", "ws3", "  printers: {add: [bobs-desk]}\n"))
	batch := filepath.Join(e.dir, "batch")

	code, run1, stderr := e.jsonRun("--parallel", "3", batch)
	if code != exitOK {
		t.Fatalf("first run exit %d\nstderr: %s\nsteps: %+v", code, stderr, run1.Steps)
	}
	c := result.Counts(run1.Steps)
	if c[result.Changed] == 0 || c[result.Failed] != 0 || c[result.Skipped] != 0 {
		t.Errorf("first run counts = %v", c)
	}
	for _, h := range run1.Hires {
		if !run1.Ready(h.ID) {
			t.Errorf("hire %s not ready for handover", h.ID)
		}
	}
	if len(run1.Handover) != len(run1.Steps) {
		t.Errorf("handover re-checked %d of %d steps", len(run1.Handover), len(run1.Steps))
	}

	// The machines, seen from inside, independent of onboard.
	if v := wsExec(t, l, "ws1", "dpkg-query -W -f='${Package}=${Version} ' acme-ide acme-git-tools acme-chat"); v != "acme-chat=3.1.0 acme-git-tools=2.45.0 acme-ide=1.9.3 " {
		t.Errorf("ws1 packages: %q", v)
	}
	if out, _, _ := l.Exec(context.Background(), "ws1", "dpkg-query -W acme-office"); strings.Contains(out, "acme-office") {
		t.Errorf("office was omitted but is installed on ws1")
	}
	if v := wsExec(t, l, "ws2", "dpkg-query -W -f='${Version}' acme-crm"); v != "5.2.0" {
		t.Errorf("ws2 crm: %q", v)
	}
	if v := wsExec(t, l, "ws1", "cat /etc/motd; stat -c %a /etc/motd"); v != "Welcome Ada Lovelace (alovelace)\n640\n" {
		t.Errorf("ws1 motd: %q", v)
	}
	if v := wsExec(t, l, "ws2", "LC_ALL=C lpstat -d; lpstat -v"); !strings.Contains(v, "system default destination: Office-2F") || !strings.Contains(v, "device for Lobby:") {
		t.Errorf("ws2 printers: %q", v)
	}
	if v := wsExec(t, l, "ws3", "LC_ALL=C lpstat -d"); !strings.Contains(v, "Lobby") {
		t.Errorf("ws3 default printer: %q", v)
	}
	if _, _, err := l.Exec(context.Background(), "ws1", "test -d /srv/workspace/alovelace"); err != nil {
		t.Errorf("workspace command did not run: %v", err)
	}

	// A test page printed on the workstation reaches the printer.
	before, _ := l.Jobs("Office-2F")
	wsExec(t, l, "ws1", "echo 'onboard test page' > /tmp/page.txt && lp -d Office-2F -t onboard-test-page /tmp/page.txt")
	deadline := time.Now().Add(60 * time.Second)
	for {
		jobs, _ := l.Jobs("Office-2F")
		if len(jobs) > len(before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the test page never reached the printer (jobs: %v)", jobs)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Reports of the hire that asked for them.
	html, err := os.ReadFile(filepath.Join(batch, "reports/ada.html"))
	if err != nil || !strings.Contains(string(html), "Ada Lovelace") {
		t.Errorf("html report: %v", err)
	}
	if strings.Contains(string(html), "Grâce") {
		t.Errorf("ada's report holds another hire")
	}
	xmlb, err := os.ReadFile(filepath.Join(batch, "reports/ada.xml"))
	if err != nil || xml.Unmarshal(xmlb, new(struct{})) != nil {
		t.Errorf("junit report: %v", err)
	}

	// The re-run changes nothing and says every step is in place.
	code, run2, stderr := e.jsonRun(batch)
	if code != exitOK {
		t.Fatalf("re-run exit %d: %s", code, stderr)
	}
	for _, s := range run2.Steps {
		if s.Outcome != result.OK {
			t.Errorf("re-run: %s is %s (%s), want ok", s.ID, s.Outcome, s.Reason)
		}
	}

	// The dry run after it: nothing would change.
	code, out, stderr := e.onboard("plan", "--detailed-exitcode", batch)
	if code != exitOK {
		t.Errorf("plan after a complete run: exit %d\n%s\n%s", code, out, stderr)
	}
}

// A failed step skips only what depends on it, names host, step and output;
// after the fault is fixed, a re-run completes.
func TestFailureAndResume(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	// A catalogue entry whose package the repository does not have.
	e.write("inventory/broken.yaml", `software:
  ghost:
    linux: {package: acme-ghost, version: "1.0"}
`)
	pb := e.write("bob.yaml", fmt.Sprintf(hireTmpl, "E10", "Bob", "Marley", "front-desk", "ws4", `  software: [ghost]
  files:
    - path: /etc/bob.conf
      content: "configured\n"
`))
	code, r, _ := e.jsonRun(pb)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	o := outcomes(r.Steps)
	if o["E10:package:ghost"] != result.Failed {
		t.Fatalf("ghost: %s", o["E10:package:ghost"])
	}
	for _, s := range r.Steps {
		if s.ID == "E10:package:ghost" {
			f := s.Failure
			if f == nil || f.Host != "ws4" || f.Phase != "apply" || !strings.Contains(f.Command, "acme-ghost") ||
				!strings.Contains(f.Message, "package acme-ghost is not in the host's package sources on ws4") {
				t.Errorf("failure does not name host, command and output: %+v", f)
			}
		}
	}
	// The file depends on the packages: skipped. The printer does not: done.
	if o["E10:file:/etc/bob.conf"] != result.Skipped {
		t.Errorf("file: %s, want skipped", o["E10:file:/etc/bob.conf"])
	}
	if o["E10:printer:lobby"] != result.Changed || o["E10:package:point-of-sale"] != result.Changed {
		t.Errorf("independent steps should complete: %v", o)
	}
	if r.Ready("E10") {
		t.Errorf("a failed hire is reported ready")
	}

	// Fix the fault (the package is dropped from the playbook) and re-run.
	e.write("bob.yaml", fmt.Sprintf(hireTmpl, "E10", "Bob", "Marley", "front-desk", "ws4", `  files:
    - path: /etc/bob.conf
      content: "configured\n"
`))
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK {
		t.Fatalf("re-run after the fix: exit %d: %s", code, stderr)
	}
	o = outcomes(r.Steps)
	if o["E10:printer:lobby"] != result.OK || o["E10:file:/etc/bob.conf"] != result.Changed {
		t.Errorf("resume: finished steps must be ok, the rest done: %v", o)
	}

	// The journal holds both runs, step by step, and its chain is intact.
	code, out, stderr := e.onboard("history", "--hire", "E10")
	if code != exitOK || strings.Count(out, "\n") != 3 || !strings.Contains(out, "failed") || !strings.Contains(out, "ok") {
		t.Errorf("history (exit %d):\n%s%s", code, out, stderr)
	}
	code, out, _ = e.onboard("show", r.ID)
	if code != exitOK || !strings.Contains(out, "step-finished") || !strings.Contains(out, "wrote /etc/bob.conf") {
		t.Errorf("show (exit %d):\n%s", code, out)
	}
	code, out, _ = e.onboard("journal", "verify")
	if code != exitOK || !strings.HasPrefix(out, "ok: ") {
		t.Errorf("journal verify (exit %d): %s", code, out)
	}
	// A pinned head that the chain no longer ends with is reported.
	code, out, _ = e.onboard("journal", "verify", "--expect-head", "1:"+strings.Repeat("0", 64))
	if code != exitTampered {
		t.Errorf("a wrong pinned head was accepted (exit %d): %s", code, out)
	}
}

func TestPrinterDown(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	pb := e.write("cy.yaml", fmt.Sprintf(hireTmpl, "E20", "Cy", "Twombly", "front-desk", "ws5", `  printers: {add: [annex], omit: [lobby]}
  default_printer: annex
`))
	if err := l.StopPrinter(context.Background(), "Annex"); err != nil {
		t.Fatal(err)
	}
	code, r, _ := e.jsonRun(pb)
	if err := l.StartPrinter(context.Background(), "Annex"); err != nil {
		t.Fatal(err)
	}
	if code != exitFailed {
		t.Fatalf("exit %d with the printer down, want %d", code, exitFailed)
	}
	var f *result.Failure
	for _, s := range r.Steps {
		if s.ID == "E20:printer:annex" {
			f = s.Failure
		}
	}
	if f == nil || f.Host != "ws5" || !strings.Contains(f.Command, "ipptool") || !strings.Contains(f.Message, "does not answer") || !strings.Contains(f.Output, "Unable to connect") {
		t.Fatalf("printer failure lacks host, command or output: %+v", f)
	}
	if o := outcomes(r.Steps); o["E20:package:chat"] != result.Changed {
		t.Errorf("software should not depend on the printer: %v", o)
	}
	code, _, stderr := e.jsonRun(pb)
	if code != exitOK {
		t.Fatalf("re-run with the printer back: exit %d: %s", code, stderr)
	}
}

func TestUnreachableAndHostKey(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	pb := e.write("dee.yaml", fmt.Sprintf(hireTmpl, "E30", "Dee", "Rams", "front-desk", "ws5", ""))

	if err := l.StopSSH(context.Background(), "ws5"); err != nil {
		t.Fatal(err)
	}
	code, r, stderr := e.jsonRun("--retries", "1", "--connect-timeout", "2s", pb)
	if err := l.StartSSH(context.Background(), "ws5"); err != nil {
		t.Fatal(err)
	}
	if code != exitUnreachable {
		t.Fatalf("sshd stopped: exit %d, want %d: %s", code, exitUnreachable, stderr)
	}
	if len(r.Unreachable) != 1 || r.Unreachable[0] != "ws5" || !strings.Contains(stderr, "ws5") {
		t.Errorf("unreachable host not named: %v / %s", r.Unreachable, stderr)
	}
	for _, s := range r.Steps {
		if s.Outcome == result.Changed || s.Outcome == result.OK {
			t.Errorf("%s reported %s on an unreachable host", s.ID, s.Outcome)
		}
	}
	// Resume the failed run from the journal once sshd is back.
	code, resumed, stderr := e.jsonRun("resume", r.ID)
	if code != exitOK {
		t.Fatalf("resume with sshd back: exit %d: %s", code, stderr)
	}
	if c := result.Counts(resumed.Steps); c[result.Changed] == 0 || c[result.Failed] != 0 {
		t.Errorf("resume: %v", c)
	}
	_, hist, _ := e.onboard("history", "--hire", "E30")
	if !strings.Contains(hist, "resume of "+r.ID) && !strings.Contains(hist, "ok") {
		t.Errorf("history after resume:\n%s", hist)
	}

	// A workstation presenting another host key is refused, even when new
	// keys are accepted, and nothing is done.
	if err := l.RotateHostKey(context.Background(), "ws5"); err != nil {
		t.Fatal(err)
	}
	code, r, stderr = e.jsonRun("--accept-new-host-key", pb)
	if code != exitUnreachable {
		t.Fatalf("changed host key: exit %d, want %d", code, exitUnreachable)
	}
	found := false
	for _, s := range r.Steps {
		if s.Failure != nil && strings.Contains(s.Failure.Message, "host key") {
			found = true
		}
		if s.Outcome == result.OK || s.Outcome == result.Changed {
			t.Errorf("%s ran against a host with a changed key", s.ID)
		}
	}
	if !found {
		t.Errorf("no step names the host key problem: %s", stderr)
	}
}

// The dry run changes nothing and says what would change.
func TestPlanChangesNothing(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	pb := e.write("eve.yaml", fmt.Sprintf(hireTmpl, "E40", "Eve", "Arden", "sales", "ws6", ""))
	code, out, stderr := e.onboard("plan", "--detailed-exitcode", pb)
	if code != exitChanges {
		t.Fatalf("plan exit %d, want %d: %s", code, exitChanges, stderr)
	}
	if !strings.Contains(out, "acme-crm") || !strings.Contains(out, "+") {
		t.Errorf("plan does not show the install:\n%s", out)
	}
	if o, _, _ := l.Exec(context.Background(), "ws6", "dpkg-query -W acme-crm 2>/dev/null || true"); strings.Contains(o, "5.2.0") {
		t.Errorf("the dry run installed software")
	}
	code, out, _ = e.onboard("plan", "-o", "json", pb)
	var p struct {
		Steps []struct{ ID, Action string }
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Steps) == 0 {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	for _, s := range p.Steps {
		if s.Action == "" {
			t.Errorf("step %s has no action in the JSON plan", s.ID)
		}
	}
	_ = code
}

// A machine described in the playbook itself (not in the inventory), with
// a sudo password from the environment. The password must not appear in
// any output, even when a command prints it.
func TestInlineMachineAndRedaction(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	const pw = "S3cret-e2e-sudo-pw"
	t.Setenv("ONBOARD_E2E_SUDO_PW", pw)
	var ws4 lab.Workstation
	for _, w := range l.Workstations {
		if w.Name == "ws4" {
			ws4 = w
		}
	}
	pb := e.write("fay.yaml", fmt.Sprintf(`person:
  employee_id: E50
  given_name: Fay
  surname: Wray
  start_date: 2026-12-01
machine:
  host: laptop-fay
  address: %s
  os: linux
  user: onboard
  credential: lab-key
  become_password: e2e-sudo
  software: [hr-portal]
  commands:
    - name: leak
      run: "echo the password is $(cat /etc/onboard-leak); exit 3"
      unless: "false"
handover:
  reports: [out/fay.html, out/fay.md, out/fay.xml, out/fay.json]
`, ws4.Addr))
	// The lab's inventory allows its network with lab-key; the sudo
	// password is a credential the technician names for that address.
	e.write("inventory/sudo.yaml", fmt.Sprintf(`playbooks:
  inline_machines:
    - addresses: [%s]
      credentials: [lab-key, e2e-sudo]
      known_hosts: [%s]
  credentials:
    e2e-sudo: env:ONBOARD_E2E_SUDO_PW
`, ws4.Addr, l.KnownHostsFile))
	// The host holds the secret and a command prints it: remote output is
	// where secrets leak in practice.
	wsExec(t, l, "ws4", "echo "+pw+" > /etc/onboard-leak")
	code, out, stderr := e.onboard("--report", filepath.Join(e.dir, "out/all.md"), pb)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d (the leak command fails)\n%s\n%s", code, exitFailed, out, stderr)
	}
	if v := wsExec(t, l, "ws4", "dpkg-query -W -f='${Version}' acme-hr"); v != "4.0.0" {
		t.Errorf("inline machine: acme-hr %q", v)
	}
	if !strings.Contains(out, "the password is [redacted]") {
		t.Errorf("the failing command's output is not shown (redacted):\n%s", out)
	}
	outputs := map[string]string{"stdout": out, "stderr": stderr}
	code, jsonOut, _ := e.onboard("-o", "json", pb)
	outputs["json"] = jsonOut
	_, planOut, _ := e.onboard("plan", "-o", "json", pb)
	outputs["plan"] = planOut
	for _, f := range []string{"out/fay.html", "out/fay.md", "out/fay.xml", "out/fay.json", "out/all.md"} {
		b, err := os.ReadFile(filepath.Join(e.dir, f))
		if err != nil {
			t.Fatalf("report %s: %v", f, err)
		}
		outputs[f] = string(b)
	}
	for name, s := range outputs {
		if strings.Contains(s, pw) {
			t.Errorf("%s shows the sudo password", name)
		}
	}
	_ = code
}

// The text output shows the checked plan, then applies and re-checks for
// handover: all of it over one SSH connection to the host, as sshd counts
// them.
func TestTextOutputOneConnection(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	const ws = "ws3"
	accepted := func() int {
		out := wsExec(t, l, ws, "grep -c 'Accepted publickey' /var/log/sshd.log || true")
		n, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("sshd log count %q: %v", out, err)
		}
		return n
	}
	pb := e.write("hal.yaml", fmt.Sprintf(hireTmpl, "E61", "Hal", "Foster", "front-desk", ws, `  commands:
    - name: scratch
      run: mkdir -p /srv/scratch
      creates: /srv/scratch
      privileged: true
checks:
  - name: os release
    command: {run: test -r /etc/os-release, exit_status: 0}
`))
	before := accepted()
	code, out, stderr := e.onboard(pb)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	if !strings.Contains(out, "scratch") {
		t.Errorf("the text output does not show the plan:\n%s", out)
	}
	if n := accepted() - before; n != 1 {
		t.Errorf("sshd accepted %d connections for one text-output run, want 1", n)
	}
}

// TestChecksInOneRoundTrip holds the design that makes checks cheap: a
// host's checks are read in one batch (one job in its long-lived shell),
// the handover's re-checks in one more, and no check runs on its own. With
// text output, the apply takes the plan's in-place verdicts, so text costs
// the same two batches as JSON.
func TestChecksInOneRoundTrip(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	const ws = "ws3"
	var b strings.Builder
	fmt.Fprintf(&b, "person:\n  employee_id: E62\n  given_name: Ida\n  surname: Round\n  start_date: 2026-12-01\nmachine:\n  host: %s\nchecks:\n", ws)
	for i, p := range []string{"/etc/passwd", "/etc/group", "/etc/hostname", "/bin/sh", "/etc/os-release"} {
		fmt.Fprintf(&b, "  - name: file-%d\n    file: {path: %s}\n  - name: cmd-%d\n    command: {run: test -e %s}\n", i, p, i, p)
	}
	pb := e.write("ida.yaml", b.String())
	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			code, out, stderr := e.onboard("-vv", "-o", output, pb)
			if code != exitOK {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, stderr)
			}
			var line string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, "connection closed") && strings.Contains(l, "host="+ws) {
					line = l
				}
			}
			// Two batches (the checks, the handover re-checks), each a job
			// in the login user's shell and one in the privileged shell.
			for _, want := range []string{"dials=1", "batches=4", "commands=0"} {
				if !strings.Contains(line, want) {
					t.Errorf("%s output: want %s in the host's connection figures %q", output, want, line)
				}
			}
		})
	}
}
