package step

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/directory"
	"onboard/internal/plan"
	"onboard/internal/secret"
)

// The directory side of movers and leavers: membership-remove and the
// leaver kinds (account-disable, password-scramble, account-move,
// account-expire, computer-disable, account-enable, account-delete). Each
// checks, applies and is verified by checking again, like the others.
//
// Time: a step whose LeaverSpec.NotBefore (the leave time) has not come is
// refused at apply with a *NotYetError, which the engine reports as a
// failed step of class result.ClassNotYet: nothing in the directory
// failed, the steps after it are skipped, and a run after the leave time
// applies it. Its check says "due at T" meanwhile. account-expire is the
// exception: an expiry set early is the backstop that holds even if no run
// comes at the leave time.
//
// Evidence: what a step saw goes into what it says, and so into the
// journal: the account's groups before a removal or a disable ("groups
// [...]", read back by GroupsSeen), its DN before a move, the expiry or
// flag it replaced.

// Leavers is what the leaver kinds need of a directory beyond Directory.
// A client without it cannot run them (the step fails and says so).
type Leavers interface {
	GroupsOf(ctx context.Context, userDN string) ([]string, error)
	RemoveMember(ctx context.Context, groupDN, userDN string) error
	DisableUser(ctx context.Context, dn string) error
	EnableUser(ctx context.Context, dn string) error
	UserDisabled(ctx context.Context, dn string) (bool, error)
	ScramblePassword(ctx context.Context, dn string) (secret.Value, error)
	PasswordChangedAt(ctx context.Context, dn string) (time.Time, error)
	MoveUser(ctx context.Context, dn, ou string) (string, error)
	SetExpiry(ctx context.Context, dn string, t time.Time) error
	Expiry(ctx context.Context, dn string) (time.Time, error)
	ClearExpiry(ctx context.Context, dn string) error
	DisableComputer(ctx context.Context, dn string) error
	DeleteUser(ctx context.Context, dn string) error
}

// The LDAP adapter runs every leaver kind.
var _ Leavers = (*directory.Client)(nil)

// NotYetError refuses a step whose time has not come (Due) or that
// something holds (Hold, e.g. a legal hold). The engine reports it as a
// failure of class result.ClassNotYet.
type NotYetError struct {
	What string    // "disable lleaver"
	Due  time.Time // zero when held
	Hold string    // why it is held; empty when only the time is early
}

func (e *NotYetError) Error() string {
	if e.Hold != "" {
		return fmt.Sprintf("not yet: %s: %s", e.What, e.Hold)
	}
	return fmt.Sprintf("not yet: %s is due at %s", e.What, e.Due.UTC().Format(time.RFC3339))
}

// now is the clock the leaver kinds compare the leave time with.
var now = time.Now

// notYet refuses what is due at t (zero: any time).
func notYet(what string, t time.Time) error {
	if !t.IsZero() && now().Before(t) {
		return &NotYetError{What: what, Due: t}
	}
	return nil
}

// dueNote is what a check adds to a step not in place whose time has not
// come: a dry run shows it.
func dueNote(t time.Time) string {
	if !t.IsZero() && now().Before(t) {
		return "; due at " + t.UTC().Format(time.RFC3339) + " (not yet)"
	}
	return ""
}

func leavers(x *Exec) (Leavers, error) {
	l, ok := x.D.Client.(Leavers)
	if !ok {
		return nil, fmt.Errorf("directory %s: this client cannot run leaver steps", x.D.Dir.Name)
	}
	return l, nil
}

// leaverAccount finds the step's account; it refuses one that carries
// another employee id than the spec's.
func leaverAccount(ctx context.Context, x *Exec, l *plan.LeaverSpec) (*directory.User, error) {
	if l.Username == "" {
		return nil, errors.New("the leaver step names no account")
	}
	u, err := x.D.Client.FindUser(ctx, l.Username)
	if err != nil || u == nil {
		return u, err
	}
	if l.EmployeeID != "" && u.EmployeeID != l.EmployeeID {
		return nil, fmt.Errorf("%s: %w: %s carries employee id %q, not %q: onboard acts only on the leaver's own account",
			l.Username, ErrTaken, u.DN, u.EmployeeID, l.EmployeeID)
	}
	return u, nil
}

// mustAccount is leaverAccount where a missing account is an error.
// leaverUser is what every leaver kind starts with: the directory's
// leaver operations and the leaver's own account.
func leaverUser(ctx context.Context, x *Exec, sp *plan.LeaverSpec) (Leavers, *directory.User, error) {
	l, err := leavers(x)
	if err != nil {
		return nil, nil, err
	}
	u, err := mustAccount(ctx, x, sp)
	if err != nil {
		return nil, nil, err
	}
	return l, u, nil
}

// leaverApply starts every leaver kind's apply: nothing before the
// step's time (a not-yet error naming what), then the directory's leaver
// operations and the leaver's account.
func leaverApply(ctx context.Context, x *Exec, sp *plan.LeaverSpec, what string) (Leavers, *directory.User, error) {
	if err := notYet(what, sp.NotBefore); err != nil {
		return nil, nil, err
	}
	return leaverUser(ctx, x, sp)
}

func mustAccount(ctx context.Context, x *Exec, l *plan.LeaverSpec) (*directory.User, error) {
	u, err := leaverAccount(ctx, x, l)
	if err == nil && u == nil {
		err = fmt.Errorf("account %s does not exist in %s", l.Username, x.D.Dir.Name)
	}
	return u, err
}

// groupsEvidence is the account's groups as a step records them.
func groupsEvidence(groups []string) string {
	if groups == nil {
		groups = []string{}
	}
	b, _ := json.Marshal(groups)
	return "groups " + string(b)
}

// GroupsSeen reads back the groups a leaver step recorded in what it said
// (its result's Changed, kept in the journal): what a restore puts back.
func GroupsSeen(text string) ([]string, bool) {
	i := strings.Index(text, "groups [")
	if i < 0 {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(text[i+len("groups "):]))
	var groups []string
	if err := dec.Decode(&groups); err != nil {
		return nil, false
	}
	return groups, true
}

// MembershipRemove takes the account out of one group (plan.KindMembershipRemove,
// spec Membership). A missing account is a member of nothing, and a
// missing group has no members: both in place, saying so.
type MembershipRemove struct{}

func (MembershipRemove) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	m := s.Membership
	g, u, err := Membership{}.resolve(ctx, x, m)
	if errors.Is(err, directory.ErrNoSuchGroup) {
		return inPlace(fmt.Sprintf("group %s does not exist in %s: %s is not in it", m.Group, x.D.Dir.Name, m.Username)), nil
	}
	if err != nil {
		return State{}, err
	}
	if u == nil {
		return inPlace(fmt.Sprintf("account %s does not exist in %s: a member of nothing", m.Username, x.D.Dir.Name)), nil
	}
	ok, err := x.D.Client.IsMember(ctx, g, u.DN)
	if err != nil {
		return State{}, err
	}
	if ok {
		return differs(fmt.Sprintf("%s is a member of %s", m.Username, m.Group)), nil
	}
	return inPlace(fmt.Sprintf("%s is not a member of %s", m.Username, m.Group)), nil
}

func (MembershipRemove) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	m := s.Membership
	l, err := leavers(x)
	if err != nil {
		return "", err
	}
	g, u, err := Membership{}.resolve(ctx, x, m)
	if err != nil {
		return "", err
	}
	if u == nil {
		return "", fmt.Errorf("account %s does not exist in %s", m.Username, x.D.Dir.Name)
	}
	before, err := l.GroupsOf(ctx, u.DN)
	if err != nil {
		return "", err
	}
	if err := l.RemoveMember(ctx, g, u.DN); err != nil {
		return "", err
	}
	return fmt.Sprintf("removed %s from %s; %s before", m.Username, g, groupsEvidence(before)), nil
}

// AccountDisable disables the account, not before the leave time. Its
// check proves it: the directory's flag (Active Directory's
// ACCOUNTDISABLE, OpenLDAP's ppolicy lock) reads set, and, when this run
// knows a password of the account, a bind with it fails.
type AccountDisable struct{}

// disabledHow names the directory's flag, for reasons.
func disabledHow(x *Exec) string {
	if x.D.Dir.Kind == string(directory.ActiveDirectory) {
		return "userAccountControl has ACCOUNTDISABLE"
	}
	return "ppolicy lock pwdAccountLockedTime 000001010000Z"
}

func (AccountDisable) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	sp := s.Leaver
	l, u, err := leaverUser(ctx, x, sp)
	if err != nil {
		return State{}, err
	}
	disabled, err := l.UserDisabled(ctx, u.DN)
	if err != nil {
		return State{}, err
	}
	if !disabled {
		return differs(fmt.Sprintf("account %s (%s) is enabled%s", sp.Username, u.DN, dueNote(sp.NotBefore))), nil
	}
	reason := fmt.Sprintf("account %s is disabled (%s)", sp.Username, disabledHow(x))
	v, ok := x.D.scrambled.Load(sp.Username)
	if !ok {
		v, ok = x.D.initial.Load(sp.Username)
	}
	if ok {
		err := x.D.Client.VerifyBind(ctx, u.DN, v.(secret.Value))
		switch {
		case err == nil || errors.Is(err, directory.ErrMustChangePassword):
			return differs(fmt.Sprintf("account %s reads disabled (%s), but a bind with its password still works on %s",
				sp.Username, disabledHow(x), x.D.Client.Server())), nil
		case errors.Is(err, directory.ErrInvalidCredentials):
			reason += "; a bind with its password, set in this run, is refused on " + x.D.Client.Server()
		default:
			return State{}, err
		}
	}
	return inPlace(reason), nil
}

func (AccountDisable) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	sp := s.Leaver
	l, u, err := leaverApply(ctx, x, sp, "disable "+sp.Username)
	if err != nil {
		return "", err
	}
	groups, err := l.GroupsOf(ctx, u.DN)
	if err != nil {
		return "", err
	}
	if err := l.DisableUser(ctx, u.DN); err != nil {
		return "", err
	}
	return fmt.Sprintf("disabled %s (%s); it was in %s", sp.Username, u.DN, groupsEvidence(groups)), nil
}

// AccountEnable enables the account again (a restore). Its check reads the
// directory's flag; a bind is not tried, since other parts of a restore
// (an expiry, a password) decide whether one works.
type AccountEnable struct{}

func (AccountEnable) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	sp := s.Leaver
	l, u, err := leaverUser(ctx, x, sp)
	if err != nil {
		return State{}, err
	}
	disabled, err := l.UserDisabled(ctx, u.DN)
	if err != nil {
		return State{}, err
	}
	if disabled {
		return differs(fmt.Sprintf("account %s is disabled (%s)%s", sp.Username, disabledHow(x), dueNote(sp.NotBefore))), nil
	}
	return inPlace(fmt.Sprintf("account %s (%s) is enabled", sp.Username, u.DN)), nil
}

func (AccountEnable) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	sp := s.Leaver
	l, u, err := leaverApply(ctx, x, sp, "enable "+sp.Username)
	if err != nil {
		return "", err
	}
	if err := l.EnableUser(ctx, u.DN); err != nil {
		return "", err
	}
	return fmt.Sprintf("enabled %s (%s)", sp.Username, u.DN), nil
}

// PasswordScramble gives the account a random password nobody knows. It is
// in place when the directory dates the password at or after the leave
// time (Active Directory's pwdLastSet, OpenLDAP's pwdChangedTime under
// ppolicy); a directory that keeps no date cannot prove it, and the check
// fails saying so. The date is the directory's clock, the leave time the
// controller's: no margin is allowed (a password the leaver set a minute
// before leaving must not pass for scrambled), so a directory whose clock
// runs behind fails the verify of a scramble made just after the leave
// time, and a later run scrambles again.
type PasswordScramble struct{}

func (PasswordScramble) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	sp := s.Leaver
	if sp.NotBefore.IsZero() {
		return State{}, errors.New("password-scramble needs the leave time (not_before): it is in place when the password changed after it")
	}
	l, u, err := leaverUser(ctx, x, sp)
	if err != nil {
		return State{}, err
	}
	at, err := l.PasswordChangedAt(ctx, u.DN)
	if err != nil {
		return State{}, err
	}
	leave := sp.NotBefore.UTC().Format(time.RFC3339)
	if at.IsZero() {
		return differs(fmt.Sprintf("the directory holds no date for the password of %s%s", sp.Username, dueNote(sp.NotBefore))), nil
	}
	// Directories keep whole seconds (OpenLDAP) or 100 ns: a change in the
	// leave time's second counts.
	if at.Before(sp.NotBefore.Truncate(time.Second)) {
		return differs(fmt.Sprintf("the password of %s was set at %s, before the leave time %s%s",
			sp.Username, at.UTC().Format(time.RFC3339), leave, dueNote(sp.NotBefore))), nil
	}
	return inPlace(fmt.Sprintf("the password of %s was set at %s, at or after the leave time %s", sp.Username, at.UTC().Format(time.RFC3339), leave)), nil
}

func (PasswordScramble) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	sp := s.Leaver
	l, u, err := leaverApply(ctx, x, sp, "scramble the password of "+sp.Username)
	if err != nil {
		return "", err
	}
	pw, err := l.ScramblePassword(ctx, u.DN)
	if err != nil {
		return "", err
	}
	// The new password is the account's real one, known to nobody: kept
	// in memory for this run only, so that the disable's handover re-check
	// proves a bind with it is refused, and proven so here when the
	// account is already disabled.
	x.D.initial.Delete(sp.Username)
	x.D.scrambled.Store(sp.Username, pw)
	text := fmt.Sprintf("scrambled the password of %s (%s): a random one, never shown or kept", sp.Username, u.DN)
	disabled, err := l.UserDisabled(ctx, u.DN)
	if err != nil || !disabled {
		return text, err
	}
	switch err := x.D.Client.VerifyBind(ctx, u.DN, pw); {
	case errors.Is(err, directory.ErrInvalidCredentials):
		return text + "; a bind with it is refused on " + x.D.Client.Server() + " (the account is disabled)", nil
	case err == nil || errors.Is(err, directory.ErrMustChangePassword):
		return "", fmt.Errorf("account %s is disabled, yet a bind with its new password works on %s", sp.Username, x.D.Client.Server())
	default:
		return "", err
	}
}

// AccountMove moves the account to the leavers OU (LeaverSpec.OU).
type AccountMove struct{}

func (AccountMove) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	sp := s.Leaver
	if sp.OU == "" {
		return State{}, errors.New("account-move names no OU")
	}
	want, err := ldap.ParseDN(sp.OU)
	if err != nil {
		return State{}, fmt.Errorf("account-move: OU %q: %w", sp.OU, err)
	}
	u, err := mustAccount(ctx, x, sp)
	if err != nil {
		return State{}, err
	}
	d, err := ldap.ParseDN(u.DN)
	if err != nil || len(d.RDNs) == 0 {
		return State{}, fmt.Errorf("account %s: the directory gave the DN %q: %v", sp.Username, u.DN, err)
	}
	if (&ldap.DN{RDNs: d.RDNs[1:]}).EqualFold(want) {
		return inPlace(fmt.Sprintf("account %s is in %s (%s)", sp.Username, sp.OU, u.DN)), nil
	}
	return differs(fmt.Sprintf("account %s is %s, not in %s%s", sp.Username, u.DN, sp.OU, dueNote(sp.NotBefore))), nil
}

func (AccountMove) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	sp := s.Leaver
	l, u, err := leaverApply(ctx, x, sp, "move "+sp.Username)
	if err != nil {
		return "", err
	}
	dn, err := l.MoveUser(ctx, u.DN, sp.OU)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("moved %s from %s to %s", sp.Username, u.DN, dn), nil
}

// AccountExpire makes the account expire at LeaverSpec.Expires, or at the
// leave time; with NoExpiry (a restore) it makes it never expire. It may be
// applied before the leave time (see the top of the file).
type AccountExpire struct{}

// expiresAt is when the account should expire; the zero time (NoExpiry)
// is never.
func expiresAt(sp *plan.LeaverSpec) (time.Time, error) {
	if sp.NoExpiry {
		return time.Time{}, nil
	}
	if !sp.Expires.IsZero() {
		return sp.Expires, nil
	}
	if !sp.NotBefore.IsZero() {
		return sp.NotBefore, nil
	}
	return time.Time{}, errors.New("account-expire needs a time (expires, or the leave time not_before)")
}

func showExpiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func (AccountExpire) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	sp := s.Leaver
	when, err := expiresAt(sp)
	if err != nil {
		return State{}, err
	}
	l, u, err := leaverUser(ctx, x, sp)
	if err != nil {
		return State{}, err
	}
	at, err := l.Expiry(ctx, u.DN)
	if err != nil {
		return State{}, err
	}
	want := time.Time{}
	if !when.IsZero() {
		want = directory.ExpiryAsSet(directory.Kind(x.D.Dir.Kind), when)
	}
	if at.Equal(want) {
		return inPlace(fmt.Sprintf("account %s expires at %s", sp.Username, showExpiry(at))), nil
	}
	return differs(fmt.Sprintf("account %s expires %s, want %s", sp.Username, showExpiry(at), showExpiry(want))), nil
}

func (AccountExpire) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	sp := s.Leaver
	when, err := expiresAt(sp)
	if err != nil {
		return "", err
	}
	l, u, err := leaverUser(ctx, x, sp)
	if err != nil {
		return "", err
	}
	was, err := l.Expiry(ctx, u.DN)
	if err != nil {
		return "", err
	}
	if when.IsZero() {
		if err := l.ClearExpiry(ctx, u.DN); err != nil {
			return "", err
		}
		return fmt.Sprintf("cleared the expiry of %s: it never expires (was %s)", sp.Username, showExpiry(was)), nil
	}
	if err := l.SetExpiry(ctx, u.DN, when); err != nil {
		return "", err
	}
	return fmt.Sprintf("set the expiry of %s to %s (was %s)", sp.Username,
		showExpiry(directory.ExpiryAsSet(directory.Kind(x.D.Dir.Kind), when)), showExpiry(was)), nil
}

// ComputerDisable disables the leaver's computer account
// (LeaverSpec.Computer; Active Directory). A computer account that does not
// exist can sign in nowhere: in place, saying so.
type ComputerDisable struct{}

func (ComputerDisable) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	sp := s.Leaver
	if sp.Computer == "" {
		return State{}, errors.New("computer-disable names no computer")
	}
	c, err := x.D.Client.FindComputer(ctx, sp.Computer)
	if err != nil {
		return State{}, err
	}
	switch {
	case c == nil:
		return inPlace(fmt.Sprintf("no computer account %s in %s: nothing to disable", sp.Computer, x.D.Dir.Name)), nil
	case c.Enabled:
		return differs(fmt.Sprintf("computer account %s is enabled%s", c.DN, dueNote(sp.NotBefore))), nil
	}
	return inPlace(fmt.Sprintf("computer account %s is disabled", c.DN)), nil
}

func (ComputerDisable) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	sp := s.Leaver
	if err := notYet("disable computer "+sp.Computer, sp.NotBefore); err != nil {
		return "", err
	}
	l, err := leavers(x)
	if err != nil {
		return "", err
	}
	c, err := x.D.Client.FindComputer(ctx, sp.Computer)
	if err != nil {
		return "", err
	}
	if c == nil {
		return "", fmt.Errorf("computer account %s does not exist in %s", sp.Computer, x.D.Dir.Name)
	}
	if err := l.DisableComputer(ctx, c.DN); err != nil {
		return "", err
	}
	return "disabled computer account " + c.DN, nil
}

// AccountDelete deletes the account once its retention is over. It is
// refused (not-yet) under a legal hold, before RetainUntil and before the
// leave time, and needs the employee id, so that it never deletes another
// person's account.
type AccountDelete struct{}

func (AccountDelete) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	sp := s.Leaver
	if sp.EmployeeID == "" {
		return State{}, errors.New("account-delete needs the employee id: onboard deletes only an account that carries it")
	}
	u, err := leaverAccount(ctx, x, sp)
	if err != nil {
		return State{}, err
	}
	if u == nil {
		return inPlace(fmt.Sprintf("account %s does not exist in %s", sp.Username, x.D.Dir.Name)), nil
	}
	reason := fmt.Sprintf("account %s exists (%s)", sp.Username, u.DN)
	switch {
	case sp.LegalHold:
		reason += "; under legal hold"
	case !sp.RetainUntil.IsZero() && now().Before(sp.RetainUntil):
		reason += "; retained until " + sp.RetainUntil.UTC().Format(time.RFC3339)
	default:
		reason += dueNote(sp.NotBefore)
	}
	return State{Action: plan.ActionUpdate, Reason: reason}, nil
}

func (AccountDelete) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	sp := s.Leaver
	what := "delete " + sp.Username
	if sp.LegalHold {
		return "", &NotYetError{What: what, Hold: "the account is under legal hold"}
	}
	if err := notYet(what+" (retention)", sp.RetainUntil); err != nil {
		return "", err
	}
	l, u, err := leaverApply(ctx, x, sp, what)
	if err != nil {
		return "", err
	}
	if sp.EmployeeID == "" || u.EmployeeID != sp.EmployeeID {
		return "", fmt.Errorf("account %s carries employee id %q, want %q: not deleted", u.DN, u.EmployeeID, sp.EmployeeID)
	}
	groups, err := l.GroupsOf(ctx, u.DN)
	if err != nil {
		return "", err
	}
	if err := l.DeleteUser(ctx, u.DN); err != nil {
		return "", err
	}
	return fmt.Sprintf("deleted %s (%s); it was in %s", sp.Username, u.DN, groupsEvidence(groups)), nil
}
