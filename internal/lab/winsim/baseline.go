package winsim

import (
	"strings"
	"time"
)

// The security baseline's state, as the win-baseline script reads it (see
// internal/step/baseline_win.go for the cmdlets and Microsoft's
// documentation of their objects): BitLocker on C:, Defender, the three
// firewall profiles, and the reboot markers in the registry.

type baselineState struct {
	// bitLocker: "" means Get-BitLockerVolume is not there (Home edition).
	bitLocker                 string // ProtectionStatus: "On", "Off"
	defenderOff, defenderGone bool
	firewall                  map[string]bool // Domain, Private, Public
	updateReboot              bool
	signatures                time.Time
}

func (h *Host) initBaseline() {
	c := &h.checks
	// A managed Windows 11 Pro out of the box: BitLocker protecting C:,
	// Defender on, every firewall profile on.
	c.bitLocker = "On"
	c.firewall = map[string]bool{"Domain": true, "Private": true, "Public": true}
	c.signatures = time.Now().Add(-6 * time.Hour).UTC().Truncate(time.Second)
}

// SetBitLocker sets C:'s ProtectionStatus ("On", "Off"); "" removes
// Get-BitLockerVolume (as on Windows Home).
func (h *Host) SetBitLocker(status string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks.bitLocker = status
}

// SetDefender turns Defender's real-time protection on or off.
func (h *Host) SetDefender(realTime bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks.defenderOff = !realTime
}

// SetFirewallProfile enables or disables one profile (Domain, Private,
// Public), as Set-NetFirewallProfile does.
func (h *Host) SetFirewallProfile(name string, enabled bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.checks.firewall {
		if strings.EqualFold(p, name) {
			h.checks.firewall[p] = enabled
		}
	}
}

// SetUpdateRebootRequired leaves Windows Update's RebootRequired key, which
// the next reboot clears.
func (h *Host) SetUpdateRebootRequired() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks.updateReboot = true
}

func gpoBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// opBaseline: {"bitlocker","bitlocker_error","defender","defender_error",
// "firewall","firewall_error","pending_reboot"}.
func opBaseline(v *inv) int {
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &h.checks
	var bl any
	blErr := ""
	switch c.bitLocker {
	case "":
		blErr = "The term 'Get-BitLockerVolume' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
	case "On":
		bl = []field{{"protection_status", "On"}, {"volume_status", "FullyEncrypted"}, {"encryption_method", "XtsAes128"}, {"encryption_percentage", 100}}
	default:
		bl = []field{{"protection_status", c.bitLocker}, {"volume_status", "FullyDecrypted"}, {"encryption_method", "None"}, {"encryption_percentage", 0}}
	}
	mp := []field{{"real_time_protection_enabled", !c.defenderOff}, {"antivirus_enabled", true}, {"signature_last_updated", c.signatures.Format("2006-01-02T15:04:05.0000000Z")}}
	var fw [][]field
	for _, p := range []string{"Domain", "Private", "Public"} {
		fw = append(fw, []field{{"name", p}, {"enabled", gpoBool(c.firewall[p])}})
	}
	reasons := []string{}
	if c.updateReboot {
		reasons = append(reasons, `WindowsUpdate\Auto Update\RebootRequired`)
	}
	if h.pendingJoin != nil {
		reasons = append(reasons, `Netlogon\JoinDomain`)
	}
	if h.installReboot {
		reasons = append(reasons, `Session Manager\PendingFileRenameOperations`)
	}
	return v.result(field{"bitlocker", bl}, field{"bitlocker_error", blErr}, field{"defender", mp}, field{"defender_error", ""},
		field{"firewall", fw}, field{"firewall_error", ""}, field{"pending_reboot", reasons})
}
