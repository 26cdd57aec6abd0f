package report

import (
	"errors"
	"fmt"
	"path/filepath"

	"onboard/internal/folder"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// WriteHandover writes a hire's report beneath the allowed folder the plan
// confined it to, so a symlink swapped in since cannot lead out of it.
func WriteHandover(p *plan.Plan, h plan.Hire, path string, res *result.Run) error {
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(h.Source), path)
	}
	root := folder.Set(p.Writable).Root(path)
	if root == "" {
		if len(p.Writable) > 0 {
			return fmt.Errorf("%s: handover report %s is outside the folders the plan may write to (%s)", h.Source, path, folder.Set(p.Writable))
		}
		root = filepath.Dir(path) // a plan made before folders were recorded
	}
	// Reports are written 0644 and password files 0600: a playbook's report
	// never replaces an earlier hire's password file in a shared folder.
	if st, err := folder.Lstat(root, path); err == nil && (!st.Mode().IsRegular() || st.Mode().Perm() == 0o600) {
		return fmt.Errorf("%s: handover report %s would replace a file that is not a report (%s)", h.Source, path, st.Mode())
	}
	b, err := Render(path, Only(res, h.ID))
	if err != nil {
		return err
	}
	if err := folder.Replace(root, path, b, 0o644, 0o755); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}

// WriteHandovers writes every hire's handover reports the plan names, one
// per hire, holding only that hire, and the welcome sheets of the hires
// ready for handover (WriteWelcomes); every failure is returned.
func WriteHandovers(p *plan.Plan, res *result.Run) error {
	_, err := WriteWelcomes(p, res)
	errs := []error{err}
	for _, h := range p.Hires {
		for _, path := range h.Handover.Reports {
			if err := WriteHandover(p, h, path, res); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
