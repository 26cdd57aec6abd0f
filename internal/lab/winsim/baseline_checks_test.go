package winsim_test

import (
	"strings"
	"testing"
	"time"

	"onboard/internal/checkset"
	"onboard/internal/lab/winsim"
	"onboard/internal/plan"
)

// The shipped Windows baseline's checks, run as check steps against the
// simulated host: each passes on a compliant machine and fails, saying
// what it saw, once that part of the machine drifts; a BitLocker volume
// Windows cannot read cannot tell, and Home edition cannot run the check.
func TestWindowsBaselineChecks(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{RebootTime: 500 * time.Millisecond})
	set, err := checkset.New().Get("baseline-windows@1")
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]*plan.Step{}
	for _, c := range set.Checks {
		steps[c.Name] = checkStep(&plan.CheckSpec{Name: c.Name, Set: set.Ref(), WindowsSecurity: &plan.WindowsSecurityCheck{Item: c.WindowsSecurity.Item}})
	}
	if len(steps) != 4 {
		t.Fatalf("baseline-windows has %d checks, want 4", len(steps))
	}
	type want struct {
		pass, cannot bool
		words, field string
	}
	verify := func(when string, wants map[string]want) {
		t.Helper()
		l.target.Invalidate() // the host changed: read it afresh, as a new run does
		for name, w := range wants {
			st := check(t, l, nil, steps[name])
			var fields []string
			for _, f := range st.Evidence {
				fields = append(fields, f.Key+"="+f.Value)
			}
			ev := strings.Join(fields, "; ")
			if st.InPlace != w.pass || st.CannotRun != w.cannot || !strings.Contains(st.Reason, w.words) || !strings.Contains(ev, w.field) {
				t.Errorf("%s, %s: in place %v, cannot run %v, %q [%s]; want %v, %v, %q [%s]", when, name, st.InPlace, st.CannotRun, st.Reason, ev, w.pass, w.cannot, w.words, w.field)
			}
		}
	}
	verify("compliant", map[string]want{
		"bitlocker":          {true, false, "C: ProtectionStatus On, VolumeStatus FullyEncrypted", "protection status=On"},
		"defender-real-time": {true, false, "RealTimeProtectionEnabled true", "real-time protection=true"},
		"firewall-profiles":  {true, false, "profiles enabled: Domain True, Private True, Public True", "Public profile=True"},
		"no-pending-reboot":  {true, false, "no reboot pending", "pending reboot=none"},
	})

	l.host.SetBitLocker("Off")
	l.host.SetDefender(false)
	l.host.SetFirewallProfile("Private", false)
	l.host.SetUpdateRebootRequired()
	verify("drifted", map[string]want{
		"bitlocker":          {false, false, "C: ProtectionStatus Off, VolumeStatus FullyDecrypted", "protection status=Off"},
		"defender-real-time": {false, false, "RealTimeProtectionEnabled false", "real-time protection=false"},
		"firewall-profiles":  {false, false, "Private False", "Private profile=False"},
		"no-pending-reboot":  {false, false, `a reboot is pending: WindowsUpdate\Auto Update\RebootRequired`, `pending reboot=WindowsUpdate\Auto Update\RebootRequired`},
	})

	l.host.SetBitLocker("Unknown")
	verify("locked volume", map[string]want{"bitlocker": {false, true, "cannot tell: C: ProtectionStatus Unknown", "protection status=Unknown"}})
	l.host.SetBitLocker("")
	verify("Home edition", map[string]want{"bitlocker": {false, true, "cannot run: Get-BitLockerVolume -MountPoint C: failed: The term 'Get-BitLockerVolume' is not recognized", ""}})

	// The four checks of a host read the baseline once.
	l.target.Invalidate()
	before := len(l.host.State().Commands)
	for _, s := range steps {
		check(t, l, nil, s)
	}
	if ran := l.host.State().Commands[before:]; len(ran) != 1 || ran[0] != "win-baseline" {
		t.Errorf("the four baseline checks ran %q on the host, want win-baseline once", ran)
	}
}
