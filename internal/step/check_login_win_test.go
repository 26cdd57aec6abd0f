package step

import (
	"encoding/json"
	"strings"
	"testing"

	"onboard/internal/powershell"
)

// The sign-in script takes the user and domain as data and the password on
// stdin: the script, and so its command line, never holds it, and it fits
// -EncodedCommand so that stdin is free for the password.
func TestWinLoginPasswordStaysOffTheScript(t *testing.T) {
	for _, v := range append(hostile, "o'brien ‘x’ $(calc)") {
		s := winLoginScript(v, "corp.example.test")
		_, data, err := powershell.ParseScript(s.Text())
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		var in map[string]any
		if err := json.Unmarshal(data, &in); err != nil {
			t.Fatal(err)
		}
		if in["user"] != v || in["domain"] != "corp.example.test" || len(in) != 2 {
			t.Errorf("$in = %v, want user %q and domain only", in, v)
		}
		cmd, stdin := s.Command()
		if stdin != nil {
			t.Fatalf("the sign-in script does not fit the command line (%d characters): stdin must stay free for the password", len(cmd))
		}
	}
	if !strings.HasPrefix(psCheckLogin, psReadSecret) || !strings.Contains(psCheckLogin, "$secret.password") || strings.Contains(psCheckLogin, "$in.password") {
		t.Errorf("the password must come from stdin ($secret), never from $in")
	}
}

func TestWinLoginVerdict(t *testing.T) {
	for _, tt := range []struct {
		name  string
		r     winLogin
		pass  bool
		words string
	}{
		{"signed in", winLogin{OK: true, Account: `CORP\ada`, SID: "S-1-5-21-1-1104"}, true, `ada@corp.example.test signs in with the initial password (LogonUser, interactive): CORP\ada, SID S-1-5-21-1-1104`},
		{"must change", winLogin{Code: 1907, Error: "The user's password must be changed before signing in."}, true, "initial password of ada@corp.example.test is accepted"},
		{"disabled", winLogin{Code: 1331, Error: "This user can't sign in because this account is currently disabled."}, false, "the account is disabled (LogonUser: This user can't sign in because this account is currently disabled., error 1331)"},
		{"wrong password", winLogin{Code: 1326, Error: "The user name or password is incorrect."}, false, "refuses the name or the initial password"},
		{"no DC", winLogin{Code: 1311, Error: "There are currently no logon servers available to service the logon request."}, false, "no logon servers available"},
		{"multi-line message", winLogin{Code: 1909, Error: "locked\r\nout"}, false, "(LogonUser: locked out, error 1909)"},
	} {
		st := winLoginVerdict("ada", "corp.example.test", tt.r)
		if st.InPlace != tt.pass || st.CannotRun || !strings.Contains(st.Reason, tt.words) {
			t.Errorf("%s: in place %v %q, want %v and %q", tt.name, st.InPlace, st.Reason, tt.pass, tt.words)
		}
	}
}
