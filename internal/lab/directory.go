package lab

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Directory servers: an OpenLDAP slapd (10.213.N.4) and a Samba Active
// Directory domain controller (10.213.N.3), each in a network namespace of its
// own with private mount, UTS and PID namespaces, started only when
// Config.OpenLDAP or Config.ActiveDirectory asks for them. Both use the
// controller's own slapd and samba binaries (no overlay root); their data,
// keys and logs live under Config.Dir. Both serve LDAPS on 636 and StartTLS on
// 389 with a certificate of the lab's CA (ca.go), and both get a random admin
// password per lab start, kept in a 0600 file.

// Names of the lab's directories.
const (
	LDAPName = "corp-ldap"
	ADName   = "corp-ad"
)

// Kinds of directory.
const (
	KindOpenLDAP        = "openldap"
	KindActiveDirectory = "active-directory"
)

// Directory is one running directory server of the lab.
type Directory struct {
	Name        string // "corp-ldap" or "corp-ad"
	Kind        string // "openldap" or "active-directory"
	Addr        string // server IP (the DC's address for adcli --domain-controller)
	URL         string // "ldaps://10.213.N.x:636"
	StartTLSURL string // "ldap://10.213.N.x:389"
	BaseDN      string
	UsersDN     string
	GroupsDN    string
	ComputersDN string // empty for openldap
	Domain      string // "corp.example.test" for AD, "" for openldap
	// BindDN is the directory's administrator: for AD
	// "CN=Administrator,CN=Users,DC=corp,DC=example,DC=test", for OpenLDAP the
	// rootdn "cn=admin,dc=corp,dc=example,dc=test".
	BindDN string
	// BindPassword is the lab's generated admin password. It is not kept in
	// the lab's state file: Open reads it back from BindPasswordFile.
	BindPassword     string
	BindPasswordFile string // 0600 file holding it, for the inventory's file: reference
	CACertFile       string // the lab CA's certificate, Config.Dir/ca.pem
}

// Seeded content, the same in both directories.
var (
	seedGroups = []string{"engineering", "vpn-users", "github-users", "data-science", "sales", "crm-users", "front-desk"}
	// seedManagers are managers new hires report to.
	seedManagers = []seedUser{
		{uid: "ghopper", given: "Grace", sn: "Hopper", title: "Engineering Manager", dept: "Engineering", uidNumber: 10001},
		{uid: "mbenioff", given: "Marc", sn: "Benioff", title: "Sales Manager", dept: "Sales", uidNumber: 10002},
	}
)

const (
	seedGIDNumber = 10000
	mailDomain    = "corp.example.test"
)

type seedUser struct {
	uid, given, sn, title, dept string
	uidNumber                   int
}

func (u seedUser) cn() string { return u.given + " " + u.sn }

// dirHost is the plan of a directory server's host.
type dirHost struct {
	nsHost
	hostname string // UTS host name
	dnsName  string // name in its certificate
}

// Directory returns the named directory ("corp-ldap", "corp-ad").
func (l *Lab) Directory(name string) (Directory, bool) {
	for _, d := range l.Directories {
		if d.Name == name {
			return d, true
		}
	}
	return Directory{}, false
}

func (l *Lab) directory(name string) (Directory, error) {
	d, ok := l.Directory(name)
	if !ok {
		var names []string
		for _, d := range l.Directories {
			names = append(names, d.Name)
		}
		return d, fmt.Errorf("lab %s: no directory %q (running: %s; start the lab with OpenLDAP or ActiveDirectory)",
			l.cfg.Name, name, strings.Join(names, ", "))
	}
	return d, nil
}

// setDirectory records a started directory, keeping l.Directories sorted by name.
func (l *Lab) setDirectory(d Directory) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.Directories[:0]
	for _, e := range l.Directories {
		if e.Name != d.Name {
			out = append(out, e)
		}
	}
	l.Directories = append(out, d)
	sort.Slice(l.Directories, func(i, j int) bool { return l.Directories[i].Name < l.Directories[j].Name })
}

// StopDirectory kills the named directory's server (slapd, or every process
// of the Samba DC, samba-dcerpcd included) and waits until its LDAPS port
// refuses connections. Its data stay; StartDirectory brings it back.
func (l *Lab) StopDirectory(ctx context.Context, name string) error {
	d, err := l.directory(name)
	if err != nil {
		return err
	}
	h := l.dirHost(d.Kind)
	if err := l.killServer(ctx, h.netns); err != nil {
		return fmt.Errorf("stop directory %s: %w", name, err)
	}
	addr := net.JoinHostPort(d.Addr, "636")
	if !waitUntil(ctx, 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}) {
		return fmt.Errorf("stop directory %s: %s still accepts connections", name, addr)
	}
	return nil
}

// StartDirectory starts the named directory's server again on the data it
// had, if it is not running, and returns once an admin bind over LDAPS
// works (and, for AD, the KDC accepts connections).
func (l *Lab) StartDirectory(ctx context.Context, name string) error {
	d, err := l.directory(name)
	if err != nil {
		return err
	}
	h := l.dirHost(d.Kind)
	pids, err := l.serverPIDs(h.netns)
	if err != nil {
		return fmt.Errorf("start directory %s: %w", name, err)
	}
	if len(pids) == 0 {
		switch d.Kind {
		case KindOpenLDAP:
			err = l.startSlapd(ctx)
		case KindActiveDirectory:
			err = l.startSamba(ctx)
		}
		if err != nil {
			return fmt.Errorf("start directory %s: %w", name, err)
		}
	}
	if d.Kind == KindActiveDirectory {
		err = l.waitSamba(ctx, d)
	} else {
		err = l.waitDirectory(ctx, d)
	}
	if err != nil {
		return fmt.Errorf("start directory %s: %w", name, err)
	}
	return nil
}

func (l *Lab) dirHost(kind string) dirHost {
	if kind == KindActiveDirectory {
		return l.net.dc
	}
	return l.net.ldap
}

// dirHostInit is PID 1 of a directory host (arguments: hostname, ready
// file, then pairs of a private folder and the path it is bind-mounted over).
// It gets a fresh /proc (its own PID namespace), a private tmpfs on /run (so
// pid files and sockets never meet the controller's or another lab's), and
// the bind mounts, then reaps orphans for ever. See servicesInit for why
// /run/netns is dropped first.
const dirHostInit = `set -e
umount -l /run/netns 2>/dev/null || true
mount -t proc proc /proc
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/lock
hostname "$1"
ready=$2
shift 2
while [ $# -ge 2 ]; do
	[ -e "$2" ] || mkdir -p "$2"
	mount --bind "$1" "$2"
	shift 2
done
echo ready > "$ready"
exec /bin/sh -c 'while :; do sleep 3600 & wait; done'
`

// startDirHost joins h to the bridge and starts its init; mounts are pairs of
// a source file or folder and the path it covers inside the host.
func (l *Lab) startDirHost(ctx context.Context, h dirHost, dir string, mounts ...string) error {
	if err := l.net.join(ctx, h.nsHost); err != nil {
		return err
	}
	ready := filepath.Join(dir, "ready")
	logPath := filepath.Join(dir, "init.log")
	_ = os.Remove(ready)
	args := append([]string{h.hostname, ready}, mounts...)
	if _, err := l.spawnNested(ctx, h.netns, logPath, dirHostInit, args...); err != nil {
		return err
	}
	return waitFile(ctx, ready, 10*time.Second, logPath)
}

// serverPIDs lists the processes of a directory host other than its init,
// the init's idle sleep and the unshare above it: the server's processes
// (and any command running there).
func (l *Lab) serverPIDs(netns string) ([]int, error) {
	initPID, err := l.initPID(netns)
	if err != nil {
		return nil, err
	}
	ino, err := nsInode(netns)
	if err != nil {
		return nil, err
	}
	ps, err := procsIn(map[uint64]bool{ino: true})
	if err != nil {
		return nil, err
	}
	depth := len(readNSpid(initPID))
	var out []int
	for _, p := range ps {
		if p.pid == initPID || len(p.nspid) != depth || depth == 0 {
			continue
		}
		if ppid, comm := procParent(p.pid); ppid == initPID && comm == "sleep" {
			continue
		}
		out = append(out, p.pid)
	}
	return out, nil
}

// procParent returns a process's parent PID and command name (from
// /proc/PID/stat), or 0 and "" if it is gone.
func procParent(pid int) (ppid int, comm string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, ""
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return 0, ""
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 {
		return 0, ""
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, s[open+1 : end]
}

// killServer kills every process of a directory host but its init (Samba's
// samba-dcerpcd outlives the samba master, so every process goes) and waits
// until they are gone.
func (l *Lab) killServer(ctx context.Context, netns string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		pids, err := l.serverPIDs(netns)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("processes still alive in %s: %v", netns, pids)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitDirectory waits until an admin bind over LDAPS, verified against the
// lab CA, works.
func (l *Lab) waitDirectory(ctx context.Context, d Directory) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last error
	for {
		c, err := d.dial(ctx)
		if err == nil {
			err = c.Bind(d.BindDN, d.BindPassword)
			c.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("no LDAPS bind as %s at %s: %w", d.BindDN, d.URL, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tlsConfig returns a TLS configuration that trusts only the lab CA.
func (d Directory) tlsConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(d.CACertFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", d.CACertFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: d.Addr, MinVersion: tls.VersionTLS12}, nil
}

// dial opens an LDAPS connection to d, verified against the lab CA.
func (d Directory) dial(ctx context.Context) (*ldap.Conn, error) {
	cfg, err := d.tlsConfig()
	if err != nil {
		return nil, err
	}
	dl := &net.Dialer{Timeout: 2 * time.Second}
	if dead, ok := ctx.Deadline(); ok && time.Until(dead) < dl.Timeout {
		dl.Timeout = max(time.Until(dead), time.Millisecond)
	}
	c, err := ldap.DialURL(d.URL, ldap.DialWithDialer(dl), ldap.DialWithTLSConfig(cfg))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(10 * time.Second)
	return c, nil
}

// adminConn opens an LDAPS connection bound as the directory's admin.
func (d Directory) adminConn(ctx context.Context) (*ldap.Conn, error) {
	c, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.Bind(d.BindDN, d.BindPassword); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// newPassword makes a random password that meets Active Directory's default
// complexity rules (upper and lower case, digits, a symbol; 7 characters or
// more) and needs no quoting in a shell or YAML.
func newPassword() string {
	const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, 20)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		if err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		b[i] = alnum[n.Int64()]
	}
	return "Lab-" + string(b) + "-9x"
}

// writePassword writes an admin password to a 0600 file, without a
// newline (ldapsearch -y takes the whole file as the password).
func writePassword(path, pw string) error {
	if err := writeFileAtomic(path, []byte(pw), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	return nil
}

// readPassword reads a password file written by writePassword.
func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", errors.New(path + ": empty")
	}
	return pw, nil
}
