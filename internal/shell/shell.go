// Package shell builds POSIX shell command lines. Every value that reaches
// a remote shell goes through Quote; commands are assembled with Join.
package shell

import "strings"

// Quote returns s as one POSIX shell word that the shell reads back as
// exactly s: single-quoted, with each ' written as '\”. Safe words are left
// bare for readability.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func isSafe(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("@%_+=:,./-", r):
		default:
			return false
		}
	}
	// A leading = or ~ or - is not special to the shell itself, but keep a
	// leading ~ or = quoted so no expansion (tilde, zsh's =cmd) ever applies.
	return s[0] != '~' && s[0] != '='
}

// Join quotes every argument and joins them with spaces: a command line
// whose words are exactly args.
func Join(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// Cmd is a command line built from a fixed program text and quoted
// arguments: Cmd("lpadmin -p", name) gives "lpadmin -p 'Name'". The first
// argument is trusted text written by onboard itself, never user input.
func Cmd(trusted string, args ...string) string {
	if len(args) == 0 {
		return trusted
	}
	return trusted + " " + Join(args...)
}
