package step

import (
	"context"
	"fmt"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/shell"
)

// The user and group checks: an account exists as the host's programs see
// it (NSS: /etc/passwd, and the domain through SSSD or winbind once joined),
// read with getent; a user's groups with id -Gn. Evidence: the entry found.

// userScript prints the passwd entry of $1, then its groups; getent's exit
// code 2 says there is no such user.
const userScript = `getent passwd -- "$1" || exit
id -Gn -- "$1"`

func userCommand(c *plan.UserCheck) string { return script(userScript, c.Name) }

func groupCommand(c *plan.GroupCheck) string { return shell.Cmd("getent group --", c.Name) }

func userCheck(ctx context.Context, x *Exec, c *plan.UserCheck) (State, error) {
	out, err := x.Run(ctx, userCommand(c), false, "")
	if err != nil {
		return State{}, err
	}
	return userVerdict(c, out), nil
}

func userVerdict(c *plan.UserCheck, out Out) State {
	switch out.ExitCode {
	case 0:
	case 2:
		if !c.Exists {
			return inPlace("user " + c.Name + " does not exist, as wanted").seen(noSuchAccount)
		}
		return differs("user " + c.Name + " does not exist on the host (getent passwd found none)").seen(noSuchAccount)
	case 126, 127:
		return toolMissing(out)
	default:
		return differs(fmt.Sprintf("user %s: getent passwd or id exited %d: %s", c.Name, out.ExitCode, oneLine(Tail(out.Combined(), 200))))
	}
	lines := strings.SplitN(strings.TrimSpace(out.Stdout), "\n", 2)
	f := strings.Split(lines[0], ":")
	seen := "user " + c.Name + " exists"
	facts := []result.Fact{fact("exists", "yes")}
	if len(f) == 7 {
		seen += fmt.Sprintf(": uid %s, gid %s, home %s, shell %s", f[2], f[3], f[5], f[6])
		facts = append(facts, fact("uid", f[2]), fact("gid", f[3]), fact("home", f[5]), fact("shell", f[6]))
	}
	var groups []string
	if len(lines) == 2 {
		groups = strings.Fields(lines[1])
		seen += "; groups " + strings.Join(groups, ", ")
		facts = append(facts, fact("groups", strings.Join(groups, ", ")))
	}
	if !c.Exists {
		return differs(seen + "; want no such user").seen(facts...)
	}
	var lack []string
	for _, g := range c.Groups {
		if !hasAddress(groups, g) {
			lack = append(lack, g)
		}
	}
	if len(lack) > 0 {
		return differs(fmt.Sprintf("%s; not in %s", seen, strings.Join(lack, ", "))).seen(facts...)
	}
	return inPlace(seen).seen(facts...)
}

func groupCheck(ctx context.Context, x *Exec, c *plan.GroupCheck) (State, error) {
	out, err := x.Run(ctx, groupCommand(c), false, "")
	if err != nil {
		return State{}, err
	}
	return groupVerdict(c, out), nil
}

func groupVerdict(c *plan.GroupCheck, out Out) State {
	switch out.ExitCode {
	case 0:
	case 2:
		if !c.Exists {
			return inPlace("group " + c.Name + " does not exist, as wanted").seen(noSuchAccount)
		}
		return differs("group " + c.Name + " does not exist on the host (getent group found none)").seen(noSuchAccount)
	case 126, 127:
		return toolMissing(out)
	default:
		return differs(fmt.Sprintf("group %s: getent group exited %d: %s", c.Name, out.ExitCode, oneLine(Tail(out.Combined(), 200))))
	}
	f := strings.Split(strings.TrimSpace(out.Stdout), ":")
	seen := "group " + c.Name + " exists"
	facts := []result.Fact{fact("exists", "yes")}
	if len(f) == 4 {
		members := "none listed"
		if f[3] != "" {
			members = strings.ReplaceAll(f[3], ",", ", ")
		}
		seen += fmt.Sprintf(": gid %s, members %s", f[2], members)
		facts = append(facts, fact("gid", f[2]), fact("members", members))
	}
	if !c.Exists {
		return differs(seen + "; want no such group").seen(facts...)
	}
	return inPlace(seen).seen(facts...)
}

// noSuchAccount is the evidence of a user or group check that found none.
var noSuchAccount = fact("exists", "no")
