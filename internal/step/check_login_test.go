package step

import (
	"testing"

	"onboard/internal/plan"
)

func TestLoginVerdict(t *testing.T) {
	c := &plan.LoginCheck{User: "ada", Workstation: true}
	entry := "ada:*:10001:10001:Ada Lovelace:/home/ada:/bin/sh\n--\n"
	for _, tt := range []struct {
		name string
		out  Out
		want string
	}{
		{"signs in", Out{Stdout: entry + "uid=10001(ada) gid=10001 groups=10001,10513(domain users)\n"},
			"pass: on the machine, ada resolves (uid 10001, gid 10001, home /home/ada, shell /bin/sh) and a login runs id: uid=10001(ada) gid=10001 groups=10001,10513(domain users)"},
		{"refused", Out{Stdout: entry + "su: Permission denied\nsu exited 1\n", ExitCode: 4},
			"fail: on the machine, ada resolves (uid 10001, gid 10001, home /home/ada, shell /bin/sh) but cannot log in: su: Permission denied su exited 1"},
		{"unknown", Out{ExitCode: 2},
			"fail: on the machine, ada does not resolve (getent passwd found none: is the machine joined, with domain logins?)"},
		{"getent broken", Out{Stdout: "getent passwd exited 1\n", ExitCode: 3},
			"fail: on the machine, getent passwd ada exited 3: getent passwd exited 1"},
		{"no su", Out{Stderr: "su: not found\n", ExitCode: 127},
			"cannot-run: cannot run: a command it needs is not on the host (exit 127: su: not found)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := said(loginVerdict(c, tt.out)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// A failed part fails the check; a part that cannot tell makes it one
// that cannot run, never a pass; every part's evidence is kept.
func TestLoginParts(t *testing.T) {
	ok, bad, unknown := inPlace("a"), differs("b"), cannotTell("c")
	for _, tt := range []struct {
		name  string
		parts []State
		want  string
	}{
		{"both pass", []State{ok, ok}, "pass: a; a"},
		{"one fails", []State{ok, bad}, "fail: a; b"},
		{"cannot tell", []State{unknown, ok}, "cannot-run: cannot tell: c; a"},
		{"fail beats cannot tell", []State{unknown, bad}, "fail: cannot tell: c; b"},
		{"fail before cannot tell", []State{bad, unknown}, "fail: b; cannot tell: c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := said(joinParts(tt.parts)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
