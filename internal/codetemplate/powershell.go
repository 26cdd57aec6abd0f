package codetemplate

import "strings"

// The PowerShell lexer follows Windows PowerShell 5.1's tokenizer for
// strings, comments and nesting:
//
//	' ‘ ’ ‚ ‛                 single quotes, all alike ('' or ’’ is one quote
//	                          inside): refused, nothing is expanded there
//	" “ ” „                   double quotes, all alike: ${__onboard_N}
//	@"<newline> ... "@        double-quoted here-string (ends at a line that
//	                          starts with any double quote then @): ${__onboard_N}
//	@'<newline> ... '@        single-quoted here-string: refused
//	` (backtick)              escapes the next character, in code and in
//	                          double quotes: a template right after one is refused
//	$( ... )                  code again, also inside double quotes
//	${name}                   a braced variable name: a template in it is refused
//	# ...  <# ... #>          comments: harmless either way
//	--% ...                   the rest of the line goes to a native program
//	                          unparsed: refused
//
// In code a template must stand as an expression or argument of its own
// ($__onboard_N): next to other characters it would be read as part of a
// bare word or a member access (${x}.txt is the property txt of $x), so
// it is refused with the advice to put it in double quotes.

const (
	whyPSSingle      = `it is inside single quotes, where PowerShell expands nothing: use double quotes, e.g. Write-Output "Hello, ${person.given_name}"`
	whyPSHereSQ      = `it is inside a single-quoted here-string (@'...'@), where PowerShell expands nothing: use a double-quoted one (@"..."@)`
	whyPSBacktick    = "it follows a backtick, which would escape its $: remove the backtick"
	whyPSBraced      = "it is inside a ${...} variable name: use the template on its own"
	whyPSStopParsing = "it follows --%, after which PowerShell passes the line to the program as is: pass the value as an argument before --%, or drop --%"
	whyPSAdjacent    = `it touches other text outside quotes, where PowerShell would read it as part of a bare word or a member access: put it in double quotes, e.g. "C:\Users\${account.username}\notes.txt", or leave a space around it`
)

func isPSSingleQuote(r rune) bool {
	switch r {
	case '\'', '\u2018', '\u2019', '\u201A', '\u201B':
		return true
	}
	return false
}

func isPSDoubleQuote(r rune) bool {
	switch r {
	case '"', '\u201C', '\u201D', '\u201E':
		return true
	}
	return false
}

func isPSSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '\f' || r == '\v' || r == '\u00A0' || r == '\u0085'
}

type psLexer struct {
	scanner
}

func lexPowerShell(rs []rune) []quoting {
	l := &psLexer{scanner{rs: rs}}
	l.code(false)
	return l.ctxs
}

func (l *psLexer) record(k ctxKind, why string) {
	l.ctxs = append(l.ctxs, quoting{kind: k, refuse: why})
}

// standalone says whether the template at i stands as a token of its own:
// blank or an opening bracket, separator or operator before it, blank, a
// closing bracket or a separator after it.
func (l *psLexer) standalone() bool {
	prev, next := l.peek(-1), l.peek(1)
	okPrev := l.i == 0 || isPSSpace(prev) || strings.ContainsRune("(,;=|{[!+*/%<>&", prev)
	okNext := l.i+1 >= len(l.rs) || isPSSpace(next) || strings.ContainsRune("),;|}]", next)
	return okPrev && okNext && prev != placeholder && next != placeholder
}

// tokenStart says whether a # at i starts a comment.
func (l *psLexer) tokenStart() bool {
	return l.i == 0 || isPSSpace(l.peek(-1)) || strings.ContainsRune(";(){}|&,=", l.peek(-1))
}

// code scans code to the end, or with inParen to the ) that closes a $(.
func (l *psLexer) code(inParen bool) {
	depth := 0
	for l.i < len(l.rs) {
		r := l.rs[l.i]
		switch {
		case r == placeholder:
			if l.standalone() {
				l.record(ctxCode, "")
			} else {
				l.record(ctxRefused, whyPSAdjacent)
			}
			l.i++
		case r == '`':
			if l.peek(1) == placeholder {
				l.record(ctxRefused, whyPSBacktick)
			}
			l.i += 2
		case isPSSingleQuote(r):
			l.i++
			l.single()
		case isPSDoubleQuote(r):
			l.i++
			l.double(false)
		case r == '@' && isPSDoubleQuote(l.peek(1)) && l.hereStart():
			l.double(true)
		case r == '@' && isPSSingleQuote(l.peek(1)) && l.hereStart():
			l.singleHere()
		case r == '<' && l.peek(1) == '#':
			l.i += 2
			for l.i < len(l.rs) && !(l.rs[l.i] == '#' && l.peek(1) == '>') {
				if l.rs[l.i] == placeholder {
					l.record(ctxComment, "")
				}
				l.i++
			}
			l.i += 2
		case r == '#' && l.tokenStart():
			l.toLineEnd(func() { l.record(ctxComment, "") })
		case r == '$':
			l.dollar()
		case r == '-' && l.peek(1) == '-' && l.peek(2) == '%' && l.tokenStart():
			// --% passes the rest of the line to a native program as is.
			l.toLineEnd(func() { l.record(ctxRefused, whyPSStopParsing) })
		case r == '(':
			depth++
			l.i++
		case r == ')':
			l.i++
			if inParen {
				if depth == 0 {
					return
				}
				depth--
			}
		default:
			l.i++
		}
	}
}

// hereStart says whether the @ at i opens a here-string: @ and a quote,
// then only blanks to the end of the line. If so it moves past the line.
func (l *psLexer) hereStart() bool {
	j := l.i + 2
	for j < len(l.rs) && (l.rs[j] == ' ' || l.rs[j] == '\t' || l.rs[j] == '\r') {
		j++
	}
	if j >= len(l.rs) || l.rs[j] != '\n' {
		return false
	}
	l.i = j + 1
	return true
}

// single scans the inside of a single-quoted string.
func (l *psLexer) single() {
	for l.i < len(l.rs) {
		r := l.rs[l.i]
		if isPSSingleQuote(r) {
			if isPSSingleQuote(l.peek(1)) {
				l.i += 2
				continue
			}
			l.i++
			return
		}
		if r == placeholder {
			l.record(ctxRefused, whyPSSingle)
		}
		l.i++
	}
}

// singleHere scans a single-quoted here-string's body.
func (l *psLexer) singleHere() {
	for l.i < len(l.rs) {
		if l.atLineStart() && isPSSingleQuote(l.rs[l.i]) && l.peek(1) == '@' {
			l.i += 2
			return
		}
		if l.rs[l.i] == placeholder {
			l.record(ctxRefused, whyPSHereSQ)
		}
		l.i++
	}
}

func (l *psLexer) atLineStart() bool { return l.i > 0 && l.rs[l.i-1] == '\n' }

// double scans the inside of a double-quoted string, or of a double-quoted
// here-string's body.
func (l *psLexer) double(here bool) {
	for l.i < len(l.rs) {
		r := l.rs[l.i]
		switch {
		case here && l.atLineStart() && isPSDoubleQuote(r) && l.peek(1) == '@':
			l.i += 2
			return
		case !here && isPSDoubleQuote(r):
			if isPSDoubleQuote(l.peek(1)) {
				l.i += 2 // a doubled quote is one quote
				continue
			}
			l.i++
			return
		case r == placeholder:
			l.record(ctxString, "")
			l.i++
		case r == '`':
			if l.peek(1) == placeholder {
				l.record(ctxRefused, whyPSBacktick)
			}
			l.i += 2
		case r == '$':
			l.dollar()
		default:
			l.i++
		}
	}
}

// dollar scans what a $ starts: $( code ), ${braced name}, or a plain
// variable (left to the caller's loop).
func (l *psLexer) dollar() {
	switch l.peek(1) {
	case '(':
		l.i += 2
		l.code(true)
	case '{':
		l.i += 2
		for l.i < len(l.rs) && l.rs[l.i] != '}' {
			if l.rs[l.i] == '`' {
				l.i++
			}
			if l.i < len(l.rs) && l.rs[l.i] == placeholder {
				l.record(ctxRefused, whyPSBraced)
			}
			l.i++
		}
		l.i++
	default:
		l.i++
	}
}
