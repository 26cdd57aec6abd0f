package playbook

import (
	"fmt"
	"sort"
	"strings"

	"onboard/internal/username"
)

// The template syntax: ${name} or ${name|filter|filter}. $${ writes a
// literal ${. Names are person.*, account.username, account.home,
// machine.host and vars.*; filters are lower, upper, first, ascii, trim.
//
// A template is expanded once, when the plan is made; the result is plain
// text and never re-expanded.

// Filters available in templates.
var filters = map[string]func(string) string{
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"trim":  strings.TrimSpace,
	"ascii": ASCII,
	"first": func(s string) string {
		for _, r := range s {
			return string(r)
		}
		return ""
	},
}

// Expand replaces every ${...} in s with its value from vars.
func Expand(s string, vars map[string]string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is a literal ${
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("template %q: ${ is not closed with }", s[i:])
		}
		expr := s[i+2 : i+j]
		parts := strings.Split(expr, "|")
		name := strings.TrimSpace(parts[0])
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("template ${%s}: unknown name %q (known: %s)", expr, name, knownNames(vars))
		}
		for _, f := range parts[1:] {
			fn, ok := filters[strings.TrimSpace(f)]
			if !ok {
				return "", fmt.Errorf("template ${%s}: unknown filter %q (known: ascii, first, lower, trim, upper)", expr, strings.TrimSpace(f))
			}
			v = fn(v)
		}
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

func knownNames(vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ASCII transliterates text to ASCII: the template filter ascii, and the
// same transliteration usernames are derived with (see package username),
// so that a policy written with |ascii gives the name onboard would.
func ASCII(s string) string { return username.ASCII(s) }
