package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// onboard verify runs the baseline on its own against a lab workstation
// that no playbook set up: each check's verdict and evidence in text and
// JSON, exit 1 while a check fails, and the run in the journal as a verify
// run against that host.
func TestVerifyBaseline(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	ws := l.Workstations[6].Name
	const conf = "/etc/apt/apt.conf.d/20onboard-verify-test"
	wsExec(t, l, ws, `printf 'APT::Periodic::Unattended-Upgrade "1";\n' > `+conf)
	t.Cleanup(func() { wsExec(t, l, ws, "rm -f "+conf) })

	code, out, stderr := e.onboard("verify", "--checks", "baseline", ws, "-o", "json")
	var got verifyOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("exit %d: not JSON: %v\n%s%s", code, err, out, stderr)
	}
	// The lab image has no disk encryption: the set cannot pass there.
	if code != exitFailed || got.Passed || got.Set != "baseline@1" || len(got.Hosts) != 1 || got.Hosts[0].Host != ws {
		t.Fatalf("exit %d, passed %v, set %s, hosts %+v: %s", code, got.Passed, got.Set, got.Hosts, stderr)
	}
	verdicts := map[string]verifyCheck{}
	for _, c := range got.Hosts[0].Checks {
		verdicts[c.Name] = c
		if c.Set != "baseline@1" || strings.TrimSpace(c.Evidence) == "" {
			t.Errorf("%s: set %q, evidence %q", c.Name, c.Set, c.Evidence)
		}
	}
	for name, want := range map[string]struct{ verdict, evidence string }{
		"ssh-root-password":        {"pass", "sshd -T: permitrootlogin no, passwordauthentication no"},
		"security-updates-enabled": {"pass", `APT::Periodic::Unattended-Upgrade "1";`},
		"screen-lock":              {"not-applicable", "not applicable: no desktop session is installed"},
	} {
		if c := verdicts[name]; c.Verdict != want.verdict || !strings.Contains(c.Evidence, want.evidence) {
			t.Errorf("%s: %s %q, want %s with %q", name, c.Verdict, c.Evidence, want.verdict, want.evidence)
		}
	}
	if c := verdicts["disk-encryption"]; c.Verdict != "cannot-tell" && c.Verdict != "fail" {
		t.Errorf("disk-encryption on a machine without dm-crypt: %s %q", c.Verdict, c.Evidence)
	}
	if len(verdicts) != 6 {
		t.Errorf("%d checks, want the baseline's 6: %+v", len(verdicts), verdicts)
	}

	// Text: one line per check, verdict first, and where it was recorded.
	code, out, _ = e.onboard("verify", "--checks", "baseline@1", ws)
	for _, want := range []string{"baseline@1 on " + ws + ": ", "  PASS ", "ssh-root-password", "NOT-APPLICABLE", "journal: "} {
		if !strings.Contains(out, want) {
			t.Errorf("exit %d: the text lacks %q:\n%s", code, want, out)
		}
	}

	// Recorded as verify runs against the host.
	code, out, stderr = e.onboard("history", "--host", ws, "-o", "json")
	var runs []struct {
		ID   string
		Mode string
	}
	if code != exitOK || json.Unmarshal([]byte(out), &runs) != nil || len(runs) != 2 || runs[0].Mode != "verify" || runs[1].ID != got.RunID {
		t.Errorf("history: exit %d: %s%s", code, out, stderr)
	}

	// A version the set does not have, an unknown host: invalid input.
	if code, _, stderr := e.onboard("verify", "--checks", "baseline@2", ws); code != exitInvalid || !strings.Contains(stderr, "check set baseline is version 1, not 2") {
		t.Errorf("baseline@2: exit %d: %s", code, stderr)
	}
	if code, _, stderr := e.onboard("verify", "--checks", "baseline", "no-such-ws"); code != exitInvalid || !strings.Contains(stderr, `unknown host "no-such-ws"`) {
		t.Errorf("unknown host: exit %d: %s", code, stderr)
	}
}

// The baseline at handover, named by a playbook: the checks that fail on a
// lab workstation are waived, so the hire is ready (exit 0) and every
// report shows each waiver with what the check found; once a waiver has
// expired, its check counts again and the report says so.
func TestBaselineHandoverWaivers(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	ws := l.Workstations[5].Name
	const conf = "/etc/apt/apt.conf.d/20onboard-waiver-test"
	wsExec(t, l, ws, `printf 'APT::Periodic::Unattended-Upgrade "1";\n' > `+conf)
	t.Cleanup(func() { wsExec(t, l, ws, "rm -f "+conf) })
	// The lab's workstations have a firewall: off here, so that its check
	// fails for real and its waiver is what lets the hire through.
	ctx := context.Background()
	if err := l.StopFirewall(ctx, ws); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.StartFirewall(ctx, ws); err != nil {
			t.Error(err)
		}
	})
	playbook := func(diskExpires string) string {
		return e.write("rita.yaml", `person: {employee_id: E88, given_name: Rita, surname: Levi, start_date: 2026-12-01}
machine: {host: `+ws+`}
check_sets: [baseline@1]
waivers:
  - {check: firewall-active, reason: "nftables arrives with the next image", expires: 2099-12-31}
  - {check: security-updates-installed, reason: "installed by the next image", expires: 2099-12-31}
  - {check: disk-encryption, reason: "lab machines have no LUKS", expires: `+diskExpires+`}
handover:
  reports: [out/rita.md, out/rita.html, out/rita.xml, out/rita.json]
`)
	}
	code, r, stderr := e.jsonRun(playbook("2099-12-31"))
	if code != exitOK || !r.Ready("E88") {
		t.Fatalf("exit %d, ready %v, want 0 and ready (every failing check waived): %s", code, r.Ready("E88"), stderr)
	}
	sets := 0
	for _, s := range r.Steps {
		if s.Set == "baseline@1" {
			sets++
		}
		if s.ID == "E88:check:firewall-active" && (!s.Waived() || s.Failure == nil || !strings.Contains(s.Failure.Message, "nft")) {
			t.Errorf("firewall-active: %s waived %v %+v", s.Outcome, s.Waived(), s.Failure)
		}
	}
	if sets != 6 {
		t.Errorf("%d steps of baseline@1, want 6", sets)
	}
	for _, f := range []string{"out/rita.md", "out/rita.html", "out/rita.xml", "out/rita.json"} {
		b, err := os.ReadFile(filepath.Join(e.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"waived: nftables arrives with the next image, until 2099-12-31", "set baseline@1", "nft"}
		if strings.HasSuffix(f, ".json") {
			want = []string{`"reason": "nftables arrives with the next image"`, `"expires": "2099-12-31"`, `"set": "baseline@1"`}
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", f, w)
			}
		}
	}

	code, r, _ = e.jsonRun(playbook("2026-01-01"))
	if code != exitFailed || r.Ready("E88") {
		t.Errorf("an expired waiver: exit %d, ready %v; want %d, not ready", code, r.Ready("E88"), exitFailed)
	}
	md, _ := os.ReadFile(filepath.Join(e.dir, "out/rita.md"))
	if !strings.Contains(string(md), "waiver expired 2026-01-01 (lab machines have no LUKS): counts again") {
		t.Errorf("the report does not say the waiver expired:\n%s", md)
	}
}
