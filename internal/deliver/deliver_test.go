package deliver

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/plan"
	"onboard/internal/secret"
)

func TestFileDelivery(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new", "E1.pw")
	spec := &plan.ActivateSpec{Deliver: "file:" + path}
	c := &Channel{}
	if err := c.Ready(spec); err != nil {
		t.Fatal(err)
	}
	pw := secret.New("Xy7!correct-horse")
	if err := c.Deliver("corp", "ada", spec, pw); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "Xy7!correct-horse\n" {
		t.Errorf("content %q", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestTerminalDelivery(t *testing.T) {
	spec := &plan.ActivateSpec{Deliver: "terminal"}
	if err := (&Channel{}).Ready(spec); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("Ready without a terminal: %v", err)
	}
	var buf bytes.Buffer
	c := &Channel{Terminal: &buf}
	if err := c.Deliver("corp", "ada", spec, secret.New("Pa55-word-terminal")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "ada") || !strings.Contains(buf.String(), "Pa55-word-terminal") {
		t.Errorf("printed %q", buf.String())
	}
}

func TestReadyRefusesRelativeAndUnwritable(t *testing.T) {
	if err := (&Channel{}).Ready(&plan.ActivateSpec{Deliver: "file:relative.pw"}); err == nil {
		t.Errorf("a relative path was accepted")
	}
	// A folder that cannot exist (below a regular file), even for root.
	file := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(file, nil, 0o600)
	if err := (&Channel{}).Ready(&plan.ActivateSpec{Deliver: "file:" + filepath.Join(file, "x.pw")}); err == nil {
		t.Errorf("an impossible folder was accepted")
	}
}

// A password file is never replaced: Ready refuses before a password is
// set, and Deliver refuses even if the file appeared in between.
func TestNeverReplacesAFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "E1.pw")
	if err := os.WriteFile(path, []byte("the first password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := &plan.ActivateSpec{Deliver: "file:" + path, DeliverRoot: dir}
	c := &Channel{}
	if err := c.Ready(spec); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Ready with an existing file: %v", err)
	}
	if err := c.Deliver("corp", "ada", spec, secret.New("Second-pw-123!")); err == nil || !strings.Contains(err.Error(), "never replaced") {
		t.Errorf("Deliver over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "the first password\n" {
		t.Errorf("the existing file was changed: %q", b)
	}
	// A symlink in its place is not followed either.
	target := filepath.Join(t.TempDir(), "elsewhere")
	link := filepath.Join(dir, "E2.pw")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	spec = &plan.ActivateSpec{Deliver: "file:" + link, DeliverRoot: dir}
	if err := c.Deliver("corp", "bob", spec, secret.New("Third-pw-123!")); err == nil {
		t.Errorf("Deliver through a symlink succeeded")
	}
	if _, err := os.Stat(target); err == nil {
		t.Errorf("the symlink's target was written")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// A folder swapped for a symlink out of the allowed folder after the plan
// was made is refused when the file is created.
func TestSymlinkOutOfTheRootRefused(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "pw")); err != nil {
		t.Fatal(err)
	}
	spec := &plan.ActivateSpec{Deliver: "file:" + filepath.Join(root, "pw", "E1.pw"), DeliverRoot: root}
	c := &Channel{}
	if err := c.Ready(spec); err == nil || !strings.Contains(err.Error(), "outside the allowed folders") {
		t.Errorf("Ready through a symlink out: %v", err)
	}
	if err := c.Deliver("corp", "ada", spec, secret.New("Xy7!correct-horse")); err == nil {
		t.Errorf("Deliver through a symlink out succeeded")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the allowed folder: %v", entries)
	}
}
