package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/result"
)

const leaverHire = `person:
  employee_id: %[1]s
  given_name: Lee
  surname: Leaver%[1]s
  title: Engineer
  manager: ghopper
  start_date: 2026-12-01
profile: engineering
account:
  directory: corp-ldap
  must_change_password: false
  password: {deliver: "file:pw/%[1]s.pw"}
machine:
  host: %[2]s
  software: {omit: [chat]}
`

// leaverEnv is an env whose directories move leavers to their OU=Leavers
// and keep them 30 days (OpenLDAP) or not at all (Active Directory).
func leaverEnv(t *testing.T, l *lab.Lab) *env {
	t.Helper()
	e := newEnv(t, l)
	p := filepath.Join(e.inv, filepath.Base(l.InventoryFile))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// Active Directory's leavers may be deleted at once (retention 0).
	for name, retention := range map[string]int{"corp-ldap": 30, "corp-ad": 0} {
		d := labDir(t, l, name)
		i := strings.Index(s, "  "+name+":\n")
		j := strings.Index(s[i:], "    ca_cert: ")
		if i < 0 || j < 0 {
			t.Fatalf("the lab inventory has no %s with a ca_cert:\n%s", name, s)
		}
		k := i + j + strings.Index(s[i+j:], "\n") + 1
		s = s[:k] + fmt.Sprintf("    leavers: {ou: \"OU=Leavers,%s\", retention_days: %d}\n", d.BaseDN, retention) + s[k:]
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// leaverState is what the directory says of a leaver: their DN, whether a
// bind with their delivered password works, and the groups that list them.
type leaverState struct {
	dn     string
	binds  bool
	groups []string
}

func readLeaver(t *testing.T, l *lab.Lab, e *env, id string) leaverState {
	t.Helper()
	return readLeaverIn(t, l, e, "corp-ldap", id)
}

// readLeaverIn reads a leaver's state in the lab directory name.
func readLeaverIn(t *testing.T, l *lab.Lab, e *env, name, id string) leaverState {
	t.Helper()
	d := labDir(t, l, name)
	c := ldapAs(t, d)
	attr := "employeeNumber"
	if name == "corp-ad" {
		attr = "employeeID"
	}
	u := entry(t, c, d.BaseDN, "("+attr+"="+id+")")
	pw, err := os.ReadFile(filepath.Join(e.dir, "pw", id+".pw"))
	if err != nil {
		t.Fatal(err)
	}
	st := leaverState{dn: u.DN, binds: bindWith(t, d, u.DN, strings.TrimSpace(string(pw))) == nil}
	filter := "(member=" + ldap.EscapeFilter(u.DN) + ")"
	if uid := u.GetAttributeValue("uid"); uid != "" {
		filter = "(|" + filter + "(memberUid=" + ldap.EscapeFilter(uid) + "))"
	}
	res, err := c.Search(ldap.NewSearchRequest(d.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"cn"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range res.Entries {
		st.groups = append(st.groups, g.DN)
	}
	return st
}

// offboarded fails the test unless the leaver is fully offboarded: no
// bind, no group, in the leavers OU.
func offboarded(t *testing.T, what string, st leaverState) {
	t.Helper()
	if st.binds || len(st.groups) > 0 || !strings.Contains(strings.ToLower(st.dn), ",ou=leavers,") {
		t.Errorf("%s: the leaver is not offboarded: binds %v, groups %v, DN %s", what, st.binds, st.groups, st.dn)
	}
}

// onboardLeaver sets a hire up for real on ws and returns their state.
func onboardLeaver(t *testing.T, l *lab.Lab, e *env, id, ws string) leaverState {
	t.Helper()
	// The printer mapped by this run, not found in place: onboard's to remove.
	wsExec(t, l, ws, "lpadmin -x Office-2F 2>/dev/null; true")
	pb := e.write(id+".yaml", fmt.Sprintf(leaverHire, id, ws))
	code, r, stderr := e.jsonRun(pb, "--allow-write", e.dir)
	if code != exitOK {
		t.Fatalf("onboard %s: exit %d: %s\n%+v", id, code, stderr, r.Steps)
	}
	st := readLeaver(t, l, e, id)
	if !st.binds || len(st.groups) == 0 {
		t.Fatalf("%s after onboarding: binds %v, groups %v", id, st.binds, st.groups)
	}
	return st
}

// A hire onboarded for real (OpenLDAP with ppolicy, a lab workstation),
// then offboarded: before the leave time nothing but the expiry; at it,
// every access removal is done and proven (a bind fails, no group lists
// them, the account is in the leavers OU, the printer onboard mapped is
// gone); a re-run changes nothing.
func TestOffboardAfterARealRun(t *testing.T) {
	l := needLab(t)
	e := leaverEnv(t, l)
	const id, ws = "E280", "ws2"
	before := onboardLeaver(t, l, e, id, ws)
	// The directories date a password change in whole seconds: a setup in
	// the same second as the leave would read as already scrambled.
	time.Sleep(1100 * time.Millisecond)

	// The dry run: every step would change something, nothing does.
	code, out, stderr := e.onboard("offboard", id, "-i", e.inv, "--check", "-o", "json")
	var shown plan.Plan
	if err := json.Unmarshal([]byte(out), &shown); code != exitOK || err != nil {
		t.Fatalf("offboard --check: exit %d, %v: %s\n%s", code, err, out, stderr)
	}
	for _, s := range shown.Steps {
		if s.Action != plan.ActionCreate && s.Action != plan.ActionUpdate && s.Action != plan.ActionRemove && s.Kind != plan.KindLoginRevoke {
			t.Errorf("offboard --check: step %s %s: %s", s.ID, s.Action, s.Reason)
		}
	}
	if st := readLeaver(t, l, e, id); !st.binds || len(st.groups) != len(before.groups) {
		t.Errorf("the dry run changed the account: %+v", st)
	}

	// A leave time next week: the disable is not yet, the rest waits.
	at := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second)
	code, r, stderr := e.jsonRun("offboard", id, "-i", e.inv, "--at", at.Format(time.RFC3339))
	if code != exitFailed || !strings.Contains(stderr, "is in the future") {
		t.Fatalf("offboard --at next week: exit %d, want %d: %s", code, exitFailed, stderr)
	}
	for _, s := range r.Steps {
		switch {
		case s.Kind == plan.KindAccountDisable:
			if s.Outcome != result.Failed || s.Failure == nil || s.Failure.Class != result.ClassNotYet ||
				!strings.Contains(s.Failure.Message, "due at "+at.Format(time.RFC3339)) {
				t.Errorf("disable before the leave time: %s %+v", s.Outcome, s.Failure)
			}
		case s.Kind == plan.KindAccountExpire:
			if s.Outcome != result.Changed {
				t.Errorf("the expiry, a backstop, is set at once: %s %+v", s.Outcome, s.Failure)
			}
		case s.Outcome != result.Skipped:
			t.Errorf("step %s ran before the leave time: %s %s", s.ID, s.Outcome, s.Changed)
		}
	}
	if st := readLeaver(t, l, e, id); !st.binds || len(st.groups) != len(before.groups) || st.dn != before.dn {
		t.Errorf("before the leave time the account changed: %+v, was %+v", st, before)
	}

	// Now.
	code, r, stderr = e.jsonRun("offboard", id, "-i", e.inv)
	if code != exitOK {
		t.Fatalf("offboard: exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	kinds := map[string]int{}
	for _, s := range r.Steps {
		kinds[s.Kind]++
		want := result.Changed
		if s.Kind == plan.KindLoginRevoke {
			// An OpenLDAP account does not sign in on the lab's
			// workstations: nothing to revoke there, proven by the check.
			want = result.OK
		}
		if s.Outcome != want {
			t.Errorf("offboard step %s: %s, want %s: %s %+v", s.ID, s.Outcome, want, s.Changed, s.Failure)
		}
	}
	for _, k := range []string{plan.KindAccountDisable, plan.KindPasswordScramble, plan.KindMembershipRemove, plan.KindAccountMove,
		plan.KindAccountExpire, plan.KindLoginRevoke, plan.KindPrinterRemove} {
		if kinds[k] == 0 {
			t.Errorf("the offboarding has no %s step: %v", k, kinds)
		}
	}
	if kinds[plan.KindMembershipRemove] != len(before.groups) {
		t.Errorf("%d membership removals, for %d groups", kinds[plan.KindMembershipRemove], len(before.groups))
	}
	offboarded(t, "after offboard", readLeaver(t, l, e, id))
	if v := wsExec(t, l, ws, "LC_ALL=C lpstat -v 2>&1; true"); strings.Contains(v, "Office-2F") {
		t.Errorf("the printer onboard mapped is still there: %s", v)
	}
	if len(r.Hires) != 1 || !strings.Contains(strings.Join(r.Hires[0].Manual, "\n"), "Hand over the mailbox of Lee LeaverE280 to ghopper") {
		t.Errorf("no mailbox hand-over naming the manager: %+v", r.Hires)
	}

	// Again: nothing changes.
	code, r, stderr = e.jsonRun("offboard", id, "-i", e.inv)
	if code != exitOK {
		t.Fatalf("offboard again: exit %d: %s", code, stderr)
	}
	for _, s := range r.Steps {
		if s.Outcome != result.OK {
			t.Errorf("offboard again: step %s %s: %s %+v", s.ID, s.Outcome, s.Changed, s.Failure)
		}
	}
	offboarded(t, "after a re-run", readLeaver(t, l, e, id))
	// As text: the plan shown, each step in place, the hand-over to do.
	code, out, stderr = e.onboard("offboard", id, "-i", e.inv)
	for _, want := range []string{"Disable Lee LeaverE280's account lleavere280 in corp-ldap", "Move lleavere280 to OU=Leavers,",
		"Revoke lleavere280's sign-in on ws2", "Hand over the mailbox of Lee LeaverE280 to ghopper"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("offboard as text: exit %d, no %q in:\n%s\n%s", code, want, out, stderr)
		}
	}
	if strings.Contains(out, "vpn-users") {
		t.Errorf("the offboarding's text lists the setup's groups as the hire's:\n%s", out)
	}

	// A purge within the retention is refused, saying until when.
	code, _, stderr = e.onboard("offboard", id, "-i", e.inv, "--purge")
	if code != exitInvalid || !strings.Contains(stderr, "is retained until ") {
		t.Errorf("purge within the retention: exit %d: %s", code, stderr)
	}
}

// An offboarding killed with SIGKILL at several points, then resumed from
// the journal: right after the kill the account is either disabled or
// untouched (never enabled with its groups gone or its password changed),
// and after the resume it is fully offboarded.
func TestOffboardKillAndResume(t *testing.T) {
	l := needLab(t)
	e := leaverEnv(t, l)
	bin := filepath.Join(t.TempDir(), "onboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	journalPath := filepath.Join(e.dir, "journal.db")
	for i, p := range []struct {
		id, ws string
		kill   int // after this many events
	}{{"E281", "ws1", 2}, {"E282", "ws6", 4}, {"E283", "ws7", 7}, {"E284", "ws3", 10}, {"E285", "ws4", 13}} {
		before := onboardLeaver(t, l, e, p.id, p.ws)
		cmd := exec.Command(bin, "offboard", p.id, "-i", e.inv, "--journal", journalPath, "-o", "json")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		n, runID, killedAt := 0, "", ""
		for sc.Scan() {
			var ev result.Event
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			n++
			runID = ev.RunID
			if n == p.kill {
				killedAt = string(ev.Type)
				if ev.Step != nil {
					killedAt += " " + ev.Step.ID
				}
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		_ = cmd.Wait()
		if n < p.kill || runID == "" {
			t.Fatalf("kill point %d: the run ended after %d events", i, n)
		}
		st := readLeaver(t, l, e, p.id)
		if st.binds && (len(st.groups) != len(before.groups) || st.dn != before.dn) {
			t.Errorf("kill point %d (killed at %s): half-state: the account still binds, with groups %v (were %v), DN %s",
				i, killedAt, st.groups, before.groups, st.dn)
		}
		t.Logf("kill point %d: killed at event %d (%s): binds %v, %d of %d groups, DN %s", i, n, killedAt, st.binds, len(st.groups), len(before.groups), st.dn)
		out, err := exec.Command(bin, "resume", runID, "--journal", journalPath).CombinedOutput()
		if err != nil {
			t.Fatalf("kill point %d (killed at %s): resume failed: %v\n%s", i, killedAt, err, out)
		}
		offboarded(t, fmt.Sprintf("kill point %d (killed at %s), resumed", i, killedAt), readLeaver(t, l, e, p.id))
	}
	if out, err := exec.Command(bin, "journal", "verify", "--journal", journalPath).CombinedOutput(); err != nil {
		t.Errorf("journal verify: %v\n%s", err, out)
	}
}

const adLeaverHire = `person:
  employee_id: %[1]s
  given_name: Ada
  surname: Leaver%[1]s
  manager: ghopper
  start_date: 2026-12-01
profile: engineering
account:
  directory: corp-ad
  must_change_password: false
  password: {deliver: "file:pw/%[1]s.pw"}
machine:
  host: %[2]s
  software: {omit: [chat]}
  domain_join: {prestage: true}
`

// Active Directory: a hire with a joined (pre-staged) Linux machine,
// offboarded: the account disabled (a bind fails), out of every group, in
// the leavers OU, and the machine's computer account disabled; a re-run
// changes nothing.
func TestOffboardActiveDirectory(t *testing.T) {
	l := needLab(t)
	e := leaverEnv(t, l)
	const id, ws = "E290", "ws1"
	wsExec(t, l, ws, "lpadmin -x Office-2F 2>/dev/null; true")
	pb := e.write(id+".yaml", fmt.Sprintf(adLeaverHire, id, ws))
	code, r, stderr := e.jsonRun(pb, "--allow-write", e.dir)
	if code != exitOK {
		t.Fatalf("onboard %s: exit %d: %s\n%+v", id, code, stderr, r.Steps)
	}
	before := readLeaverIn(t, l, e, "corp-ad", id)
	if !before.binds || len(before.groups) == 0 {
		t.Fatalf("after onboarding: %+v", before)
	}
	code, r, stderr = e.jsonRun("offboard", id, "-i", e.inv)
	if code != exitOK {
		t.Fatalf("offboard: exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	var computer bool
	for _, s := range r.Steps {
		if s.Kind == plan.KindComputerDisable {
			computer = s.Outcome == result.Changed
		}
		if s.Kind != plan.KindLoginRevoke && s.Outcome != result.Changed {
			t.Errorf("offboard step %s: %s: %s %+v", s.ID, s.Outcome, s.Changed, s.Failure)
		}
	}
	if !computer {
		t.Errorf("the computer account was not disabled: %+v", r.Steps)
	}
	st := readLeaverIn(t, l, e, "corp-ad", id)
	offboarded(t, "after offboard", st)
	ad := labDir(t, l, "corp-ad")
	comp := entry(t, ldapAs(t, ad), ad.BaseDN, "(sAMAccountName="+strings.ToUpper(ws)+"$)", "userAccountControl")
	if uac, _ := strconv.Atoi(comp.GetAttributeValue("userAccountControl")); uac&2 == 0 {
		t.Errorf("computer %s: userAccountControl %d, not disabled", comp.DN, uac)
	}
	code, r, stderr = e.jsonRun("offboard", id, "-i", e.inv)
	if code != exitOK {
		t.Fatalf("offboard again: exit %d: %s", code, stderr)
	}
	for _, s := range r.Steps {
		if s.Outcome != result.OK {
			t.Errorf("offboard again: step %s %s: %s %+v", s.ID, s.Outcome, s.Changed, s.Failure)
		}
	}

	// Under a legal hold the account is not deleted, whatever the
	// retention; once the hold is lifted, a purge deletes it.
	hold := e.write("inventory/holds.yaml", "legal_holds:\n  - {employee_id: "+id+", reason: matter 2026-17, since: 2026-11-20}\n")
	code, _, stderr = e.onboard("offboard", id, "-i", e.inv, "--purge")
	if code != exitInvalid || !strings.Contains(stderr, "is under legal hold since 2026-11-20 (matter 2026-17; ") {
		t.Errorf("purge under a legal hold: exit %d: %s", code, stderr)
	}
	readLeaverIn(t, l, e, "corp-ad", id) // still there: entry fails the test otherwise
	if err := os.Remove(hold); err != nil {
		t.Fatal(err)
	}
	code, r, stderr = e.jsonRun("offboard", id, "-i", e.inv, "--purge")
	if code != exitOK || len(r.Steps) != 1 || r.Steps[0].Kind != plan.KindAccountDelete || r.Steps[0].Outcome != result.Changed {
		t.Fatalf("purge: exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	res, err := ldapAs(t, ad).Search(ldap.NewSearchRequest(ad.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(employeeID="+id+")", []string{"dn"}, nil))
	if err != nil || len(res.Entries) != 0 {
		t.Errorf("after the purge the account is still there: %v %v", res, err)
	}
}

// The inventory's explicit parts on a real machine: the home archived (and
// kept), a wipe hook run with its values as data, after the access is
// gone; a re-run changes nothing.
func TestOffboardArchiveAndHooks(t *testing.T) {
	l := needLab(t)
	e := leaverEnv(t, l)
	e.write("inventory/offboarding.yaml", `offboarding:
  archive_home: /srv/archive/${account.username}-${offboard.date}.tar.gz
  hooks:
    - name: wipe-cache
      run: mkdir -p /var/lib/onboard-test && rm -rf /var/cache/acme-"${account.username}" && touch /var/lib/onboard-test/wiped-"${person.employee_id}"
      creates: /var/lib/onboard-test/wiped-${person.employee_id}
`)
	const id, ws = "E286", "ws3"
	onboardLeaver(t, l, e, id, ws)
	wsExec(t, l, ws, "rm -rf /srv/archive /var/lib/onboard-test; mkdir -p /home/lleavere286 /var/cache/acme-lleavere286 && echo notes >/home/lleavere286/notes.txt")
	code, r, stderr := e.jsonRun("offboard", id, "-i", e.inv)
	if code != exitOK {
		t.Fatalf("offboard: exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	ran := map[string]result.Outcome{}
	for _, s := range r.Steps {
		ran[s.Kind] = s.Outcome
	}
	if ran[plan.KindHomeArchive] != result.Changed || ran[plan.KindCommand] != result.Changed {
		t.Errorf("home-archive %s, hook %s; want both changed", ran[plan.KindHomeArchive], ran[plan.KindCommand])
	}
	got := wsExec(t, l, ws, "tar -tzf /srv/archive/lleavere286-*.tar.gz; stat -c %a /srv/archive/lleavere286-*.tar.gz; cat /home/lleavere286/notes.txt; "+
		"ls /var/lib/onboard-test; test -e /var/cache/acme-lleavere286 && echo cache-left || echo cache-gone")
	for _, want := range []string{"./notes.txt", "600", "notes", "wiped-E286", "cache-gone"} {
		if !strings.Contains(got, want) {
			t.Errorf("on %s: no %q in:\n%s", ws, want, got)
		}
	}
	code, r, stderr = e.jsonRun("offboard", id, "-i", e.inv)
	if code != exitOK {
		t.Fatalf("offboard again: exit %d: %s", code, stderr)
	}
	for _, s := range r.Steps {
		if s.Outcome != result.OK {
			t.Errorf("offboard again: step %s %s: %s %+v", s.ID, s.Outcome, s.Changed, s.Failure)
		}
	}
}
