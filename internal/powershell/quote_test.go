package powershell

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", `''`},
		{"plain", "Office-2F", `'Office-2F'`},
		{"space", "Remote Desktop Users", `'Remote Desktop Users'`},
		{"apostrophe", "O'Brien", `'O''Brien'`},
		{"only a quote", "'", `''''`},
		{"right single quotation mark", "O’Brien", `'O’’Brien'`},
		{"left single quotation mark", "‘quoted’", `'‘‘quoted’’'`},
		{"low-9 quotation mark", "‚x", `'‚‚x'`},
		{"reversed-9 quotation mark", "‛x", `'‛‛x'`},
		{"mixed quotes in a row", "'’‘", `'''’’‘‘'`},
		{"double quotes stay", `say "hi"`, `'say "hi"'`},
		{"dollar", "$env:USERPROFILE $(whoami)", `'$env:USERPROFILE $(whoami)'`},
		{"backtick", "a`nb`", "'a`nb`'"},
		{"semicolon", "a; b", `'a; b'`},
		{"newline", "line 1\nline 2\r\n", "'line 1\nline 2\r\n'"},
		{"unicode", "José Łukasiewicz", `'José Łukasiewicz'`},
		{"beyond the BMP", "Ana 😀 𝔘", `'Ana 😀 𝔘'`},
		{"UNC path", `\\fs01\Software$\7-Zip`, `'\\fs01\Software$\7-Zip'`},
		{"injection", `O'Brien; Remove-Item C:\ -Recurse`, `'O''Brien; Remove-Item C:\ -Recurse'`},
		{"injection through a typographic quote", `x’; Remove-Item C:\ -Recurse; ’`, `'x’’; Remove-Item C:\ -Recurse; ’’'`},
		{"NUL", "C:\\data\x00-old", "'C:\\data\uFFFD-old'"},
		{"not UTF-8", "a\xff\xfeb", "'a\uFFFD\uFFFDb'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quote(tt.in); got != tt.want {
				t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// survivor is what Quote promises PowerShell reads back: s with NUL and
// every byte that is not UTF-8 replaced with U+FFFD.
func survivor(s string) string {
	return strings.ReplaceAll(string([]rune(s)), "\x00", "\uFFFD")
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "O'Brien", "’‘‚‛", "''", "a\x00b", "\xff", "$(x)`\n;", "José 😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		if !utf8.ValidString(q) {
			t.Fatalf("Quote(%q) = %q is not UTF-8", s, q)
		}
		got, rest, err := readQuoted(q)
		if err != nil {
			t.Fatalf("Quote(%q) = %q: %v", s, q, err)
		}
		if rest != "" {
			t.Fatalf("Quote(%q) = %q: the string ends early, leaving %q to run as code", s, q, rest)
		}
		if want := survivor(s); got != want {
			t.Fatalf("Quote(%q) = %q reads back as %q, want %q", s, q, got, want)
		}
		// Inside the literal every quote character is one of an identical
		// pair, so none can end the string.
		rs := []rune(q)
		if len(rs) < 2 || rs[0] != '\'' || rs[len(rs)-1] != '\'' {
			t.Fatalf("Quote(%q) = %q is not enclosed in single quotes", s, q)
		}
		inner := rs[1 : len(rs)-1]
		for i := 0; i < len(inner); i++ {
			if !isSingleQuote(inner[i]) {
				continue
			}
			if i+1 == len(inner) || inner[i+1] != inner[i] {
				t.Fatalf("Quote(%q) = %q: unpaired %q at rune %d", s, q, inner[i], i+1)
			}
			i++
		}
	})
}

func TestReadQuoted(t *testing.T) {
	tests := []struct {
		src, value, rest string
		wantErr          bool
	}{
		{src: `'abc' | x`, value: "abc", rest: " | x"},
		{src: `''`, value: ""},
		{src: `'it''s'`, value: "it's"},
		// PowerShell pairs any two quote characters and keeps the second.
		{src: `'a’'b'`, value: "a'b"},
		{src: `’typographic‘`, value: "typographic"},
		{src: `'a’ ; evil`, value: "a", rest: " ; evil"},
		{src: `'unterminated`, wantErr: true},
		{src: `abc`, wantErr: true},
		{src: ``, wantErr: true},
	}
	for _, tt := range tests {
		value, rest, err := readQuoted(tt.src)
		if (err != nil) != tt.wantErr || value != tt.value || rest != tt.rest {
			t.Errorf("readQuoted(%q) = %q, %q, %v; want %q, %q, error %v", tt.src, value, rest, err, tt.value, tt.rest, tt.wantErr)
		}
	}
}
