package step

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/powershell"
	"onboard/internal/result"
)

// The check kinds on a Windows host: each sends one PowerShell script
// (values as $in data, never script text) that asks Windows' own cmdlets
// and prints one compact JSON object; the verdict and its evidence read as
// on Linux. The objects the scripts read are documented by Microsoft:
//   - Resolve-DnsName: https://learn.microsoft.com/powershell/module/dnsclient/resolve-dnsname
//     (DnsRecord_A/AAAA carry IPAddress; a missing name fails with
//     FullyQualifiedErrorId DNS_ERROR_RCODE_NAME_ERROR,...; no answer in
//     time with ERROR_TIMEOUT,...).
//   - TcpClient.ConnectAsync: https://learn.microsoft.com/dotnet/api/system.net.sockets.tcpclient.connectasync
//   - Get-Service: https://learn.microsoft.com/powershell/module/microsoft.powershell.management/get-service
//     (ServiceController.Status: Running, Stopped, StartPending, ...;
//     StartType: Automatic, Manual, Disabled, Boot, System).
//   - NTAccount.Translate: https://learn.microsoft.com/dotnet/api/system.security.principal.ntaccount.translate
//     (IdentityNotMappedException for an unknown account).
//   - Get-LocalGroup / Get-LocalGroupMember: https://learn.microsoft.com/powershell/module/microsoft.powershell.localaccounts/get-localgroup

// psCheckDNS resolves $in.name with the DNS client (the hosts file, the
// cache, then the configured servers). Resolve-DnsName has no time limit
// of its own: -QuickTimeout keeps it to one try per server.
const psCheckDNS = `$addrs = @()
$code = ''
$msg = ''
try {
    $addrs = @(Resolve-DnsName -Name $in.name -QuickTimeout -ErrorAction Stop | Where-Object { $_.IPAddress } | ForEach-Object { [string]$_.IPAddress })
} catch {
    $code = ([string]$_.FullyQualifiedErrorId).Split(',')[0]
    $msg = $_.Exception.Message
}
[pscustomobject]@{ addresses = $addrs; error_id = $code; error = $msg } | ConvertTo-Json -Compress
`

// psCheckTCP connects to $in.host:$in.port, waiting at most
// $in.timeout_ms; the innermost exception names the cause.
const psCheckTCP = `$client = New-Object -TypeName System.Net.Sockets.TcpClient
$result = 'connected'
$msg = ''
try {
    if (-not $client.ConnectAsync($in.host, [int]$in.port).Wait([int]$in.timeout_ms)) { $result = 'timeout' }
} catch {
    $result = 'error'
    $msg = $_.Exception.GetBaseException().Message
} finally {
    $client.Dispose()
}
[pscustomobject]@{ result = $result; error = $msg } | ConvertTo-Json -Compress
`

// psCheckService reads the service named exactly $in.name: Get-Service
// takes wildcards, so the name is escaped and the match is exact.
const psCheckService = `$svc = @(Get-Service -Name ([System.Management.Automation.WildcardPattern]::Escape($in.name)) -ErrorAction SilentlyContinue | Where-Object { $_.Name -eq $in.name })
if ($svc.Count -eq 0) {
    [pscustomobject]@{ found = $false; name = $in.name; display_name = ''; status = ''; start_type = '' } | ConvertTo-Json -Compress
} else {
    [pscustomobject]@{ found = $true; name = $svc[0].Name; display_name = $svc[0].DisplayName; status = [string]$svc[0].Status; start_type = [string]$svc[0].StartType } | ConvertTo-Json -Compress
}
`

// psCheckUser asks the machine whether it knows the account $in.name
// (a local account, or DOMAIN\name through the domain), and which local
// groups hold it.
const psCheckUser = `$sid = ''
$account = ''
try {
    $sid = ([System.Security.Principal.NTAccount]$in.name).Translate([System.Security.Principal.SecurityIdentifier]).Value
    $account = ([System.Security.Principal.SecurityIdentifier]$sid).Translate([System.Security.Principal.NTAccount]).Value
} catch {
    if ($_.Exception.GetBaseException() -isnot [System.Security.Principal.IdentityNotMappedException]) { throw }
}
$groups = @()
$enabled = $null
if ($sid -ne '') {
    $local = @(Get-LocalUser | Where-Object { $_.SID.Value -eq $sid })
    if ($local.Count -gt 0) { $enabled = [bool]$local[0].Enabled }
    foreach ($g in @(Get-LocalGroup)) {
        $members = @(Get-LocalGroupMember -Group $g -ErrorAction SilentlyContinue | Where-Object { $_.SID.Value -eq $sid })
        if ($members.Count -gt 0) { $groups += $g.Name }
    }
}
[pscustomobject]@{ found = ($sid -ne ''); account = $account; sid = $sid; enabled = $enabled; groups = $groups } | ConvertTo-Json -Compress
`

// psCheckGroup reads the local group named exactly $in.name.
const psCheckGroup = `$grp = @(Get-LocalGroup | Where-Object { $_.Name -eq $in.name })
$members = @()
if ($grp.Count -gt 0) { $members = @(Get-LocalGroupMember -Group $grp[0] -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.Name }) }
$sid = ''
if ($grp.Count -gt 0) { $sid = $grp[0].SID.Value }
[pscustomobject]@{ found = ($grp.Count -gt 0); sid = $sid; members = $members } | ConvertTo-Json -Compress
`

// ErrNotOnWindows: the check kind has no Windows implementation (command,
// file, package and printer read Linux tools).
var ErrNotOnWindows = errors.New("this check kind runs on Linux hosts only")

func msOf(d plan.Duration) int {
	return max(int(time.Duration(d)/time.Millisecond), 1)
}

// winCheckScript is the script a check sends to a Windows host.
func winCheckScript(c *plan.CheckSpec) (powershell.Script, error) {
	switch {
	case c.DNS != nil:
		return powershell.Script{Op: "check-dns", Body: psCheckDNS, Data: map[string]any{"name": c.DNS.Name}}, nil
	case c.TCP != nil:
		return powershell.Script{Op: "check-tcp", Body: psCheckTCP, Data: map[string]any{"host": c.TCP.Host, "port": c.TCP.Port, "timeout_ms": msOf(c.TCP.Timeout)}}, nil
	case c.Service != nil:
		return powershell.Script{Op: "check-service", Body: psCheckService, Data: map[string]any{"name": c.Service.Name}}, nil
	case c.User != nil:
		return powershell.Script{Op: "check-user", Body: psCheckUser, Data: map[string]any{"name": c.User.Name}}, nil
	case c.Group != nil:
		return powershell.Script{Op: "check-group", Body: psCheckGroup, Data: map[string]any{"name": c.Group.Name}}, nil
	case c.HTTP != nil:
		return winHTTPScript(c.HTTP), nil
	}
	return powershell.Script{}, fmt.Errorf("check %s: %w", c.Name, ErrNotOnWindows)
}

// winCheckKind runs one try of a check on a Windows host. A cmdlet the
// host lacks (PowerShell's CommandNotFoundException: "... is not recognized
// as the name of a cmdlet ...") makes the check one that cannot run, as a
// shell's exit 127 does on Linux.
func winCheckKind(ctx context.Context, x *Exec, c *plan.CheckSpec) (State, error) {
	if c.Login != nil {
		return winLoginCheck(ctx, x, c.Login)
	}
	st, err := winCheckTry(ctx, x, c)
	if st, ok := cmdletMissing(err); ok {
		return st, nil
	}
	return st, err
}

// cmdletMissing turns a script's failure on a missing command into the
// state of a check that cannot run.
func cmdletMissing(err error) (State, bool) {
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(ce.Stderr, "is not recognized as the name of a cmdlet") {
		return State{}, false
	}
	return State{CannotRun: true, Action: plan.ActionNone,
		Reason: "cannot run: a command it needs is not on the host (" + oneLine(Tail(ce.Stderr, 200)) + ")"}, true
}

func winCheckTry(ctx context.Context, x *Exec, c *plan.CheckSpec) (State, error) {
	if c.WindowsSecurity != nil {
		return winSecurityCheck(ctx, x, c.WindowsSecurity)
	}
	s, err := winCheckScript(c)
	if err != nil {
		return State{}, err
	}
	msg := "check " + c.Name
	switch {
	case c.DNS != nil:
		var r winDNS
		if _, err := x.psResult(ctx, msg, s, nil, &r); err != nil {
			return State{}, err
		}
		return winDNSVerdict(c.DNS, r), nil
	case c.TCP != nil:
		var r winTCP
		if _, err := x.psResult(ctx, msg, s, nil, &r); err != nil {
			return State{}, err
		}
		return winTCPVerdict(c.TCP, r), nil
	case c.Service != nil:
		var r winService
		if _, err := x.psResult(ctx, msg, s, nil, &r); err != nil {
			return State{}, err
		}
		return winServiceVerdict(c.Service, r), nil
	case c.HTTP != nil:
		var r winHTTP
		if _, err := x.psResult(ctx, msg, s, nil, &r); err != nil {
			return State{}, err
		}
		return winHTTPVerdict(c.HTTP, r)
	case c.User != nil:
		var r winUser
		if _, err := x.psResult(ctx, msg, s, nil, &r); err != nil {
			return State{}, err
		}
		return winUserVerdict(c.User, r), nil
	default:
		var r winGroup
		if _, err := x.psResult(ctx, msg, s, nil, &r); err != nil {
			return State{}, err
		}
		return winGroupVerdict(c.Group, r), nil
	}
}

type winDNS struct {
	Addresses []string `json:"addresses"`
	ErrorID   string   `json:"error_id"`
	Error     string   `json:"error"`
}

func winDNSVerdict(c *plan.DNSCheck, r winDNS) State {
	switch {
	case r.ErrorID == "DNS_ERROR_RCODE_NAME_ERROR":
		if !c.Resolves {
			return inPlace(c.Name + " does not resolve, as wanted (Resolve-DnsName: " + oneLine(r.Error) + ")").seen(noAddress)
		}
		return differs(c.Name + " does not resolve on the host (Resolve-DnsName: " + oneLine(r.Error) + ")").seen(noAddress)
	case r.ErrorID == "ERROR_TIMEOUT":
		return differs(c.Name + ": no answer from the host's DNS servers (Resolve-DnsName: " + oneLine(r.Error) + ")").seen(noAnswer)
	case r.ErrorID != "":
		return differs(fmt.Sprintf("%s: Resolve-DnsName failed (%s): %s", c.Name, r.ErrorID, oneLine(r.Error))).
			seen(fact("addresses", "none (Resolve-DnsName failed: "+r.ErrorID+")"))
	case len(r.Addresses) == 0:
		return differs(c.Name + " resolved to no address (Resolve-DnsName returned no A or AAAA record)").seen(noAddress)
	}
	var found []string
	for _, a := range r.Addresses {
		if !hasAddress(found, a) {
			found = append(found, a)
		}
	}
	return addressVerdict(c, found)
}

type winTCP struct {
	Result string `json:"result"`
	Error  string `json:"error"`
}

func winTCPVerdict(c *plan.TCPCheck, r winTCP) State {
	where := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	var seen string
	var ev result.Fact
	switch r.Result {
	case "connected":
		if c.Reachable {
			return inPlace(where + " accepted a connection from the host").seen(tcpAccepted)
		}
		return differs(where + " accepted a connection from the host, want it closed").seen(tcpAccepted)
	case "timeout":
		seen = fmt.Sprintf("%s did not answer within %s", where, time.Duration(c.Timeout))
		ev = tcpNoAnswer
	default:
		why := oneLine(Tail(r.Error, 200))
		seen = fmt.Sprintf("%s: no connection: %s", where, why)
		ev = fact("connection", "failed: "+why)
	}
	if c.Reachable {
		return differs(seen).seen(ev)
	}
	return inPlace(seen + ", as wanted").seen(ev)
}

type winService struct {
	Found       bool   `json:"found"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Status      string `json:"status"`
	StartType   string `json:"start_type"`
}

func winServiceVerdict(c *plan.ServiceCheck, r winService) State {
	if !r.Found {
		return differs(fmt.Sprintf("service %s is not installed on the host (Get-Service found none)", c.Name)).seen(fact("state", "not installed"))
	}
	var facts []result.Fact
	if c.Running != nil {
		facts = append(facts, fact("state", r.Status))
	}
	if c.Enabled != nil {
		facts = append(facts, fact("at boot", r.StartType))
	}
	running := r.Status == "Running"
	// Boot and System are drivers' start types: started with Windows.
	enabled := r.StartType == "Automatic" || r.StartType == "Boot" || r.StartType == "System"
	evidence := fmt.Sprintf("Get-Service %s (%s): Status %s, StartType %s", r.Name, r.DisplayName, r.Status, r.StartType)
	var bad, is []string
	if c.Running != nil {
		is = append(is, runWord(running))
		if running != *c.Running {
			bad = append(bad, fmt.Sprintf("%s is %s, want %s", c.Name, runWord(running), runWord(*c.Running)))
		}
	}
	if c.Enabled != nil {
		is = append(is, enableWord(enabled))
		if enabled != *c.Enabled {
			bad = append(bad, fmt.Sprintf("%s is %s, want %s", c.Name, enableWord(enabled), enableWord(*c.Enabled)))
		}
	}
	if len(bad) > 0 {
		return differs(strings.Join(bad, "; ") + " (" + evidence + ")").seen(facts...)
	}
	return inPlace(fmt.Sprintf("%s is %s (%s)", c.Name, strings.Join(is, " and "), evidence)).seen(facts...)
}

type winUser struct {
	Found   bool     `json:"found"`
	Account string   `json:"account"`
	SID     string   `json:"sid"`
	Enabled *bool    `json:"enabled"`
	Groups  []string `json:"groups"`
}

func winUserVerdict(c *plan.UserCheck, r winUser) State {
	if !r.Found {
		if !c.Exists {
			return inPlace("user " + c.Name + " does not exist, as wanted").seen(noSuchAccount)
		}
		return differs("user " + c.Name + " is not known to the host (no local or domain account of that name)").seen(noSuchAccount)
	}
	seen := fmt.Sprintf("user %s exists: %s, SID %s", c.Name, r.Account, r.SID)
	facts := []result.Fact{fact("exists", "yes"), fact("account", r.Account), fact("sid", r.SID)}
	if r.Enabled != nil {
		state := map[bool]string{true: "enabled", false: "disabled"}[*r.Enabled]
		seen += ", " + state
		facts = append(facts, fact("state", state))
	}
	groups := "none"
	if len(r.Groups) > 0 {
		groups = strings.Join(r.Groups, ", ")
	}
	seen += "; local groups " + groups
	facts = append(facts, fact("local groups", groups))
	if !c.Exists {
		return differs(seen + "; want no such user").seen(facts...)
	}
	var lack []string
	for _, g := range c.Groups {
		if !hasAddress(r.Groups, g) {
			lack = append(lack, g)
		}
	}
	if len(lack) > 0 {
		return differs(fmt.Sprintf("%s; not in %s", seen, strings.Join(lack, ", "))).seen(facts...)
	}
	return inPlace(seen).seen(facts...)
}

type winGroup struct {
	Found   bool     `json:"found"`
	SID     string   `json:"sid"`
	Members []string `json:"members"`
}

func winGroupVerdict(c *plan.GroupCheck, r winGroup) State {
	if !r.Found {
		if !c.Exists {
			return inPlace("group " + c.Name + " does not exist, as wanted").seen(noSuchAccount)
		}
		return differs("group " + c.Name + " does not exist on the host (Get-LocalGroup found none)").seen(noSuchAccount)
	}
	members := "none"
	if len(r.Members) > 0 {
		members = strings.Join(r.Members, ", ")
	}
	seen := fmt.Sprintf("group %s exists: SID %s, members %s", c.Name, r.SID, members)
	facts := []result.Fact{fact("exists", "yes"), fact("sid", r.SID), fact("members", members)}
	if !c.Exists {
		return differs(seen + "; want no such group").seen(facts...)
	}
	return inPlace(seen).seen(facts...)
}

// sampleWinChecks are one check of each Windows kind with hostile values
// (quotes of every kind PowerShell knows, $(), a backtick, a newline,
// wildcards): the golden scripts show them reaching $in as data.
func sampleWinChecks() []*plan.CheckSpec {
	const v = "o'brien ‘x’ $(calc) `n [*]\nnext"
	yes := true
	return []*plan.CheckSpec{
		{Name: "dns", DNS: &plan.DNSCheck{Name: v, Resolves: true, Timeout: plan.Duration(2 * time.Second)}},
		{Name: "tcp", TCP: &plan.TCPCheck{Host: v, Port: 587, Reachable: true, Timeout: plan.Duration(1500 * time.Millisecond)}},
		{Name: "service", Service: &plan.ServiceCheck{Name: v, Running: &yes}},
		{Name: "user", User: &plan.UserCheck{Name: `CORP\` + v, Exists: true}},
		{Name: "group", Group: &plan.GroupCheck{Name: v, Exists: true}},
		{Name: "http", HTTP: &plan.HTTPCheck{URL: "https://intranet.corp.example.test/" + v, Status: 200, Contains: []string{v}, Timeout: plan.Duration(10 * time.Second)}},
	}
}

// psCheckHTTP fetches $in.url once, without following redirects, within
// $in.timeout_ms. It uses HttpWebRequest, which Invoke-WebRequest
// -UseBasicParsing wraps in Windows PowerShell 5.1, for what the cmdlet
// hides: a non-2xx answer as a status rather than an error, no redirect
// followed, the server's certificate (ServicePoint.Certificate) and the
// certificate check's verdict (SslPolicyErrors, "None" when trusted). See
// https://learn.microsoft.com/dotnet/api/system.net.httpwebrequest and
// .../system.net.security.sslpolicyerrors. The body is read only when it
// is to be matched, at most 1 MiB.
const psCheckHTTP = `$res = [ordered]@{ status = 0; body = ''; error = ''; error_status = ''; subject = ''; issuer = ''; expires = ''; trust = '' }
$script:trust = ''
$script:insecure = [bool]$in.insecure
$req = [System.Net.HttpWebRequest]::Create([uri]$in.url)
$req.AllowAutoRedirect = $false
$req.Timeout = [int]$in.timeout_ms
$req.ReadWriteTimeout = [int]$in.timeout_ms
$req.UserAgent = 'onboard-check'
$req.ServerCertificateValidationCallback = { param($sender, $cert, $chain, $errors) $script:trust = [string]$errors; $script:insecure -or ($errors -eq [System.Net.Security.SslPolicyErrors]::None) }
$resp = $null
try {
    $resp = $req.GetResponse()
} catch [System.Net.WebException] {
    $resp = $_.Exception.Response
    if ($null -eq $resp) { $res.error = $_.Exception.Message; $res.error_status = [string]$_.Exception.Status }
}
if ($null -ne $resp) {
    $res.status = [int]$resp.StatusCode
    if ($in.read_body) {
        $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList $resp.GetResponseStream()
        $body = $reader.ReadToEnd()
        $reader.Dispose()
        if ($body.Length -gt 1048576) { $body = $body.Substring(0, 1048576) }
        $res.body = $body
    }
    $resp.Close()
}
$cert = $req.ServicePoint.Certificate
if ($null -ne $cert) { $res.subject = $cert.Subject; $res.issuer = $cert.Issuer; $res.expires = $cert.GetExpirationDateString() }
$res.trust = $script:trust
[pscustomobject]$res | ConvertTo-Json -Compress
`

func winHTTPScript(c *plan.HTTPCheck) powershell.Script {
	return powershell.Script{Op: "check-http", Body: psCheckHTTP, Data: map[string]any{
		"url": c.URL, "timeout_ms": msOf(c.Timeout), "insecure": c.Insecure, "read_body": len(c.Contains) > 0}}
}

type winHTTP struct {
	Status      int    `json:"status"`
	Body        string `json:"body"`
	Error       string `json:"error"`
	ErrorStatus string `json:"error_status"`
	Subject     string `json:"subject"`
	Issuer      string `json:"issuer"`
	Expires     string `json:"expires"`
	Trust       string `json:"trust"`
}

func winHTTPVerdict(c *plan.HTTPCheck, r winHTTP) (State, error) {
	var ev, trust string
	if r.Subject != "" {
		ev = fmt.Sprintf("certificate subject %s, issuer %s, expires %s", r.Subject, r.Issuer, r.Expires)
		if r.Trust == "None" {
			trust = "trusted by the host"
		} else if r.Trust != "" {
			trust = "not trusted by the host: " + r.Trust
		}
		if trust != "" {
			ev += ", " + trust
		}
	}
	facts := certFacts(r.Subject, r.Issuer, r.Expires, trust)
	with := func(s string) string {
		if ev != "" {
			s += "; " + ev
		}
		return s
	}
	if r.Status == 0 {
		if r.ErrorStatus == "Timeout" {
			return differs(with(fmt.Sprintf("%s: no answer within %s", c.URL, time.Duration(c.Timeout)))).
				seen(append([]result.Fact{fact("status", "no answer (timed out)")}, facts...)...), nil
		}
		return differs(with(fmt.Sprintf("%s: no answer: %s (%s)", c.URL, oneLine(r.Error), r.ErrorStatus))).
			seen(append([]result.Fact{fact("status", "no answer ("+r.ErrorStatus+")")}, facts...)...), nil
	}
	return answerVerdict(c, r.Status, r.Body, with, facts)
}
