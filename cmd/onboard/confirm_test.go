package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyOutput collects what onboard writes to the terminal.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (p *ptyOutput) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *ptyOutput) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// onTerminal runs onboard in-process with stdin and stdout on a
// pseudo-terminal; answer, when not "", is typed once the question shows.
func onTerminal(t *testing.T, answer string, args ...string) (code int, screen, stderr string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	out := &ptyOutput{}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, ptmx)
		close(copied)
	}()
	typed := make(chan struct{})
	go func() {
		defer close(typed)
		if answer == "" {
			return
		}
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(out.String(), "(yes/no)") {
			if time.Now().After(deadline) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		_, _ = ptmx.Write([]byte(answer + "\n"))
	}()
	var errb bytes.Buffer
	code = run(context.Background(), args, tty, tty, &errb)
	<-typed
	tty.Close()
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	return code, out.String(), errb.String()
}

// On a terminal, apply shows the plan and asks; only yes applies, and
// --yes (or Terraform's -auto-approve) skips the question. Without a
// terminal it never asks. Whether a run happened is read from the
// journal: a refused apply records none.
func TestApplyConfirmation(t *testing.T) {
	const question = "Apply these changes? Only yes applies them. (yes/no) "
	hire := []string{"-i", filepath.Join("testdata", "cli", "inventory.yaml"), filepath.Join("testdata", "cli", "hire.yaml")}
	for _, tc := range []struct {
		name     string
		terminal bool
		answer   string
		args     []string
		code     int
		asked    bool
		runs     int
		stderr   string
	}{
		{"no", true, "no", []string{"apply"}, exitFailed, true, 0, `not applied (the answer was "no", not yes): nothing was changed`},
		{"y is not yes", true, "y", []string{"apply"}, exitFailed, true, 0, `the answer was "y"`},
		{"yes", true, "yes", []string{"apply"}, exitUnreachable, true, 1, "unreachable: ws1"},
		{"bare playbook, yes", true, "yes", nil, exitUnreachable, true, 1, "unreachable: ws1"},
		{"bare playbook, no", true, "no", nil, exitFailed, true, 0, "not applied"},
		{"--yes", true, "", []string{"apply", "--yes"}, exitUnreachable, false, 1, "unreachable: ws1"},
		{"-auto-approve", true, "", []string{"apply", "-auto-approve"}, exitUnreachable, false, 1, "unreachable: ws1"},
		{"-o json without --yes", true, "", []string{"apply", "-o", "json"}, exitInvalid, false, 0, "-o json on a terminal applies only with --yes"},
		{"no terminal", false, "", []string{"apply"}, exitUnreachable, false, 1, "unreachable: ws1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			journal := filepath.Join(t.TempDir(), "journal.db")
			args := append(append(append([]string(nil), tc.args...), "--journal", journal, "--retries", "0"), hire...)
			var code int
			var out, errs string
			if tc.terminal {
				code, out, errs = onTerminal(t, tc.answer, args...)
			} else {
				code, out, errs = onboardCLI(args...)
			}
			if code != tc.code || !strings.Contains(errs, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d, stderr with %q\nscreen:\n%s", code, errs, tc.code, tc.stderr, out)
			}
			if asked := strings.Contains(out, question); asked != tc.asked {
				t.Errorf("asked %v, want %v; screen:\n%s", asked, tc.asked, out)
			}
			if tc.asked {
				// The question comes after the whole plan.
				if i, j := strings.Index(out, "Plan: "), strings.Index(out, question); i < 0 || i > j {
					t.Errorf("the question is not after the plan:\n%s", out)
				}
			}
			if _, err := os.Stat(journal); tc.runs == 0 && err != nil {
				return // nothing opened the journal: no run
			}
			_, hist, _ := onboardCLI("history", "--journal", journal, "-o", "json")
			var runs []map[string]any
			if err := json.Unmarshal([]byte(hist), &runs); err != nil {
				t.Fatalf("history: %v: %q", err, hist)
			}
			if len(runs) != tc.runs {
				t.Errorf("%d run(s) in the journal, want %d:\n%s", len(runs), tc.runs, hist)
			}
		})
	}

	// resume applies too: it asks the same question.
	t.Run("resume", func(t *testing.T) {
		journal := filepath.Join(t.TempDir(), "journal.db")
		onboardCLI(append([]string{"apply", "--journal", journal, "--retries", "0"}, hire...)...)
		_, hist, _ := onboardCLI("history", "--journal", journal, "-o", "json")
		var runs []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(hist), &runs); err != nil || len(runs) != 1 {
			t.Fatalf("history: %v: %q", err, hist)
		}
		code, out, errs := onTerminal(t, "no", "resume", runs[0].ID, "--journal", journal, "--retries", "0")
		if code != exitFailed || !strings.Contains(out, question) || !strings.Contains(errs, "not applied") {
			t.Errorf("resume, no: exit %d, stderr %q, screen:\n%s", code, errs, out)
		}
		_, hist, _ = onboardCLI("history", "--journal", journal, "-o", "json")
		if err := json.Unmarshal([]byte(hist), &runs); err != nil || len(runs) != 1 {
			t.Errorf("a resume answered no was recorded: %v: %q", err, hist)
		}
	})
}
