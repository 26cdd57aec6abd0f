package report

import (
	"strings"
)

// writeDiff writes a unified diff (already scrubbed and made visible),
// each line indented, through paint: removed lines red, added green, hunk
// headers cyan, the file names bold, notes dim, as git diff colours them.
func writeDiff(paint func(style, s string), diff, indent string) {
	lines := strings.Split(strings.TrimRight(diff, "\n"), "\n")
	for i, l := range lines {
		style := ""
		switch {
		case i < 2 && (strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ")):
			style = ansiBold
		case strings.HasPrefix(l, "@@"):
			style = ansiCyan
		case strings.HasPrefix(l, "-"):
			style = ansiRed
		case strings.HasPrefix(l, "+"):
			style = ansiGreen
		case strings.HasPrefix(l, "(") || strings.HasPrefix(l, `\`):
			style = ansiDim
		}
		paint("", indent)
		paint(style, l)
		paint("", "\n")
	}
}
