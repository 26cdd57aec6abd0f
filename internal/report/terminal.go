package report

import (
	"os"

	"golang.org/x/term"
)

// IsTerminal reports whether f is a terminal, so that colours and the live
// progress view are used only where a person watches.
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

// termWidth is the width of the terminal behind f, or 80.
func termWidth(f *os.File) int {
	if f != nil {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 80
}
