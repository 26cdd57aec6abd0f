package planner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// A check set planned on its own against inventory hosts (onboard verify):
// each host stands as the hire of its checks, every check names its set.
func TestVerifyPlan(t *testing.T) {
	inv := loadInv(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	p, err := VerifyPlan(inv, "corp@2", []string{"ws1", "ws2", "ws1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hires) != 2 || p.Hires[0].ID != "ws1" || p.Hires[1].Host != "ws2" || len(p.Hosts) != 2 || !p.Created.Equal(now) {
		t.Fatalf("hires %+v, hosts %d", p.Hires, len(p.Hosts))
	}
	var ids []string
	for _, s := range p.Steps {
		if s.Kind != plan.KindCheck || s.Check.Set != "corp@2" || s.Hire != s.Host || s.Timeout <= 0 {
			t.Errorf("%s: kind %s set %q hire %s host %s timeout %v", s.ID, s.Kind, s.Check.Set, s.Hire, s.Host, time.Duration(s.Timeout))
		}
		if s.Host == "ws1" {
			ids = append(ids, s.ID)
		}
	}
	want := "ws1:check:firewall-active ws1:check:security-updates-installed ws1:check:security-updates-enabled ws1:check:disk-encryption ws1:check:ssh-root-password ws1:check:corp-ca"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("steps on ws1:\n got %s\nwant %s", got, want)
	}

	for _, tc := range []struct {
		set   string
		hosts []string
		want  string
	}{
		{"baseline@3", []string{"ws1"}, "--checks: check set baseline is version 1, not 3"},
		{"nope", []string{"ws1"}, `--checks: unknown check set "nope"`},
		{"baseline", []string{"ws9"}, `unknown host "ws9"`},
		{"baseline", []string{"win1"}, "host win1 runs Windows: check set baseline@1 is for Linux hosts"},
		{"empty", []string{"ws1"}, "--checks: check set empty@1 has no checks"},
	} {
		if _, err := VerifyPlan(inv, tc.set, tc.hosts, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s on %v: %v, want %q", tc.set, tc.hosts, err, tc.want)
		}
	}
}

// The Windows baseline is a check set like the Linux one: it plans on a
// Windows host only, from verify, a playbook or a profile, extended in
// the inventory (corp-win drops a check, replaces one, adds one), and a
// waiver names one of its checks.
func TestWindowsBaselineSet(t *testing.T) {
	inv := loadInv(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	items := func(p *plan.Plan, host string) string {
		var out []string
		for _, s := range p.Steps {
			if s.Kind != plan.KindCheck || s.Host != host || s.Check.Set == "" {
				continue
			}
			item := "-"
			if w := s.Check.WindowsSecurity; w != nil {
				item = w.Item
			}
			out = append(out, s.Check.Name+"="+item+"@"+s.Check.Set)
		}
		return strings.Join(out, " ")
	}
	p, err := VerifyPlan(inv, "baseline-windows", []string{"win1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := "bitlocker=bitlocker@baseline-windows@1 defender-real-time=defender@baseline-windows@1 firewall-profiles=firewall@baseline-windows@1 no-pending-reboot=pending-reboot@baseline-windows@1"
	if got := items(p, "win1"); got != want {
		t.Errorf("verify on win1:\n got %s\nwant %s", got, want)
	}
	p, err = VerifyPlan(inv, "corp-win@1", []string{"win1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	want = "bitlocker=bitlocker@corp-win@1 defender-real-time=defender@corp-win@1 firewall-profiles=firewall@corp-win@1 spooler=-@corp-win@1"
	if got := items(p, "win1"); got != want {
		t.Errorf("corp-win on win1:\n got %s\nwant %s", got, want)
	}
	for _, s := range p.Steps {
		if s.Check.Name == "firewall-profiles" && s.Check.Retry == nil {
			t.Error("corp-win's own firewall-profiles (with a retry) did not replace the shipped one")
		}
	}
	if _, err := VerifyPlan(inv, "baseline-windows", []string{"ws1"}, now); err == nil ||
		!strings.Contains(err.Error(), "host ws1 runs Linux: check set baseline-windows@1 is for Windows hosts") {
		t.Errorf("baseline-windows on a Linux host: %v", err)
	}

	p, err = planPlaybook(t, inv, `person: {employee_id: W9, given_name: Wim, surname: Dows, start_date: 2026-12-01}
machine: {host: win1}
check_sets: [baseline-windows@1]
waivers:
  - {check: bitlocker, reason: "TPM replacement on order", expires: 2026-12-31}
`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := items(p, "win1"), "bitlocker=bitlocker@baseline-windows@1 defender-real-time=defender@baseline-windows@1 firewall-profiles=firewall@baseline-windows@1 no-pending-reboot=pending-reboot@baseline-windows@1"; got != want {
		t.Errorf("playbook on win1:\n got %s\nwant %s", got, want)
	}
	for _, s := range p.Steps {
		if s.Check != nil && s.Check.Name == "bitlocker" && (s.Check.Waiver == nil || s.Check.Waiver.Expires != "2026-12-31") {
			t.Errorf("the waiver did not reach the bitlocker check: %+v", s.Check.Waiver)
		}
	}

	for _, tc := range []struct{ pb, want string }{
		{`person: {employee_id: W9, given_name: Wim, surname: Dows, start_date: 2026-12-01}
machine: {host: win1}
check_sets: [baseline]
`, "check_sets[0]: host win1 runs Windows: check set baseline@1 is for Linux hosts"},
		{`person: {employee_id: L9, given_name: Lin, surname: Ux, start_date: 2026-12-01}
machine: {host: ws1}
check_sets: [baseline-windows]
`, "check_sets[0]: host ws1 runs Linux: check set baseline-windows@1 is for Windows hosts"},
		{`person: {employee_id: L9, given_name: Lin, surname: Ux, start_date: 2026-12-01}
machine: {host: ws1}
checks:
  - {name: bl, windows_security: {item: bitlocker}}
`, "checks[0]: host ws1 runs Linux: windows_security checks are for Windows hosts"},
	} {
		if _, err := planPlaybook(t, inv, tc.pb); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v, want %q", err, tc.want)
		}
	}
}

// A profile names the Windows baseline for every hire of the role; the
// playbook naming it too runs it once.
func TestWindowsBaselineFromProfile(t *testing.T) {
	inv := loadInv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "win-desk.yaml"), []byte("description: Windows desks\ncheck_sets: [corp-win@1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "hire.yaml")
	if err := os.WriteFile(f, []byte(`person: {employee_id: W8, given_name: Pro, surname: File, start_date: 2026-12-01}
profile: win-desk
machine: {host: win1}
check_sets: [corp-win]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, err := playbook.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build([]*playbook.Playbook{pb}, inv, Options{ProfileDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		if s.Check != nil {
			got = append(got, s.Check.Name+"@"+s.Check.Set)
		}
	}
	if want := "bitlocker@corp-win@1 defender-real-time@corp-win@1 firewall-profiles@corp-win@1 spooler@corp-win@1"; strings.Join(got, " ") != want {
		t.Errorf("checks %s, want %s", strings.Join(got, " "), want)
	}
}

// planPlaybook plans one playbook written as text against inv.
func planPlaybook(t *testing.T, inv *inventory.Inventory, body string) (*plan.Plan, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "hire.yaml")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, err := playbook.Load(f)
	if err != nil {
		return nil, err
	}
	return Build([]*playbook.Playbook{pb}, inv, Options{ProfileDirs: []string{"testdata/profiles"}})
}
