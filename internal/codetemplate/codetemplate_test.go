package codetemplate

import (
	"errors"
	"strings"
	"testing"
)

var testVars = map[string]string{
	"person.surname":    "O'Brien",
	"person.given_name": "Seán",
	"account.username":  "sobrien",
}

type expandCase struct {
	name, in, want string
	why            string // a refusal: part of the reason
	line, col      int    // and where
	wantValues     []string
}

func runExpandCases(t *testing.T, lang Lang, tests []expandCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Expander{Lang: lang, Vars: testVars}
			got, err := e.Expand(tt.in)
			if tt.why != "" {
				var te *Error
				if !errors.As(err, &te) {
					t.Fatalf("Expand(%q) = %q, %v; want a refusal %q", tt.in, got, err, tt.why)
				}
				if !strings.Contains(te.Why, tt.why) || te.Line != tt.line || te.Col != tt.col {
					t.Errorf("Expand(%q) refused at %d:%d with %q; want %d:%d with %q", tt.in, te.Line, te.Col, te.Why, tt.line, tt.col, tt.why)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if tt.wantValues != nil && strings.Join(e.Values, "\x00") != strings.Join(tt.wantValues, "\x00") {
				t.Errorf("values = %q, want %q", e.Values, tt.wantValues)
			}
		})
	}
}

func TestExpandSh(t *testing.T) {
	q := `"${__onboard_1}"`
	runExpandCases(t, Sh, []expandCase{
		{name: "no template", in: `echo 'a' "$HOME" $$HOME`, want: `echo 'a' "$HOME" $$HOME`},
		{name: "literal ${ written $${", in: `echo $${HOME}`, want: `echo ${HOME}`},
		{name: "unquoted", in: `mkdir -p /srv/ws/${account.username}`, want: `mkdir -p /srv/ws/"${__onboard_1}"`, wantValues: []string{"sobrien"}},
		{name: "double quotes", in: `echo "Hello, ${person.surname}!"`, want: `echo "Hello, ${__onboard_1}!"`, wantValues: []string{"O'Brien"}},
		{name: "one value, one variable", in: `echo ${person.surname} "${person.surname}" ${account.username}`,
			want: `echo ` + q + ` "${__onboard_1}" "${__onboard_2}"`, wantValues: []string{"O'Brien", "sobrien"}},
		{name: "filters give the value", in: `echo ${person.surname|upper}`, want: `echo ` + q, wantValues: []string{"O'BRIEN"}},
		{name: "assignment", in: `u=${account.username}; echo "$u"`, want: `u=` + q + `; echo "$u"`},
		{name: "after closed single quotes", in: `echo 'Hi, '${person.surname}`, want: `echo 'Hi, '` + q},
		{name: "double quote inside single", in: `echo '"'${person.surname}'"'`, want: `echo '"'` + q + `'"'`},
		{name: "escaped quote outside", in: `echo \'${person.surname}`, want: `echo \'` + q},
		{name: "escaped double quote inside double", in: `echo "\"${person.surname}\""`, want: `echo "\"${__onboard_1}\""`},
		{name: "command substitution", in: `echo $(id -u ${account.username})`, want: `echo $(id -u ` + q + `)`},
		{name: "command substitution in double quotes", in: `echo "home: $(getent passwd ${account.username} | cut -d: -f6)"`,
			want: `echo "home: $(getent passwd ` + q + ` | cut -d: -f6)"`},
		{name: "double quotes in substitution in double quotes", in: `echo "$(echo "${person.surname}")"`, want: `echo "$(echo "${__onboard_1}")"`},
		{name: "nested parentheses", in: `echo $( (cd /; echo x) ) ${person.surname}`, want: `echo $( (cd /; echo x) ) ` + q},
		{name: "comment", in: "echo hi # ${person.surname}\necho ${account.username}", want: "echo hi # ${__onboard_1}\necho \"${__onboard_2}\""},
		{name: "not a comment", in: `echo a#${person.surname}`, want: `echo a#` + q},
		{name: "unquoted here-document", in: "cat <<EOF >/tmp/x\nName: ${person.surname}\n\"${account.username}\"\nEOF\necho ${account.username}",
			want: "cat <<EOF >/tmp/x\nName: ${__onboard_1}\n\"${__onboard_2}\"\nEOF\necho \"${__onboard_2}\""},
		{name: "here-document with tabs stripped", in: "cat <<-END\n\tx ${person.surname}\n\tEND\necho ${person.surname}",
			want: "cat <<-END\n\tx ${__onboard_1}\n\tEND\necho " + q},
		{name: "here-string", in: `cat <<< ${person.surname}`, want: `cat <<< ` + q},
		{name: "parameter expansion elsewhere", in: `echo $${HOME:-/} ${person.surname}`, want: `echo ${HOME:-/} ` + q},
		{name: "arithmetic elsewhere", in: `echo $((1+2)) ${person.surname}`, want: `echo $((1+2)) ` + q},
		{name: "backquotes elsewhere", in: "echo `date` ${person.surname}", want: "echo `date` " + q},
		{name: "single quotes", in: `echo 'Hello, ${person.surname}'`, why: "inside single quotes", line: 1, col: 14},
		{name: "single quotes inside double inside substitution", in: `echo "$(echo '${person.surname}')"`, why: "inside single quotes", line: 1, col: 15},
		{name: "position on a later line", in: "true\n  echo '${person.surname}'", why: "inside single quotes", line: 2, col: 9},
		{name: "backslash", in: `echo \${person.surname}`, why: "backslash", line: 1, col: 7},
		{name: "backslash in double quotes", in: `echo "\${person.surname}"`, why: "backslash", line: 1, col: 8},
		{name: "backquotes", in: "echo `id ${account.username}`", why: "$(...) instead", line: 1, col: 10},
		{name: "arithmetic template", in: `echo $((1 + ${account.username}))`, why: "arithmetic", line: 1, col: 13},
		{name: "parameter expansion", in: `echo $${HOME:-${account.username}}`, why: "parameter expansion", line: 1, col: 15},
		{name: "ANSI-C quotes", in: `echo $'${person.surname}'`, why: "$'...'", line: 1, col: 8},
		{name: "quoted here-document", in: "cat <<'EOF'\n${person.surname}\nEOF", why: "delimiter is quoted", line: 2, col: 1},
		{name: "half-quoted delimiter", in: "cat <<E\"OF\"\n${person.surname}\nEOF", why: "delimiter is quoted", line: 2, col: 1},
		{name: "backslash delimiter", in: "cat <<\\EOF\n${person.surname}\nEOF", why: "delimiter is quoted", line: 2, col: 1},
		{name: "substitution in a here-document", in: "cat <<EOF\n$(echo ${person.surname})\nEOF", why: "within a here-document", line: 2, col: 8},
		{name: "template as delimiter", in: "cat <<${person.surname}\nx\n", why: "delimiter", line: 1, col: 7},
		{name: "case in a substitution", in: `x=$(case a in a) echo 1;; esac); echo ${person.surname}`, why: "case statement", line: 1, col: 39},
	})
}

func TestExpandPowerShell(t *testing.T) {
	v := `$__onboard_1`
	s := `${__onboard_1}`
	runExpandCases(t, PowerShell, []expandCase{
		{name: "no template", in: `Write-Output 'a' "$env:TEMP"`, want: `Write-Output 'a' "$env:TEMP"`},
		{name: "argument", in: `Set-Content -Path C:\x.txt -Value ${person.surname}`, want: `Set-Content -Path C:\x.txt -Value ` + v, wantValues: []string{"O'Brien"}},
		{name: "expression", in: `if (${account.username} -eq 'x') { 1 }`, want: `if ($__onboard_1 -eq 'x') { 1 }`},
		{name: "assignment and array", in: `$a=${person.surname}; @(${person.surname},${account.username})`, want: `$a=` + v + `; @(` + v + `,$__onboard_2)`},
		{name: "double quotes", in: `Write-Output "Hello, ${person.surname}!"`, want: `Write-Output "Hello, ` + s + `!"`},
		{name: "unicode double quotes", in: "Write-Output \u201CHi ${person.surname}\u201D", want: "Write-Output \u201CHi " + s + "\u201D"},
		{name: "low double quote opens, straight closes", in: "Write-Output \u201EHi ${person.surname}\"", want: "Write-Output \u201EHi " + s + "\""},
		{name: "doubled quote stays inside", in: `Write-Output "a""${person.surname}"""`, want: `Write-Output "a""` + s + `"""`},
		{name: "backtick quote stays inside", in: "Write-Output \"a`\"${person.surname}\"", want: "Write-Output \"a`\"" + s + "\""},
		{name: "after a closed single-quoted string", in: `Write-Output 'it''s' ${person.surname}`, want: `Write-Output 'it''s' ` + v},
		{name: "unicode single quotes closed", in: "Write-Output \u2018a\u2019 ${person.surname}", want: "Write-Output \u2018a\u2019 " + v},
		{name: "single quote in double", in: `Write-Output "it's ${person.surname}"`, want: `Write-Output "it's ` + s + `"`},
		{name: "subexpression in double quotes", in: `Write-Output "up: $(${person.surname}.ToUpper())"`, why: "touches other text", line: 1, col: 21},
		{name: "subexpression argument", in: `Write-Output "n: $(Get-Len ${person.surname})"`, want: `Write-Output "n: $(Get-Len ` + v + `)"`},
		{name: "string in subexpression in string", in: `Write-Output "a $("b ${person.surname}") c"`, want: `Write-Output "a $("b ` + s + `") c"`},
		{name: "double-quoted here-string", in: "$t = @\"\nName: ${person.surname}\n'${account.username}'\n\"@\nWrite-Output ${person.surname}",
			want: "$t = @\"\nName: " + s + "\n'${__onboard_2}'\n\"@\nWrite-Output " + v},
		{name: "comment", in: "# ${person.surname}\nWrite-Output ${account.username}", want: "# " + s + "\nWrite-Output $__onboard_2"},
		{name: "block comment", in: "<# ${person.surname} #> Write-Output 1", want: "<# " + s + " #> Write-Output 1"},
		{name: "single quotes", in: `Write-Output 'Hello, ${person.surname}'`, why: "inside single quotes", line: 1, col: 22},
		{name: "unicode single quotes", in: "Write-Output \u2018Hi ${person.surname}\u2019", why: "inside single quotes", line: 1, col: 18},
		{name: "low single quote", in: "Write-Output \u201AHi ${person.surname}'", why: "inside single quotes", line: 1, col: 18},
		{name: "reversed single quote", in: "Write-Output \u201BHi ${person.surname}'", why: "inside single quotes", line: 1, col: 18},
		{name: "doubled unicode quote does not close", in: "Write-Output 'a\u2019\u2019 ${person.surname}'", why: "inside single quotes", line: 1, col: 19},
		{name: "single-quoted here-string", in: "@'\n${person.surname}\n'@", why: "here-string", line: 2, col: 1},
		{name: "backtick in code", in: "Write-Output `${person.surname}", why: "backtick", line: 1, col: 15},
		{name: "backtick in string", in: "Write-Output \"`${person.surname}\"", why: "backtick", line: 1, col: 16},
		{name: "bare word", in: `New-Item C:\Users\${account.username}`, why: "touches other text", line: 1, col: 19},
		{name: "member access", in: `Write-Output ${account.username}.txt`, why: "touches other text", line: 1, col: 14},
		{name: "two templates", in: `Write-Output ${account.username}${person.surname}`, why: "touches other text", line: 1, col: 14},
		{name: "braced variable", in: `Write-Output $${env:${account.username}}`, why: "variable name", line: 1, col: 21},
		{name: "stop-parsing token", in: `icacls.exe C:\x --% /grant ${account.username}:F`, why: "--%", line: 1, col: 28},
		{name: "single quotes in a subexpression in double quotes", in: `Write-Output "$('${person.surname}')"`, why: "inside single quotes", line: 1, col: 18},
	})
}

func TestPrelude(t *testing.T) {
	got := Prelude([]string{"sobrien", "O'Brien", "a\nb"})
	want := "__onboard_1=sobrien\n__onboard_2='O'\\''Brien'\n__onboard_3='a\nb'\n"
	if got != want {
		t.Errorf("Prelude = %q, want %q", got, want)
	}
	if Prelude(nil) != "" {
		t.Error("no values, no prelude")
	}
}

func TestNULRefusedForSh(t *testing.T) {
	e := &Expander{Lang: Sh, Vars: map[string]string{"vars.x": "a\x00b"}}
	if _, err := e.Expand("echo ${vars.x}"); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("err = %v, want NUL refused", err)
	}
}

// The examples of docs/playbook.md expand as the text says.
func TestDocExamples(t *testing.T) {
	vars := map[string]string{"person.name": "Seán O'Brien", "account.username": "sobrien", "person.given_name": "Seán"}
	for _, tt := range []struct {
		lang Lang
		text string
		ok   bool
	}{
		{Sh, `mkdir -p /srv/ws/${account.username}`, true},
		{Sh, `echo "Welcome, ${person.given_name}"`, true},
		{Sh, `printf '%s\n' "Welcome, ${person.name}" > /srv/notes/${account.username}.txt`, true},
		{Sh, `grep -qF -- "${person.name}" /srv/notes/${account.username}.txt`, true},
		{Sh, `echo 'Hello, '"${person.given_name}"`, true},
		{Sh, `echo 'Hello, ${person.given_name}'`, false},
		{PowerShell, `Set-Content -LiteralPath C:\Notes\a.txt -Value ${person.name}`, true},
		{PowerShell, `Set-Content -LiteralPath "C:\Notes\${account.username}.txt" -Value "Welcome, ${person.name}"`, true},
		{PowerShell, `Write-Output "Hello, ${person.given_name}"`, true},
		{PowerShell, `Write-Output 'Hello, ${person.given_name}'`, false},
		{PowerShell, `New-Item C:\Users\${account.username}`, false},
		{PowerShell, `Write-Output ${account.username}.txt`, false},
	} {
		_, err := (&Expander{Lang: tt.lang, Vars: vars}).Expand(tt.text)
		if (err == nil) != tt.ok {
			t.Errorf("%v %q: %v, want ok %v", tt.lang, tt.text, err, tt.ok)
		}
	}
}
