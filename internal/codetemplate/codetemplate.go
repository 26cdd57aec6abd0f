// Package codetemplate expands playbook templates in fields that are code
// (commands for POSIX sh and PowerShell): a template's value is never pasted
// into the code, it travels as data and the code refers to it by a variable.
//
// The author's text is lexed in the target's language to know the quoting
// around each ${...}: outside quotes and inside double quotes the template
// becomes a reference to the variable __onboard_N, which the shell expands
// to the value as one literal string; inside single quotes (where nothing is
// expanded) and in the few places onboard cannot tell, the template is
// refused with the reason and what to write instead. The values reach the
// host as data: for sh, assignments quoted by shell.Quote (Prelude); for
// PowerShell, the script's JSON data block, turned into variables by
// PowerShellVars.
package codetemplate

import (
	"fmt"
	"strconv"
	"strings"

	"onboard/internal/playbook"
	"onboard/internal/shell"
)

// Lang is the language a code field is written in.
type Lang int

const (
	// Sh is POSIX sh (Linux and macOS hosts over SSH).
	Sh Lang = iota
	// PowerShell is Windows PowerShell 5.1 (Windows hosts over WinRM).
	PowerShell
)

func (l Lang) String() string {
	if l == PowerShell {
		return "PowerShell"
	}
	return "sh"
}

// VarName is the name of the variable that holds the i-th value (0-based).
func VarName(i int) string { return "__onboard_" + strconv.Itoa(i+1) }

// Expander expands the code fields of one step (a command's run and
// unless, a check's command). The fields share one numbering, so one list
// of values serves all of them.
type Expander struct {
	Lang Lang
	Vars map[string]string // template names and their values
	// Values are the values referred to so far: VarName(i) holds Values[i].
	Values []string
}

// Error is a template that cannot be made a variable reference where it
// stands.
type Error struct {
	Template  string // as written, "${person.surname}"
	Line, Col int    // 1-based position of the template in the field's text
	Why       string // the reason and what to write instead
}

func (e *Error) Error() string {
	return fmt.Sprintf("template %s at line %d, column %d of the command: %s", e.Template, e.Line, e.Col, e.Why)
}

// quoting is where a template stands in the author's code.
type quoting struct {
	kind   ctxKind
	refuse string // for ctxRefused: why, and what to write instead
}

type ctxKind int

const (
	ctxCode    ctxKind = iota // sh: unquoted; PowerShell: an expression or argument of its own
	ctxString                 // inside double quotes, a double-quoted here-string, an unquoted here-document
	ctxComment                // inside a comment
	ctxRefused
)

// placeholder stands for a template in the rune slice the lexers read: no
// decoded text contains it.
const placeholder rune = -1

// Expand returns text with every template replaced by a variable
// reference, appending the values to e.Values. A text without templates
// comes back unchanged.
func (e *Expander) Expand(text string) (string, error) {
	segs, err := playbook.Segments(text, e.Vars)
	if err != nil {
		return "", err
	}
	var rs []rune
	var tmpls []playbook.Segment
	for _, g := range segs {
		if g.Template == "" {
			rs = append(rs, []rune(g.Text)...)
			continue
		}
		rs = append(rs, placeholder)
		tmpls = append(tmpls, g)
	}
	if len(tmpls) == 0 {
		return strings.Join(segTexts(segs), ""), nil
	}
	var ctxs []quoting
	if e.Lang == PowerShell {
		ctxs = lexPowerShell(rs)
	} else {
		ctxs = lexSh(rs)
	}
	var b strings.Builder
	k := 0
	for _, g := range segs {
		if g.Template == "" {
			b.WriteString(g.Text)
			continue
		}
		c := ctxs[k]
		k++
		if c.kind == ctxRefused {
			line, col := position(text, g.Offset)
			return "", &Error{Template: g.Template, Line: line, Col: col, Why: c.refuse}
		}
		if e.Lang == Sh && strings.IndexByte(g.Text, 0) >= 0 {
			line, col := position(text, g.Offset)
			return "", &Error{Template: g.Template, Line: line, Col: col, Why: "its value contains a NUL byte, which no shell variable can hold"}
		}
		b.WriteString(e.reference(e.index(g.Text), c.kind))
	}
	return b.String(), nil
}

func segTexts(segs []playbook.Segment) []string {
	out := make([]string, len(segs))
	for i, g := range segs {
		out[i] = g.Text
	}
	return out
}

// index returns the variable number of a value, adding it once.
func (e *Expander) index(v string) int {
	for i, x := range e.Values {
		if x == v {
			return i
		}
	}
	e.Values = append(e.Values, v)
	return len(e.Values) - 1
}

// reference is how the code refers to variable i where the template stood.
func (e *Expander) reference(i int, k ctxKind) string {
	name := VarName(i)
	switch {
	case e.Lang == Sh && k == ctxCode:
		// Double-quoted: one word, no field splitting, no globbing.
		return `"${` + name + `}"`
	case e.Lang == PowerShell && k == ctxCode:
		return "$" + name
	}
	// In a string (or comment) the braces end the name whatever follows.
	return "${" + name + "}"
}

// position is the 1-based line and column (in characters) of byte offset
// off in text.
func position(text string, off int) (line, col int) {
	before := text[:off]
	line = strings.Count(before, "\n") + 1
	col = len([]rune(before[strings.LastIndexByte(before, '\n')+1:])) + 1
	return line, col
}

// Lint reports the first template of text that Expand would refuse for
// where it stands, whatever the values: for texts whose hire is not known
// yet (a profile's checks, validated alone).
func Lint(lang Lang, text string) error {
	_, err := (&Expander{Lang: lang}).Expand(text)
	return err
}

// Prelude is the sh text that gives the variables their values, one
// assignment a line, each value quoted by shell.Quote; it goes before the
// command, in the same shell (and so inside what sudo runs).
func Prelude(values []string) string {
	var b strings.Builder
	for i, v := range values {
		b.WriteString(VarName(i) + "=" + shell.Quote(v) + "\n")
	}
	return b.String()
}

// PowerShellVars is PowerShell text that turns $in.vars (the values, a
// JSON array in the script's data) into the variables $__onboard_1,
// $__onboard_2, ... A script block created from a command's text and
// called with & runs in a child scope, where it sees them.
const PowerShellVars = `$__onboard_n = 0
foreach ($__onboard_v in $in.vars) { $__onboard_n++; Set-Variable -Name ('__onboard_' + $__onboard_n) -Value ([string]$__onboard_v) }
`

// scanner is the position in an author's command that both lexers share.
type scanner struct {
	rs   []rune
	i    int
	ctxs []quoting
}

// peek is the rune k places from the current one (k may be negative), or 0
// past either end.
func (s *scanner) peek(k int) rune {
	if s.i+k >= 0 && s.i+k < len(s.rs) {
		return s.rs[s.i+k]
	}
	return 0
}

// toLineEnd skips to the end of the line, calling mark at each template
// on the way (a comment, or text passed on unparsed).
func (s *scanner) toLineEnd(mark func()) {
	for ; s.i < len(s.rs) && s.rs[s.i] != '\n'; s.i++ {
		if s.rs[s.i] == placeholder {
			mark()
		}
	}
}
