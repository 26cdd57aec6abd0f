package directory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/secret"
)

// The directory side of movers and leavers: taking an account out of a
// group, disabling and enabling it, scrambling its password, moving it to
// another OU, setting its expiry, disabling its computer, deleting it.
// Each operation reads first and writes only what differs, so a step may
// apply it again after a lost answer.
//
// OpenLDAP has no disabled flag of its own. onboard uses the ppolicy
// overlay's administrative lock: pwdAccountLockedTime 000001010000Z, which
// makes every bind as the account fail (rootdn excepted) until the
// attribute is removed. slapd enforces that lock only on accounts under a
// password policy (olcPPolicyDefault, or the entry's pwdPolicySubentry)
// with pwdLockout TRUE, so DisableUser also wants such a pwdPolicy entry
// readable under BaseDN (pwdMaxFailure 0 keeps failed binds from locking). A
// server without the overlay, or without any policy, cannot disable an
// account: DisableUser says so (errors.ErrUnsupported) and what it needs.
// The lab's slapd loads ppolicy, with a default policy, when
// lab.Config.PPolicy is set.

// ppolicyLocked is the value of pwdAccountLockedTime that locks an account
// until an administrator removes it (draft-behera-ldap-password-policy).
const ppolicyLocked = "000001010000Z"

// Schema OIDs probed before an OpenLDAP operation that needs them.
const (
	pwdAccountLockedTimeOID = "1.3.6.1.4.1.42.2.27.8.1.17"
	pwdChangedTimeOID       = "1.3.6.1.4.1.42.2.27.8.1.16"
	shadowAccountOID        = "1.3.6.1.1.1.2.1"
)

// needPPolicy is what a directory without ppolicy lacks, for errors.
const needPPolicy = "the ppolicy overlay is not loaded (load the ppolicy module and add olcOverlay=ppolicy to the database)"

// adNever is accountExpires' "never" (as is 0).
const adNever = math.MaxInt64

// fileTimeUnixDelta is 1970-01-01 in FILETIME: 100 ns intervals since
// 1601-01-01 UTC.
const fileTimeUnixDelta = 116444736000000000

// toFileTime converts t to an Active Directory FILETIME (accountExpires,
// pwdLastSet). t must be between 1970 and 2262 (UnixNano's range).
func toFileTime(t time.Time) int64 { return t.UnixNano()/100 + fileTimeUnixDelta }

// fromFileTime converts a FILETIME; 0 and adNever (never, not set) give the
// zero time.
func fromFileTime(v int64) time.Time {
	if v <= 0 || v == adNever {
		return time.Time{}
	}
	return time.Unix(0, 0).UTC().Add(time.Duration(v-fileTimeUnixDelta) * 100)
}

// shadowDays is shadowExpire for t: the first day (days since 1970-01-01
// UTC) that starts at or after t. pam_unix and SSSD refuse an account from
// the start of its shadowExpire day, so the account never expires before t;
// it may expire up to a day after (a disable step enforces the exact time).
func shadowDays(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 != 0 && s > 0 {
		d++
	}
	return d
}

// fromShadowDays is the start of day d (UTC); d < 0 (never) gives the zero
// time.
func fromShadowDays(d int64) time.Time {
	if d < 0 {
		return time.Time{}
	}
	return time.Unix(d*86400, 0).UTC()
}

// uacDisabled is userAccountControl with ACCOUNTDISABLE set or cleared,
// every other flag kept.
func uacDisabled(uac int64, disabled bool) int64 {
	if disabled {
		return uac | uacAccountDisable
	}
	return uac &^ uacAccountDisable
}

// parseGeneralizedTime reads an LDAP GeneralizedTime in UTC
// ("20261203190000Z", with or without fractional seconds).
func parseGeneralizedTime(v string) (time.Time, error) {
	t, err := time.Parse("20060102150405Z", v)
	if err != nil {
		return time.Time{}, fmt.Errorf("GeneralizedTime %q: %w", v, err)
	}
	return t.UTC(), nil
}

// readEntry reads attrs of the entry at dn; a missing entry gives an error
// of class class (ErrNoSuchUser for opUser).
func (c *Client) readEntry(ctx context.Context, op, dn string, class opClass, attrs ...string) (*ldap.Entry, error) {
	if err := checkText("DN", dn); err != nil || dn == "" {
		if err == nil {
			err = fmt.Errorf("DN: %w: empty", ErrInvalidValue)
		}
		return nil, fmt.Errorf("directory %s: %s: %w", c.cfg.Name, op, err)
	}
	entries, err := c.search(ctx, op, class, c.searchReq(dn, ldap.ScopeBaseObject, filterPresent("objectClass"), attrs...))
	if err != nil {
		return nil, err
	}
	if len(entries) != 1 {
		kind := ErrNoSuchUser
		if class == opGroup {
			kind = ErrNoSuchGroup
		}
		return nil, &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, kind: kind}
	}
	return entries[0], nil
}

// schemaHas says whether the server's schema defines the attribute type or
// object class with this OID, read once per Client.
func (c *Client) schemaHas(ctx context.Context, what, oid string) (bool, error) {
	key := what + " " + oid
	if v, ok := c.schema.Load(key); ok {
		return v.(bool), nil
	}
	entries, err := c.search(ctx, "read schema", opPlain,
		c.searchReq("cn=Subschema", ldap.ScopeBaseObject, filterEq(what, oid), "1.1"))
	if err != nil {
		return false, err
	}
	ok := len(entries) > 0
	c.schema.Store(key, ok)
	return ok, nil
}

// hasPolicy says whether a ppolicy password policy with pwdLockout TRUE is
// readable under BaseDN, read once per Client.
func (c *Client) hasPolicy(ctx context.Context) (bool, error) {
	const key = "pwdPolicy entry"
	if v, ok := c.schema.Load(key); ok {
		return v.(bool), nil
	}
	entries, err := c.search(ctx, "search password policies under", opPlain,
		c.searchReq(c.cfg.BaseDN, ldap.ScopeWholeSubtree, filterAnd(filterEq("objectClass", "pwdPolicy"), filterEq("pwdLockout", "TRUE")), "1.1"))
	if err != nil {
		return false, err
	}
	ok := len(entries) > 0
	c.schema.Store(key, ok)
	return ok, nil
}

// unsupported is an error matching errors.ErrUnsupported for op on dn.
func (c *Client) unsupported(op, dn, why string) error {
	return &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, Err: fmt.Errorf("%w: %s", errors.ErrUnsupported, why)}
}

// RemoveMember takes userDN out of groupDN; nil if it is not a member (or
// someone removed it since the check). OpenLDAP's groupOfNames must keep
// one member: removing the last one fails with the server's object class
// violation.
func (c *Client) RemoveMember(ctx context.Context, groupDN, userDN string) error {
	ok, err := c.IsMember(ctx, groupDN, userDN)
	if err != nil || !ok {
		return err
	}
	req := ldap.NewModifyRequest(groupDN, nil)
	req.Delete("member", []string{userDN})
	err = c.do(ctx, func(l *ldap.Conn) error { return l.Modify(req) })
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
		return nil // gone since the check: the goal is met
	}
	return c.wrap("remove member "+userDN+" from", groupDN, opGroup, err, "")
}

// DisableUser disables the account at dn: Active Directory sets
// ACCOUNTDISABLE in userAccountControl, keeping every other flag; OpenLDAP
// sets the ppolicy lock (pwdAccountLockedTime 000001010000Z), and fails
// with errors.ErrUnsupported, changing nothing, on a server without the
// ppolicy overlay. Nothing is written when it is disabled already.
func (c *Client) DisableUser(ctx context.Context, dn string) error {
	return c.setUserDisabled(ctx, "disable", dn, true)
}

// EnableUser undoes DisableUser: it clears ACCOUNTDISABLE (Active
// Directory, every other flag kept) or removes the ppolicy lock (OpenLDAP).
// Unlike SetEnabled it does not check for a password: it restores an
// account as it was before it was disabled.
func (c *Client) EnableUser(ctx context.Context, dn string) error {
	return c.setUserDisabled(ctx, "enable", dn, false)
}

// UserDisabled reads whether the account at dn is disabled: Active
// Directory's ACCOUNTDISABLE flag, or OpenLDAP's administrative ppolicy
// lock (false on a server without ppolicy, where no account can be
// disabled). A lockout after failed binds (a pwdAccountLockedTime with a
// date) is not a disable.
func (c *Client) UserDisabled(ctx context.Context, dn string) (bool, error) {
	if c.cfg.Kind == ActiveDirectory {
		uac, err := c.readUAC(ctx, "read userAccountControl of", dn, opUser)
		return uac&uacAccountDisable != 0, err
	}
	e, err := c.readEntry(ctx, "read the lock of", dn, opUser, "pwdAccountLockedTime")
	if err != nil {
		return false, err
	}
	return e.GetEqualFoldAttributeValue("pwdAccountLockedTime") == ppolicyLocked, nil
}

func (c *Client) readUAC(ctx context.Context, op, dn string, class opClass) (int64, error) {
	e, err := c.readEntry(ctx, op, dn, class, "userAccountControl")
	if err != nil {
		return 0, err
	}
	uac, err := strconv.ParseInt(e.GetEqualFoldAttributeValue("userAccountControl"), 10, 64)
	if err != nil {
		return 0, &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, Err: errors.New("userAccountControl missing or not a number")}
	}
	return uac, nil
}

// setUAC sets or clears ACCOUNTDISABLE on the entry at dn (a user or a
// computer), writing only when that changes it.
func (c *Client) setUAC(ctx context.Context, op, dn string, class opClass, disabled bool) error {
	uac, err := c.readUAC(ctx, op, dn, class)
	if err != nil {
		return err
	}
	next := uacDisabled(uac, disabled)
	if next == uac {
		return nil
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("userAccountControl", []string{strconv.FormatInt(next, 10)})
	return c.modify(ctx, op, class, req, "")
}

func (c *Client) setUserDisabled(ctx context.Context, op, dn string, disabled bool) error {
	if c.cfg.Kind == ActiveDirectory {
		return c.setUAC(ctx, op, dn, opUser, disabled)
	}
	ok, err := c.schemaHas(ctx, "attributeTypes", pwdAccountLockedTimeOID)
	if err != nil {
		return err
	}
	if !ok {
		return c.unsupported(op, dn, "OpenLDAP disables an account with the ppolicy lock (pwdAccountLockedTime), and "+needPPolicy)
	}
	if disabled {
		ok, err := c.hasPolicy(ctx)
		if err != nil {
			return err
		}
		if !ok {
			// The lock would read as set while binds still work.
			return c.unsupported(op, dn, "the ppolicy overlay enforces its lock (pwdAccountLockedTime) only on accounts under a password policy with pwdLockout TRUE, "+
				"and no such pwdPolicy entry is readable under "+c.cfg.BaseDN+" (set olcPPolicyDefault to one)")
		}
	}
	cur, err := c.UserDisabled(ctx, dn)
	if err != nil || cur == disabled {
		return err
	}
	req := ldap.NewModifyRequest(dn, nil)
	if disabled {
		req.Replace("pwdAccountLockedTime", []string{ppolicyLocked})
	} else {
		req.Delete("pwdAccountLockedTime", nil)
	}
	err = c.do(ctx, func(l *ldap.Conn) error { return l.Modify(req) })
	if !disabled && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
		return nil // unlocked since the read
	}
	return c.wrap(op, dn, opUser, err, "")
}

// scrambleLength is the length of a scrambled password, or the policy's
// minimum when that is longer.
const scrambleLength = 32

// ScramblePassword gives the account at dn a random password that nobody
// knows: of the directory's policy (PasswordPolicy), at least 32
// characters, set by the administrator, never logged or put in an error.
// PasswordChangedAt then proves it happened. It is returned only as a
// redacting secret.Value, for the caller to prove in this run that a bind
// with the account's real password is refused (a disabled account) and
// then forget: nobody is ever shown it.
//
// OpenLDAP's ppolicy lifts its lock when a password is set: an account
// that was disabled is locked again right after (with a password nobody
// knows in between).
func (c *Client) ScramblePassword(ctx context.Context, dn string) (secret.Value, error) {
	pol, err := c.PasswordPolicy(ctx)
	if err != nil {
		return secret.Value{}, err
	}
	pw, err := GeneratePassword(pol, scrambleLength)
	if err != nil {
		return secret.Value{}, fmt.Errorf("directory %s: scramble the password of %s: %w", c.cfg.Name, dn, err)
	}
	locked := false
	if c.cfg.Kind == OpenLDAP {
		if locked, err = c.UserDisabled(ctx, dn); err != nil {
			return secret.Value{}, err
		}
	}
	if err := c.SetPassword(ctx, dn, pw, false); err != nil {
		return secret.Value{}, err
	}
	if locked {
		if err := c.DisableUser(ctx, dn); err != nil {
			return secret.Value{}, err
		}
	}
	return pw, nil
}

// PasswordChangedAt is when the account's password was last set: Active
// Directory's pwdLastSet, OpenLDAP's pwdChangedTime (kept by the ppolicy
// overlay; without it an error matching errors.ErrUnsupported). The zero
// time means the directory holds no date: never set since the overlay was
// loaded, or (Active Directory) a change is required at next logon.
func (c *Client) PasswordChangedAt(ctx context.Context, dn string) (time.Time, error) {
	const op = "read when the password was set of"
	if c.cfg.Kind == ActiveDirectory {
		e, err := c.readEntry(ctx, op, dn, opUser, "pwdLastSet")
		if err != nil {
			return time.Time{}, err
		}
		v, _ := strconv.ParseInt(e.GetEqualFoldAttributeValue("pwdLastSet"), 10, 64)
		return fromFileTime(v), nil
	}
	ok, err := c.schemaHas(ctx, "attributeTypes", pwdChangedTimeOID)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, c.unsupported(op, dn, "OpenLDAP records when a password was set in pwdChangedTime, and "+needPPolicy)
	}
	e, err := c.readEntry(ctx, op, dn, opUser, "pwdChangedTime")
	if err != nil {
		return time.Time{}, err
	}
	v := e.GetEqualFoldAttributeValue("pwdChangedTime")
	if v == "" {
		return time.Time{}, nil
	}
	t, err := parseGeneralizedTime(v)
	if err != nil {
		return time.Time{}, &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, Err: err}
	}
	return t, nil
}

// parentDN splits a DN into its first RDN (rebuilt through rdn, so escaped
// by construction) and its parent.
func parentDN(dn string) (first string, parent *ldap.DN, err error) {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return "", nil, err
	}
	if len(d.RDNs) == 0 {
		return "", nil, errors.New("empty DN")
	}
	var parts []string
	for _, a := range d.RDNs[0].Attributes {
		if !validAttrName(a.Type) {
			return "", nil, fmt.Errorf("attribute %q in the RDN", a.Type)
		}
		parts = append(parts, rdn(a.Type, a.Value))
	}
	return strings.Join(parts, "+"), &ldap.DN{RDNs: d.RDNs[1:]}, nil
}

// MoveUser moves the account at dn into ou, keeping its RDN (ModifyDN with
// a new superior), and returns its new DN; when it is in ou already, it
// returns dn and changes nothing. ou must exist.
func (c *Client) MoveUser(ctx context.Context, dn, ou string) (string, error) {
	op := "move user to " + ou + ":"
	first, parent, err := parentDN(dn)
	if err != nil {
		return "", fmt.Errorf("directory %s: move user %s: %w: %v", c.cfg.Name, dn, ErrInvalidValue, err)
	}
	target, err := ldap.ParseDN(ou)
	if err != nil || ou == "" {
		return "", fmt.Errorf("directory %s: move user %s to %q: %w: not a DN", c.cfg.Name, dn, ou, ErrInvalidValue)
	}
	if parent.EqualFold(target) {
		return dn, nil
	}
	req := ldap.NewModifyDNRequest(dn, first, true, ou)
	err = c.do(ctx, func(l *ldap.Conn) error { return l.ModifyDN(req) })
	if err != nil {
		return "", c.wrap(op, dn, opUser, err, "")
	}
	return first + "," + ou, nil
}

// SetExpiry makes the account at dn expire at t: Active Directory's
// accountExpires (exact); OpenLDAP's shadowExpire, in days (see
// shadowDays: the first midnight UTC at or after t), adding the auxiliary
// class shadowAccount when the entry lacks it; a schema without
// shadowAccount (nis) cannot, and says so (errors.ErrUnsupported). Nothing
// is written when the expiry is set already.
func (c *Client) SetExpiry(ctx context.Context, dn string, t time.Time) error {
	const op = "set the expiry of"
	if t.Year() < 1971 || t.Year() > 2200 {
		return fmt.Errorf("directory %s: %s %s: %w: time %s out of range", c.cfg.Name, op, dn, ErrInvalidValue, t.Format(time.RFC3339))
	}
	if c.cfg.Kind == ActiveDirectory {
		e, err := c.readEntry(ctx, op, dn, opUser, "accountExpires")
		if err != nil {
			return err
		}
		want := strconv.FormatInt(toFileTime(t), 10)
		if e.GetEqualFoldAttributeValue("accountExpires") == want {
			return nil
		}
		req := ldap.NewModifyRequest(dn, nil)
		req.Replace("accountExpires", []string{want})
		return c.modify(ctx, op, opUser, req, "")
	}
	e, err := c.readEntry(ctx, op, dn, opUser, "objectClass", "shadowExpire")
	if err != nil {
		return err
	}
	want := strconv.FormatInt(shadowDays(t), 10)
	if e.GetEqualFoldAttributeValue("shadowExpire") == want {
		return nil
	}
	req := ldap.NewModifyRequest(dn, nil)
	if !hasValueFold(e.GetEqualFoldAttributeValues("objectClass"), "shadowAccount") {
		ok, err := c.schemaHas(ctx, "objectClasses", shadowAccountOID)
		if err != nil {
			return err
		}
		if !ok {
			return c.unsupported(op, dn, "OpenLDAP keeps an account's expiry in shadowExpire, and this server's schema has no shadowAccount class (load the nis schema)")
		}
		req.Add("objectClass", []string{"shadowAccount"})
	}
	req.Replace("shadowExpire", []string{want})
	return c.modify(ctx, op, opUser, req, "")
}

// ClearExpiry makes the account at dn never expire (a restore): Active
// Directory's accountExpires "never" (0x7FFFFFFFFFFFFFFF, as for a new
// account), OpenLDAP without shadowExpire. Nothing is written when it
// never expires already.
func (c *Client) ClearExpiry(ctx context.Context, dn string) error {
	const op = "clear the expiry of"
	cur, err := c.Expiry(ctx, dn)
	if err != nil || cur.IsZero() {
		return err
	}
	req := ldap.NewModifyRequest(dn, nil)
	if c.cfg.Kind == ActiveDirectory {
		req.Replace("accountExpires", []string{strconv.FormatInt(adNever, 10)})
	} else {
		req.Delete("shadowExpire", nil)
	}
	return c.modify(ctx, op, opUser, req, "")
}

// Expiry reads when the account at dn expires: Active Directory's
// accountExpires, OpenLDAP's shadowExpire (the start of that day, UTC). The
// zero time means never.
func (c *Client) Expiry(ctx context.Context, dn string) (time.Time, error) {
	const op = "read the expiry of"
	if c.cfg.Kind == ActiveDirectory {
		e, err := c.readEntry(ctx, op, dn, opUser, "accountExpires")
		if err != nil {
			return time.Time{}, err
		}
		v, _ := strconv.ParseInt(e.GetEqualFoldAttributeValue("accountExpires"), 10, 64)
		return fromFileTime(v), nil
	}
	e, err := c.readEntry(ctx, op, dn, opUser, "shadowExpire")
	if err != nil {
		return time.Time{}, err
	}
	v := e.GetEqualFoldAttributeValue("shadowExpire")
	if v == "" {
		return time.Time{}, nil
	}
	d, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, Err: fmt.Errorf("shadowExpire %q is not a number", v)}
	}
	return fromShadowDays(d), nil
}

func hasValueFold(vs []string, want string) bool {
	for _, v := range vs {
		if strings.EqualFold(v, want) {
			return true
		}
	}
	return false
}

// DisableComputer disables the computer account at dn (Active Directory:
// ACCOUNTDISABLE, every other flag kept), so the machine can no longer
// authenticate to the domain; its object and keytab stay for a restore.
func (c *Client) DisableComputer(ctx context.Context, dn string) error {
	if c.cfg.Kind != ActiveDirectory {
		return c.unsupported("disable computer", dn, "computer accounts are an Active Directory feature")
	}
	return c.setUAC(ctx, "disable computer", dn, opPlain, true)
}

// ComputerDisabled reads whether the computer account at dn is disabled.
func (c *Client) ComputerDisabled(ctx context.Context, dn string) (bool, error) {
	if c.cfg.Kind != ActiveDirectory {
		return false, c.unsupported("read computer", dn, "computer accounts are an Active Directory feature")
	}
	uac, err := c.readUAC(ctx, "read userAccountControl of computer", dn, opPlain)
	return uac&uacAccountDisable != 0, err
}

// DeleteUser deletes the account at dn; nil when it is gone already. It is
// for the retention run: deciding whether an account may go (legal hold,
// retention) is the caller's.
func (c *Client) DeleteUser(ctx context.Context, dn string) error {
	if err := checkText("DN", dn); err != nil || dn == "" {
		return fmt.Errorf("directory %s: delete user %q: %w", c.cfg.Name, dn, ErrInvalidValue)
	}
	req := ldap.NewDelRequest(dn, nil)
	err := c.do(ctx, func(l *ldap.Conn) error { return l.Del(req) })
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil
	}
	return c.wrap("delete user", dn, opUser, err, "")
}

// ExpiryAsSet is what Expiry reads back after SetExpiry(t) on a directory
// of this kind: t to 100 ns (Active Directory's FILETIME), or the first
// midnight UTC at or after t (OpenLDAP's shadowExpire days).
func ExpiryAsSet(kind Kind, t time.Time) time.Time {
	if kind == ActiveDirectory {
		return fromFileTime(toFileTime(t))
	}
	return fromShadowDays(shadowDays(t))
}
