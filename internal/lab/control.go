package lab

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Exec runs `sh -c command` as root inside workstation ws (its network, mount,
// UTS and PID namespaces and its root directory), independently of SSH. A
// non-zero exit gives an error wrapping *exec.ExitError. A daemon started by
// command must not keep stdout or stderr open (redirect them).
func (l *Lab) Exec(ctx context.Context, ws, command string) (stdout, stderr string, err error) {
	h, err := l.host(ws)
	if err != nil {
		return "", "", err
	}
	return l.execIn(ctx, h.netns, command)
}

// StopSSH stops the sshd listener of workstation ws and waits until its port
// refuses connections. Sessions already open stay open.
func (l *Lab) StopSSH(ctx context.Context, ws string) error {
	h, err := l.host(ws)
	if err != nil {
		return err
	}
	if _, _, err := l.execIn(ctx, h.netns, `if `+sshdPIDRun+`; then kill "$(cat /run/sshd.pid)"; fi`); err != nil {
		return fmt.Errorf("stop sshd on %s: %w", ws, err)
	}
	addr := net.JoinHostPort(h.addr, "22")
	if !waitUntil(ctx, 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}) {
		return fmt.Errorf("stop sshd on %s: %s still accepts connections", ws, addr)
	}
	return nil
}

// StartSSH starts the sshd of workstation ws if it is not running and waits
// until it accepts connections.
func (l *Lab) StartSSH(ctx context.Context, ws string) error {
	h, err := l.host(ws)
	if err != nil {
		return err
	}
	if _, _, err := l.execIn(ctx, h.netns, `if ! `+sshdPIDRun+`; then `+startSSHD+`; fi`); err != nil {
		return fmt.Errorf("start sshd on %s: %w", ws, err)
	}
	if err := waitTCP(ctx, net.JoinHostPort(h.addr, strconv.Itoa(22)), 10*time.Second); err != nil {
		return fmt.Errorf("start sshd on %s: %w: %s", ws, err, l.hostLogs(ws))
	}
	return nil
}

// RotateHostKey gives workstation ws a new host key and restarts its sshd.
// KnownHostsFile and Workstations[i].HostKeyLine keep the old key, so a
// strict client now refuses the host.
func (l *Lab) RotateHostKey(ctx context.Context, ws string) error {
	h, err := l.host(ws)
	if err != nil {
		return err
	}
	const newKey = `rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub && ` +
		`ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key`
	if _, _, err := l.execIn(ctx, h.netns, newKey); err != nil {
		return fmt.Errorf("rotate host key of %s: %w", ws, err)
	}
	if err := l.StopSSH(ctx, ws); err != nil {
		return err
	}
	return l.StartSSH(ctx, ws)
}
