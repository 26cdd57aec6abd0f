package ssh

import (
	"fmt"

	"onboard/internal/remote"
	"onboard/internal/shell"
)

// commandLine is the line a session runs for cmd, and what to send on
// stdin before the caller's input (the sudo password, if any).
func (c *Client) commandLine(cmd remote.Cmd) (line, stdinPrefix string, err error) {
	if cmd.Command == "" {
		return "", "", c.errorf("empty command")
	}
	line, needsPassword, err := becomeLine(cmd.Command, cmd.Privileged, c.cfg.User, c.cfg.Become, !c.cfg.BecomePassword.IsZero())
	if err != nil {
		return "", "", c.errorf("%w", err)
	}
	if needsPassword {
		stdinPrefix = c.cfg.BecomePassword.Reveal() + "\n"
	}
	return line, stdinPrefix, nil
}

// becomeLine wraps command so that it runs as root when privileged and the
// login user is not root. With a password, the password is the first line
// of stdin (needsPassword): never on a command line, where ps shows it.
func becomeLine(command string, privileged bool, user, become string, havePassword bool) (line string, needsPassword bool, err error) {
	if !privileged || user == "root" {
		return command, false, nil
	}
	switch become {
	case "sudo":
	case "", "none":
		return "", false, fmt.Errorf("a privileged command needs root, but user %s has no become method (set become: sudo)", user)
	default:
		return "", false, fmt.Errorf("become method %q is not supported (use sudo or none)", become)
	}
	q := shell.Quote(command)
	if !havePassword {
		// -n: fail at once ("a password is required") instead of waiting
		// for a password that never comes. exec: the login shell becomes
		// sudo instead of waiting for it (one process less on the host).
		return "exec sudo -n -- sh -c " + q, false, nil
	}
	// If sudo needs no password (NOPASSWD, or a cached one), sudo -S would
	// not read the password line and the command would get it as input:
	// consume the line in the shell first. read reads a pipe byte by byte,
	// so the rest of stdin stays for the command.
	return "if sudo -n true 2>/dev/null; then IFS= read -r onboard_pw; unset onboard_pw; exec sudo -n -- sh -c " + q +
		"; else exec sudo -S -p '' -- sh -c " + q + "; fi", true, nil
}
