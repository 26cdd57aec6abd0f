package ssh

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"onboard/internal/remote"
	"onboard/internal/secret"
	"onboard/internal/shell"
)

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

type result struct {
	code           int
	stdout, stderr string
	err            error
}

func run(t testing.TB, c *Client, command string, stdin io.Reader) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code, err := c.Run(ctx, remote.Cmd{Command: command, Stdin: stdin, Stdout: &out, Stderr: &errb})
	return result{code, out.String(), errb.String(), err}
}

func TestRunOutputAndExitCode(t *testing.T) {
	s := startSSHD(t)
	for _, perCommand := range []bool{false, true} {
		cfg := s.config()
		cfg.SessionPerCommand = perCommand
		t.Run(fmt.Sprintf("session per command %v", perCommand), func(t *testing.T) {
			testRunOutputAndExitCode(t, dial(t, cfg))
		})
	}
}

func testRunOutputAndExitCode(t *testing.T, c *Client) {
	tests := []struct {
		name, command  string
		code           int
		stdout, stderr string
	}{
		{"success", "echo hello", 0, "hello\n", ""},
		{"stderr and exit code", "echo out; echo err >&2; exit 3", 3, "out\n", "err\n"},
		{"command not found", "no-such-command-onboard", 127, "", "not found"},
		{"quoted argument", "printf '%s|' " + shell.Join("a b", "it's", "$HOME"), 0, "a b|it's|$HOME|", ""},
		{"killed by a signal", "kill -KILL $$", 137, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, c, tt.command, nil)
			if r.err != nil {
				t.Fatalf("Run: %v", r.err)
			}
			if r.code != tt.code || r.stdout != tt.stdout || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("got code %d stdout %q stderr %q; want %d %q %q", r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestRunStdin(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	r := run(t, c, "tr a-z A-Z", strings.NewReader("hello\nworld"))
	if r.err != nil || r.code != 0 || r.stdout != "HELLO\nWORLD" {
		t.Fatalf("got %+v", r)
	}
	// Nil stdin: the command sees EOF at once instead of waiting.
	r = run(t, c, "cat; echo done", nil)
	if r.err != nil || r.stdout != "done\n" {
		t.Fatalf("nil stdin: got %+v", r)
	}
	// A command that exits without reading a stdin that never ends.
	pr, pw := io.Pipe()
	defer pw.Close()
	r = run(t, c, "echo early", pr)
	if r.err != nil || r.stdout != "early\n" {
		t.Fatalf("unread stdin: got %+v", r)
	}
	// Large stdin round trip.
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	r = run(t, c, "wc -c", strings.NewReader(big))
	if r.err != nil || strings.TrimSpace(r.stdout) != fmt.Sprint(len(big)) {
		t.Fatalf("1 MiB stdin: got %+v", r)
	}
}

func TestRunConcurrentOneConnection(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := run(t, c, fmt.Sprintf("sleep 0.05; echo %d", i), nil)
			if r.err != nil || r.code != 0 || r.stdout != fmt.Sprintf("%d\n", i) {
				errs <- fmt.Errorf("run %d: code %d out %q err %v", i, r.code, r.stdout, r.err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d := c.dials.Load(); d != 1 {
		t.Errorf("%d connections made, want 1", d)
	}
}

func TestUpload(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	ctx := context.Background()
	dir := t.TempDir()
	dst := filepath.Join(dir, "it's a file.conf")

	if err := c.Upload(ctx, dst, strings.NewReader("first\n"), 0o640, false); err != nil {
		t.Fatal(err)
	}
	st1 := checkFile(t, dst, "first\n", 0o640)

	// Replace: a new inode renamed over the old one, nothing left behind.
	if err := c.Upload(ctx, dst, bytes.NewBufferString("second\n"), 0o600, true); err != nil {
		t.Fatal(err)
	}
	st2 := checkFile(t, dst, "second\n", 0o600)
	if st1.Sys().(*syscall.Stat_t).Ino == st2.Sys().(*syscall.Stat_t).Ino {
		t.Error("replaced in place, not renamed over")
	}

	// From a file, and from a reader of unknown length; binary content.
	bin := make([]byte, 300_000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, bin, 0o600)
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := c.Upload(ctx, dst, f, 0o4755, false); err != nil {
		t.Fatal(err)
	}
	checkFile(t, dst, string(bin), 0o755|os.ModeSetuid)
	if err := c.Upload(ctx, dst, io.MultiReader(strings.NewReader("a"), strings.NewReader("b")), 0o644, false); err != nil {
		t.Fatal(err)
	}
	checkFile(t, dst, "ab", 0o644)
	if err := c.Upload(ctx, dst, nil, 0o644, false); err != nil {
		t.Fatal(err)
	}
	checkFile(t, dst, "", 0o644)

	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	// A short stream (fewer bytes than announced) never replaces the file.
	code, err := c.Run(ctx, remote.Cmd{
		Command: "sh -c " + shell.Quote(uploadScript(dst, 10, 0o644, "", "")),
		Stdin:   strings.NewReader("short"),
	})
	if err != nil || code == 0 {
		t.Fatalf("short stream: code %d err %v, want a failure", code, err)
	}
	checkFile(t, dst, "", 0o644)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left after a failed upload: %v", entries)
	}

	// A missing directory is an error naming the host and the path.
	err = c.Upload(ctx, filepath.Join(dir, "missing", "f"), strings.NewReader("x"), 0o644, false)
	if err == nil || !strings.Contains(err.Error(), "ws1") || !strings.Contains(err.Error(), "missing/f") {
		t.Errorf("upload into a missing directory: %v", err)
	}
}

func checkFile(t *testing.T, path, content string, mode os.FileMode) os.FileInfo {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != content {
		t.Errorf("%s: content %.40q, want %.40q", path, b, content)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode() != mode {
		t.Errorf("%s: mode %v, want %v", path, st.Mode(), mode)
	}
	return st
}

func TestChmodMode(t *testing.T) {
	for mode, want := range map[os.FileMode]string{
		0o644:                                 "0644",
		0o600:                                 "0600",
		0o755 | os.ModeSetuid:                 "4755",
		0o775 | os.ModeSetgid:                 "2775",
		0o777 | os.ModeSticky:                 "1777",
		0o640 | os.ModeDir | os.ModeIrregular: "0640",
		0o4755:                                "4755",
	} {
		if got := chmodMode(mode); got != want {
			t.Errorf("chmodMode(%v) = %s, want %s", mode, got, want)
		}
	}
}

func TestHostKeyUnknownRefusedThenAccepted(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	known := filepath.Join(t.TempDir(), "ssh", "known_hosts") // does not exist yet
	cfg.KnownHosts = []string{known}

	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, remote.ErrHostKey) || remote.IsTransient(err) {
		t.Fatalf("unknown host: %v, want ErrHostKey", err)
	}
	msg := err.Error()
	fpEd, fpEC := xssh.FingerprintSHA256(s.ed25519.PublicKey()), xssh.FingerprintSHA256(s.ecdsa.PublicKey())
	for _, want := range []string{"ws1 (127.0.0.1:", "unknown host key", "--accept-new-host-key", known} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if !strings.Contains(msg, fpEd) && !strings.Contains(msg, fpEC) {
		t.Errorf("message %q shows neither host key fingerprint", msg)
	}
	if _, err := os.Stat(known); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("known_hosts written without consent: %v", err)
	}

	cfg.AcceptNewHostKey = true
	c := dial(t, cfg)
	if r := run(t, c, "true", nil); r.err != nil {
		t.Fatal(r.err)
	}
	b, err := os.ReadFile(known)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], fmt.Sprintf("[127.0.0.1]:%d ", s.port)) {
		t.Fatalf("known_hosts after accepting: %q", b)
	}

	// Now known: no flag needed.
	cfg.AcceptNewHostKey = false
	dial(t, cfg)
	if b2, _ := os.ReadFile(known); !bytes.Equal(b, b2) {
		t.Errorf("known_hosts changed again: %q", b2)
	}
}

func TestHostKeyChangedAlwaysRefused(t *testing.T) {
	s := startSSHD(t)
	other, _ := newEd25519(t)
	known := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{s.addr()}, other.PublicKey()) + "\n"
	writeFile(t, known, []byte(line), 0o600)
	cfg := s.config()
	cfg.KnownHosts = []string{known}
	cfg.AcceptNewHostKey = true

	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, remote.ErrHostKey) || remote.IsTransient(err) {
		t.Fatalf("changed key: %v, want ErrHostKey", err)
	}
	for _, want := range []string{
		"ws1 (127.0.0.1:", "REMOTE HOST KEY CHANGED", "man-in-the-middle",
		xssh.FingerprintSHA256(other.PublicKey()), xssh.FingerprintSHA256(s.ed25519.PublicKey()),
		known + ":1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if b, _ := os.ReadFile(known); string(b) != line {
		t.Errorf("known_hosts changed: %q", b)
	}
}

func TestHostKeyEd25519Only(t *testing.T) {
	s := startSSHD(t)
	known := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, known, []byte(knownhosts.Line([]string{s.addr()}, s.ed25519.PublicKey())+"\n"), 0o600)

	// The pitfall is real: plain knownhosts with Go's default algorithm
	// order meets the ECDSA key and calls it a mismatch.
	cb, err := knownhosts.New(known)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := xssh.ParsePrivateKey([]byte(s.userKey.Reveal()))
	_, err = xssh.Dial("tcp", s.addr(), &xssh.ClientConfig{User: "root", Auth: []xssh.AuthMethod{xssh.PublicKeys(signer)}, HostKeyCallback: cb})
	if err == nil || !strings.Contains(err.Error(), "key mismatch") {
		t.Fatalf("expected the algorithm pitfall to show without the fix, got %v", err)
	}

	cfg := s.config()
	cfg.KnownHosts = []string{known}
	c := dial(t, cfg)
	if r := run(t, c, "true", nil); r.err != nil || r.code != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestHostKeysInConfig(t *testing.T) {
	s := startSSHD(t)
	bare := strings.TrimSpace(string(xssh.MarshalAuthorizedKey(s.ed25519.PublicKey())))
	for name, lines := range map[string][]string{
		"bare key":           {bare},
		"known_hosts line":   {fmt.Sprintf("[127.0.0.1]:%d %s", s.port, bare)},
		"comment and blanks": {"# ws1", "", bare},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := s.config()
			cfg.KnownHosts = nil
			cfg.HostKeys = lines
			dial(t, cfg)
		})
	}
	cfg := s.config()
	cfg.KnownHosts, cfg.HostKeys = nil, []string{"ssh-ed25519 not-base64"}
	if _, err := Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "host key 1") {
		t.Errorf("bad host key line: %v", err)
	}
	// A changed key given in the configuration is named as such.
	other, _ := newEd25519(t)
	cfg.HostKeys = []string{strings.TrimSpace(string(xssh.MarshalAuthorizedKey(other.PublicKey())))}
	if _, err := Dial(context.Background(), cfg); !errors.Is(err, remote.ErrHostKey) || !strings.Contains(err.Error(), "(configured host keys)") {
		t.Errorf("changed configured key: %v", err)
	}
	// A key for another address does not vouch for this one.
	cfg.HostKeys = []string{"10.9.9.9 " + bare}
	if _, err := Dial(context.Background(), cfg); !errors.Is(err, remote.ErrHostKey) {
		t.Errorf("key of another host: %v, want ErrHostKey", err)
	}
}

func TestAuthFailures(t *testing.T) {
	s := startSSHD(t)
	_, wrongPEM := newEd25519(t)
	cfg := s.config()
	cfg.PrivateKey = secret.New(string(wrongPEM))
	cfg.Password = secret.New("not-the-password-1234")
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, remote.ErrAuth) || remote.IsTransient(err) {
		t.Fatalf("wrong key: %v, want ErrAuth", err)
	}
	for _, want := range []string{"ws1 (127.0.0.1:", "login as root refused", "private key ssh-ed25519 SHA256:", "password"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "not-the-password") || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("message leaks a secret: %q", err)
	}

	cfg = s.config()
	cfg.PrivateKey = secret.Value{}
	if _, err := Dial(context.Background(), cfg); !errors.Is(err, remote.ErrAuth) || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("no credentials: %v", err)
	}
	cfg.UseAgent = true
	t.Setenv("SSH_AUTH_SOCK", filepath.Join(t.TempDir(), "none"))
	if _, err := Dial(context.Background(), cfg); !errors.Is(err, remote.ErrAuth) || !strings.Contains(err.Error(), "agent (unreachable") {
		t.Errorf("unreachable agent: %v", err)
	}
}

func TestEncryptedKey(t *testing.T) {
	s := startSSHD(t)
	priv, err := xssh.ParseRawPrivateKey([]byte(s.userKey.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	block, err := xssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.config()
	cfg.PrivateKey = secret.New(string(pem.EncodeToMemory(block)))
	if _, err := Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "no passphrase") {
		t.Errorf("encrypted key without passphrase: %v", err)
	}
	cfg.Passphrase = secret.New("wrong horse")
	if _, err := Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("wrong passphrase: %v", err)
	}
	cfg.Passphrase = secret.New("correct horse")
	dial(t, cfg)
}

func TestAgentAuth(t *testing.T) {
	s := startSSHD(t)
	priv, err := xssh.ParseRawPrivateKey([]byte(s.userKey.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = agent.ServeAgent(keyring, conn); conn.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	cfg := s.config()
	cfg.PrivateKey = secret.Value{}
	cfg.UseAgent = true
	c := dial(t, cfg)
	if r := run(t, c, "true", nil); r.err != nil {
		t.Fatal(r.err)
	}
	// Key first, agent second: a wrong key does not stop the agent's key.
	_, wrongPEM := newEd25519(t)
	cfg.PrivateKey = secret.New(string(wrongPEM))
	dial(t, cfg)
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // now closed: connection refused

	_, err = Dial(context.Background(), Config{Host: "ws1", Address: "127.0.0.1", Port: port, User: "root", Password: secret.New("x-unused-pw")})
	if !errors.Is(err, remote.ErrUnreachable) || !remote.IsTransient(err) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("closed port: %v, want ErrUnreachable", err)
	}
	want := fmt.Sprintf("ws1 (127.0.0.1:%d): connect: connection refused: host unreachable", port)
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}

	// A listener that never answers the SSH banner: the dial timeout holds.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	_, err = Dial(context.Background(), Config{
		Host: "ws1", Address: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, User: "root",
		Password: secret.New("x-unused-pw"), DialTimeout: 300 * time.Millisecond,
	})
	if !errors.Is(err, remote.ErrUnreachable) || time.Since(start) > 2*time.Second {
		t.Errorf("silent listener: %v after %v, want ErrUnreachable after about 300ms", err, time.Since(start))
	}
}

func TestCancelKillsCommand(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	cfg.MaxSessions = 1 // the slot must come back after a cancel
	c := dial(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// A duration of its own, to tell this sleep from any other.
	sleep := fmt.Sprintf("30.%06d", time.Now().Nanosecond()/1000)
	start := time.Now()
	_, err := c.Run(ctx, remote.Cmd{Command: "sleep " + sleep})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancel took %v", d)
	}
	deadline := time.Now().Add(3 * time.Second)
	for processRunning("sleep", sleep) {
		if time.Now().After(deadline) {
			t.Fatalf("remote sleep 30 still runs; sshd log:\n%s", s.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := run(t, c, "echo again", nil); r.err != nil || r.stdout != "again\n" {
		t.Fatalf("after cancel: %+v", r)
	}
}

func TestConnectionLostAndRedial(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	done := make(chan result, 1)
	go func() { done <- run(t, c, "sleep 30", nil) }()
	time.Sleep(300 * time.Millisecond)
	s.kill()

	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after sshd died")
	}
	if !errors.Is(r.err, remote.ErrConnectionLost) || !remote.IsTransient(r.err) || !strings.Contains(r.err.Error(), "ws1") {
		t.Fatalf("Run during crash: %+v, want ErrConnectionLost", r)
	}

	// Down: one redial, which fails as unreachable.
	if r := run(t, c, "true", nil); !errors.Is(r.err, remote.ErrUnreachable) {
		t.Fatalf("Run while down: %+v, want ErrUnreachable", r)
	}
	err := c.Upload(context.Background(), "/tmp/x", strings.NewReader("x"), 0o644, false)
	if !errors.Is(err, remote.ErrUnreachable) || !strings.HasPrefix(err.Error(), "ws1 (127.0.0.1:") || !strings.Contains(err.Error(), "upload /tmp/x: connect:") {
		t.Fatalf("Upload while down: %v, want ErrUnreachable", err)
	}

	s.start()
	if r := run(t, c, "echo back", nil); r.err != nil || r.stdout != "back\n" {
		t.Fatalf("Run after restart: %+v", r)
	}
	if d := c.dials.Load(); d != 2 {
		t.Errorf("%d connections made, want 2", d)
	}
}

// A connection that goes silent (peer frozen, network black hole) is
// detected by keepalive and a running command is reported lost.
func TestKeepAliveDetectsSilentPeer(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	cfg.KeepAlive = 100 * time.Millisecond
	c := dial(t, cfg)
	done := make(chan result, 1)
	go func() { done <- run(t, c, "sleep 30", nil) }()
	time.Sleep(200 * time.Millisecond)
	s.signalSessions(syscall.SIGSTOP)
	defer s.signalSessions(syscall.SIGKILL) // works on stopped processes too

	select {
	case r := <-done:
		if !errors.Is(r.err, remote.ErrConnectionLost) {
			t.Fatalf("Run: %+v, want ErrConnectionLost", r)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("silent peer not detected within 3s")
	}
}

func TestPrivilegedAsRoot(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	cfg.Become = "sudo" // not used: the login user is root already
	c := dial(t, cfg)
	var out bytes.Buffer
	code, err := c.Run(context.Background(), remote.Cmd{Command: "id -u", Privileged: true, Stdout: &out})
	if err != nil || code != 0 || out.String() != "0\n" {
		t.Fatalf("code %d err %v out %q", code, err, out.String())
	}
}

func TestClose(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if r := run(t, c, "true", nil); r.err == nil || !errors.Is(r.err, net.ErrClosed) || remote.IsTransient(r.err) {
		t.Fatalf("Run after Close: %+v", r)
	}
}
