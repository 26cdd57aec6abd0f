package wsman

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// testHost is a tiny simulated machine:
//
//	echo WORDS      WORDS and CRLF on stdout
//	err WORDS       WORDS and CRLF on stderr
//	exit N          exit code N
//	cat             stdin to stdout until End
//	sleep SECONDS   waits (cancellable), then "slept"
//	hang            waits for cancellation
//	big N           N bytes of output
//	whoami          the authenticated user
//	env NAME        a shell environment variable
//	powershell ... -EncodedCommand B64   "PS> " and the decoded script
//
// It records which commands saw their context cancelled.
type testHost struct {
	mu        sync.Mutex
	started   int
	cancelled chan string
}

func newTestHost() *testHost { return &testHost{cancelled: make(chan string, 100)} }

func (h *testHost) Run(ctx context.Context, c Command) int {
	h.mu.Lock()
	h.started++
	h.mu.Unlock()
	fields := strings.Fields(c.CommandLine)
	for _, a := range c.Args {
		fields = append(fields, strings.Fields(a)...)
	}
	if len(fields) == 0 {
		return 0
	}
	rest := strings.Join(fields[1:], " ")
	switch name := strings.ToLower(strings.TrimSuffix(fields[0], ".exe")); name {
	case "echo":
		fmt.Fprint(c.Stdout, rest+"\r\n")
	case "err":
		fmt.Fprint(c.Stderr, rest+"\r\n")
	case "exit":
		n, _ := strconv.Atoi(rest)
		return n
	case "cat":
		if _, err := io.Copy(c.Stdout, c.Stdin); err != nil {
			return 1
		}
	case "sleep":
		secs, _ := strconv.ParseFloat(rest, 64)
		select {
		case <-time.After(time.Duration(secs * float64(time.Second))):
			fmt.Fprint(c.Stdout, "slept\r\n")
		case <-ctx.Done():
			h.cancelled <- c.CommandLine
			return 130
		}
	case "hang":
		<-ctx.Done()
		h.cancelled <- c.CommandLine
		return 130
	case "big":
		n, _ := strconv.Atoi(rest)
		line := []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\n")
		for n > 0 {
			k := min(n, len(line))
			_, _ = c.Stdout.Write(line[:k])
			n -= k
		}
	case "whoami":
		fmt.Fprint(c.Stdout, c.User+"\r\n")
	case "env":
		fmt.Fprint(c.Stdout, c.Env[rest]+"\r\n")
	case "powershell":
		for i, f := range fields {
			if strings.EqualFold(f, "-EncodedCommand") && i+1 < len(fields) {
				script, err := decodePowerShell(fields[i+1])
				if err != nil {
					fmt.Fprintf(c.Stderr, "bad -EncodedCommand: %v\r\n", err)
					return 1
				}
				fmt.Fprint(c.Stdout, "PS> "+script+"\r\n")
				return 0
			}
		}
		fmt.Fprint(c.Stderr, "no -EncodedCommand\r\n")
		return 1
	default:
		fmt.Fprintf(c.Stderr, "'%s' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n", fields[0])
		return 1
	}
	return 0
}

// count returns how many commands the host has run.
func (h *testHost) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.started
}

func decodePowerShell(b64 string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", err
	}
	u := make([]uint16, len(raw)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(raw[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// waitCancelled waits for the host to report that a command saw its
// context cancelled.
func (h *testHost) waitCancelled(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case line := <-h.cancelled:
		return line
	case <-time.After(within):
		t.Fatalf("no command saw its context cancelled within %v", within)
		return ""
	}
}

// Accounts of the lab machine.
const (
	aliceUser = "alice"
	alicePass = "Alice-Pa55!"
	bobUser   = `LAB\bob`
	bobPass   = "b0b's secret"
)

// lab is a running server with its host and, for HTTPS, its CA.
type lab struct {
	srv    *Server
	host   *testHost
	https  bool
	port   int
	url    string
	caPEM  []byte
	caFile string
}

func startLab(t testing.TB, cfg Config, https bool) *lab {
	t.Helper()
	if cfg.Users == nil {
		cfg.Users = map[string]string{aliceUser: alicePass, bobUser: bobPass}
	}
	if cfg.Log == nil && testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	l := &lab{host: newTestHost(), https: https}
	l.srv = New(cfg, l.host)
	t.Cleanup(func() { _ = l.srv.Close() })
	var tlsConfig *tls.Config
	if https {
		var cert tls.Certificate
		l.caPEM, cert = newTestPKI(t)
		l.caFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(l.caFile, l.caPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	addr, err := l.srv.Listen(context.Background(), "127.0.0.1:0", tlsConfig)
	if err != nil {
		t.Fatal(err)
	}
	l.port = addr.(*net.TCPAddr).Port
	scheme := "http"
	if https {
		scheme = "https"
	}
	l.url = fmt.Sprintf("%s://127.0.0.1:%d/wsman", scheme, l.port)
	return l
}

// newTestPKI makes a CA and a server certificate for 127.0.0.1 and
// localhost signed by it.
func newTestPKI(t testing.TB) (caPEM []byte, server tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsman test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "winrm-lab"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTemplate, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
}
