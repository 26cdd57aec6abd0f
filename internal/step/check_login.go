package step

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"onboard/internal/directory"
	"onboard/internal/plan"
	"onboard/internal/secret"
)

// The login check: can the hire sign in? Two parts, each with its
// evidence. The bind runs from the controller through the run's directory
// client (TLS, the pinned server) with the initial password this run set
// and delivered; a run that set none (an audit, a re-run) cannot tell. On
// the machine, the hire resolves through NSS (the domain, via SSSD once
// the join configured it) and su, as root, runs id as the hire: su needs
// no password, but PAM's account phase asks the domain whether the hire
// may log in, so a disabled account fails there.

// loginScript prints the passwd entry of $1, a separator, then what id
// prints as $1. Exit 2: no such user (getent's own code); 3: getent
// failed otherwise; 4: su refused or failed; 127: a tool is missing.
const loginScript = `command -v getent >/dev/null || { echo "getent: not found" >&2; exit 127; }
command -v su >/dev/null || { echo "su: not found" >&2; exit 127; }
e=$(getent passwd -- "$1"); r=$?
[ "$r" -eq 2 ] && exit 2
[ "$r" -eq 0 ] || { echo "getent passwd exited $r"; exit 3; }
printf '%s\n--\n' "$e"
su -s /bin/sh -c id -- "$1" 2>&1 </dev/null || { echo "su exited $?"; exit 4; }`

func loginCommand(c *plan.LoginCheck) string { return script(loginScript, c.User) }

func loginCheck(ctx context.Context, x *Exec, c *plan.LoginCheck) (State, error) {
	var parts []State
	if c.Bind {
		st, err := loginBind(ctx, x, c)
		if err != nil {
			return State{}, err
		}
		parts = append(parts, st)
	}
	if c.Workstation {
		out, err := x.Run(ctx, loginCommand(c), true, "")
		if err != nil {
			return State{}, err
		}
		parts = append(parts, loginVerdict(c, out))
	}
	return joinParts(parts), nil
}

// joinParts is the verdict of the parts together: a failed part fails the
// check, else one that cannot tell makes it one that cannot run; the
// evidence of every part is kept.
func joinParts(parts []State) State {
	var reasons []string
	st := State{InPlace: true, Action: plan.ActionNone}
	for _, p := range parts {
		reasons = append(reasons, p.Reason)
		switch {
		case !p.InPlace && !p.CannotRun:
			st.InPlace, st.CannotRun, st.Action = false, false, p.Action
		case p.CannotRun && st.InPlace:
			st.InPlace, st.CannotRun = false, true
		}
	}
	st.Reason = strings.Join(reasons, "; ")
	return st
}

// cannotTell is a part of a check that cannot be judged in this run.
func cannotTell(reason string) State {
	return State{CannotRun: true, Action: plan.ActionNone, Reason: "cannot tell: " + reason}
}

func loginBind(ctx context.Context, x *Exec, c *plan.LoginCheck) (State, error) {
	if x.D == nil {
		return cannotTell("bind as " + c.User + ": no directory in this run"), nil
	}
	u, err := x.D.Client.FindUser(ctx, c.User)
	if err != nil {
		return State{}, err
	}
	switch {
	case u == nil:
		return differs(fmt.Sprintf("bind as %s: no such account in %s", c.User, x.D.Dir.Name)), nil
	case !u.Enabled:
		return differs(fmt.Sprintf("bind as %s: the account %s is disabled", c.User, u.DN)), nil
	}
	v, ok := x.D.initial.Load(c.User)
	if !ok {
		return cannotTell(fmt.Sprintf("bind as %s: this run did not set the initial password (only the run that sets it holds it, in memory)", c.User)), nil
	}
	err = x.D.Client.VerifyBind(ctx, u.DN, v.(secret.Value))
	switch {
	case err == nil:
		return inPlace(fmt.Sprintf("bind as %s with the initial password works on %s", c.User, x.D.Client.Server())), nil
	case errors.Is(err, directory.ErrMustChangePassword):
		return inPlace(fmt.Sprintf("bind as %s: the initial password is accepted on %s (must change at first logon)", c.User, x.D.Client.Server())), nil
	}
	if errors.Is(err, directory.ErrUnreachable) || ctx.Err() != nil {
		// Not the hire's fault: the step fails as unreachable, and retries.
		return State{}, err
	}
	return differs(fmt.Sprintf("bind as %s with the initial password fails on %s: %v", c.User, x.D.Client.Server(), err)), nil
}

func loginVerdict(c *plan.LoginCheck, out Out) State {
	switch out.ExitCode {
	case 0:
	case 2:
		return differs("on the machine, " + c.User + " does not resolve (getent passwd found none: is the machine joined, with domain logins?)")
	case 126, 127:
		return toolMissing(out)
	case 4:
		entry, said, _ := strings.Cut(strings.TrimSpace(out.Stdout), "\n--\n")
		return differs(fmt.Sprintf("on the machine, %s resolves (%s) but cannot log in: %s", c.User, passwdSeen(entry), oneLine(Tail(said+"\n"+out.Stderr, 200))))
	default:
		return differs(fmt.Sprintf("on the machine, getent passwd %s exited %d: %s", c.User, out.ExitCode, oneLine(Tail(out.Combined(), 200))))
	}
	entry, id, _ := strings.Cut(strings.TrimSpace(out.Stdout), "\n--\n")
	return inPlace(fmt.Sprintf("on the machine, %s resolves (%s) and a login runs id: %s", c.User, passwdSeen(entry), oneLine(Tail(id, 300))))
}

// passwdSeen is what a passwd entry says: uid, gid, home and shell.
func passwdSeen(entry string) string {
	f := strings.Split(strings.TrimSpace(entry), ":")
	if len(f) != 7 {
		return oneLine(entry)
	}
	return fmt.Sprintf("uid %s, gid %s, home %s, shell %s", f[2], f[3], f[5], f[6])
}
