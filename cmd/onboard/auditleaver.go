package main

import (
	"fmt"

	"onboard/internal/plan"
	"onboard/internal/result"
)

// leaverDrift names plainly each removal of a leaver that an audit found
// undone ("leaver E260's account nx is enabled again (was disabled by run
// R)"): the sentence leads the failed re-check's message, so the text and
// JSON reports and the drift notification say it, and it is returned for
// the exit error. leavers maps a hire to its offboarding run.
func leaverDrift(res *result.Run, p *plan.Plan, leavers map[string]string) []string {
	if len(leavers) == 0 {
		return nil
	}
	var lines []string
	for i := range res.Steps {
		s := &res.Steps[i]
		run := leavers[s.Hire]
		if run == "" || s.Outcome.Done() || s.Outcome == result.Skipped || s.Waived() {
			continue
		}
		ps := p.Step(s.ID)
		if ps == nil {
			continue
		}
		line := leaverUndone(ps, run)
		if s.Failure == nil {
			s.Failure = &result.Failure{Step: s.ID, Phase: "check"}
		}
		// A check that answered sets the action it found; one that could
		// not read the directory or host did not: not proven undone, but
		// not proven in place either.
		if s.Action == "" || s.Failure.Class == result.ClassCannotRun {
			line = fmt.Sprintf("leaver %s: cannot tell whether %q still holds (done by run %s)", s.Hire, ps.Title, run)
		}
		if s.Failure.Message != "" {
			s.Failure.Message = line + ": " + s.Failure.Message
		} else {
			s.Failure.Message = line
		}
		lines = append(lines, line)
	}
	return lines
}

// leaverUndone is the sentence for one removal of s's kind found undone.
func leaverUndone(s *plan.Step, run string) string {
	who := "leaver " + s.Hire
	switch {
	case s.Kind == plan.KindAccountDisable && s.Leaver != nil:
		return fmt.Sprintf("%s's account %s is enabled again (was disabled by run %s)", who, s.Leaver.Username, run)
	case s.Kind == plan.KindMembershipRemove && s.Membership != nil:
		return fmt.Sprintf("%s (%s) is a member of %s again (was removed by run %s)", who, s.Membership.Username, s.Membership.Group, run)
	case s.Kind == plan.KindPasswordScramble && s.Leaver != nil:
		return fmt.Sprintf("%s's account %s has a password set before the leave time (was scrambled by run %s)", who, s.Leaver.Username, run)
	case s.Kind == plan.KindAccountMove && s.Leaver != nil:
		return fmt.Sprintf("%s's account %s is no longer in %s (was moved there by run %s)", who, s.Leaver.Username, s.Leaver.OU, run)
	case s.Kind == plan.KindAccountExpire && s.Leaver != nil:
		return fmt.Sprintf("%s's account %s has another expiry (was set by run %s)", who, s.Leaver.Username, run)
	case s.Kind == plan.KindComputerDisable && s.Leaver != nil:
		return fmt.Sprintf("%s's computer account %s is enabled again (was disabled by run %s)", who, s.Leaver.Computer, run)
	case s.Kind == plan.KindLoginRevoke && s.LoginRevoke != nil:
		return fmt.Sprintf("%s (%s) may sign in on %s again (access was ended by run %s)", who, s.LoginRevoke.User, s.Host, run)
	case (s.Kind == plan.KindPrinterRemove && s.Printer != nil):
		return fmt.Sprintf("%s's printer %s is mapped on %s again (was unmapped by run %s)", who, s.Printer.Name, s.Host, run)
	}
	return fmt.Sprintf("%s: %q no longer holds (was done by run %s)", who, s.Title, run)
}
