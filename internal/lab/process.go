package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cleanEnv is the environment of every command the lab runs in a namespace:
// nothing of the caller's (proxies, locale, shell start-up) leaks in.
var cleanEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"LC_ALL=C",
	"DEBIAN_FRONTEND=noninteractive",
}

// command returns a command tied to ctx that, when ctx ends, is killed with
// its whole process group (debootstrap and dpkg, nsenter and its child).
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, resolve(name), args...)
	c.Env = cleanEnv
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	// A daemon started by the command may hold its output open: do not wait
	// for it longer than this once the command itself has exited.
	c.WaitDelay = 2 * time.Second
	return c
}

// resolve finds a command as lookPath does, so that a PATH without the sbin
// folders still finds ip and debootstrap.
func resolve(name string) string {
	if p := lookPath(name); p != "" {
		return p
	}
	return name
}

// run runs a command and returns its error with the tail of its output.
func run(ctx context.Context, name string, args ...string) error {
	c := command(ctx, name, args...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail(out.String(), 2000))
	}
	return nil
}

// tail returns the last n bytes of s, trimmed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// hostArgv is the command line of a lab host: `sh -c script sh args...` as
// PID 1 of new mount, UTS and PID namespaces inside network namespace netns.
func hostArgv(netns string, mountProc bool, script string, args ...string) []string {
	argv := []string{resolve("ip"), "netns", "exec", netns,
		"unshare", "--mount", "--uts", "--pid", "--fork", "--propagation", "private"}
	if mountProc {
		argv = append(argv, "--mount-proc")
	}
	return append(append(argv, "/bin/sh", "-c", script, "sh"), args...)
}

// spawnInit starts the services host (see hostArgv, with a private /proc) in
// its own session with its output in logPath, so that it outlives this
// program. It returns the init's PID as seen from here, once it exists.
func spawnInit(netns, logPath, script string, args ...string) (int, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	argv := hostArgv(netns, true, script, args...)
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = cleanEnv
	c.Stdout, c.Stderr = logf, logf
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		return 0, fmt.Errorf("start init in %s: %w", netns, err)
	}
	// ip netns exec execs unshare in place, so c.Process is unshare; its
	// only child is the init. Reap unshare when it ends, if we still run.
	exited := make(chan struct{})
	go func() { _ = c.Wait(); close(exited) }()
	children := fmt.Sprintf("/proc/%d/task/%d/children", c.Process.Pid, c.Process.Pid)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, err := os.ReadFile(children); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return 0, fmt.Errorf("init in %s exited at once: %s", netns, tail(string(log), 2000))
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("init in %s: no child of unshare after 5s", netns)
		}
	}
}

// spawnNested starts a lab host (see hostArgv) inside the services host's
// PID namespace, detached. The services init then reaps the host's unshare
// when the host ends (rather than the machine's PID 1, which here reaps
// orphans only now and then), and killing the services init ends every host
// of the lab at once.
func (l *Lab) spawnNested(ctx context.Context, netns, logPath, script string, args ...string) (int, error) {
	svc, err := l.initPID(l.net.svc.netns)
	if err != nil {
		return 0, err
	}
	argv := append([]string{"-t", strconv.Itoa(svc), "-p", "/bin/sh", "-c", `setsid "$@" </dev/null >>"$0" 2>&1 &`, logPath},
		hostArgv(netns, false, script, args...)...)
	if err := run(ctx, "nsenter", argv...); err != nil {
		return 0, fmt.Errorf("start init in %s: %w", netns, err)
	}
	var pid int
	if !waitUntil(ctx, 5*time.Second, func() bool { pid, err = l.initPID(netns); return err == nil }) {
		log, _ := os.ReadFile(logPath)
		return 0, fmt.Errorf("init in %s did not start: %v: %s", netns, err, tail(string(log), 2000))
	}
	return pid, nil
}

// initPID returns the PID (as seen from here) of the init of the lab host in
// netns: the process of that namespace that is PID 1 of its PID namespace.
func (l *Lab) initPID(netns string) (int, error) {
	ino, err := nsInode(netns)
	if err != nil {
		return 0, fmt.Errorf("namespace %s: %w", netns, err)
	}
	l.mu.Lock()
	pid, ok := l.inits[netns]
	l.mu.Unlock()
	if ok {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil {
			if got, ok := ParseNSLink(link); ok && got == ino {
				return pid, nil
			}
		}
	}
	ps, err := procsIn(map[uint64]bool{ino: true})
	if err != nil {
		return 0, err
	}
	for _, p := range ps {
		if len(p.nspid) > 1 && p.nspid[len(p.nspid)-1] == 1 {
			l.mu.Lock()
			l.inits[netns] = p.pid
			l.mu.Unlock()
			return p.pid, nil
		}
	}
	return 0, fmt.Errorf("namespace %s: its init is not running", netns)
}

// execIn runs `sh -c script` as root inside a lab host: in all namespaces
// and the root directory of the host's init.
func (l *Lab) execIn(ctx context.Context, netns, script string) (stdout, stderr string, err error) {
	return l.execInput(ctx, netns, script, "")
}

// execInput is execIn with stdin: how a secret reaches a command (never on
// its command line, which errors quote).
func (l *Lab) execInput(ctx context.Context, netns, script, stdin string) (stdout, stderr string, err error) {
	pid, err := l.initPID(netns)
	if err != nil {
		return "", "", err
	}
	c := command(ctx, "nsenter", "-t", strconv.Itoa(pid), "-m", "-u", "-n", "-p", "-r", "-w",
		"/bin/sh", "-c", script)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	err = c.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("in %s: sh -c %q: %w: %s", netns, script, err, tail(e.String(), 2000))
	}
	return o.String(), e.String(), err
}

// shq quotes s for a POSIX shell.
func shq(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
