// Package deliver hands a new account's initial password to the channel a
// playbook names: a file only its owner can read, or the technician's
// terminal. It is the one way a password leaves onboard.
package deliver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

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

// Ready checks that the channel can take a password before one is set.
func (c *Channel) Ready(spec *plan.ActivateSpec) error {
	if spec.Deliver == "terminal" {
		if c.Terminal == nil {
			return ErrNoTerminal
		}
		return nil
	}
	path, ok := strings.CutPrefix(spec.Deliver, "file:")
	if !ok || !filepath.IsAbs(path) {
		return fmt.Errorf("delivery %q must be terminal or file:/absolute/path", spec.Deliver)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("password file folder: %w", err)
	}
	f, err := os.CreateTemp(dir, ".onboard-probe-*")
	if err != nil {
		return fmt.Errorf("password file folder %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Deliver writes the password to the channel.
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
	path := strings.TrimPrefix(spec.Deliver, "file:")
	return writeSecretFile(path, pw.Reveal()+"\n")
}

// writeSecretFile writes a 0600 file atomically: it is never visible with
// looser permissions or half written.
func writeSecretFile(path, content string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	if _, err = f.WriteString(content); err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	return nil
}
