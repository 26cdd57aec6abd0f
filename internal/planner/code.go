package planner

import (
	"strings"

	"onboard/internal/codetemplate"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// codeFields expands the fields of one step that are code (a command's run
// and unless, a check's command): templates become variable references and
// their values the step's Values (see codetemplate). Errors name the field
// in doc.
type codeFields struct {
	b   *builder
	doc *strictyaml.Doc
	e   codetemplate.Expander
	// rename maps a field path prefix as the caller knows it to the path in
	// doc (a profile's check is checks[-1] among the playbook's).
	rename map[string]string
}

// code starts the code fields of one step on a host of the given OS.
func (b *builder) code(doc *strictyaml.Doc, os string, vars map[string]string) *codeFields {
	lang := codetemplate.Sh
	if os == "windows" {
		lang = codetemplate.PowerShell
	}
	return &codeFields{b: b, doc: doc, e: codetemplate.Expander{Lang: lang, Vars: vars}}
}

func (c *codeFields) expand(path, text string) string {
	out, err := c.e.Expand(text)
	if err != nil {
		for _, p := range playbook.Problems(err) {
			c.fail(path, "%s", p)
		}
	}
	return out
}

// fail reports a problem at a field of the step's file.
func (c *codeFields) fail(path, format string, args ...any) {
	for from, to := range c.rename {
		if rest, ok := strings.CutPrefix(path, from); ok {
			path = to + rest
		}
	}
	c.b.fail(c.doc.Errorf(path, format, args...))
}

// values are the values the step's code refers to.
func (c *codeFields) values() []string { return c.e.Values }
