package wsman

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/masterzen/winrm"
)

// These tests drive the server with github.com/masterzen/winrm, the Go
// client onboard uses, exactly as a program would.

type mzOptions struct {
	ntlm             bool
	user, password   string
	operationTimeout string // w:OperationTimeout, e.g. "PT1S"
}

func masterzenClient(t testing.TB, l *lab, o mzOptions) *winrm.Client {
	t.Helper()
	if o.user == "" {
		o.user, o.password = aliceUser, alicePass
	}
	p := *winrm.DefaultParameters // a copy: DefaultParameters is shared
	if o.operationTimeout != "" {
		p.Timeout = o.operationTimeout
	}
	if o.ntlm {
		p.TransportDecorator = func() winrm.Transporter { return &winrm.ClientNTLM{} }
	}
	ep := winrm.NewEndpoint("127.0.0.1", l.port, l.https, false, l.caPEM, nil, nil, 30*time.Second)
	c, err := winrm.NewClientWithParameters(ep, o.user, o.password, &p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestMasterzenTransports(t *testing.T) {
	for _, tt := range []struct {
		name  string
		https bool
		cfg   Config
		ntlm  bool
		user  string
		pass  string
	}{
		{name: "HTTP Basic", cfg: Config{Basic: true, AllowUnencrypted: true}},
		{name: "HTTPS Basic with a verified CA", https: true, cfg: Config{Basic: true}},
		{name: "HTTP NTLM", cfg: Config{NTLM: true, AllowUnencrypted: true}, ntlm: true},
		{name: "HTTPS NTLM", https: true, cfg: Config{NTLM: true}, ntlm: true},
		{name: "HTTPS NTLM as a domain user", https: true, cfg: Config{NTLM: true}, ntlm: true, user: bobUser, pass: bobPass},
		{name: "HTTPS Basic as a domain user", https: true, cfg: Config{Basic: true}, user: bobUser, pass: bobPass},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := startLab(t, tt.cfg, tt.https)
			c := masterzenClient(t, l, mzOptions{ntlm: tt.ntlm, user: tt.user, password: tt.pass})
			if tt.ntlm {
				warmNTLM(t, l, c)
			}
			ctx := testContext(t, 30*time.Second)
			wantUser := aliceUser
			if tt.user != "" {
				wantUser = tt.user
			}

			for _, run := range []struct {
				command, stdin, stdout, stderr string
				code                           int
			}{
				{command: "echo hello world", stdout: "hello world\r\n"},
				{command: "err something failed", stderr: "something failed\r\n"},
				{command: "exit 3", code: 3},
				{command: "whoami", stdout: wantUser + "\r\n"},
				{command: "cat", stdin: "line 1\nline 2\n", stdout: "line 1\nline 2\n"},
				{command: "nosuch", stderr: "'nosuch' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n", code: 1},
			} {
				var stdout, stderr bytes.Buffer
				var stdin io.Reader
				if run.stdin != "" {
					stdin = strings.NewReader(run.stdin)
				}
				code, err := c.RunWithContextWithInput(ctx, run.command, &stdout, &stderr, stdin)
				if err != nil {
					t.Fatalf("%s: %v", run.command, err)
				}
				if stdout.String() != run.stdout || stderr.String() != run.stderr || code != run.code {
					t.Errorf("%s: got stdout %q stderr %q code %d, want %q %q %d",
						run.command, stdout.String(), stderr.String(), code, run.stdout, run.stderr, run.code)
				}
			}

			stdout, stderr, code, err := c.RunPSWithContext(ctx, "Write-Output 'héllo'")
			if err != nil || code != 0 || stderr != "" ||
				stdout != "PS> $ProgressPreference = 'SilentlyContinue';Write-Output 'héllo'\r\n" {
				t.Errorf("RunPSWithContext: %q %q %d %v", stdout, stderr, code, err)
			}
			if n := l.srv.Shells(); n != 0 {
				t.Errorf("%d shells left open, want 0 (every Run* deletes its shell)", n)
			}
		})
	}
}

// result is what one command of a reused shell produced.
type result struct {
	stdout, stderr string
	code           int
}

// execute runs a command in a shell the way a program that reuses shells
// must: drain stdout and stderr concurrently, optionally send stdin. Stdin
// is sent once the command's first Receive has reached the server (see
// warmNTLM).
func execute(ctx context.Context, l *lab, sh *winrm.Shell, command, stdin string) (result, error) {
	cmd, err := sh.ExecuteWithContext(ctx, command)
	if err != nil {
		return result{}, err
	}
	var stdout, stderr bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(&stdout, cmd.Stdout) }()
	go func() { defer wg.Done(); _, _ = io.Copy(&stderr, cmd.Stderr) }()
	if stdin != "" {
		for deadline := time.Now().Add(5 * time.Second); !l.serving() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if _, err := cmd.Stdin.Write([]byte(stdin)); err != nil {
			return result{}, err
		}
		if err := cmd.Stdin.Close(); err != nil {
			return result{}, err
		}
	}
	cmd.Wait()
	wg.Wait()
	_ = cmd.Close()
	return result{stdout.String(), stderr.String(), cmd.ExitCode()}, cmd.Error()
}

// serving reports whether a request on a shell is being served: after a
// Command, the command's first Receive.
func (l *lab) serving() bool {
	l.srv.mu.Lock()
	defer l.srv.mu.Unlock()
	for _, sh := range l.srv.shells {
		if sh.inFlight > 0 {
			return true
		}
	}
	return false
}

// warmNTLM leaves two authenticated connections in the client's pool.
// go-ntlmssp authenticates a new connection with three requests that
// net/http's pool may spread over two connections when another request of
// the client runs meanwhile (masterzen's Send next to its Receive); the
// AUTHENTICATE then arrives on a connection without the challenge, and
// Windows, like this server, answers 401 (seen once in about 300 fresh
// clients). With two authenticated connections idle, a concurrent Send and
// Receive need no new handshake. Sending stdin only once the Receive holds
// the first connection, as execute does, makes the warm-up itself safe.
func warmNTLM(t *testing.T, l *lab, c *winrm.Client) {
	t.Helper()
	sh, err := c.CreateShell()
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if got, err := execute(testContext(t, 30*time.Second), l, sh, "cat", "warm"); err != nil || got.stdout != "warm" {
		t.Fatalf("warming NTLM connections: %+v %v", got, err)
	}
}

func TestMasterzenReusesOneShell(t *testing.T) {
	for _, ntlm := range []bool{false, true} {
		name := "Basic"
		if ntlm {
			name = "NTLM"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := startLab(t, Config{}, true)
			c := masterzenClient(t, l, mzOptions{ntlm: ntlm})
			ctx := testContext(t, 30*time.Second)
			sh, err := c.CreateShell()
			if err != nil {
				t.Fatal(err)
			}
			defer sh.Close()
			for i := range 20 {
				var got, want result
				switch i % 4 {
				case 0:
					got, err = execute(ctx, l, sh, "echo round "+string(rune('a'+i)), "")
					want = result{stdout: "round " + string(rune('a'+i)) + "\r\n"}
				case 1:
					got, err = execute(ctx, l, sh, "err oops", "")
					want = result{stderr: "oops\r\n"}
				case 2:
					got, err = execute(ctx, l, sh, "exit 2", "")
					want = result{code: 2}
				case 3:
					got, err = execute(ctx, l, sh, "cat", "from stdin")
					want = result{stdout: "from stdin"}
				}
				if err != nil {
					t.Fatalf("command %d: %v", i, err)
				}
				if got != want {
					t.Errorf("command %d: got %+v, want %+v", i, got, want)
				}
				if n := l.srv.Shells(); n != 1 {
					t.Fatalf("after command %d: %d shells open, want the one reused", i, n)
				}
			}
			if err := sh.Close(); err != nil {
				t.Fatal(err)
			}
			if n := l.srv.Shells(); n != 0 {
				t.Errorf("%d shells open after Close, want 0", n)
			}
		})
	}
}

func TestMasterzenLargeOutputAcrossReceives(t *testing.T) {
	l := startLab(t, Config{Basic: true, AllowUnencrypted: true}, false)
	c := masterzenClient(t, l, mzOptions{})
	const size = 1 << 20 // several envelopes of 150 KB
	stdout, _, code, err := c.RunCmdWithContext(testContext(t, 30*time.Second), "big 1048576")
	if err != nil || code != 0 || len(stdout) != size {
		t.Fatalf("got %d bytes, code %d, err %v; want %d bytes", len(stdout), code, err, size)
	}
	if !strings.HasPrefix(stdout, "0123456789abcdef") || strings.Count(stdout, "!\n") != size/64 {
		t.Errorf("output corrupted")
	}
}

func TestMasterzenWrongPassword(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		ntlm bool
	}{
		{"Basic", Config{AllowUnencrypted: true}, false},
		{"NTLM", Config{AllowUnencrypted: true}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := startLab(t, tt.cfg, false)
			c := masterzenClient(t, l, mzOptions{ntlm: tt.ntlm, user: aliceUser, password: "wrong"})
			_, err := c.CreateShell()
			// Against Windows masterzen says exactly this: the 401 has no
			// SOAP content type.
			if err == nil || !strings.Contains(err.Error(), "401 - invalid content type") {
				t.Fatalf("CreateShell with a wrong password: %v, want the 401 error", err)
			}
			if l.host.count() != 0 || l.srv.Shells() != 0 {
				t.Errorf("something ran without authentication")
			}
		})
	}
}

func TestMasterzenUnencryptedRefusedOverHTTP(t *testing.T) {
	// Windows' default (AllowUnencrypted false): Basic and unencrypted
	// NTLM over plain HTTP are refused.
	for _, ntlm := range []bool{false, true} {
		l := startLab(t, Config{}, false)
		c := masterzenClient(t, l, mzOptions{ntlm: ntlm})
		if _, err := c.CreateShell(); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("ntlm=%v: CreateShell over HTTP without AllowUnencrypted: %v, want 401", ntlm, err)
		}
	}
}

// faultBody returns the SOAP fault a masterzen error carries.
func faultBody(err error) string {
	var ece *winrm.ExecuteCommandError
	if errors.As(err, &ece) {
		return ece.Body
	}
	return ""
}

func TestMasterzenShellQuota(t *testing.T) {
	l := startLab(t, Config{MaxShellsPerUser: 3}, true)
	alice := masterzenClient(t, l, mzOptions{})
	var shells []*winrm.Shell
	for range 3 {
		sh, err := alice.CreateShell()
		if err != nil {
			t.Fatal(err)
		}
		shells = append(shells, sh)
	}
	_, err := alice.CreateShell()
	body := faultBody(err)
	if !strings.Contains(body, `Code="2150859173"`) ||
		!strings.Contains(body, "This user is allowed a maximum number of 3 concurrent shells, which has been exceeded.") {
		t.Fatalf("fourth shell: %v\n%s\nwant the quota fault", err, body)
	}
	// The quota is per user.
	bob := masterzenClient(t, l, mzOptions{user: bobUser, password: bobPass})
	if _, err := bob.CreateShell(); err != nil {
		t.Errorf("another user's shell: %v", err)
	}
	if err := shells[0].Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateShell(); err != nil {
		t.Errorf("shell after closing one: %v", err)
	}
}

func TestMasterzenOperationQuota(t *testing.T) {
	l := startLab(t, Config{MaxConcurrentOperationsPerUser: 3}, true)
	c := masterzenClient(t, l, mzOptions{})
	ctx := testContext(t, 30*time.Second)
	sh, err := c.CreateShell()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := execute(ctx, l, sh, "echo hi", ""); err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	_, err = sh.ExecuteWithContext(ctx, "echo one too many")
	if body := faultBody(err); !strings.Contains(body, `Code="2150859174"`) {
		t.Fatalf("fourth command in the shell: %v\n%s\nwant the operations quota fault", err, body)
	}
	// As on Windows, only deleting the shell gives the operations back.
	_ = sh.Close()
	sh, err = c.CreateShell()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := execute(ctx, l, sh, "echo again", ""); err != nil || got.stdout != "again\r\n" {
		t.Errorf("after recreating the shell: %+v %v", got, err)
	}
}

func TestMasterzenDropShells(t *testing.T) {
	l := startLab(t, Config{}, true)
	c := masterzenClient(t, l, mzOptions{})
	ctx := testContext(t, 30*time.Second)
	sh, err := c.CreateShell()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := execute(ctx, l, sh, "echo before", ""); err != nil {
		t.Fatal(err)
	}
	l.srv.DropShells()
	if n := l.srv.Shells(); n != 0 {
		t.Fatalf("%d shells after DropShells", n)
	}
	_, err = sh.ExecuteWithContext(ctx, "echo after")
	body := faultBody(err)
	if !strings.Contains(body, `Code="2150858843"`) || !strings.Contains(body, "w:InvalidSelectors") ||
		!strings.Contains(body, "failed because the shell was not found on the server") {
		t.Fatalf("Execute on a dropped shell: %v\n%s\nwant the unknown-shell fault", err, body)
	}
}

func TestMasterzenCancelSignalsTerminate(t *testing.T) {
	// masterzen notices a cancelled context only between Receives, so the
	// long-poll is kept short.
	l := startLab(t, Config{OperationTimeout: time.Second}, true)
	c := masterzenClient(t, l, mzOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, _, err := c.RunCmdWithContext(ctx, "hang")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RunCmdWithContext: %v, want the context's error", err)
	}
	if got := l.host.waitCancelled(t, 5*time.Second); got != "hang" {
		t.Errorf("cancelled %q", got)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("cancellation took %v", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.srv.Shells() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := l.srv.Shells(); n != 0 {
		t.Errorf("%d shells left after the cancelled run", n)
	}
}

func TestMasterzenLongPollPollsAgain(t *testing.T) {
	for _, tt := range []struct {
		name     string
		command  string
		receives int64 // Receive requests the long-poll should need
	}{
		{"2.5 s command", "sleep 2.5", 3},
		{"3 s command", "sleep 3", 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := startLab(t, Config{OperationTimeout: time.Second, AllowUnencrypted: true, Basic: true}, false)
			c := masterzenClient(t, l, mzOptions{})
			before := l.srv.Requests()
			stdout, stderr, code, err := c.RunCmdWithContext(testContext(t, 20*time.Second), tt.command)
			if err != nil || code != 0 || stdout != "slept\r\n" || stderr != "" {
				t.Fatalf("got %q %q %d %v", stdout, stderr, code, err)
			}
			// Create, Command, the Receives, Signal, Delete: a tight loop
			// would be thousands.
			n := l.srv.Requests() - before
			if want := 4 + tt.receives; n < want-1 || n > want+1 {
				t.Errorf("%d requests, want about %d", n, want)
			}
			t.Logf("%s with a 1 s OperationTimeout: %d requests", tt.command, n)
		})
	}
}

func TestMasterzenClientOperationTimeoutHonoured(t *testing.T) {
	// The server caps at 60 s; the client asks for 1 s.
	l := startLab(t, Config{Basic: true, AllowUnencrypted: true}, false)
	c := masterzenClient(t, l, mzOptions{operationTimeout: "PT1S"})
	before := l.srv.Requests()
	stdout, _, code, err := c.RunCmdWithContext(testContext(t, 20*time.Second), "sleep 2.5")
	if err != nil || code != 0 || stdout != "slept\r\n" {
		t.Fatalf("got %q %d %v", stdout, code, err)
	}
	// Three 1 s Receives make 7 requests; the server's 60 s would make 5.
	if n := l.srv.Requests() - before; n < 6 || n > 8 {
		t.Errorf("%d requests, want 7 (three 1 s Receives)", n)
	}
}

// benchTransports are the set-ups the benchmarks compare.
var benchTransports = []struct {
	name  string
	https bool
	ntlm  bool
}{
	{"HTTP Basic", false, false},
	{"HTTPS Basic", true, false},
	{"HTTPS NTLM", true, true},
}

func BenchmarkMasterzenReusedShell(b *testing.B) {
	for _, tt := range benchTransports {
		b.Run(tt.name, func(b *testing.B) {
			l := startLab(b, Config{AllowUnencrypted: true, MaxConcurrentOperationsPerUser: 1 << 30}, tt.https)
			c := masterzenClient(b, l, mzOptions{ntlm: tt.ntlm})
			ctx := testContext(b, time.Hour)
			sh, err := c.CreateShell()
			if err != nil {
				b.Fatal(err)
			}
			defer sh.Close()
			before := l.srv.Requests()
			for b.Loop() {
				if got, err := execute(ctx, l, sh, "echo hi", ""); err != nil || got.stdout != "hi\r\n" {
					b.Fatalf("%+v %v", got, err)
				}
			}
			b.ReportMetric(float64(l.srv.Requests()-before)/float64(b.N), "requests/op")
		})
	}
}

func BenchmarkMasterzenShellPerCommand(b *testing.B) {
	for _, tt := range benchTransports {
		b.Run(tt.name, func(b *testing.B) {
			l := startLab(b, Config{AllowUnencrypted: true}, tt.https)
			c := masterzenClient(b, l, mzOptions{ntlm: tt.ntlm})
			ctx := testContext(b, time.Hour)
			before := l.srv.Requests()
			for b.Loop() {
				if stdout, _, _, err := c.RunCmdWithContext(ctx, "echo hi"); err != nil || stdout != "hi\r\n" {
					b.Fatalf("%q %v", stdout, err)
				}
			}
			b.ReportMetric(float64(l.srv.Requests()-before)/float64(b.N), "requests/op")
		})
	}
}
