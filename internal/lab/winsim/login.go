package winsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Signing in (the check-login op): LogonUser with an interactive logon.
// Windows checks a local account against its own SAM and a domain account
// with a domain controller over the machine's secure channel; here a local
// account is checked against Config.Users and a domain account by
// DomainConfig.Logon (the lab: a real LDAP bind to its Samba DC). The
// answer is LogonUser's Win32 error and its text, as Win32Exception words
// it (https://learn.microsoft.com/windows/win32/debug/system-error-codes).

// Win32 errors of LogonUser.
const (
	ErrorNoSuchUser         = 1317 // a DC's answer; LogonUser reports ErrorLogonFailure
	ErrorLogonFailure       = 1326
	ErrorInvalidLogonHours  = 1328
	ErrorInvalidWorkstation = 1329
	ErrorPasswordExpired    = 1330
	ErrorAccountDisabled    = 1331
	ErrorNoLogonServers     = 1311
	ErrorTrustFailure       = 1789
	ErrorAccountExpired     = 1793
	ErrorPasswordMustChange = 1907
	ErrorAccountLockedOut   = 1909
)

var win32Messages = map[int]string{
	ErrorLogonFailure:       "The user name or password is incorrect.",
	ErrorInvalidLogonHours:  "Your account has time restrictions that keep you from signing in right now.",
	ErrorInvalidWorkstation: "This user isn't allowed to sign in to this computer.",
	ErrorPasswordExpired:    "The password for this account has expired.",
	ErrorAccountDisabled:    "This user can't sign in because this account is currently disabled.",
	ErrorNoLogonServers:     "There are currently no logon servers available to service the logon request.",
	ErrorTrustFailure:       "The trust relationship between this workstation and the primary domain failed.",
	ErrorAccountExpired:     "The user's account has expired.",
	ErrorPasswordMustChange: "The user's password must be changed before signing in.",
	ErrorAccountLockedOut:   "The referenced account is currently locked out and may not be logged on to.",
}

// LogonError is a refusal of a sign-in, as the Win32 error LogonUser
// reports. DomainConfig.Logon returns one for an answer of the domain
// controller; any other error means the controller could not be asked.
type LogonError struct {
	Code int
}

func (e *LogonError) Error() string {
	if m, ok := win32Messages[e.Code]; ok {
		return fmt.Sprintf("logon refused: %s (error %d)", m, e.Code)
	}
	return fmt.Sprintf("logon refused: error %d", e.Code)
}

// adDataRE finds the sub-code of an Active Directory bind's diagnostic
// message: "80090308: LdapErr: DSID-0C09030B, comment:
// AcceptSecurityContext error, data 52e, v893".
var adDataRE = regexp.MustCompile(`AcceptSecurityContext error, data ([0-9A-Fa-f]{1,8})\b`)

// ADLogonError reads the refusal in the diagnostic message of an Active
// Directory (or Samba) bind that failed with invalidCredentials: its
// "data" sub-code is the Win32 error in hex (52e, 533, 773...), which is
// what a domain member's LogonUser reports, except that an unknown user
// is reported as a wrong password.
func ADLogonError(diagnostic string) (*LogonError, bool) {
	m := adDataRE.FindStringSubmatch(diagnostic)
	if m == nil {
		return nil, false
	}
	n, err := strconv.ParseInt(m[1], 16, 32)
	if err != nil {
		return nil, false
	}
	if n == ErrorNoSuchUser {
		n = ErrorLogonFailure
	}
	return &LogonError{Code: int(n)}, true
}

// opCheckLogin: {"ok","code","error","account","sid"}; the password
// arrives on stdin ({"password"}).
func opCheckLogin(v *inv) int {
	h := v.h
	raw, err := readAll(v.ctx, v.stdin)
	if err != nil {
		return 1
	}
	var secret struct {
		Password *string `json:"password"`
	}
	if err := json.Unmarshal(raw, &secret); err != nil || secret.Password == nil {
		return v.fail(&psError{Command: "LogonUser", Message: `Exception calling "LogonUser" with "6" argument(s): "Value cannot be null."`,
			Statement: "[Onboard.Logon]::LogonUser($in.user, $in.domain, $secret.password, 2, 0, [ref]$token)",
			Category:  "NotSpecified", Exception: "MethodInvocationException", ErrorID: "ArgumentNullException"})
	}
	user, domain := v.str("user"), v.str("domain")
	code, account, sid := h.logon(v.ctx, user, domain, *secret.Password)
	if code != 0 {
		msg, ok := win32Messages[code]
		if !ok {
			msg = "Unknown error (0x" + strconv.FormatInt(int64(code), 16) + ")"
		}
		return v.result(field{"ok", false}, field{"code", code}, field{"error", msg}, field{"account", ""}, field{"sid", ""})
	}
	return v.result(field{"ok", true}, field{"code", 0}, field{"error", ""}, field{"account", account}, field{"sid", sid})
}

// logon is LogonUser: 0 and the signed-in account, or the Win32 error.
func (h *Host) logon(ctx context.Context, user, domain, password string) (code int, account, sid string) {
	h.mu.Lock()
	name, joined, secure := h.name, h.joined, h.secure
	local := domain == "" || domain == "." || strings.EqualFold(domain, name)
	isDomain := h.cfg.Domain.Name != "" && (strings.EqualFold(domain, h.cfg.Domain.Name) || strings.EqualFold(domain, h.cfg.Domain.NetBIOS))
	var localPW string
	var localOK, disabled bool
	if local {
		for n, pw := range h.cfg.Users {
			if strings.EqualFold(n, user) {
				localPW, localOK, user = pw, true, n
			}
		}
		k := strings.ToLower(user)
		if h.checks.absent[k] {
			localOK = false
		}
		disabled = h.checks.disabled[k]
	}
	hook := h.cfg.Domain.Logon
	h.mu.Unlock()

	switch {
	case local:
		switch {
		case !localOK || localPW != password:
			return ErrorLogonFailure, "", ""
		case disabled:
			return ErrorAccountDisabled, "", ""
		}
		return 0, name + `\` + user, localSID(user)
	case !joined || !isDomain:
		// A domain this machine has no trust with: Windows tries the name
		// as an account of its own SAM, and finds none.
		return ErrorLogonFailure, "", ""
	case !secure:
		return ErrorTrustFailure, "", ""
	case hook == nil:
		return ErrorNoLogonServers, "", ""
	}
	err := hook(ctx, user, password)
	var le *LogonError
	switch {
	case err == nil:
		return 0, h.cfg.Domain.NetBIOS + `\` + user, domainSID(user)
	case errors.As(err, &le):
		return le.Code, "", ""
	}
	return ErrorNoLogonServers, "", ""
}
