// Package username decides account names: the rules each directory kind
// sets for a logon name, the repair of a name derived from a person's
// names, and the transliteration of any script to ASCII behind both.
package username

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gosimple/unidecode"
	"golang.org/x/text/unicode/norm"
)

// Directory kinds, as the inventory spells them. The empty kind is a hire
// without a directory: the name is only a login on the workstation.
const (
	ActiveDirectory = "active-directory"
	OpenLDAP        = "openldap"
)

// Limit is the longest logon name a directory kind accepts: Active
// Directory's sAMAccountName holds 20 characters; 32 is the portable POSIX
// login-name length (useradd's and glibc's utmp limit).
func Limit(kind string) int {
	if kind == ActiveDirectory {
		return 20
	}
	return 32
}

// adForbidden are the characters Windows refuses in a sAMAccountName.
const adForbidden = `"/\[]:;|=,+*?<>`

// RuleError says which rule a username breaks.
type RuleError struct {
	Name string // the username
	Rule string // whose rule: "Active Directory logon name (sAMAccountName)", ...
	Says string // what the rule says, e.g. "no trailing '.'"
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("%q breaks the %s rule: %s", e.Name, e.Rule, e.Says)
}

// ruleName names the rules of a kind for an error.
func ruleName(kind string) string {
	switch kind {
	case ActiveDirectory:
		return "Active Directory logon name (sAMAccountName)"
	case OpenLDAP:
		return "POSIX login name (OpenLDAP uid)"
	}
	return "workstation login name"
}

// portable is what onboard allows in every username, whatever the
// directory: the name also becomes a login and a home folder on the
// workstations (POSIX's portable login names, lowercase).
const portableRule = "lowercase letters, digits, '.', '_' and '-' only, starting with a letter or '_'"

// Check reports the first rule of the kind that name breaks, or nil.
// Active Directory: at most 20 characters, none of " / \ [ ] : ; | = , + *
// ? < > or control characters, not only dots and spaces, no trailing '.'.
// OpenLDAP (and no directory): POSIX login names, at most 32 characters.
// Onboard's portable rule applies to every kind on top.
func Check(kind, name string) error {
	fail := func(rule, says string) error { return &RuleError{Name: name, Rule: rule, Says: says} }
	kr := ruleName(kind)
	if name == "" {
		return fail(kr, "it is empty")
	}
	if !utf8.ValidString(name) {
		return fail(kr, "not valid UTF-8")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || unicode.IsControl(r) {
			return fail(kr, fmt.Sprintf("no control characters (%U)", r))
		}
	}
	if kind == ActiveDirectory {
		if i := strings.IndexAny(name, adForbidden); i >= 0 {
			return fail(kr, fmt.Sprintf("none of %s (found %q)", adForbidden, name[i:i+1]))
		}
		if strings.Trim(name, ". ") == "" {
			return fail(kr, "not only dots and spaces")
		}
		if strings.HasSuffix(name, ".") {
			return fail(kr, "no trailing '.'")
		}
	}
	if n := utf8.RuneCountInString(name); n > Limit(kind) {
		return fail(kr, fmt.Sprintf("at most %d characters, this has %d", Limit(kind), n))
	}
	if name[0] == '-' {
		return fail(kr, "no leading '-'")
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r == '_' || i > 0 && (r >= '0' && r <= '9' || r == '.' || r == '-')
		if !ok {
			return fail("onboard username", fmt.Sprintf("%s (found %q)", portableRule, r))
		}
	}
	return nil
}

// Repair makes a username out of derived text (a person's names through
// the naming policy): transliterated to ASCII, lowercased, anything but
// letters, digits, '.', '_' and '-' dropped, leading characters a login
// cannot start with dropped, cut to max (and the kind's limit), and no
// trailing '.' or '-' left. The result passes Check, or is empty.
func Repair(kind, text string, max int) string {
	if max <= 0 || max > Limit(kind) {
		max = Limit(kind)
	}
	var b strings.Builder
	for _, r := range strings.ToLower(ASCII(text)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	s := strings.TrimLeft(b.String(), "0123456789.-")
	if len(s) > max {
		s = s[:max]
	}
	return strings.TrimRight(s, ".-")
}

// Readable tells whether a repaired name says something a person can read:
// at least two characters, a letter among them. "" or "x" is not: the
// policy's fallback takes over.
func Readable(name string) bool {
	return len(name) >= 2 && strings.ContainsFunc(name, func(r rune) bool { return r >= 'a' && r <= 'z' })
}

// Candidates lists usernames for the collision rule: the base, then the
// base with 2, 3, ... appended, each within max characters and, where the
// base had to be cut, without a trailing '.' or '-' before the number.
func Candidates(base string, max int) []string {
	if max <= 0 {
		max = 20
	}
	if len(base) > max {
		base = strings.TrimRight(base[:max], ".-")
	}
	c := []string{base}
	for i := 2; i <= 99; i++ {
		suffix := fmt.Sprint(i)
		b := base
		if len(b)+len(suffix) > max {
			if max-len(suffix) < 1 {
				break // no room left for a name before the number
			}
			b = strings.TrimRight(b[:max-len(suffix)], ".-")
		}
		c = append(c, b+suffix)
	}
	return c
}

// foldMap covers Latin letters that do not decompose under NFKD.
var foldMap = map[rune]string{
	'Ł': "L", 'ł': "l", 'Ø': "O", 'ø': "o", 'ß': "ss", 'Æ': "AE", 'æ': "ae",
	'Œ': "OE", 'œ': "oe", 'Đ': "D", 'đ': "d", 'Ð': "D", 'ð': "d", 'Þ': "Th",
	'þ': "th", 'ı': "i", 'Ħ': "H", 'ħ': "h", 'Ŋ': "N", 'ŋ': "n",
}

// ASCII transliterates text to ASCII. Latin letters fold as a reader
// expects (José Łukasiewicz → Jose Lukasiewicz: NFKD, combining marks
// dropped, a map for letters that do not decompose); every other script
// goes through unidecode's tables (Фёдор → Fiodor, 李伟 → Li Wei, Οδυσσέας
// → Odusseas). What has no transliteration (emoji) is dropped.
func ASCII(s string) string {
	var b strings.Builder
	for _, r := range norm.NFC.String(s) {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		if f, ok := foldMap[r]; ok {
			b.WriteString(f)
			continue
		}
		if f, ok := latin(r); ok {
			b.WriteString(f)
			continue
		}
		// Syllables (Hangul) and ideographs are looked up whole: their
		// NFKD parts would transliterate differently. unidecode ends an
		// ideograph's reading with a space, which keeps the words apart.
		b.WriteString(unidecode.Unidecode(string(r)))
	}
	return strings.TrimRight(b.String(), " ")
}

// latin folds a rune whose NFKD form is ASCII plus combining marks (é, ǅ,
// ﬁ, fullwidth Ａ); ok is false for anything else.
func latin(r rune) (string, bool) {
	var b strings.Builder
	for _, d := range norm.NFKD.String(string(r)) {
		switch {
		case d < utf8.RuneSelf:
			b.WriteRune(d)
		case unicode.Is(unicode.Mn, d):
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}
