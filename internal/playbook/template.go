package playbook

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"onboard/internal/suggest"
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
// text (a profile's, whose hire is not known yet). Every unknown name and
// filter of s is reported, in a *TemplateError.
func Segments(s string, vars map[string]string) ([]Segment, error) {
	var segs []Segment
	var problems []string
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
			break
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
			problems = append(problems, fmt.Sprintf("template %q: ${ is not closed with }", s[i:]))
			break
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
			problems = append(problems, fmt.Sprintf("template ${%s}: unknown name %q%s", expr, name, didYouMean(name, sortedNames(vars), "known")))
		}
		for _, f := range parts[1:] {
			fn, known := filters[strings.TrimSpace(f)]
			if !known {
				problems = append(problems, fmt.Sprintf("template ${%s}: unknown filter %q%s", expr, strings.TrimSpace(f), didYouMean(strings.TrimSpace(f), filterNames, "known")))
				continue
			}
			v = fn(v)
		}
		segs = append(segs, Segment{Text: v, Template: s[i : i+j+1], Offset: pos + i})
		s, pos = s[i+j+1:], pos+i+j+1
		litStart = pos
	}
	if len(problems) > 0 {
		return nil, &TemplateError{Problems: problems}
	}
	return segs, nil
}

// TemplateError is every problem of one templated text: each unknown name
// or filter, or an unclosed ${.
type TemplateError struct {
	Problems []string
}

func (e *TemplateError) Error() string { return strings.Join(e.Problems, "; ") }

// Problems splits an error of Expand or Segments into one message per
// problem, for callers that report each at the field's position.
func Problems(err error) []string {
	var te *TemplateError
	if errors.As(err, &te) {
		return te.Problems
	}
	return []string{err.Error()}
}

// didYouMean is " (did you mean "x"?)" for the closest of names, or the
// names listed after label.
func didYouMean(word string, names []string, label string) string {
	if best, ok := suggest.Closest(word, names); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (%s: %s)", label, strings.Join(names, ", "))
}

var filterNames = sortedNames(filters)

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ASCII transliterates text to ASCII: the template filter ascii, and the
// same transliteration usernames are derived with (see package username),
// so that a policy written with |ascii gives the name onboard would.
func ASCII(s string) string { return username.ASCII(s) }
