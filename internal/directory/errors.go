package directory

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/remote"
)

// Sentinel errors. Every error of this package that matches one of them says
// which directory, server, operation and entry it concerns; test with
// errors.Is.
var (
	ErrNoSuchGroup = errors.New("no such group")
	ErrNoSuchUser  = errors.New("no such user")
	// ErrPasswordPolicy: the server refused a password (or enabling an
	// account without one) under its password policy. The error carries the
	// server's diagnostic, never the password.
	ErrPasswordPolicy = errors.New("password refused by the directory's password policy")
	// ErrNotTLS: a URL would send credentials without TLS.
	ErrNotTLS = errors.New("not a TLS connection (passwords only travel over TLS: use ldaps:// or ldap:// with StartTLS)")
	// ErrUnreachable: a network failure, a timeout or a busy or unavailable
	// server (LDAP result codes 200, 51, 52). The operation may have
	// happened or not; check before acting again. An *Error of this kind
	// also matches remote.ErrConnectionLost, so that remote.IsTransient
	// (the engine's retry rule) holds for it.
	ErrUnreachable = errors.New("directory unreachable")

	// ErrUserExists: CreateUser found the username taken.
	ErrUserExists = errors.New("user already exists")
	// ErrInvalidValue: a value was refused before reaching the server.
	ErrInvalidValue = errors.New("invalid value")
	// ErrInvalidCredentials: a bind was refused (LDAP 49).
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrMustChangePassword: Active Directory refused a bind because the
	// password, which is right, must be changed first (LDAP 49 with the
	// sub-code "data 773"). VerifyBind returns it: the password is proven.
	// It does not match ErrInvalidCredentials.
	ErrMustChangePassword = errors.New("password accepted, but it must be changed at next logon")
	// ErrComputerExists: PrestageComputer found the computer account taken.
	ErrComputerExists = errors.New("computer account already exists")
)

// Error is an error from a directory operation.
type Error struct {
	Directory string // Config.Name
	Server    string // the pinned URL, or the URL being dialled
	Op        string // "add user", "set password", "search", ...
	DN        string // the entry concerned; empty for searches by name
	Code      uint16 // LDAP result code; 0 when the error is not the server's
	Err       error  // the underlying error

	kind error // a sentinel, or nil
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "directory %s at %s: %s", e.Directory, e.Server, e.Op)
	if e.DN != "" {
		fmt.Fprintf(&b, " %s", e.DN)
	}
	if e.kind != nil {
		fmt.Fprintf(&b, ": %v", e.kind)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %s", describe(e.Err))
	}
	return b.String()
}

// Unwrap gives both the sentinel and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Is makes an unreachable directory a lost connection for the engine:
// errors.Is(err, remote.ErrConnectionLost) holds when err wraps an *Error
// of kind ErrUnreachable.
func (e *Error) Is(target error) bool {
	return target == remote.ErrConnectionLost && e.kind == ErrUnreachable
}

// describe renders an LDAP error as "LDAP 19 (Constraint Violation): <the
// server's diagnostic>", and anything else as is.
func describe(err error) string {
	if _, ok := err.(interface{ Unwrap() []error }); ok {
		return err.Error() // several errors, each described
	}
	if _, ok := err.(*reconnectError); ok {
		return err.Error() // says what failed, then describes why
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		msg := ""
		if le.Err != nil {
			msg = strings.TrimSpace(le.Err.Error())
		}
		name := ldap.LDAPResultCodeMap[le.ResultCode]
		if msg == "" {
			return fmt.Sprintf("LDAP %d (%s)", le.ResultCode, name)
		}
		if d := adBindReason(le); d != "" {
			msg += " [" + d + "]"
		}
		return fmt.Sprintf("LDAP %d (%s): %s", le.ResultCode, name, msg)
	}
	return err.Error()
}

// opClass says how to read a server error for the kind of operation.
type opClass int

const (
	opPlain    opClass = iota
	opPassword         // a constraint violation is the password policy
	opUser             // "no such object" means no such user
	opGroup            // "no such object" means no such group
)

// newError wraps err, a failure of op on dn, into an *Error with the right
// sentinel. For password operations, secret (the password) is scrubbed from
// the server's diagnostic as a safety net: servers do not echo it, but this
// package never lets one through.
func (c *Client) newError(op, dn string, class opClass, err error, secret string) error {
	if err == nil {
		return nil
	}
	e := &Error{Directory: c.cfg.Name, Server: c.url, Op: op, DN: dn, Err: err}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return e
	}
	var re *reconnectError
	if errors.As(err, &re) {
		// The request never reached the server: the failure is the
		// service account's bind, read as such.
		class, secret = opPlain, ""
	}
	var le *ldap.Error
	if !errors.As(err, &le) {
		return e
	}
	e.Code = le.ResultCode
	diag := ""
	if le.Err != nil {
		diag = le.Err.Error()
	}
	if secret != "" {
		// Keep the code and the diagnostic, drop the packet and anything
		// else that could hold request data.
		diag = scrubSecret(diag, secret)
		e.Err = &ldap.Error{ResultCode: le.ResultCode, MatchedDN: le.MatchedDN, Err: errors.New(diag)}
	}
	e.kind = classify(le.ResultCode, diag, class)
	return e
}

// classify maps an LDAP result code to a sentinel (or nil).
func classify(code uint16, diag string, class opClass) error {
	switch code {
	case ldap.ErrorNetwork, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable:
		return ErrUnreachable
	case ldap.LDAPResultInvalidCredentials:
		if class == opPassword {
			if sub, ok := adBindSubCode(diag); ok && sub == "773" {
				return ErrMustChangePassword
			}
		}
		return ErrInvalidCredentials
	case ldap.LDAPResultNoSuchObject:
		switch class {
		case opUser, opPassword:
			return ErrNoSuchUser
		case opGroup:
			return ErrNoSuchGroup
		}
	}
	// Active Directory's own code for a refused password (ERROR_PASSWORD_RESTRICTION)
	// comes with result 19, or 53 when enabling an account whose password
	// does not meet the policy.
	if strings.Contains(strings.ToUpper(diag), "0000052D") {
		return ErrPasswordPolicy
	}
	if class == opPassword && code == ldap.LDAPResultConstraintViolation {
		return ErrPasswordPolicy
	}
	return nil
}

func scrubSecret(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// adBindDiagRE is Active Directory's (and Samba's) whole diagnostic message
// for a refused bind, with the sub-code after "data":
// "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563".
// It is matched as a whole, so that nothing else in a message (a DN, a host
// name) can pass for a sub-code.
var adBindDiagRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}: LdapErr: DSID-[0-9A-Fa-f]+, comment: [^,]*, data ([0-9A-Fa-f]{1,8}), v[0-9A-Fa-f]+$`)

// adBindSubCode returns the sub-code of an Active Directory bind failure's
// diagnostic message, in lower case ("52e", "773"), if it is one.
func adBindSubCode(diag string) (string, bool) {
	// Windows ends the message with a NUL.
	m := adBindDiagRE.FindStringSubmatch(strings.TrimRight(diag, "\x00 \t\r\n"))
	if m == nil {
		return "", false
	}
	return strings.ToLower(m[1]), true
}

// adBindReasons are Active Directory's bind failure sub-codes.
var adBindReasons = map[string]string{
	"525": "no such user",
	"52e": "wrong password",
	"530": "logon not permitted at this time",
	"531": "logon not permitted from this workstation",
	"532": "password expired",
	"533": "account disabled",
	"701": "account expired",
	"773": "user must change the password at next logon",
	"775": "account locked out",
}

func adBindReason(le *ldap.Error) string {
	if le.ResultCode != ldap.LDAPResultInvalidCredentials || le.Err == nil {
		return ""
	}
	sub, ok := adBindSubCode(le.Err.Error())
	if !ok {
		return ""
	}
	return adBindReasons[sub]
}
