// Package textdiff makes unified diffs of text (as diff -u and git diff
// print them), for showing what a file step changes in a file's content.
package textdiff

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultContext  = 3
	DefaultMaxLines = 500
)

// Lines shown in place of content that is not shown.
const (
	// RedactedLine replaces a line that Options.Redact refuses.
	RedactedLine = "(line redacted: it holds a secret)"
	// BinaryDiffers is the whole body of a diff of binary content.
	BinaryDiffers = "binary file differs"
	// NoNewline follows a last line that has no line end, as in diff -u.
	NoNewline = `\ No newline at end of file`
)

// maxEdits bounds the search for a shortest diff: past it (two large,
// unrelated texts) the changed middle is shown as removed and added whole,
// which is a correct diff, only not the shortest, and costs no more than
// reading the lines.
const maxEdits = 1000

// Options tune Unified.
type Options struct {
	// Context is the number of unchanged lines shown around a change; 0
	// means DefaultContext, a negative value none.
	Context int
	// MaxLines caps the lines of hunks shown; what is cut is counted at
	// the end. 0 means DefaultMaxLines.
	MaxLines int
	// Redact, when set, says whether a line (without its line end) must
	// not be shown; it is then shown as RedactedLine.
	Redact func(line string) bool
}

// IsBinary reports whether s is not text: it holds a NUL byte or is not
// valid UTF-8.
func IsBinary(s string) bool {
	return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s)
}

// op is one line of an edit script.
type op struct {
	kind byte // ' ', '-' or '+'
	line string
}

// Unified returns the unified diff from old to new, with the header lines
// "--- oldName" and "+++ newName", or "" when they are equal. Binary
// content gives the header and BinaryDiffers.
func Unified(oldName, newName, old, new string, opt Options) string {
	if old == new {
		return ""
	}
	if opt.Context == 0 {
		opt.Context = DefaultContext
	}
	if opt.Context < 0 {
		opt.Context = 0
	}
	if opt.MaxLines <= 0 {
		opt.MaxLines = DefaultMaxLines
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", oldName, newName)
	if IsBinary(old) || IsBinary(new) {
		b.WriteString(BinaryDiffers + "\n")
		return b.String()
	}
	script := edits(splitLines(old), splitLines(new))
	// A Windows file's lines all end in CRLF: its CRs are shown by none
	// of its lines rather than escaped on every one. Mixed line ends keep
	// them, so that a change of line end alone shows.
	crlf := allCRLF(old) && allCRLF(new)
	writeHunks(&b, script, opt, crlf)
	return b.String()
}

// allCRLF reports whether every line of s ends in CRLF (an empty s does).
func allCRLF(s string) bool {
	return strings.Count(s, "\r\n") == strings.Count(s, "\n") && (s == "" || strings.HasSuffix(s, "\r\n"))
}

// splitLines splits s into lines that keep their line end, so that a last
// line without one differs from the same line with one.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// edits is a shortest edit script from a to b (Myers' O(ND) algorithm),
// after the common head and tail are set aside.
func edits(a, b []string) []op {
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	var out []op
	for _, l := range a[:head] {
		out = append(out, op{' ', l})
	}
	out = append(out, middle(a[head:len(a)-tail], b[head:len(b)-tail])...)
	for _, l := range a[len(a)-tail:] {
		out = append(out, op{' ', l})
	}
	return out
}

// middle is Myers' greedy forward search. Each round's frontier is kept
// (only its 2d+3 diagonals) to trace the path back.
func middle(a, b []string) []op {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return replaceAll(a, b)
	}
	limit := min(n+m, maxEdits)
	off := limit + 1
	v := make([]int, 2*limit+3)
	// trace[d] holds v[off-d-1 .. off+d+1] as round d found it.
	var trace [][]int
	found := -1
	for d := 0; d <= limit && found < 0; d++ {
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1] // down: a line of b added
			} else {
				x = v[off+k-1] + 1 // right: a line of a removed
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				found = d
				break
			}
		}
	}
	if found < 0 {
		return replaceAll(a, b)
	}
	// Walk back from (n, m): each round ends in a run of equal lines
	// (a snake) after one removal or addition.
	var rev []op
	x, y := n, m
	for d := found; d > 0; d-- {
		pv := func(k int) int { return trace[d][k+d+1] }
		k := x - y
		down := k == -d || (k != d && pv(k-1) < pv(k+1))
		var px, sx int
		if down {
			px = pv(k + 1)
			sx = px
		} else {
			px = pv(k - 1)
			sx = px + 1
		}
		for x > sx {
			x, y = x-1, y-1
			rev = append(rev, op{' ', a[x]})
		}
		if down {
			y--
			rev = append(rev, op{'+', b[y]})
		} else {
			x--
			rev = append(rev, op{'-', a[x]})
		}
	}
	for x > 0 {
		x, y = x-1, y-1
		rev = append(rev, op{' ', a[x]})
	}
	out := make([]op, len(rev))
	for i, o := range rev {
		out[len(rev)-1-i] = o
	}
	return out
}

// replaceAll removes every line of a and adds every line of b.
func replaceAll(a, b []string) []op {
	out := make([]op, 0, len(a)+len(b))
	for _, l := range a {
		out = append(out, op{'-', l})
	}
	for _, l := range b {
		out = append(out, op{'+', l})
	}
	return out
}

// hunk is a stretch of the edit script with its context: script[from:to].
type hunk struct{ from, to int }

// hunks groups the changes of script, each with ctx unchanged lines
// around it; changes closer than two contexts share a hunk.
func hunks(script []op, ctx int) []hunk {
	var out []hunk
	for i, o := range script {
		if o.kind == ' ' {
			continue
		}
		from, to := max(0, i-ctx), min(len(script), i+ctx+1)
		if n := len(out); n > 0 && from <= out[n-1].to {
			out[n-1].to = to
			continue
		}
		out = append(out, hunk{from, to})
	}
	return out
}

// writeHunks writes the hunks of script, at most opt.MaxLines lines, then
// says how much was cut.
func writeHunks(b *strings.Builder, script []op, opt Options, crlf bool) {
	// oldAt[i] and newAt[i]: lines of old and new before script[i].
	oldAt, newAt := make([]int, len(script)+1), make([]int, len(script)+1)
	for i, o := range script {
		oldAt[i+1], newAt[i+1] = oldAt[i], newAt[i]
		if o.kind != '+' {
			oldAt[i+1]++
		}
		if o.kind != '-' {
			newAt[i+1]++
		}
	}
	written := 0
	hs := hunks(script, opt.Context)
	for hi, h := range hs {
		if written >= opt.MaxLines {
			writeCut(b, script, hs[hi:], opt.MaxLines)
			return
		}
		fmt.Fprintf(b, "@@ -%s +%s @@\n", span(oldAt[h.from], oldAt[h.to]-oldAt[h.from]), span(newAt[h.from], newAt[h.to]-newAt[h.from]))
		written++
		for i := h.from; i < h.to; i++ {
			if written >= opt.MaxLines {
				writeCut(b, script, append([]hunk{{i, h.to}}, hs[hi+1:]...), opt.MaxLines)
				return
			}
			writeLine(b, script[i], opt.Redact, crlf)
			written++
		}
	}
}

// span is a hunk header's range: the first line and the count, as diff -u
// writes it (the count left out when 1; an empty range names the line
// before it).
func span(before, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprint(before + 1)
	}
	return fmt.Sprintf("%d,%d", before+1, count)
}

func writeLine(b *strings.Builder, o op, redact func(string) bool, crlf bool) {
	text, ended := strings.CutSuffix(o.line, "\n")
	if crlf {
		text = strings.TrimSuffix(text, "\r")
	}
	if redact != nil && redact(text) {
		text = RedactedLine
	}
	b.WriteByte(o.kind)
	b.WriteString(text)
	b.WriteByte('\n')
	if !ended {
		b.WriteString(NoNewline + "\n")
	}
}

// writeCut says what the hunks left unshown hold.
func writeCut(b *strings.Builder, script []op, rest []hunk, max int) {
	lines, added, removed := 0, 0, 0
	for _, h := range rest {
		for _, o := range script[h.from:h.to] {
			lines++
			switch o.kind {
			case '+':
				added++
			case '-':
				removed++
			}
		}
	}
	fmt.Fprintf(b, "(diff cut at %d lines: %d more not shown, %d added and %d removed)\n", max, lines, added, removed)
}
