package step

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"onboard/internal/shell"
)

// The stat reads as they were before they exec'd their last program: the
// new ones must print exactly what these printed.
func formerStatCmd(p string) string {
	q := shell.Quote(p)
	return "if [ -e " + q + " ]; then LC_ALL=C stat -c '%a|%U|%G|%F' -- " + q + " && { [ -f " + q + " ] && sha256sum < " + q + " || echo -; }; else echo MISSING; fi"
}

func formerStatMetaCmd(p string) string {
	q := shell.Quote(p)
	return "if [ -e " + q + " ]; then LC_ALL=C stat -c '%a|%U|%G|%F' -- " + q + " && echo -; else echo MISSING; fi"
}

// processes runs cmd in a subshell of a fresh sh, as a batch does, in a PID
// namespace of its own, and returns its output (then a line with its exit
// status) and how many processes it cost, the subshell included (the
// namespace's PIDs are handed out in order: the last one, read by a final
// sh, less that sh and the outer sh).
func processes(t *testing.T, cmd string) (string, int) {
	t.Helper()
	script := `( eval "$1" ) </dev/null; printf '\n%s\n' "$?"; sh -c 'echo $$'`
	out, err := exec.Command("unshare", "--pid", "--fork", "sh", "-c", script, "sh", cmd).Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	s := strings.TrimSuffix(string(out), "\n")
	i := strings.LastIndexByte(s, '\n')
	last, err := strconv.Atoi(s[i+1:])
	if err != nil {
		t.Fatalf("last PID %q: %v", s[i+1:], err)
	}
	return s[:i], last - 2
}

// TestStatReads: the file reads print what they always printed (mode,
// owner, group, type, digest; MISSING), for every kind of path, and cost
// one process on the host for a check's read (the subshell becomes stat)
// and two for a file step's (stat, then the subshell becomes sha256sum):
// one fewer each than before.
func TestStatReads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("counts processes in a PID namespace of its own: needs root")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "it's a \"file\" $HOME")
	if err := os.WriteFile(file, []byte("content\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "-n")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		path           string
		meta, withData int // processes
	}{
		{"regular file", file, 1, 2},
		{"empty file", empty, 1, 2},
		{"link to a file", link, 1, 2},
		{"directory", dir, 1, 2},
		{"device", "/dev/null", 1, 2},
		{"missing", filepath.Join(dir, "missing"), 1, 1},
	}
	// A content check's read: head alone, become the subshell.
	if got, n := processes(t, headCmd(file)); got != "content\n\n0" || n != 1 {
		t.Errorf("head: prints %q in %d processes, want the content and exit 0 in 1", got, n)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				name        string
				now, former string
				procs       int
			}{
				{"check", statMetaCmd(tt.path), formerStatMetaCmd(tt.path), tt.meta},
				{"file step", statCmd(tt.path), formerStatCmd(tt.path), tt.withData},
			} {
				got, n := processes(t, c.now)
				want, former := processes(t, c.former)
				if got != want {
					t.Errorf("%s: prints %q, the former read %q", c.name, got, want)
				}
				if n != c.procs {
					t.Errorf("%s: %d processes (the former read %d), want %d", c.name, n, former, c.procs)
				}
			}
		})
	}
}
