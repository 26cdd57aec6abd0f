package scim

import "strings"

// rewriteFilter turns the one filter form Entra sends that RFC 7644's
// grammar lacks, a value path followed by a sub-attribute comparison
// (emails[type eq "work"].value eq "a@b.c"), into the equivalent the
// grammar has (emails[type eq "work" and value eq "a@b.c"]). Any other
// filter is returned as it is.
func rewriteFilter(f string) string {
	open := indexUnquoted(f, '[', 0)
	if open < 0 {
		return f
	}
	end := indexUnquoted(f, ']', open)
	if end < 0 || end+1 >= len(f) || f[end+1] != '.' {
		return f
	}
	rest := f[end+2:]
	// rest is "sub op value": the sub-attribute is a plain name, and the
	// comparison holds no further value path.
	name := 0
	for name < len(rest) && (rest[name] == '_' || rest[name] == '-' || rest[name] == '$' || isAlnum(rest[name])) {
		name++
	}
	if name == 0 || name == len(rest) || rest[name] != ' ' || indexUnquoted(rest, '[', 0) >= 0 || indexUnquoted(rest, ']', 0) >= 0 {
		return f
	}
	return f[:end] + " and " + strings.TrimSpace(rest) + "]"
}

// indexUnquoted finds c at or after from outside double-quoted strings.
func indexUnquoted(s string, c byte, from int) int {
	quoted := false
	for i := from; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		case !quoted && s[i] == c:
			return i
		}
	}
	return -1
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}
