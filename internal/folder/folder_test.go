package folder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	base := t.TempDir()
	allowed := filepath.Join(base, "out")
	outside := filepath.Join(base, "secret")
	for _, d := range []string{allowed, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(allowed, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(allowed, "sub"), filepath.Join(allowed, "inside")); err != nil {
		t.Fatal(err)
	}
	s, err := NewSet(allowed)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		ok   bool
	}{
		{filepath.Join(allowed, "a.md"), true},
		{filepath.Join(allowed, "new", "deeper", "a.md"), true}, // not there yet
		{filepath.Join(allowed, "inside", "a.md"), true},        // a symlink that stays inside
		{filepath.Join(allowed, "..", "secret", "a.md"), false},
		{filepath.Join(allowed, "escape", "a.md"), false},
		{filepath.Join(allowed, "escape", "new", "a.md"), false},
		{allowed + "-sibling/a.md", false}, // a prefix of the name is not inside
		{"/etc/passwd", false},
	}
	for _, tt := range tests {
		_, root, err := s.Check(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%s): root %q, err %v; want ok=%v", tt.path, root, err, tt.ok)
		}
	}
}

func TestWritesStayBeneathTheRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	p := filepath.Join(root, "r", "a.md")
	if err := Replace(root, p, []byte("one"), 0o644, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Replace(root, p, []byte("two"), 0o644, 0o755); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("replaced content %q", b)
	}
	if err := CreateNew(root, p, []byte("three"), 0o600, 0o700); err == nil || !strings.Contains(err.Error(), "never replaced") {
		t.Errorf("CreateNew over a file: %v", err)
	}
	// A folder swapped for a symlink out after the check.
	if err := os.Symlink(outside, filepath.Join(root, "swapped")); err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(string, string, []byte, os.FileMode, os.FileMode) error{"Replace": Replace, "CreateNew": CreateNew} {
		if err := write(root, filepath.Join(root, "swapped", "x"), []byte("x"), 0o600, 0o700); err == nil {
			t.Errorf("%s through a symlink out succeeded", name)
		}
	}
	if _, err := ReadFile(root, filepath.Join(root, "swapped", "x")); err == nil {
		t.Errorf("ReadFile through a symlink out succeeded")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside: %v", entries)
	}
	if _, err := ReadFile(root, filepath.Join(root, "..", "x")); err == nil {
		t.Errorf("ReadFile of .. succeeded")
	}
	if err := CreateNew(root, filepath.Join(root, "pw", "E1.pw"), []byte("s3cret\n"), 0o600, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(root, "pw", "E1.pw"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "pw"))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}
