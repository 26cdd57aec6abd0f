package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Daemons of the services host that tests switch off and on: the DNS
// server, the intranet site, the mail port and the VPN gateway. Each is
// Debian's own server (dnsmasq, nginx, socat) started into the services host
// by one shell command, found again by a string only its command line
// holds, and stopped by signal; it ends with the services host when the lab
// stops, like everything there.

// Services of the lab that StopService and StartService know.
const (
	ServiceDNS      = "dns"
	ServiceIntranet = "intranet"
	ServiceMail     = "mail"
	ServiceVPN      = "vpn"
)

// daemon is one server of the services host.
type daemon struct {
	// script starts it (in the services host, by sh; it must not keep
	// stdout or stderr open).
	script string
	// match is a string in the command line of its main processes and of no
	// other process of the services host.
	match string
	// listen are the host:port addresses that accept TCP connections once
	// it is up.
	listen []string
	// log is its log file, quoted in errors.
	log string
}

// serviceDir is the services host's folder for a service's files.
func (l *Lab) serviceDir(name string) string {
	return filepath.Join(l.cfg.Dir, "services", name)
}

// daemon describes the named service, or fails for an unknown one.
func (l *Lab) daemon(name string) (daemon, error) {
	switch name {
	case ServiceDNS:
		return l.dnsDaemon(), nil
	case ServiceIntranet:
		return l.intranetDaemon(), nil
	case ServiceMail:
		return l.mailDaemon(), nil
	case ServiceVPN:
		return l.vpnDaemon(), nil
	}
	return daemon{}, fmt.Errorf("lab %s: no service %q (want %s, %s, %s or %s)", l.cfg.Name, name,
		ServiceDNS, ServiceIntranet, ServiceMail, ServiceVPN)
}

// StartService starts a service of the lab (ServiceDNS, ServiceIntranet,
// ServiceMail, ServiceVPN) if it is not running, and returns once its ports
// accept connections.
func (l *Lab) StartService(ctx context.Context, name string) error {
	d, err := l.daemon(name)
	if err != nil {
		return err
	}
	if err := l.startDaemon(ctx, d); err != nil {
		return fmt.Errorf("lab %s: start %s: %w", l.cfg.Name, name, err)
	}
	return nil
}

// StopService stops a service of the lab; its ports then refuse
// connections (the DNS server's name lookups fail at once).
func (l *Lab) StopService(ctx context.Context, name string) error {
	d, err := l.daemon(name)
	if err != nil {
		return err
	}
	if err := l.stopDaemon(ctx, d); err != nil {
		return fmt.Errorf("lab %s: stop %s: %w", l.cfg.Name, name, err)
	}
	return nil
}

func (l *Lab) startDaemon(ctx context.Context, d daemon) error {
	pids, err := l.daemonPIDs(d.match)
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		if _, _, err := l.execIn(ctx, l.net.svc.netns, d.script); err != nil {
			return fmt.Errorf("%w: %s", err, logTail(d.log))
		}
	}
	for _, a := range d.listen {
		if err := waitTCP(ctx, a, 10*time.Second); err != nil {
			return fmt.Errorf("%w: %s", err, logTail(d.log))
		}
	}
	return nil
}

func (l *Lab) stopDaemon(ctx context.Context, d daemon) error {
	for sig, deadline := syscall.SIGTERM, time.Now().Add(5*time.Second); ; {
		pids, err := l.daemonPIDs(d.match)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			sig = syscall.SIGKILL
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	for _, a := range d.listen {
		if !waitUntil(ctx, 5*time.Second, func() bool {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				return true
			}
			c.Close()
			return false
		}) {
			return fmt.Errorf("%s still accepts connections", a)
		}
	}
	return nil
}

// daemonPIDs lists the processes of the services host whose command line
// holds match, and their children (nginx's workers name no file).
func (l *Lab) daemonPIDs(match string) ([]int, error) {
	ino, err := nsInode(l.net.svc.netns)
	if err != nil {
		return nil, fmt.Errorf("services host: %w", err)
	}
	ps, err := procsIn(map[uint64]bool{ino: true})
	if err != nil {
		return nil, err
	}
	found := map[int]bool{}
	for _, p := range ps {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
		if err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), match) {
			found[p.pid] = true
		}
	}
	for _, p := range ps {
		if ppid, _ := procParent(p.pid); found[ppid] {
			found[p.pid] = true
		}
	}
	out := make([]int, 0, len(found))
	for pid := range found {
		out = append(out, pid)
	}
	sort.Ints(out)
	return out, nil
}

// logTail is the end of a log file, for errors.
func logTail(path string) string {
	b, _ := os.ReadFile(path)
	return path + ": " + tail(string(b), 1000)
}

// svcListen is host:port.
func svcListen(addr string, port int) string { return net.JoinHostPort(addr, strconv.Itoa(port)) }
