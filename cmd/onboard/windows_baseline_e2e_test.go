package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/lab/winsim"
	"onboard/internal/result"
)

// The Windows baseline as a check set, over WinRM against the simulated
// Windows host: onboard verify --checks baseline-windows passes on a
// compliant machine and fails, naming what it saw, once Defender and a
// firewall profile are off; Home edition's BitLocker cannot tell. A
// playbook names an inventory set that extends it (one check removed, one
// added), a waiver covers one check, and the handover report names each
// finding.
func TestWindowsBaselineSet(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	host := winsim.New(winsim.Config{ComputerName: "WIN7", Users: map[string]string{"onboard-admin": winAdminPW}})
	port, caFile := startWinHost(t, e, host)
	e.write("inventory/win7.yaml", fmt.Sprintf(`hosts:
  win7:
    address: 127.0.0.1
    port: %d
    os: windows
    transport: winrm
    user: onboard-admin
    credential: env:WIN1_PASSWORD
    ca_cert: %s
check_sets:
  corp-win:
    description: Corp Windows laptops
    version: 1
    extends: baseline-windows@1
    remove: [no-pending-reboot]
    checks:
      - name: spooler
        service: {name: Spooler}
`, port, caFile))

	verify := func(wantCode int, want map[string][2]string) {
		t.Helper()
		code, out, stderr := e.onboard("verify", "--checks", "baseline-windows", "win7", "-o", "json")
		var got verifyOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("exit %d: not JSON: %v\n%s%s", code, err, out, stderr)
		}
		if code != wantCode || got.Set != "baseline-windows@1" || len(got.Hosts) != 1 || len(got.Hosts[0].Checks) != 4 {
			t.Fatalf("exit %d (want %d), set %s, hosts %+v: %s", code, wantCode, got.Set, got.Hosts, stderr)
		}
		for _, c := range got.Hosts[0].Checks {
			w, ok := want[c.Name]
			if !ok {
				continue
			}
			if c.Verdict != w[0] || !strings.Contains(c.Evidence, w[1]) {
				t.Errorf("%s: %s %q, want %s with %q", c.Name, c.Verdict, c.Evidence, w[0], w[1])
			}
			if len(c.Fields) == 0 {
				t.Errorf("%s: no evidence fields", c.Name)
			}
		}
	}
	verify(exitOK, map[string][2]string{
		"bitlocker":          {"pass", "C: ProtectionStatus On, VolumeStatus FullyEncrypted"},
		"defender-real-time": {"pass", "RealTimeProtectionEnabled true, AntivirusEnabled true"},
		"firewall-profiles":  {"pass", "profiles enabled: Domain True, Private True, Public True"},
		"no-pending-reboot":  {"pass", "no reboot pending"},
	})

	host.SetDefender(false)
	host.SetFirewallProfile("Public", false)
	host.SetUpdateRebootRequired()
	host.SetBitLocker("")
	verify(exitFailed, map[string][2]string{
		"bitlocker":          {"cannot-run", "Get-BitLockerVolume"},
		"defender-real-time": {"fail", "RealTimeProtectionEnabled false"},
		"firewall-profiles":  {"fail", "Public False"},
		"no-pending-reboot":  {"fail", `WindowsUpdate\Auto Update\RebootRequired`},
	})
	host.SetBitLocker("Unknown")
	verify(exitFailed, map[string][2]string{"bitlocker": {"cannot-tell", "cannot tell: C: ProtectionStatus Unknown"}})

	// At handover, from a playbook: corp-win drops the reboot check (the
	// marker stays) and adds the spooler; Defender is waived.
	host.SetBitLocker("On")
	host.SetFirewallProfile("Public", true)
	pb := e.write("wes.yaml", `person: {employee_id: W7, given_name: Wes, surname: Baseline, start_date: 2026-12-01}
machine: {host: win7}
check_sets: [corp-win@1]
waivers:
  - {check: defender-real-time, reason: "Defender replaced by the EDR pilot", expires: 2099-12-31}
handover:
  reports: [out/wes.md]
`)
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK || !r.Ready("W7") {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Handover)
	}
	sets := map[string]string{}
	for _, s := range r.Steps {
		if s.Kind == "check" {
			sets[s.ID] = s.Set
			if s.ID == "W7:check:defender-real-time" && (!s.Waived() || s.Outcome != result.Failed) {
				t.Errorf("defender: %s, waived %v", s.Outcome, s.Waived())
			}
		}
	}
	if len(sets) != 4 || sets["W7:check:bitlocker"] != "corp-win@1" || sets["W7:check:spooler"] != "corp-win@1" {
		t.Errorf("handover checks: %v, want bitlocker, defender-real-time, firewall-profiles and spooler of corp-win@1", sets)
	}
	md, err := os.ReadFile(filepath.Join(e.dir, "out/wes.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Check bitlocker on win7", "C: ProtectionStatus On", "Check defender-real-time on win7", "RealTimeProtectionEnabled false",
		"waived: Defender replaced by the EDR pilot, until 2099-12-31", "Check firewall-profiles on win7", "profiles enabled: Domain True, Private True, Public True",
		"set corp-win@1", "Check spooler on win7", "Status Running"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("the handover report lacks %q", w)
		}
	}
	if strings.Contains(string(md), "no-pending-reboot") {
		t.Error("corp-win removed no-pending-reboot, but the report has it")
	}

	// An audit later: the Public profile was turned off since handover.
	host.SetFirewallProfile("Public", false)
	code, out, stderr := e.onboard("audit", "W7", "-o", "json")
	var audit result.Run
	if err := json.Unmarshal([]byte(out), &audit); err != nil {
		t.Fatalf("audit: exit %d: %v\n%s%s", code, err, out, stderr)
	}
	if code != exitDrift {
		t.Errorf("audit with a firewall profile off: exit %d, want %d", code, exitDrift)
	}
	for _, s := range audit.Steps {
		c := s.EvidenceChange
		switch s.ID {
		case "W7:check:firewall-profiles":
			if c == nil || len(c.Changed) != 1 || c.Changed[0] != (result.FieldChange{Field: "Public profile", Was: "True", Now: "False"}) {
				t.Errorf("firewall-profiles: %+v, want Public profile True → False", c)
			}
		case "W7:check:bitlocker", "W7:check:spooler":
			if c == nil || !c.Unchanged {
				t.Errorf("%s: %+v, want unchanged", s.ID, c)
			}
		}
	}
}
