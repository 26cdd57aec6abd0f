package winsim

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab/wsman"
	"onboard/internal/powershell"
)

func TestPSJSONIsWindowsPowerShells(t *testing.T) {
	got := psJSON(field{"name", `CORP\o'brien <x> & "y"` + "\r\n\tZażółć\x01"}, field{"n", -1978335212}, field{"ok", true}, field{"z", nil})
	want := `{"name":"CORP\\o\u0027brien \u003cx\u003e \u0026 \"y\"\r\n\tZażółć\u0001","n":-1978335212,"ok":true,"z":null}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCLIXMLDecodesToTheRecord(t *testing.T) {
	e := &psError{Command: "Add-LocalGroupMember", Message: "Principal CORP\\o'bri$en`; <Zażółć> & _x000A_ was not found.",
		Statement: "Add-LocalGroupMember -Group $in.group", Category: "ObjectNotFound", Target: "x", Exception: "PrincipalNotFoundException",
		ErrorID: "PrincipalNotFound,Microsoft.PowerShell.Commands.AddLocalGroupMemberCommand"}
	script := "# onboard-op: x\n$a = 1\n  Add-LocalGroupMember -Group $in.group -Member $in.member\n"
	got := powershell.DecodeCLIXML(clixml(e.lines(script)))
	want := "Add-LocalGroupMember : Principal CORP\\o'bri$en`; <Zażółć> & _x000A_ was not found.\n" +
		"At line:3 char:3\n" +
		"+   Add-LocalGroupMember -Group $in.group -Member $in.member\n" +
		"+   ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n" +
		"    + CategoryInfo          : ObjectNotFound: (x:String) [Add-LocalGroupMember], PrincipalNotFoundException\n" +
		"    + FullyQualifiedErrorId : PrincipalNotFound,Microsoft.PowerShell.Commands.AddLocalGroupMemberCommand"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWildcard(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{`\\print01\Office 2F`, `\\PRINT01\office 2f`, true},
		{"Microsoft IPP*", "Microsoft IPP Class Driver", true},
		{"HP ?aser", "HP Laser", true},
		{`\\p\Office [2F]`, `\\p\Office [2F]`, false}, // [2F] is a set: 2 or F
		{`\\p\Office [2F]`, `\\p\Office F`, true},
		{"Office `[2F`]", "Office [2F]", true},
		{"a[b-d]e", "ace", true},
		{"a[b-d]e", "aze", false},
		{"abc", "abcd", false},
	} {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

// The layout of winget's tables, as in its issues and docs: one space
// after the widest cell of a column.
func TestWingetTable(t *testing.T) {
	got := strings.Join(wingetTable([]string{"Name", "Id", "Version", "Match", "Source"},
		[][]string{{"HWiNFO®", "REALiX.HWiNFO", "8.22", "Moniker: hwinfo", "winget"}}), "\n")
	want := "Name    Id            Version Match           Source\n" +
		"----------------------------------------------------\n" +
		"HWiNFO® REALiX.HWiNFO 8.22    Moniker: hwinfo winget"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPaths(t *testing.T) {
	for in, want := range map[string]string{
		`c:\Acme\.\x\..\y\`: `C:\Acme\y`,
		`C:/Acme//b`:        `C:\Acme\b`,
		`c:`:                `C:\`,
		`\\srv\share\a\..`:  `\\srv\share`,
	} {
		if got := normPath(in); got != want {
			t.Errorf("normPath(%q) = %q, want %q", in, got, want)
		}
	}
	if parentPath(`C:\Acme`) != `C:\` || parentPath(`C:\`) != `C:\` || baseName(`C:\Acme\x.txt`) != "x.txt" {
		t.Error("parentPath/baseName")
	}
	f := newFS()
	if err := f.writeFile(`C:\Nope\x`, nil); err != errNoDirectory {
		t.Errorf("write into a missing directory: %v", err)
	}
	if !f.mkdirAll(`c:\acme\Deep`) || !f.isDir(`C:\ACME\deep`) || f.writeFile(`C:\Acme\deep\F.txt`, []byte("x")) != nil || f.file(`c:\acme\DEEP\f.TXT`) == nil {
		t.Error("case-insensitive file system")
	}
}

func TestCommandSubset(t *testing.T) {
	h := New(Config{})
	run := func(text string) (*psRun, *psError) {
		r := &psRun{h: h}
		return r, r.run(text)
	}
	r, e := run("mkdir 'C:\\A b'; Set-Content 'C:\\A b\\f.txt' 'Zażółć €' ; Write-Output 'one' \"two\"\n# comment\nTest-Path -LiteralPath 'C:\\A b\\f.txt' -PathType Leaf")
	if e != nil {
		t.Fatal(e)
	}
	if out := r.out.String(); !strings.Contains(out, "d-----") || !strings.HasSuffix(out, "one\r\ntwo\r\nTrue\r\n") {
		t.Errorf("output %q", out)
	}
	// Windows PowerShell 5.1 writes Set-Content in the ANSI code page.
	if got := string(h.fs.file(`C:\A b\f.txt`).data); got != "Za?\xf3?? \x80\r\n" {
		t.Errorf("Set-Content wrote %q", got)
	}
	// [bool] of the last output, as command-check's unless reads it.
	for text, want := range map[string]bool{
		"Test-Path 'C:\\A b'": true, "Test-Path 'C:\\nope'": false, "Write-Output 'x' ''": false, "Write-Output 'False'": true,
		"New-Item -ItemType Directory -Path 'C:\\N'": true, "Set-Content 'C:\\A b\\g.txt' 'x'": false,
	} {
		if r, e := run(text); e != nil || r.lastTrue() != want {
			t.Errorf("%s: [bool] of the last output %v, want %v (%v)", text, r.lastTrue(), want, e)
		}
	}
	r, e = run("Write-Output 'a'; exit 4; Write-Output 'b'")
	if e != nil || !r.exited || r.code != 4 {
		t.Errorf("exit: %+v %v", r, e)
	}
	for _, bad := range []string{"Get-Process", "Write-Output $x.Length", "Write-Output a\"b\"", "Write-Output \"a\"b", "Write-Output (1)", "Set-Content -Path 'C:\\x' -Value (Get-Date)", "Remove-Item 'C:\\A b' -Recurse"} {
		if _, e := run(bad); e == nil || !strings.Contains(e.Message, "winsim: unsupported command") {
			t.Errorf("%s: %v", bad, e)
		}
	}
	if _, e := run("Set-Content -Path 'C:\\Nope\\x.txt' -Value 'x'"); e == nil || !strings.Contains(e.Message, "Could not find a part of the path 'C:\\Nope\\x.txt'.") {
		t.Errorf("Set-Content into a missing directory: %v", e)
	}
	if _, e := run("New-Item -ItemType Directory -Path 'C:\\A b'"); e == nil || !strings.Contains(e.Message, "already exists") {
		t.Errorf("New-Item without -Force on an existing directory: %v", e)
	}
}

// Served by wsman.Server.Listen instead of Host.Listen, a restarting host
// cannot refuse connections: its commands fail at once instead.
func TestCommandsFailWhileDown(t *testing.T) {
	h := New(Config{RebootTime: 300 * time.Millisecond, ShutdownDelay: 50 * time.Millisecond})
	defer h.Close()
	run := func(line string) (int, string, string) {
		var out, errb bytes.Buffer
		code := h.Run(context.Background(), wsman.Command{CommandLine: line, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		return code, out.String(), errb.String()
	}
	restart, _ := powershell.Script{Op: "win-restart", Body: "Restart-Computer -Force"}.Command()
	if code, out, _ := run(restart); code != 0 || out != "{\"restarting\":true}\r\n" {
		t.Fatalf("win-restart: %d %q", code, out)
	}
	boot := h.State().BootTime
	deadline := time.Now().Add(5 * time.Second)
	for !h.Down() {
		if time.Now().After(deadline) {
			t.Fatal("never went down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, _, errOut := run("hostname"); code != 1 || !strings.Contains(errOut, "WIN1 is restarting") {
		t.Errorf("hostname while down: %d %q", code, errOut)
	}
	for h.Down() {
		if time.Now().After(deadline) {
			t.Fatal("never came back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := h.State(); st.Reboots != 1 || !st.BootTime.After(boot) {
		t.Errorf("after: %+v", st)
	}
	if code, out, _ := run("hostname"); code != 0 || out != "WIN1\r\n" {
		t.Errorf("hostname after: %d %q", code, out)
	}
}

// winget-check's parsing against winget's tables: single spaces between
// columns (where splitting on runs of spaces fails), spinner frames, a
// trailing count, an id cut short, a name of wide characters.
func TestParseWingetList(t *testing.T) {
	h := New(Config{
		Packages:  map[string]Package{"Acme.Chat": {Name: "Acme Chat for Windows (64-bit)", Version: "3.1.0"}},
		Installed: map[string]string{"Acme.Chat": "3.1.0.0"},
	})
	lines, code := h.wingetList("acme.chat")
	text := strings.Join(lines, "\n")
	if code != 0 || !strings.HasPrefix(text, "   - \n   \\ \n") || !strings.Contains(text, "Acme Chat for Windows (64-bit) Acme.Chat 3.1.0.0") {
		t.Fatalf("winget list: %d\n%s", code, text)
	}
	if got := parseWingetList(lines, "Acme.Chat"); got != "3.1.0.0" {
		t.Errorf("version %q", got)
	}
	if lines, code := h.wingetList("No.Such"); code != wingetNoPackage || parseWingetList(lines, "No.Such") != "" {
		t.Errorf("not installed: %d %q", code, lines)
	}
	for _, tt := range []struct {
		table, id, want string
	}{
		{"Name      Id        Version Available Source\n" +
			"---------------------------------------------\n" +
			"Acme Chat Acme.Chat 3.1.0   3.2.0     winget\n" +
			"1 package(s)", "acme.chat", "3.1.0"},
		{"Name               Id          Version\n" +
			"-------------------------------------\n" +
			"Acme Chat Enterpr… Acme.Chat.… 3.1.0", "Acme.Chat.Enterprise", "3.1.0"},
		{"Name                 Id         Version Source\n" +
			"---------------------------------------------\n" +
			"アクメ チャット 漢字 Acme.Kanji 5.2.1   winget", "Acme.Kanji", "5.2.1"},
		{"Name      Id        Version\n" +
			"---------------------------\n" +
			"Acme Chat Acme.Chat 3.1.0", "Acme.Other", ""},
		{"No installed package found matching input criteria.", "Acme.Chat", ""},
	} {
		if got := parseWingetList(strings.Split(tt.table, "\n"), tt.id); got != tt.want {
			t.Errorf("%s in\n%s\ngot %q, want %q", tt.id, tt.table, got, tt.want)
		}
	}
}

// choco list as Chocolatey 1 and 2 answer the forms the script may send.
func TestChocoList(t *testing.T) {
	for _, tt := range []struct {
		version string
		args    []string
		want    []string
		code    int
	}{
		{"2.4.3", []string{"list", "--exact", "acme-chat", "--limit-output"}, []string{"acme-chat|3.1.0"}, 0},
		{"2.4.3", []string{"list", "--exact", "nosuch", "--limit-output"}, nil, 0},
		{"2.4.3", []string{"list", "--local-only", "--exact", "acme-chat", "--limit-output"},
			[]string{"Invalid argument --local-only. This argument has been removed from the list command and cannot be used."}, 1},
		{"1.4.0", []string{"list", "--local-only", "--exact", "acme-chat", "--limit-output"}, []string{"acme-chat|3.1.0"}, 0},
		// Chocolatey 1 without --local-only searches the source.
		{"1.4.0", []string{"list", "--exact", "acme-drive", "--limit-output"}, []string{"acme-drive|2.0.0"}, 0},
		{"1.4.0", []string{"list", "--local-only", "--exact", "acme-drive"}, []string{"Chocolatey v1.4.0", "0 packages installed."}, 0},
	} {
		h := New(Config{ChocolateyVersion: tt.version, Installed: map[string]string{"Acme-Chat": "3.1.0"},
			Packages: map[string]Package{"acme-drive": {Version: "2.0.0"}}})
		got, code := h.chocoList(tt.args)
		if code != tt.code || strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("choco %s %q: %d %q, want %d %q", tt.version, tt.args, code, got, tt.code, tt.want)
		}
	}
}

// TestPSStrings: winsim reads strings as Windows PowerShell 5.1 does, so a
// value pasted into code would run here as on Windows.
func TestPSStrings(t *testing.T) {
	vars := map[string]string{"__onboard_1": "O'Brien \"$(New-Item -ItemType File -Path C:\\inj)\" `n ${x}"}
	tests := []struct{ name, text, want string }{
		{"single quotes", `Write-Output 'it''s $x $(y) ` + "`n" + `'`, "it's $x $(y) `n"},
		{"unicode single quotes", "Write-Output \u2018a\u2019\u2019b\u201A \u201Bc'", "a\u2019b\r\nc"},
		{"double quotes doubled", `Write-Output "x""y"`, `x"y`},
		{"unicode double quotes", "Write-Output \u201Cq\u201D\u201Dr\u201E", "q\u201Dr"},
		{"backtick escapes", "Write-Output \"a`tb`nc`$d`\"e``f`eg`0h\"", "a\tb\nc$d\"e`feg\x00h"},
		{"variable in double quotes", `Write-Output "Hi ${__onboard_1}!"`, "Hi " + vars["__onboard_1"] + "!"},
		{"plain variable in double quotes", `Write-Output "Hi $__onboard_1."`, "Hi " + vars["__onboard_1"] + "."},
		{"variable names are case-insensitive", `Write-Output "$__ONBOARD_1"`, vars["__onboard_1"]},
		{"variable argument", `Write-Output $__onboard_1`, vars["__onboard_1"]},
		{"variable statement", `$__onboard_1`, vars["__onboard_1"]},
		{"variable in a bare word", `Write-Output C:\x\$__onboard_1`, `C:\x\` + vars["__onboard_1"]},
		{"unknown variable is empty", `Write-Output "[$nope]"`, "[]"},
		{"lone dollar", `Write-Output "cost: $ 5 $"`, "cost: $ 5 $"},
		{"subexpression", `Write-Output "n: $(Write-Output a b)!"`, "n: a b!"},
		{"nested strings", `Write-Output "a $("b $('c') d") e"`, "a b c d e"},
		{"double-quoted here-string", "Write-Output @\"\n'${__onboard_1}' \"q\"\n\"@", "'" + vars["__onboard_1"] + "' \"q\""},
		{"single-quoted here-string", "Write-Output @'\n$(x) ${y}\n'@", "$(x) ${y}"},
		{"block comment", "<# Write-Output 'no' #> Write-Output ok", "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(Config{})
			r := &psRun{h: h, vars: vars}
			if e := r.run(tt.text); e != nil {
				t.Fatal(e)
			}
			if got := strings.TrimSuffix(r.out.String(), "\r\n"); got != tt.want {
				t.Errorf("output %q, want %q", got, tt.want)
			}
			if h.fs.exists(`C:\inj`) {
				t.Errorf("the value was run as code")
			}
		})
	}

	// Pasted into double quotes, the same value runs: the simulator shows
	// an injection.
	h := New(Config{})
	r := &psRun{h: h}
	if e := r.run(`Write-Output "Hi O'Brien $(New-Item -ItemType File -Path C:\inj) ` + "`n" + `"`); e != nil {
		t.Fatal(e)
	}
	if !h.fs.exists(`C:\inj`) {
		t.Errorf("$(New-Item ...) inside double quotes did not run")
	}
	if out := r.out.String(); out != "Hi O'Brien C:\\inj \n\r\n" {
		t.Errorf("output %q", out)
	}
	for _, bad := range []string{`Write-Output "open`, `Write-Output 'open`, `Write-Output "$(Write-Output x"`, "Write-Output @'\nx"} {
		if e := (&psRun{h: h}).run(bad); e == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
