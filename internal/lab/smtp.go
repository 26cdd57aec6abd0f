package lab

import (
	"bufio"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SMTP is a real mail server on loopback for notification tests: Debian's
// aiosmtpd (python3-aiosmtpd), configured by the embedded smtpd.py. It
// offers submission with STARTTLS required (Port) and implicit TLS
// (TLSPort), both with a certificate of a lab CA naming 127.0.0.1 and
// ServerName, both requiring AUTH as User with the password in
// PasswordFile; every message lands in Maildir, with aiosmtpd's X-MailFrom
// and X-RcptTo headers giving its envelope. Like Postgres it is not part of
// a Lab: notification tests need a mail server, not workstations.
type SMTP struct {
	Addr         string // 127.0.0.1
	Port         int    // STARTTLS required before AUTH and MAIL
	TLSPort      int    // implicit TLS
	ServerName   string // the DNS name in the certificate
	CACertFile   string // the CA that signed the server's certificate
	User         string
	PasswordFile string // mode 0600, no trailing newline
	Maildir      string

	dir  string
	cmd  *exec.Cmd
	done chan error
}

//go:embed smtpd.py
var smtpdScript []byte

// smtpServerName is the name the server's certificate gives besides its address.
const smtpServerName = "smtp.corp.example.test"

// aiosmtpdModule is where Debian's python3-aiosmtpd installs the module
// Debian's python3 imports (a variable for the test of its absence).
var aiosmtpdModule = "/usr/lib/python3/dist-packages/aiosmtpd/__init__.py"

// StartSMTP starts a server whose files live in dir (created; removed by
// Stop). It returns once both listeners accept connections.
func StartSMTP(ctx context.Context, dir string) (*SMTP, error) {
	for _, p := range []struct{ file, pkg string }{{pythonPath, "python3"}, {aiosmtpdModule, "python3-aiosmtpd"}, {"/usr/bin/openssl", "openssl"}} {
		if _, err := os.Stat(p.file); err != nil {
			return nil, fmt.Errorf("%w: %s not found: install the Debian package %s (apt-get install -y %s; every package the lab needs is in internal/lab/packages.txt)",
				ErrPrerequisite, p.file, p.pkg, p.pkg)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &SMTP{Addr: "127.0.0.1", ServerName: smtpServerName, User: "onboard-notify", dir: dir,
		Maildir: filepath.Join(dir, "Maildir"), PasswordFile: filepath.Join(dir, "smtp.pw")}
	fail := func(err error) (*SMTP, error) {
		_ = s.Stop(context.Background())
		return nil, err
	}
	// The lab CA is made only for a lab with a directory server or Windows
	// hosts: a lab value with a directory asked for, that is never started,
	// gives this server a CA of its own in dir.
	ca := &Lab{cfg: Config{Name: "smtp", Dir: dir, OpenLDAP: true}}
	if err := (labCA{}).start(ctx, ca); err != nil {
		return fail(err)
	}
	cert, key, err := ca.issueCert(ctx, "smtp", s.Addr, smtpServerName)
	if err != nil {
		return fail(err)
	}
	s.CACertFile = ca.CACertFile()
	pw := make([]byte, 18)
	if _, err := rand.Read(pw); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(s.PasswordFile, []byte("Pw-"+hex.EncodeToString(pw)), 0o600); err != nil {
		return fail(err)
	}
	script := filepath.Join(dir, "smtpd.py")
	if err := os.WriteFile(script, smtpdScript, 0o600); err != nil {
		return fail(err)
	}
	if s.Port, err = freePort(); err != nil {
		return fail(err)
	}
	if s.TLSPort, err = freePort(); err != nil {
		return fail(err)
	}
	s.cmd = exec.Command(pythonPath, script, s.Addr, strconv.Itoa(s.Port), strconv.Itoa(s.TLSPort),
		cert, key, s.Maildir, s.User, s.PasswordFile)
	s.cmd.Env = append(append([]string(nil), cleanEnv...), "PYTHONDONTWRITEBYTECODE=1")
	// Its own process group, so a test's interrupt does not reach it first;
	// and killed with the process that started it, so nothing outlives a
	// test that died before its cleanup.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logf, err := os.OpenFile(filepath.Join(dir, "smtpd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	s.cmd.Stderr = logf
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := s.cmd.Start(); err != nil {
		return fail(fmt.Errorf("start aiosmtpd: %w", err))
	}
	s.done = make(chan error, 1)
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := sc.Scan() && sc.Text() == "ready"
		ready <- ok
		_, _ = io.Copy(io.Discard, out)
		s.done <- s.cmd.Wait()
	}()
	select {
	case ok := <-ready:
		if !ok {
			<-s.done
			s.cmd = nil
			log, _ := os.ReadFile(filepath.Join(dir, "smtpd.log"))
			return fail(fmt.Errorf("aiosmtpd did not start: %s", tail(string(log), 2000)))
		}
	case <-time.After(30 * time.Second):
		return fail(errors.New("aiosmtpd did not start within 30s"))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	return s, nil
}

// Password is the password of User.
func (s *SMTP) Password() (string, error) {
	b, err := os.ReadFile(s.PasswordFile)
	return string(b), err
}

// Stop ends the server (SIGTERM, then SIGKILL) and removes its files.
func (s *SMTP) Stop(ctx context.Context) error {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		case <-ctx.Done():
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		s.cmd = nil
	}
	return os.RemoveAll(s.dir)
}

// Mail is one delivered message as the Maildir holds it: the raw RFC 5322
// text, headers first (X-MailFrom and X-RcptTo are the envelope).
type Mail struct {
	File string
	Raw  []byte
}

// Messages returns every delivered message, oldest first.
func (s *SMTP) Messages() ([]Mail, error) {
	var out []Mail
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(s.Maildir, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			info, err := e.Info()
			if err != nil {
				return nil, err
			}
			files = append(files, file{filepath.Join(s.Maildir, sub, e.Name()), info.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mod.Equal(files[j].mod) {
			return files[i].mod.Before(files[j].mod)
		}
		return files[i].path < files[j].path
	})
	for _, f := range files {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, err
		}
		out = append(out, Mail{File: f.path, Raw: b})
	}
	return out, nil
}

// WaitMessages waits until at least n messages were delivered (or ctx ends)
// and returns them all.
func (s *SMTP) WaitMessages(ctx context.Context, n int) ([]Mail, error) {
	for {
		ms, err := s.Messages()
		if err != nil || len(ms) >= n {
			return ms, err
		}
		select {
		case <-ctx.Done():
			return ms, fmt.Errorf("%d of %d messages delivered: %w", len(ms), n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SMTPForTest starts a server for t and stops it when t ends. A missing
// package fails the test, naming it.
func SMTPForTest(t testing.TB) *SMTP {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "onboard-smtp-")
	if err != nil {
		t.Fatal(err)
	}
	s, err := StartSMTP(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start the lab SMTP server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop the lab SMTP server: %v", err)
		}
	})
	return s
}
