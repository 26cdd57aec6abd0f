package directory

import (
	"errors"
	"testing"
	"unicode/utf8"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

func TestFilterEq(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"plain", "jdoe", `(uid=jdoe)`},
		{"star alone never widens", "*", `(uid=\2a)`},
		{"injection", "*)(uid=*", `(uid=\2a\29\28uid=\2a)`},
		{"backslash", `a\b`, `(uid=a\5cb)`},
		{"NUL", "a\x00b", `(uid=a\00b)`},
		{"non-ASCII bytes", "José", `(uid=Jos\c3\a9)`},
		{"DN specials are plain in a filter", `,+"<>;=`, `(uid=,+"<>;=)`},
		{"empty", "", `(uid=)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(filterEq("uid", tt.value)); got != tt.want {
				t.Errorf("filterEq(uid, %q) = %s, want %s", tt.value, got, tt.want)
			}
			checkFilterLiteral(t, "uid", tt.value)
		})
	}
}

func TestFilterCombinators(t *testing.T) {
	f := filterAnd(filterEq("objectClass", "user"), filterNot(filterEq("objectClass", "computer")),
		filterOr(filterEq("cn", "a*"), filterPresent("mail")))
	want := `(&(objectClass=user)(!(objectClass=computer))(|(cn=a\2a)(mail=*)))`
	if string(f) != want {
		t.Errorf("got %s, want %s", f, want)
	}
	if _, err := ldap.CompileFilter(string(f)); err != nil {
		t.Errorf("CompileFilter(%s): %v", f, err)
	}
	if got := filterAnd(filterEq("a", "b")); got != "(a=b)" {
		t.Errorf("filterAnd of one = %s", got)
	}
}

func TestBadAttributeNamePanics(t *testing.T) {
	for _, attr := range []string{"", "uid=*)(x", "a b", "-x", "uid;binary"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("filterEq(%q, ...) did not panic", attr)
				}
			}()
			filterEq(attr, "x")
		}()
	}
}

func TestRDN(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"plain", "jdoe", `uid=jdoe`},
		{"comma and plus", "O'Brien, José + Co", `uid=O'Brien\, José \+ Co`},
		{"all specials", `a"b<c>d;e\f`, `uid=a\"b\<c\>d\;e\\f`},
		{"equals is escaped (Samba refuses some bare ones)", "a=b", `uid=a\=b`},
		{"leading space", " lead", `uid=\ lead`},
		{"trailing space", "trail ", `uid=trail\ `},
		{"leading hash", "#x", `uid=\#x`},
		{"NUL", "a\x00b", `uid=a\00b`},
		{"filter injection is plain in a DN", "*)(uid=*", `uid=*)(uid\=*`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rdn("uid", tt.value); got != tt.want {
				t.Errorf("rdn(uid, %q) = %s, want %s", tt.value, got, tt.want)
			}
			checkRDNLiteral(t, "uid", tt.value)
		})
	}
	if got := childDN("CN", "O'Brien, José + Co", "OU=Staff,DC=corp"); got != `CN=O'Brien\, José \+ Co,OU=Staff,DC=corp` {
		t.Errorf("childDN = %s", got)
	}
}

func TestCheckText(t *testing.T) {
	for _, v := range []string{"a\x00b", "a\nb", "\x7f", "\xff\xfe"} {
		if err := checkText("x", v); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("checkText(%q) = %v, want ErrInvalidValue", v, err)
		}
	}
	for _, v := range []string{"", "José", "*)(uid=*", `a\b`, `,+"<>;=`} {
		if err := checkText("x", v); err != nil {
			t.Errorf("checkText(%q) = %v", v, err)
		}
	}
}

func TestCheckUsername(t *testing.T) {
	tests := []struct {
		kind Kind
		name string
		ok   bool
	}{
		{OpenLDAP, "*)(uid=*", true},
		{OpenLDAP, `a\b`, true},
		{OpenLDAP, "a\x00b", false},
		{OpenLDAP, "", false},
		{OpenLDAP, " x", false},
		{ActiveDirectory, "jdoe", true},
		{ActiveDirectory, "o)(x&y", true},
		{ActiveDirectory, "*)(uid=*", false},
		{ActiveDirectory, `a\b`, false},
		{ActiveDirectory, "abcdefghijklmnopqrstu", false},
		{ActiveDirectory, "trailing.", false},
	}
	for _, tt := range tests {
		err := checkUsername(tt.kind, tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("checkUsername(%s, %q) = %v, want ok=%v", tt.kind, tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidValue) {
			t.Errorf("checkUsername(%s, %q) = %v, not ErrInvalidValue", tt.kind, tt.name, err)
		}
	}
}

// checkFilterLiteral proves that filterEq(attr, v) is one equality match of
// attr against exactly v: no wildcard, no extra clause.
func checkFilterLiteral(t *testing.T, attr, v string) {
	t.Helper()
	f := string(filterEq(attr, v))
	p, err := ldap.CompileFilter(f)
	if err != nil {
		t.Fatalf("CompileFilter(%q) for value %q: %v", f, v, err)
	}
	if p.ClassType != ber.ClassContext || p.Tag != ldap.FilterEqualityMatch {
		t.Fatalf("filter %q for value %q is %s, want an equality match", f, v, ldap.FilterMap[uint64(p.Tag)])
	}
	if len(p.Children) != 2 {
		t.Fatalf("filter %q: %d children", f, len(p.Children))
	}
	if got := p.Children[0].Data.String(); got != attr {
		t.Fatalf("filter %q: attribute %q, want %q", f, got, attr)
	}
	if got := p.Children[1].Data.String(); got != v {
		t.Fatalf("filter %q: value %q, want %q", f, got, v)
	}
}

// checkRDNLiteral proves that rdn(attr, v) under a parent parses as one RDN
// of one attribute attr whose value is exactly v, and the parent intact.
func checkRDNLiteral(t *testing.T, attr, v string) {
	t.Helper()
	const parent = "ou=People,dc=corp,dc=example,dc=test"
	dn := childDN(attr, v, parent)
	d, err := ldap.ParseDN(dn)
	if err != nil {
		t.Fatalf("ParseDN(%q) for value %q: %v", dn, v, err)
	}
	if len(d.RDNs) != 5 {
		t.Fatalf("DN %q for value %q has %d RDNs, want 5", dn, v, len(d.RDNs))
	}
	first := d.RDNs[0].Attributes
	if len(first) != 1 || first[0].Type != attr || first[0].Value != v {
		t.Fatalf("DN %q: first RDN %+v, want %s=%q", dn, first, attr, v)
	}
	p, _ := ldap.ParseDN(parent)
	if !(&ldap.DN{RDNs: d.RDNs[1:]}).Equal(p) {
		t.Fatalf("DN %q: parent changed", dn)
	}
}

var fuzzSeeds = []string{
	"", "jdoe", "*", "*)(uid=*", `a\b`, "a\x00b", `,+"<>;=`, "O'Brien, José + Co", " lead", "trail ",
	"#x", `\`, `\\`, `\2a`, "(", ")", "ü", "  ", "\\ ", "x\\", "=", "a=b,c=d", "\t", "😀",
}

func FuzzFilterEq(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		// Any bytes, valid UTF-8 or not: the filter escapes all non-ASCII.
		checkFilterLiteral(t, "uid", v)
	})
}

func FuzzRDN(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) || v == "" {
			// checkText refuses invalid UTF-8 before any DN is built, and
			// an empty value names nothing.
			t.Skip()
		}
		checkRDNLiteral(t, "uid", v)
	})
}

func TestSameValue(t *testing.T) {
	tests := []struct {
		cur, want string
		same      bool
	}{
		{"Engineer", "Engineer", true},
		{"engineer", "Engineer", false},
		{"CN=Grace Hopper,OU=Staff,DC=corp,DC=example,DC=test", "cn=grace hopper,ou=staff,dc=corp,dc=example,dc=test", true},
		{"CN=Grace Hopper,OU=Staff,DC=corp", "cn=Grace Hopper, ou=Staff, dc=corp", true},
		{`CN=O'Brien\, José,OU=Staff,DC=corp`, `cn=o'brien\2c josé,ou=staff,dc=corp`, true},
		{"CN=Grace Hopper,OU=Staff,DC=corp", "cn=grace hopper,ou=sales,dc=corp", false},
		{"CN=Grace Hopper,OU=Staff,DC=corp", "cn=grace hopper", false},
		{"Grace Hopper", "grace hopper", false}, // not a DN: byte for byte
		{"not a dn", "cn=x", false},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := sameValue(tt.cur, tt.want); got != tt.same {
			t.Errorf("sameValue(%q, %q) = %v, want %v", tt.cur, tt.want, got, tt.same)
		}
	}
}
