package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"onboard/internal/remote"
)

// batchCase is one command of a batch and what it must give.
type batchCase struct {
	command        string
	code           int
	stdout, stderr string
}

// TestRunBatch runs commands as one job and gets each one's own output and
// exit code, with nothing one command does reaching the next.
func TestRunBatch(t *testing.T) {
	s := startSSHD(t)
	cases := []batchCase{
		{"echo one", 0, "one\n", ""},
		{"echo err >&2; exit 3", 3, "", "err\n"},
		{"cd /tmp; x=1; pwd", 0, "/tmp\n", ""},
		{`pwd | grep -qx /tmp && echo leaked; echo "x=${x:-unset}"`, 0, "x=unset\n", ""},
		{"if then fi", 2, "", "*"}, // a syntax error fails alone
		{"printf 'no newline'", 0, "no newline", ""},
		{"exit 7", 7, "", ""},
		{"exec true", 0, "", ""},
		{"cat", 0, "", ""}, // stdin is closed: cat ends at once
		{"test -e /nonexistent", 1, "", ""},
		{`echo "it's \"quoted\" \$HOME"`, 0, "it's \"quoted\" $HOME\n", ""},
		{"echo last", 0, "last\n", ""},
	}
	for _, perCommand := range []bool{false, true} {
		t.Run(fmt.Sprintf("session per command %v", perCommand), func(t *testing.T) {
			cfg := s.config()
			cfg.SessionPerCommand = perCommand
			c := dial(t, cfg)
			for round := range 2 { // the shell serves a second batch
				runBatchCases(t, c, cases)
				if st := c.Stats(); !perCommand && (st.Sessions != 1 || st.Batches != int64(round+1)) {
					t.Errorf("round %d: stats %+v, want one session and %d batches", round, st, round+1)
				}
			}
			if r := run(t, c, "echo after", nil); r.err != nil || r.stdout != "after\n" {
				t.Fatalf("after the batches: %+v", r)
			}
		})
	}
}

func runBatchCases(t *testing.T, c *Client, cases []batchCase) {
	t.Helper()
	outs, errs := make([]bytes.Buffer, len(cases)), make([]bytes.Buffer, len(cases))
	cmds := make([]remote.Cmd, len(cases))
	for i, bc := range cases {
		cmds[i] = remote.Cmd{Command: bc.command, Stdout: &outs[i], Stderr: &errs[i]}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	codes, err := c.RunBatch(ctx, cmds)
	if err != nil {
		t.Fatal(err)
	}
	for i, bc := range cases {
		if codes[i] != bc.code || outs[i].String() != bc.stdout || (bc.stderr != "*" && errs[i].String() != bc.stderr) {
			t.Errorf("%q: code %d stdout %q stderr %q, want %d %q %q", bc.command, codes[i], outs[i].String(), errs[i].String(), bc.code, bc.stdout, bc.stderr)
		}
	}
}

// TestRunBatchPrivileged: a root login's privileged and plain commands
// share one shell and one job, each keeping its own result.
func TestRunBatchPrivileged(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	var a, b, d bytes.Buffer
	codes, err := c.RunBatch(context.Background(), []remote.Cmd{
		{Command: "echo a", Stdout: &a},
		{Command: "echo b; exit 4", Privileged: true, Stdout: &b},
		{Command: "echo d", Stdout: &d},
	})
	if err != nil || fmt.Sprint(codes) != "[0 4 0]" || a.String() != "a\n" || b.String() != "b\n" || d.String() != "d\n" {
		t.Fatalf("codes %v err %v outputs %q %q %q", codes, err, a.String(), b.String(), d.String())
	}
	// The login user is root: privileged commands share its shell, so the
	// batch is one job in one shell.
	if st := c.Stats(); st.Sessions != 1 || st.Batches != 1 {
		t.Errorf("stats %+v, want one job in one session", st)
	}
}

// TestRunBatchStopsEarly: a command that kills the whole job leaves the
// commands after it unrun, said as such, and the shell serves on.
func TestRunBatchStopsEarly(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	var first, killer, after bytes.Buffer
	codes, err := c.RunBatch(context.Background(), []remote.Cmd{
		{Command: "echo first", Stdout: &first},
		{Command: "echo partial; kill -KILL 0", Stdout: &killer},
		{Command: "echo never", Stdout: &after},
	})
	if err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("err %v, want the batch said stopped", err)
	}
	if codes[0] != 0 || first.String() != "first\n" || codes[1] != -1 || codes[2] != -1 || after.Len() != 0 {
		t.Fatalf("codes %v, outputs %q %q %q", codes, first.String(), killer.String(), after.String())
	}
	if killer.String() != "partial\n" {
		t.Errorf("the stopped command's output %q, want what it printed", killer.String())
	}
	if r := run(t, c, "echo next", nil); r.err != nil || r.stdout != "next\n" {
		t.Fatalf("after the stopped batch: %+v", r)
	}
	if st := c.Stats(); st.Sessions != 1 {
		t.Errorf("stats %+v: the shell did not survive", st)
	}
}

// TestRunBatchCancel: a cancelled batch's processes are killed and the
// shell serves the next command.
func TestRunBatchCancel(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	sleep := fmt.Sprintf("30.%06d", time.Now().Nanosecond()/1000)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err := c.RunBatch(ctx, []remote.Cmd{{Command: "true"}, {Command: "trap '' TERM; sleep " + sleep + " & wait"}, {Command: "true"}})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want context.DeadlineExceeded", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for processRunning("sleep", sleep) {
		if time.Now().After(deadline) {
			t.Fatalf("sleep %s still runs", sleep)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	if code, err := c.Run(ctx, remote.Cmd{Command: "echo again", Stdout: &out}); err != nil || code != 0 || out.String() != "again\n" {
		t.Fatalf("after cancel: %d %v %q", code, err, out.String())
	}
}

// TestRunBatchRefusesStdin: a batch is for reads without input.
func TestRunBatchRefusesStdin(t *testing.T) {
	s := startSSHD(t)
	c := dial(t, s.config())
	_, err := c.RunBatch(context.Background(), []remote.Cmd{{Command: "cat", Stdin: strings.NewReader("x")}})
	if err == nil || !strings.Contains(err.Error(), "stdin") {
		t.Fatalf("%v, want a refusal naming stdin", err)
	}
}
