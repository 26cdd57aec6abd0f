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
