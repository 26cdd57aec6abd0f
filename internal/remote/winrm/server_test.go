package winrm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/lab/wsman"
	"onboard/internal/powershell"
	"onboard/internal/secret"
)

const (
	testUser     = "onboard"
	testPassword = "S3cret-pässword'!"
)

// testHost is the simulated Windows machine behind the wsman server: it
// runs command lines with sh, a few builtins, and the upload scripts (a
// tiny stand-in for powershell.exe that understands only win-upload).
type testHost struct {
	mu        sync.Mutex
	lines     []string    // every command line run
	cancelled chan string // command lines whose ctx was cancelled
	started   chan string // command lines started (buffered; dropped when full)
	// root is where the Windows drive C: lives for the upload scripts.
	root string
}

// local maps a Windows path on C: to the host's root.
func (h *testHost) local(p string) string {
	if len(p) < 3 || !strings.EqualFold(p[:3], `C:\`) {
		return filepath.Join(h.root, "not-on-c", filepath.Base(p))
	}
	return filepath.Join(h.root, filepath.FromSlash(strings.ReplaceAll(p[3:], `\`, "/")))
}

func newTestHost() *testHost {
	return &testHost{cancelled: make(chan string, 100), started: make(chan string, 100)}
}

func (h *testHost) Run(ctx context.Context, c wsman.Command) int {
	line := c.CommandLine
	if len(c.Args) > 0 {
		line += " " + strings.Join(c.Args, " ")
	}
	h.mu.Lock()
	h.lines = append(h.lines, line)
	h.mu.Unlock()
	select {
	case h.started <- line:
	default:
	}
	switch {
	case line == "noop":
		return 0
	case strings.HasPrefix(line, "hang"):
		// Silent until cancelled (Signal terminate, shell deleted).
		<-ctx.Done()
		h.cancelled <- line
		return 130
	case strings.HasPrefix(line, "powershell.exe "):
		return h.powershell(line, c)
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	cmd.WaitDelay = time.Second
	// A pipe fed by our own goroutine: Wait would wait for its own copy
	// of a stdin that a command which did not read it never ends.
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err == nil {
		go func() {
			_, _ = io.Copy(stdin, c.Stdin)
			stdin.Close()
		}()
		err = cmd.Wait()
	}
	if ctx.Err() != nil {
		h.cancelled <- line
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(c.Stderr, err)
		return 1
	}
	return 0
}

func (h *testHost) commandLines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lines...)
}

// powershell runs the scripts of package powershell that Upload sends,
// doing what their PowerShell does, with local paths.
func (h *testHost) powershell(line string, c wsman.Command) int {
	fail := func(format string, args ...any) int {
		// As powershell.exe reports a terminating error: CLIXML on stderr.
		msg := fmt.Sprintf(format, args...)
		fmt.Fprintf(c.Stderr, "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">%s_x000D__x000A_</S></Objs>", msg)
		return 1
	}
	script, err := powershell.DecodeCommand(line, nil)
	if err != nil {
		return fail("%v", err)
	}
	op, data, err := powershell.ParseScript(script)
	if err != nil {
		return fail("%v", err)
	}
	switch op {
	case opUpload:
		var ch uploadChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return fail("%v", err)
		}
		b, err := base64.StdEncoding.DecodeString(ch.Data)
		if err != nil {
			return fail("%v", err)
		}
		ch.Temp, ch.Path = h.local(ch.Temp), h.local(ch.Path)
		flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if ch.Append {
			flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		}
		err = func() error {
			f, err := os.OpenFile(ch.Temp, flag, 0o644)
			if err != nil {
				return err
			}
			_, err = f.Write(b)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil || !ch.Final {
				return err
			}
			st, err := os.Stat(ch.Temp)
			if err != nil {
				return err
			}
			if st.Size() != ch.Size {
				return fmt.Errorf("received %d of %d bytes", st.Size(), ch.Size)
			}
			return os.Rename(ch.Temp, ch.Path)
		}()
		if err != nil {
			os.Remove(ch.Temp)
			return fail("%v", err)
		}
		return 0
	case opUploadAbort:
		var d struct{ Temp string }
		if err := json.Unmarshal(data, &d); err != nil {
			return fail("%v", err)
		}
		os.Remove(h.local(d.Temp))
		return 0
	}
	return fail("the test host does not know op %s", op)
}

// testServer is a wsman server on 127.0.0.1.
type testServer struct {
	*wsman.Server
	host   *testHost
	addr   *net.TCPAddr
	https  bool
	caFile string // the CA that signed the server certificate
}

type serverOptions struct {
	https bool
	cfg   wsman.Config
}

// pki is a test CA and a server certificate for 127.0.0.1 signed by it.
type pki struct {
	caFile  string
	serverC tls.Certificate
	ca      *x509.Certificate
	caKey   *ecdsa.PrivateKey
}

// clientCert issues a client certificate and writes it and its key as PEM.
func (p pki) clientCert(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: testUser},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func newPKI(t testing.TB) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "onboard test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
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
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "ws1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return pki{caFile: caFile, serverC: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca: ca, caKey: caKey}
}

// startServer starts a wsman server with testUser; it is closed when the
// test ends.
func startServer(t testing.TB, o serverOptions) *testServer {
	t.Helper()
	if o.cfg.Users == nil {
		o.cfg.Users = map[string]string{testUser: testPassword}
	}
	s := &testServer{host: newTestHost(), https: o.https}
	s.host.root = t.TempDir()
	s.Server = wsman.New(o.cfg, s.host)
	t.Cleanup(func() { s.Close() })
	var tlsCfg *tls.Config
	if o.https {
		p := newPKI(t)
		s.caFile = p.caFile
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{p.serverC}}
	}
	addr, err := s.Listen(context.Background(), "127.0.0.1:0", tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = addr.(*net.TCPAddr)
	return s
}

// config is a client Config for s: HTTPS with the CA, or HTTP.
func (s *testServer) config(auth string) Config {
	return Config{
		Host:       "ws1",
		Address:    "127.0.0.1",
		Port:       s.addr.Port,
		HTTPS:      s.https,
		CACertFile: s.caFile,
		Auth:       auth,
		User:       testUser,
		Password:   secret.New(testPassword),
	}
}

func dial(t testing.TB, cfg Config) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// portOf is a free TCP port nobody listens on.
func closedPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// syncBuffer is a bytes.Buffer for logs written by many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
