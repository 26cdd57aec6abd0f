package main

// A Windows onboarding end to end: the onboard command, over WinRM (HTTPS
// with a verified CA, NTLM), against the lab's WS-Management server and its
// simulated Windows host, joined to the lab's real Samba AD DC. What only
// real Windows can prove is listed in docs/windows.md.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/lab"
	"onboard/internal/lab/winsim"
	"onboard/internal/lab/wsman"
	"onboard/internal/result"
)

// testTLS makes a CA and a server certificate for 127.0.0.1; it returns the
// server's TLS config and the CA's PEM.
func testTLS(t *testing.T) (*tls.Config, []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "onboard test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "win1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

const winHire = `person:
  employee_id: W1
  given_name: Wendy
  surname: O'Windows
  start_date: 2026-12-01
vars:
  motto: '$(New-Item -ItemType File -Path C:\canary) "quoted" ‘single’ “double” ` + "`n" + `; exit 3'
account:
  directory: corp-ad
  groups: [engineering]
  password: {deliver: "file:pw/W1.pw"}
machine:
  host: win1
  domain_join: {name: WS-WENDY, prestage: true}
  software: [office-win, crm-win, chat-win, notes-win]
  printers: [office-2f-win]
  default_printer: office-2f-win
  local_groups: [Remote Desktop Users]
  files:
    - path: 'C:\Acme\welcome.txt'
      content: "Welcome ${person.given_name}"
  commands:
    - name: workspace
      run: New-Item -ItemType Directory -Path 'C:\Work' -Force
      creates: 'C:\Work'
    - name: greeting
      run: Set-Content -LiteralPath C:\Work\hello.txt -Value "Hello, ${person.name} - ${vars.motto}" -NoNewline -Encoding UTF8
      unless: Test-Path -LiteralPath C:\Work\hello.txt
`

// winMotto is the motto of winHire: PowerShell syntax that must stay text.
const winMotto = "$(New-Item -ItemType File -Path C:\\canary) \"quoted\" ‘single’ “double” `n; exit 3"

func TestWindowsOnboarding(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	ad := labDir(t, l, "corp-ad")
	c := ldapAs(t, ad)

	// The simulated laptop: two MSIs (one asks for a reboot), a printer
	// share, and the domain's join account. At the reboot that completes
	// the join, the computer object in the real DC gets its DNS name, as
	// Windows' netlogon does.
	host := winsim.New(winsim.Config{
		ComputerName: "DESKTOP-7Q2K9",
		Domain: winsim.DomainConfig{Name: "corp.example.test", NetBIOS: "CORP",
			JoinUsers: map[string]string{"Administrator@corp.example.test": ad.BindPassword},
			OnJoin: func(name, ou string) error {
				r, err := c.Search(ldap.NewSearchRequest(ad.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
					"(sAMAccountName="+ldap.EscapeFilter(name)+"$)", []string{"dn"}, nil))
				if err != nil || len(r.Entries) != 1 {
					return fmt.Errorf("no computer object %s: %v", name, err)
				}
				m := ldap.NewModifyRequest(r.Entries[0].DN, nil)
				m.Replace("dNSHostName", []string{strings.ToLower(name) + ".corp.example.test"})
				return c.Modify(m)
			}},
		Packages: map[string]winsim.Package{
			"{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}": {Name: "Acme Office", Version: "7.3.0", ExitCode: 3010},
			"{11111111-2222-3333-4444-555555555555}": {Name: "Acme CRM", Version: "5.2.0"},
			"Acme.Chat":                              {Name: "Acme Chat", Version: "3.1.0"},  // winget
			"acme-notes":                             {Name: "acme-notes", Version: "2.0.1"}, // Chocolatey
		},
		Printers:   map[string]string{`\\print01\Office-2F`: "Microsoft IPP Class Driver"},
		RebootTime: 2 * time.Second,
	})
	port, caFile := startWinHost(t, e, host)
	e.write("inventory/windows.yaml", fmt.Sprintf(`hosts:
  win1:
    address: 127.0.0.1
    port: %d
    os: windows
    transport: winrm
    user: onboard-admin
    credential: env:WIN1_PASSWORD
    auth: ntlm
    ca_cert: %s
printers:
  office-2f-win:
    uri: ipp://print01/ipp/print
    connection: '\\print01\Office-2F'
    driver: Microsoft IPP Class Driver
software:
  office-win:
    windows: {manager: msi, source: '\\files\apps\AcmeOffice.msi', product_code: "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}", version: "7.3.0"}
  crm-win:
    windows: {manager: msi, source: 'https://files.corp.example.test/AcmeCRM.msi', product_code: "{11111111-2222-3333-4444-555555555555}", version: "5.2.0"}
  chat-win:
    windows: {manager: winget, package: Acme.Chat, version: "3.1.0"}
  notes-win:
    windows: {manager: choco, package: acme-notes, version: "2.0.1"}
`, port, caFile))
	pb := e.write("wendy.yaml", winHire)

	code, r, stderr := e.jsonRun(pb)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	if !r.Ready("W1") {
		t.Fatal("not ready for handover")
	}
	st := host.State()
	if !st.PartOfDomain || !strings.EqualFold(st.Domain, "corp.example.test") || st.ComputerName != "WS-WENDY" {
		t.Errorf("join: %+v", st)
	}
	if st.Reboots != 1 {
		t.Errorf("%d reboots, want exactly 1 (the join and the MSI's 3010 share one)", st.Reboots)
	}
	if len(st.Installed) != 4 || st.PendingReboot {
		t.Errorf("software: %v, pending reboot %v", st.Installed, st.PendingReboot)
	}
	if !strings.Contains(strings.Join(st.LocalGroups["Remote Desktop Users"], ","), `CORP\wowindows`) {
		t.Errorf("local group: %v", st.LocalGroups)
	}
	if len(st.PrinterConnections) != 1 || string(st.Files[`C:\Acme\welcome.txt`]) != "Welcome Wendy" {
		t.Errorf("printers %v, files %v", st.PrinterConnections, st.Files)
	}
	// A templated value in a command is data: it arrives as written and
	// its $(New-Item ...) does not run.
	if got, want := string(st.Files[`C:\Work\hello.txt`]), "\xEF\xBB\xBFHello, Wendy O'Windows - "+winMotto; got != want {
		t.Errorf("templated command wrote %q, want %q", got, want)
	}
	if _, ok := st.Files[`C:\canary`]; ok {
		t.Error("a templated value ran as code on Windows")
	}
	var manual []string
	for _, h := range r.Hires {
		manual = append(manual, h.Manual...)
	}
	if !strings.Contains(strings.Join(manual, "\n"), "default printer") {
		t.Errorf("the per-user default printer is not left to do by hand: %v", manual)
	}

	// The re-run changes nothing, and never reboots again.
	code, r, stderr = e.jsonRun(pb)
	if code != exitOK {
		t.Fatalf("re-run: exit %d: %s", code, stderr)
	}
	for _, s := range r.Steps {
		if s.Outcome != result.OK {
			t.Errorf("re-run: %s %s (%s)", s.ID, s.Outcome, s.Reason)
		}
	}
	if host.State().Reboots != 1 {
		t.Errorf("the re-run rebooted the machine")
	}
}

// startWinHost serves a simulated Windows host over WinRM (HTTPS with a test
// CA, NTLM) on loopback and returns its port and the CA file.
func startWinHost(t *testing.T, e *env, host *winsim.Host) (int, string) {
	t.Helper()
	srv := wsman.New(wsman.Config{Users: map[string]string{"onboard-admin": winAdminPW}, NTLM: true}, host)
	host.SetServer(srv)
	tlsCfg, caPEM := testTLS(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); host.Close(); srv.Close() })
	addr, err := host.Listen(ctx, "127.0.0.1:0", tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(e.dir, fmt.Sprintf("winrm-ca-%d.pem", addr.(*net.TCPAddr).Port))
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WIN1_PASSWORD", winAdminPW)
	return addr.(*net.TCPAddr).Port, caFile
}

const winAdminPW = "Winrm-Adm1n-pw!"

// An installer that hangs is killed at its timeout; a machine that does not
// come back from its reboot fails the run, naming it, within its timeout.
func TestWindowsFailures(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	host := winsim.New(winsim.Config{ComputerName: "WIN2",
		Packages: map[string]winsim.Package{
			"{22222222-3333-4444-5555-666666666666}": {Name: "Stuck", Version: "1.0", Hang: true},
			"{33333333-4444-5555-6666-777777777777}": {Name: "Needs reboot", Version: "2.0", ExitCode: 3010},
		},
		RebootTime: time.Second, NeverReturn: true})
	port, caFile := startWinHost(t, e, host)
	e.write("inventory/win2.yaml", fmt.Sprintf(`hosts:
  win2:
    address: 127.0.0.1
    port: %d
    os: windows
    transport: winrm
    user: onboard-admin
    credential: env:WIN1_PASSWORD
    ca_cert: %s
    reboot_timeout: 8s
software:
  stuck-win:
    windows: {manager: msi, source: 'C:\stuck.msi', product_code: "{22222222-3333-4444-5555-666666666666}", version: "1.0", timeout: 3s}
  reboot-win:
    windows: {manager: msi, source: 'C:\reboot.msi', product_code: "{33333333-4444-5555-6666-777777777777}", version: "2.0"}
`, port, caFile))
	pb := e.write("stan.yaml", `person: {employee_id: W2, given_name: Stan, surname: Stuck, start_date: 2026-12-01}
machine:
  host: win2
  software: [stuck-win, reboot-win]
`)
	start := time.Now()
	code, r, stderr := e.jsonRun("--retries", "0", pb)
	if code != exitFailed && code != exitUnreachable {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if took := time.Since(start); took > 60*time.Second {
		t.Errorf("the run took %s: the timeouts did not hold", took)
	}
	o := outcomes(r.Steps)
	var stuck, reboot *result.Failure
	for _, s := range r.Steps {
		switch s.ID {
		case "W2:win-software:stuck-win":
			stuck = s.Failure
		case "W2:reboot:win2":
			reboot = s.Failure
		}
	}
	if stuck == nil || !strings.Contains(stuck.Message, "timed out after 3s") {
		t.Errorf("the hung installer: %s %+v", o["W2:win-software:stuck-win"], stuck)
	}
	if len(host.State().Killed) == 0 {
		t.Errorf("the hung installer was not killed on the host: %+v", host.State())
	}
	if o["W2:win-software:reboot-win"] != result.Changed {
		t.Errorf("an independent install should complete: %v", o)
	}
	// The reboot depends on every install; the stuck one failed, so the
	// reboot is skipped and the host is not restarted in vain...
	if o["W2:reboot:win2"] != result.Skipped {
		t.Errorf("reboot after a failed install: %s", o["W2:reboot:win2"])
	}
	// ...until the stuck installer is dropped: then the host reboots and
	// never comes back.
	e.write("stan.yaml", `person: {employee_id: W2, given_name: Stan, surname: Stuck, start_date: 2026-12-01}
machine:
  host: win2
  software: [reboot-win]
`)
	start = time.Now()
	code, r, _ = e.jsonRun("--retries", "0", pb)
	if code == exitOK {
		t.Fatal("a host that never came back was reported ok")
	}
	for _, s := range r.Steps {
		if s.ID == "W2:reboot:win2" {
			reboot = s.Failure
		}
	}
	if reboot == nil || !strings.Contains(reboot.Message, "did not come back within 8s") || reboot.Host != "win2" {
		t.Errorf("the reboot failure: %+v", reboot)
	}
	if took := time.Since(start); took > 45*time.Second {
		t.Errorf("waited %s for a host with an 8s reboot timeout", took)
	}
}

// A Windows machine's checks run over WinRM at handover, each with what
// Windows said as evidence, and a check fails the run once the machine
// drifts (the print spooler stopped).
func TestWindowsChecks(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	host := winsim.New(winsim.Config{ComputerName: "WIN3", Users: map[string]string{"onboard-admin": winAdminPW},
		Hosts: map[string][]string{"intranet.corp.example.test": {"127.0.0.1"}}})
	port, caFile := startWinHost(t, e, host)
	e.write("inventory/win3.yaml", fmt.Sprintf(`hosts:
  win3:
    address: 127.0.0.1
    port: %d
    os: windows
    transport: winrm
    user: onboard-admin
    credential: env:WIN1_PASSWORD
    ca_cert: %s
`, port, caFile))
	pb := e.write("cora.yaml", fmt.Sprintf(`person: {employee_id: W3, given_name: Cora, surname: Checks, start_date: 2026-12-01}
machine:
  host: win3
checks:
  - name: intranet-name
    dns: {name: intranet.corp.example.test, addresses: [127.0.0.1]}
  - name: old-name-gone
    dns: {name: old.corp.example.test, resolves: false}
  - name: winrm-port
    tcp: {host: intranet.corp.example.test, port: %d}
  - name: spooler
    service: {name: Spooler, running: true, enabled: true}
  - name: admin-known
    user: {name: onboard-admin, groups: [Administrators]}
  - name: rdp-group
    group: {name: Remote Desktop Users}
`, port))
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK || !r.Ready("W3") {
		t.Fatalf("exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	want := map[string]string{
		"W3:check:intranet-name": "resolves to 127.0.0.1",
		"W3:check:old-name-gone": "DNS name does not exist",
		"W3:check:winrm-port":    "accepted a connection",
		"W3:check:spooler":       "Status Running, StartType Automatic",
		"W3:check:admin-known":   `WIN3\onboard-admin`,
		"W3:check:rdp-group":     "S-1-5-32-555",
	}
	seen := map[string]bool{}
	for _, s := range append(slices.Clone(r.Steps), r.Handover...) {
		if w, ok := want[s.ID]; ok {
			seen[s.ID] = true
			if s.Outcome != result.OK || !strings.Contains(s.Reason, w) {
				t.Errorf("%s: %s %q, want ok with %q", s.ID, s.Outcome, s.Reason, w)
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("check steps %v, want %v", seen, want)
	}

	host.SetService("Spooler", "Stopped", "Automatic")
	code, r, _ = e.jsonRun("--retries", "0", pb)
	if code == exitOK {
		t.Fatal("a stopped spooler passed")
	}
	failed := false
	for _, s := range append(slices.Clone(r.Steps), r.Handover...) {
		if s.ID != "W3:check:spooler" {
			continue
		}
		msg := s.Reason
		if s.Failure != nil {
			msg += " " + s.Failure.Message
		}
		if s.Outcome == result.Failed && strings.Contains(msg, "Status Stopped") {
			failed = true
		}
	}
	if !failed {
		t.Errorf("no failed spooler check naming Status Stopped: %+v", r.Steps)
	}
}

// A Windows machine's network checks against the lab's real services: its
// DNS server (winsim resolves through it, as a machine whose DNS server is
// the lab's does) and its HTTPS intranet with a certificate of the lab CA,
// which the machine trusts.
func TestWindowsChecksLabServices(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	caPEM, err := os.ReadFile(l.CACertFile())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("no lab CA certificate")
	}
	host := winsim.New(winsim.Config{ComputerName: "WIN4", DNSServer: l.DNSServer(), RootCAs: roots})
	port, caFile := startWinHost(t, e, host)
	e.write("inventory/win4.yaml", fmt.Sprintf(`hosts:
  win4:
    address: 127.0.0.1
    port: %d
    os: windows
    transport: winrm
    user: onboard-admin
    credential: env:WIN1_PASSWORD
    ca_cert: %s
`, port, caFile))
	intranet := lab.FQDN(lab.NameIntranet)
	write := func(checks string) string {
		return e.write("lina.yaml", `person: {employee_id: W4, given_name: Lina, surname: Lab, start_date: 2026-12-01}
machine:
  host: win4
checks:
`+checks)
	}
	pb := write(fmt.Sprintf(`  - name: intranet-name
    dns: {name: %[1]s}
  - name: intranet-port
    tcp: {host: %[1]s, port: %[2]d}
  - name: intranet-page
    http: {url: 'https://%[1]s%[3]s'}
  - name: intranet-missing-page
    http: {url: 'https://%[1]s%[4]s', status: 404}
`, intranet, lab.IntranetPort, lab.IntranetPath, lab.IntranetMissingPath))
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK || !r.Ready("W4") {
		t.Fatalf("exit %d: %s\n%+v\n%+v", code, stderr, r.Steps, r.Handover)
	}
	want := map[string]string{
		"W4:check:intranet-name":         intranet + " resolves to ",
		"W4:check:intranet-port":         "accepted a connection",
		"W4:check:intranet-page":         "answered 200; certificate subject CN=" + intranet,
		"W4:check:intranet-missing-page": "trusted by the host",
	}
	seen := map[string]bool{}
	for _, s := range append(slices.Clone(r.Steps), r.Handover...) {
		if w, ok := want[s.ID]; ok {
			seen[s.ID] = true
			t.Logf("%s: %s: %s", s.ID, s.Outcome, s.Reason)
			if s.Outcome != result.OK || !strings.Contains(s.Reason, w) {
				t.Errorf("%s: %s %q, want ok with %q", s.ID, s.Outcome, s.Reason, w)
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("check steps %v, want %v", seen, want)
	}

	// A name the lab's DNS does not serve fails, saying so.
	pb = write("  - name: no-such-name\n    dns: {name: no-such-host." + lab.Domain + "}\n")
	code, r, _ = e.jsonRun("--retries", "0", pb)
	if code == exitOK {
		t.Fatal("a name the DNS server does not serve passed")
	}
	failed := false
	for _, s := range append(slices.Clone(r.Steps), r.Handover...) {
		if s.ID == "W4:check:no-such-name" && s.Outcome == result.Failed && s.Failure != nil && strings.Contains(s.Failure.Message+s.Reason, "DNS name does not exist") {
			failed = true
		}
	}
	if !failed {
		t.Errorf("no failure naming the missing name: %+v", r.Steps)
	}
}
