package lab

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSMTP proves the lab's mail server: STARTTLS is required before AUTH,
// a wrong password is refused, the right one delivers to the Maildir over
// both STARTTLS and implicit TLS, and Stop leaves nothing behind.
func TestSMTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts aiosmtpd")
	}
	s := SMTPForTest(t)
	pw, err := s.Password()
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(s.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate")
	}
	tlsConf := &tls.Config{RootCAs: pool, ServerName: s.Addr}
	addr := net.JoinHostPort(s.Addr, strconv.Itoa(s.Port))

	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("a@example.test"); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("MAIL before STARTTLS: %v, want a refusal naming STARTTLS", err)
	}
	c.Close()

	send := func(c *smtp.Client, password, to string) error {
		if err := c.Auth(smtp.PlainAuth("", s.User, password, s.Addr)); err != nil {
			return err
		}
		if err := c.Mail("onboard@corp.example.test"); err != nil {
			return err
		}
		if err := c.Rcpt(to); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		_, _ = w.Write([]byte("Subject: hello " + to + "\r\n\r\nbody\r\n"))
		if err := w.Close(); err != nil {
			return err
		}
		return c.Quit()
	}
	starttls := func() *smtp.Client {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StartTLS(tlsConf); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := send(starttls(), pw+"x", "x@example.test"); err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("a wrong password: %v, want 535", err)
	}
	if err := send(starttls(), pw, "one@example.test"); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	conn, err := tls.Dial("tcp", net.JoinHostPort(s.Addr, strconv.Itoa(s.TLSPort)), tlsConf)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := smtp.NewClient(conn, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := send(c2, pw, "two@example.test"); err != nil {
		t.Fatalf("implicit TLS: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ms, err := s.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("%d messages, want 2", len(ms))
	}
	for i, to := range []string{"one@example.test", "two@example.test"} {
		m, err := mail.ReadMessage(bytes.NewReader(ms[i].Raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get("X-RcptTo"); got != to {
			t.Errorf("message %d: X-RcptTo %q, want %q", i, got, to)
		}
		if got := m.Header.Get("Subject"); got != "hello "+to {
			t.Errorf("message %d: Subject %q", i, got)
		}
	}

	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", s.dir, err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Errorf("the server still listens on %s after Stop", addr)
	}
}

// Without python3-aiosmtpd the error names the package to install, and
// nothing is made.
func TestSMTPWithoutPackage(t *testing.T) {
	saved := aiosmtpdModule
	aiosmtpdModule = "/nonexistent/aiosmtpd/__init__.py"
	t.Cleanup(func() { aiosmtpdModule = saved })
	dir := filepath.Join(t.TempDir(), "smtp")
	_, err := StartSMTP(context.Background(), dir)
	if !errors.Is(err, ErrPrerequisite) || !strings.Contains(err.Error(), "apt-get install -y python3-aiosmtpd") {
		t.Errorf("error %v, want a missing prerequisite naming python3-aiosmtpd", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was made", dir)
	}
}
