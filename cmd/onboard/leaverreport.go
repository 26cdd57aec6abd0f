package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"onboard/internal/journal"
	"onboard/internal/report"
)

// leaverReportCommand is `onboard report leaver RUN-ID`: the evidence of
// an offboarding, made again from the journal.
func (o *options) leaverReportCommand() *cobra.Command {
	var hire, out string
	c := &cobra.Command{
		Use:   "leaver RUN-ID",
		Short: "Write the leaver report of an offboarding run: each access removal with its proof (.html, .md or .json by --out FILE; Markdown on stdout without)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.leaverReport(cmd.Context(), args[0], hire, out)
		},
	}
	c.Flags().StringVar(&hire, "hire", "", "the leaver's employee `ID` (needed when the run offboarded several people)")
	c.Flags().StringVar(&out, "out", "", "write the report to `FILE` (.html, .md or .json); default: Markdown on stdout")
	o.addJournalFlags(c, false)
	return c
}

func (o *options) leaverReport(ctx context.Context, runID, hire, out string) error {
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	if j == nil {
		return invalid(errors.New("report leaver reads the journal: drop --no-journal"))
	}
	defer j.Close()
	// Evidence for an auditor: only from a chain that verifies, read in
	// the snapshot that was verified.
	d, err := j.VerifiedRun(ctx, runID)
	if errors.Is(err, journal.ErrNotFound) {
		return invalid(fmt.Errorf("no run %s in %s (onboard history lists them)", runID, j.Path()))
	}
	if err != nil {
		return journalErr(fmt.Errorf("report leaver %s: %w", runID, err))
	}
	if len(d.Unverified) > 0 {
		return &exitError{exitTampered, fmt.Errorf("record(s) %s of run %s do not match their hashes: changed outside onboard (onboard journal verify)", seqList(d.Unverified), runID)}
	}
	p, err := d.PlanOf()
	if err != nil {
		return invalid(err)
	}
	if p == nil {
		return invalid(fmt.Errorf("run %s has no plan in the journal", runID))
	}
	lr, err := report.NewLeaverReport(p, runOf(d), d.Mode, d.Trigger, hire)
	if err != nil {
		return invalid(err)
	}
	path := out
	if path == "" {
		path = "report.md"
	}
	b, err := report.RenderLeaver(path, lr)
	if err != nil {
		return invalid(err)
	}
	if out == "" {
		_, err = o.stdout.Write(b)
	} else if err = report.WriteBytes(out, b); err == nil {
		held, all := lr.Held()
		fmt.Fprintf(o.stdout, "leaver report of %s written to %s: %d of %d access removals proven\n", report.Visible(lr.Leaver.ID), out, held, all)
	}
	if err != nil {
		return &exitError{exitFailed, err}
	}
	if !lr.Complete {
		return &exitError{exitFailed, fmt.Errorf("run %s did not prove every access removal of %s: see the report's \"Did not hold\"", report.Visible(runID), report.Visible(lr.Leaver.ID))}
	}
	return nil
}
