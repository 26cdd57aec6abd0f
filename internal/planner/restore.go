package planner

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/folder"
	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/step"
)

// RestoreOptions tune a restore plan.
type RestoreOptions struct {
	// Hire is the leaver's employee id; empty: the offboarding's only hire.
	Hire string
	// Now is when the restore runs: it must fall within the grace period
	// after the leave. Zero means time.Now.
	Now time.Time
	// Deliver is how the new initial password reaches the hire, as a
	// playbook's account.password.deliver: "file:PATH" or "terminal"
	// (empty: terminal).
	Deliver string
	// Write are folders (from the command line) a file: delivery may be
	// written in, besides the inventory's playbooks.write.
	Write []string
	// PurgedBy names a purge run of the hire after the offboarding (the
	// caller reads the journal): the account is gone, and the restore is
	// refused.
	PurgedBy string
}

// ErrNoRestore: the offboarding cannot be undone (grace period over,
// account purged, or nothing in the run to restore from).
var ErrNoRestore = errors.New("cannot restore")

// Restore plans bringing a leaver back, from the verified journal run of
// the offboarding (RunStart.Mode "offboard"): the account moves back to the
// OU it came from and never expires, goes back into every group the
// offboarding saw it in (step.GroupsSeen of the run's results), gets a new
// initial password delivered as at onboarding (the scrambled one is known
// to nobody), and is enabled. The machine's side has no undo kind: each
// login-revoke of the offboarding becomes a task left to do by hand.
//
// It refuses (ErrNoRestore) outside leavers.grace_days after the leave,
// naming the day the grace period ended, and when the account was purged.
func Restore(off *journal.RunDetail, inv *inventory.Inventory, opt RestoreOptions) (*plan.Plan, error) {
	if off == nil {
		return nil, fmt.Errorf("%w: no offboarding run", ErrNoRestore)
	}
	if off.Mode != "offboard" || off.DryRun {
		return nil, fmt.Errorf("restore: run %s is %s, not an applied offboarding", off.ID, runMode(off))
	}
	if len(off.Unverified) > 0 {
		return nil, fmt.Errorf("restore: run %s: records %v do not match their hashes: the journal was changed outside onboard", off.ID, off.Unverified)
	}
	op, err := off.PlanOf()
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if op == nil {
		return nil, fmt.Errorf("restore: run %s has no plan in the journal", off.ID)
	}
	hire, err := restoreHire(op, opt.Hire)
	if err != nil {
		return nil, fmt.Errorf("restore: run %s: %w", off.ID, err)
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)

	var disable, move *plan.Step
	var revokes []*plan.Step
	for _, s := range op.Steps {
		if s.Hire != hire.ID {
			continue
		}
		switch s.Kind {
		case plan.KindAccountDisable:
			disable = s
		case plan.KindAccountMove:
			move = s
		case plan.KindLoginRevoke:
			revokes = append(revokes, s)
		}
	}
	if disable == nil || disable.Leaver == nil {
		return nil, fmt.Errorf("%w: run %s has no account-disable step for %s: nothing to bring back", ErrNoRestore, off.ID, hire.ID)
	}
	fin := off.FinishedSteps()
	for _, s := range op.Steps {
		if s.Hire == hire.ID && s.Kind == plan.KindAccountDelete {
			if r, ok := fin[s.ID]; ok && (r.Step.Outcome == result.Changed || r.Step.Outcome == result.OK) {
				return nil, fmt.Errorf("%w: the account %s was purged by run %s (step %s): %s",
					ErrNoRestore, disable.Leaver.Username, off.ID, s.ID, r.Step.Outcome)
			}
		}
	}
	if opt.PurgedBy != "" {
		return nil, fmt.Errorf("%w: the account %s was purged by run %s after the offboarding", ErrNoRestore, disable.Leaver.Username, opt.PurgedBy)
	}

	dirName := disable.Directory
	idir, ok := inv.Directories[dirName]
	if !ok {
		return nil, fmt.Errorf("restore: run %s: directory %q is no longer in the inventory", off.ID, dirName)
	}
	leave := disable.Leaver.NotBefore
	if leave.IsZero() {
		return nil, fmt.Errorf("restore: run %s: step %s names no leave time", off.ID, disable.ID)
	}
	grace := idir.Leavers.GraceDays
	if grace <= 0 {
		return nil, fmt.Errorf("%w: directory %s allows no restore (leavers.grace_days is 0)", ErrNoRestore, dirName)
	}
	end := leave.AddDate(0, 0, grace)
	if now.After(end) {
		return nil, fmt.Errorf("%w: the grace period of %d days after the leave at %s ended on %s (directories.%s.leavers.grace_days)",
			ErrNoRestore, grace, leave.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), dirName)
	}
	dir, err := inv.Directory(dirName)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}

	// What the offboarding saw and did, from its results, in record order.
	var groups []string
	seen := map[string]bool{}
	groupsFrom := map[string]string{}
	var fromOU, moveEvidence string
	var scrambled time.Time
	scrambleEvidence := fmt.Sprintf("run %s: no password-scramble recorded", off.ID)
	for _, r := range off.Records {
		if r.Kind != journal.StepFinished || r.Step == nil || r.Step.Hire != hire.ID {
			continue
		}
		if gs, ok := step.GroupsSeen(r.Step.Changed); ok {
			for _, g := range gs {
				if !seen[g] {
					seen[g] = true
					groups = append(groups, g)
					groupsFrom[g] = fmt.Sprintf("run %s, step %s: %s", off.ID, r.Step.ID, r.Step.Changed)
				}
			}
		}
		if r.Step.Kind == plan.KindPasswordScramble && r.Step.Outcome.Done() {
			// The scrambled password is dated at or before this record,
			// in whole seconds on OpenLDAP.
			scrambled = r.Time.UTC().Truncate(time.Second)
			scrambleEvidence = fmt.Sprintf("run %s, step %s: the password was scrambled (%s)", off.ID, r.Step.ID, r.Step.Outcome)
		}
		if move != nil && r.Step.ID == move.ID && r.Step.Outcome == result.Changed {
			if ou, ok := MovedFrom(r.Step.Changed); ok {
				fromOU, moveEvidence = ou, fmt.Sprintf("run %s, step %s: %s", off.ID, r.Step.ID, r.Step.Changed)
			}
		}
	}
	if move != nil && fromOU == "" {
		if r, ok := fin[move.ID]; ok && r.Step.Outcome == result.Changed {
			return nil, fmt.Errorf("restore: run %s: step %s moved the account, but its result %q does not say from where", off.ID, move.ID, r.Step.Changed)
		}
	}
	deliver, root, err := restoreDelivery(inv, opt)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}

	username := disable.Leaver.Username
	prefix := hire.ID + ":restore"
	var steps []*plan.Step
	mk := func(kind, name, title, evidence string) *plan.Step {
		s := &plan.Step{ID: prefix + ":" + kind + ":" + name, Kind: kind, Hire: hire.ID, Directory: dirName, Title: title, Evidence: evidence}
		if evidence != "" {
			s.Rule = plan.RuleRestore
		}
		steps = append(steps, s)
		return s
	}
	spec := func() *plan.LeaverSpec { return &plan.LeaverSpec{Username: username, EmployeeID: hire.ID} }
	var first []string
	if fromOU != "" {
		m := mk(plan.KindAccountMove, username, fmt.Sprintf("Move %s back to %s", username, fromOU), moveEvidence)
		m.Leaver = spec()
		m.Leaver.OU = fromOU
		first = []string{m.ID}
	}
	e := mk(plan.KindAccountExpire, username, fmt.Sprintf("Clear the expiry of %s: it never expires", username), "")
	e.Leaver = spec()
	e.Leaver.NoExpiry = true
	e.DependsOn = append([]string(nil), first...)
	before := append(append([]string(nil), first...), e.ID)
	for _, g := range groups {
		m := mk(plan.KindMembership, g, fmt.Sprintf("Add %s back to group %s", username, g), groupsFrom[g])
		m.Membership = &plan.MembershipSpec{Username: username, Group: g}
		// After the move: a directory without referential integrity
		// would keep the member's old DN.
		m.DependsOn = append([]string(nil), first...)
		before = append(before, m.ID)
	}
	// The new password comes before the enable: activate finds an enabled
	// account with a password in place, and would keep the scrambled one
	// nobody knows. A disabled account it activates (a new password,
	// delivered, then enabled); account-enable then proves the flag.
	act := mk(plan.KindActivate, username, fmt.Sprintf("Set a new initial password of %s and enable it", username), scrambleEvidence)
	act.Activate = &plan.ActivateSpec{Username: username, MustChangePassword: true, Deliver: deliver, DeliverRoot: root,
		// AD refuses a password containing parts of the user's names.
		Avoid:     append([]string{username}, strings.Fields(hire.Name)...),
		Scrambled: scrambled}
	act.DependsOn = before
	en := mk(plan.KindAccountEnable, username, fmt.Sprintf("Enable %s's account %s in %s", hire.Name, username, dirName),
		fmt.Sprintf("run %s, step %s", off.ID, disable.ID))
	en.Leaver = spec()
	en.DependsOn = []string{act.ID}

	h := hire
	h.Kept, h.Moved, h.Provenance, h.Manual = nil, nil, nil, nil
	h.Handover = plan.Handover{Contact: hire.Handover.Contact}
	for _, s := range revokes {
		h.Manual = append(h.Manual, revokeUndo(op, s, off.ID))
	}
	p := &plan.Plan{Version: 1, Created: now, Sources: op.Sources, Hires: []plan.Hire{h}, Hosts: map[string]*plan.Host{},
		Directories: map[string]*plan.Directory{dirName: dir}, Steps: steps, KnowledgeBase: inv.KnowledgeBaseDir()}
	if root != "" {
		p.Writable = []string{root}
	}
	return p, nil
}

func runMode(d *journal.RunDetail) string {
	m := d.Mode
	if m == "" {
		m = "apply"
	}
	if d.DryRun {
		m += " (dry run)"
	}
	return fmt.Sprintf("%q", m)
}

// restoreHire is the offboarding plan's hire id (or its only hire).
func restoreHire(p *plan.Plan, id string) (plan.Hire, error) {
	if id == "" {
		if len(p.Hires) != 1 {
			return plan.Hire{}, fmt.Errorf("the offboarding has %d hires: name the employee id", len(p.Hires))
		}
		return p.Hires[0], nil
	}
	for _, h := range p.Hires {
		if h.ID == id {
			return h, nil
		}
	}
	return plan.Hire{}, fmt.Errorf("employee %s is not a hire of the offboarding", id)
}

// restoreDelivery confines a file: delivery to the writable folders, as
// a playbook's is.
func restoreDelivery(inv *inventory.Inventory, opt RestoreOptions) (deliver, root string, err error) {
	d := opt.Deliver
	if d == "" || d == "terminal" {
		return "terminal", "", nil
	}
	p, ok := strings.CutPrefix(d, "file:")
	if !ok || p == "" {
		return "", "", fmt.Errorf("--deliver %q: want file:PATH or terminal", d)
	}
	set, err := folder.NewSet(append(append([]string(nil), opt.Write...), inv.WriteDirs()...)...)
	if err != nil {
		return "", "", fmt.Errorf("the folders a delivery may be written to: %w", err)
	}
	if len(set) == 0 {
		return "", "", fmt.Errorf("--deliver %s: onboard may write to no folder: allow one with --allow-write DIR or the inventory's playbooks.write", d)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", "", err
	}
	resolved, root, err := set.Check(abs)
	if err != nil {
		return "", "", fmt.Errorf("--deliver %s: onboard writes only in the folders --allow-write and the inventory's playbooks.write name: %w", d, err)
	}
	return "file:" + resolved, root, nil
}

// MovedFrom reads back the OU an account-move's result says the account
// came from ("moved ada from uid=ada,ou=People,dc=x to uid=ada,ou=Leavers,dc=x").
// The new DN keeps the old one's first RDN, which tells where the old DN
// ends even when an RDN holds " to ".
func MovedFrom(text string) (string, bool) {
	i := strings.Index(text, " from ")
	if !strings.HasPrefix(text, "moved ") || i < 0 {
		return "", false
	}
	rest := text[i+len(" from "):]
	for j := 0; ; {
		k := strings.Index(rest[j:], " to ")
		if k < 0 {
			return "", false
		}
		j += k
		oldDN, newDN := rest[:j], rest[j+len(" to "):]
		od, err1 := ldap.ParseDN(oldDN)
		nd, err2 := ldap.ParseDN(newDN)
		if err1 == nil && err2 == nil && len(od.RDNs) > 1 && len(nd.RDNs) > 0 && od.RDNs[0].EqualFold(nd.RDNs[0]) {
			// The parent as written (DN.String would lower-case it).
			if c := firstComma(oldDN); c > 0 {
				return strings.TrimSpace(oldDN[c+1:]), true
			}
		}
		j++
	}
}

// firstComma is the index of the comma that ends a DN's first RDN (one
// not escaped with a backslash), or -1.
func firstComma(dn string) int {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return i
		}
	}
	return -1
}

// revokeUndo is the task a restore leaves for a login-revoke: onboard has
// no kind that gives a sign-in back.
func revokeUndo(p *plan.Plan, s *plan.Step, runID string) string {
	l := s.LoginRevoke
	if l == nil {
		return fmt.Sprintf("On %s: give the sign-in back by hand (run %s, step %s revoked it)", s.Host, runID, s.ID)
	}
	os := ""
	if h := p.Hosts[s.Host]; h != nil {
		os = h.OS
	}
	what := fmt.Sprintf("On %s: give %s the sign-in back by hand (run %s, step %s revoked it; onboard has no undo of login-revoke): ", s.Host, l.User, runID, s.ID)
	switch {
	case os == "windows":
		what += fmt.Sprintf("add %s back to the local groups it was in (of %s)", l.User, strings.Join(l.WindowsGroups(), ", "))
	case l.Domain != "":
		what += fmt.Sprintf("in /etc/sssd/conf.d/onboard-leavers.conf delete the line \"# deny: %s\" and its (sAMAccountName=%s) from ad_access_filter, then restart sssd", l.User, l.User)
	default:
		what += fmt.Sprintf("unlock the local account and clear its expiry (usermod -U -e '' %s)", l.User)
	}
	return what + "; its authorized_keys were removed: the hire adds keys again"
}
