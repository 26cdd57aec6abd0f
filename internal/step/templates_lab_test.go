package step_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"onboard/internal/codetemplate"
	"onboard/internal/connect"
	"onboard/internal/inventory"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/secret"
	"onboard/internal/shell"
	"onboard/internal/step"
)

// hostileValues are person fields as HR systems may send them: every quote
// character (PowerShell's Unicode ones too), $, backticks, separators,
// newlines, %, injections that would create the canary, a 10 KB value.
func hostileValues(canary string) []string {
	return []string{
		"O'Brien",
		`Jean "JJ" Dupont`,
		"‘single’ ‚low‛ “double” „low”",
		"$HOME ${HOME} $(touch " + canary + ") `touch " + canary + "` $((1+1))",
		"'; touch " + canary + "; echo '",
		`"; touch ` + canary + `; echo "`,
		"a;b|c&d&&e||f>g<h *?[a-z] ~root {a,b}",
		"line1\nline2\r\nEOF\n\nlast\n",
		"%PATH% %s %n 100%",
		`\ \\ \' \" \$ \n`,
		"-n",
		"",
		"Zażółć gęślą jaźń 日本語 😀",
		strings.Repeat("O'Brien \"$(touch "+canary+")\" `id` ; ", 400), // about 10 KB
	}
}

// Templated values through every command field (run, unless, creates,
// check command.run), privileged and not, on a lab workstation over SSH:
// the exact bytes arrive, and nothing else runs.
func TestTemplatedValuesOverSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab")
	}
	l := lab.ForTest(t, lab.Config{Name: "tplsh", Subnet: 219, Workstations: 1, Printers: []string{"Solo"}})
	inv, err := inventory.Load(l.InventoryFile)
	if err != nil {
		t.Fatal(err)
	}
	host, err := inv.Host("ws1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	comm, err := (&connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: 10 * time.Second}).Dial(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	defer comm.Close()
	x := &step.Exec{T: &step.Target{Host: host, Comm: comm}}
	read := func(path string) string {
		t.Helper()
		out, errOut, err := l.Exec(ctx, "ws1", shell.Cmd("base64 -w0 --", path))
		if err != nil {
			t.Fatalf("read %s: %v %s", path, err, errOut)
		}
		b, err := base64.StdEncoding.DecodeString(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const canary = "/tmp/onboard-canary"

	for i, v := range hostileValues(canary) {
		for _, privileged := range []bool{false, true} {
			name := fmt.Sprintf("value%d-privileged=%v", i, privileged)
			t.Run(name, func(t *testing.T) {
				dir := "/tmp/tpl/" + name
				vars := map[string]string{"vars.v": v, "vars.d": dir}
				e := &codetemplate.Expander{Lang: codetemplate.Sh, Vars: vars}
				expand := func(text string) string {
					t.Helper()
					out, err := e.Expand(text)
					if err != nil {
						t.Fatalf("expand %q: %v", text, err)
					}
					return out
				}
				// creates is a path: data, expanded as any data field.
				createsName := "created"
				if !strings.ContainsAny(v, "/\x00") && len(v) < 200 {
					createsName = "c-${vars.v}"
				}
				creates, err := playbook.Expand("${vars.d}/"+createsName, vars)
				if err != nil {
					t.Fatal(err)
				}
				cmd := &plan.CommandSpec{
					Run: expand("printf '%s' ${vars.v} > ${vars.d}/run-arg\n" +
						`printf '%s' "<${vars.v}>" > "${vars.d}/run-dq"` + "\n" +
						"cat > ${vars.d}/run-heredoc <<EOF\n${vars.v}\nEOF\n" +
						`printf '%s' "$(printf '%s' "${vars.v}")" > ${vars.d}/run-subst`),
					Unless:     expand(`printf '%s' "${vars.v}" > ${vars.d}/unless && test -e ${vars.d}/never`),
					Creates:    creates,
					Privileged: privileged,
				}
				cmd.Values = e.Values
				s := &plan.Step{ID: "cmd", Kind: plan.KindCommand, Command: cmd}
				if _, _, err := l.Exec(ctx, "ws1", shell.Cmd("mkdir -p --", dir)+" && "+shell.Cmd("chown onboard --", dir)); err != nil {
					t.Fatal(err)
				}

				// creates missing: not done, and unless does not run.
				st, err := step.Kinds[plan.KindCommand].Check(ctx, x, s)
				if err != nil || st.InPlace || !strings.Contains(st.Reason, "does not exist yet") {
					t.Fatalf("check before creates exists: %+v, %v", st, err)
				}
				// creates present (made here, by its exact name): unless runs.
				if _, _, err := l.Exec(ctx, "ws1", shell.Cmd("touch --", creates)); err != nil {
					t.Fatalf("touch %q: %v", creates, err)
				}
				st, err = step.Kinds[plan.KindCommand].Check(ctx, x, s)
				if err != nil || st.InPlace || !strings.Contains(st.Reason, "unless command exited 1") {
					t.Fatalf("check with creates present: %+v, %v", st, err)
				}
				if got := read(dir + "/unless"); got != v {
					t.Errorf("unless wrote %q, want %q", got, v)
				}

				if _, err := step.Kinds[plan.KindCommand].Apply(ctx, x, s); err != nil {
					t.Fatalf("apply: %v", err)
				}
				for file, want := range map[string]string{"run-arg": v, "run-dq": "<" + v + ">", "run-heredoc": v + "\n", "run-subst": strings.TrimRight(v, "\n")} {
					if got := read(dir + "/" + file); got != want {
						t.Errorf("%s: %q, want %q", file, got, want)
					}
				}

				// A check's command.run.
				ce := &codetemplate.Expander{Lang: codetemplate.Sh, Vars: vars}
				run, err := ce.Expand(`printf '%s' "${vars.v}" > ${vars.d}/check; printf 'ok %s' ${vars.v}`)
				if err != nil {
					t.Fatal(err)
				}
				chk := &plan.Step{ID: "chk", Kind: plan.KindCheck, Check: &plan.CheckSpec{Name: "c", Command: &plan.CommandCheck{
					Run: run, Privileged: privileged, Values: ce.Values, Stdout: []string{"ok " + v}}}}
				st, err = step.Kinds[plan.KindCheck].Check(ctx, x, chk)
				if err != nil || !st.InPlace {
					t.Errorf("check: %+v, %v", st, err)
				}
				if got := read(dir + "/check"); got != v {
					t.Errorf("check wrote %q, want %q", got, v)
				}
				if out, _, _ := l.Exec(ctx, "ws1", "test -e "+canary+" && echo INJECTED"); strings.Contains(out, "INJECTED") {
					t.Fatalf("a value ran as code: %s exists", canary)
				}
			})
		}
	}
}
