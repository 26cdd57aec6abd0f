package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The lab's DNS server: Debian's dnsmasq in the services host (10.213.N.2,
// port 53), the workstations' only resolver. It answers the lab's names
// (names.go) from a hosts file it rereads on SIGHUP (SetName), answers
// NXDOMAIN for any other name in Domain and the lab's reverse zone, and
// forwards nothing: it has no upstream server, so a name outside the lab
// fails at once (REFUSED), as the lab has no way out anyway.
//
// Why dnsmasq rather than the Samba DC's own DNS: the DC runs only with
// Config.ActiveDirectory and takes seconds to provision, while every lab
// needs names, and dnsmasq starts in milliseconds. With a DC, dnsmasq also
// serves the SRV records a domain member looks up (_ldap._tcp,
// _kerberos._udp...), pointing at dc1.

const dnsDir = "dns" // under services/

// dnsmasqConf is the server's whole configuration (arguments: listen
// address, folder, domain, reverse zone, extra lines).
const dnsmasqConf = `# Written by the onboard lab: the lab's DNS server.
port=53
listen-address=%[1]s
bind-interfaces
no-resolv
no-poll
no-hosts
addn-hosts=%[2]s/hosts
local=/%[3]s/
local=/%[4]s/
domain-needed
bogus-priv
user=root
pid-file=%[2]s/dnsmasq.pid
log-facility=%[2]s/dnsmasq.log
%[5]s`

// labDNS is the component that starts the DNS server.
type labDNS struct{}

func (labDNS) name() string { return "dns" }

func (labDNS) start(ctx context.Context, l *Lab) error {
	dir := l.serviceDir(dnsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "hosts"), []byte(l.hostsLines()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "dnsmasq.conf"), []byte(l.dnsmasqConfig()), 0o644); err != nil {
		return err
	}
	return l.startDaemon(ctx, l.dnsDaemon())
}

// dnsmasqConfig renders dnsmasqConf for the lab.
func (l *Lab) dnsmasqConfig() string {
	return fmt.Sprintf(dnsmasqConf, l.net.svc.addr, l.serviceDir(dnsDir), Domain,
		fmt.Sprintf("%d.213.10.in-addr.arpa", l.cfg.Subnet), l.srvRecords())
}

// srvRecords are the SRV records of the domain's services: Active Directory
// members find their domain controller by them.
func (l *Lab) srvRecords() string {
	if !l.cfg.ActiveDirectory {
		return ""
	}
	dc := l.net.dc.dnsName
	var b strings.Builder
	for _, r := range []struct {
		name string
		port int
	}{
		{"_ldap._tcp", 389}, {"_ldap._tcp.dc._msdcs", 389}, {"_gc._tcp", 3268},
		{"_kerberos._tcp", 88}, {"_kerberos._udp", 88}, {"_kerberos._tcp.dc._msdcs", 88},
		{"_kpasswd._tcp", 464}, {"_kpasswd._udp", 464},
	} {
		fmt.Fprintf(&b, "srv-host=%s.%s,%s,%d\n", r.name, Domain, dc, r.port)
	}
	return b.String()
}

func (l *Lab) dnsDaemon() daemon {
	dir := l.serviceDir(dnsDir)
	conf := filepath.Join(dir, "dnsmasq.conf")
	return daemon{
		// dnsmasq checks its configuration, then forks into the background.
		script: fmt.Sprintf("dnsmasq --conf-file=%s </dev/null >>%s 2>&1", shq(conf), shq(filepath.Join(dir, "start.log"))),
		match:  "--conf-file=" + conf,
		listen: []string{svcListen(l.net.svc.addr, DNSPort)},
		log:    filepath.Join(dir, "dnsmasq.log"),
	}
}

// dnsStarted says whether the DNS component has written its files.
func (l *Lab) dnsStarted() bool {
	_, err := os.Stat(filepath.Join(l.serviceDir(dnsDir), "dnsmasq.conf"))
	return err == nil
}

// reloadDNS rewrites the hosts file and has dnsmasq reread it, if it runs
// (a stopped one reads it when it starts); it says whether it did.
func (l *Lab) reloadDNS(ctx context.Context) (running bool, err error) {
	dir := l.serviceDir(dnsDir)
	if err := writeFileAtomic(filepath.Join(dir, "hosts"), []byte(l.hostsLines()), 0o644); err != nil {
		return false, err
	}
	if pids, err := l.daemonPIDs(l.dnsDaemon().match); err != nil || len(pids) == 0 {
		return false, err
	}
	// The PID file holds dnsmasq's PID in the services host's PID namespace.
	pid := filepath.Join(dir, "dnsmasq.pid")
	if _, _, err := l.execIn(ctx, l.net.svc.netns, fmt.Sprintf(`kill -HUP "$(cat %s)"`, shq(pid))); err != nil {
		return true, fmt.Errorf("reload dnsmasq: %w", err)
	}
	return true, nil
}

// resolvConf is the workstations' /etc/resolv.conf: the lab's DNS server
// only; a short time-out, so that a check against a stopped server fails
// quickly.
func (l *Lab) resolvConf() string {
	return fmt.Sprintf("# Written by the onboard lab.\nnameserver %s\nsearch %s\noptions timeout:1 attempts:2\n",
		l.net.svc.addr, Domain)
}
