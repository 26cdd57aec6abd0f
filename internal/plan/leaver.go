package plan

import (
	"fmt"
	"slices"
	"time"
)

// Leaver kinds: the directory side of a leaver, and of a restore. Their
// steps run against a directory (Step.Directory) with Step.Leaver; the
// membership removal is KindMembershipRemove with Step.Membership.
const (
	// KindAccountDisable disables the account, not before the leave time.
	KindAccountDisable = "account-disable"
	// KindPasswordScramble gives the account a password nobody knows; in
	// place when the password was set at or after the leave time.
	KindPasswordScramble = "password-scramble"
	// KindAccountMove moves the account to the leavers OU.
	KindAccountMove = "account-move"
	// KindAccountExpire makes the account expire at the leave time (or
	// LeaverSpec.Expires). It may be applied before: an expiry is a
	// backstop that holds even if the leaver's run never comes.
	KindAccountExpire = "account-expire"
	// KindComputerDisable disables the leaver's computer account (AD).
	KindComputerDisable = "computer-disable"
	// KindAccountEnable enables the account again (a restore).
	KindAccountEnable = "account-enable"
	// KindAccountDelete deletes the account once its retention is over,
	// never under a legal hold.
	KindAccountDelete = "account-delete"
)

// LeaverSpec is the account a leaver step acts on, and when. Each kind
// reads the fields it names.
type LeaverSpec struct {
	Username string `json:"username"`
	// EmployeeID: the account must carry it (employeeID, employeeNumber),
	// so that a step never acts on another person's account that took the
	// name. Required by account-delete.
	EmployeeID string `json:"employee_id,omitempty"`
	// NotBefore is the leave time: no step applies before it (the run
	// fails the step with class not-yet), except account-expire.
	NotBefore time.Time `json:"not_before,omitzero"`
	// OU is the leavers OU (account-move).
	OU string `json:"ou,omitempty"`
	// Expires is when the account expires (account-expire); zero means
	// NotBefore.
	Expires time.Time `json:"expires,omitzero"`
	// NoExpiry: account-expire makes the account never expire instead (a
	// restore).
	NoExpiry bool `json:"no_expiry,omitempty"`
	// Computer is the computer account's name, without '$'
	// (computer-disable).
	Computer string `json:"computer,omitempty"`
	// LegalHold and RetainUntil keep an account from deletion
	// (account-delete); the planner fills them from the HR record.
	LegalHold   bool      `json:"legal_hold,omitempty"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
}

// Leaver is what LeaverSteps makes a leaver's directory steps from.
type Leaver struct {
	Hire       string // employee id
	Username   string
	Directory  string // the plan directory's name
	LeaveAt    time.Time
	Groups     []string // groups to take the account out of
	Rule       string   // why the groups go (Rule*), with Evidence
	Evidence   string
	LeaversOU  string // empty: the account stays where it is
	Expire     bool   // set the account's expiry to LeaveAt
	Computer   string // an Active Directory computer account to disable; empty: none
	Timeout    time.Duration
	DependsOn  []string // steps that must finish first (none usually)
	TitleName  string   // the person's name for titles; default Username
	StepPrefix string   // default Hire
}

// LeaverSteps makes a leaver's directory steps, in this order of
// dependencies: the account is disabled first (not before LeaveAt: the
// engine fails it as not-yet until then, and everything after it is
// skipped); then its groups are removed, its password scrambled and its
// computer disabled; last it is moved to the leavers OU (a move changes
// the DN the other steps read). The expiry waits for nothing: a run before
// the leave time sets it. Step ids are PREFIX:KIND:NAME, as the planner's.
func LeaverSteps(l Leaver) []*Step {
	prefix := l.StepPrefix
	if prefix == "" {
		prefix = l.Hire
	}
	who := l.TitleName
	if who == "" {
		who = l.Username
	}
	var steps []*Step
	mk := func(kind, name, title string) *Step {
		s := &Step{ID: prefix + ":" + kind + ":" + name, Kind: kind, Hire: l.Hire, Directory: l.Directory, Title: title,
			Timeout: Duration(l.Timeout)}
		steps = append(steps, s)
		return s
	}
	spec := func() *LeaverSpec {
		return &LeaverSpec{Username: l.Username, EmployeeID: l.Hire, NotBefore: l.LeaveAt}
	}
	disable := mk(KindAccountDisable, l.Username, fmt.Sprintf("Disable %s's account %s in %s", who, l.Username, l.Directory))
	disable.Leaver = spec()
	disable.DependsOn = append([]string(nil), l.DependsOn...)
	after := []string{disable.ID}
	var beforeMove []string
	for _, g := range l.Groups {
		m := mk(KindMembershipRemove, g, fmt.Sprintf("Remove %s from group %s", l.Username, g))
		m.Membership = &MembershipSpec{Username: l.Username, Group: g}
		m.Rule, m.Evidence = l.Rule, l.Evidence
		m.DependsOn = slices.Clone(after)
		beforeMove = append(beforeMove, m.ID)
	}
	sc := mk(KindPasswordScramble, l.Username, fmt.Sprintf("Scramble the password of %s", l.Username))
	sc.Leaver = spec()
	sc.DependsOn = slices.Clone(after)
	beforeMove = append(beforeMove, sc.ID)
	if l.Expire {
		// Not after the disable: an expiry set early is the backstop that
		// holds even if no run comes at the leave time.
		e := mk(KindAccountExpire, l.Username, fmt.Sprintf("Expire %s at %s", l.Username, l.LeaveAt.UTC().Format(time.RFC3339)))
		e.Leaver = spec()
		e.DependsOn = append([]string(nil), l.DependsOn...)
		beforeMove = append(beforeMove, e.ID)
	}
	if l.Computer != "" {
		c := mk(KindComputerDisable, l.Computer, fmt.Sprintf("Disable computer account %s", l.Computer))
		c.Leaver = spec()
		c.Leaver.Computer = l.Computer
		c.DependsOn = slices.Clone(after)
	}
	if l.LeaversOU != "" {
		m := mk(KindAccountMove, l.Username, fmt.Sprintf("Move %s to %s", l.Username, l.LeaversOU))
		m.Leaver = spec()
		m.Leaver.OU = l.LeaversOU
		m.DependsOn = append(slices.Clone(after), beforeMove...)
	}
	return steps
}
