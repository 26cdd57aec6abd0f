// Command winhost is the lab's simulated Windows workstation: a winsim host
// behind a wsman server, serving WinRM over HTTPS (NTLM) until killed. The
// lab builds it from the module's sources into its cache folder and runs it
// as a daemon in the host's own network namespace (see internal/lab's
// windows.go); it is not meant to be run by hand.
//
//	winhost CONFIG.json
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/lab/winsim"
	"onboard/internal/lab/wsman"
)

// Config is the daemon's configuration, written by the lab as JSON.
type Config struct {
	ComputerName string
	Listen       string // "10.213.N.31:5986"
	CertFile     string
	KeyFile      string
	User         string
	PasswordFile string
	Packages     map[string]winsim.Package
	Printers     map[string]string
	// Domain: empty for a workgroup lab.
	Domain           string
	JoinUser         string // "Administrator@corp.example.test"
	JoinPasswordFile string
	LDAPURL          string // the DC's LDAPS URL, for OnJoin
	BaseDN           string
	CACertFile       string
	// The network a domain member gets: the lab's DNS server ("ip:53")
	// and suffix, and the lab CA among the trusted roots (as a domain's
	// group policy deploys an enterprise CA).
	DNSServer  string
	DNSSuffix  string
	RootCAFile string
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	if len(os.Args) != 2 {
		log.Fatal("usage: winhost CONFIG.json")
	}
	if err := run(os.Args[1]); err != nil {
		log.Fatal(err)
	}
}

func readPW(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func run(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	pw, err := readPW(cfg.PasswordFile)
	if err != nil {
		return err
	}
	wcfg := winsim.Config{
		ComputerName: cfg.ComputerName,
		Users:        map[string]string{cfg.User: pw},
		Packages:     cfg.Packages,
		Printers:     cfg.Printers,
		RebootTime:   2 * time.Second,
		DNSServer:    cfg.DNSServer,
		DNSSuffix:    cfg.DNSSuffix,
	}
	if cfg.RootCAFile != "" {
		if wcfg.RootCAs, err = rootCAs(cfg.RootCAFile); err != nil {
			return err
		}
	}
	if cfg.Domain != "" {
		joinPW, err := readPW(cfg.JoinPasswordFile)
		if err != nil {
			return err
		}
		wcfg.Domain = winsim.DomainConfig{
			Name:      cfg.Domain,
			JoinUsers: map[string]string{cfg.JoinUser: joinPW},
			OnJoin: func(name, _ string) error {
				return setDNSHostName(cfg, joinPW, name)
			},
			Logon: func(ctx context.Context, user, password string) error {
				return logon(ctx, cfg, user, password)
			},
			LookupUser: func(name string) (bool, error) {
				return lookupAccount(cfg, joinPW, name)
			},
		}
	}
	host := winsim.New(wcfg)
	srv := wsman.New(wsman.Config{Users: map[string]string{cfg.User: pw}, NTLM: true, ComputerName: cfg.ComputerName}, host)
	host.SetServer(srv)
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr, err := host.Listen(ctx, cfg.Listen, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return err
	}
	log.Printf("%s: WinRM over HTTPS on %s", cfg.ComputerName, addr)
	<-ctx.Done()
	host.Close()
	srv.Close()
	return nil
}

// rootCAs is this machine's trust store with the certificates of file
// added.
func rootCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("trusted roots: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("trusted roots: no certificate in %s", file)
	}
	return pool, nil
}

// dialDC connects to the domain controller over LDAPS, trusting the lab CA.
func dialDC(cfg Config) (*ldap.Conn, error) {
	pem, err := os.ReadFile(cfg.CACertFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	u, _ := strings.CutPrefix(cfg.LDAPURL, "ldaps://")
	hostOnly, _, _ := net.SplitHostPort(u)
	c, err := ldap.DialURL(cfg.LDAPURL, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}),
		ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: hostOnly, MinVersion: tls.VersionTLS12}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(10 * time.Second)
	return c, nil
}

// logon asks the domain controller whether user may sign in with
// password, as a domain member's LogonUser does over its secure channel:
// here a simple bind as user@domain over LDAPS, whose refusal carries the
// Win32 error (AD's "data 533" for a disabled account, 773 for a password
// that must be changed...). Neither the password nor the DC's answer to it
// is logged.
func logon(ctx context.Context, cfg Config, user, password string) error {
	if password == "" {
		// An empty password is an unauthenticated bind in LDAP: never a sign-in.
		return &winsim.LogonError{Code: winsim.ErrorLogonFailure}
	}
	c, err := dialDC(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	err = c.Bind(user+"@"+cfg.Domain, password)
	if err == nil {
		return nil
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		if le, ok := winsim.ADLogonError(err.Error()); ok {
			return le
		}
		return &winsim.LogonError{Code: winsim.ErrorLogonFailure}
	}
	return err
}

// lookupAccount says whether the domain has an account (user, group or
// computer) of that sAMAccountName, as a member's name translation asks
// its DC.
func lookupAccount(cfg Config, joinPW, name string) (bool, error) {
	c, err := dialDC(cfg)
	if err != nil {
		return false, err
	}
	defer c.Close()
	if err := c.Bind(cfg.JoinUser, joinPW); err != nil {
		return false, err
	}
	r, err := c.Search(ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 10, false,
		"(sAMAccountName="+ldap.EscapeFilter(name)+")", []string{"1.1"}, nil))
	if err != nil {
		return false, err
	}
	return len(r.Entries) == 1, nil
}

// setDNSHostName gives the joined computer's object in the DC its DNS
// name, as Windows' netlogon does after the join's reboot.
func setDNSHostName(cfg Config, joinPW, name string) error {
	c, err := dialDC(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Bind(cfg.JoinUser, joinPW); err != nil {
		return err
	}
	r, err := c.Search(ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName="+ldap.EscapeFilter(name)+"$)", []string{"dn"}, nil))
	if err != nil || len(r.Entries) != 1 {
		return fmt.Errorf("no computer object %s: %v", name, err)
	}
	m := ldap.NewModifyRequest(r.Entries[0].DN, nil)
	m.Replace("dNSHostName", []string{strings.ToLower(name) + "." + strings.ToLower(cfg.Domain)})
	if err := c.Modify(m); err != nil {
		return err
	}
	log.Printf("join: %s: dNSHostName set", name)
	return nil
}
