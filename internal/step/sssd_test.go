package step

import (
	"fmt"
	"strings"
	"testing"

	"onboard/internal/golden"
	"onboard/internal/plan"
)

// What a join with domain logins writes and runs: sssd.conf for a pinned
// server given by address (the DC is found by DNS) and by name, and the
// commands, whose values reach the shell as data.
func TestSSSDGolden(t *testing.T) {
	j := &plan.JoinSpec{Domain: "corp.example.test", Computer: "ws1", FQDN: "ws1.corp.example.test", Logins: "sssd", User: "ada"}
	var b strings.Builder
	fmt.Fprintf(&b, "## sssd.conf, server by address\n%s", sssdConf(j, "ldaps://10.213.5.3:636"))
	fmt.Fprintf(&b, "## sssd.conf, server by name\n%s", sssdConf(j, "ldaps://dc1.corp.example.test:636"))
	fmt.Fprintf(&b, "## apply\n%s\n", sssdApplyCommand(j, "ldaps://dc1.corp.example.test"))
	posix := *j
	posix.PosixIDs = true
	fmt.Fprintf(&b, "## sssd.conf, the directory's POSIX IDs\n%s", sssdConf(&posix, "ldaps://10.213.5.3:636"))
	for _, v := range hostile {
		fmt.Fprintf(&b, "## state, user %q\n%s\n", v, sssdStateCommand(v))
	}
	golden.Assert(t, "testdata/sssd.golden", []byte(b.String()))
}
