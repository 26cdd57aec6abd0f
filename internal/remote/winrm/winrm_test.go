package winrm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/lab/wsman"
	"onboard/internal/remote"
	"onboard/internal/secret"
)

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

func TestRunOverHTTPSBasicWithCA(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	tests := []struct {
		name, command  string
		code           int
		stdout, stderr string
	}{
		{"success", "echo hello", 0, "hello\n", ""},
		{"stderr and exit code", "echo out; echo err >&2; exit 3", 3, "out\n", "err\n"},
		{"XML special characters", "echo '<a & b]]>'", 0, "<a & b]]>\n", ""},
		{"large output", "head -c 1000000 /dev/zero | tr '\\0' x", 0, strings.Repeat("x", 1000000), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, c, tt.command, nil)
			if r.err != nil {
				t.Fatalf("Run: %v", r.err)
			}
			if r.code != tt.code || r.stdout != tt.stdout || r.stderr != tt.stderr {
				t.Errorf("got code %d stdout %.80q stderr %q; want %d %.80q %q", r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestHTTPSWrongCA(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	cfg := s.config(AuthBasic)
	cfg.CACertFile = newPKI(t).caFile // another CA
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, remote.ErrHostKey) || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "ws1") {
		t.Fatalf("got %v; want a certificate error naming ws1 wrapping ErrHostKey", err)
	}
	if remote.IsTransient(err) {
		t.Error("an untrusted certificate must not be transient")
	}
	t.Log(err)

	// The system pool does not know the test CA either.
	cfg.CACertFile = ""
	if _, err := Dial(context.Background(), cfg); !errors.Is(err, remote.ErrHostKey) {
		t.Fatalf("system pool: got %v", err)
	}
	// The escape hatch works, and says so.
	var logs syncBuffer
	cfg.InsecureSkipVerify = true
	cfg.Logger = newLogger(&logs)
	c := dial(t, cfg)
	if r := run(t, c, "echo ok", nil); r.err != nil || r.stdout != "ok\n" {
		t.Fatalf("insecure: %+v", r)
	}
	if !strings.Contains(logs.String(), "NOT verifying") {
		t.Errorf("no warning logged for InsecureSkipVerify: %s", logs.String())
	}
}

func TestHTTPNTLM(t *testing.T) {
	s := startServer(t, serverOptions{cfg: wsman.Config{NTLM: true, AllowUnencrypted: true}})
	c := dial(t, s.config(AuthNTLM))
	r := run(t, c, "echo hello; exit 2", nil)
	if r.err != nil || r.code != 2 || r.stdout != "hello\n" {
		t.Fatalf("got %+v", r)
	}
	// Concurrent commands open more connections; each authenticates.
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			r := run(t, c, fmt.Sprintf("sleep 0.05; echo %d", i), strings.NewReader("in"))
			if r.err != nil || r.stdout != fmt.Sprintf("%d\n", i) {
				t.Errorf("run %d: %+v: %v", i, r, r.err)
			}
		})
	}
	wg.Wait()

	// NTLM over HTTPS too.
	s2 := startServer(t, serverOptions{https: true, cfg: wsman.Config{NTLM: true}})
	if r := run(t, dial(t, s2.config(AuthNTLM)), "echo tls", nil); r.err != nil || r.stdout != "tls\n" {
		t.Fatalf("https: %+v", r)
	}
}

func TestWrongPassword(t *testing.T) {
	for _, tt := range []struct {
		auth  string
		https bool
	}{{AuthBasic, true}, {AuthNTLM, false}, {AuthNTLM, true}} {
		t.Run(fmt.Sprintf("%s https=%v", tt.auth, tt.https), func(t *testing.T) {
			s := startServer(t, serverOptions{https: tt.https, cfg: wsman.Config{Basic: true, NTLM: true, AllowUnencrypted: true}})
			cfg := s.config(tt.auth)
			cfg.Password = secret.New("wrong-Pa55word")
			_, err := Dial(context.Background(), cfg)
			if !errors.Is(err, remote.ErrAuth) {
				t.Fatalf("got %v; want ErrAuth", err)
			}
			msg := err.Error()
			for _, want := range []string{"ws1", testUser, tt.auth} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if strings.Contains(msg, "wrong-Pa55word") || remote.IsTransient(err) {
				t.Errorf("error leaks the password or is transient: %q", msg)
			}
		})
	}
}

func TestNTLMOverHTTPRefusedWithoutAllowUnencrypted(t *testing.T) {
	// Windows' default: HTTP needs message encryption. Unencrypted NTLM,
	// asked for explicitly, is refused with a 401, reported as an auth
	// failure.
	s := startServer(t, serverOptions{cfg: wsman.Config{NTLM: true}})
	cfg := s.config(AuthNTLM)
	cfg.AllowUnencryptedHTTP = true
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, remote.ErrAuth) {
		t.Fatalf("got %v; want ErrAuth", err)
	}
}

func TestOneShellReused(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	for i := range 100 {
		if r := run(t, c, "noop", nil); r.err != nil || r.code != 0 {
			t.Fatalf("run %d: %+v", i, r)
		}
	}
	// And concurrently.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if r := run(t, c, "echo x", nil); r.err != nil || r.stdout != "x\n" {
				t.Errorf("%+v", r)
			}
		})
	}
	wg.Wait()
	if n := s.Shells(); n != 1 {
		t.Errorf("server has %d shells, want 1", n)
	}
	if n := c.creates.Load(); n != 1 {
		t.Errorf("%d Create requests, want 1", n)
	}
	t.Logf("120 commands: %d requests from the client, %d seen by the server", c.requests.Load(), s.Requests())
	c.Close()
	if n := s.Shells(); n != 0 {
		t.Errorf("after Close the server has %d shells, want 0", n)
	}
	if _, err := c.Run(context.Background(), remote.Cmd{Command: "noop"}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}

func TestShellRotation(t *testing.T) {
	old := shellMaxCommands
	shellMaxCommands = 5
	t.Cleanup(func() { shellMaxCommands = old })
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true, MaxConcurrentOperationsPerUser: 8}})
	c := dial(t, s.config(AuthBasic))
	for i := range 30 {
		if r := run(t, c, "noop", nil); r.err != nil {
			t.Fatalf("run %d: %v", i, r.err)
		}
	}
	if n := c.creates.Load(); n != 6 {
		t.Errorf("%d shells created for 30 commands at 5 per shell, want 6", n)
	}
	waitFor(t, "old shells deleted", func() bool { return s.Shells() == 1 })
}

func TestOperationQuotaRecreatesShell(t *testing.T) {
	// The server counts a shell's commands until it is deleted; at the
	// quota the Command fault makes the client replace its shell.
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true, MaxConcurrentOperationsPerUser: 3}})
	c := dial(t, s.config(AuthBasic))
	for i := range 10 {
		if r := run(t, c, "noop", nil); r.err != nil {
			t.Fatalf("run %d: %v", i, r.err)
		}
	}
	if n := c.creates.Load(); n < 4 {
		t.Errorf("%d shells created, want at least 4", n)
	}
}

func TestStdinDeliveredAndClosed(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	r := run(t, c, "tr a-z A-Z", strings.NewReader("hello\nworld"))
	if r.err != nil || r.code != 0 || r.stdout != "HELLO\nWORLD" {
		t.Fatalf("got %+v", r)
	}
	// Nil stdin: the command sees EOF at once (the library alone leaves
	// stdin open and cat would hang).
	r = run(t, c, "cat; echo done", nil)
	if r.err != nil || r.stdout != "done\n" {
		t.Fatalf("nil stdin: got %+v", r)
	}
	// Larger than one Send (64 KiB) and than the envelope.
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	r = run(t, c, "wc -c", strings.NewReader(big))
	if r.err != nil || strings.TrimSpace(r.stdout) != fmt.Sprint(len(big)) {
		t.Fatalf("1 MiB stdin: got %+v", r)
	}
	// A command that exits without reading a stdin that never ends.
	pr, pw := io.Pipe()
	defer pw.Close()
	r = run(t, c, "echo early", pr)
	if r.err != nil || r.stdout != "early\n" {
		t.Fatalf("unread stdin: got %+v: %v", r, r.err)
	}
	// A stdin that fails aborts the command instead of ending its input.
	r = run(t, c, "cat >/dev/null; echo should-not-run", io.MultiReader(strings.NewReader("x"), errReader{}))
	if r.err == nil || !strings.Contains(r.err.Error(), "read stdin") || strings.Contains(r.stdout, "should-not-run") {
		t.Fatalf("failing stdin: got %+v", r)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestCloseDuringRun(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	go func() {
		<-s.host.started
		c.Close()
	}()
	start := time.Now()
	r := run(t, c, "hang close", nil)
	if !errors.Is(r.err, net.ErrClosed) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %+v after %v; want net.ErrClosed", r, time.Since(start))
	}
	select {
	case <-s.host.cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("the command still runs after Close")
	}
	waitFor(t, "shell deleted", func() bool { return s.Shells() == 0 })
}

func TestFailingWriterDoesNotHang(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, err := c.Run(ctx, remote.Cmd{Command: "head -c 500000 /dev/zero; exit 4", Stdout: failingWriter{}})
	if err != nil || code != 4 {
		t.Fatalf("got %d, %v", code, err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestDroppedShellRecreated(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	if r := run(t, c, "echo one", nil); r.err != nil {
		t.Fatal(r.err)
	}
	s.DropShells() // as a WinRM service restart does
	if r := run(t, c, "echo two", nil); r.err != nil || r.stdout != "two\n" {
		t.Fatalf("after DropShells: %+v", r)
	}
	if n := c.creates.Load(); n != 2 {
		t.Errorf("%d Create requests, want 2", n)
	}
	if n := s.Shells(); n != 1 {
		t.Errorf("server has %d shells, want 1", n)
	}
}

func TestDroppedShellMidCommand(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	go func() {
		<-s.host.started
		s.DropShells()
	}()
	r := run(t, c, "hang", nil)
	if !errors.Is(r.err, remote.ErrConnectionLost) || !strings.Contains(r.err.Error(), "shell vanished") {
		t.Fatalf("got %+v; want the shell vanished, ErrConnectionLost", r)
	}
	if r := run(t, c, "echo next", nil); r.err != nil || r.stdout != "next\n" {
		t.Fatalf("next run: %+v", r)
	}
}

func TestShellQuota(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true, MaxShellsPerUser: 1}})
	a := dial(t, s.config(AuthBasic))

	// A second client of the same user cannot get a shell.
	_, err := Dial(context.Background(), s.config(AuthBasic))
	if !errors.Is(err, ErrShellQuota) || !strings.Contains(err.Error(), "ws1") {
		t.Fatalf("second client: got %v; want ErrShellQuota", err)
	}
	t.Log(err)

	// a's shell vanishes and b takes the only slot: a's next Run tries to
	// recreate its shell and reports the quota clearly.
	s.DropShells()
	b := dial(t, s.config(AuthBasic))
	r := run(t, a, "echo a", nil)
	if !errors.Is(r.err, ErrShellQuota) {
		t.Fatalf("a after b took the slot: got %+v; want ErrShellQuota", r)
	}
	// Once b is gone, a recovers.
	b.Close()
	if r := run(t, a, "echo a", nil); r.err != nil || r.stdout != "a\n" {
		t.Fatalf("a after b closed: %+v", r)
	}
}

func TestCancelHangingCommand(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := c.Run(ctx, remote.Cmd{Command: "hang " + tt.name})
			took := time.Since(start)
			if !errors.Is(err, tt.want) || took > time.Second {
				t.Fatalf("got %v after %v; want %v within 1s", err, took, tt.want)
			}
			select {
			case line := <-s.host.cancelled:
				if line != "hang "+tt.name {
					t.Errorf("cancelled %q", line)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("the host never saw its command cancelled (no Signal)")
			}
		})
	}
	// The shell still works.
	if r := run(t, c, "echo ok", nil); r.err != nil || r.stdout != "ok\n" {
		t.Fatalf("after cancel: %+v", r)
	}
}

func TestSilentCommandOutlivesOperationTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 3 s")
	}
	// The server answers a Receive with the TimedOut fault after 1 s of
	// silence; the client polls again until the command ends at 3 s.
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true, OperationTimeout: time.Second}})
	cfg := s.config(AuthBasic)
	cfg.OperationTimeout = time.Second
	c := dial(t, cfg)
	before := c.requests.Load()
	r := run(t, c, "sleep 3; echo done", nil)
	if r.err != nil || r.stdout != "done\n" {
		t.Fatalf("got %+v", r)
	}
	if n := c.requests.Load() - before; n < 4 || n > 12 {
		t.Errorf("%d requests for a 3 s silent command with 1 s long polls", n)
	}
	// And a deadline still ends such a command.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Run(ctx, remote.Cmd{Command: "hang silent"}); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("deadline: %v after %v", err, time.Since(start))
	}
}

func TestServerClosedMidCommand(t *testing.T) {
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	c := dial(t, s.config(AuthBasic))
	go func() {
		<-s.host.started
		time.Sleep(100 * time.Millisecond)
		s.Close()
	}()
	start := time.Now()
	r := run(t, c, "sleep 10", nil)
	if !errors.Is(r.err, remote.ErrConnectionLost) || !remote.IsTransient(r.err) || time.Since(start) > 5*time.Second {
		t.Fatalf("got %+v after %v; want ErrConnectionLost", r, time.Since(start))
	}
	t.Log(r.err)
	// The host is gone: the next Run cannot reach it.
	r = run(t, c, "echo x", nil)
	if !remote.IsTransient(r.err) {
		t.Fatalf("after close: %+v", r)
	}
	t.Log(r.err)
}

func TestConnectionDroppedMidCommand(t *testing.T) {
	// The network path dies (not the server): the Receive in flight ends
	// with EOF, and reconnecting is refused.
	s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	port, kill := latencyProxy(t, s.addr.String(), 0)
	cfg := s.config(AuthBasic)
	cfg.Port = port
	c := dial(t, cfg)
	go func() {
		<-s.host.started
		time.Sleep(100 * time.Millisecond)
		kill()
	}()
	start := time.Now()
	r := run(t, c, "sleep 10", nil)
	if !errors.Is(r.err, remote.ErrConnectionLost) || !strings.Contains(r.err.Error(), "outcome is unknown") || time.Since(start) > 5*time.Second {
		t.Fatalf("got %+v after %v; want ErrConnectionLost", r, time.Since(start))
	}
	t.Log(r.err)
}

func TestUnreachable(t *testing.T) {
	cfg := Config{Host: "ws9", Address: "127.0.0.1", Port: closedPort(t), HTTPS: true, Auth: AuthBasic, User: "u", Password: secret.New("p")}
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, remote.ErrUnreachable) || !remote.IsTransient(err) || !strings.Contains(err.Error(), "ws9") {
		t.Fatalf("got %v; want ErrUnreachable naming ws9", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error does not say why: %v", err)
	}
	t.Log(err)

	// A black hole times out at DialTimeout (TEST-NET-1 routes nowhere).
	cfg.Address, cfg.Port, cfg.DialTimeout = "192.0.2.1", 5986, 300*time.Millisecond
	start := time.Now()
	_, err = Dial(context.Background(), cfg)
	if !errors.Is(err, remote.ErrUnreachable) || time.Since(start) > 3*time.Second {
		t.Fatalf("black hole: %v after %v", err, time.Since(start))
	}
	t.Log(err)
}

func TestWrongProtocol(t *testing.T) {
	// HTTPS against an HTTP listener, and the reverse: clear, not "EOF".
	s := startServer(t, serverOptions{cfg: wsman.Config{Basic: true, AllowUnencrypted: true}})
	cfg := s.config(AuthBasic)
	cfg.HTTPS = true
	_, err := Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Fatalf("https to http: %v", err)
	}
	s2 := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true}})
	cfg = s2.config(AuthBasic)
	cfg.HTTPS, cfg.AllowBasicOverHTTP = false, true
	_, err = Dial(context.Background(), cfg)
	if err == nil {
		t.Fatal("http to https: no error")
	}
	t.Log(err)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A shell the server would delete for idleness is kept by the keepalive;
// without it, the next command needs a new shell (the control).
func TestKeepAlive(t *testing.T) {
	for _, tt := range []struct {
		name      string
		keepAlive time.Duration
		creates   int64
	}{
		{"keepalive", 300 * time.Millisecond, 1},
		{"no keepalive", -1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, serverOptions{https: true, cfg: wsman.Config{Basic: true, IdleTimeout: 1500 * time.Millisecond}})
			cfg := s.config(AuthBasic)
			cfg.KeepAlive = tt.keepAlive
			c := dial(t, cfg)
			if r := run(t, c, "echo x", nil); r.err != nil {
				t.Fatal(r.err)
			}
			time.Sleep(3500 * time.Millisecond) // past the server's idle timeout
			if r := run(t, c, "echo y", nil); r.err != nil || r.stdout != "y\n" {
				t.Fatalf("after the idle gap: %+v", r)
			}
			if n := c.creates.Load(); n != tt.creates {
				t.Errorf("%d shells created, want %d", n, tt.creates)
			}
		})
	}
}
