package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Workstations: each is a network namespace with private mount, UTS and PID
// namespaces whose root is an overlay (lower: the shared base image; upper:
// the workstation's own folder), chrooted, running cupsd and sshd under a
// small shell init. Everything a workstation writes, apt included, lands in
// its upper folder, never on the controller's filesystem.
//
// The files that differ per workstation (host key, sshd_config, apt source,
// authorized_keys, hostname) are written into the upper folder before the
// overlay is mounted, which overlayfs allows, so no command has to run inside
// the workstation to configure it.

// workstationMount is run by sh inside the new namespaces, as PID 1: it
// builds the root and becomes the init inside it. Arguments: lower, upper,
// work, merged, hostname. /sys is a fresh read-only sysfs (showing the
// namespace's own links) and /dev a small tmpfs with the usual devices and a
// private devpts, not the controller's /dev. See servicesInit for why
// /run/netns is dropped.
const workstationMount = `set -e
umount -l /run/netns 2>/dev/null || true
mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
mount -t proc proc "$4/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$4/sys"
mount -t tmpfs -o mode=0755,nosuid,size=1m tmpfs "$4/dev"
mknod -m 0666 "$4/dev/null" c 1 3
mknod -m 0666 "$4/dev/zero" c 1 5
mknod -m 0666 "$4/dev/full" c 1 7
mknod -m 0666 "$4/dev/random" c 1 8
mknod -m 0666 "$4/dev/urandom" c 1 9
mknod -m 0666 "$4/dev/tty" c 5 0
mkdir -m 0755 "$4/dev/pts"
mkdir -m 1777 "$4/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$4/dev/pts"
ln -s pts/ptmx "$4/dev/ptmx"
ln -s /proc/self/fd "$4/dev/fd"
ln -s /proc/self/fd/0 "$4/dev/stdin"
ln -s /proc/self/fd/1 "$4/dev/stdout"
ln -s /proc/self/fd/2 "$4/dev/stderr"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$4/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$4/tmp"
hostname "$5"
exec chroot "$4" /bin/sh ` + workstationInitPath + `
`

// workstationInit is PID 1 inside a workstation: it starts the daemons and
// then reaps orphans (dash's wait collects any child) for ever. sshd is not
// PID 1 so that StopSSH does not end the workstation.
const (
	workstationInitPath = "/usr/local/sbin/onboard-lab-init"
	workstationInit     = `#!/bin/sh
# PID 1 of an onboard lab workstation, written by the lab.
mkdir -p /run/sshd /run/cups /run/lock
chmod 0755 /run/sshd
` + loadFirewall + `
/usr/sbin/cupsd
` + startSSHD + `
while :; do sleep 3600 & wait; done
`
	startSSHD  = `/usr/sbin/sshd -E /var/log/sshd.log`
	sshdPIDRun = `{ [ -s /run/sshd.pid ] && kill -0 "$(cat /run/sshd.pid)" 2>/dev/null; }`
)

// sshdConfig is the workstation's whole sshd_config: key-only logins, the
// lab user only, and limits that a parallel run of onboard does not hit.
const sshdConfig = `# Written by the onboard lab.
ListenAddress %s
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
MaxStartups 100:30:200
MaxSessions 20
X11Forwarding no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
`

// workstations is the component that starts every workstation.
type workstations struct{}

func (workstations) name() string { return "workstations" }

func (workstations) start(ctx context.Context, l *Lab) error {
	if err := l.makeLabKey(ctx); err != nil {
		return err
	}
	pub, err := os.ReadFile(l.KeyFile + ".pub")
	if err != nil {
		return err
	}
	uid, gid, err := passwdIDs(filepath.Join(l.baseRoot, "etc/passwd"), labUser)
	if err != nil {
		return fmt.Errorf("base image: %w", err)
	}
	trust, err := l.caTrust(ctx)
	if err != nil {
		return err
	}
	hosts := l.net.workstations
	l.Workstations = make([]Workstation, len(hosts))
	errs := make([]error, len(hosts))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ws, err := l.startWorkstation(ctx, h, pub, uid, gid, trust)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", h.name, err)
			}
			l.Workstations[i] = ws
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var kh strings.Builder
	for _, ws := range l.Workstations {
		kh.WriteString(ws.HostKeyLine + "\n")
	}
	return writeFileAtomic(l.KnownHostsFile, []byte(kh.String()), 0o644)
}

// makeLabKey makes the key that logs in as the lab user everywhere.
func (l *Lab) makeLabKey(ctx context.Context) error {
	_ = os.Remove(l.KeyFile)
	_ = os.Remove(l.KeyFile + ".pub")
	if err := run(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "onboard-lab-"+l.cfg.Name, "-f", l.KeyFile); err != nil {
		return err
	}
	return os.Chmod(l.KeyFile, 0o600)
}

func (l *Lab) hostDir(ws string) string { return filepath.Join(l.cfg.Dir, "hosts", ws) }

func (l *Lab) startWorkstation(ctx context.Context, h nsHost, authorizedKey []byte, uid, gid int, trust caTrust) (Workstation, error) {
	ws := Workstation{Name: h.name, Addr: h.addr, Port: 22}
	dir := l.hostDir(h.name)
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	for _, d := range []string{upper, work, merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return ws, err
		}
	}
	u := upperWriter{lower: l.baseRoot, upper: upper}
	u.file("etc/hostname", h.name+"\n", 0o644, 0, 0)
	u.file("etc/hosts", l.etcHosts(), 0o644, 0, 0)
	u.file("etc/resolv.conf", l.resolvConf(), 0o644, 0, 0)
	u.file(strings.TrimPrefix(nftablesConfPath, "/"), nftablesConf, 0o755, 0, 0)
	trust.write(&u)
	u.file("etc/ssh/sshd_config", fmt.Sprintf(sshdConfig, h.addr), 0o644, 0, 0)
	u.file("etc/apt/sources.list", l.sourcesLine(), 0o644, 0, 0)
	u.file("home/"+labUser+"/.ssh/authorized_keys", string(authorizedKey), 0o600, uid, gid)
	u.file(strings.TrimPrefix(workstationInitPath, "/"), workstationInit, 0o755, 0, 0)
	if u.err != nil {
		return ws, u.err
	}
	// The .ssh folder is new in the upper layer: give it to the user.
	if err := os.Chown(filepath.Join(upper, "home", labUser, ".ssh"), uid, gid); err != nil {
		return ws, err
	}
	if err := os.Chmod(filepath.Join(upper, "home", labUser, ".ssh"), 0o700); err != nil {
		return ws, err
	}
	key := filepath.Join(upper, "etc/ssh/ssh_host_ed25519_key")
	if err := run(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@"+h.name, "-f", key); err != nil {
		return ws, err
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return ws, err
	}
	f := strings.Fields(string(pub))
	if len(f) < 2 {
		return ws, fmt.Errorf("host key %s.pub: unexpected %q", key, pub)
	}
	ws.HostKeyLine = h.addr + " " + f[0] + " " + f[1]

	if err := l.net.join(ctx, h); err != nil {
		return ws, err
	}
	logPath := filepath.Join(dir, "init.log")
	pid, err := l.spawnNested(ctx, h.netns, logPath, workstationMount, l.baseRoot, upper, work, merged, h.name)
	if err != nil {
		return ws, err
	}
	if err := waitTCP(ctx, fmt.Sprintf("%s:%d", h.addr, ws.Port), 15*time.Second); err != nil {
		return ws, fmt.Errorf("sshd: %w: %s", err, l.hostLogs(h.name))
	}
	sock := fmt.Sprintf("/proc/%d/root/run/cups/cups.sock", pid)
	if !waitUntil(ctx, 15*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }) {
		return ws, fmt.Errorf("cupsd: no /run/cups/cups.sock after 15s: %s", l.hostLogs(h.name))
	}
	// The init loaded the firewall before it started sshd.
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/run/nftables.err", pid)); err != nil {
		return ws, fmt.Errorf("firewall: %w", err)
	} else if len(b) > 0 {
		return ws, fmt.Errorf("firewall: nft -f %s (nftables needs a kernel with nf_tables): %s", nftablesConfPath, tail(string(b), 1000))
	}
	return ws, nil
}

// hostLogs returns the tail of a workstation's init and sshd logs, for errors.
func (l *Lab) hostLogs(ws string) string {
	dir := l.hostDir(ws)
	initLog, _ := os.ReadFile(filepath.Join(dir, "init.log"))
	sshdLog, _ := os.ReadFile(filepath.Join(dir, "upper/var/log/sshd.log"))
	return fmt.Sprintf("init: %s; sshd: %s", tail(string(initLog), 1000), tail(string(sshdLog), 1000))
}

// etcHosts names every lab host, so sudo and cups resolve names without DNS.
func (l *Lab) etcHosts() string {
	var b strings.Builder
	fmt.Fprintf(&b, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	fmt.Fprintf(&b, "%s\tlab-services\n", l.net.svc.addr)
	if l.cfg.ActiveDirectory {
		fmt.Fprintf(&b, "%s\t%s %s\n", l.net.dc.addr, l.net.dc.dnsName, l.net.dc.hostname)
	}
	if l.cfg.OpenLDAP {
		fmt.Fprintf(&b, "%s\t%s %s\n", l.net.ldap.addr, l.net.ldap.dnsName, l.net.ldap.hostname)
	}
	for _, h := range l.net.workstations {
		fmt.Fprintf(&b, "%s\t%s\n", h.addr, h.name)
	}
	return b.String()
}

// upperWriter writes files into an overlay's upper folder before it is
// mounted. Folders it has to make get the owner and mode of the same folder
// in the lower layer, so the merged view keeps them.
type upperWriter struct {
	lower, upper string
	err          error
}

func (u *upperWriter) file(rel, body string, mode os.FileMode, uid, gid int) {
	if u.err != nil {
		return
	}
	if u.err = u.mkdirs(filepath.Dir(rel)); u.err != nil {
		return
	}
	path := filepath.Join(u.upper, rel)
	if u.err = os.WriteFile(path, []byte(body), mode); u.err != nil {
		return
	}
	if u.err = os.Chmod(path, mode); u.err != nil {
		return
	}
	u.err = os.Chown(path, uid, gid)
}

// link makes a symbolic link rel pointing at target.
func (u *upperWriter) link(rel, target string) {
	if u.err != nil {
		return
	}
	if u.err = u.mkdirs(filepath.Dir(rel)); u.err != nil {
		return
	}
	u.err = os.Symlink(target, filepath.Join(u.upper, rel))
}

func (u *upperWriter) mkdirs(rel string) error {
	if rel == "." || rel == "/" {
		return nil
	}
	path := filepath.Join(u.upper, rel)
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	if err := u.mkdirs(filepath.Dir(rel)); err != nil {
		return err
	}
	mode, uid, gid := os.FileMode(0o755), 0, 0
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(u.lower, rel), &st); err == nil {
		mode, uid, gid = os.FileMode(st.Mode&0o7777), int(st.Uid), int(st.Gid)
	}
	if err := os.Mkdir(path, mode); err != nil {
		return err
	}
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	return os.Chown(path, uid, gid)
}

// passwdIDs returns a user's uid and gid from a passwd file.
func passwdIDs(passwd, user string) (uid, gid int, err error) {
	f, err := os.Open(passwd)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) >= 4 && p[0] == user {
			uid, err1 := strconv.Atoi(p[2])
			gid, err2 := strconv.Atoi(p[3])
			if err1 != nil || err2 != nil {
				return 0, 0, fmt.Errorf("%s: bad entry for %s", passwd, user)
			}
			return uid, gid, nil
		}
	}
	return 0, 0, fmt.Errorf("%s: no user %s", passwd, user)
}

// waitUntil polls ok every 10 ms until it returns true or timeout passes.
func waitUntil(ctx context.Context, timeout time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
