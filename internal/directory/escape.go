package directory

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// filter is an LDAP search filter. Values reach a filter only through
// filterEq, which escapes them; the other constructors combine filters.
// Nothing else in this package builds filter text.
type filter string

// attrRE is an attribute description: a name or a numeric OID, no options.
var attrRE = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)$`)

// mustAttr panics on an invalid attribute name. Attribute names in filters
// and RDNs are constants of this package (or Extra keys checked by
// validAttrName first), so a bad one is a programming error.
func mustAttr(attr string) {
	if !attrRE.MatchString(attr) {
		panic(fmt.Sprintf("directory: invalid attribute name %q", attr))
	}
}

// filterEq matches entries whose attribute attr equals value, literally:
// '*', '(', ')', '\', NUL and every non-ASCII byte are escaped (RFC 4515).
func filterEq(attr, value string) filter {
	mustAttr(attr)
	return filter("(" + attr + "=" + ldap.EscapeFilter(value) + ")")
}

// filterPresent matches entries that have attribute attr.
func filterPresent(attr string) filter {
	mustAttr(attr)
	return filter("(" + attr + "=*)")
}

func filterAnd(fs ...filter) filter { return filterSet('&', fs) }
func filterOr(fs ...filter) filter  { return filterSet('|', fs) }
func filterNot(f filter) filter     { return "(!" + f + ")" }

func filterSet(op byte, fs []filter) filter {
	if len(fs) == 1 {
		return fs[0]
	}
	var b strings.Builder
	b.WriteByte('(')
	b.WriteByte(op)
	for _, f := range fs {
		b.WriteString(string(f))
	}
	b.WriteByte(')')
	return filter(b.String())
}

// rdn is one relative distinguished name, attr=value, with value escaped by
// ldap.EscapeDN (RFC 4514). It is the only way this package puts a value into
// a DN; the parent DNs it is joined to come from the configuration or from
// the server.
func rdn(attr, value string) string {
	mustAttr(attr)
	// RFC 4514 lets '=' stand unescaped, but Samba's DN parser refuses it in
	// places ("uid=*", a trailing '='); "\=" is valid everywhere.
	return attr + "=" + strings.ReplaceAll(ldap.EscapeDN(value), "=", `\=`)
}

// childDN is the DN of the entry attr=value directly under parent.
func childDN(attr, value, parent string) string {
	if parent == "" {
		return rdn(attr, value)
	}
	return rdn(attr, value) + "," + parent
}

// checkText rejects what must never reach the server in a name or an
// attribute value: a NUL byte (C APIs on the server truncate at it), other
// control characters, and invalid UTF-8 (LDAP strings are UTF-8). what names
// the field for the error, which quotes the value with %q so that nothing
// unprintable reaches a terminal.
func checkText(what, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s %q: %w: not valid UTF-8", what, v, ErrInvalidValue)
	}
	for _, r := range v {
		switch {
		case r == 0:
			return fmt.Errorf("%s %q: %w: contains a NUL byte", what, v, ErrInvalidValue)
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("%s %q: %w: contains the control character %U", what, v, ErrInvalidValue, r)
		}
	}
	return nil
}

// adBadSAMChars are the characters Windows forbids in a sAMAccountName.
const adBadSAMChars = `"/\[]:;|=,+*?<>`

// checkUsername checks a login name for the directory kind. OpenLDAP stores
// any text literally; Active Directory has the Windows rules.
func checkUsername(kind Kind, name string) error {
	if name == "" {
		return fmt.Errorf("username: %w: empty", ErrInvalidValue)
	}
	if err := checkText("username", name); err != nil {
		return err
	}
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("username %q: %w: leading or trailing space", name, ErrInvalidValue)
	}
	if kind != ActiveDirectory {
		return nil
	}
	if i := strings.IndexAny(name, adBadSAMChars); i >= 0 {
		return fmt.Errorf("username %q: %w: Active Directory forbids %q in a logon name (any of %s)", name, ErrInvalidValue, name[i:i+1], adBadSAMChars)
	}
	if n := utf8.RuneCountInString(name); n > 20 {
		return fmt.Errorf("username %q: %w: %d characters, Active Directory allows 20", name, ErrInvalidValue, n)
	}
	if strings.HasSuffix(name, ".") {
		return fmt.Errorf("username %q: %w: Active Directory forbids a trailing '.'", name, ErrInvalidValue)
	}
	return nil
}

// validAttrName checks an attribute name taken from a playbook.
func validAttrName(a string) bool { return attrRE.MatchString(a) }
