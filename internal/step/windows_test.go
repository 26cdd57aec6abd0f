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

// A PowerShell 5.1 error record is its message, then 300-450 bytes of
// position and category; errorMessages keeps the messages only.
func TestErrorMessages(t *testing.T) {
	stderr := "Add-Computer : Computer 'WIN1' failed to join domain 'corp.example.test' from its current workgroup 'WORKGROUP' with following error\n" +
		"message: The user name or password is incorrect.\n" +
		"At line:15 char:1\n" +
		"+ Add-Computer @params\n" +
		"+ ~~~~~~~~~~~~~~~~~~~~\n" +
		"    + CategoryInfo          : OperationStopped: (WIN1:String) [Add-Computer], InvalidOperationExcep\n" +
		"   tion\n" +
		"    + FullyQualifiedErrorId : FailToJoinDomainFromWorkgroup,Microsoft.PowerShell.Commands.AddComputerCommand\n" +
		"\n" +
		"Get-Item : Cannot find path 'C:\\nope' because it does not exist.\n" +
		"At C:\\Temp\\x.ps1:3 char:5\n" +
		"+     Get-Item C:\\nope\n" +
		"+     ~~~~~~~~~~~~~~~~\n" +
		"    + CategoryInfo          : ObjectNotFound: (C:\\nope:String) [Get-Item], ItemNotFoundException\n" +
		"    + FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand\n" +
		"a native program's own stderr\n" +
		"boom\n" +
		"    + CategoryInfo          : NotSpecified: (:) [], RuntimeException\n" +
		"    + FullyQualifiedErrorId : boom"
	want := "Add-Computer : Computer 'WIN1' failed to join domain 'corp.example.test' from its current workgroup 'WORKGROUP' with following error\n" +
		"message: The user name or password is incorrect.\n" +
		"\n" +
		"Get-Item : Cannot find path 'C:\\nope' because it does not exist.\n" +
		"a native program's own stderr\n" +
		"boom"
	if got := errorMessages(stderr); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, s := range []string{"", "plain text\n  indented\n+ plus", "winsim: unknown op x"} {
		if got := errorMessages(s); got != strings.TrimSpace(s) {
			t.Errorf("errorMessages(%q) = %q", s, got)
		}
	}
}

func TestWindowsVersionMatches(t *testing.T) {
	for _, tt := range []struct {
		installed, want string
		ok              bool
	}{
		{"3.1.0.0", "3.1.0", true},
		{"3.1.0", "3.1.0.0", true},
		{"3.1", "3.1.0", true},
		{"3.1.0.00", "3.1", true},
		{"3.1.0", "3.1.0", true},
		{"3.1.0.1", "3.1.0", false},
		{"3.10.0", "3.1.0", false},
		{"13.1.0", "3.1.0", false},
		{"3.0.0.0", "3", true},
		{"0.0", "0", true},
		{"3.1.0", "", true},
		{"", "", false},
		{"", "3.1.0", false},
		{"2024.10.0.0", "2024.10", true},
	} {
		if got := WindowsVersionMatches(tt.installed, tt.want); got != tt.ok {
			t.Errorf("WindowsVersionMatches(%q, %q) = %v", tt.installed, tt.want, got)
		}
	}
}

func TestCommandSummary(t *testing.T) {
	for run, want := range map[string]string{
		"New-Item -ItemType Directory -Path 'C:\\Acme' -Force":                    "New-Item -ItemType Directory -Path 'C:\\Acme' -Force",
		"  mkdir C:\\x\nSet-Content C:\\x\\y 'z'\n":                               "mkdir C:\\x …",
		strings.Repeat("Write-Output 'abcdefghij'; ", 5):                          "Write-Output 'abcdefghij'; Write-Output 'abcdefghij'; Write- …",
		"Zażółć gęślą jaźń Zażółć gęślą jaźń Zażółć gęślą jaźń Zażółć gęślą jaźń": "Zażółć gęślą jaźń Zażółć gęślą jaźń Zażółć gęślą jaźń Zażółć …",
	} {
		if got := commandSummary(run); got != want {
			t.Errorf("commandSummary(%q) = %q, want %q", run, got, want)
		}
	}
}
