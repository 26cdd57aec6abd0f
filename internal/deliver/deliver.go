// Package deliver hands a new account's initial password to the channel a
// playbook names: a file only its owner can read, or the technician's
// terminal. It is the one way a password leaves onboard.
package deliver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

	"onboard/internal/folder"
	"onboard/internal/plan"
	"onboard/internal/secret"
)

// Channel delivers passwords. Terminal is where "terminal" delivery prints
// (nil when onboard runs without one, as under `onboard serve`).
type Channel struct {
	Terminal io.Writer
	mu       sync.Mutex
}

// ErrNoTerminal: terminal delivery was asked for, but there is none.
var ErrNoTerminal = errors.New("no terminal to print the password to: run onboard interactively, or use deliver: file:PATH")

// Ready checks that the channel can take a password before one is set: a
// password file must not exist yet (one is never replaced: it may hold a
// password someone still needs), and its folder must be writable.
func (c *Channel) Ready(spec *plan.ActivateSpec) error {
	if spec.Deliver == "terminal" {
		if c.Terminal == nil {
			return ErrNoTerminal
		}
		return nil
	}
	path, root, err := fileTarget(spec)
	if err != nil {
		return err
	}
	// The folder is checked before anything is made in it, and made
	// beneath root, so a symlink cannot lead a mkdir out either.
	resolved, _, err := (folder.Set{root}).Check(path)
	if err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	err = folder.Probe(root, resolved, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("the password file %s already exists: onboard never replaces one (it may hold a password already handed over, or one from an interrupted run that was never set); move it away and run again", path)
	}
	if err != nil {
		return fmt.Errorf("password file folder: %w", err)
	}
	return nil
}

// fileTarget is a file: delivery's path and the folder it is confined to
// (its own folder for a plan made before confinement was recorded).
func fileTarget(spec *plan.ActivateSpec) (path, root string, err error) {
	path, ok := strings.CutPrefix(spec.Deliver, "file:")
	if !ok || !filepath.IsAbs(path) {
		return "", "", fmt.Errorf("delivery %q must be terminal or file:/absolute/path", spec.Deliver)
	}
	root = spec.DeliverRoot
	if root == "" {
		root = filepath.Dir(path) // a plan made before folders were recorded
	}
	root, err = folder.Resolve(root)
	return path, root, err
}

// Deliver writes the password to the channel. A file is created beneath
// its allowed folder (a symlink swapped in since the plan cannot lead
// out) and never replaces one.
func (c *Channel) Deliver(directory, username string, spec *plan.ActivateSpec, pw secret.Value) error {
	if spec.Deliver == "terminal" {
		if c.Terminal == nil {
			return ErrNoTerminal
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		_, err := fmt.Fprintf(c.Terminal, "\n  Initial password of %s in %s (shown once): %s\n\n", username, directory, pw.Reveal())
		return err
	}
	path, root, err := fileTarget(spec)
	if err != nil {
		return err
	}
	resolved, _, err := (folder.Set{root}).Check(path)
	if err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	// Beneath root: a symlink swapped in since the check cannot lead out.
	if err := folder.CreateNew(root, resolved, []byte(pw.Reveal()+"\n"), 0o600, 0o700); err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	return nil
}
