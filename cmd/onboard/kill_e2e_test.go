package main

// A run killed with SIGKILL at many points of a full onboarding, then
// resumed from the journal, ends in the same state as an uninterrupted
// run, and nothing that must happen once happened twice.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/lab"
	"onboard/internal/result"
)

const killPoints = 20

const killHire = `person:
  employee_id: K%[1]d
  given_name: Kim
  surname: Killed%[1]d
  start_date: 2026-12-01
profile: engineering
account:
  directory: corp-ad
  must_change_password: true
  password: {deliver: "file:pw/K%[1]d.pw"}
machine:
  host: ws%[1]d
  domain_join: {prestage: true}
  files:
    - path: /etc/motd
      content: "Welcome ${person.name}\n"
  commands:
    - name: workspace
      run: mkdir -p /srv/workspace/${account.username}
      creates: /srv/workspace/${account.username}
      privileged: true
`

func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the lab (run without -short)")
	}
	ctx := context.Background()
	// Its own lab: one fresh workstation per kill point, plus one for the
	// uninterrupted run.
	name, subnet := testLabName("k", 150)
	l := lab.ForTest(t, lab.Config{Name: name, Subnet: subnet, Workstations: killPoints + 1, ActiveDirectory: true})
	e := newEnv(t, l)
	bin := filepath.Join(t.TempDir(), "onboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	journalPath := filepath.Join(e.dir, "journal.db")
	args := func(more ...string) []string {
		if !readsPlaybooks(more) {
			return append([]string{"--journal", journalPath}, more...)
		}
		return append([]string{"-i", e.inv, "--profiles", "../../playbooks/profiles", "--journal", journalPath}, more...)
	}

	// The reference: hire 0 on ws... numbering starts at 1 in the lab, so
	// the uninterrupted run is the last workstation.
	ref := killPoints + 1
	refPB := e.write(fmt.Sprintf("k%d.yaml", ref), fmt.Sprintf(killHire, ref))
	if out, err := exec.Command(bin, args(refPB)...).CombinedOutput(); err != nil {
		t.Fatalf("the uninterrupted run failed: %v\n%s", err, out)
	}
	want := snapshot(t, l, ref)
	// The reference is a complete setup: one enabled account that must
	// change its password, its groups, one computer, joined, the software,
	// the default printer, the file and the workspace.
	for _, part := range []string{"accounts=1 USER uac=512 pwdLastSet0=true", "CN=engineering,", "computers=1", "acme-chat=3.1.0",
		"acme-ide=1.9.3", "system default destination: Office-2F", "Welcome Kim SURNAME", "workspace", "joined"} {
		if !strings.Contains(want, part) {
			t.Fatalf("the uninterrupted run's state lacks %q: %s", part, want)
		}
	}
	t.Logf("reference state: %s", want)

	// Count the events of a run to spread the kill points over all of them.
	var total int
	for i := 1; i <= killPoints; i++ {
		pb := e.write(fmt.Sprintf("k%d.yaml", i), fmt.Sprintf(killHire, i))
		cmd := exec.Command(bin, args("-o", "json", pb)...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after the k-th event: k runs over the whole run (about two
		// events per step), so every step kind is interrupted somewhere.
		k := 2 + (i-1)*2
		if total > 0 {
			k = 1 + (i-1)*(total-2)/(killPoints-1)
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
			if n == k {
				if ev.Step != nil {
					killedAt = string(ev.Type) + " " + ev.Step.ID
				} else {
					killedAt = string(ev.Type)
				}
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		_ = cmd.Wait()
		if i == 1 && n < k {
			t.Fatalf("the run ended after %d events, before the kill point %d", n, k)
		}
		if total == 0 {
			// Learn the run's length from the uninterrupted reference: its
			// events are in the journal.
			total = countEvents(t, bin, args, ref)
		}
		if runID == "" {
			t.Fatalf("kill point %d: no event before the kill", i)
		}
		// Resume from the journal.
		out, err := exec.Command(bin, args("resume", runID)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kill point %d (killed at %s): resume failed: %v\n%s", i, killedAt, err, out)
		}
		if got := snapshot(t, l, i); got != want {
			t.Errorf("kill point %d (killed at %s): the state differs from the uninterrupted run:\n got: %s\nwant: %s", i, killedAt, got, want)
		}
		t.Logf("kill point %d: killed at event %d (%s), resumed to the same state", i, k, killedAt)
	}
	// The journal of all this is intact.
	if out, err := exec.CommandContext(ctx, bin, args("journal", "verify")...).CombinedOutput(); err != nil {
		t.Errorf("journal verify: %v\n%s", err, out)
	}
}

// countEvents is the number of events recorded for the reference hire's run.
func countEvents(t *testing.T, bin string, args func(...string) []string, ref int) int {
	out, err := exec.Command(bin, args("history", "--hire", fmt.Sprintf("K%d", ref), "-o", "json")...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var runs []struct {
		ID    string
		Total int
	}
	if err := json.Unmarshal(out, &runs); err != nil || len(runs) == 0 {
		t.Fatalf("history: %v: %s", err, out)
	}
	// run-started, two per step, handover-started, run-finished.
	return 2*runs[0].Total + 3
}

// snapshot describes hire n's setup with the hire's own names replaced, so
// that two hires set up alike give the same text.
func snapshot(t *testing.T, l *lab.Lab, n int) string {
	t.Helper()
	ws := fmt.Sprintf("ws%d", n)
	user := fmt.Sprintf("kkilled%d", n)
	inside, _, err := l.Exec(context.Background(), ws, `dpkg-query -W -f='${Package}=${Version}\n' 'acme-*' 2>/dev/null | sort;
		LC_ALL=C lpstat -d; LC_ALL=C lpstat -v; cat /etc/motd; test -d /srv/workspace/`+user+` && echo workspace;
		adcli testjoin --domain=corp.example.test --domain-controller=$(getent hosts dc1.corp.example.test | cut -d' ' -f1) --host-keytab=/etc/krb5.keytab >/dev/null 2>&1 && echo joined`)
	if err != nil {
		t.Fatalf("%s: %v", ws, err)
	}
	ad, _ := l.Directory("corp-ad")
	c := ldapAs(t, ad)
	res, err := c.Search(ldap.NewSearchRequest(ad.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		fmt.Sprintf("(employeeID=K%d)", n), []string{"sAMAccountName", "userAccountControl", "pwdLastSet", "memberOf"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var acct []string
	for _, e := range res.Entries {
		groups := e.GetAttributeValues("memberOf")
		sort.Strings(groups)
		acct = append(acct, fmt.Sprintf("%s uac=%s pwdLastSet0=%v groups=%s", e.GetAttributeValue("sAMAccountName"),
			e.GetAttributeValue("userAccountControl"), e.GetAttributeValue("pwdLastSet") == "0", strings.Join(groups, ";")))
	}
	comps, err := c.Search(ldap.NewSearchRequest(ad.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		fmt.Sprintf("(sAMAccountName=WS%d$)", n), []string{"dNSHostName"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	s := fmt.Sprintf("accounts=%d %s | computers=%d | %s", len(res.Entries), strings.Join(acct, ","), len(comps.Entries), strings.TrimSpace(inside))
	for _, r := range []struct{ from, to string }{{user, "USER"}, {fmt.Sprintf("Killed%d", n), "SURNAME"}, {ws, "WS"}, {strings.ToUpper(ws), "WS"}} {
		s = strings.ReplaceAll(s, r.from, r.to)
	}
	return strings.Join(strings.Fields(s), " ")
}

// Two onboard processes at once on one journal: both runs are recorded
// whole and the chain stays intact.
func TestConcurrentRunsOneJournal(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	bin := filepath.Join(t.TempDir(), "onboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	journalPath := filepath.Join(e.dir, "shared.db")
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	// ws5 ends TestUnreachableAndHostKey with a new host key: not that one.
	for i, ws := range []string{"ws3", "ws4"} {
		pb := e.write(fmt.Sprintf("c%d.yaml", i), fmt.Sprintf(hireTmpl, fmt.Sprintf("C%d", i), "Con", fmt.Sprintf("Current%d", i), "front-desk", ws, ""))
		c := exec.Command(bin, "-i", e.inv, "--profiles", "../../playbooks/profiles", "--journal", journalPath, pb)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, c), append(outs, &out)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("run %d: %v\n%s", i, err, outs[i])
		}
	}
	out, err := exec.Command(bin, "--journal", journalPath, "history", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var runs []struct {
		Outcome string
		Total   int
		Steps   map[string]int
	}
	if err := json.Unmarshal(out, &runs); err != nil || len(runs) != 2 {
		t.Fatalf("history: %v: %s", err, out)
	}
	for _, r := range runs {
		n := 0
		for _, c := range r.Steps {
			n += c
		}
		if r.Outcome != "ok" || n != r.Total {
			t.Errorf("a run was not recorded whole: %+v", r)
		}
	}
	if out, err := exec.Command(bin, "--journal", journalPath, "journal", "verify").CombinedOutput(); err != nil {
		t.Errorf("journal verify: %v\n%s", err, out)
	}
}
