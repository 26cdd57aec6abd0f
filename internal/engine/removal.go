package engine

import "onboard/internal/plan"

// removalSpecError refuses a removal the host kinds cannot carry out
// safely, before anything runs: a command-installed package without an
// uninstall command, a home archive inside the home or at a relative path.
func removalSpecError(s *plan.Step) error {
	switch s.Kind {
	case plan.KindPackageRemove:
		return s.Package.Removable()
	case plan.KindHomeArchive:
		return s.HomeArchive.Validate()
	}
	return nil
}
