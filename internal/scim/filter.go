package scim

import (
	"strings"

	libfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

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

// subToValuePath rewrites comparisons of a sub-attribute of a multi-valued
// attribute (emails.value co "x") as the equivalent value path
// (emails[value co "x"]), which the library's evaluator can apply to each
// value; RFC 7644 §3.4.2.2 gives both the same meaning.
func (s schemas) subToValuePath(e filter.Expression) filter.Expression {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		sub := e.AttributePath.SubAttributeName()
		if sub == "" {
			return e
		}
		sch := s.core
		if uri := e.AttributePath.URI(); uri != "" && uri != s.core.ID {
			sch = s.ext[uri]
		}
		attr, ok := sch.Attributes.ContainsAttribute(e.AttributePath.AttributeName)
		if !ok || !attr.MultiValued() || !attr.HasSubAttributes() {
			return e
		}
		return &filter.ValuePath{
			AttributePath: filter.AttributePath{URIPrefix: e.AttributePath.URIPrefix, AttributeName: e.AttributePath.AttributeName},
			ValueFilter: &filter.AttributeExpression{
				AttributePath: filter.AttributePath{AttributeName: sub},
				Operator:      e.Operator,
				CompareValue:  e.CompareValue,
			},
		}
	case *filter.LogicalExpression:
		return &filter.LogicalExpression{Left: s.subToValuePath(e.Left), Right: s.subToValuePath(e.Right), Operator: e.Operator}
	case *filter.NotExpression:
		return &filter.NotExpression{Expression: s.subToValuePath(e.Expression)}
	}
	return e
}

// filterValidator is the validator the library made, with sub-attribute
// comparisons rewritten, over the schemas with the common attributes.
func (s schemas) filterValidator(v libfilter.Validator) libfilter.Validator {
	core := s.core
	core.Attributes = append(append(schema.Attributes{}, core.Attributes...), schema.CommonAttributes()...)
	return libfilter.NewFilterValidator(s.subToValuePath(v.GetFilter()), core, s.ext[EnterpriseSchema], s.ext[OnboardSchema])
}
