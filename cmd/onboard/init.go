package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// starter is what onboard init writes: an inventory, one profile and one
// playbook that validate together (TestInit runs validate on them).
//
//go:embed starter
var starter embed.FS

// starterFiles are the starter's files, relative to the folder written.
func starterFiles() ([]string, error) {
	var files []string
	err := fs.WalkDir(starter, "starter", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files = append(files, strings.TrimPrefix(p, "starter/"))
		return nil
	})
	return files, err
}

func (o *options) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:        "init [DIR]",
		SuggestFor: []string{"new", "setup", "scaffold"},
		Short:      "Write a starter inventory, profile and playbook (commented, valid) into DIR (default .)",
		Long: `onboard init writes a starter inventory (one host, one printer, the software
it needs), one role profile and one playbook into DIR (default the current
folder). They validate as written; edit them for your estate. A file that
already exists is never overwritten: init then writes nothing and lists them.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return o.writeStarter(dir)
		},
	}
}

// writeStarter writes the starter into dir, or nothing when any of its
// files exists.
func (o *options) writeStarter(dir string) error {
	files, err := starterFiles()
	if err != nil {
		return err
	}
	var exist []string
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if _, err := os.Lstat(p); err == nil {
			exist = append(exist, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return invalid(fmt.Errorf("init: %w", err))
		}
	}
	if len(exist) > 0 {
		return invalid(fmt.Errorf("init wrote nothing: these files exist already (move them aside, or init another folder): %s", strings.Join(exist, ", ")))
	}
	for _, f := range files {
		b, err := starter.ReadFile("starter/" + f)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return &exitError{exitFailed, fmt.Errorf("init: %w", err)}
		}
		// O_EXCL: a file made between the check above and now is kept.
		w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return &exitError{exitFailed, fmt.Errorf("init: %w", err)}
		}
		_, err = w.Write(b)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return &exitError{exitFailed, fmt.Errorf("init: write %s: %w", p, err)}
		}
		fmt.Fprintf(o.stdout, "wrote %s\n", p)
	}
	inv := filepath.Join(dir, "inventory")
	pb := filepath.Join(dir, "playbooks", "new-hire.yaml")
	fmt.Fprintf(o.stdout, `
Next:
  1. Edit %s: your workstation's address, and how onboard signs in (docs/inventory.md).
  2. Edit %s for your new hire (docs/playbook.md).
  3. onboard validate -i %s %s
  4. onboard plan -i %s %s    (shows what would change, changes nothing)
  5. onboard apply -i %s %s   (does it, checks every step, prints a handover report)
`, filepath.Join(inv, "inventory.yaml"), pb, inv, pb, inv, pb, inv, pb)
	return nil
}
