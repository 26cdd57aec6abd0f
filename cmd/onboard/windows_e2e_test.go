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
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/result"
	"onboard/internal/winsim"
	"onboard/internal/wsman"
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
`

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
	const adminPW = "Winrm-Adm1n-pw!"
	srv := wsman.New(wsman.Config{Users: map[string]string{"onboard-admin": adminPW}, NTLM: true}, host)
	host.SetServer(srv)
	tlsCfg, caPEM := testTLS(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); host.Close(); srv.Close() })
	addr, err := host.Listen(ctx, "127.0.0.1:0", tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(e.dir, "winrm-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WIN1_PASSWORD", adminPW)
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
`, addr.(*net.TCPAddr).Port, caFile))
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
