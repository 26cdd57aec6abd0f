package step

import (
	"context"
	"fmt"
	"regexp"

	"onboard/internal/shell"
)

// A package check's minimum (or maximum) version: "version: >= 1.2" is
// compared by dpkg --compare-versions on the host itself, so Debian's rules
// (epochs, ~, revisions) apply as apt applies them.

var versionWantRE = regexp.MustCompile(`^(>=|<=|>>|<<|>|<|=)\s*(\S+)$`)

// dpkgOps maps the comparisons a playbook writes to dpkg's operators (dpkg's
// own < and > are the obsolete, inclusive forms: never passed to it).
var dpkgOps = map[string]string{">=": "ge", "<=": "le", ">>": "gt", ">": "gt", "<<": "lt", "<": "lt", "=": "eq"}

// ParseVersionWant splits ">= 1.2" into its operator and version; op is ""
// for a plain version, which must match exactly (VersionMatches).
func ParseVersionWant(s string) (op, version string) {
	m := versionWantRE.FindStringSubmatch(s)
	if m == nil {
		return "", s
	}
	return m[1], m[2]
}

func versionCommand(installed, op, want string) string {
	return shell.Cmd("dpkg --compare-versions", installed, dpkgOps[op], want)
}

func versionCheck(ctx context.Context, x *Exec, name, installed, op, want string) (State, error) {
	out, err := x.Run(ctx, versionCommand(installed, op, want), false, "")
	if err != nil {
		return State{}, err
	}
	switch out.ExitCode {
	case 0:
		return inPlace(fmt.Sprintf("%s %s is installed (want %s %s)", name, installed, op, want)), nil
	case 1:
		return differs(fmt.Sprintf("%s %s is installed, want %s %s", name, installed, op, want)), nil
	case 126, 127:
		return toolMissing(out), nil
	}
	return State{}, &CommandError{Host: x.T.Host.Name, Out: out, Msg: fmt.Sprintf("compare %s's version %s with %s", name, installed, want)}
}
