package winsim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab/winsim"
	"onboard/internal/plan"
	"onboard/internal/step"
)

// TestWinFileDiff: win-file's --diff reads the file once over WinRM (the
// file-read script): a new file shows every line added, a changed one its
// lines, a sensitive one nothing of its content.
func TestWinFileDiff(t *testing.T) {
	t.Parallel()
	l := startLab(t, winsim.Config{Dirs: []string{`C:\Acme`}})
	path := `C:\Acme\motd.txt`
	s := &plan.Step{ID: "file", Kind: plan.KindWinFile, File: &plan.FileSpec{Path: path, Content: "Welcome\r\nto WIN1\r\n"}}
	diff := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		d, err := step.WinFile{}.Diff(ctx, l.exec(nil), s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := diff(); !strings.Contains(d, `before: C:\Acme\motd.txt on `) || !strings.Contains(d, "(absent)") ||
		!strings.Contains(d, "@@ -0,0 +1,2 @@\n+Welcome\n+to WIN1\n") {
		t.Errorf("new file:\n%q", d)
	}
	converge(t, l, nil, s)
	if d := diff(); d != "" {
		t.Errorf("in place, yet a diff:\n%s", d)
	}
	s.File.Content = "Welcome\r\nto WIN1, Ada\r\n"
	if d := diff(); !strings.Contains(d, "-to WIN1\n+to WIN1, Ada\n") || strings.Contains(d, "(absent)") {
		t.Errorf("changed file:\n%q", d)
	}
	s.File.Sensitive = true
	if d := diff(); !strings.Contains(d, step.SensitiveRedacted) || strings.Contains(d, "WIN1") {
		t.Errorf("sensitive file:\n%s", d)
	}
}
