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
// were when it was made, naming every file that changed and, with
// dirChanges, what changed in a directory.
func checkInputs(planFile string, p *plan.Plan, dirChanges ...string) error {
	var changed []string
	for _, in := range p.Inputs {
		var now plan.Input
		var err error
		if in.Kind == "directory" {
			continue // read again by directoryChanges
		}
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
	changed = append(changed, dirChanges...)
	if len(changed) > 0 {
		return invalid(fmt.Errorf("the saved plan %s is stale, its inputs changed since it was made (make it again with onboard plan --out %s):\n  %s",
			planFile, planFile, strings.Join(changed, "\n  ")))
	}
	return nil
}

// digestDirectories are the inputs of the directory state a plan read:
// per directory, the digest of its facts (sorted, as DirectoryState gives
// them).
func digestDirectories(facts []plan.DirectoryFact) []plan.Input {
	var out []plan.Input
	byDir := map[string][]plan.DirectoryFact{}
	for _, f := range facts {
		if byDir[f.Directory] == nil {
			out = append(out, plan.Input{Path: f.Directory, Kind: "directory"})
		}
		byDir[f.Directory] = append(byDir[f.Directory], f)
	}
	for i, in := range out {
		out[i].SHA256 = digestFacts(byDir[in.Path])
	}
	return out
}

func digestFacts(facts []plan.DirectoryFact) string {
	h := sha256.New()
	for _, f := range facts {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\n", f.Directory, f.Kind, f.Name, f.State)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// directoryChanges says what differs between the directory state a plan
// recorded and the state read now (the same facts, in the same order),
// one line per change: "directory lab-ad: account ada now exists (made
// since the plan)". A recorded state that no longer matches its digest
// (the plan file was edited) is a change too.
func directoryChanges(p *plan.Plan, now []plan.DirectoryFact) []string {
	var out []string
	for _, in := range p.Inputs {
		if in.Kind != "directory" {
			continue
		}
		var recorded []plan.DirectoryFact
		for _, f := range p.DirectoryState {
			if f.Directory == in.Path {
				recorded = append(recorded, f)
			}
		}
		if digestFacts(recorded) != in.SHA256 {
			out = append(out, fmt.Sprintf("directory %s: the recorded state does not match its digest (the plan file was edited)", in.Path))
		}
	}
	for i, was := range p.DirectoryState {
		if i >= len(now) {
			break
		}
		is := now[i]
		where := "directory " + was.Directory + ": " + was.Subject()
		switch {
		case is.State == was.State:
		case was.State == plan.Absent:
			out = append(out, fmt.Sprintf("%s now exists (made since the plan): %s", where, is.State))
		case is.State == plan.Absent:
			out = append(out, fmt.Sprintf("%s is gone (removed since the plan; it was %s)", where, was.State))
		default:
			out = append(out, fmt.Sprintf("%s changed since the plan: was %s, now %s", where, was.State, is.State))
		}
	}
	return out
}
