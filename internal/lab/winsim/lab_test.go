package winsim_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/directory"
	"onboard/internal/lab/winsim"
	"onboard/internal/lab/wsman"
	"onboard/internal/plan"
	"onboard/internal/powershell"
	"onboard/internal/remote"
	"onboard/internal/remote/winrm"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// The lab: a wsman server over HTTPS (a test CA) with NTLM, the simulated
// host behind it, and onboard's own WinRM client driving the real step
// kinds. Nothing is mocked on the Windows side.

const (
	winrmUser     = "onboard"
	winrmPassword = "Winrm-Pa55'!"
	joinUser      = "joiner"
	joinPassword  = "J0in-Pässword$`;'"
	domainName    = "corp.example.test"
)

type lab struct {
	host   *winsim.Host
	srv    *wsman.Server
	client *winrm.Client
	target *step.Target
	dir    *fakeDirectory
	port   int // the WinRM listener's: a port that answers
}

// startLab starts a host with cfg (its domain defaulted to the lab's).
func startLab(t *testing.T, cfg winsim.Config) *lab {
	t.Helper()
	if cfg.Domain.Name == "" {
		cfg.Domain.Name = domainName
	}
	if cfg.Domain.JoinUsers == nil {
		cfg.Domain.JoinUsers = map[string]string{joinUser + "@" + domainName: joinPassword}
	}
	fd := &fakeDirectory{computers: map[string]string{}}
	if cfg.Domain.OnJoin == nil {
		cfg.Domain.OnJoin = fd.onJoin
	}
	l := &lab{dir: fd}
	l.host = winsim.New(cfg)
	t.Cleanup(func() { l.host.Close() })
	l.srv = wsman.New(wsman.Config{Users: map[string]string{winrmUser: winrmPassword}, NTLM: true, ComputerName: cfg.ComputerName}, l.host)
	t.Cleanup(func() { l.srv.Close() })
	l.host.SetServer(l.srv)
	caFile, cert := newPKI(t)
	addr, err := l.host.Listen(context.Background(), "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.client, err = winrm.Dial(ctx, winrm.Config{
		Host: "win1", Address: "127.0.0.1", Port: addr.(*net.TCPAddr).Port, HTTPS: true, CACertFile: caFile,
		Auth: winrm.AuthNTLM, User: winrmUser, Password: secret.New(winrmPassword),
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { l.client.Close() })
	l.target = &step.Target{Host: &plan.Host{Name: "win1", OS: "windows", Transport: "winrm"}, Comm: l.client}
	l.port = addr.(*net.TCPAddr).Port
	return l
}

// script runs one of the step kinds' scripts with data (and stdin), as
// the step does, and returns its exit code, stdout and decoded stderr.
func (l *lab) script(t *testing.T, op string, data any, stdin string) (int, string, string) {
	t.Helper()
	s, ok := step.WindowsScripts()[op]
	if !ok {
		t.Fatalf("no script %s", op)
	}
	s.Data = data
	line, in := s.Command()
	if in != nil {
		stdin = string(in)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := remote.Cmd{Command: line, Stdout: &out, Stderr: &errb}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	code, err := l.client.Run(ctx, cmd)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return code, out.String(), powershell.DecodeCLIXML(errb.String())
}

// exec is one attempt of a host step (d: the directory, for the join).
func (l *lab) exec(d *step.DirTarget) *step.Exec { return &step.Exec{T: l.target, D: d} }

func (l *lab) dirTarget(password string) *step.DirTarget {
	return &step.DirTarget{
		Dir:          &plan.Directory{Name: "corp", Kind: "active-directory", Domain: domainName, JoinUser: joinUser},
		Client:       l.dir,
		JoinPassword: secret.New(password),
	}
}

// run runs a command line on the host.
func (l *lab) run(t *testing.T, line string) (int, string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code, err := l.client.Run(ctx, remote.Cmd{Command: line, Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String(), err
}

func kindOf(s *plan.Step) step.Kind { return step.Kinds[s.Kind] }

func check(t *testing.T, l *lab, d *step.DirTarget, s *plan.Step) step.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := kindOf(s).Check(ctx, l.exec(d), s)
	if err != nil {
		t.Fatalf("%s: check: %v", s.Kind, err)
	}
	t.Logf("%s: check: in place %v: %s", s.Kind, st.InPlace, st.Reason)
	return st
}

func apply(t *testing.T, l *lab, d *step.DirTarget, s *plan.Step, timeout time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	what, err := kindOf(s).Apply(ctx, l.exec(d), s)
	if err == nil {
		t.Logf("%s: apply: %s", s.Kind, what)
	} else {
		t.Logf("%s: apply: error: %v", s.Kind, err)
	}
	return what, err
}

// converge is the engine's path for a step: check, apply, then Verify (or
// check again), and the step must be in place.
func converge(t *testing.T, l *lab, d *step.DirTarget, s *plan.Step) string {
	t.Helper()
	if st := check(t, l, d, s); st.InPlace {
		t.Fatalf("%s: in place before apply: %s", s.Kind, st.Reason)
	}
	what, err := apply(t, l, d, s, 30*time.Second)
	if err != nil {
		t.Fatalf("%s: apply: %v", s.Kind, err)
	}
	if v, ok := kindOf(s).(step.Verifier); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := v.Verify(ctx, l.exec(d), s); err != nil {
			t.Fatalf("%s: verify: %v", s.Kind, err)
		}
		return what
	}
	if st := check(t, l, d, s); !st.InPlace {
		t.Fatalf("%s: not in place after apply: %s", s.Kind, st.Reason)
	}
	return what
}

// noDecoration fails if err keeps the position and category lines of a
// PowerShell error record.
func noDecoration(t *testing.T, what string, err error) {
	t.Helper()
	for _, d := range []string{"At line:", "CategoryInfo", "FullyQualifiedErrorId", "~~~"} {
		if strings.Contains(err.Error(), d) {
			t.Errorf("%s: the error keeps %q: %v", what, d, err)
		}
	}
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s: %q does not contain %q", what, got, w)
		}
	}
}

// fakeDirectory stands in for the AD domain controller: OnJoin records the
// computer objects the lab would create, FindComputer finds them. Only
// what WinJoin.Check calls is implemented.
type fakeDirectory struct {
	step.Directory
	mu        sync.Mutex
	computers map[string]string // upper-case name -> OU
	joins     []string
}

func (d *fakeDirectory) onJoin(name, ou string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.computers[strings.ToUpper(name)] = ou
	d.joins = append(d.joins, name+" in "+ou)
	return nil
}

func (d *fakeDirectory) FindComputer(_ context.Context, name string) (*directory.Computer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ou, ok := d.computers[strings.ToUpper(name)]
	if !ok {
		return nil, nil
	}
	return &directory.Computer{DN: "CN=" + name + "," + ou, Name: strings.ToUpper(name), Enabled: true}, nil
}

// newPKI makes a CA (written to a file for the client) and a server
// certificate for 127.0.0.1 signed by it.
func newPKI(t *testing.T) (caFile string, server tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "winsim test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "win1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
