package codetemplate

import "strings"

// The POSIX sh lexer: it follows the quoting of the Shell Command Language
// (XCU 2.2, 2.6, 2.7.4) closely enough to tell, for each template, whether
// it stands unquoted, inside double quotes (or an unquoted here-document),
// or somewhere a variable reference would not be expanded as one value:
//
//	'...'                      single quotes: refused (nothing is expanded)
//	"..."                      double quotes: ${__onboard_N}
//	$(...)                     a new unquoted context, also inside "..."
//	`...`, $((...)), ${...}    refused: backquotes re-parse their text,
//	                           arithmetic evaluates values as expressions
//	                           (bash runs $(...) in an array index there),
//	                           and quoting inside ${...} differs by shell
//	$'...'                     refused (bash's escapes; dash reads it otherwise)
//	\${...}                    refused: the backslash would quote the $
//	<<WORD ... WORD            unquoted delimiter: ${__onboard_N} (no quotes
//	                           are special there); quoted delimiter: refused
//	# ...                      a comment: harmless either way
//
// A case statement inside $(...) makes the parenthesis count unreliable:
// templates after one are refused.

const (
	whyShSingle = "it is inside single quotes, where the shell expands nothing: " +
		`close the quotes around it or use double quotes, e.g. echo 'Hello, '"${person.given_name}" or echo "Hello, ${person.given_name}"`
	whyShBackslash = "it follows a backslash, which would quote its $: remove the backslash"
	whyShBackquote = "it is inside `...` command substitution, which re-reads its text: use $(...) instead"
	whyShArith     = "it is inside $((...)), where the shell evaluates a value as an arithmetic expression (bash runs commands found in it): onboard puts values only where they stay text"
	whyShParam     = "it is inside ${...} parameter expansion, where quoting differs between shells: assign it to a variable first, e.g. d=${vars.dir}; echo \"${HOME:-$d}\" (written $${HOME:-$d} in a playbook)"
	whyShANSI      = "it is inside $'...', which sh and bash read differently: use double quotes"
	whyShHeredoc   = "it is inside a here-document whose delimiter is quoted, where nothing is expanded: unquote the delimiter (<<EOF, not <<'EOF')"
	whyShNested    = "it is inside $(...), ${...} or `...` within a here-document: move it onto a line of its own or out of the here-document"
	whyShCase      = "it follows a case statement inside $(...), where onboard cannot tell the quoting: move the case out of $(...) (into a function) or the template before it"
)

type shLexer struct {
	scanner
	poisoned string    // once set, every later template is refused with it
	heredocs []heredoc // pending: their bodies start after the next newline
}

type heredoc struct {
	delim  []rune
	quoted bool
	strip  bool // <<- : leading tabs are removed
}

func lexSh(rs []rune) []quoting {
	l := &shLexer{scanner: scanner{rs: rs}}
	l.code(false)
	// Unterminated constructs end the text: their templates were recorded
	// as they came.
	return l.ctxs
}

func (l *shLexer) record(k ctxKind, why string) {
	if l.poisoned != "" && k != ctxRefused {
		k, why = ctxRefused, l.poisoned
	}
	l.ctxs = append(l.ctxs, quoting{kind: k, refuse: why})
}

// refuseUntil records every template up to index end as refused.
func (l *shLexer) refuseUntil(end int, why string) {
	for ; l.i < end && l.i < len(l.rs); l.i++ {
		if l.rs[l.i] == placeholder {
			l.record(ctxRefused, why)
		}
	}
}

func isShBlank(r rune) bool { return r == ' ' || r == '\t' }

// atWordStart says whether the rune at i starts a word (for #).
func (l *shLexer) atWordStart() bool {
	if l.i == 0 {
		return true
	}
	return strings.ContainsRune(" \t\n;&|()<>", l.rs[l.i-1])
}

// code scans unquoted text to the end, or with inParen to the ) that
// closes a $( ... ).
func (l *shLexer) code(inParen bool) {
	depth := 0
	for l.i < len(l.rs) {
		r := l.rs[l.i]
		switch {
		case r == placeholder:
			l.record(ctxCode, "")
			l.i++
		case r == '\\':
			// An escaped character, or a continued line (not a newline
			// token: here-documents start after the next real one).
			if l.peek(1) == placeholder {
				l.record(ctxRefused, whyShBackslash)
			}
			l.i += 2
		case r == '\'':
			l.single()
		case r == '"':
			l.i++
			l.double()
		case r == '`':
			l.backquote()
		case r == '$':
			l.dollar()
		case r == '#' && l.atWordStart():
			l.toLineEnd(func() { l.record(ctxComment, "") })
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
		case r == '<' && l.peek(1) == '<' && l.peek(2) != '<':
			l.heredocStart()
		case r == '<' && l.peek(1) == '<':
			l.i += 3 // bash's <<< here-string: an ordinary word follows
		case r == '\n':
			l.i++
			l.heredocBodies()
		case inParen && l.atWordStart() && l.word("case"):
			l.poisoned = whyShCase
			l.i += 4
		default:
			l.i++
		}
	}
}

// word says whether the keyword w starts at i and ends there.
func (l *shLexer) word(w string) bool {
	ws := []rune(w)
	if l.i+len(ws) > len(l.rs) || string(l.rs[l.i:l.i+len(ws)]) != w {
		return false
	}
	next := rune(0)
	if l.i+len(ws) < len(l.rs) {
		next = l.rs[l.i+len(ws)]
	}
	return next == 0 || strings.ContainsRune(" \t\n;&|()<>", next)
}

// single scans '...' (at the opening quote).
func (l *shLexer) single() {
	l.i++
	for l.i < len(l.rs) && l.rs[l.i] != '\'' {
		if l.rs[l.i] == placeholder {
			l.record(ctxRefused, whyShSingle)
		}
		l.i++
	}
	l.i++
}

// double scans the inside of "..." (after the opening quote).
func (l *shLexer) double() {
	for l.i < len(l.rs) {
		r := l.rs[l.i]
		switch {
		case r == '"':
			l.i++
			return
		case r == placeholder:
			l.record(ctxString, "")
			l.i++
		case r == '\\':
			if l.peek(1) == placeholder {
				l.record(ctxRefused, whyShBackslash)
			}
			l.i += 2
		case r == '`':
			l.backquote()
		case r == '$':
			l.dollar()
		default:
			l.i++
		}
	}
}

// backquote scans `...` (at the opening backquote); its templates are
// refused.
func (l *shLexer) backquote() {
	l.i++
	for l.i < len(l.rs) && l.rs[l.i] != '`' {
		switch l.rs[l.i] {
		case placeholder:
			l.record(ctxRefused, whyShBackquote)
		case '\\':
			l.i++
			if l.i < len(l.rs) && l.rs[l.i] == placeholder {
				l.record(ctxRefused, whyShBackquote)
			}
		}
		l.i++
	}
	l.i++
}

// dollar scans what a $ starts (at the $).
func (l *shLexer) dollar() {
	switch {
	case l.peek(1) == '(' && l.peek(2) == '(':
		l.i += 3
		l.skipBalanced('(', ')', 2, whyShArith)
	case l.peek(1) == '(':
		l.i += 2
		l.code(true)
	case l.peek(1) == '{':
		l.i += 2
		l.skipBalanced('{', '}', 1, whyShParam)
	case l.peek(1) == '\'':
		// $'...': bash ends it at a ' not escaped by a backslash
		l.i += 2
		for l.i < len(l.rs) && l.rs[l.i] != '\'' {
			if l.rs[l.i] == '\\' {
				if l.peek(1) == '\'' {
					// dash would end the string here: the rest is unclear.
					l.poisoned = whyShANSI
				}
				l.i++
			}
			if l.i < len(l.rs) && l.rs[l.i] == placeholder {
				l.record(ctxRefused, whyShANSI)
			}
			l.i++
		}
		l.i++
	default:
		l.i++
	}
}

// skipBalanced scans to where depth open/close pairs are closed, refusing
// templates on the way. Quotes inside are followed so that a quoted
// bracket does not count.
func (l *shLexer) skipBalanced(open, close rune, depth int, why string) {
	for l.i < len(l.rs) && depth > 0 {
		switch r := l.rs[l.i]; {
		case r == placeholder:
			l.record(ctxRefused, why)
		case r == '\\':
			l.i++
			if l.i < len(l.rs) && l.rs[l.i] == placeholder {
				l.record(ctxRefused, why)
			}
		case r == '\'' || r == '"':
			l.i++
			for l.i < len(l.rs) && l.rs[l.i] != r {
				if l.rs[l.i] == '\\' && r == '"' {
					l.i++
				}
				if l.i < len(l.rs) && l.rs[l.i] == placeholder {
					l.record(ctxRefused, why)
				}
				l.i++
			}
		case r == open:
			depth++
		case r == close:
			depth--
		}
		l.i++
	}
}

// heredocStart reads <<[-]WORD (at the first <) and queues the body.
func (l *shLexer) heredocStart() {
	l.i += 2
	h := heredoc{}
	if l.peek(0) == '-' {
		h.strip = true
		l.i++
	}
	for l.i < len(l.rs) && isShBlank(l.rs[l.i]) {
		l.i++
	}
	// The word: quoting anywhere in it makes the delimiter quoted.
	for l.i < len(l.rs) {
		r := l.rs[l.i]
		if isShBlank(r) || strings.ContainsRune("\n;&|()<>", r) {
			break
		}
		switch r {
		case placeholder:
			l.record(ctxRefused, "it is a here-document's delimiter: write the delimiter literally")
			h.quoted = true
		case '\\':
			h.quoted = true
			l.i++
			if l.i < len(l.rs) {
				h.delim = append(h.delim, l.rs[l.i])
			}
		case '\'', '"':
			h.quoted = true
			l.i++
			for l.i < len(l.rs) && l.rs[l.i] != r {
				if l.rs[l.i] == placeholder {
					l.record(ctxRefused, "it is a here-document's delimiter: write the delimiter literally")
				}
				h.delim = append(h.delim, l.rs[l.i])
				l.i++
			}
		default:
			h.delim = append(h.delim, r)
		}
		l.i++
	}
	l.heredocs = append(l.heredocs, h)
}

// heredocBodies reads the pending here-documents' bodies (after a
// newline).
func (l *shLexer) heredocBodies() {
	pending := l.heredocs
	l.heredocs = nil
	for _, h := range pending {
		for l.i < len(l.rs) {
			end := l.i
			for end < len(l.rs) && l.rs[end] != '\n' {
				end++
			}
			line := l.rs[l.i:end]
			if h.strip {
				for len(line) > 0 && line[0] == '\t' {
					line = line[1:]
				}
			}
			if string(line) == string(h.delim) && !containsPlaceholder(line) {
				l.i = end + 1
				break
			}
			if h.quoted {
				l.refuseUntil(end, whyShHeredoc)
			} else {
				l.heredocLine(end)
			}
			l.i = end + 1
		}
	}
}

func containsPlaceholder(rs []rune) bool {
	for _, r := range rs {
		if r == placeholder {
			return true
		}
	}
	return false
}

// heredocLine scans one line of an unquoted here-document's body up to end.
// Substitutions in it are skipped to the end of the line with their
// templates refused: rare in a here-document, and cheap to refuse.
func (l *shLexer) heredocLine(end int) {
	for l.i < end {
		r := l.rs[l.i]
		switch {
		case r == placeholder:
			l.record(ctxString, "")
		case r == '\\':
			if l.peek(1) == placeholder {
				l.i++
				l.record(ctxRefused, whyShBackslash)
			} else {
				l.i++
			}
		case r == '`' || (r == '$' && (l.peek(1) == '(' || l.peek(1) == '{')):
			l.refuseUntil(end, whyShNested)
			return
		}
		l.i++
	}
}
