package step

import "testing"

// The parsing helpers read real tools' output; the kinds themselves are
// exercised against the lab in cmd/onboard's end-to-end tests.

func TestVersionMatches(t *testing.T) {
	tests := []struct {
		installed, want string
		ok              bool
	}{
		{"3.1.0", "3.1.0", true},
		{"3.1.0-2", "3.1.0", true},
		{"3.1.0+deb12u1", "3.1.0", true},
		{"3.1.0", "", true},
		{"", "", false},
		{"3.0.0", "3.1.0", false},
		{"3.1.01", "3.1.0", false},
		{"13.1.0", "3.1.0", false},
		{"1:3.1.0-2", "3.1.0", true},
		{"1:3.1.0-2", "1:3.1.0", true},
		{"1:3.1.0-2", "2:3.1.0", false},
	}
	for _, tt := range tests {
		if got := VersionMatches(tt.installed, tt.want); got != tt.ok {
			t.Errorf("VersionMatches(%q, %q) = %v", tt.installed, tt.want, got)
		}
	}
}

func TestNormMode(t *testing.T) {
	for in, want := range map[string]string{"0644": "644", "644": "644", "0600": "600", "4755": "4755", "01777": "1777"} {
		if got := NormMode(in); got != want {
			t.Errorf("NormMode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatchOutput(t *testing.T) {
	out := "acme-ide 1.9.3\nready\n"
	tests := []struct {
		patterns []string
		bad      string
	}{
		{[]string{"acme-ide", "ready"}, ""},
		{[]string{`/^acme-ide 1\.9/`}, ""},
		{[]string{"ready", "missing"}, "missing"},
		{[]string{`/^2\./`}, `/^2\./`},
	}
	for _, tt := range tests {
		bad, err := MatchOutput(out, tt.patterns)
		if err != nil || bad != tt.bad {
			t.Errorf("MatchOutput(%v) = %q, %v; want %q", tt.patterns, bad, err, tt.bad)
		}
	}
	if _, err := MatchOutput(out, []string{"/(/"}); err == nil {
		t.Errorf("a bad regular expression was accepted")
	}
}

func TestTail(t *testing.T) {
	if got := Tail("a\nb\nccc", 5); got != "…ccc" {
		t.Errorf("Tail = %q", got)
	}
	if got := Tail("  short \n", 50); got != "short" {
		t.Errorf("Tail = %q", got)
	}
}
