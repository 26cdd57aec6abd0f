package winsim_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"onboard/internal/codetemplate"
	"onboard/internal/lab/winsim"
	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// Templated values through run, unless and creates over WinRM to the
// simulated host, which evaluates PowerShell strings as Windows does (a
// pasted $(New-Item ...) would create the canary): the exact text arrives
// and nothing else runs.
func TestTemplatedValuesOverWinRM(t *testing.T) {
	t.Parallel()
	const canary = `C:\canary`
	values := []string{
		"O'Brien",
		"O’Brien ‘single’ ‚low‛ and ''doubled''",
		`Jean "JJ" Dupont “double” „low” ""`,
		"$env:TEMP ${x} $(New-Item -ItemType File -Path " + canary + ") `$x `n `\"",
		"'; New-Item -ItemType File -Path " + canary + "; '",
		`"; New-Item -ItemType File -Path ` + canary + `; "`,
		"“; New-Item -ItemType File -Path " + canary + "; „",
		"‘; New-Item -ItemType File -Path " + canary + "; ’",
		"a;b|c&d&&e||f>g<h @(1) {x} #comment",
		"line1\nline2\r\n\"@\n'@\nlast\n",
		"%PATH% %s 100%",
		"-n",
		"",
		"Zażółć gęślą jaźń 日本語 😀",
		strings.Repeat("O'Brien \"$(New-Item -ItemType File -Path "+canary+")\" `n ; ", 250), // about 10 KB
	}
	cfg := winsim.Config{Files: map[string][]byte{}}
	for i, v := range values {
		dir := fmt.Sprintf(`C:\Out\%d`, i)
		cfg.Dirs = append(cfg.Dirs, dir)
		if !strings.ContainsAny(v, `\/`) && len(v) < 200 {
			cfg.Files[dir+`\c-`+v] = []byte("x")
		}
	}
	l := startLab(t, cfg)
	const bom = "\xEF\xBB\xBF"

	for i, v := range values {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			dir := fmt.Sprintf(`C:\Out\%d`, i)
			vars := map[string]string{"vars.v": v}
			e := &codetemplate.Expander{Lang: codetemplate.PowerShell, Vars: vars}
			expand := func(text string) string {
				t.Helper()
				out, err := e.Expand(strings.ReplaceAll(text, "DIR", dir))
				if err != nil {
					t.Fatalf("expand %q: %v", text, err)
				}
				return out
			}
			createsName := "created"
			if !strings.ContainsAny(v, `\/`) && len(v) < 200 {
				createsName = "c-${vars.v}"
			}
			creates, err := playbook.Expand(dir+`\`+createsName, vars)
			if err != nil {
				t.Fatal(err)
			}
			cmd := &plan.CommandSpec{
				Run: expand(`Set-Content -LiteralPath DIR\arg.txt -Value ${vars.v} -NoNewline -Encoding UTF8` + "\n" +
					`Set-Content -LiteralPath DIR\dq.txt -Value "<${vars.v}>" -NoNewline -Encoding UTF8` + "\n" +
					"Set-Content -LiteralPath DIR\\udq.txt -Value \u201C<${vars.v}>\u201D -NoNewline -Encoding UTF8\n" +
					"Set-Content -LiteralPath DIR\\here.txt -Value @\"\n${vars.v}\n\"@ -NoNewline -Encoding UTF8\n" +
					`Set-Content -LiteralPath DIR\sub.txt -Value "$(Write-Output ${vars.v})" -NoNewline -Encoding UTF8`),
				Unless:  expand(`Set-Content -LiteralPath DIR\unless.txt -Value "${vars.v}" -NoNewline -Encoding UTF8`),
				Creates: creates,
				Values:  e.Values,
			}
			s := &plan.Step{ID: "cmd", Kind: plan.KindWinCommand, Command: cmd}

			if createsName == "created" {
				// creates missing: not done, and unless does not run.
				if st := check(t, l, nil, s); st.InPlace {
					t.Fatal("in place before creates exists")
				}
				if _, ok := l.host.State().Files[dir+`\unless.txt`]; ok {
					t.Fatal("unless ran although creates does not exist")
				}
				s.Command.Creates = ""
			}
			// creates exists (or is gone): unless runs, outputs nothing,
			// so the command is not done.
			if st := check(t, l, nil, s); st.InPlace {
				t.Fatal("in place although unless outputs nothing")
			}
			if _, err := apply(t, l, nil, s, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			files := l.host.State().Files
			for name, want := range map[string]string{
				"unless.txt": v, "arg.txt": v, "dq.txt": "<" + v + ">", "udq.txt": "<" + v + ">", "here.txt": v, "sub.txt": v,
			} {
				if got, ok := files[dir+`\`+name]; !ok || string(got) != bom+want {
					t.Errorf("%s: %q, want %q", name, got, bom+want)
				}
			}
			if _, ok := files[canary]; ok {
				t.Fatalf("a value ran as code: %s exists", canary)
			}
		})
	}
}
