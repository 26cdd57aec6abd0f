package username

import (
	"errors"
	"strings"
	"testing"
)

func TestASCII(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"José Łukasiewicz", "Jose Lukasiewicz"},
		{"Ørsted Æbelø", "Orsted AEbelo"},
		{"Straße", "Strasse"},
		{"Nguyễn Văn An", "Nguyen Van An"},
		{"e\u0301tienne", "etienne"}, // decomposed input
		{"Ｆｕｌｌ", "Full"},             // fullwidth
		{"Οδυσσέας Ελύτης", "Odusseas Elutes"},
		{"Фёдор Достоевский", "Fiodor Dostoevskii"},
		{"Мария-Анна Кузнецова", "Mariia-Anna Kuznetsova"},
		{"محمد عبد الله", "mHmd `bd llh"},
		{"יוסף כהן", "yvsp khn"},
		{"李伟", "Li Wei"},
		{"王秀英", "Wang Xiu Ying"},
		{"山田太郎", "Shan Tian Tai Lang"},
		{"さくら", "sakura"},
		{"김민준", "gimminjun"},
		{"दीपिका", "diipikaa"},
		{"😀", ""},
		{"Smith, Jr.", "Smith, Jr."},
	} {
		if got := ASCII(c.in); got != c.want {
			t.Errorf("ASCII(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRepair(t *testing.T) {
	for _, c := range []struct {
		name, kind, in string
		max            int
		want           string
	}{
		{"suffix with comma and dot", ActiveDirectory, "jSmith, Jr.", 20, "jsmithjr"},
		{"trailing dot only", ActiveDirectory, "jsmith.", 20, "jsmith"},
		{"cut leaves a dot", ActiveDirectory, "abcdefghijklmnopqrs.tuv", 20, "abcdefghijklmnopqrs"},
		{"cut leaves a hyphen", OpenLDAP, "jobrien-lukasiewicz-smith", 20, "jobrien-lukasiewicz"},
		{"AD limit wins over a larger max", ActiveDirectory, strings.Repeat("a", 30), 64, strings.Repeat("a", 20)},
		{"OpenLDAP limit", OpenLDAP, strings.Repeat("b", 40), 64, strings.Repeat("b", 32)},
		{"apostrophe and space", OpenLDAP, "jO'Brien Smith", 20, "jobriensmith"},
		{"leading digits and dots", OpenLDAP, "12.-x1042", 20, "x1042"},
		{"only digits", ActiveDirectory, "1042", 20, ""},
		{"forbidden AD characters", ActiveDirectory, `a"b/c\d[e]f:g;h|i=j,k+l*m?n<o>p`, 20, "abcdefghijklmnop"},
		{"Cyrillic", ActiveDirectory, "fДостоевский", 20, "fdostoevskii"},
		{"Chinese", OpenLDAP, "w李", 20, "wli"},
		{"Greek", ActiveDirectory, "oΕλύτης", 20, "oelutes"},
		{"Arabic", ActiveDirectory, "mعبد الله", 20, "mbdllh"},
		{"Hebrew", OpenLDAP, "yכהן", 20, "ykhn"},
		{"Japanese", ActiveDirectory, "t山田", 20, "tshantian"},
		{"Korean", OpenLDAP, "m김", 20, "mgim"},
		{"Devanagari", ActiveDirectory, "dशर्मा", 20, "dshrmaa"},
		{"emoji only", OpenLDAP, "😀🎉", 20, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Repair(c.kind, c.in, c.max)
			if got != c.want {
				t.Fatalf("Repair(%s, %q, %d) = %q, want %q", c.kind, c.in, c.max, got, c.want)
			}
			if got != "" {
				if err := Check(c.kind, got); err != nil {
					t.Fatalf("repaired %q does not pass Check: %v", got, err)
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		kind, name string
		says       string // "" when valid
	}{
		{ActiveDirectory, "jsmith", ""},
		{ActiveDirectory, "j.smith-2_x", ""},
		{ActiveDirectory, "jsmith.", "no trailing '.'"},
		{ActiveDirectory, "...", "not only dots and spaces"},
		{ActiveDirectory, "smith,jr", `none of "/\[]:;|=,+*?<> (found ",")`},
		{ActiveDirectory, "a*b", `(found "*")`},
		{ActiveDirectory, strings.Repeat("a", 21), "at most 20 characters, this has 21"},
		{ActiveDirectory, "tab\there", "no control characters (U+0009)"},
		{ActiveDirectory, "", "it is empty"},
		{OpenLDAP, strings.Repeat("a", 32), ""},
		{OpenLDAP, strings.Repeat("a", 33), "at most 32 characters, this has 33"},
		{OpenLDAP, "jsmith.", ""}, // POSIX allows it
		{OpenLDAP, "-rf", "no leading '-'"},
		{OpenLDAP, "1042", "starting with a letter or '_' (found '1')"},
		{OpenLDAP, "JSmith", "lowercase letters, digits, '.', '_' and '-' only, starting with a letter or '_' (found 'J')"},
		{OpenLDAP, "o'brien", "(found '\\'')"},
		{OpenLDAP, "josé", "(found 'é')"},
		{"", "_svc", ""},
	} {
		err := Check(c.kind, c.name)
		if c.says == "" {
			if err != nil {
				t.Errorf("Check(%s, %q) = %v, want nil", c.kind, c.name, err)
			}
			continue
		}
		var re *RuleError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Check(%s, %q) = %v, want a rule error saying %q", c.kind, c.name, err, c.says)
		}
	}
}

func TestReadable(t *testing.T) {
	for name, want := range map[string]bool{"": false, "x": false, "_1": false, "wli": true, "x1042": true, "ab": true} {
		if Readable(name) != want {
			t.Errorf("Readable(%q) = %v, want %v", name, !want, want)
		}
	}
}

func TestCandidates(t *testing.T) {
	c := Candidates("jsmith", 20)
	if c[0] != "jsmith" || c[1] != "jsmith2" || c[98] != "jsmith99" {
		t.Fatalf("candidates %q", c)
	}
	c = Candidates("abcdefghijklmnopqr.t", 20)
	if c[1] != "abcdefghijklmnopqr2" || c[9] != "abcdefghijklmnopqr10" {
		t.Fatalf("a cut before the number must not leave a '.': %q, %q", c[1], c[9])
	}
	for _, n := range c {
		if err := Check(ActiveDirectory, n); err != nil {
			t.Errorf("candidate: %v", err)
		}
	}
	// A max too short for a number leaves the base alone, and never panics.
	if c := Candidates("j", 1); len(c) != 1 || c[0] != "j" {
		t.Errorf("Candidates(j, 1) = %q", c)
	}
	if c := Candidates("jo", 2); len(c) != 9 || c[1] != "j2" {
		t.Errorf("Candidates(jo, 2) = %q", c)
	}
}

// Whatever the text, a repaired name is empty or valid for its kind, and
// within max.
func FuzzRepair(f *testing.F) {
	for _, s := range []string{"jSmith, Jr.", "Фёдор", "李伟", "-.-", "1042", "a\x00b", "\xff\xfe", "ǅemal", "😀", strings.Repeat("a.", 20)} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, text string, max int) {
		for _, kind := range []string{ActiveDirectory, OpenLDAP, ""} {
			got := Repair(kind, text, max)
			if got == "" {
				continue
			}
			if err := Check(kind, got); err != nil {
				t.Fatalf("Repair(%s, %q, %d) = %q: %v", kind, text, max, got, err)
			}
			if max > 0 && len(got) > max {
				t.Fatalf("Repair(%s, %q, %d) = %q: longer than max", kind, text, max, got)
			}
			for _, c := range Candidates(got, min(max, Limit(kind))) {
				if Check(kind, c) != nil {
					t.Fatalf("candidate %q of %q: %v", c, got, Check(kind, c))
				}
			}
		}
	})
}
