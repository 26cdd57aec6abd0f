package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/remote"
)

// TestFramer feeds one stream in the chunks a channel may deliver and
// checks what each command gets.
func TestFramer(t *testing.T) {
	const end, pid = "OnBend", "OnBpid"
	tests := []struct {
		name    string
		chunks  []string
		withPID bool
		out     string
		code    int
		p       int
		wantErr bool
	}{
		{"output then end", []string{"hello\nOnBendx3\n"}, false, "hello\n", 3, 0, false},
		{"no trailing newline", []string{"abcOnBendx0\n"}, false, "abc", 0, 0, false},
		{"marker split over reads", []string{"ab", "cOn", "Be", "ndx", "12", "\n"}, false, "abc", 12, 0, false},
		{"NULs kept", []string{"a\x00b\x00OnBendx0\n"}, false, "a\x00b\x00", 0, 0, false},
		{"an earlier command's marker is output", []string{"OnBoldx0\nOnBolde\nOnBende\n"}, false, "OnBoldx0\nOnBolde\n", 0, 0, false},
		{"marker prefix in output", []string{"OnBenOnBe", "OnBende\n"}, false, "OnBenOnBe", 0, 0, false},
		{"pid then output then end", []string{"OnBpid4", "2\nerr\nOnBende\n"}, true, "err\n", 0, 42, false},
		{"second pid marker is output", []string{"OnBpid42\nOnBpid7\nOnBende\n"}, true, "OnBpid7\n", 0, 42, false},
		{"stray bytes after end dropped", []string{"xOnBende\nlate"}, false, "x", 0, 0, false},
		{"malformed exit code", []string{"OnBendxyz\n"}, false, "", 0, 0, true},
		{"stream ends mid-command", []string{"partial"}, false, "partial", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w := io.Pipe()
			fr := newFramer(r)
			var out bytes.Buffer
			f := &frame{end: []byte(end), w: &out, done: make(chan struct{}), gotPID: make(chan struct{})}
			if tt.withPID {
				f.pid = []byte(pid)
			}
			fr.expect(f)
			go func() {
				for _, c := range tt.chunks {
					_, _ = w.Write([]byte(c))
				}
				if tt.wantErr {
					_ = w.Close()
				}
			}()
			select {
			case <-f.done:
			case <-time.After(5 * time.Second):
				t.Fatal("frame never ended")
			}
			if (f.err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", f.err, tt.wantErr)
			}
			if tt.wantErr && strings.HasPrefix(tt.name, "malformed") {
				return
			}
			if !tt.wantErr && (f.code != tt.code || f.pidValue() != tt.p) {
				t.Errorf("code %d pid %d, want %d %d", f.code, f.pidValue(), tt.code, tt.p)
			}
			if out.String() != tt.out {
				t.Errorf("out %q, want %q", out.String(), tt.out)
			}
			_ = w.Close()
		})
	}
}

// TestShellRun runs hostile and stateful commands one after the other in
// the one long-lived shell: each gets exactly its own output and exit code.
func TestShellRun(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	forge := `n=$(grep -ao 'OnB[0-9a-f]*' /proc/$$/cmdline | head -n 1); printf '%s9\n' "$n" >&2; printf '%sx5\n%se\n' "$n" "$n"`
	tests := []struct {
		name, command  string
		code           int
		stdout, stderr string
	}{
		{"exit code", "exit 7", 7, "", ""},
		{"streams apart", "echo out; echo err >&2; echo out2", 0, "out\nout2\n", "err\n"},
		{"no trailing newline", "printf abc; printf def >&2", 0, "abc", "def"},
		{"NULs", `printf 'a\0b\0'`, 0, "a\x00b\x00", ""},
		{"fake markers", `printf 'OnB00000000000000000000000000000000x0\n'; printf 'OnB00000000000000000000000000000000e\n' >&2`, 0,
			"OnB00000000000000000000000000000000x0\n", "OnB00000000000000000000000000000000e\n"},
		{"markers it can read from ps are only output", forge, 0, "x5\n", "OnB"},
		{"cd and variables", "cd /tmp && FOO=leak && export BAR=leak", 0, "", ""},
		{"nothing leaked", `pwd; echo "${FOO-unset} ${BAR-unset}"`, 0, "/root\nunset unset\n", ""},
		{"set -e stays inside", "set -e; false; echo no", 1, "", ""},
		{"after set -e", "false; echo yes", 0, "yes\n", ""},
		{"syntax error", "echo (", 2, "", "Syntax error"},
		{"stdin is closed", "cat; echo done", 0, "done\n", ""},
		{"exec replaces the command only", "exec echo replaced", 0, "replaced\n", ""},
		{"killed by a signal", "kill -KILL $$", 137, "", ""},
		{"closed stdout", "exec >&-; echo gone 2>/dev/null; exit 4", 4, "", ""},
		{"still alive", "echo alive", 0, "alive\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, c, tt.command, nil)
			if r.err != nil {
				t.Fatalf("Run: %v", r.err)
			}
			stdoutOK := r.stdout == tt.stdout
			if tt.command == forge { // the marker is random: its shape is checked
				stdoutOK = strings.HasPrefix(r.stdout, "OnB") && strings.Contains(r.stdout, "x5\nOnB")
			}
			if r.code != tt.code || !stdoutOK || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("got code %d stdout %q stderr %q; want %d %q %q", r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
	if st := c.Stats(); st.Dials != 1 || st.Sessions != 1 {
		t.Errorf("stats %+v, want one connection and one session for %d commands", st, len(tests))
	}
}

// TestShellReapsJobs: the shell reaps each finished command, so that no
// zombie piles up on a host that runs thousands of commands.
func TestShellReapsJobs(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	for range 5 {
		run(t, c, "true", nil)
	}
	// The job's parent is the shell.
	r := run(t, c, "ps -o stat= --ppid $PPID", nil)
	if r.err != nil || r.code != 0 || strings.TrimSpace(r.stdout) == "" || strings.Contains(r.stdout, "Z") {
		t.Errorf("children of the shell: %+v, want only the running job", r)
	}
}

// TestShellLargeOutput moves 10 MB through the frame and the next command
// still gets only its own output.
func TestShellLargeOutput(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	var out bytes.Buffer
	code, err := c.Run(context.Background(), remote.Cmd{Command: "head -c 10485760 /dev/zero | tr '\\0' x; printf end", Stdout: &out})
	if err != nil || code != 0 {
		t.Fatal(code, err)
	}
	if out.Len() != 10485760+3 || !strings.HasSuffix(out.String(), "xend") || strings.Trim(out.String()[:10485760], "x") != "" {
		t.Fatalf("got %d bytes ending %q", out.Len(), out.String()[max(0, out.Len()-10):])
	}
	if r := run(t, c, "echo next", nil); r.err != nil || r.stdout != "next\n" {
		t.Fatalf("%+v", r)
	}
}

// TestShellSessions counts sessions: one for every plain command, one for
// every command with input, and none more.
func TestShellSessions(t *testing.T) {
	s := startSSHD(t)
	tests := []struct {
		name       string
		perCommand bool
		commands   []remote.Cmd
		sessions   int64
	}{
		{"ten checks, one shell", false, repeat(remote.Cmd{Command: "test -d /"}, 10), 1},
		{"privileged as root share the shell", false, append(repeat(remote.Cmd{Command: "true"}, 3), repeat(remote.Cmd{Command: "true", Privileged: true}, 3)...), 1},
		{"input gets a session", false, append(repeat(remote.Cmd{Command: "true"}, 3), remote.Cmd{Command: "cat", Stdin: strings.NewReader("x")}), 2},
		{"session per command", true, repeat(remote.Cmd{Command: "true"}, 10), 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := s.config()
			cfg.SessionPerCommand = tt.perCommand
			c := dial(t, cfg)
			for _, cmd := range tt.commands {
				if code, err := c.Run(context.Background(), cmd); err != nil || code != 0 {
					t.Fatalf("%s: %d %v", cmd.Command, code, err)
				}
			}
			if st := c.Stats(); st.Sessions != tt.sessions || st.Dials != 1 {
				t.Errorf("stats %+v, want %d sessions on one connection", st, tt.sessions)
			}
		})
	}
}

func repeat(c remote.Cmd, n int) []remote.Cmd {
	out := make([]remote.Cmd, n)
	for i := range out {
		out[i] = c
	}
	return out
}

// TestShellCancel: a cancelled command's process group dies, the shell
// survives it, and the next command runs in the same session.
func TestShellCancel(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	var first *rshell
	for i := range 3 {
		sleep := fmt.Sprintf("30.%06d", time.Now().Nanosecond()/1000)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		// A child that ignores TERM: only the group's KILL ends it.
		_, err := c.Run(ctx, remote.Cmd{Command: "trap '' TERM; sleep " + sleep + " & wait; echo never"})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: %v, want context.DeadlineExceeded", i, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for processRunning("sleep", sleep) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: sleep %s still runs", i, sleep)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The kill goes on behind Run; until the shell's frames end, a
		// caller would get a session of its own (by design), not the shell.
		for {
			c.mu.Lock()
			busy := c.shells[0].busy
			c.mu.Unlock()
			if !busy {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the shell stays busy after the kill", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		var out bytes.Buffer
		code, err := c.Run(ctx, remote.Cmd{Command: "echo again", Stdout: &out})
		cancel()
		if err != nil || code != 0 || out.String() != "again\n" {
			t.Fatalf("round %d, after cancel: %d %v %q", i, code, err, out.String())
		}
		c.mu.Lock()
		sh := c.shells[0].sh
		c.mu.Unlock()
		if first == nil {
			first = sh
		}
		if sh == nil || sh != first {
			t.Errorf("round %d: the shell did not survive the cancel", i)
		}
	}
	// One session for the shell; the others sent the cancels' signals (the
	// shell waits for its job): TERM, then KILL, as TERM is ignored here.
	if st := c.Stats(); st.Sessions != 1+3*2 {
		t.Errorf("stats %+v, want the shell's session and two per cancel", st)
	}
}

// TestShellWedged: a shell that no longer reads (stopped) is closed after
// a cancel and a fresh one serves later commands: never a stuck host.
func TestShellWedged(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	run(t, c, "true", nil)
	c.mu.Lock()
	wedged := c.shells[0].sh
	c.mu.Unlock()
	// The job's parent is the shell. The command is cancelled once it says
	// the shell is stopped (not after a fixed time: on a loaded machine it
	// may not have got that far).
	// (Padded: the framer holds back what could be the start of a marker.)
	stop := "kill -STOP $PPID && printf 'stopped%64s\\n' ''; sleep 8"
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	safety := time.AfterFunc(30*time.Second, func() { cancel(errors.New("the shell never said it was stopped")) })
	defer safety.Stop()
	_, err := c.Run(ctx, remote.Cmd{Command: stop, Stdout: writerFunc(func(p []byte) {
		if bytes.Contains(p, []byte("stopped")) {
			cancel(context.Canceled)
		}
	})})
	if !errors.Is(err, context.Canceled) || context.Cause(ctx) != context.Canceled {
		t.Fatalf("%v (cause %v), want the cancel after the shell stopped", err, context.Cause(ctx))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		// While the wedged shell is being given up, commands get sessions
		// of their own: they run all the same.
		if r := run(t, c, "echo fresh", nil); r.err != nil || r.code != 0 || r.stdout != "fresh\n" {
			t.Fatalf("after a wedged shell: %+v (%v)", r, r.err)
		}
		c.mu.Lock()
		sh := c.shells[0].sh
		c.mu.Unlock()
		if sh != nil && sh != wedged {
			break
		}
		if time.Now().After(deadline) {
			c.mu.Lock()
			slot := c.shells[0]
			c.mu.Unlock()
			t.Fatalf("the wedged shell was never replaced: stats %+v, slot busy %v broken %v", c.Stats(), slot.busy, slot.broken)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestShellConcurrent: many callers on one client each get exactly their
// own output; a busy shell sends the others to sessions of their own.
func TestShellConcurrent(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				want := fmt.Sprintf("%d-%d", g, i)
				var out, errb bytes.Buffer
				code, err := c.Run(context.Background(), remote.Cmd{Command: "echo " + want + "; echo e" + want + " >&2; exit " + fmt.Sprint(i%3),
					Stdout: &out, Stderr: &errb, Privileged: g%2 == 0})
				if err != nil || code != i%3 || out.String() != want+"\n" || errb.String() != "e"+want+"\n" {
					errs <- fmt.Errorf("%s: code %d err %v out %q stderr %q", want, code, err, out.String(), errb.String())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// writerFunc sees what a command writes.
type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
