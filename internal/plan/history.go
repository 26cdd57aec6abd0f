package plan

import (
	"fmt"
	"time"
)

// History is what a verified journal says about a hire's earlier setup:
// the hire as last applied, and every item a step found or put in place
// that is still there as far as the journal knows. The planner reads it
// as data (it never opens the journal) to re-plan a moved hire.
type History struct {
	// Last is the hire as planned by the latest run that applied anything
	// for it; LastRun names that run. Nil when no run applied.
	Last    *Hire  `json:"last,omitempty"`
	LastRun string `json:"last_run,omitempty"`
	// Items are in the order the journal recorded them.
	Items []Placed `json:"items,omitempty"`
	// Shared are the items (by ItemKey) that other hires' current setups
	// have in place on the machines of this hire's items, each with the
	// evidence: a shared machine's software is not this hire's to remove.
	Shared map[string]string `json:"shared,omitempty"`
	// Setup is the hire as planned by the latest applying run that set
	// the hire up (its plan has no leaver step for the hire: not an
	// offboarding, restore or purge); SetupRun names it, SetupSteps are
	// the hire's steps in its plan and SetupHosts, SetupDirectories the
	// hosts and directories they name, as recorded then. An offboarding
	// takes down what that run set up.
	Setup            *Hire                 `json:"setup,omitempty"`
	SetupRun         string                `json:"setup_run,omitempty"`
	SetupSteps       []*Step               `json:"setup_steps,omitempty"`
	SetupHosts       map[string]*Host      `json:"setup_hosts,omitempty"`
	SetupDirectories map[string]*Directory `json:"setup_directories,omitempty"`
	// LeftAt is the leave time of the latest offboarding whose
	// account-disable step was done (LeftRun): retention counts from it.
	LeftAt  time.Time `json:"left_at,omitzero"`
	LeftRun string    `json:"left_run,omitempty"`
}

// Placed is one item of a hire's setup that the journal shows in place: a
// membership, package, printer, Windows software or printer, or local group
// member.
type Placed struct {
	// Step is the step that found or put the item in place, as planned:
	// its kind, host or directory, and the spec a removal reuses.
	Step *Step `json:"step"`
	// Host is the step's host as planned then, and Directory its
	// directory: a machine since left is still reachable for removals.
	Host      *Host      `json:"host,omitempty"`
	Directory *Directory `json:"directory,omitempty"`
	RunID     string     `json:"run_id"`
	Time      time.Time  `json:"time"`
	// ByOnboard: a step of that run changed the machine to put it there.
	// False: the step found it already in place (by hand, or from before).
	ByOnboard bool `json:"by_onboard"`
}

// Evidence names the journal record behind the item.
func (p Placed) Evidence() string {
	if p.ByOnboard {
		return fmt.Sprintf("run %s, step %s", p.RunID, p.Step.ID)
	}
	return fmt.Sprintf("run %s, step %s found it in place", p.RunID, p.Step.ID)
}

// ActionRemove: the thing is there and a removal step will take it away
// (the mover's and leaver's steps; its check found it present).
const ActionRemove Action = "remove"

// IsRemoval reports whether a step kind takes an item away.
func IsRemoval(kind string) bool {
	for _, k := range RemovalOf {
		if k == kind {
			return true
		}
	}
	return false
}

// RemovalOf is the removal kind that undoes a kind that puts an item in
// place, or "" for a kind with no removal.
var RemovalOf = map[string]string{
	KindMembership:  KindMembershipRemove,
	KindPackage:     KindPackageRemove,
	KindPrinter:     KindPrinterRemove,
	KindWinSoftware: KindWinSoftwareRemove,
	KindWinPrinter:  KindWinPrinterRemove,
	KindLocalGroup:  KindLocalGroupRemove,
}

// ItemKey identifies the item a step puts in place or removes, the same
// for a kind and its removal kind: where (host or directory) and what. ""
// for a step that places no removable item.
func ItemKey(s *Step) string {
	switch {
	case s.Membership != nil:
		return "group\x00" + s.Directory + "\x00" + s.Membership.Group + "\x00" + s.Membership.Username
	case s.Package != nil:
		return "software\x00" + s.Host + "\x00" + s.Package.Name
	case s.Printer != nil:
		return "printer\x00" + s.Host + "\x00" + s.Printer.Name
	case s.WinSoftware != nil:
		return "software\x00" + s.Host + "\x00" + s.WinSoftware.Name
	case s.WinPrinter != nil:
		return "printer\x00" + s.Host + "\x00" + s.WinPrinter.Name
	case s.LocalGroup != nil:
		return "local-group\x00" + s.Host + "\x00" + s.LocalGroup.Group + "\x00" + s.LocalGroup.Member
	}
	return ""
}

// ItemName is the item as a plan shows it: "group: sales",
// "software: htop", "printer: Office-2F", "local group: Administrators".
func ItemName(s *Step) string {
	switch {
	case s.Membership != nil:
		return "group: " + s.Membership.Group
	case s.Package != nil:
		return "software: " + s.Package.Name
	case s.Printer != nil:
		return "printer: " + s.Printer.Name
	case s.WinSoftware != nil:
		return "software: " + s.WinSoftware.Name
	case s.WinPrinter != nil:
		return "printer: " + s.WinPrinter.Name
	case s.LocalGroup != nil:
		return "local group: " + s.LocalGroup.Group
	}
	return s.ID
}
