package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"onboard/internal/connect"
	"onboard/internal/engine"
	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/planner"
	"onboard/internal/remote"
)

// offboardHelp is onboard offboard's long help.
const offboardHelp = `Offboard a leaver: take down, in the journal's order of safety, what onboard
set up for the employee, as the journal (verified first) records their last
setup. The account is disabled first, so that a run stopped at any point leaves
nothing that keeps access; then its password is scrambled, it leaves every
group the directory has it in, moves to the directory's leavers OU (leavers.ou)
and expires at the leave time; an Active Directory computer account of the
hire's machine is disabled; on the machine their sign-in is revoked, the
printers onboard mapped are removed, and the inventory's offboarding section
may archive the home and run wipe or re-image hooks. The mailbox hand-over is
left to do by hand, with the manager named. Every step is checked, applied and
checked again, and the run is recorded in the journal (mode offboard), as
apply's.

--at TIME sets the leave time (RFC 3339, or YYYY-MM-DD[THH:MM] in local time;
default now, or for a re-run the leave time of the offboarding the journal
shows applied). Before it the disable is refused as not-yet (the run says
when) and nothing after it runs; only the account's expiry is set at once, as
a backstop. Run onboard offboard again at or after that time.

--check shows the plan, every step checked, and changes nothing (-o json:
the plan as JSON), as onboard plan.

--purge deletes the directory account, once the directory's leavers
retention_days have passed since the offboarding (the journal's) and never
while the inventory's legal_holds hold the employee: it is refused, saying why
and until when. A purge is recorded with mode purge.

Exit codes are apply's.`

// offboardCommand is onboard offboard.
func (o *options) offboardCommand() *cobra.Command {
	var at string
	var purge, check bool
	c := &cobra.Command{
		Use:        "offboard EMPLOYEE-ID",
		SuggestFor: []string{"leave", "leaver", "deprovision"},
		Short:      "Take down a leaver's access, from the journal's record of their setup (disable first); --purge deletes the account after retention",
		Long:       offboardHelp,
		Args:       cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return o.hireArgs(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			when, err := parseLeaveTime(at, time.Now())
			if err != nil {
				return invalid(err)
			}
			if purge && at != "" {
				return invalid(errors.New("--at is the leave time of an offboarding: a purge deletes after the retention counted from the journal's offboarding"))
			}
			return o.offboard(cmd.Context(), args[0], when, purge, check)
		},
	}
	c.Flags().StringArrayVarP(&o.inventory, "inventory", "i", nil, "inventory file or folder `PATH` (repeatable; default ./inventory)")
	c.Flags().StringVar(&at, "at", "", "the leave `TIME` (RFC 3339, or YYYY-MM-DD[THH:MM] local); nothing but the expiry happens before it (default now, or a re-run's applied leave time)")
	c.Flags().BoolVar(&purge, "purge", false, "delete the directory account, after the retention and never under a legal hold")
	c.Flags().BoolVar(&check, "check", false, "dry run: show the offboarding's plan, checked, and change nothing (-o json: the plan as JSON)")
	o.addJournalFlags(c, false)
	o.addVerbose(c)
	o.addHostFlags(c, true)
	addOutput(c, &o.output, "JSON lines of events; with --check, the plan as JSON")
	c.Flags().StringArrayVar(&o.reports, "report", nil, reportUsage("the report"))
	o.addApplyFlags(c)
	return c
}

// parseLeaveTime reads --at: RFC 3339, or a local date with an optional
// time. Empty is the zero time (now, for the planner).
func parseLeaveTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--at %q: give RFC 3339 (2026-12-24T18:00:00Z) or a local YYYY-MM-DD[THH:MM]", s)
}

// offboard plans the leaver's offboarding (or purge) from the verified
// journal and applies it as apply does.
func (o *options) offboard(ctx context.Context, id string, at time.Time, purge, check bool) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
	inv, err := inventory.Load(o.inventoryPaths()...)
	if err != nil {
		return invalid(err)
	}
	o.known = inv.KnowledgeBase()
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	// What is taken down is what the journal says was set up: it must
	// verify (History checks the chain), or exit 6.
	hist, err := j.History(ctx, id)
	j.Close()
	if err != nil {
		return journalErr(fmt.Errorf("offboard %s: %w", id, err))
	}
	res := &connect.UsernameResolver{Dialer: o.dialer()}
	defer res.Close()
	unreachable := false
	now := time.Now()
	p, err := planner.Offboard(hist, inv, planner.OffboardOptions{At: at, Purge: purge, Now: now,
		Groups: func(d *plan.Directory, username string) ([]string, error) {
			g, err := res.Groups(ctx, d, username)
			unreachable = unreachable || errors.Is(err, remote.ErrUnreachable)
			return g, err
		}})
	switch {
	case err != nil && unreachable:
		return &exitError{exitUnreachable, err}
	case errors.Is(err, planner.ErrNoSetup):
		return invalid(fmt.Errorf("%w (onboard history lists the hires the journal knows)", err))
	case err != nil:
		return invalid(err)
	}
	if check {
		return o.dryRun(ctx, p)
	}
	o.mode = "offboard"
	if purge {
		o.mode = "purge"
	}
	if !at.IsZero() && at.After(now) {
		fmt.Fprintf(o.stderr, "onboard: the leave time %s is in the future: the account is disabled, and everything after it done, only by a run at or after it (the expiry is set now); run onboard offboard %s again then\n",
			at.Format(time.RFC3339), id)
	}
	return o.applyPlan(ctx, p)
}

// dryRun checks every step of a plan made here (not from playbooks) and
// shows it, changing nothing: as onboard plan, recorded as a dry run.
func (o *options) dryRun(ctx context.Context, p *plan.Plan) error {
	o.acceptNew = false // a dry run changes nothing, known_hosts included
	e := o.engine(nil)
	if err := e.Validate(p); err != nil {
		return invalid(fmt.Errorf("the plan cannot be run: %w", err))
	}
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	defer j.Close()
	if rec := o.recorder(j, p, "dry-run", true); rec != nil {
		e.Recorder = rec
	}
	res := e.Run(ctx, p, engine.DryRun)
	annotate(p, res)
	return o.showDryRun(p, res, o.output == "json")
}
