package directory

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestGeneratePassword(t *testing.T) {
	policies := []struct {
		p      PasswordPolicy
		length int
		want   int
	}{
		{PasswordPolicy{MinLength: 7, Complexity: true}, 0, 16},
		{PasswordPolicy{MinLength: 30, Complexity: true}, 20, 30},
		{PasswordPolicy{MinLength: 0, Complexity: false}, 24, 24},
		{PasswordPolicy{MinLength: 12, Complexity: true}, 200, 200},
	}
	// "a2b" is short and made of the generator's own characters, so that
	// long passwords would contain it now and then without the check.
	avoid := []string{"a2b", "O'Brien, José + Co", "jdoe"}
	for _, tt := range policies {
		t.Run(fmt.Sprintf("min%d_len%d", tt.p.MinLength, tt.length), func(t *testing.T) {
			seen := map[string]bool{}
			for range 1000 {
				v, err := GeneratePassword(tt.p, tt.length, avoid...)
				if err != nil {
					t.Fatal(err)
				}
				pw := v.Reveal()
				if len(pw) != tt.want {
					t.Fatalf("length %d, want %d", len(pw), tt.want)
				}
				for _, class := range []string{pwUpper, pwLower, pwDigit, pwSymbol} {
					if !strings.ContainsAny(pw, class) {
						t.Fatalf("a password lacks one of %q", class)
					}
				}
				for _, r := range pw {
					if !strings.ContainsRune(pwAll, r) {
						t.Fatalf("a password has %q, outside the alphabet", r)
					}
				}
				low := strings.ToLower(pw)
				for _, tok := range []string{"a2b", "jdoe", "o'brien", "josé", "co"} {
					if len(tok) >= 3 && strings.Contains(low, tok) {
						t.Fatalf("a password contains %q", tok)
					}
				}
				if seen[pw] {
					t.Fatal("the same password twice")
				}
				seen[pw] = true
				if s := fmt.Sprint(v); s != "[redacted]" {
					t.Fatalf("a generated password prints as %q", s)
				}
			}
		})
	}
	if _, err := GeneratePassword(PasswordPolicy{MinLength: 300}, 0); err == nil {
		t.Error("no error for 300 characters")
	}
}

func TestAvoidTokens(t *testing.T) {
	got := avoidTokens([]string{"O'Brien, José + Co", "jd"})
	want := []string{"o'brien", "josé", "o'brien, josé + co"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("avoidTokens = %q, want %q", got, want)
	}
	if !containsAny("xxO'BRIENxx", got) || containsAny("Co+jd", got) {
		t.Error("containsAny is wrong")
	}
}

func TestUnicodePwd(t *testing.T) {
	tests := []struct {
		pw   string
		want []byte
	}{
		{"abc", []byte{'"', 0, 'a', 0, 'b', 0, 'c', 0, '"', 0}},
		{"é", []byte{'"', 0, 0xe9, 0, '"', 0}},
		{"Ł", []byte{'"', 0, 0x41, 0x01, '"', 0}},
		// Outside the BMP: a surrogate pair, low byte first.
		{"😀", []byte{'"', 0, 0x3d, 0xd8, 0x00, 0xde, '"', 0}},
		// A quote inside the password is just a character.
		{`a"b`, []byte{'"', 0, 'a', 0, '"', 0, 'b', 0, '"', 0}},
	}
	for _, tt := range tests {
		if got := unicodePwd(tt.pw); !bytes.Equal(got, tt.want) {
			t.Errorf("unicodePwd(%q) = % x, want % x", tt.pw, got, tt.want)
		}
	}
}

func TestAttrMetaVersion(t *testing.T) {
	blob := make([]byte, 16+48*2)
	blob[0] = 1
	blob[8] = 2
	put := func(i int, attid, version uint32) {
		off := 16 + 48*i
		for k := 0; k < 4; k++ {
			blob[off+k] = byte(attid >> (8 * k))
			blob[off+4+k] = byte(version >> (8 * k))
		}
	}
	put(0, 0x90037, 1)
	put(1, attidUnicodePwd, 3)
	if v, ok := attrMetaVersion(blob, attidUnicodePwd); !ok || v != 3 {
		t.Errorf("got %d %v, want 3 true", v, ok)
	}
	if _, ok := attrMetaVersion(blob, 0x12345); ok {
		t.Error("found an absent attribute")
	}
	if _, ok := attrMetaVersion(blob[:40], attidUnicodePwd); ok {
		t.Error("read past a truncated blob")
	}
}

// The caller passes the username, given name, surname and display name:
// every token of three characters or more of each is avoided.
func TestGeneratePasswordAvoidsSeveralNames(t *testing.T) {
	avoid := []string{"kng", "Abe", "Ng-Sue", "Abe Ng-Sue", "", "  ", "Zed_Xu#Kim"}
	got := avoidTokens(avoid)
	want := []string{"kng", "abe", "sue", "ng-sue", "abe ng-sue", "zed", "kim", "zed_xu#kim"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("avoidTokens = %q, want %q", got, want)
	}
	// Long passwords over a 66-character alphabet contain a given
	// three-letter token now and then: without the check, some of these
	// would.
	hits := 0
	for range 2000 {
		v, err := GeneratePassword(PasswordPolicy{}, MaxPasswordLength, avoid...)
		if err != nil {
			t.Fatal(err)
		}
		low := strings.ToLower(v.Reveal())
		for _, tok := range []string{"kng", "abe", "sue", "zed", "kim"} {
			if strings.Contains(low, tok) {
				t.Fatalf("a password contains %q", tok)
			}
		}
		// Tokens under three characters are allowed (AD's rule).
		if strings.Contains(low, "ng") || strings.Contains(low, "xu") {
			hits++
		}
	}
	if hits == 0 {
		t.Error("short tokens are avoided too (never seen in 2000 long passwords)")
	}
}
