package main

// onboard serve end to end: real processes of the command, HR events
// signed and posted over HTTP, runs against the lab's workstations and
// Samba AD DC, the journal, PostgreSQL for several instances, SIGKILL and
// SIGTERM mid-run.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/hrevent"
	"onboard/internal/journal"
	"onboard/internal/lab"
)

const (
	serveHRKey    = "serve-e2e-hr-key-0123456789"
	serveAPIToken = "serve-e2e-api-token-0123456789"
)

var (
	serveBinOnce sync.Once
	serveBin     string
	serveBinErr  error
)

// onboardBinary builds the command once for the package's process tests.
func onboardBinary(t *testing.T) string {
	t.Helper()
	serveBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "onboard-bin-")
		if err != nil {
			serveBinErr = err
			return
		}
		serveBin = filepath.Join(dir, "onboard")
		if out, err := exec.Command("go", "build", "-o", serveBin, ".").CombinedOutput(); err != nil {
			serveBinErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if serveBinErr != nil {
		t.Fatal(serveBinErr)
	}
	return serveBin
}

// serveEnv is an inventory with an hr section routing departments to the
// lab's hosts, and the test's own profiles.
func serveEnv(t *testing.T, l *lab.Lab) *env {
	t.Helper()
	e := newEnv(t, l)
	e.write("profiles/hr-basic.yaml", `description: HR-triggered hires (tests)
software: [chat]
checks:
  - name: chat-installed
    package: {name: acme-chat}
`)
	e.write("profiles/hr-groups.yaml", `description: HR-triggered hires with a group (tests)
groups: [engineering]
`)
	e.write("profiles/hr-slow.yaml", `description: HR-triggered hires whose activation takes a while (tests)
checks:
  - name: slow-check
    command: {run: "sleep 3"}
`)
	e.write("inventory/hr.yaml", fmt.Sprintf(`hr:
  schedules:
    default:
      account:    {working_days_before: 0, at: "00:00"}
      machine:    {working_days_before: 0, at: "00:00"}
      activation: {working_days_before: 0, at: "00:00"}
  rules:
    - name: engineers
      match: {department: Engineering}
      profile: hr-basic
      directory: corp-ad
      machine: {pool: [ws6, ws7]}
      password: {deliver: "file:%[1]s/pw/${person.employee_id}.txt"}
      handover: {contact: it-desk@corp.example.test, reports: ["%[1]s/out/${person.employee_id}.html"]}
    - name: grouped
      match: {department: Grouped}
      profile: hr-groups
      directory: corp-ad
      machine: {pool: [ws6, ws7]}
      password: {deliver: "file:%[1]s/pw/${person.employee_id}.txt"}
    - name: slow
      match: {department: Slow}
      profile: hr-slow
      directory: corp-ad
      machine: {pool: [ws2, ws3, ws4]}   # not ws5: TestUnreachableAndHostKey rotates its host key
      password: {deliver: "file:%[1]s/pw/${person.employee_id}.txt"}
`, e.dir))
	return e
}

// serveProc is one `onboard serve` process.
type serveProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan error
}

func startServe(t *testing.T, e *env, extra ...string) *serveProc {
	t.Helper()
	args := append([]string{"serve", "-i", e.inv, "--profiles", filepath.Join(e.dir, "profiles"),
		"--journal", filepath.Join(e.dir, "journal.db"), "--listen", "127.0.0.1:0",
		"--hr-key", "env:ONBOARD_TEST_HR_KEY", "--api-token", "tech=env:ONBOARD_TEST_API_TOKEN",
		"--lease", "3s", "--poll", "100ms", "--stop-timeout", "1s"}, extra...)
	cmd := exec.Command(onboardBinary(t), args...)
	cmd.Env = append(os.Environ(), "ONBOARD_TEST_HR_KEY="+serveHRKey, "ONBOARD_TEST_API_TOKEN="+serveAPIToken)
	p := &serveProc{t: t, cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	got := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if _, url, ok := strings.Cut(lines.Text(), "listening on "); ok {
				got <- url
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case p.url = <-got:
	case err := <-p.done:
		t.Fatalf("onboard serve exited: %v\n%s", err, p.logs.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("onboard serve did not listen\n%s", p.logs.String())
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
			}
		}
		if t.Failed() {
			t.Logf("onboard serve %s logs:\n%s", p.url, p.logs.String())
		}
	})
	return p
}

// stop sends sig and waits for the process to end.
func (p *serveProc) stop(sig syscall.Signal) error {
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		return fmt.Errorf("did not stop after %v", sig)
	}
}

// postHR signs and posts one native HR event.
func (p *serveProc) postHR(t *testing.T, body string) (int, map[string]any) {
	t.Helper()
	ts, sig := hrevent.Sign([]byte(serveHRKey), time.Now(), []byte(body))
	req, _ := http.NewRequest(http.MethodPost, p.url+"/hooks/hr", strings.NewReader(body))
	req.Header.Set(hrevent.HeaderTimestamp, ts)
	req.Header.Set(hrevent.HeaderSignature, sig)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// hireView is the API's view of a hire, as far as the tests read it.
type hireView struct {
	EmployeeID string    `json:"employee_id"`
	State      string    `json:"state"`
	Generation int       `json:"generation"`
	Progress   string    `json:"progress"`
	HeldReason string    `json:"held_reason"`
	Runs       []runView `json:"runs"`
}

// runView is the API's view of one run.
type runView struct {
	ID         string `json:"id"`
	Generation int    `json:"generation"`
	Phase      string `json:"phase"`
	State      string `json:"state"`
	Holder     string `json:"holder"`
	Attempts   int    `json:"attempts"`
	Error      string `json:"error"`
	JournalRun string `json:"journal_run"`
}

func (p *serveProc) hire(t *testing.T, emp string) (*hireView, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.url+"/api/v1/hires/"+emp, nil)
	req.Header.Set("Authorization", "Bearer "+serveAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h hireView
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	return &h, resp.StatusCode
}

// done reports whether every run of the hire's generation finished ok,
// and fails the test on a failed one.
func (h *hireView) done(t *testing.T) bool {
	t.Helper()
	n := 0
	for _, r := range h.Runs {
		if r.Generation != h.Generation {
			continue
		}
		n++
		if r.State == "failed" {
			t.Fatalf("run %s failed: %s", r.ID, r.Error)
		}
		if r.State != "ok" {
			return false
		}
	}
	return n == 3
}

func (p *serveProc) waitDone(t *testing.T, emp string, within time.Duration) *hireView {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h, code := p.hire(t, emp)
		if code == http.StatusOK && h.done(t) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("hire %s not done after %v: %+v", emp, within, h)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// adAccounts counts the AD accounts of an employee id.
func adAccounts(t *testing.T, l *lab.Lab, emp string) []*ldap.Entry {
	t.Helper()
	ad, _ := l.Directory("corp-ad")
	c := ldapAs(t, ad)
	res, err := c.Search(ldap.NewSearchRequest(ad.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(employeeID="+ldap.EscapeFilter(emp)+")", []string{"sAMAccountName", "sn", "userAccountControl", "memberOf"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	return res.Entries
}

// uniq tells this test run's hires from an earlier run's in the same lab
// (go test -count=N): the lab's directory keeps their accounts.
func uniq(s string) string { return fmt.Sprintf("%s-%d", s, time.Now().UnixNano()%1e9) }

func hrHire(id, emp, given, surname, dept string) string {
	b, _ := json.Marshal(map[string]any{"id": id, "type": "hire", "person": map[string]string{
		"employee_id": emp, "given_name": given, "surname": surname, "department": dept,
		"start_date": time.Now().UTC().Format(time.DateOnly)}})
	return string(b)
}

// An HR event alone leads to a verified setup and a handover report; the
// same event twice is one hire; a hostile name is stored and set up
// literally; every run is in the journal with its trigger.
func TestServeHREventToHandover(t *testing.T) {
	l := needLab(t)
	e := serveEnv(t, l)
	p := startServe(t, e)

	e1, e2, e3 := uniq("E9101"), uniq("E9102"), uniq("E9103")
	ev := hrHire(uniq("evt-e2e-1"), e1, "Ada", "Serve", "Engineering")
	code, a := p.postHR(t, ev)
	if code != http.StatusAccepted || a["result"] != "scheduled" {
		t.Fatalf("hire: %d %v", code, a)
	}
	code, a = p.postHR(t, ev)
	if code != http.StatusOK || a["duplicate"] != true {
		t.Fatalf("redelivery: %d %v", code, a)
	}
	hostile := `O'Brien"; touch /tmp/pwned-serve #`
	code, a = p.postHR(t, hrHire(uniq("evt-e2e-2"), e2, "$(touch /tmp/pwned-serve)", hostile, "Engineering"))
	if code != http.StatusAccepted {
		t.Fatalf("hostile hire: %d %v", code, a)
	}
	code, a = p.postHR(t, hrHire(uniq("evt-e2e-3"), e3, "Nora", "Nomatch", "Marketing"))
	if code != http.StatusAccepted || a["result"] != "held" || !strings.Contains(fmt.Sprint(a["detail"]), `department "Marketing"`) {
		t.Fatalf("unmapped hire: %d %v", code, a)
	}

	for _, emp := range []string{e1, e2} {
		h := p.waitDone(t, emp, 3*time.Minute)
		if h.Progress != "activation" || h.State != "scheduled" {
			t.Errorf("%s: progress %q state %q", emp, h.Progress, h.State)
		}
		accts := adAccounts(t, l, emp)
		if len(accts) != 1 {
			t.Fatalf("%s: %d accounts", emp, len(accts))
		}
		if uac := accts[0].GetAttributeValue("userAccountControl"); uac != "512" {
			t.Errorf("%s: account not enabled (userAccountControl %s)", emp, uac)
		}
	}
	if sn := adAccounts(t, l, e2)[0].GetAttributeValue("sn"); sn != hostile {
		t.Errorf("hostile surname stored as %q", sn)
	}
	for _, ws := range []string{"ws6", "ws7"} {
		if out, _, _ := l.Exec(context.Background(), ws, "test -e /tmp/pwned-serve && echo PWNED"); strings.Contains(out, "PWNED") {
			t.Fatalf("a name ran as code on %s", ws)
		}
	}
	report := mustRead(t, filepath.Join(e.dir, "out", e1+".html"))
	if !strings.Contains(report, "Ada Serve") || !strings.Contains(report, "chat-installed") {
		t.Errorf("handover report lacks the hire or the check")
	}
	if st, err := os.Stat(filepath.Join(e.dir, "pw", e1+".txt")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("password file: %v %v", st, err)
	}
	// The held hire waits for a technician: nothing ran for it.
	if h, _ := p.hire(t, e3); h.State != "held" || len(h.Runs) != 0 {
		t.Errorf("held hire: %+v", h)
	}
	// The handover report through the API, with the token.
	req, _ := http.NewRequest(http.MethodGet, p.url+"/api/v1/hires/"+e1+"/handover?format=md", nil)
	req.Header.Set("Authorization", "Bearer "+serveAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(md, []byte("Ada Serve")) {
		t.Errorf("handover via the API: %d %s", resp.StatusCode, md)
	}

	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	// The journal verifies, and holds each phase's run once, ok.
	ok, _ := journalRuns(t, e, e1)
	if len(ok) != 3 {
		t.Errorf("ok journal runs of %s: %v, want one per phase", e1, ok)
	}
}

// Two instances share one PostgreSQL queue: every run is done once, by one
// of them; the instance holding a run mid-step is killed (SIGKILL) and the
// other takes the run over when its lease runs out and finishes it from
// the check of every step: one account per hire, never two.
func TestServeTwoInstancesSurviveSIGKILL(t *testing.T) {
	l := needLab(t)
	e := serveEnv(t, l)
	pg := lab.PostgresForTest(t)
	a := startServe(t, e, "--database", pg.DSN, "--instance", "alpha", "--workers", "1")
	b := startServe(t, e, "--database", pg.DSN, "--instance", "bravo", "--workers", "1")

	emps := []string{uniq("E9201"), uniq("E9202"), uniq("E9203")}
	for i, emp := range emps {
		if code, ans := a.postHR(t, hrHire(uniq(fmt.Sprintf("evt-kill-%d", i)), emp, "Kim", fmt.Sprintf("Twice%d", i), "Slow")); code != http.StatusAccepted {
			t.Fatalf("%s: %d %v", emp, code, ans)
		}
	}
	// Wait until alpha holds a run, in the middle of it, then kill alpha.
	var killed string
	deadline := time.Now().Add(2 * time.Minute)
	for killed == "" {
		for _, emp := range emps {
			h, _ := b.hire(t, emp)
			for _, r := range h.Runs {
				if r.State == "running" && r.Holder == "alpha" && r.Phase == "activation" {
					killed = r.ID
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("alpha never ran an activation")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // inside its slow check
	if err := a.stop(syscall.SIGKILL); err == nil {
		t.Fatal("alpha exited cleanly after SIGKILL")
	}
	for _, emp := range emps {
		h := b.waitDone(t, emp, 3*time.Minute)
		for _, r := range h.Runs {
			if r.ID == killed && (r.Holder != "bravo" || r.Attempts != 2) {
				t.Errorf("the killed run %s: holder %s, %d attempts; want bravo, 2", r.ID, r.Holder, r.Attempts)
			}
			if r.ID != killed && r.Attempts != 1 {
				t.Errorf("run %s was attempted %d times", r.ID, r.Attempts)
			}
		}
		if n := len(adAccounts(t, l, emp)); n != 1 {
			t.Errorf("%s: %d accounts", emp, n)
		}
	}
	if err := b.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("bravo: %v", err)
	}
	// The journal: each store run finished ok exactly once; the killed
	// one also left an interrupted journal run behind (alpha's).
	ok, interrupted := journalRuns(t, e, emps...)
	if len(ok) != 3*len(emps) || len(interrupted) != 1 || interrupted[killed] != 1 {
		t.Errorf("journal: ok %v, interrupted %v; want %d runs ok once each, and %s interrupted once", ok, interrupted, 3*len(emps), killed)
	}
	for id, n := range ok {
		if n != 1 {
			t.Errorf("run %s finished ok %d times", id, n)
		}
	}
}

// journalRuns opens the journal, checks its chain, and counts the journal
// runs of the hires by store run and outcome; every one must have been
// triggered by an HR event.
func journalRuns(t *testing.T, e *env, emps ...string) (ok, interrupted map[string]int) {
	t.Helper()
	j, err := journal.Open(context.Background(), filepath.Join(e.dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.CheckChain(context.Background()); err != nil {
		t.Fatal(err)
	}
	ok, interrupted = map[string]int{}, map[string]int{}
	for _, emp := range emps {
		runs, err := j.Runs(context.Background(), journal.Filter{Hire: emp})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if !strings.HasPrefix(r.Trigger, "hr:") {
				t.Errorf("journal run %s: trigger %q", r.ID, r.Trigger)
			}
			switch r.Outcome {
			case "ok":
				ok[runIDOf(r.Mode)]++
			case "interrupted", "running":
				interrupted[runIDOf(r.Mode)]++
			}
		}
	}
	return ok, interrupted
}

// runIDOf reads the store run out of a journal run's mode:
// "serve PHASE (run ID, attempt N)".
func runIDOf(mode string) string {
	_, rest, _ := strings.Cut(mode, "(run ")
	id, _, _ := strings.Cut(rest, ",")
	return id
}

// SIGTERM mid-run: the instance stops taking work, interrupts the run
// after --stop-timeout and exits 0; started again, it completes the run
// exactly once.
func TestServeSIGTERMThenRestart(t *testing.T) {
	l := needLab(t)
	e := serveEnv(t, l)
	p := startServe(t, e)
	emp := uniq("E9301")
	if code, ans := p.postHR(t, hrHire(uniq("evt-term-1"), emp, "Tess", "Terminated", "Slow")); code != http.StatusAccepted {
		t.Fatalf("%d %v", code, ans)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		h, _ := p.hire(t, emp)
		running := false
		for _, r := range h.Runs {
			running = running || (r.State == "running" && r.Phase == "activation")
		}
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("activation never started")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	q := startServe(t, e)
	h := q.waitDone(t, emp, 3*time.Minute)
	for _, r := range h.Runs {
		if r.Phase == "activation" && r.Attempts != 2 {
			t.Errorf("activation attempted %d times, want 2 (interrupted, then done)", r.Attempts)
		}
	}
	if n := len(adAccounts(t, l, emp)); n != 1 {
		t.Errorf("%d accounts", n)
	}
	q.stop(syscall.SIGTERM)
	ok, _ := journalRuns(t, e, emp)
	if len(ok) != 3 {
		t.Errorf("ok journal runs: %v", ok)
	}
	for id, n := range ok {
		if n != 1 {
			t.Errorf("run %s ok %d times", id, n)
		}
	}
}

// A leave event for someone serve set up offboards them at the leave time
// through the queue, planned as onboard offboard plans it: from the
// journal's record of the setup, the account disabled and out of its
// groups, recorded as an offboarding.
func TestServeLeaveOffboards(t *testing.T) {
	l := needLab(t)
	e := serveEnv(t, l)
	p := startServe(t, e)

	emp := uniq("E9151")
	if code, a := p.postHR(t, hrHire(uniq("evt-leave-hire"), emp, "Lea", "Leaver", "Grouped")); code != http.StatusAccepted {
		t.Fatalf("hire: %d %v", code, a)
	}
	p.waitDone(t, emp, 3*time.Minute)
	set := adAccounts(t, l, emp)[0]
	if uac := set.GetAttributeValue("userAccountControl"); uac != "512" {
		t.Fatalf("set up: userAccountControl %s, want 512", uac)
	}
	if len(set.GetAttributeValues("memberOf")) == 0 {
		t.Fatal("set up in no group: the offboarding's group removal would prove nothing")
	}

	// Her last day was yesterday: the offboarding is due now.
	leave, _ := json.Marshal(map[string]any{"id": uniq("evt-leave"), "type": "leave", "person": map[string]string{
		"employee_id": emp, "last_day": time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)}})
	if code, a := p.postHR(t, string(leave)); code != http.StatusAccepted {
		t.Fatalf("leave: %d %v", code, a)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		h, _ := p.hire(t, emp)
		i := slices.IndexFunc(h.Runs, func(r runView) bool { return r.Phase == "offboard" })
		if i >= 0 && h.Runs[i].State == "failed" {
			t.Fatalf("the offboarding failed: %s", h.Runs[i].Error)
		}
		if i >= 0 && h.Runs[i].State == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no offboarding done after 3 minutes: %+v", h.Runs)
		}
		time.Sleep(300 * time.Millisecond)
	}
	acct := adAccounts(t, l, emp)[0]
	if uac, _ := strconv.Atoi(acct.GetAttributeValue("userAccountControl")); uac&2 == 0 {
		t.Errorf("after the offboarding: userAccountControl %d, the account is not disabled", uac)
	}
	if g := acct.GetAttributeValues("memberOf"); len(g) != 0 {
		t.Errorf("after the offboarding the account is still in %v", g)
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	j, err := journal.Open(context.Background(), filepath.Join(e.dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	runs, err := j.Runs(context.Background(), journal.Filter{Hire: emp})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(runs, func(r journal.RunSummary) bool { return r.Mode == "offboard" && r.Outcome == "ok" }) {
		t.Errorf("the journal holds no ok offboarding of %s: %+v", emp, runs)
	}
}
