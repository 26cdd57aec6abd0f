package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The services host: one namespace (10.213.N.2) with private mount, UTS and
// PID namespaces, running the servers workstations talk to. It starts a
// private D-Bus system bus and avahi-daemon (ippeveprinter registers its
// printers over DNS-SD and will not run without them); the repository and
// printers are started into it afterwards. Later servers (slapd, a Samba DC,
// WinRM) get namespaces of their own the same way.

// servicesInit is PID 1 of the services host (arguments: hostname, ready
// file). /run is a private tmpfs, so the
// bus and avahi never meet the controller's. The controller's /run/netns
// mounts are dropped first: a copy of them here would keep other labs'
// namespaces alive after those labs delete them.
const servicesInit = `set -e
umount -l /run/netns 2>/dev/null || true
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/dbus /run/avahi-daemon /run/lock
hostname "$1"
dbus-daemon --system --fork
i=0
while [ ! -S /run/dbus/system_bus_socket ]; do
	i=$((i+1)); [ $i -lt 200 ] || { echo "dbus-daemon did not start" >&2; exit 1; }
	sleep 0.05
done
avahi-daemon --daemonize --no-drop-root --no-chroot
echo ready > "$2"
exec /bin/sh -c 'while :; do sleep 3600 & wait; done'
`

// services is the component that starts the services host.
type services struct{}

func (services) name() string { return "services host" }

func (services) start(ctx context.Context, l *Lab) error {
	dir := filepath.Join(l.cfg.Dir, "services")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	h := l.net.svc
	if err := l.net.join(ctx, h); err != nil {
		return err
	}
	// The intranet, mail and VPN names have addresses of their own here.
	var addrs []string
	for _, o := range []int{intranetHost, mailHost, vpnHost} {
		addrs = append(addrs, fmt.Sprintf("addr add %s/24 dev eth0", hostAddr(l.cfg.Subnet, o)))
	}
	if err := runBatch(ctx, h.netns, addrs); err != nil {
		return err
	}
	ready := filepath.Join(dir, "ready")
	logPath := filepath.Join(dir, "init.log")
	pid, err := spawnInit(h.netns, logPath, servicesInit, h.netns, ready)
	if err != nil {
		return err
	}
	l.setInit(h.netns, pid)
	return waitFile(ctx, ready, 10*time.Second, logPath)
}

func (l *Lab) setInit(netns string, pid int) {
	l.mu.Lock()
	l.inits[netns] = pid
	l.mu.Unlock()
}

// waitFile waits until path exists; on time-out it reports the tail of logPath.
func waitFile(ctx context.Context, path string, timeout time.Duration, logPath string) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("%s did not appear within %s: %s", path, timeout, tail(string(log), 2000))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
