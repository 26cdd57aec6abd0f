package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/planner"
	"onboard/internal/result"
)

// restoreCommand is onboard restore EMPLOYEE-ID: a leaver brought back
// within the grace period, from the journal's record of the offboarding.
func (o *options) restoreCommand() *cobra.Command {
	var deliver string
	c := &cobra.Command{
		Use:   "restore EMPLOYEE-ID",
		Short: "Bring a leaver back within the grace period, from the journal: groups, OU, no expiry, a new password, enabled",
		Long: `restore undoes an offboarding (a journal run of mode offboard) within the
directory's leavers.grace_days after the leave: the account moves back to the
OU it came from, never expires, goes back into every group the offboarding
found it in, gets a new initial password (the scrambled one is known to
nobody) delivered by --deliver, and is enabled. The run is recorded with mode
restore. A restore after the grace period, or of an account deleted by a
purge, is refused (exit code 2).

On the workstation onboard has no undo of login-revoke: the plan lists what
to do there by hand.

Exit codes are apply's.`,
		SuggestFor:        []string{"reinstate", "unoffboard"},
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.leaverArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.restore(cmd.Context(), args[0], deliver)
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&o.inventory, "inventory", "i", nil, "inventory file or folder `PATH` (repeatable; default ./inventory)")
	f.StringArrayVar(&o.allowWrite, "allow-write", nil, "folder `DIR` the password file may be written in, besides the inventory's playbooks.write (repeatable; default: none)")
	f.StringVar(&deliver, "deliver", "terminal", "how the new initial password reaches the hire: `CHANNEL`: file:PATH (mode 0600, in an allowed folder) or terminal (printed once)")
	_ = c.RegisterFlagCompletionFunc("deliver", cobra.FixedCompletions([]string{"terminal", "file:"}, cobra.ShellCompDirectiveNoSpace))
	o.addJournalFlags(c, false)
	o.addVerbose(c)
	o.addHostFlags(c, true)
	addOutput(c, &o.output, "JSON lines of events")
	c.Flags().StringArrayVar(&o.reports, "report", nil, reportUsage("the report"))
	o.addApplyFlags(c)
	return c
}

// restore plans the restore from the last applied offboarding of the hire
// in a journal that verifies, shows it, asks, and applies it.
func (o *options) restore(ctx context.Context, id, deliver string) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
	inv, err := inventory.Load(o.inventoryPaths()...)
	if err != nil {
		return invalid(err)
	}
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	off, purged, err := lastOffboarding(ctx, j, id)
	j.Close()
	if err != nil {
		return err
	}
	p, err := planner.Restore(off, inv, planner.RestoreOptions{Hire: id, Deliver: deliver, Write: o.allowWrite, PurgedBy: purged})
	if err != nil {
		return invalid(err)
	}
	o.mode = "restore"
	return o.applyPlan(ctx, p)
}

// lastOffboarding finds the hire's last applied offboarding that disabled
// the account (its results hold what a restore puts back: a re-run of an
// offboarding finds everything in place and records no groups), read from
// a chain that verifies; and a purge run of the hire after it, if any.
func lastOffboarding(ctx context.Context, j *journal.Journal, id string) (*journal.RunDetail, string, error) {
	runs, err := j.Runs(ctx, journal.Filter{Hire: id})
	if err != nil {
		return nil, "", err
	}
	var purged string
	var newest *journal.RunDetail
	verified := false
	for _, r := range runs { // newest first
		if r.DryRun {
			continue
		}
		if r.Mode == "purge" && r.Steps[result.Changed] > 0 {
			purged = r.ID
			continue
		}
		if r.Mode != "offboard" {
			continue
		}
		var d *journal.RunDetail
		if !verified {
			// The restore acts on what the run says: the whole chain
			// must verify, once.
			d, err = j.VerifiedRun(ctx, r.ID)
			verified = true
		} else {
			d, err = j.Run(ctx, r.ID)
		}
		if err != nil {
			return nil, "", journalErr(fmt.Errorf("restore %s: run %s: %w", id, r.ID, err))
		}
		if newest == nil {
			newest = d
		}
		if disabledIn(d, id) {
			return d, purged, nil
		}
	}
	if newest == nil {
		return nil, "", invalid(fmt.Errorf("restore %s: the journal has no offboarding of employee %s (onboard history --hire %s lists its runs)", id, id, id))
	}
	return newest, purged, nil
}

// disabledIn says whether the run disabled the hire's account.
func disabledIn(d *journal.RunDetail, id string) bool {
	for _, r := range d.Records {
		if r.Kind == journal.StepFinished && r.Step != nil && r.Step.Hire == id &&
			r.Step.Kind == plan.KindAccountDisable && r.Step.Outcome == result.Changed {
			return true
		}
	}
	return false
}

// leaverArgs completes the employee ids the journal has offboardings of.
func (o *options) leaverArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range o.recordedRuns(cmd.Context()) {
		if r.Mode != "offboard" || r.DryRun {
			continue
		}
		for _, h := range r.Hires {
			if seen[h.ID] || !strings.HasPrefix(h.ID, toComplete) {
				continue
			}
			seen[h.ID] = true
			out = append(out, h.ID+"\t"+h.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
