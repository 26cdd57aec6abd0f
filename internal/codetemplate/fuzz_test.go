package codetemplate

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"onboard/internal/powershell"
)

// hostile are values a person field may hold: every quote character sh and
// PowerShell know (the Unicode ones PowerShell honours too), $, backticks,
// separators, newlines, %, and what an injection would look like.
var hostile = []string{
	"O'Brien",
	`Jean "JJ" Dupont`,
	"‘single’ ‚low‛ “double” „low”",
	"$HOME $(touch canary) `touch canary` ${HOME}",
	"'; touch canary; echo '",
	`"; touch canary; echo "`,
	"a;b|c&d&&e||f>g<h",
	"line1\nline2\r\nline3\n",
	"%PATH% %s %d 100%",
	"$(New-Item -ItemType File -Path C:\\canary) `$x `\" `n",
	"\\ \\\\ \\' \\\"",
	"*?[a-z] ~root {a,b}",
	"-n",
	"",
	" leading and trailing ",
	"\t\x1b[31mred\x1b[0m",
	"EOF",
	"Zażółć gęślą jaźń 日本語 😀",
}

func longValue() string { return strings.Repeat("O'Brien \"$(x)\" `y` ; ", 520) } // about 10 KB

// shShapes are ways an author may write a template in sh; each prints the
// value and then "." (so that trailing newlines are kept), and with the
// value v the output must be exactly v+".".
var shShapes = []string{
	`printf '%s.' ${vars.v}`,
	`printf '%s.' "${vars.v}"`,
	`x=${vars.v}; printf '%s.' "$x"`,
	`printf '%s' "$(printf '%s.' ${vars.v})"`,
	`printf '%s' "$(printf '%s.' "${vars.v}")"`,
	"cat <<EOF | head -c -1\n${vars.v}.\nEOF",
	`case ${vars.v} in "${vars.v}") printf '%s.' "${vars.v}";; *) echo mismatch;; esac`,
}

// FuzzExpandSh: for any value, the generated command run by the real
// /bin/sh prints exactly the value, and nothing else runs (the canary file
// an injection would create does not appear).
func FuzzExpandSh(f *testing.F) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range append(hostile, longValue()) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.IndexByte(v, 0) >= 0 {
			t.Skip("NUL is refused for sh (TestNULRefusedForSh)")
		}
		dir := t.TempDir()
		for _, shape := range shShapes {
			e := &Expander{Lang: Sh, Vars: map[string]string{"vars.v": v}}
			code, err := e.Expand(shape)
			if err != nil {
				t.Fatalf("Expand(%q): %v", shape, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, sh, "-c", Prelude(e.Values)+code)
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			cancel()
			if err != nil || string(out) != v+"." {
				t.Fatalf("shape %q with value %q:\nscript:\n%s\noutput %q, %v, stderr %q", shape, v, Prelude(e.Values)+code, out, err, stderr.String())
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Fatalf("shape %q with value %q created %s", shape, v, entries[0].Name())
			}
		}
	})
}

// psShapes are ways an author may write a template in PowerShell, with the
// text that must replace it.
var psShapes = []struct{ shape, want string }{
	{`Set-Content -LiteralPath C:\out.txt -Value ${vars.v}`, `Set-Content -LiteralPath C:\out.txt -Value $__onboard_1`},
	{`Set-Content -LiteralPath C:\out.txt -Value "${vars.v}"`, `Set-Content -LiteralPath C:\out.txt -Value "${__onboard_1}"`},
	{"Write-Output \u201C<${vars.v}>\u201D", "Write-Output \u201C<${__onboard_1}>\u201D"},
	{"$t = @\"\n${vars.v}\n\"@\nWrite-Output $t", "$t = @\"\n${__onboard_1}\n\"@\nWrite-Output $t"},
	{`Write-Output "$(${vars.v})"`, `Write-Output "$($__onboard_1)"`},
	{`if (${vars.v} -eq 'x') { 'yes' } else { "no: ${vars.v}" }`, `if ($__onboard_1 -eq 'x') { 'yes' } else { "no: ${__onboard_1}" }`},
}

// FuzzExpandPowerShell: for any value, the command text refers to the
// variable exactly as the shape says (the value never enters the code),
// and the value travels in the script's JSON data and comes back intact.
func FuzzExpandPowerShell(f *testing.F) {
	for _, v := range append(hostile, longValue()) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			t.Skip("person fields are UTF-8 text (YAML); NUL becomes U+FFFD in the data")
		}
		for _, s := range psShapes {
			e := &Expander{Lang: PowerShell, Vars: map[string]string{"vars.v": v}}
			code, err := e.Expand(s.shape)
			if err != nil {
				t.Fatalf("Expand(%q): %v", s.shape, err)
			}
			if code != s.want {
				t.Fatalf("Expand(%q) = %q, want %q", s.shape, code, s.want)
			}
			script := powershell.Script{Op: "command-run", Body: PowerShellVars, Data: map[string]any{"run": code, "vars": e.Values}}
			_, data, err := powershell.ParseScript(script.Text())
			if err != nil {
				t.Fatal(err)
			}
			var in struct {
				Run  string   `json:"run"`
				Vars []string `json:"vars"`
			}
			if err := json.Unmarshal(data, &in); err != nil {
				t.Fatal(err)
			}
			if in.Run != code || len(in.Vars) != 1 || in.Vars[0] != v {
				t.Fatalf("data came back as %+v, want run %q and vars [%q]", in, code, v)
			}
		}
	})
}

// TestGeneratedPowerShellParses checks with a real PowerShell grammar
// (tools/pscheck) the command texts the shapes generate and the whole
// command-run scripts that carry them with every hostile value.
func TestGeneratedPowerShellParses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node.js (tools/pscheck)")
	}
	dir := t.TempDir()
	var files []string
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for i, s := range psShapes {
		if strings.ContainsAny(s.shape, "\u201C\u201D\u201E\u2018\u2019\u201A\u201B") {
			// tree-sitter-powershell knows only ASCII quotes; PowerShell's
			// tokenizer takes these too (TestExpandPowerShell covers them).
			continue
		}
		e := &Expander{Lang: PowerShell, Vars: map[string]string{"vars.v": "x"}}
		code, err := e.Expand(s.shape)
		if err != nil {
			t.Fatal(err)
		}
		write("shape"+string(rune('a'+i))+".ps1", PowerShellVars+code+"\n")
		for j, v := range append(hostile, longValue()) {
			script := powershell.Script{Op: "command-run", Body: PowerShellVars, Data: map[string]any{"run": code, "vars": []string{v}}}
			write("script"+string(rune('a'+i))+string(rune('a'+j))+".ps1", script.Text())
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tool := filepath.Join(root, "tools", "pscheck")
	if _, err := os.Stat(filepath.Join(tool, "node_modules", "tree-sitter-powershell")); err != nil {
		cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
		cmd.Dir = tool
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in tools/pscheck: %v\n%s", err, out)
		}
	}
	out, err := exec.Command("node", append([]string{filepath.Join(tool, "check.mjs")}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("PowerShell syntax errors (%v):\n%s", err, out)
	}
	t.Logf("%d generated scripts parse clean", len(files))
}

// FuzzLexers: any author text, in either language, is expanded or refused
// without a panic, and an expanded text never contains the value (a
// marker that the author's text does not).
func FuzzLexers(f *testing.F) {
	for _, s := range shShapes {
		f.Add(s)
	}
	for _, s := range psShapes {
		f.Add(s.shape)
	}
	for _, s := range []string{"cat <<'EOF'\n${vars.v}\nEOF", "echo $(case x in x) ${vars.v};; esac)", "@'\n${vars.v}\n'@", "<# ${vars.v}", "`${vars.v}`", "$'${vars.v}", "\"$(\"${vars.v}"} {
		f.Add(s)
	}
	const marker = "\u2063MARKER\u2063"
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, marker) {
			return
		}
		for _, lang := range []Lang{Sh, PowerShell} {
			e := &Expander{Lang: lang, Vars: map[string]string{"vars.v": marker}}
			out, err := e.Expand(text)
			if err == nil && strings.Contains(out, marker) {
				t.Fatalf("%v: the value was pasted: %q", lang, out)
			}
		}
	})
}
