package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// fileDiff is a diff as step.File makes it, with an escape sequence in
// the content that must reach the screen escaped.
const fileDiff = "--- before: /etc/motd on ws1\n+++ after: /etc/motd\n@@ -1,2 +1,2 @@\n Welcome\n-to ws1\x1b[2J\n+to ws1, Ada\n"

// TestDiffText: the plan and the run's report show a file step's diff
// under it, coloured as git colours it when colour is asked for and
// allowed, plain otherwise; the content's own control characters are
// escaped either way, and a secret is scrubbed.
func TestDiffText(t *testing.T) {
	secret.New("diff-secret-pw")
	p := samplePlan()
	p.Steps = append(p.Steps, &plan.Step{ID: "file-motd", Kind: plan.KindFile, Hire: "E1001", Host: "ws1", Title: "Write /etc/motd on ws1",
		Action: plan.ActionUpdate, Reason: "/etc/motd: content differs", Diff: fileDiff + "+pw diff-secret-pw\n"})
	run := sampleRun()
	run.Steps = append(run.Steps, result.Step{ID: "file-motd", Kind: "file", Hire: run.Hires[0].ID, Host: "ws1", Title: "Write /etc/motd on ws1",
		Outcome: result.Changed, Changed: "wrote /etc/motd (12 bytes, mode 644)", Reason: "/etc/motd: content differs", Diff: fileDiff,
		Started: t0, Duration: 40 * time.Millisecond})
	t.Setenv("NO_COLOR", "")
	for _, color := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "color"}[color]
		var pb, rb bytes.Buffer
		if err := (PlanText{Color: color}).Write(&pb, p); err != nil {
			t.Fatal(err)
		}
		if err := (Text{Color: color}).Write(&rb, run); err != nil {
			t.Fatal(err)
		}
		for what, out := range map[string]string{"plan": pb.String(), "report": rb.String()} {
			if strings.Contains(out, "\x1b[2J") || strings.Contains(out, "diff-secret-pw") {
				t.Errorf("%s %s: the content's escape or a secret reached the output", what, name)
			}
			if got := strings.Contains(out, ansiRed+"-to ws1\\x1b[2J"+ansiReset); got != color {
				t.Errorf("%s %s: removed line in red: %v, want %v", what, name, got, color)
			}
		}
		checkGolden(t, "plan-diff-"+name+".txt", pb.Bytes())
		checkGolden(t, "report-diff-"+name+".txt", rb.Bytes())
	}
	var md bytes.Buffer
	if err := (Markdown{}).Write(&md, run); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "### File changes\n\nWrite /etc/motd on ws1:\n\n```diff\n--- before: /etc/motd on ws1\n") {
		t.Errorf("Markdown report without the diff block:\n%s", md.String())
	}
	// A file that is not a terminal gets no colour.
	f, err := os.Create(filepath.Join(t.TempDir(), "plan.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := (PlanText{Color: true}).Write(f, p); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, _ := os.ReadFile(f.Name()); bytes.Contains(b, []byte("\x1b[")) || !bytes.Contains(b, []byte("+to ws1, Ada")) {
		t.Errorf("plan written to a plain file: colour or no diff:\n%s", b)
	}
}
