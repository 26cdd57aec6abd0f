package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports a syntax error as "yaml: line N: problem", where N is
// often the line of the construct being read (the mapping that a badly
// indented key breaks), sometimes counted from 0, and never a column. The
// place is found again by feeding the parser ever longer prefixes of the
// file: the shortest prefix that fails with the same problem ends at the
// token the parser could not take.

// yamlLineRE matches the position yaml.v3 puts before a problem.
var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?(?:line (\d+): )?`)

// splitYAMLError returns the problem text of a yaml.v3 error and the line
// it names (0 when none).
func splitYAMLError(err error) (line int, problem string) {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatch(msg)
	if m[1] != "" {
		line, _ = strconv.Atoi(m[1])
	}
	return line, msg[len(m[0]):]
}

// problemOf parses every document of data and returns the problem text of
// the first syntax error, or "" when data parses.
func problemOf(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			_, p := splitYAMLError(err)
			return p
		}
	}
}

// fails reports whether the prefix data[:end] fails with problem, the
// prefix ending with a line break so that its last token is complete.
func fails(data []byte, end int, problem string) bool {
	b := make([]byte, 0, end+1)
	b = append(append(b, data[:end]...), '\n')
	return problemOf(b) == problem
}

// syntaxPos finds the line and column (in characters, 1-based) of the
// syntax error problem in data; reported is the line yaml.v3 named.
func syntaxPos(data []byte, reported int, problem string) (line, col int) {
	// Line ends: starts[i] is the offset of line i+1.
	starts := []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	lineEnd := func(l int) int { // offset after line l (1-based), without its \n
		if l < len(starts) {
			return starts[l] - 1
		}
		return len(data)
	}
	// The first line whose end makes the prefix fail, searched from just
	// before the reported line (yaml.v3's line is the construct's, at or
	// before the problem): in steps doubling away from it, then halving,
	// so that a far problem in a long file costs a few parses.
	failsAt := func(l int) bool { return fails(data, lineEnd(l), problem) }
	n := len(starts)
	l := min(max(reported-1, 1), n)
	var lo, hi int // failsAt(hi), and lo == 0 or !failsAt(lo)
	if failsAt(l) {
		hi, lo = l, 0
		for step := 1; ; step *= 2 {
			if hi-step < 1 {
				break
			}
			if !failsAt(hi - step) {
				lo = hi - step
				break
			}
			hi -= step
		}
	} else {
		lo, hi = l, 0
		for step := 1; lo < n; step *= 2 {
			next := min(lo+step, n)
			if failsAt(next) {
				hi = next
				break
			}
			lo = next
		}
		if hi == 0 {
			// Only the whole file fails so (an end of stream inside a
			// quote or bracket): at the last quote or bracket left open.
			return fallbackPos(data, starts, reported)
		}
	}
	for hi-lo > 1 && hi > 1 {
		mid := (lo + hi) / 2
		if mid < 1 {
			break
		}
		if failsAt(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	l = hi
	// Within the line, the shortest prefix that fails, confirmed by the
	// prefix running to the end of the token it cuts (so that "b:" of
	// "b:c" is not taken for a mapping value).
	start, end := starts[l-1], lineEnd(l)
	for i := start + 1; i <= end; i++ {
		if !fails(data, i, problem) {
			continue
		}
		j := i
		for j < end && data[j] != ' ' && data[j] != '\t' {
			j++
		}
		if j == i || fails(data, j, problem) {
			return l, utf8.RuneCount(data[start:i-1]) + 1
		}
	}
	return l, 1
}

// unclosed finds the innermost quote or bracket still open at offset
// upto of data: its line, column and character.
func unclosed(data []byte, upto int) (line, col int, what byte, ok bool) {
	type mark struct {
		off  int
		what byte
	}
	var open []mark // brackets
	var quote *mark
	text := data[:upto]
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != nil && quote.what == '"' && c == '\\':
			i++
		case quote != nil && c == quote.what:
			if c == '\'' && i+1 < len(text) && text[i+1] == '\'' {
				i++ // '' is a quote inside single quotes
				continue
			}
			quote = nil
		case quote != nil:
		case c == '"' || c == '\'':
			if i == 0 || strings.IndexByte(" \t\n:[{,-", text[i-1]) >= 0 {
				quote = &mark{i, c}
			}
		case c == '[' || c == '{':
			open = append(open, mark{i, c})
		case (c == ']' || c == '}') && len(open) > 0:
			open = open[:len(open)-1]
		case c == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\n'):
			for i < len(text) && text[i] != '\n' {
				i++
			}
		}
	}
	var m mark
	switch {
	case quote != nil:
		m = *quote
	case len(open) > 0:
		m = open[len(open)-1]
	default:
		return 0, 0, 0, false
	}
	start := bytes.LastIndexByte(text[:m.off], '\n') + 1
	return bytes.Count(text[:m.off], []byte("\n")) + 1, utf8.RuneCount(text[start:m.off]) + 1, m.what, true
}

// fallbackPos is the position of the last quote or bracket left open in
// data, or the first character of line reported.
func fallbackPos(data []byte, starts []int, reported int) (int, int) {
	if l, c, _, ok := unclosed(data, len(data)); ok {
		return l, c
	}
	if reported < 1 || reported > len(starts) {
		reported = len(starts)
	}
	rest := data[starts[reported-1]:]
	return reported, len(rest) - len(bytes.TrimLeft(rest, " ")) + 1
}

// syntaxHint adds what a problem most often means at the place found.
func syntaxHint(data []byte, line, col int, problem string) string {
	if strings.HasPrefix(problem, "did not find expected ',' or ") {
		if l, c, what, ok := unclosed(data, offset(data, line, col)); ok && what != '"' && what != '\'' {
			return fmt.Sprintf("%s (the %c at %d:%d is not closed)", problem, what, l, c)
		}
	}
	if problem != "found character that cannot start any token" {
		return problem
	}
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return problem
	}
	r := []rune(lines[line-1])
	if col >= 1 && col <= len(r) && r[col-1] == '\t' {
		return problem + " (a tab: YAML indents with spaces)"
	}
	return problem
}

// offset is the byte offset of line and column (in characters) in data.
func offset(data []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(data) && data[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off
}
