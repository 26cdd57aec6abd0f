package directory

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/secret"
)

// PasswordPolicy is what the directory requires of a password.
type PasswordPolicy struct {
	MinLength int
	// Complexity: three of upper case, lower case, digit, symbol (Active
	// Directory's rule), and not the username.
	Complexity bool
}

// DefaultOpenLDAPPolicy is assumed when OpenLDAP has no readable ppolicy.
var DefaultOpenLDAPPolicy = PasswordPolicy{MinLength: 12, Complexity: true}

// PasswordPolicy reads the directory's password policy. Active Directory:
// minPwdLength and pwdProperties (bit 1 is complexity) of the domain
// (BaseDN). OpenLDAP: the strictest readable pwdPolicy entry under BaseDN
// (ppolicy overlay), else DefaultOpenLDAPPolicy.
//
// It is read once per Client: the policy of a run's directory does not
// change while the run sets a batch of passwords.
func (c *Client) PasswordPolicy(ctx context.Context) (PasswordPolicy, error) {
	c.policy.Lock()
	defer c.policy.Unlock()
	if c.policy.p != nil {
		return *c.policy.p, nil
	}
	p, err := c.readPasswordPolicy(ctx)
	if err == nil {
		c.policy.p = &p
	}
	return p, err
}

func (c *Client) readPasswordPolicy(ctx context.Context) (PasswordPolicy, error) {
	if c.cfg.Kind == ActiveDirectory {
		entries, err := c.search(ctx, "read password policy of", opPlain,
			c.searchReq(c.cfg.BaseDN, ldap.ScopeBaseObject, filterPresent("objectClass"), "minPwdLength", "pwdProperties"))
		if err != nil {
			return PasswordPolicy{}, err
		}
		if len(entries) != 1 {
			return PasswordPolicy{}, &Error{Directory: c.cfg.Name, Server: c.url, Op: "read password policy of", DN: c.cfg.BaseDN, Err: errors.New("no such entry")}
		}
		minLen, err1 := strconv.Atoi(entries[0].GetEqualFoldAttributeValue("minPwdLength"))
		props, err2 := strconv.Atoi(entries[0].GetEqualFoldAttributeValue("pwdProperties"))
		if err1 != nil || err2 != nil {
			return PasswordPolicy{}, &Error{Directory: c.cfg.Name, Server: c.url, Op: "read password policy of", DN: c.cfg.BaseDN,
				Err: errors.New("minPwdLength or pwdProperties missing or not a number (is BaseDN the domain root?)")}
		}
		return PasswordPolicy{MinLength: minLen, Complexity: props&1 != 0}, nil
	}
	entries, err := c.search(ctx, "search password policies under", opPlain,
		c.searchReq(c.cfg.BaseDN, ldap.ScopeWholeSubtree, filterEq("objectClass", "pwdPolicy"), "pwdMinLength", "pwdCheckQuality"))
	if err != nil {
		return PasswordPolicy{}, err
	}
	if len(entries) == 0 {
		return DefaultOpenLDAPPolicy, nil
	}
	var p PasswordPolicy
	for _, e := range entries {
		if n, err := strconv.Atoi(e.GetEqualFoldAttributeValue("pwdMinLength")); err == nil && n > p.MinLength {
			p.MinLength = n
		}
		if q, err := strconv.Atoi(e.GetEqualFoldAttributeValue("pwdCheckQuality")); err == nil && q > 0 {
			p.Complexity = true
		}
	}
	return p, nil
}

// Password alphabets: no look-alikes (I, O, l, 0, 1) and no characters that
// need quoting in a shell, YAML or an LDIF file.
const (
	pwUpper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	pwLower  = "abcdefghijkmnopqrstuvwxyz"
	pwDigit  = "23456789"
	pwSymbol = "!#%+-=?@^_~"
	pwAll    = pwUpper + pwLower + pwDigit + pwSymbol
)

// MaxPasswordLength bounds GeneratePassword.
const MaxPasswordLength = 256

// GeneratePassword makes a random password (crypto/rand) of
// max(length, p.MinLength, 16) characters. It always has an upper-case
// letter, a lower-case letter, a digit and a symbol, and contains, ignoring
// case, none of the avoid strings (pass the username, given name, surname
// and display name) nor any of their parts split at Active Directory's
// delimiters (, . - _ # space tab), each when three characters or longer:
// Active Directory's complexity rule. Empty strings are ignored.
func GeneratePassword(p PasswordPolicy, length int, avoid ...string) (secret.Value, error) {
	n := max(length, p.MinLength, 16)
	if n > MaxPasswordLength {
		return secret.Value{}, fmt.Errorf("generate password: %d characters asked, at most %d", n, MaxPasswordLength)
	}
	tokens := avoidTokens(avoid)
	classes := []string{pwUpper, pwLower, pwDigit, pwSymbol}
	for range 100 {
		b := make([]byte, n)
		for i := range b {
			set := pwAll
			if i < len(classes) {
				set = classes[i]
			}
			k, err := randIndex(len(set))
			if err != nil {
				return secret.Value{}, fmt.Errorf("generate password: %w", err)
			}
			b[i] = set[k]
		}
		for i := len(b) - 1; i > 0; i-- { // Fisher-Yates
			j, err := randIndex(i + 1)
			if err != nil {
				return secret.Value{}, fmt.Errorf("generate password: %w", err)
			}
			b[i], b[j] = b[j], b[i]
		}
		if !containsAny(string(b), tokens) {
			return secret.New(string(b)), nil
		}
	}
	return secret.Value{}, errors.New("generate password: every attempt contained a name to avoid")
}

// avoidTokens are the lower-case strings a password must not contain: each
// avoid string and its parts split at Active Directory's delimiters, when
// three characters or longer.
func avoidTokens(avoid []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range avoid {
		parts := strings.FieldsFunc(a, func(r rune) bool { return strings.ContainsRune(",.-_# \t", r) })
		for _, t := range append(parts, strings.TrimSpace(a)) {
			t = strings.ToLower(t)
			if utf8.RuneCountInString(t) >= 3 && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

func containsAny(pw string, tokens []string) bool {
	l := strings.ToLower(pw)
	for _, t := range tokens {
		if strings.Contains(l, t) {
			return true
		}
	}
	return false
}

// randIndex is a uniform random number in [0, n), n <= 256.
func randIndex(n int) (int, error) {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		if int(b[0]) < limit {
			return int(b[0]) % n, nil
		}
	}
}

// unicodePwd is Active Directory's encoding of a new password: the UTF-16LE
// bytes of the password in double quotes.
func unicodePwd(pw string) []byte {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return b
}

// checkPassword refuses what a server must not receive, without ever
// printing the password.
func checkPassword(pw string) error {
	switch {
	case pw == "":
		return fmt.Errorf("password: %w: empty", ErrInvalidValue)
	case !utf8.ValidString(pw):
		return fmt.Errorf("password: %w: not valid UTF-8", ErrInvalidValue)
	case strings.ContainsRune(pw, 0):
		return fmt.Errorf("password: %w: contains a NUL byte", ErrInvalidValue)
	}
	return nil
}

// pwdResetOID is the ppolicy attribute pwdReset (must change at next bind).
const pwdResetOID = "1.3.6.1.4.1.42.2.27.8.1.22"

// SetPassword sets the account's password as an administrator. mustChange
// asks for a change at next logon. Active Directory: unicodePwd and
// pwdLastSet 0 go in one modify request, so the password is never set
// without the flag (Active Directory then refuses simple binds with the
// sub-code 773: VerifyBind returns ErrMustChangePassword, which proves the
// password). OpenLDAP: the Password Modify operation, then pwdReset TRUE,
// which needs the ppolicy overlay (without it SetPassword fails before
// changing anything; see also RequirePasswordChange).
// A password the policy refuses gives ErrPasswordPolicy with the server's
// reason; no error ever contains the password.
func (c *Client) SetPassword(ctx context.Context, dn string, pw secret.Value, mustChange bool) error {
	err := c.setPassword(ctx, dn, pw, mustChange)
	if errors.Is(err, ErrPasswordPolicy) {
		// The policy changed since it was read: read it again next time.
		c.policy.Lock()
		c.policy.p = nil
		c.policy.Unlock()
	}
	return err
}

func (c *Client) setPassword(ctx context.Context, dn string, pw secret.Value, mustChange bool) error {
	p := pw.Reveal()
	if err := checkPassword(p); err != nil {
		return fmt.Errorf("directory %s: set password of %s: %w", c.cfg.Name, dn, err)
	}
	if c.cfg.Kind == ActiveDirectory {
		// One request: the server applies both changes or neither.
		req := ldap.NewModifyRequest(dn, nil)
		req.Replace("unicodePwd", []string{string(unicodePwd(p))})
		if mustChange {
			req.Replace("pwdLastSet", []string{"0"})
		}
		return c.modify(ctx, "set password of", opPassword, req, p)
	}
	if mustChange {
		ok, err := c.supportsPwdReset(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return &Error{Directory: c.cfg.Name, Server: c.url, Op: "set password of", DN: dn,
				Err: fmt.Errorf("%w: a change at next logon needs the ppolicy overlay (attribute pwdReset), which this server lacks", errors.ErrUnsupported)}
		}
	}
	err := c.do(ctx, func(l *ldap.Conn) error {
		_, err := l.PasswordModify(ldap.NewPasswordModifyRequest(dn, "", p))
		return err
	})
	if err != nil {
		return c.wrap("set password of", dn, opPassword, err, p)
	}
	if mustChange {
		req := ldap.NewModifyRequest(dn, nil)
		req.Replace("pwdReset", []string{"TRUE"})
		return c.modify(ctx, "require a password change at next logon of", opUser, req, "")
	}
	return nil
}

// CanRequirePasswordChange says whether the directory can make a user
// change the password at next logon: always in Active Directory; in
// OpenLDAP only with the ppolicy overlay (pwdReset).
func (c *Client) CanRequirePasswordChange(ctx context.Context) (bool, error) {
	if c.cfg.Kind == ActiveDirectory {
		return true, nil
	}
	return c.supportsPwdReset(ctx)
}

// RequirePasswordChange makes the user change the password at next logon,
// without sending a password: pwdLastSet 0 (Active Directory), pwdReset
// TRUE (OpenLDAP with ppolicy; without it an error matching
// errors.ErrUnsupported). It writes only when the flag is not set yet.
func (c *Client) RequirePasswordChange(ctx context.Context, dn string) error {
	const op = "require a password change at next logon of"
	attr, value := "pwdLastSet", "0"
	if c.cfg.Kind == OpenLDAP {
		ok, err := c.supportsPwdReset(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn,
				Err: fmt.Errorf("%w: needs the ppolicy overlay (attribute pwdReset), which this server lacks", errors.ErrUnsupported)}
		}
		attr, value = "pwdReset", "TRUE"
	}
	entries, err := c.search(ctx, op, opUser, c.searchReq(dn, ldap.ScopeBaseObject, filterPresent("objectClass"), attr))
	if err != nil {
		return err
	}
	if len(entries) != 1 {
		return &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, kind: ErrNoSuchUser}
	}
	if cur := entries[0].GetEqualFoldAttributeValues(attr); len(cur) == 1 && strings.EqualFold(cur[0], value) {
		return nil
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace(attr, []string{value})
	return c.modify(ctx, op, opUser, req, "")
}

// supportsPwdReset says whether the OpenLDAP schema has pwdReset, once.
func (c *Client) supportsPwdReset(ctx context.Context) (bool, error) {
	c.schemaMu.Lock()
	defer c.schemaMu.Unlock()
	if c.hasPwdReset != nil {
		return *c.hasPwdReset, nil
	}
	entries, err := c.search(ctx, "read schema", opPlain,
		c.searchReq("cn=Subschema", ldap.ScopeBaseObject, filterEq("attributeTypes", pwdResetOID), "1.1"))
	if err != nil {
		return false, err
	}
	ok := len(entries) > 0
	c.hasPwdReset = &ok
	return ok, nil
}

// SetEnabled enables or disables the account, reading it first and writing
// only when that changes something.
//
// Active Directory: clears or sets ACCOUNTDISABLE (0x2) in
// userAccountControl, keeping the other flags, except that enabling also
// clears PASSWD_NOTREQD (0x20), which audits flag on enabled accounts.
// Enabling an account that has no password fails (Samba would allow it;
// Windows would refuse with ErrPasswordPolicy).
//
// OpenLDAP: an account is enabled when it has a password and no ppolicy
// lock. SetEnabled(true) checks that it has a password (and fails if not:
// call SetPassword first) and lifts the lock if there is one;
// SetEnabled(false) is DisableUser, which without the ppolicy overlay
// returns an error matching errors.ErrUnsupported and changes nothing.
func (c *Client) SetEnabled(ctx context.Context, dn string, enabled bool) error {
	op := "disable"
	if enabled {
		op = "enable"
	}
	if c.cfg.Kind == OpenLDAP {
		if !enabled {
			return c.DisableUser(ctx, dn)
		}
		u, err := c.readUser(ctx, op, dn)
		if err != nil {
			return err
		}
		if !u.PasswordSet {
			return &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn,
				Err: errors.New("the account has no password (an OpenLDAP account is enabled by having one: call SetPassword first)")}
		}
		if !u.Enabled {
			return c.EnableUser(ctx, dn) // a ppolicy lock
		}
		return nil
	}
	entries, err := c.search(ctx, op, opUser, c.searchReq(dn, ldap.ScopeBaseObject, filterPresent("objectClass"),
		"userAccountControl", "pwdLastSet", "replPropertyMetaData"))
	if err != nil {
		return err
	}
	if len(entries) != 1 {
		return &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, kind: ErrNoSuchUser}
	}
	uac, err := strconv.ParseInt(entries[0].GetEqualFoldAttributeValue("userAccountControl"), 10, 64)
	if err != nil {
		return &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, Err: errors.New("userAccountControl missing or not a number")}
	}
	next := uac | uacAccountDisable
	if enabled {
		next = uac &^ (uacAccountDisable | uacPasswdNotReqd)
	}
	if next == uac {
		return nil
	}
	if enabled && !adPasswordSet(entries[0], uac) {
		// Windows refuses this under a password policy; Samba does not, and
		// an enabled account without a password is never what onboarding
		// wants.
		return &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn,
			Err: errors.New("the account has no password: call SetPassword first")}
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("userAccountControl", []string{strconv.FormatInt(next, 10)})
	return c.modify(ctx, op, opUser, req, "")
}

// VerifyBind proves that dn can log in with pw: it opens a new connection to
// the same server as this Client, binds as dn, reads dn's own entry over
// that connection (Samba has no WhoAmI) and closes it.
//
// When Active Directory refuses the bind only because the password must be
// changed at next logon (sub-code "data 773" of the server's diagnostic),
// the error wraps ErrMustChangePassword with the server's text: the
// password is right, so callers may take it as proven. A wrong password
// gives ErrInvalidCredentials.
func (c *Client) VerifyBind(ctx context.Context, dn string, pw secret.Value) error {
	const op = "bind as"
	p := pw.Reveal()
	if err := checkPassword(p); err != nil {
		return fmt.Errorf("directory %s: verify bind as %s: %w", c.cfg.Name, dn, err)
	}
	// Binds are proven on a second connection to the same pinned server,
	// kept for the Client's life and bound again as each user: a bind
	// changes the identity of a whole connection, so never the shared one,
	// and one TLS handshake serves a whole batch. vmu serialises its use, so
	// closing its socket when ctx ends aborts only this call's request.
	c.vmu.Lock()
	defer c.vmu.Unlock()
	if vs := c.vs; vs != nil {
		c.trips.Add(1)
		alive, err := vs.run(ctx, func(l *ldap.Conn) error { return l.Bind(dn, p) })
		if !alive || (err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials)) {
			// Closed to honour ctx, or broken: never use it again.
			vs.l.Close()
			c.vs = nil
		}
		switch {
		case err == nil && alive:
		case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
			// The server's answer, even if ctx ended meanwhile.
			return c.newError(op, dn, opPassword, err, p)
		case ctx.Err() != nil:
			return c.newError(op, dn, opPassword, ctx.Err(), p)
		default:
			// A broken connection: open a new one below.
		}
	}
	if c.vs == nil {
		c.trips.Add(1)
		s, err := c.open(ctx, c.url, dn, pw)
		if err != nil {
			return c.newError(op, dn, opPassword, err, p)
		}
		c.vs = s
	}
	vs := c.vs
	var res *ldap.SearchResult
	c.trips.Add(1)
	alive, err := vs.run(ctx, func(l *ldap.Conn) error {
		var err error
		res, err = l.Search(c.searchReq(dn, ldap.ScopeBaseObject, filterPresent("objectClass"), "1.1"))
		return err
	})
	if !alive {
		vs.l.Close()
		c.vs = nil
		if err == nil {
			err = ctx.Err()
		}
	}
	if err == nil && len(res.Entries) != 1 {
		err = errors.New("bound, but the account cannot read its own entry")
	}
	return c.wrap("after binding as "+dn+", read own entry", "", opPlain, err, p)
}

// run runs one request on a session used by one goroutine at a time (the
// verification connection), closing its socket if ctx ends first so that
// the request returns at once. alive is false when that happened (or may
// have): the session is then dead and must be dropped. The socket is
// captured here, never read again from a shared field by the callback.
func (s *session) run(ctx context.Context, f func(*ldap.Conn) error) (alive bool, err error) {
	raw := s.raw
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	err = f(s.l)
	return stop(), err
}
