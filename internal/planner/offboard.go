package planner

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"onboard/internal/codetemplate"
	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// OffboardOptions are the inputs of Offboard besides the journal and the
// inventory.
type OffboardOptions struct {
	// At is the leave time: the account is disabled, and so everything
	// after it happens, not before. Zero means the leave time of the
	// offboarding the journal shows applied (History.LeftAt), else Now.
	At time.Time
	// Purge plans only the deletion of the account, after the retention
	// of its directory and never under a legal hold.
	Purge bool
	// Now is the planning time; zero means the clock's.
	Now time.Time
	// Groups lists the groups the account is in now (the directory's
	// answer); nil plans no membership removal.
	Groups func(d *plan.Directory, username string) ([]string, error)
}

// RuleLeaver is why an offboarding removes a membership: a leaver leaves
// every group the directory has them in when the plan is made, as a
// playbook's prune does (Step.Evidence says which).
const RuleLeaver = "leaver: every group"

// Leaver step timeouts.
var offboardTimeouts = map[string]time.Duration{
	plan.KindLoginRevoke:   5 * time.Minute,
	plan.KindHomeArchive:   time.Hour,
	plan.KindAccountDelete: time.Minute,
}

// defaultHookTimeout bounds an offboarding hook without a timeout.
const defaultHookTimeout = 30 * time.Minute

// ErrNoSetup: the journal shows no setup of the hire, so there is nothing
// known to take down.
var ErrNoSetup = errors.New("the journal shows no setup of this hire")

// Offboard plans a leaver's offboarding from the hire's verified journal
// history (hist: its Setup is what the hire's last setup run planned) and
// the inventory. The order is that of safety, so that a run killed at any
// point leaves nothing that keeps access: the account is disabled first
// (not before At; every other step but the expiry depends on it), then
// its groups are removed (each its own step, RuleLeaver) and its password
// scrambled, it is given an expiry at At (set at once, a backstop), its
// computer account is disabled (Active Directory, a joined machine), and
// last it is moved to the directory's leavers OU (plan.LeaverSteps); on
// the hire's machine, the login is revoked, the printers onboard mapped are
// removed, the home archived and the inventory's hooks run when asked.
// The mailbox hand-over is left to do by hand, with the manager named.
//
// With opt.Purge the plan is only the account's deletion, refused here
// (and by the step) before the leave (hist.LeftAt, the applied
// offboarding's) plus the directory's retention_days, and under a legal
// hold.
func Offboard(hist *plan.History, inv *inventory.Inventory, opt OffboardOptions) (*plan.Plan, error) {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	if hist == nil || hist.Setup == nil {
		return nil, fmt.Errorf("offboard: %w: nothing is known to take down (onboard offboard takes down what onboard set up, as a verified journal shows)", ErrNoSetup)
	}
	at := opt.At
	switch {
	case at.IsZero() && !hist.LeftAt.IsZero():
		// A re-run of an applied offboarding keeps its leave time: the
		// scramble and the expiry are in place for that time, not for now.
		at = hist.LeftAt
	case at.IsZero():
		at = now
	}
	at = at.UTC()
	hire := *hist.Setup
	id := hire.ID
	var acct *plan.Step
	for _, s := range hist.SetupSteps {
		if s.Kind == plan.KindAccount && s.Account != nil {
			acct = s
			break
		}
	}
	if acct == nil {
		return nil, fmt.Errorf("offboard %s: the setup run %s made no directory account: there is no account to take down", id, hist.SetupRun)
	}
	username := acct.Account.Username
	dir, err := inv.Directory(acct.Directory)
	if err != nil {
		if dir = hist.SetupDirectories[acct.Directory]; dir == nil {
			return nil, fmt.Errorf("offboard %s: directory %s of account %s is described neither in the inventory nor in the journal", id, acct.Directory, username)
		}
	}
	leavers := inv.Directories[acct.Directory].Leavers

	p := &plan.Plan{Version: 1, Created: now, Hosts: map[string]*plan.Host{},
		Directories: map[string]*plan.Directory{dir.Name: dir}, KnowledgeBase: inv.KnowledgeBaseDir()}
	if hire.Source != "" {
		p.Sources = []string{hire.Source}
	}
	// The offboarding's hire is the setup's person, with the offboarding's
	// own manual tasks; the setup's groups, software and printers are what
	// it takes down, not what the hire has.
	hire.Manual, hire.Kept, hire.Moved, hire.Notify, hire.Provenance = nil, nil, nil, nil, nil
	hire.Groups, hire.Software, hire.Printers = nil, nil, nil
	hire.Handover = plan.Handover{}

	if opt.Purge {
		s, err := purgeStep(hist, inv, &hire, username, dir, leavers, now)
		if err != nil {
			return nil, err
		}
		p.Steps = []*plan.Step{s}
		p.Hires = []plan.Hire{hire}
		return p, nil
	}

	var groups []string
	if opt.Groups != nil {
		if groups, err = opt.Groups(dir, username); err != nil {
			return nil, fmt.Errorf("offboard %s: list the groups of %s in %s: %w", id, username, dir.Name, err)
		}
		groups = slices.Clone(groups)
		sort.Strings(groups)
		groups = slices.Compact(groups)
	}
	l := plan.Leaver{Hire: id, Username: username, Directory: dir.Name, LeaveAt: at, Groups: groups,
		Rule: RuleLeaver, Evidence: fmt.Sprintf("a member in %s when planned at %s", dir.Name, now.Format(time.RFC3339)),
		LeaversOU: leavers.OU, Expire: true, Timeout: time.Minute, TitleName: hire.Name}
	if dir.Kind == "active-directory" {
		l.Computer = computerOf(hist.SetupSteps)
		if l.Computer == "" && joined(hist.SetupSteps) {
			hire.Manual = append(hire.Manual, fmt.Sprintf("Disable the computer account of %s in %s by hand: the setup joined it under its own name, which the journal does not record", hire.Host, dir.Name))
		}
	}
	p.Steps = plan.LeaverSteps(l)
	disable := p.Steps[0].ID
	for _, s := range p.Steps {
		if s.Kind == plan.KindMembershipRemove {
			s.Evidence = fmt.Sprintf("a member of %s in %s when planned at %s", s.Membership.Group, dir.Name, now.Format(time.RFC3339))
		}
	}

	host := hostOf(hist, inv, hire.Host)
	if hire.Host != "" && host == nil {
		hire.Manual = append(hire.Manual, fmt.Sprintf("End %s's access on %s by hand: the machine is described neither in the inventory nor in the journal", hire.Name, hire.Host))
	}
	if host != nil {
		p.Hosts[host.Name] = host
		steps, manual, err := hostSteps(hist, inv, &hire, host, dir, username, at, disable)
		if err != nil {
			return nil, fmt.Errorf("offboard %s: %w", id, err)
		}
		p.Steps = append(p.Steps, steps...)
		hire.Manual = append(hire.Manual, manual...)
	}
	manager := hire.Manager
	if manager == "" {
		manager = "their manager (the last setup names none)"
	}
	who := hire.Name
	if who == "" {
		who = username
	}
	hire.Manual = append(hire.Manual, fmt.Sprintf("Hand over the mailbox of %s to %s", who, manager))
	for _, s := range p.Steps {
		if plan.IsRemoval(s.Kind) {
			hire.Kept = append(hire.Kept, plan.Kept{Item: where(s), Rule: s.Rule, Evidence: s.Evidence})
		}
	}
	p.Hires = []plan.Hire{hire}
	return p, nil
}

// purgeStep is a purge's only step, or why there may be none yet.
func purgeStep(hist *plan.History, inv *inventory.Inventory, hire *plan.Hire, username string, dir *plan.Directory, leavers inventory.Leavers, now time.Time) (*plan.Step, error) {
	id := hire.ID
	if hold, where := inv.LegalHold(id); hold != nil {
		return nil, fmt.Errorf("purge %s: account %s is under legal hold since %s (%s; %s): it is not deleted while the hold stands", id, username, hold.Since, hold.Reason, where)
	}
	if hist.LeftAt.IsZero() {
		return nil, fmt.Errorf("purge %s: the journal shows no applied offboarding of %s: offboard first, and purge after the retention", id, username)
	}
	until := hist.LeftAt.AddDate(0, 0, leavers.RetentionDays)
	if now.Before(until) {
		return nil, fmt.Errorf("purge %s: account %s is retained until %s (left at %s, run %s; directories.%s.leavers.retention_days: %d)",
			id, username, until.UTC().Format(time.RFC3339), hist.LeftAt.UTC().Format(time.RFC3339), hist.LeftRun, dir.Name, leavers.RetentionDays)
	}
	return &plan.Step{ID: id + ":" + plan.KindAccountDelete + ":" + username, Kind: plan.KindAccountDelete, Hire: id, Directory: dir.Name,
		Title:   fmt.Sprintf("Delete %s's account %s from %s (retained until %s)", hire.Name, username, dir.Name, until.UTC().Format(time.RFC3339)),
		Timeout: plan.Duration(offboardTimeouts[plan.KindAccountDelete]),
		Leaver:  &plan.LeaverSpec{Username: username, EmployeeID: id, NotBefore: hist.LeftAt, RetainUntil: until}}, nil
}

// computerOf is the computer account of the hire's joined machine, from
// the setup's steps; "" when it joined none.
func computerOf(steps []*plan.Step) string {
	for _, s := range steps {
		switch {
		case s.Computer != nil:
			return s.Computer.Name
		case s.Join != nil:
			return s.Join.Computer
		case s.WinJoin != nil && s.WinJoin.NewName != "":
			return s.WinJoin.NewName
		}
	}
	return ""
}

// joined says whether the setup joined the hire's machine to a domain.
func joined(steps []*plan.Step) bool {
	return slices.ContainsFunc(steps, func(s *plan.Step) bool { return s.Join != nil || s.WinJoin != nil })
}

// hostOf is the hire's machine as the inventory describes it now, else as
// the setup recorded it; nil when neither does.
func hostOf(hist *plan.History, inv *inventory.Inventory, name string) *plan.Host {
	if name == "" {
		return nil
	}
	if h, err := inv.Host(name); err == nil {
		return h
	}
	return hist.SetupHosts[name]
}

// hostSteps are the offboarding's steps on the hire's machine, each after
// the account's disable (so none runs before the leave time): the login
// revoked, the printers onboard mapped removed, then the home archived
// and the hooks run, in order.
func hostSteps(hist *plan.History, inv *inventory.Inventory, hire *plan.Hire, host *plan.Host, dir *plan.Directory, username string, at time.Time, disable string) ([]*plan.Step, []string, error) {
	id := hire.ID
	var steps []*plan.Step
	mk := func(kind, name, title string, timeout time.Duration, after ...string) *plan.Step {
		s := &plan.Step{ID: id + ":" + kind + ":" + name + "@" + host.Name, Kind: kind, Hire: id, Host: host.Name, Title: title,
			Timeout: plan.Duration(timeout), DependsOn: append([]string{disable}, after...)}
		steps = append(steps, s)
		return s
	}
	rv := &plan.LoginRevokeSpec{User: username}
	if host.OS == "windows" {
		if dir.Kind == "active-directory" && dir.Domain != "" {
			rv.User = strings.ToUpper(strings.SplitN(dir.Domain, ".", 2)[0]) + `\` + username
		}
	} else {
		for _, s := range hist.SetupSteps {
			if s.Join != nil && s.Join.Logins == "sssd" && s.Host == host.Name {
				rv.Domain = s.Join.Domain
			}
		}
	}
	revoke := mk(plan.KindLoginRevoke, username, fmt.Sprintf("Revoke %s's sign-in on %s", rv.User, host.Name), offboardTimeouts[plan.KindLoginRevoke])
	revoke.LoginRevoke = rv
	// The archive and the hooks (a wipe, a re-image) come after
	// everything else on the machine.
	before := []string{revoke.ID}

	var manual []string
	for _, it := range hist.Items {
		src := it.Step
		if !it.ByOnboard || src.Host != host.Name || (src.Printer == nil && src.WinPrinter == nil) {
			continue
		}
		if by := hist.Shared[plan.ItemKey(src)]; by != "" {
			// Another hire's current setup on this machine has it.
			hire.Kept = append(hire.Kept, plan.Kept{Item: where(src), Rule: plan.RuleStillWanted, Evidence: by + "; " + it.Evidence()})
			continue
		}
		kind := plan.RemovalOf[src.Kind]
		s := &plan.Step{Kind: kind, Hire: id, Host: host.Name, Rule: plan.RulePlaced, Evidence: it.Evidence(),
			Timeout: plan.Duration(removalTimeouts[kind]), DependsOn: []string{disable}}
		if src.Printer != nil {
			v := *src.Printer
			v.Default = false
			s.Printer = &v
			s.ID = id + ":" + kind + ":" + v.Name + "@" + host.Name
			s.Title = fmt.Sprintf("Unmap printer %s on %s", v.Name, host.Name)
		} else {
			v := *src.WinPrinter
			s.WinPrinter = &v
			s.ID = id + ":" + kind + ":" + v.Name + "@" + host.Name
			s.Title = fmt.Sprintf("Disconnect printer %s on %s", v.Connection, host.Name)
		}
		steps = append(steps, s)
		before = append(before, s.ID)
	}

	off := inv.Offboarding()
	if off == nil {
		return steps, manual, nil
	}
	vars := (&playbook.Playbook{}).TemplateVars(username, host.Name)
	for k, v := range map[string]string{"person.employee_id": id, "person.name": hire.Name, "person.title": hire.Title,
		"person.department": hire.Department, "person.manager": hire.Manager, "person.start_date": hire.StartDate,
		"person.email": hire.Email, "offboard.date": at.Format(time.DateOnly)} {
		vars[k] = v
	}
	for _, s := range hist.SetupSteps {
		if s.Account != nil && s.Account.Home != "" {
			vars["account.home"] = s.Account.Home
		}
	}
	if off.ArchiveHome != "" {
		if host.OS != "linux" {
			manual = append(manual, fmt.Sprintf("Archive %s's home on %s by hand: offboarding.archive_home archives homes on Linux machines only", username, host.Name))
		} else {
			archive, err := playbook.Expand(off.ArchiveHome, vars)
			if err != nil {
				return nil, nil, fmt.Errorf("offboarding.archive_home: %w", err)
			}
			ha := &plan.HomeArchiveSpec{User: username, Home: vars["account.home"], Archive: archive}
			if err := ha.Validate(); err != nil {
				return nil, nil, fmt.Errorf("offboarding.archive_home for %s: %w", username, err)
			}
			s := mk(plan.KindHomeArchive, username, fmt.Sprintf("Archive %s to %s on %s", ha.Home, ha.Archive, host.Name), offboardTimeouts[plan.KindHomeArchive], before...)
			s.HomeArchive = ha
			before = []string{s.ID}
		}
	}
	for _, hk := range off.Hooks {
		kind, lang := plan.KindCommand, codetemplate.Sh
		if host.OS == "windows" {
			kind, lang = plan.KindWinCommand, codetemplate.PowerShell
		}
		e := codetemplate.Expander{Lang: lang, Vars: vars}
		run, err := e.Expand(hk.Run)
		if err != nil {
			return nil, nil, fmt.Errorf("offboarding hook %s: run: %w", hk.Name, err)
		}
		unless, err := e.Expand(hk.Unless)
		if err != nil {
			return nil, nil, fmt.Errorf("offboarding hook %s: unless: %w", hk.Name, err)
		}
		creates, err := playbook.Expand(hk.Creates, vars)
		if err != nil {
			return nil, nil, fmt.Errorf("offboarding hook %s: creates: %w", hk.Name, err)
		}
		timeout := hk.Timeout
		if timeout == 0 {
			timeout = defaultHookTimeout
		}
		s := mk(kind, "offboard-"+hk.Name, fmt.Sprintf("Run offboarding hook %q on %s", hk.Name, host.Name), timeout, before...)
		s.Command = &plan.CommandSpec{Run: run, Creates: creates, Unless: unless, Privileged: host.OS != "windows", Values: e.Values}
		before = []string{s.ID}
	}
	return steps, manual, nil
}
