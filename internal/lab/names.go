package lab

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The lab's names: every host and service of the lab has a name in Domain,
// served by the lab's DNS server (dns.go) to the workstations. The intranet
// site, the mail port and the VPN gateway have addresses of their own, held
// by the services host next to its main one, so a check that resolves a name
// and connects to it proves the name led there.

// Domain is the lab's DNS domain: every lab name is NAME.Domain. It is the
// Active Directory domain too.
const Domain = adDomain

// Names of the lab's services (short; the DNS name is NAME.Domain).
const (
	// NameIntranet is the intranet site: HTTPS on 443 with a certificate of
	// the lab CA (see IntranetPath, IntranetMissingPath).
	NameIntranet = "intranet"
	// NameMail is the mail server: something listens on MailPort and
	// MailSubmissionPort (see Lab.SetName for a mail server of a test).
	NameMail = "mail"
	// NameVPN is the VPN gateway: a TCP listener on VPNPort.
	NameVPN = "vpn"
	// NamePrintServer is the print server, the services host, where the
	// printers' queues are.
	NamePrintServer = "print01"
)

// Ports of the lab's services.
const (
	DNSPort            = 53
	IntranetPort       = 443
	MailPort           = 25
	MailSubmissionPort = 587
	VPNPort            = 1194 // OpenVPN's port
)

// Paths of the intranet site: the one answers 200, the other 404.
const (
	IntranetPath        = "/"
	IntranetMissingPath = "/no-such-page"
)

// Last octets of the services' own addresses, held by the services host.
const (
	intranetHost = 5
	mailHost     = 6
	vpnHost      = 7
)

var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// FQDN returns the lab DNS name of a short name: "intranet" gives
// "intranet.corp.example.test".
func FQDN(name string) string { return name + "." + Domain }

// defaultNames are the lab's names and addresses before SetName: the
// services, the services host, the directory servers and every
// workstation, Linux and Windows.
func (l *Lab) defaultNames() map[string]string {
	p, n := l.net, l.cfg.Subnet
	m := map[string]string{
		NamePrintServer: p.svc.addr,
		NameIntranet:    hostAddr(n, intranetHost),
		NameMail:        hostAddr(n, mailHost),
		NameVPN:         hostAddr(n, vpnHost),
	}
	if l.cfg.ActiveDirectory {
		m[p.dc.hostname] = p.dc.addr
	}
	if l.cfg.OpenLDAP {
		m[p.ldap.hostname] = p.ldap.addr
	}
	for _, h := range p.workstations {
		m[h.name] = h.addr
	}
	for _, h := range p.windows {
		m[h.hostname] = h.addr
	}
	return m
}

// shortNames returns the defaults with SetName's changes applied.
func (l *Lab) shortNames() map[string]string {
	m := l.defaultNames()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range l.nameSet {
		m[k] = v
	}
	return m
}

// Names returns every name the lab's DNS server answers, fully qualified
// ("intranet.corp.example.test"), with its IPv4 address.
func (l *Lab) Names() map[string]string {
	out := map[string]string{}
	for k, v := range l.shortNames() {
		out[FQDN(k)] = v
	}
	return out
}

// Addr returns the address of a lab name, short or fully qualified.
func (l *Lab) Addr(name string) (string, bool) {
	a, ok := l.shortNames()[strings.TrimSuffix(name, "."+Domain)]
	return a, ok
}

// SetName points a lab name (short, a DNS label) at addr, an address of the
// lab's network (the bridge address 10.213.N.1 is one: a server in the test
// process listens there), new or replacing the default. It returns once the
// lab's DNS server answers the new address. This is how a mail server of
// its own (internal/lab/smtp.go, or a test's) takes over NameMail.
func (l *Lab) SetName(ctx context.Context, name, addr string) error {
	if !labelRE.MatchString(name) {
		return fmt.Errorf("lab %s: name %q: want a DNS label of [a-z0-9-]", l.cfg.Name, name)
	}
	if err := l.inLabNet(addr); err != nil {
		return fmt.Errorf("lab %s: name %s: %w", l.cfg.Name, name, err)
	}
	l.mu.Lock()
	if l.nameSet == nil {
		l.nameSet = map[string]string{}
	}
	l.nameSet[name] = addr
	l.mu.Unlock()
	if err := l.saveState(); err != nil {
		return err
	}
	if !l.dnsStarted() {
		return nil // the DNS component writes every name when it starts
	}
	running, err := l.reloadDNS(ctx)
	if err != nil {
		return fmt.Errorf("lab %s: name %s: %w", l.cfg.Name, name, err)
	}
	if !running {
		return nil
	}
	r := l.Resolver()
	if !waitUntil(ctx, 5*time.Second, func() bool {
		got, err := r.LookupHost(ctx, FQDN(name))
		return err == nil && len(got) == 1 && got[0] == addr
	}) {
		return fmt.Errorf("lab %s: the DNS server does not answer %s with %s after 5s", l.cfg.Name, FQDN(name), addr)
	}
	return nil
}

// inLabNet checks that addr is an IPv4 address of the lab's /24.
func (l *Lab) inLabNet(addr string) error {
	ip := net.ParseIP(addr)
	_, lan, _ := net.ParseCIDR(hostAddr(l.cfg.Subnet, 0) + "/24")
	if ip == nil || ip.To4() == nil || !lan.Contains(ip) {
		return fmt.Errorf("address %q is not in the lab's network %s", addr, lan)
	}
	return nil
}

// DNSServer is the lab's DNS server, "10.213.N.2:53".
func (l *Lab) DNSServer() string { return svcListen(l.net.svc.addr, DNSPort) }

// Resolver returns a resolver that asks the lab's DNS server only, for
// tests that look names up from the controller.
func (l *Lab) Resolver() *net.Resolver {
	server := l.DNSServer()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
}

// hostsLines renders the names as a hosts file, sorted by name.
func (l *Lab) hostsLines() string {
	m := l.shortNames()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s\t%s\n", m[k], FQDN(k))
	}
	return b.String()
}
