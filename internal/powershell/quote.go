// Package powershell builds the PowerShell scripts onboard runs on Windows
// hosts: values reach a script only as quoted literals or JSON data, and
// scripts travel as -EncodedCommand or, when too long, on stdin.
package powershell

import (
	"errors"
	"strings"
)

// PowerShell's tokenizer takes any of these as a single quote, inside a
// single-quoted string as well as at its ends (CharExtensions.IsSingleQuote).
const (
	leftQuote     = '\u2018' // ‘
	rightQuote    = '\u2019' // ’
	lowQuote      = '\u201A' // ‚
	reversedQuote = '\u201B' // ‛
)

func isSingleQuote(r rune) bool {
	switch r {
	case '\'', leftQuote, rightQuote, lowQuote, reversedQuote:
		return true
	}
	return false
}

// Quote returns s as a single-quoted PowerShell literal that PowerShell
// reads back as exactly s: '...' with every single-quote character doubled,
// the ASCII ' and also ‘ ’ ‚ ‛, which PowerShell treats the same way (an
// undoubled ’ in a name would end the string and let the rest run as code).
// Nothing else is special inside single quotes: $, `, ", ;, newlines stay as
// they are.
//
// Two characters cannot survive the trip to Windows and are replaced with
// U+FFFD, so that the value stays whole instead of changing meaning:
//   - NUL: Win32 ends a string at NUL, so "C:\data\0-old" would act on the
//     prefix C:\data; with U+FFFD it names nothing that exists instead.
//   - bytes that are not UTF-8 (one U+FFFD per byte): scripts travel as
//     UTF-16, which has no way to carry them.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s { // an invalid byte arrives as utf8.RuneError
		switch {
		case r == 0:
			r = '\uFFFD'
		case isSingleQuote(r):
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// readQuoted reads a single-quoted literal at the start of src the way
// PowerShell's tokenizer does (Tokenizer.ScanStringLiteral): any of the four
// quote characters ends the string unless another one follows, in which case
// the pair stands for the second character. It returns the value and the
// rest of src after the closing quote.
func readQuoted(src string) (value, rest string, err error) {
	rs := []rune(src)
	if len(rs) == 0 || !isSingleQuote(rs[0]) {
		return "", "", errors.New("no single-quoted string")
	}
	var b strings.Builder
	for i := 1; i < len(rs); i++ {
		r := rs[i]
		if isSingleQuote(r) {
			if i+1 == len(rs) || !isSingleQuote(rs[i+1]) {
				return b.String(), string(rs[i+1:]), nil
			}
			i++
			r = rs[i]
		}
		b.WriteRune(r)
	}
	return "", "", errors.New("unterminated single-quoted string")
}
