package winsim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab/winsim"
	"onboard/internal/step"
)

func findings(t *testing.T, l *lab) map[string]step.WinBaselineFinding {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := step.ReadWinBaseline(ctx, l.exec(nil))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]step.WinBaselineFinding{}
	for _, f := range b.Findings() {
		t.Logf("%s: pass %v cannot run %v: %s", f.Item, f.Pass, f.CannotRun, f.Found)
		out[f.Item] = f
	}
	if len(out) != 4 {
		t.Fatalf("findings %v, want bitlocker, defender, firewall, pending-reboot", out)
	}
	return out
}

func wantFinding(t *testing.T, got map[string]step.WinBaselineFinding, item string, pass bool, found string) {
	t.Helper()
	f := got[item]
	if f.Pass != pass || !strings.Contains(f.Found, found) {
		t.Errorf("%s: pass %v %q, want %v and %q", item, f.Pass, f.Found, pass, found)
	}
}

// Each baseline item passes on a compliant machine and fails, naming
// what it found, once the machine drifts.
func TestWindowsBaseline(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{RebootTime: 500 * time.Millisecond})
	got := findings(t, l)
	wantFinding(t, got, "bitlocker", true, "ProtectionStatus On, VolumeStatus FullyEncrypted")
	wantFinding(t, got, "defender", true, "RealTimeProtectionEnabled true")
	wantFinding(t, got, "firewall", true, "Domain True, Private True, Public True")
	wantFinding(t, got, "pending-reboot", true, "no reboot pending")

	l.host.SetBitLocker("Off")
	l.host.SetDefender(false)
	l.host.SetFirewallProfile("public", false)
	l.host.SetUpdateRebootRequired()
	got = findings(t, l)
	wantFinding(t, got, "bitlocker", false, "ProtectionStatus Off")
	wantFinding(t, got, "defender", false, "RealTimeProtectionEnabled false")
	wantFinding(t, got, "firewall", false, "Public False")
	wantFinding(t, got, "pending-reboot", false, `WindowsUpdate\Auto Update\RebootRequired`)

	// The reboot step sees Windows Update's marker, and the reboot clears it.
	converge(t, l, nil, rebootStep(time.Minute))
	wantFinding(t, findings(t, l), "pending-reboot", true, "no reboot pending")

	// Home edition: no BitLocker cmdlet, which is "cannot tell", not off.
	l.host.SetBitLocker("")
	got = findings(t, l)
	if f := got["bitlocker"]; !f.CannotRun || f.Pass || !strings.Contains(f.Found, "Get-BitLockerVolume") {
		t.Errorf("bitlocker without the cmdlet: %+v, want cannot run", f)
	}
}
