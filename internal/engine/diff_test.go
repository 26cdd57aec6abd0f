package engine

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/result"
	"onboard/internal/step"
)

// batchSh is shComm that also runs batches (each command in turn, as the
// SSH client does in one round trip) and uploads to local files, counting
// the commands run on their own and the batches.
type batchSh struct {
	shComm
	runs, batches int
	cmds          []string
}

func (c *batchSh) Run(ctx context.Context, cmd remote.Cmd) (int, error) {
	c.runs++
	c.cmds = append(c.cmds, cmd.Command)
	return c.shComm.Run(ctx, cmd)
}

func (c *batchSh) RunBatch(ctx context.Context, cmds []remote.Cmd) ([]int, error) {
	c.batches++
	codes := make([]int, len(cmds))
	for i, cmd := range cmds {
		c.cmds = append(c.cmds, cmd.Command)
		code, err := c.shComm.Run(ctx, cmd)
		if err != nil {
			return nil, err
		}
		codes[i] = code
	}
	return codes, nil
}

func (c *batchSh) Upload(_ context.Context, path string, r io.Reader, mode fs.FileMode, _ bool) error {
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), mode)
}

type batchShDialer struct{ c *batchSh }

func (d batchShDialer) Dial(context.Context, *plan.Host) (remote.Communicator, error) {
	return d.c, nil
}

// TestDiffReadsRideInTheBatch: with Diff, the file steps that would change
// carry their diff and the reads of the old content ride in the batch of
// the checks' reads (no command on its own); without it, nothing is read
// for a diff. An apply's result carries the diff of what it changed; the
// handover re-check none.
func TestDiffReadsRideInTheBatch(t *testing.T) {
	dir := t.TempDir()
	motd := filepath.Join(dir, "motd")
	same := filepath.Join(dir, "same")
	fresh := filepath.Join(dir, "fresh")
	p := &plan.Plan{Hosts: map[string]*plan.Host{"h": {Name: "h"}}, Hires: []plan.Hire{{ID: "E1", Host: "h"}}}
	for _, f := range []struct{ id, path, content string }{{"motd", motd, "hello Ada\n"}, {"same", same, "same\n"}, {"fresh", fresh, "new\n"}} {
		p.Steps = append(p.Steps, &plan.Step{ID: f.id, Kind: plan.KindFile, Hire: "E1", Host: "h", Timeout: plan.Duration(10 * time.Second),
			File: &plan.FileSpec{Path: f.path, Content: f.content, Mode: "0644"}})
	}
	reset := func() {
		_ = os.Remove(fresh)
		for path, content := range map[string]string{motd: "hello\n", same: "same\n"} {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_ = os.Chmod(path, 0o644)
		}
	}
	for _, tc := range []struct {
		name string
		diff bool
		mode Mode
	}{{"dry-run", false, DryRun}, {"dry-run-diff", true, DryRun}, {"apply-diff", true, Apply}} {
		t.Run(tc.name, func(t *testing.T) {
			reset()
			c := &batchSh{}
			e := &Engine{Dialer: batchShDialer{c}, Kinds: map[string]step.Kind{plan.KindFile: step.File{}}, Parallel: 1, Diff: tc.diff}
			r := e.Run(context.Background(), p, tc.mode)
			got := byID(r)
			if tc.mode == DryRun && (c.runs != 0 || c.batches != 1) {
				t.Errorf("%d commands on their own and %d batches, want 0 and 1", c.runs, c.batches)
			}
			reads := 0
			for _, cmd := range c.cmds {
				if strings.Contains(cmd, "head -c") {
					reads++
				}
			}
			// One read per file step (the one in place too: it rides in
			// the batch before the checks say which change).
			if want := map[bool]int{false: 0, true: 3}[tc.diff]; tc.mode == DryRun && reads != want {
				t.Errorf("%d reads of content, want %d", reads, want)
			}
			wantDiff := map[string]string{}
			if tc.diff {
				wantDiff["motd"] = "-hello\n+hello Ada\n"
				wantDiff["fresh"] = "@@ -0,0 +1 @@\n+new\n"
			}
			for _, id := range []string{"motd", "same", "fresh"} {
				s := got[id]
				if want := wantDiff[id]; (want == "") != (s.Diff == "") || !strings.Contains(s.Diff, want) {
					t.Errorf("%s (%s): diff %q, want one holding %q", id, s.Outcome, s.Diff, want)
				}
			}
			if tc.mode == Apply {
				if got["motd"].Outcome != result.Changed {
					t.Errorf("motd: %s %+v", got["motd"].Outcome, got["motd"].Failure)
				}
				for _, h := range r.Handover {
					if h.Diff != "" {
						t.Errorf("handover re-check of %s has a diff", h.ID)
					}
				}
			}
		})
	}
}
