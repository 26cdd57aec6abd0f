package playbook

import (
	"slices"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/strictyaml"
)

// WindowsSecurityCheck passes when one item of a Windows machine's
// security baseline holds, read through the cmdlets real Windows answers:
// bitlocker (Get-BitLockerVolume: protection on for C:), defender
// (Get-MpComputerStatus: real-time protection and the antivirus on),
// firewall (Get-NetFirewallProfile: every profile enabled), pending-reboot
// (no reboot marker in the registry). The shipped set baseline-windows
// holds all four.
type WindowsSecurityCheck struct {
	Item string `yaml:"item" onboard:"required"`
}

// WindowsSecurityItems are the items a windows_security check can name.
var WindowsSecurityItems = []string{"bitlocker", "defender", "firewall", "pending-reboot"}

func (k *WindowsSecurityCheck) validate(fail func(field, format string, args ...any)) {
	if k.Item != "" && !slices.Contains(WindowsSecurityItems, k.Item) {
		fail("windows_security.item", "must be one of %s, got %q%s", strings.Join(WindowsSecurityItems, ", "), k.Item, strictyaml.Suggest(k.Item, WindowsSecurityItems))
	}
}

func (k *WindowsSecurityCheck) templated(func(field, s string)) {}

func (k *WindowsSecurityCheck) plan(cs *plan.CheckSpec, _ string, _ CheckPlanner) {
	cs.WindowsSecurity = &plan.WindowsSecurityCheck{Item: k.Item}
}
