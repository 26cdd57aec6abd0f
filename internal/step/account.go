package step

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"onboard/internal/directory"
	"onboard/internal/plan"
	"onboard/internal/secret"
	"onboard/internal/shell"
)

// Directory is what the directory step kinds need of an LDAP directory.
// One client per directory per run: every check and verification of a run
// reads from the same (pinned) server.
type Directory interface {
	Server() string
	FindUser(ctx context.Context, username string) (*directory.User, error)
	CreateUser(ctx context.Context, spec directory.UserSpec) (string, error)
	Diff(u *directory.User, spec directory.UserSpec) []string
	UpdateUser(ctx context.Context, dn string, spec directory.UserSpec) ([]string, error)
	SetPassword(ctx context.Context, dn string, pw secret.Value, mustChange bool) error
	SetEnabled(ctx context.Context, dn string, enabled bool) error
	FindGroup(ctx context.Context, name string) (string, error)
	IsMember(ctx context.Context, groupDN, userDN string) (bool, error)
	AddMember(ctx context.Context, groupDN, userDN string) error
	NextUIDNumber(ctx context.Context, min int) (int, error)
	PasswordPolicy(ctx context.Context) (directory.PasswordPolicy, error)
	VerifyBind(ctx context.Context, dn string, pw secret.Value) error
	FindComputer(ctx context.Context, name string) (*directory.Computer, error)
	PrestageComputer(ctx context.Context, name, ou, description string) (string, error)
	UIDNumberCount(ctx context.Context, n int) (int, error)
	CanRequirePasswordChange(ctx context.Context) (bool, error)
	RequirePasswordChange(ctx context.Context, dn string) error
}

// Deliverer hands an initial password to the hire's channel (a 0600 file,
// or the technician's terminal). It is the only way a password leaves.
type Deliverer interface {
	// Ready says whether the channel can take a password now, before the
	// password is set, so a password is never set that cannot be delivered.
	Ready(spec *plan.ActivateSpec) error
	Deliver(dir, username string, spec *plan.ActivateSpec, pw secret.Value) error
}

// DirTarget is one directory as steps see it during a run.
type DirTarget struct {
	Dir     *plan.Directory
	Client  Directory
	Deliver Deliverer
	// JoinPassword is the resolved password of the join account.
	JoinPassword secret.Value
	// initial holds the passwords set in this run, in memory only, so the
	// handover check can prove a bind with them.
	initial sync.Map // username -> secret.Value
	// scrambled holds a leaver's scrambled password, in memory only, for
	// the disable's proof that a bind with it is refused; never an initial
	// password (a restore's activate must not take it for one).
	scrambled sync.Map // username -> secret.Value
}

// ErrTaken: the username belongs to an account that is not this hire's.
var ErrTaken = errors.New("username is taken by another account")

// Account creates or updates the hire's directory account. In Active
// Directory it is created disabled; Activate enables it once the password
// is set and every group is in place.
type Account struct{}

func userSpec(a *plan.AccountSpec) directory.UserSpec {
	return directory.UserSpec{
		Username: a.Username, GivenName: a.GivenName, Surname: a.Surname, DisplayName: a.DisplayName,
		Email: a.Email, Title: a.Title, Department: a.Department, EmployeeID: a.EmployeeID, Manager: a.Manager,
		Extra: a.Extra, GIDNumber: a.GIDNumber, Home: a.Home, Shell: a.Shell,
	}
}

// withExisting fills what the directory allocated (the uidNumber) from the
// existing entry, so that it is not reported as a difference.
func withExisting(spec directory.UserSpec, u *directory.User) directory.UserSpec {
	if v := u.Attr("uidNumber"); len(v) == 1 {
		spec.UIDNumber, _ = strconv.Atoi(v[0])
	}
	return spec
}

// posixIDs says whether the account carries a uidNumber: always in
// OpenLDAP, and in Active Directory when its directory asks for POSIX
// attributes (the planner then sets UIDMin).
func posixIDs(x *Exec, a *plan.AccountSpec) bool {
	return x.D.Dir.Kind == string(directory.OpenLDAP) || a.UIDMin > 0
}

// lacksUID: the account should have a uidNumber and has none (an Active
// Directory account made before the directory asked for POSIX attributes,
// or by someone else).
func lacksUID(x *Exec, a *plan.AccountSpec, u *directory.User) bool {
	return posixIDs(x, a) && len(u.Attr("uidNumber")) == 0
}

// findOwn finds the account and says whether it is this hire's to manage.
func findOwn(ctx context.Context, x *Exec, a *plan.AccountSpec) (*directory.User, error) {
	u, err := x.D.Client.FindUser(ctx, a.Username)
	if err != nil || u == nil {
		return u, err
	}
	if u.EmployeeID != a.EmployeeID && !a.Adopt {
		return nil, fmt.Errorf("%s: %w: %s (employee id %q, not %q); set account.adopt: true to take it over, or choose another username",
			a.Username, ErrTaken, u.DN, u.EmployeeID, a.EmployeeID)
	}
	return u, nil
}

func (Account) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	a := s.Account
	u, err := findOwn(ctx, x, a)
	if err != nil {
		return State{}, err
	}
	if u == nil {
		return missing(fmt.Sprintf("account %s does not exist in %s", a.Username, x.D.Dir.Name)), nil
	}
	d := x.D.Client.Diff(u, withExisting(userSpec(a), u))
	if lacksUID(x, a, u) {
		d = append([]string{fmt.Sprintf("uidNumber: (none) → the next free from %d", max(a.UIDMin, 1))}, d...)
	}
	if len(d) > 0 {
		return differs(fmt.Sprintf("account %s: %s", a.Username, strings.Join(d, "; "))), nil
	}
	return inPlace(fmt.Sprintf("account %s is %s", a.Username, u.DN)), nil
}

func (Account) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	a := s.Account
	u, err := findOwn(ctx, x, a)
	if err != nil {
		return "", err
	}
	spec := userSpec(a)
	drawn := false
	if posixIDs(x, a) && (u == nil || lacksUID(x, a, u)) {
		// The directory lock serialises account steps, so two hires of a
		// batch never draw the same number.
		uid, err := x.D.Client.NextUIDNumber(ctx, a.UIDMin)
		if err != nil {
			return "", err
		}
		spec.UIDNumber, drawn = uid, true
	}
	var what, dn string
	if u != nil {
		if !drawn {
			spec = withExisting(spec, u)
		}
		changed, err := x.D.Client.UpdateUser(ctx, u.DN, spec)
		if err != nil {
			return "", err
		}
		dn, what = u.DN, fmt.Sprintf("updated %s: %s", u.DN, strings.Join(changed, "; "))
	} else {
		var err error
		if dn, err = x.D.Client.CreateUser(ctx, spec); err != nil {
			return "", err
		}
		what = "created " + dn
		if x.D.Dir.Kind == string(directory.ActiveDirectory) {
			what += " (disabled until activated)"
		}
	}
	if drawn {
		// Another technician's run may have drawn the same number at the
		// same moment: nothing in LDAP forbids it, so look.
		if n, err := x.D.Client.UIDNumberCount(ctx, spec.UIDNumber); err != nil {
			return "", err
		} else if n > 1 {
			return "", fmt.Errorf("uidNumber %d of %s is also held by another entry (a concurrent run?): give one of them a new number by hand", spec.UIDNumber, dn)
		}
	}
	return what, nil
}

// Membership puts the account in one group (by name, resolved to a DN).
type Membership struct{}

func (Membership) resolve(ctx context.Context, x *Exec, m *plan.MembershipSpec) (group string, user *directory.User, err error) {
	group, err = x.D.Client.FindGroup(ctx, m.Group)
	if err != nil {
		return "", nil, err
	}
	user, err = x.D.Client.FindUser(ctx, m.Username)
	return group, user, err
}

func (k Membership) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	m := s.Membership
	g, u, err := k.resolve(ctx, x, m)
	if err != nil {
		return State{}, err
	}
	if u == nil {
		return missing(fmt.Sprintf("account %s does not exist yet", m.Username)), nil
	}
	// The account's memberOf, read with it, answers yes in the same round
	// trip; only a no is asked of the group itself.
	ok := u.InGroup(g)
	if !ok {
		if ok, err = x.D.Client.IsMember(ctx, g, u.DN); err != nil {
			return State{}, err
		}
	}
	if !ok {
		return missing(fmt.Sprintf("%s is not a member of %s", m.Username, m.Group)), nil
	}
	return inPlace(fmt.Sprintf("%s is a member of %s", m.Username, m.Group)), nil
}

func (k Membership) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	m := s.Membership
	g, u, err := k.resolve(ctx, x, m)
	if err != nil {
		return "", err
	}
	if u == nil {
		return "", fmt.Errorf("account %s does not exist in %s", m.Username, x.D.Dir.Name)
	}
	if err := x.D.Client.AddMember(ctx, g, u.DN); err != nil {
		return "", err
	}
	return fmt.Sprintf("added %s to %s", m.Username, g), nil
}

// Activate sets the initial password, delivers it, enables the account and
// proves a bind with it. Until it succeeds an Active Directory account
// stays disabled, so a failure never leaves a half-made account enabled.
type Activate struct{}

func (Activate) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	a := s.Activate
	u, err := x.D.Client.FindUser(ctx, a.Username)
	if err != nil {
		return State{}, err
	}
	switch {
	case u == nil:
		return missing(fmt.Sprintf("account %s does not exist yet", a.Username)), nil
	case !u.Enabled:
		return missing(fmt.Sprintf("account %s is disabled: no initial password yet", a.Username)), nil
	case !u.PasswordSet:
		return missing(fmt.Sprintf("account %s has no password", a.Username)), nil
	}
	v, ok := x.D.initial.Load(a.Username)
	if !ok && !a.Scrambled.IsZero() {
		// A restore: an account enabled by hand since the offboarding
		// still has the scrambled password. (A password this run set is
		// proven by the bind below, whatever its date.)
		if l, isL := x.D.Client.(Leavers); isL {
			at, err := l.PasswordChangedAt(ctx, u.DN)
			if err != nil {
				return State{}, err
			}
			if !at.IsZero() && !at.After(a.Scrambled) {
				return differs(fmt.Sprintf("account %s is enabled with the password scrambled at %s, which nobody knows",
					a.Username, at.UTC().Format(time.RFC3339))), nil
			}
		}
	}
	if ok {
		// Set in this run: prove that the hire can log on with it.
		err := x.D.Client.VerifyBind(ctx, u.DN, v.(secret.Value))
		switch {
		case err == nil:
			return inPlace(fmt.Sprintf("account %s is enabled; a bind with the initial password works on %s", a.Username, x.D.Client.Server())), nil
		case errors.Is(err, directory.ErrMustChangePassword):
			// AD: the password is right, and must be changed at first logon.
			return inPlace(fmt.Sprintf("account %s is enabled; the initial password is accepted (must change at first logon) on %s", a.Username, x.D.Client.Server())), nil
		default:
			return differs(fmt.Sprintf("account %s: a bind with the initial password fails: %v", a.Username, err)), nil
		}
	}
	return inPlace(fmt.Sprintf("account %s is enabled with a password", a.Username)), nil
}

func (Activate) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	a := s.Activate
	u, err := x.D.Client.FindUser(ctx, a.Username)
	if err != nil {
		return "", err
	}
	if u == nil {
		return "", fmt.Errorf("account %s does not exist in %s", a.Username, x.D.Dir.Name)
	}
	if err := x.D.Deliver.Ready(a); err != nil {
		return "", fmt.Errorf("cannot deliver the initial password of %s: %w", a.Username, err)
	}
	// Decide about "must change at next logon" before anything is set: an
	// OpenLDAP without the ppolicy overlay cannot force it.
	mustChange, note := a.MustChangePassword, ""
	if mustChange {
		can, err := x.D.Client.CanRequirePasswordChange(ctx)
		if err != nil {
			return "", err
		}
		if !can {
			if a.MustChangeRequired {
				return "", fmt.Errorf("%s cannot force a password change at first logon (no password policy overlay): set account.must_change_password: false, or enable ppolicy", x.D.Dir.Name)
			}
			mustChange, note = false, "; the directory cannot force a change at first logon (no ppolicy)"
		}
	}
	if a.Adopt && a.KeepPassword && u.PasswordSet {
		// Only by the playbook's explicit choice: an account disabled with
		// its old password may have been disabled because somebody else
		// knows it. Otherwise it gets a new password, delivered, below.
		if err := x.D.Client.SetEnabled(ctx, u.DN, true); err != nil {
			return "", err
		}
		return fmt.Sprintf("adopted account %s enabled with its old password (password.adopted: keep)", a.Username), nil
	}
	pol, err := x.D.Client.PasswordPolicy(ctx)
	if err != nil {
		return "", err
	}
	pw, err := directory.GeneratePassword(pol, a.Length, a.Avoid...)
	if err != nil {
		return "", err
	}
	// Active Directory takes the password and "must change" in one modify,
	// so the flag can never be lost between two requests; OpenLDAP sets
	// its ppolicy flag after.
	ad := x.D.Dir.Kind == string(directory.ActiveDirectory)
	deliver := func() error {
		if err := x.D.Deliver.Deliver(x.D.Dir.Name, a.Username, a, pw); err != nil {
			return fmt.Errorf("deliver the initial password of %s: %w", a.Username, err)
		}
		return nil
	}
	// An Active Directory account stays disabled until the end, so its
	// password is set first (a password the policy refuses is then never
	// delivered). OpenLDAP has no disabled state: an account with a
	// password is usable, and Check counts it done. So there the password
	// is delivered first and set after: a password in the directory has
	// always been delivered, and a failed or interrupted delivery leaves
	// the account without one, which the next run sees as not done and
	// gives a new password, delivered again.
	if !ad {
		if err := deliver(); err != nil {
			return "", err
		}
	}
	if err := x.D.Client.SetPassword(ctx, u.DN, pw, ad && mustChange); err != nil {
		if !ad {
			return "", fmt.Errorf("%w (the password just delivered to %s was not set: the next run delivers a new one)", err, deliveryName(a.Deliver))
		}
		return "", err
	}
	if ad {
		if err := deliver(); err != nil {
			return "", err
		}
	}
	if !ad && mustChange {
		if err := x.D.Client.RequirePasswordChange(ctx, u.DN); err != nil {
			return "", err
		}
	}
	if err := x.D.Client.SetEnabled(ctx, u.DN, true); err != nil {
		return "", err
	}
	if err := x.D.Client.VerifyBind(ctx, u.DN, pw); err != nil && !errors.Is(err, directory.ErrMustChangePassword) {
		// Never leave an account enabled that cannot be used: disable it
		// again, even when the step's own time is up.
		undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := x.D.Client.SetEnabled(undo, u.DN, false); derr != nil {
			return "", fmt.Errorf("bind as %s with the new password failed on %s: %w; disabling it again failed too, so the account is ENABLED: disable it by hand (%v)", a.Username, x.D.Client.Server(), err, derr)
		}
		return "", fmt.Errorf("bind as %s with the new password failed on %s (the account is disabled again): %w", a.Username, x.D.Client.Server(), err)
	}
	x.D.initial.Store(a.Username, pw)
	x.D.scrambled.Delete(a.Username) // the account's password is this one now
	what := fmt.Sprintf("password set (%d characters), delivered to %s, enabled, bind proven on %s", len(pw.Reveal()), deliveryName(a.Deliver), x.D.Client.Server())
	if mustChange {
		what += "; must change at next logon"
	}
	return what + note, nil
}

func deliveryName(d string) string {
	if strings.HasPrefix(d, "file:") {
		return "file " + strings.TrimPrefix(d, "file:")
	}
	return d
}

// Computer pre-stages a computer account in an OU.
type Computer struct{}

// computerMarker is the description onboard writes on the computer
// accounts it pre-stages: only those are its to join with.
func computerMarker(hire string) string { return "pre-staged by onboard for " + hire }

func (Computer) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	c, err := x.D.Client.FindComputer(ctx, s.Computer.Name)
	if err != nil {
		return State{}, err
	}
	switch {
	case c == nil:
		return missing(fmt.Sprintf("computer %s does not exist", s.Computer.Name)), nil
	case c.Description == computerMarker(s.Hire):
		return inPlace("computer " + c.DN + " is pre-staged for this hire"), nil
	case s.Computer.Stale == "reuse":
		return inPlace("computer " + c.DN + " exists and is reused (stale: reuse)"), nil
	}
	// Another machine's account: joining with it would take its identity.
	return State{}, fmt.Errorf("a computer account %s already exists and onboard did not pre-stage it for %s; set machine.domain_join.stale: reuse if it is this machine's, or remove it", c.DN, s.Hire)
}

func (Computer) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	dn, err := x.D.Client.PrestageComputer(ctx, s.Computer.Name, s.Computer.OU, computerMarker(s.Hire))
	if err != nil {
		return "", err
	}
	return "pre-staged " + dn, nil
}

// Join joins a Linux host to the domain with adcli, against the run's
// pinned domain controller, with the join password on stdin.
type Join struct{}

// dcAddress is the pinned server's host, for adcli --domain-controller.
func dcAddress(server string) string {
	if u, err := url.Parse(server); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return server
}

func (Join) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	j := s.Join
	out, err := x.Run(ctx, shell.Cmd("adcli testjoin", "--domain="+j.Domain, "--domain-controller="+dcAddress(x.D.Client.Server()), "--host-keytab=/etc/krb5.keytab"), true, "")
	if err != nil {
		return State{}, err
	}
	c, err := x.D.Client.FindComputer(ctx, j.Computer)
	if err != nil {
		return State{}, err
	}
	if c != nil && !c.Enabled {
		return differs(fmt.Sprintf("the computer account %s is disabled", c.DN)), nil
	}
	if out.ExitCode != 0 {
		if c != nil {
			return missing(fmt.Sprintf("computer account %s exists but this host is not joined (%s)", c.DN, Tail(out.Combined(), 200))), nil
		}
		return missing(fmt.Sprintf("not joined to %s", j.Domain)), nil
	}
	if c == nil {
		return differs(fmt.Sprintf("the host believes it is joined, but %s has no computer account %s", j.Domain, j.Computer)), nil
	}
	if !strings.EqualFold(c.DNSHostName, j.FQDN) {
		return differs(fmt.Sprintf("computer %s has dNSHostName %q, want %q", c.DN, c.DNSHostName, j.FQDN)), nil
	}
	joined := fmt.Sprintf("joined to %s as %s", j.Domain, c.DN)
	if j.Logins == "sssd" {
		lack, err := sssdState(ctx, x, j)
		if err != nil {
			return State{}, err
		}
		if lack != "" {
			return differs(joined + "; domain logins not ready: " + lack), nil
		}
		joined += "; SSSD answers for the domain"
		if j.User != "" {
			joined += " (" + j.User + " resolves)"
		}
	}
	return inPlace(joined), nil
}

func (Join) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	j := s.Join
	if j.Logins == "sssd" {
		// Joined already (only the logins are missing): do not join again.
		out, err := x.Run(ctx, shell.Cmd("adcli testjoin", "--domain="+j.Domain, "--domain-controller="+dcAddress(x.D.Client.Server()), "--host-keytab=/etc/krb5.keytab"), true, "")
		if err != nil {
			return "", err
		}
		if out.ExitCode == 0 {
			if err := configureSSSD(ctx, x, j); err != nil {
				return "", err
			}
			return fmt.Sprintf("configured SSSD on %s for %s logins", j.FQDN, j.Domain), nil
		}
	}
	c, err := x.D.Client.FindComputer(ctx, j.Computer)
	if err != nil {
		return "", err
	}
	if c != nil && j.Stale != "reuse" && c.Description != computerMarker(s.Hire) {
		return "", fmt.Errorf("a computer account %s already exists in %s and this host is not joined to it; set machine.domain_join.stale: reuse to join with it, or remove it", c.DN, j.Domain)
	}
	args := []string{"--domain=" + j.Domain, "--domain-controller=" + dcAddress(x.D.Client.Server()),
		"--login-user=" + x.D.Dir.JoinUser, "--stdin-password", "--host-fqdn=" + j.FQDN, "--computer-name=" + j.Computer,
		"--host-keytab=/etc/krb5.keytab"}
	if j.OU != "" {
		args = append(args, "--domain-ou="+j.OU)
	}
	cmd := shell.Cmd("adcli join", args...)
	// The join password travels on stdin, never on a command line.
	out, err := x.Run(ctx, cmd, true, x.D.JoinPassword.Reveal()+"\n")
	if err != nil {
		return "", err
	}
	if out.ExitCode != 0 {
		return "", &CommandError{Host: x.T.Host.Name, Out: out, Msg: "join " + j.Domain}
	}
	if j.Logins == "sssd" {
		if err := configureSSSD(ctx, x, j); err != nil {
			return "", err
		}
		return fmt.Sprintf("joined %s to %s via %s; configured SSSD for domain logins", j.FQDN, j.Domain, x.D.Client.Server()), nil
	}
	return fmt.Sprintf("joined %s to %s via %s", j.FQDN, j.Domain, x.D.Client.Server()), nil
}
