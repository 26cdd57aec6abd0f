package step

import (
	"context"
	"fmt"

	"onboard/internal/plan"
	"onboard/internal/powershell"
	"onboard/internal/secret"
)

// The login check on a Windows machine. The bind part is the same as on
// Linux (from the controller). The machine's part signs in as the hire the
// way Windows' own sign-in does: LogonUser (advapi32) with an interactive
// logon, which asks the domain controller over the machine's secure
// channel, checks the account's state (disabled, locked, expired, must
// change) and the right to sign in locally. See
// https://learn.microsoft.com/windows/win32/api/winbase/nf-winbase-logonusera
// and the system error codes at
// https://learn.microsoft.com/windows/win32/debug/system-error-codes--1300-1699-
// and --1700-3999-. The initial password travels on stdin as data: never
// in the script, its command line or a log.

// psCheckLogin signs in as $in.user of domain $in.domain with the password
// on stdin. On success it reads who Windows signed in (the token's account
// and SID); on failure, the Win32 error and its text.
const psCheckLogin = psReadSecret + `Add-Type -Namespace Onboard -Name Logon -MemberDefinition @'
[DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
public static extern bool LogonUser(string user, string domain, string password, int logonType, int logonProvider, out IntPtr token);
[DllImport("kernel32.dll", SetLastError = true)]
public static extern bool CloseHandle(IntPtr handle);
'@
$res = [ordered]@{ ok = $false; code = 0; error = ''; account = ''; sid = '' }
$token = [IntPtr]::Zero
# 2: LOGON32_LOGON_INTERACTIVE, 0: LOGON32_PROVIDER_DEFAULT.
if ([Onboard.Logon]::LogonUser($in.user, $in.domain, $secret.password, 2, 0, [ref]$token)) {
    try {
        $id = New-Object -TypeName System.Security.Principal.WindowsIdentity -ArgumentList $token
        $res.ok = $true
        $res.account = $id.Name
        $res.sid = $id.User.Value
        $id.Dispose()
    } finally {
        $null = [Onboard.Logon]::CloseHandle($token)
    }
} else {
    $res.code = [System.Runtime.InteropServices.Marshal]::GetLastWin32Error()
    $res.error = (New-Object -TypeName System.ComponentModel.Win32Exception -ArgumentList $res.code).Message
}
[pscustomobject]$res | ConvertTo-Json -Compress
`

// Win32 errors of LogonUser that the verdict names.
const (
	errLogonFailure       = 1326 // ERROR_LOGON_FAILURE: unknown user or wrong password
	errAccountDisabled    = 1331 // ERROR_ACCOUNT_DISABLED
	errPasswordMustChange = 1907 // ERROR_PASSWORD_MUST_CHANGE: the password is right
)

func winLoginScript(user, domain string) powershell.Script {
	return powershell.Script{Op: "check-login", Body: psCheckLogin, Data: map[string]any{"user": user, "domain": domain}}
}

type winLogin struct {
	OK      bool   `json:"ok"`
	Code    int    `json:"code"`
	Error   string `json:"error"`
	Account string `json:"account"`
	SID     string `json:"sid"`
}

// winLoginCheck is the login check on a Windows host: the bind from the
// controller, and a sign-in on the machine.
func winLoginCheck(ctx context.Context, x *Exec, c *plan.LoginCheck) (State, error) {
	var parts []State
	if c.Bind {
		st, err := loginBind(ctx, x, c)
		if err != nil {
			return State{}, err
		}
		parts = append(parts, st)
	}
	if c.Workstation {
		st, err := winSignIn(ctx, x, c)
		if err != nil {
			return State{}, err
		}
		parts = append(parts, st)
	}
	return joinParts(parts), nil
}

// winSignIn signs in on the machine as the hire with the initial password
// this run set, in the directory's domain.
func winSignIn(ctx context.Context, x *Exec, c *plan.LoginCheck) (State, error) {
	if x.D == nil {
		return cannotTell("sign in on the machine as " + c.User + ": no directory in this run"), nil
	}
	v, ok := x.D.initial.Load(c.User)
	if !ok {
		return cannotTell(fmt.Sprintf("sign in on the machine as %s: this run did not set the initial password (only the run that sets it holds it, in memory)", c.User)), nil
	}
	domain := x.D.Dir.Domain
	if domain == "" {
		return cannotTell(fmt.Sprintf("sign in on the machine as %s: directory %s names no domain", c.User, x.D.Dir.Name)), nil
	}
	var r winLogin
	s := winLoginScript(c.User, domain)
	if _, err := x.psResult(ctx, "check sign-in as "+c.User, s, map[string]string{"password": v.(secret.Value).Reveal()}, &r); err != nil {
		return State{}, err
	}
	return winLoginVerdict(c.User, domain, r), nil
}

func winLoginVerdict(user, domain string, r winLogin) State {
	who := user + "@" + domain
	switch {
	case r.OK:
		return inPlace(fmt.Sprintf("on the machine, %s signs in with the initial password (LogonUser, interactive): %s, SID %s", who, r.Account, r.SID))
	case r.Code == errPasswordMustChange:
		return inPlace(fmt.Sprintf("on the machine, the initial password of %s is accepted (LogonUser: %s, error %d: a new one is asked at first sign-in)", who, oneLine(r.Error), r.Code))
	case r.Code == errAccountDisabled:
		return differs(fmt.Sprintf("on the machine, %s cannot sign in: the account is disabled (LogonUser: %s, error %d)", who, oneLine(r.Error), r.Code))
	case r.Code == errLogonFailure:
		return differs(fmt.Sprintf("on the machine, %s cannot sign in: the domain refuses the name or the initial password (LogonUser: %s, error %d)", who, oneLine(r.Error), r.Code))
	}
	return differs(fmt.Sprintf("on the machine, %s cannot sign in (LogonUser: %s, error %d)", who, oneLine(r.Error), r.Code))
}
