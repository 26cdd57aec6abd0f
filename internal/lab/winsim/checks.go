package winsim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What the check kinds' scripts read, answered from the host's state. The
// scripts turn the objects Windows returns into their own compact JSON, so
// winsim prints that JSON from the same properties Windows has:
//   - Resolve-DnsName (https://learn.microsoft.com/powershell/module/dnsclient/resolve-dnsname):
//     A/AAAA records carry IPAddress; a name that does not exist fails with
//     "NAME : DNS name does not exist", FullyQualifiedErrorId
//     DNS_ERROR_RCODE_NAME_ERROR,Microsoft.DnsClient.Commands.ResolveDnsName;
//     no answer with ERROR_TIMEOUT,... "This operation returned because the
//     timeout period expired".
//   - TcpClient.ConnectAsync (https://learn.microsoft.com/dotnet/api/system.net.sockets.tcpclient.connectasync):
//     a refused port is a SocketException "No connection could be made
//     because the target machine actively refused it IP:PORT", an unknown
//     name "No such host is known".
//   - Get-Service (https://learn.microsoft.com/powershell/module/microsoft.powershell.management/get-service):
//     ServiceController Name, DisplayName, Status (Running, Stopped, ...),
//     StartType (Automatic, Manual, Disabled, Boot, System).
//   - NTAccount.Translate (https://learn.microsoft.com/dotnet/api/system.security.principal.ntaccount.translate),
//     Get-LocalUser (Enabled, SID), Get-LocalGroup (Name, SID) and
//     Get-LocalGroupMember (Name as DOMAIN\name)
//     (https://learn.microsoft.com/powershell/module/microsoft.powershell.localaccounts/).

// Service is one Windows service as Get-Service shows it.
type Service struct {
	DisplayName string
	Status      string // "Running", "Stopped", ...
	StartType   string // "Automatic", "Manual", "Disabled", ...
}

type checkState struct {
	services map[string]*svc // lower-cased name
	hosts    map[string][]string
	// absent: local accounts removed; added: local accounts created;
	// disabled: local accounts disabled (Administrator and Guest are, by
	// default, as on Windows 10 and 11).
	absent, added, disabled map[string]bool
	baselineState
}

type svc struct {
	name string
	Service
}

func (h *Host) initChecks() {
	c := &h.checks
	c.services = map[string]*svc{}
	for n, s := range map[string]Service{
		"WinRM":     {"Windows Remote Management (WS-Management)", "Running", "Automatic"},
		"Spooler":   {"Print Spooler", "Running", "Automatic"},
		"WinDefend": {"Microsoft Defender Antivirus Service", "Running", "Automatic"},
		"mpssvc":    {"Windows Defender Firewall", "Running", "Automatic"},
		"wuauserv":  {"Windows Update", "Stopped", "Manual"},
		"BITS":      {"Background Intelligent Transfer Service", "Stopped", "Manual"},
	} {
		c.services[strings.ToLower(n)] = &svc{n, s}
	}
	for n, s := range h.cfg.Services {
		c.services[strings.ToLower(n)] = &svc{n, s}
	}
	c.hosts = map[string][]string{}
	for n, a := range h.cfg.Hosts {
		c.hosts[normName(n)] = slices.Clone(a)
	}
	c.absent, c.added = map[string]bool{}, map[string]bool{}
	c.disabled = map[string]bool{"administrator": true, "guest": true}
	h.initBaseline()
}

func normName(n string) string { return strings.ToLower(strings.TrimSuffix(n, ".")) }

// SetService installs or changes a service (Start-Service, Stop-Service,
// Set-Service -StartupType); an empty status removes it.
func (h *Host) SetService(name, status, startType string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := strings.ToLower(name)
	if status == "" {
		delete(h.checks.services, k)
		return
	}
	s := h.checks.services[k]
	if s == nil {
		s = &svc{name: name, Service: Service{DisplayName: name}}
		h.checks.services[k] = s
	}
	s.Status, s.StartType = status, startType
}

// SetHostsEntry maps a name to addresses in the hosts file; no addresses
// removes it.
func (h *Host) SetHostsEntry(name string, addrs ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(addrs) == 0 {
		delete(h.checks.hosts, normName(name))
		return
	}
	h.checks.hosts[normName(name)] = slices.Clone(addrs)
}

// SetLocalUser creates (present) or removes a local account, enabled or
// disabled, as New-LocalUser, Remove-LocalUser and Disable-LocalUser do.
func (h *Host) SetLocalUser(name string, present, enabled bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := strings.ToLower(name)
	h.checks.absent[k], h.checks.added[k], h.checks.disabled[k] = !present, present, !enabled
}

func localSID(name string) string {
	switch strings.ToLower(name) {
	case "administrator":
		return "S-1-5-21-1004336348-1177238915-682003330-500"
	case "guest":
		return "S-1-5-21-1004336348-1177238915-682003330-501"
	}
	f := fnv.New32a()
	_, _ = f.Write([]byte(strings.ToLower(name)))
	return fmt.Sprintf("S-1-5-21-1004336348-1177238915-682003330-%d", 1001+f.Sum32()%8999)
}

func domainSID(name string) string {
	f := fnv.New32a()
	_, _ = f.Write([]byte(strings.ToLower(name)))
	return fmt.Sprintf("S-1-5-21-3623811015-3361044348-30300820-%d", 1104+f.Sum32()%8999)
}

var groupSIDs = map[string]string{
	"administrators": "S-1-5-32-544", "users": "S-1-5-32-545", "guests": "S-1-5-32-546",
	"remote desktop users": "S-1-5-32-555", "remote management users": "S-1-5-32-580",
}

func (h *Host) resolveName(ctx context.Context, name string, timeout time.Duration) (addrs []string, errID, msg string) {
	h.mu.Lock()
	a, ok := h.checks.hosts[normName(name)]
	server := h.cfg.DNSServer
	h.mu.Unlock()
	if ok {
		return slices.Clone(a), "", ""
	}
	notFound := func() ([]string, string, string) {
		return nil, "DNS_ERROR_RCODE_NAME_ERROR", name + " : DNS name does not exist"
	}
	if server == "" || name == "" {
		return notFound()
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ips, err := r.LookupIPAddr(ctx, h.queryName(name))
	var de *net.DNSError
	switch {
	case err == nil:
		for _, ip := range ips {
			addrs = append(addrs, ip.IP.String())
		}
		return addrs, "", ""
	case errors.As(err, &de) && de.IsNotFound:
		return notFound()
	case errors.As(err, &de) && de.IsTimeout:
		return nil, "ERROR_TIMEOUT", name + " : This operation returned because the timeout period expired"
	}
	return nil, "WIN32 1460", name + " : " + err.Error()
}

// queryName is the absolute name the DNS client asks for name: with the
// DNS suffix appended to a single-label name (Windows' suffix search), and
// a final dot, so that the Go resolver never applies the search list of
// the machine winsim runs on.
func (h *Host) queryName(name string) string {
	n := strings.TrimSuffix(name, ".")
	if !strings.Contains(n, ".") && !strings.HasSuffix(name, ".") && h.cfg.DNSSuffix != "" {
		n += "." + strings.Trim(h.cfg.DNSSuffix, ".")
	}
	return n + "."
}

// opCheckDNS: {"addresses","error_id","error"}.
func opCheckDNS(v *inv) int {
	addrs, id, msg := v.h.resolveName(v.ctx, v.str("name"), 2*time.Second)
	if addrs == nil {
		addrs = []string{}
	}
	return v.result(field{"addresses", addrs}, field{"error_id", id}, field{"error", msg})
}

// opCheckTCP dials for real, from this machine: {"result","error"}.
func opCheckTCP(v *inv) int {
	host, port := v.str("host"), v.str("port")
	ms, _ := strconv.Atoi(v.str("timeout_ms"))
	timeout := time.Duration(max(ms, 1)) * time.Millisecond
	ip := host
	if net.ParseIP(host) == nil {
		addrs, _, _ := v.h.resolveName(v.ctx, host, timeout)
		if len(addrs) == 0 {
			return v.result(field{"result", "error"}, field{"error", "No such host is known"})
		}
		ip = addrs[0]
	}
	ctx, cancel := context.WithTimeout(v.ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, port))
	switch {
	case err == nil:
		_ = c.Close()
		return v.result(field{"result", "connected"}, field{"error", ""})
	case ctx.Err() != nil:
		return v.result(field{"result", "timeout"}, field{"error", ""})
	case strings.Contains(err.Error(), "connection refused"):
		return v.result(field{"result", "error"}, field{"error", "No connection could be made because the target machine actively refused it " + net.JoinHostPort(ip, port)})
	}
	return v.result(field{"result", "error"}, field{"error", "A connection attempt failed: " + err.Error()})
}

// opCheckService: {"found","name","display_name","status","start_type"}.
func opCheckService(v *inv) int {
	name := v.str("name")
	v.h.mu.Lock()
	s := v.h.checks.services[strings.ToLower(name)]
	var cp svc
	if s != nil {
		cp = *s
	}
	v.h.mu.Unlock()
	if s == nil {
		return v.result(field{"found", false}, field{"name", name}, field{"display_name", ""}, field{"status", ""}, field{"start_type", ""})
	}
	return v.result(field{"found", true}, field{"name", cp.name}, field{"display_name", cp.DisplayName}, field{"status", cp.Status}, field{"start_type", cp.StartType})
}

// opCheckUser: {"found","account","sid","enabled","groups"}; Translate
// resolves as LookupAccountName does (local accounts first, then the
// domain's, once joined).
func opCheckUser(v *inv) int {
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	m, perr := h.resolveLocked(v.str("name"))
	if perr != nil {
		if strings.Contains(perr.Message, "trust relationship") {
			return v.fail(&psError{Message: `Exception calling "Translate" with "1" argument(s): "` + perr.Message + `"`,
				Statement: "$sid = ([System.Security.Principal.NTAccount]$in.name).Translate([System.Security.Principal.SecurityIdentifier]).Value",
				Category:  "NotSpecified", Exception: "SystemException", ErrorID: "SystemException"})
		}
		return v.result(field{"found", false}, field{"account", ""}, field{"sid", ""}, field{"enabled", nil}, field{"groups", []string{}})
	}
	var sid string
	var enabled any
	switch {
	case m.scope == "":
		sid = localSID(m.name)
		enabled = !h.checks.disabled[strings.ToLower(m.name)]
	case strings.EqualFold(m.scope, "NT AUTHORITY"):
		sid = "S-1-5-" + strconv.Itoa(len(m.name))
	default:
		sid = domainSID(m.name)
	}
	groups := []string{}
	for _, g := range h.groups {
		if h.hasMemberLocked(g, m) {
			groups = append(groups, g.name)
		}
	}
	slices.Sort(groups)
	return v.result(field{"found", true}, field{"account", h.memberName(m)}, field{"sid", sid}, field{"enabled", enabled}, field{"groups", groups})
}

// opCheckGroup: {"found","sid","members"}.
func opCheckGroup(v *inv) int {
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[strings.ToLower(v.str("name"))]
	if g == nil || !strings.EqualFold(g.name, v.str("name")) {
		return v.result(field{"found", false}, field{"sid", ""}, field{"members", []string{}})
	}
	members := h.memberNamesLocked(g)
	if members == nil {
		members = []string{}
	}
	return v.result(field{"found", true}, field{"sid", groupSIDs[strings.ToLower(g.name)]}, field{"members", members})
}
