package winsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/lab/winsim"
)

// signIn runs the check-login script as the step sends it: user and
// domain as data, the password on stdin.
func signIn(t *testing.T, l *lab, user, domain, password string) (code int, res map[string]any, stderr string) {
	t.Helper()
	secret, _ := json.Marshal(map[string]string{"password": password})
	code, out, stderr := l.script(t, "check-login", map[string]string{"user": user, "domain": domain}, string(secret))
	if code == 0 {
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &res); err != nil {
			t.Fatalf("check-login printed %q: %v", out, err)
		}
	}
	return code, res, stderr
}

// A sign-in answers as LogonUser does: a local account against the
// machine's own accounts; a domain account only once the machine is joined,
// through the domain's answer (the hook, which the lab makes a real bind),
// with that answer's Win32 error.
func TestSignIn(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	answer := map[string]error{"ada": nil, "bob": &winsim.LogonError{Code: winsim.ErrorAccountDisabled},
		"cyd": &winsim.LogonError{Code: winsim.ErrorPasswordMustChange}, "dc-down": errors.New("dial tcp 10.0.0.3:636: connection refused")}
	var asked []string
	logon := func(_ context.Context, user, password string) error {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, user)
		if password != "Init-Pa55'\"$(x)" {
			return &winsim.LogonError{Code: winsim.ErrorLogonFailure}
		}
		err, ok := answer[user]
		if !ok {
			return &winsim.LogonError{Code: winsim.ErrorLogonFailure}
		}
		return err
	}
	l := startLab(t, winsim.Config{Users: map[string]string{"onboard": "local-pw"}, RebootTime: 300 * time.Millisecond,
		ShutdownDelay: 200 * time.Millisecond, Domain: winsim.DomainConfig{Logon: logon}})
	const pw = "Init-Pa55'\"$(x)"
	want := func(what string, code int, res map[string]any, ok bool, win32 int, words string) {
		t.Helper()
		if code != 0 || res["ok"] != ok || res["code"] != float64(win32) {
			t.Errorf("%s: exit %d, %v; want ok %v, code %d", what, code, res, ok, win32)
			return
		}
		if got := res["account"].(string) + res["error"].(string); !strings.Contains(got, words) {
			t.Errorf("%s: %v does not say %q", what, res, words)
		}
	}

	code, res, _ := signIn(t, l, "onboard", ".", "local-pw")
	want("local account", code, res, true, 0, `WIN1\onboard`)
	code, res, _ = signIn(t, l, "onboard", "WIN1", "nope")
	want("local, wrong password", code, res, false, 1326, "The user name or password is incorrect.")
	code, res, _ = signIn(t, l, "Administrator", ".", "")
	want("local, no such password", code, res, false, 1326, "incorrect")

	// Not joined: the domain is unknown to the machine; nobody is asked.
	code, res, _ = signIn(t, l, "ada", domainName, pw)
	want("before the join", code, res, false, 1326, "incorrect")
	if len(asked) != 0 {
		t.Errorf("the domain was asked before the join: %q", asked)
	}

	// Join and reboot.
	if code, _, stderr := l.script(t, "win-join", map[string]string{"domain": domainName}, `{"user":"joiner@corp.example.test","password":"`+joinPassword+`"}`); code != 0 {
		t.Fatalf("join: %s", stderr)
	}
	if _, err := apply(t, l, nil, rebootStep(20*time.Second), 30*time.Second); err != nil {
		t.Fatalf("reboot: %v", err)
	}
	if st := l.host.State(); !st.SecureChannel {
		t.Fatalf("not joined: %+v", st)
	}
	for _, tt := range []struct {
		user, domain, pw string
		ok               bool
		code             int
		words            string
	}{
		{"ada", domainName, pw, true, 0, `CORP\ada`},
		{"ada", "CORP", pw, true, 0, `CORP\ada`},
		{"ada", domainName, "wrong", false, 1326, "The user name or password is incorrect."},
		{"bob", domainName, pw, false, 1331, "This user can't sign in because this account is currently disabled."},
		{"cyd", domainName, pw, false, 1907, "must be changed before signing in"},
		{"eve", domainName, pw, false, 1326, "incorrect"},
		{"dc-down", domainName, pw, false, 1311, "no logon servers available"},
		{"ada", "other.test", pw, false, 1326, "incorrect"},
	} {
		code, res, _ := signIn(t, l, tt.user, tt.domain, tt.pw)
		want(tt.user+"@"+tt.domain, code, res, tt.ok, tt.code, tt.words)
	}
	// The password was never part of what the host recorded.
	for _, c := range l.host.State().Commands {
		if strings.Contains(c, "Init-Pa55") {
			t.Errorf("the password is in the host's record: %q", c)
		}
	}
	// No password on stdin: the script fails as PowerShell would.
	if code, _, stderr := l.script(t, "check-login", map[string]string{"user": "ada", "domain": domainName}, "{}"); code != 1 || !strings.Contains(stderr, "Value cannot be null") {
		t.Errorf("no password: %d %q", code, stderr)
	}
}

func TestADLogonError(t *testing.T) {
	for _, tt := range []struct {
		diag string
		code int
		ok   bool
	}{
		{"80090308: LdapErr: DSID-0C09030B, comment: AcceptSecurityContext error, data 52e, v893", 1326, true},
		{"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 533, v1db1", 1331, true},
		{"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 773, v1db1", 1907, true},
		{"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 525, v1db1", 1326, true},
		{"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1", 1909, true},
		{"invalid credentials", 0, false},
	} {
		e, ok := winsim.ADLogonError(tt.diag)
		if ok != tt.ok || (ok && e.Code != tt.code) {
			t.Errorf("%q: %v %v, want %d %v", tt.diag, e, ok, tt.code, tt.ok)
		}
	}
}
