package step

import "onboard/internal/secret"

// RememberInitial records pw as the initial password of username set in
// this run, as Activate does: tests use it to hold a wrong one.
func (d *DirTarget) RememberInitial(username string, pw secret.Value) { d.initial.Store(username, pw) }
