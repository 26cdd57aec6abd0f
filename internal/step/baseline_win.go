package step

import (
	"context"
	"fmt"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/powershell"
	"onboard/internal/result"
)

// The Windows security baseline's facts, read in one script: BitLocker on
// the system drive, Defender's real-time protection, the firewall's
// profiles and the reboot-pending markers. A cmdlet the edition lacks
// (Get-BitLockerVolume on Home) makes its part unreadable, with the
// error, never "off". The objects, by Microsoft's documentation:
//   - Get-BitLockerVolume (https://learn.microsoft.com/powershell/module/bitlocker/get-bitlockervolume):
//     ProtectionStatus On/Off/Unknown, VolumeStatus (FullyEncrypted,
//     FullyDecrypted, EncryptionInProgress, ...), EncryptionMethod,
//     EncryptionPercentage.
//   - Get-MpComputerStatus (https://learn.microsoft.com/powershell/module/defender/get-mpcomputerstatus):
//     RealTimeProtectionEnabled, AntivirusEnabled,
//     AntivirusSignatureLastUpdated.
//   - Get-NetFirewallProfile (https://learn.microsoft.com/powershell/module/netsecurity/get-netfirewallprofile):
//     one object per profile (Domain, Private, Public), Enabled a
//     GpoBoolean (True, False, NotConfigured).
//   - the reboot markers Windows Update, servicing and Netlogon leave in
//     the registry, and Session Manager's PendingFileRenameOperations.
const psBaseline = `function Get-Part([scriptblock]$Read) {
    try { @{ value = (& $Read); error = '' } } catch { @{ value = $null; error = $_.Exception.Message } }
}
$bl = Get-Part {
    $v = Get-BitLockerVolume -MountPoint 'C:' -ErrorAction Stop
    [pscustomobject]@{ protection_status = [string]$v.ProtectionStatus; volume_status = [string]$v.VolumeStatus; encryption_method = [string]$v.EncryptionMethod; encryption_percentage = [int]$v.EncryptionPercentage }
}
$mp = Get-Part {
    $s = Get-MpComputerStatus -ErrorAction Stop
    [pscustomobject]@{ real_time_protection_enabled = [bool]$s.RealTimeProtectionEnabled; antivirus_enabled = [bool]$s.AntivirusEnabled; signature_last_updated = $s.AntivirusSignatureLastUpdated.ToUniversalTime().ToString('o') }
}
$fw = Get-Part {
    @(Get-NetFirewallProfile -ErrorAction Stop | ForEach-Object { [pscustomobject]@{ name = [string]$_.Name; enabled = [string]$_.Enabled } })
}
$reasons = @()
$keys = [ordered]@{
    'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending' = 'Component Based Servicing\RebootPending'
    'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired' = 'WindowsUpdate\Auto Update\RebootRequired'
    'HKLM:\SYSTEM\CurrentControlSet\Services\Netlogon\JoinDomain' = 'Netlogon\JoinDomain'
}
foreach ($k in $keys.Keys) { if (Test-Path -LiteralPath $k) { $reasons += $keys[$k] } }
$rename = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name PendingFileRenameOperations -ErrorAction SilentlyContinue
if ($null -ne $rename) { $reasons += 'Session Manager\PendingFileRenameOperations' }
[pscustomobject]@{
    bitlocker = $bl.value; bitlocker_error = $bl.error
    defender = $mp.value; defender_error = $mp.error
    firewall = @($fw.value); firewall_error = $fw.error
    pending_reboot = $reasons
} | ConvertTo-Json -Compress -Depth 4
`

// WinBaseline is what a Windows machine reports for the security baseline.
type WinBaseline struct {
	BitLocker *struct {
		ProtectionStatus     string `json:"protection_status"`
		VolumeStatus         string `json:"volume_status"`
		EncryptionMethod     string `json:"encryption_method"`
		EncryptionPercentage int    `json:"encryption_percentage"`
	} `json:"bitlocker"`
	BitLockerError string `json:"bitlocker_error"`
	Defender       *struct {
		RealTimeProtectionEnabled bool   `json:"real_time_protection_enabled"`
		AntivirusEnabled          bool   `json:"antivirus_enabled"`
		SignatureLastUpdated      string `json:"signature_last_updated"`
	} `json:"defender"`
	DefenderError string `json:"defender_error"`
	Firewall      []struct {
		Name    string `json:"name"`
		Enabled string `json:"enabled"`
	} `json:"firewall"`
	FirewallError string `json:"firewall_error"`
	// PendingReboot names the markers found; none: no reboot pending.
	PendingReboot []string `json:"pending_reboot"`
}

func baselineScript() powershell.Script {
	return powershell.Script{Op: "win-baseline", Body: psBaseline}
}

// ReadWinBaseline reads the baseline's facts from a Windows host.
func ReadWinBaseline(ctx context.Context, x *Exec) (WinBaseline, error) {
	var b WinBaseline
	_, err := x.psResult(ctx, "read the security baseline", baselineScript(), nil, &b)
	return b, err
}

// WinBaselineFinding is one baseline item judged: what was found, and
// whether it passes; CannotRun when Windows could not tell. Facts are
// what was found, field by field (the audit compares them).
type WinBaselineFinding struct {
	Item      string
	Pass      bool
	CannotRun bool
	Found     string
	Facts     []result.Fact
}

// cmdletMissingText is how PowerShell says a command does not exist.
const cmdletMissingText = "is not recognized as the name of a cmdlet"

// unreadable is the finding of an item whose cmdlet failed: the host
// cannot tell, or, without the cmdlet (Get-BitLockerVolume on Home),
// cannot run the check; never "off".
func unreadable(item, cmdlet, err string) WinBaselineFinding {
	return WinBaselineFinding{Item: item, CannotRun: true, Found: cmdlet + " failed: " + oneLine(err)}
}

// Findings judges the facts: BitLocker protection on C:, Defender
// real-time protection, every firewall profile enabled, no reboot pending.
func (b WinBaseline) Findings() []WinBaselineFinding {
	var out []WinBaselineFinding
	switch bl := b.BitLocker; {
	case bl == nil:
		out = append(out, unreadable("bitlocker", "Get-BitLockerVolume -MountPoint C:", b.BitLockerError))
	default:
		f := WinBaselineFinding{Item: "bitlocker", Pass: bl.ProtectionStatus == "On",
			Found: fmt.Sprintf("C: ProtectionStatus %s, VolumeStatus %s, EncryptionMethod %s, %d%% encrypted", bl.ProtectionStatus, bl.VolumeStatus, bl.EncryptionMethod, bl.EncryptionPercentage),
			Facts: []result.Fact{fact("protection status", bl.ProtectionStatus), fact("volume status", bl.VolumeStatus),
				fact("encryption method", bl.EncryptionMethod), fact("encrypted", fmt.Sprintf("%d%%", bl.EncryptionPercentage))}}
		// Unknown: the volume is locked, so Windows cannot say.
		f.CannotRun = bl.ProtectionStatus == "Unknown"
		out = append(out, f)
	}
	switch d := b.Defender; {
	case d == nil:
		out = append(out, unreadable("defender", "Get-MpComputerStatus", b.DefenderError))
	default:
		out = append(out, WinBaselineFinding{Item: "defender", Pass: d.RealTimeProtectionEnabled && d.AntivirusEnabled,
			Found: fmt.Sprintf("RealTimeProtectionEnabled %v, AntivirusEnabled %v, signatures updated %s", d.RealTimeProtectionEnabled, d.AntivirusEnabled, d.SignatureLastUpdated),
			Facts: []result.Fact{fact("real-time protection", fmt.Sprint(d.RealTimeProtectionEnabled)), fact("antivirus", fmt.Sprint(d.AntivirusEnabled)),
				fact("signatures updated", d.SignatureLastUpdated)}})
	}
	switch {
	case b.FirewallError != "" || len(b.Firewall) == 0:
		out = append(out, unreadable("firewall", "Get-NetFirewallProfile", b.FirewallError))
	default:
		pass := true
		var seen []string
		var facts []result.Fact
		for _, p := range b.Firewall {
			seen = append(seen, p.Name+" "+p.Enabled)
			facts = append(facts, fact(p.Name+" profile", p.Enabled))
			pass = pass && p.Enabled == "True"
		}
		out = append(out, WinBaselineFinding{Item: "firewall", Pass: pass, Found: "profiles enabled: " + strings.Join(seen, ", "), Facts: facts})
	}
	if len(b.PendingReboot) == 0 {
		out = append(out, WinBaselineFinding{Item: "pending-reboot", Pass: true, Found: "no reboot pending (no marker in the registry)",
			Facts: []result.Fact{fact("pending reboot", "none")}})
	} else {
		out = append(out, WinBaselineFinding{Item: "pending-reboot", Found: "a reboot is pending: " + strings.Join(b.PendingReboot, ", "),
			Facts: []result.Fact{fact("pending reboot", strings.Join(b.PendingReboot, ", "))}})
	}
	return out
}

// winSecurityCheck judges one item of the baseline. The four items of a
// host share one read of it (one script), until the host changes.
func winSecurityCheck(ctx context.Context, x *Exec, c *plan.WindowsSecurityCheck) (State, error) {
	v, err := x.T.Cached("win-baseline", func() (any, error) { return ReadWinBaseline(ctx, x) })
	if err != nil {
		return State{}, err
	}
	for _, f := range v.(WinBaseline).Findings() {
		if f.Item == c.Item {
			return f.State(), nil
		}
	}
	return State{}, fmt.Errorf("windows_security: no baseline item %q", c.Item)
}

// State is the finding as a check's verdict: what was found is the
// evidence, pass or fail; a host that cannot say is never a pass.
func (f WinBaselineFinding) State() State {
	switch {
	case f.CannotRun && strings.Contains(f.Found, cmdletMissingText):
		return State{CannotRun: true, Action: plan.ActionNone, Reason: "cannot run: " + f.Found, Evidence: f.Facts}
	case f.CannotRun:
		return State{CannotRun: true, Action: plan.ActionNone, Reason: "cannot tell: " + f.Found, Evidence: f.Facts}
	case f.Pass:
		return inPlace(f.Found).seen(f.Facts...)
	}
	return differs(f.Found).seen(f.Facts...)
}
