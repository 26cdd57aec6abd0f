package step

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"
	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/secret"
)

// localHost runs commands in a local sh and counts them.
type localHost struct{ runs []string }

func (h *localHost) Run(ctx context.Context, c remote.Cmd) (int, error) {
	h.runs = append(h.runs, c.Command)
	cmd := exec.CommandContext(ctx, "sh", "-c", c.Command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}
func (h *localHost) Upload(context.Context, string, io.Reader, fs.FileMode, bool) error {
	return errors.New("no uploads")
}
func (h *localHost) Close() error { return nil }

// TestFileDiff reads real files through a real shell: a changed file, a
// new one, a link (never followed), a sensitive file (never read), a line
// holding a secret, binary and oversized content.
func TestFileDiff(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret.New("s3cret-bind-pw")
	target := write("shadow", "root:$6$hash-that-must-not-show\n")
	if err := os.Symlink(target, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", maxDiffRead+10)
	tests := []struct {
		name, file, old, new string
		sensitive            bool
		reads                int
	}{
		{name: "changed", file: "motd", old: "Welcome\nto ws1\n", new: "Welcome\nto ws1, Ada\n", reads: 1},
		{name: "new-file", file: "absent", new: "first\nsecond\n", reads: 1},
		{name: "link-not-followed", file: "link", new: "mine\n", reads: 1},
		{name: "sensitive", file: "token", old: "old-token\n", new: "new-token\n", sensitive: true},
		{name: "secret-line", file: "ldap.conf", old: "uri ldap://lab\nbindpw s3cret-bind-pw\n", new: "uri ldaps://lab\nbindpw s3cret-bind-pw\n", reads: 1},
		{name: "binary", file: "blob", old: "a\x00b", new: "a\x00c", reads: 1},
		{name: "too-large", file: "big", old: big, new: "small\n", reads: 1},
		{name: "same-content", file: "same", old: "same\n", new: "same\n", reads: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			if tc.old != "" {
				write(tc.file, tc.old)
			}
			h := &localHost{}
			x := &Exec{T: &Target{Host: &plan.Host{Name: "ws1"}, Comm: h}}
			s := &plan.Step{Kind: plan.KindFile, File: &plan.FileSpec{Path: p, Content: tc.new, Sensitive: tc.sensitive}}
			got, err := File{}.Diff(context.Background(), x, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.runs) != tc.reads {
				t.Errorf("%d commands ran, want %d: %q", len(h.runs), tc.reads, h.runs)
			}
			if strings.Contains(got, "hash-that-must-not-show") || strings.Contains(got, "s3cret") || strings.Contains(got, "-token") {
				t.Errorf("the diff shows what it must not:\n%s", got)
			}
			golden.Assert(t, filepath.Join("testdata", "diff", tc.name+".diff"), []byte(strings.ReplaceAll(got, dir, "/DIR")))
		})
	}
}

// TestFileDiffProbes holds that the read rides in the host's batch: a
// prefetched read is taken, and no command runs on its own.
func TestFileDiffProbes(t *testing.T) {
	h := &batchHost{}
	tg := &Target{Host: &plan.Host{Name: "ws1"}, Comm: h}
	s := &plan.Step{Kind: plan.KindFile, File: &plan.FileSpec{Path: "/etc/motd", Content: "hello\n"}}
	probes := append(File{}.Probes(s), File{}.DiffProbes(s)...)
	if _, err := tg.Prefetch(context.Background(), probes); err != nil {
		t.Fatal(err)
	}
	x := &Exec{T: tg, Probed: true}
	if _, err := (File{}).Diff(context.Background(), x, s); err == nil {
		// batchHost answers "batch:<command>", which is no file state.
		t.Fatal("want the batch host's answer refused as unexpected")
	} else if !strings.Contains(err.Error(), "batch:") {
		t.Fatalf("the read did not come from the batch: %v", err)
	}
	if h.runs != 0 || h.batches != 1 {
		t.Errorf("%d commands on their own and %d batches, want 0 and 1", h.runs, h.batches)
	}
	sens := &plan.Step{Kind: plan.KindFile, File: &plan.FileSpec{Path: "/etc/token", Sensitive: true}}
	if p := (File{}).DiffProbes(sens); len(p) != 0 {
		t.Errorf("a sensitive file is read for a diff: %v", p)
	}
}
