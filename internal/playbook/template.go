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
	segs, err := Segments(s, vars)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, g := range segs {
		b.WriteString(g.Text)
	}
	return b.String(), nil
}

// Segment is a piece of a templated text: literal text as written (with
// $${ already turned into ${), or one template and its value.
type Segment struct {
	Text     string // the literal text, or the template's value
	Template string // the template as written, "${...}"; "" for literal text
	Offset   int    // byte offset of the piece in the written text
}

// Segments splits s into literal text and templates, each template with
// its value from vars. Fields that are code (commands) use it to treat
// values as data rather than paste them. With vars nil, names and filters
// are not looked up and every value is empty: for checking the shape of a
// text (a profile's, whose hire is not known yet).
func Segments(s string, vars map[string]string) ([]Segment, error) {
	var segs []Segment
	var lit strings.Builder
	litStart, pos := 0, 0
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, Segment{Text: lit.String(), Offset: litStart})
			lit.Reset()
		}
	}
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			lit.WriteString(s)
			flush()
			return segs, nil
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is a literal ${
			lit.WriteString(s[:i-1])
			lit.WriteString("${")
			s, pos = s[i+2:], pos+i+2
			continue
		}
		lit.WriteString(s[:i])
		flush()
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("template %q: ${ is not closed with }", s[i:])
		}
		expr := s[i+2 : i+j]
		if vars == nil {
			segs = append(segs, Segment{Template: s[i : i+j+1], Offset: pos + i})
			s, pos = s[i+j+1:], pos+i+j+1
			litStart = pos
			continue
		}
		parts := strings.Split(expr, "|")
		name := strings.TrimSpace(parts[0])
		v, ok := vars[name]
		if !ok {
			return nil, fmt.Errorf("template ${%s}: unknown name %q (known: %s)", expr, name, knownNames(vars))
		}
		for _, f := range parts[1:] {
			fn, ok := filters[strings.TrimSpace(f)]
			if !ok {
				return nil, fmt.Errorf("template ${%s}: unknown filter %q (known: ascii, first, lower, trim, upper)", expr, strings.TrimSpace(f))
			}
			v = fn(v)
		}
		segs = append(segs, Segment{Text: v, Template: s[i : i+j+1], Offset: pos + i})
		s, pos = s[i+j+1:], pos+i+j+1
		litStart = pos
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
