package ssh

import (
	"context"
	"strings"
	"testing"
	"time"

	"onboard/internal/remote"
)

// TestProcessesPerRoundTrip counts the processes each kind of round trip
// starts on the host (sshd in a PID namespace of its own, as a lab
// workstation): what the speed of a run on many hosts comes down to. A
// root login runs privileged and plain commands in one shell, and a batch
// of both as one job.
func TestProcessesPerRoundTrip(t *testing.T) {
	s := startSSHDCounting(t)
	var c *Client
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(cmds ...remote.Cmd) func() {
		return func() {
			if len(cmds) == 1 {
				if code, err := c.Run(ctx, cmds[0]); err != nil || code != 0 {
					t.Fatalf("%q: %d %v", cmds[0].Command, code, err)
				}
				return
			}
			codes, err := c.RunBatch(ctx, cmds)
			if err != nil {
				t.Fatal(err)
			}
			for i, code := range codes {
				if code != 0 {
					t.Fatalf("%q: exit %d", cmds[i].Command, code)
				}
			}
		}
	}
	plain, priv := remote.Cmd{Command: "true"}, remote.Cmd{Command: "true", Privileged: true}
	steps := []struct {
		name  string
		do    func()
		procs int
		why   string
	}{
		{"connect", func() { c = dial(t, s.config()) }, 2, "sshd's connection process and its pre-authentication child (a root login has no post-login child)"},
		{"first command", run(plain), 2, "the shell's session (exec sh), then the command's job: a setsid'd sh, which the shell waits for"},
		{"a builtin", run(plain), 1, "the job"},
		{"a privileged builtin", run(priv), 1, "the same shell: a root login needs no second one"},
		{"a program", run(remote.Cmd{Command: "/bin/true"}), 2, "the job and the program"},
		{"a batch, plain and privileged", run(plain, priv, plain, priv), 5, "one job, one subshell per command"},
		{"a batch of programs run by exec", run(remote.Cmd{Command: "exec /bin/true"}, remote.Cmd{Command: "exec /bin/true", Privileged: true}), 3,
			"one job, one subshell per command that becomes the program"},
		{"an upload", func() {
			if err := c.Upload(ctx, s.dir+"/uploaded", strings.NewReader("content\n"), 0o644, true); err != nil {
				t.Fatal(err)
			}
		}, 8, "a session of its own (it has input), which becomes the upload script's sh; then mktemp, cat, wc, chmod, mv, and rm and rmdir on the way out"},
	}
	for _, st := range steps {
		if n := s.processes(st.do); n != st.procs {
			t.Errorf("%s: %d processes on the host, want %d (%s)", st.name, n, st.procs, st.why)
		}
	}
	if st := c.Stats(); st.Dials != 1 || st.Sessions != 2 || st.Batches != 2 {
		t.Errorf("stats %+v, want one connection, two sessions (one shell for both privileges, one upload), two batches", st)
	}
}
