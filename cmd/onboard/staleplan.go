package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"onboard/internal/plan"
)

// A saved plan records what it was made from, as Terraform's does: the
// bytes of every playbook, profile and inventory file, and the file list
// of every inventory folder. apply PLAN.json refuses a plan whose inputs
// changed since, as terraform apply refuses a stale plan.

// digestFile is the input of one file, by absolute path.
func digestFile(path, kind string) (plan.Input, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return plan.Input{}, err
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return plan.Input{}, err
	}
	sum := sha256.Sum256(b)
	return plan.Input{Path: abs, Kind: kind, SHA256: hex.EncodeToString(sum[:])}, nil
}

// inventoryFolderFiles are the inventory files in dir, by the rule
// inventory.Load reads them: every *.yaml and *.yml below, sorted.
func inventoryFolderFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(f string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !de.IsDir() && (strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")) {
			files = append(files, f)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// digestFolder is the input of an inventory folder: the digest of the
// names of the files inside, so that a file added or removed shows.
func digestFolder(dir string) (plan.Input, []string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return plan.Input{}, nil, err
	}
	files, err := inventoryFolderFiles(abs)
	if err != nil {
		return plan.Input{}, nil, err
	}
	h := sha256.New()
	for _, f := range files {
		rel, _ := filepath.Rel(abs, f)
		fmt.Fprintf(h, "%s\n", rel)
	}
	return plan.Input{Path: abs, Kind: "inventory-folder", SHA256: hex.EncodeToString(h.Sum(nil))}, files, nil
}

// digestInputs digests the inventory and the playbooks, read before the
// plan is made from them: a file changed while planning makes the saved
// plan stale rather than wrong.
func digestInputs(inventoryPaths, playbooks []string) ([]plan.Input, error) {
	var out []plan.Input
	for _, p := range inventoryPaths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		files := []string{p}
		if st.IsDir() {
			var in plan.Input
			in, files, err = digestFolder(p)
			if err != nil {
				return nil, err
			}
			out = append(out, in)
		}
		for _, f := range files {
			in, err := digestFile(f, "inventory")
			if err != nil {
				return nil, err
			}
			out = append(out, in)
		}
	}
	for _, f := range playbooks {
		in, err := digestFile(f, "playbook")
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// checkInputs refuses a saved plan whose inputs are no longer as they
// were when it was made, naming every file that changed.
func checkInputs(planFile string, p *plan.Plan) error {
	var changed []string
	for _, in := range p.Inputs {
		var now plan.Input
		var err error
		if in.Kind == "inventory-folder" {
			now, _, err = digestFolder(in.Path)
		} else {
			now, err = digestFile(in.Path, in.Kind)
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			changed = append(changed, fmt.Sprintf("%s %s is gone", in.Kind, in.Path))
		case err != nil:
			changed = append(changed, fmt.Sprintf("%s %s cannot be read: %v", in.Kind, in.Path, err))
		case now.SHA256 != in.SHA256 && in.Kind == "inventory-folder":
			changed = append(changed, fmt.Sprintf("%s %s has files added or removed", in.Kind, in.Path))
		case now.SHA256 != in.SHA256:
			changed = append(changed, fmt.Sprintf("%s %s changed", in.Kind, in.Path))
		}
	}
	if len(changed) > 0 {
		return invalid(fmt.Errorf("the saved plan %s is stale, its inputs changed since it was made (make it again with onboard plan --out %s):\n  %s",
			planFile, planFile, strings.Join(changed, "\n  ")))
	}
	return nil
}
