package winsim

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// The PowerShell language as winsim runs it: statements of a command and
// its arguments, and the strings of Windows PowerShell 5.1 with their
// semantics, so that a value pasted into code would run here as it would
// on Windows (a test then sees the injection), and a value kept as data
// stays one literal string:
//
//   - Single-quoted strings: ' ‘ ’ ‚ ‛ are all single quotes; two of them
//     in a row inside stand for the second; nothing else is special.
//     Here-strings @'<newline>...<newline>'@ likewise.
//   - Double-quoted strings: " “ ” „ are all double quotes (doubled: one
//     quote). Inside, $name and ${name} are replaced by the variable's
//     value (an unknown variable is $null: empty), $(...) runs its
//     statements and is replaced by their output joined with spaces, and
//     a backtick escapes the next character: `0 `a `b `f `n `r `t `v are
//     control characters, any other character stands for itself (5.1 has
//     no `e or `u{...}). Here-strings @"<newline>...<newline>"@ likewise.
//   - Bare words are expanded the same way ($name, $(...), backticks); a
//     word that is only $name, ${name} or $(...) is that value as one
//     argument. A bare word starting with - is a parameter name.
//   - A statement that is only a string or a variable outputs its value.
//   - Comments: # to the end of the line, <# ... #>.
//
// Variables: $true, $false, $null and the ones the run defines (the
// command scripts' $__onboard_N from $in.vars). Anything else (member
// access, operators, pipelines, script blocks, redirection, a bare word
// joined to a quoted string) is refused as unsupported, never guessed.

// psWord is one element of a statement, before evaluation.
type psWord struct {
	parts []psPart
	param bool   // a bare -Name or -Name:value, kept as written
	raw   string // the text as written, for messages
}

type psPartKind int

const (
	partLit psPartKind = iota
	partVar
	partSub
)

type psPart struct {
	kind psPartKind
	lit  string        // partLit: the text; partVar: the variable's name
	sub  []psStatement // partSub: the statements of $( ... )
}

type psStatement []psWord

func isSingleQuote(r rune) bool {
	switch r {
	case '\'', '\u2018', '\u2019', '\u201A', '\u201B':
		return true
	}
	return false
}

func isDoubleQuote(r rune) bool {
	switch r {
	case '"', '\u201C', '\u201D', '\u201E':
		return true
	}
	return false
}

// errParse is a text winsim cannot parse: a real parse error (an
// unterminated string) or something outside its subset.
type errParse struct {
	msg         string
	unsupported bool
}

func (e *errParse) Error() string { return e.msg }

type psParser struct {
	rs []rune
	i  int
}

// parsePS splits text into statements.
func parsePS(text string) ([]psStatement, error) {
	p := &psParser{rs: []rune(text)}
	stmts, err := p.statements(false)
	if err != nil {
		return nil, err
	}
	return stmts, nil
}

func (p *psParser) peek(k int) rune {
	if p.i+k < len(p.rs) {
		return p.rs[p.i+k]
	}
	return 0
}

func unsupportedf(format string, args ...any) error {
	return &errParse{msg: fmt.Sprintf(format, args...), unsupported: true}
}

// statements reads statements to the end, or in a subexpression to its ).
func (p *psParser) statements(inSub bool) ([]psStatement, error) {
	var stmts []psStatement
	var cur psStatement
	end := func() {
		if len(cur) > 0 {
			stmts = append(stmts, cur)
			cur = nil
		}
	}
	for p.i < len(p.rs) {
		r := p.rs[p.i]
		switch {
		case r == '\n' || r == ';':
			end()
			p.i++
		case r == ' ' || r == '\t' || r == '\r':
			p.i++
		case r == '`' && (p.peek(1) == '\n' || (p.peek(1) == '\r' && p.peek(2) == '\n')):
			// a line continued
			p.i += 2
			if p.rs[p.i-1] == '\r' {
				p.i++
			}
		case r == '<' && p.peek(1) == '#':
			for p.i < len(p.rs) && (p.rs[p.i] != '#' || p.peek(1) != '>') {
				p.i++
			}
			if p.i >= len(p.rs) {
				return nil, &errParse{msg: "missing closing '#>' in statement block or type definition"}
			}
			p.i += 2
		case r == '#':
			for p.i < len(p.rs) && p.rs[p.i] != '\n' {
				p.i++
			}
		case r == ')' && inSub:
			p.i++
			end()
			return stmts, nil
		case r == ')':
			return nil, &errParse{msg: "unexpected token ')' in expression or statement"}
		default:
			w, err := p.word()
			if err != nil {
				return nil, err
			}
			cur = append(cur, w)
		}
	}
	if inSub {
		return nil, &errParse{msg: "missing closing ')' in subexpression"}
	}
	end()
	return stmts, nil
}

// wordEnd says whether r ends a word.
func wordEnd(r rune) bool {
	return r == 0 || unicode.IsSpace(r) || r == ';' || r == ')'
}

// word reads one word: a string, a variable, a subexpression or a bare word.
func (p *psParser) word() (psWord, error) {
	start := p.i
	var w psWord
	var err error
	r := p.rs[p.i]
	switch {
	case isSingleQuote(r):
		p.i++
		var s string
		s, err = p.singleQuoted()
		w.parts = []psPart{{kind: partLit, lit: s}}
	case isDoubleQuote(r):
		p.i++
		w.parts, err = p.expandable(false)
	case r == '@' && (isSingleQuote(p.peek(1)) || isDoubleQuote(p.peek(1))):
		w.parts, err = p.hereString()
	case r == '$':
		var part psPart
		part, err = p.dollar()
		w.parts = []psPart{part}
	default:
		w.parts, err = p.bare()
		w.param = r == '-' && len(w.parts) > 0 && !isNumber(string(p.rs[start:p.i]))
		if w.param {
			w.parts = []psPart{{kind: partLit, lit: string(p.rs[start:p.i])}}
		}
	}
	if err != nil {
		return psWord{}, err
	}
	w.raw = string(p.rs[start:p.i])
	if !wordEnd(p.peek(0)) {
		return psWord{}, unsupportedf("%q: variables, expressions, pipelines, redirection and script blocks are not supported, nor a word joined to a string", string(p.rs[start:min(len(p.rs), p.i+12)]))
	}
	return w, nil
}

// singleQuoted reads the inside of '...' (after the opening quote).
func (p *psParser) singleQuoted() (string, error) {
	var b strings.Builder
	for p.i < len(p.rs) {
		r := p.rs[p.i]
		if isSingleQuote(r) {
			if isSingleQuote(p.peek(1)) {
				b.WriteRune(p.rs[p.i+1])
				p.i += 2
				continue
			}
			p.i++
			return b.String(), nil
		}
		b.WriteRune(r)
		p.i++
	}
	return "", &errParse{msg: "the string is missing the terminator: '"}
}

// escape is the character a backtick makes of c in Windows PowerShell 5.1.
func escape(c rune) rune {
	switch c {
	case '0':
		return 0
	case 'a':
		return '\a'
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'v':
		return '\v'
	}
	return c
}

// expandable reads the inside of "..." (after the opening quote), or of a
// double-quoted here-string's body.
func (p *psParser) expandable(here bool) ([]psPart, error) {
	var parts []psPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, psPart{kind: partLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for p.i < len(p.rs) {
		r := p.rs[p.i]
		switch {
		case here && p.i > 0 && p.rs[p.i-1] == '\n' && isDoubleQuote(r) && p.peek(1) == '@':
			p.i += 2
			flush()
			return trimHereEnd(parts), nil
		case !here && isDoubleQuote(r):
			if isDoubleQuote(p.peek(1)) {
				lit.WriteRune(p.rs[p.i+1])
				p.i += 2
				continue
			}
			p.i++
			flush()
			return parts, nil
		case r == '`' && p.i+1 < len(p.rs):
			lit.WriteRune(escape(p.rs[p.i+1]))
			p.i += 2
		case r == '$' && p.startsVariable():
			flush()
			part, err := p.dollar()
			if err != nil {
				return nil, err
			}
			parts = append(parts, part)
		default:
			lit.WriteRune(r)
			p.i++
		}
	}
	return nil, &errParse{msg: `the string is missing the terminator: "`}
}

// trimHereEnd drops the newline before a here-string's closing line.
func trimHereEnd(parts []psPart) []psPart {
	if n := len(parts); n > 0 && parts[n-1].kind == partLit {
		s := strings.TrimSuffix(strings.TrimSuffix(parts[n-1].lit, "\n"), "\r")
		parts[n-1].lit = s
	}
	return parts
}

// hereString reads @'...'@ or @"..."@ (at the @).
func (p *psParser) hereString() ([]psPart, error) {
	double := isDoubleQuote(p.peek(1))
	p.i += 2
	for p.i < len(p.rs) && (p.rs[p.i] == ' ' || p.rs[p.i] == '\t' || p.rs[p.i] == '\r') {
		p.i++
	}
	if p.i >= len(p.rs) || p.rs[p.i] != '\n' {
		return nil, &errParse{msg: "no characters are allowed after a here-string header but before the end of the line"}
	}
	p.i++
	if double {
		return p.expandable(true)
	}
	var b strings.Builder
	for p.i < len(p.rs) {
		if p.i > 0 && p.rs[p.i-1] == '\n' && isSingleQuote(p.rs[p.i]) && p.peek(1) == '@' {
			p.i += 2
			return []psPart{{kind: partLit, lit: strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), "\r")}}, nil
		}
		b.WriteRune(p.rs[p.i])
		p.i++
	}
	return nil, &errParse{msg: "the string is missing the terminator: '@"}
}

func isNameRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// startsVariable says whether the $ at i starts a variable or a
// subexpression (otherwise it is a literal $).
func (p *psParser) startsVariable() bool {
	n := p.peek(1)
	return n == '(' || n == '{' || isNameRune(n) || n == '?' || n == '^' || n == '$'
}

// dollar reads $name, $scope:name, ${name} or $( ... ) (at the $).
func (p *psParser) dollar() (psPart, error) {
	switch n := p.peek(1); {
	case n == '(':
		p.i += 2
		sub, err := p.statements(true)
		if err != nil {
			return psPart{}, err
		}
		return psPart{kind: partSub, sub: sub}, nil
	case n == '{':
		p.i += 2
		var b strings.Builder
		for p.i < len(p.rs) && p.rs[p.i] != '}' {
			if p.rs[p.i] == '`' && p.i+1 < len(p.rs) {
				p.i++
			}
			b.WriteRune(p.rs[p.i])
			p.i++
		}
		if p.i >= len(p.rs) {
			return psPart{}, &errParse{msg: "missing '}' in variable reference"}
		}
		p.i++
		return psPart{kind: partVar, lit: b.String()}, nil
	case n == '?' || n == '^' || n == '$':
		p.i += 2
		return psPart{kind: partVar, lit: string(n)}, nil
	case isNameRune(n):
		p.i++
		start := p.i
		for p.i < len(p.rs) && isNameRune(p.rs[p.i]) {
			p.i++
		}
		if p.peek(0) == ':' && isNameRune(p.peek(1)) {
			p.i++
			for p.i < len(p.rs) && isNameRune(p.rs[p.i]) {
				p.i++
			}
		}
		return psPart{kind: partVar, lit: string(p.rs[start:p.i])}, nil
	}
	p.i++
	return psPart{kind: partLit, lit: "$"}, nil
}

// bare reads a bare word, expanded as a double-quoted string is.
func (p *psParser) bare() ([]psPart, error) {
	start := p.i
	var parts []psPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, psPart{kind: partLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for p.i < len(p.rs) && !wordEnd(p.rs[p.i]) {
		r := p.rs[p.i]
		switch {
		case r == '`' && p.i+1 < len(p.rs):
			lit.WriteRune(escape(p.rs[p.i+1]))
			p.i += 2
		case r == '$' && p.startsVariable():
			flush()
			part, err := p.dollar()
			if err != nil {
				return nil, err
			}
			parts = append(parts, part)
		case strings.ContainsRune("(){}|&@<>,", r) || isSingleQuote(r) || isDoubleQuote(r):
			return nil, unsupportedf("%q: variables, expressions, pipelines, redirection and script blocks are not supported, nor a word joined to a string", string(p.rs[start:min(len(p.rs), p.i+12)]))
		default:
			lit.WriteRune(r)
			p.i++
		}
	}
	flush()
	return parts, nil
}

// value is the text of a word: its parts evaluated in order. Variables
// are looked up case-insensitively, as PowerShell does.
func (r *psRun) value(w psWord) (string, *psError) {
	var b strings.Builder
	for _, part := range w.parts {
		switch part.kind {
		case partLit:
			b.WriteString(part.lit)
		case partVar:
			b.WriteString(r.variable(part.lit))
		case partSub:
			out, e := r.subexpression(part.sub)
			if e != nil {
				return "", e
			}
			b.WriteString(out)
		}
	}
	return b.String(), nil
}

func (r *psRun) variable(name string) string {
	switch strings.ToLower(name) {
	case "true":
		return "True"
	case "false":
		return "False"
	}
	return r.vars[strings.ToLower(name)]
}

// subexpression runs statements and returns their output objects as
// PowerShell turns them into a string: joined with spaces ($OFS).
func (r *psRun) subexpression(stmts []psStatement) (string, *psError) {
	saved := r.capture
	var objs []string
	r.capture = &objs
	defer func() { r.capture = saved }()
	for _, st := range stmts {
		if e := r.statement(st); e != nil {
			return "", e
		}
		if r.exited {
			break
		}
	}
	return strings.Join(objs, " "), nil
}

// emit outputs one object: its text for Out-String (or for an enclosing
// $(...)), and the object itself for [bool].
func (r *psRun) emit(text string, obj any) {
	if r.capture != nil {
		*r.capture = append(*r.capture, text)
		return
	}
	r.out.WriteString(text + "\r\n")
	r.last = obj
}

// hasExit says whether statements contain an exit statement anywhere,
// subexpressions included (as the check's Find(..., $true) does).
func hasExit(stmts []psStatement) bool {
	for _, st := range stmts {
		if len(st[0].parts) == 1 && st[0].parts[0].kind == partLit && !st[0].param && strings.EqualFold(st[0].raw, "exit") {
			return true
		}
		for _, w := range st {
			for _, part := range w.parts {
				if part.kind == partSub && hasExit(part.sub) {
					return true
				}
			}
		}
	}
	return false
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
