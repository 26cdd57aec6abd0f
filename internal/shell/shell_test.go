package shell

import (
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "''"},
		{"plain word", "htop", "htop"},
		{"path", "/usr/bin/acme-chat", "/usr/bin/acme-chat"},
		{"version", "3.1.0-1", "3.1.0-1"},
		{"space", "Office 2F", "'Office 2F'"},
		{"single quote", "O'Brien", `'O'\''Brien'`},
		{"dollar", "$HOME", `'$HOME'`},
		{"command substitution", "$(reboot)", `'$(reboot)'`},
		{"backtick", "`id`", "'`id`'"},
		{"semicolon", "a; rm -rf /", "'a; rm -rf /'"},
		{"newline", "a\nb", "'a\nb'"},
		{"glob", "*", "'*'"},
		{"tilde", "~root", "'~root'"},
		{"leading equals", "=ls", "'=ls'"},
		{"backslash", `a\b`, `'a\b'`},
		{"unicode", "José", "'José'"},
		{"only quotes", "''", `''\'''\'''`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quote(tt.in); got != tt.want {
				t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	got := Join("lpadmin", "-p", "Office 2F", "-D", "it's")
	want := `lpadmin -p 'Office 2F' -D 'it'\''s'`
	if got != want {
		t.Errorf("Join = %q, want %q", got, want)
	}
	if got := Cmd("dpkg-query -W", "acme chat"); got != "dpkg-query -W 'acme chat'" {
		t.Errorf("Cmd = %q", got)
	}
}

// roundTrip asks a real sh to print its first argument back.
func roundTrip(t testing.TB, s string) string {
	out, err := exec.Command("/bin/sh", "-c", "printf %s "+Quote(s)).Output()
	if err != nil {
		t.Fatalf("sh failed for %q: %v", s, err)
	}
	return string(out)
}

func TestQuoteRoundTripsThroughSh(t *testing.T) {
	for _, s := range []string{"", "a b", "O'Brien", "$(id)", "`id`", "a;b|c&d", "x\ny", "\\", `"`, "~", "*?[]", "José Łukasiewicz", "-n"} {
		if got := roundTrip(t, s); got != s {
			t.Errorf("sh read %q back as %q", s, got)
		}
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a", "O'Brien", "$(id)", "'\"`\\", "a\nb", "~x", "=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The shell cannot carry NUL bytes in an argument; onboard rejects
		// them before quoting (see playbook validation).
		if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			t.Skip()
		}
		if got := roundTrip(t, s); got != s {
			t.Fatalf("sh read %q back as %q", s, got)
		}
	})
}
