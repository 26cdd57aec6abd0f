package step

import (
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"
	"onboard/internal/powershell"
)

// Every script the Windows kinds can generate is kept as a golden file, so
// a reviewer can read it, and is checked by a real PowerShell grammar
// (internal/powershell's TestGrammar parses every testdata/*.ps1).
func TestWindowsScriptsGolden(t *testing.T) {
	scripts := WindowsScripts()
	if len(scripts) < 16 {
		t.Fatalf("only %d scripts", len(scripts))
	}
	for op, s := range scripts {
		text := s.Text()
		if !strings.HasPrefix(text, "# onboard-op: "+op+"\n") {
			t.Errorf("%s: no op line: %q", op, text[:40])
		}
		// The sample values contain quotes: they must reach PowerShell as
		// data, never as script text.
		if strings.Contains(s.Body, "o'brien") {
			t.Errorf("%s: a value is pasted into the script body", op)
		}
		gotOp, _, err := powershell.ParseScript(text)
		if err != nil || gotOp != op {
			t.Errorf("%s: ParseScript = %q, %v", op, gotOp, err)
		}
		golden.Assert(t, filepath.Join("testdata", "windows", op+".ps1"), []byte(text))
	}
}

func TestJoinSecretsStayOffTheScript(t *testing.T) {
	s := WindowsScripts()["win-join"]
	if !strings.Contains(s.Body, "[Console]::In.ReadToEnd()") || strings.Contains(s.Text(), "password\":") {
		t.Errorf("the join credentials must come from stdin")
	}
	if cmd, stdin := s.Command(); stdin != nil || strings.Contains(cmd, "password") {
		t.Errorf("the join script must fit -EncodedCommand so stdin is free for the credentials")
	}
}
