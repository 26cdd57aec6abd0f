package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/report"
	"onboard/internal/result"
)

// reportCommand is `onboard report welcome RUN-ID`: a hire's welcome sheet
// made again from a run recorded in the journal.
func (o *options) reportCommand() *cobra.Command {
	var hire, out string
	welcome := &cobra.Command{
		Use:   "welcome RUN-ID",
		Short: "Write a hire's welcome sheet from a recorded run that made the hire ready for handover (.md or .html by --out FILE; Markdown on stdout without)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.welcomeSheet(cmd.Context(), args[0], hire, out)
		},
	}
	welcome.Flags().StringVar(&hire, "hire", "", "the employee `ID` (needed when the run has several hires with a welcome sheet)")
	welcome.Flags().StringVar(&out, "out", "", "write the sheet to `FILE` (.md or .html); default: Markdown on stdout")
	c := &cobra.Command{Use: "report", Short: "Documents made from recorded runs"}
	c.AddCommand(welcome, o.leaverReportCommand())
	return c
}

func (o *options) welcomeSheet(ctx context.Context, runID, hireID, out string) error {
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	if j == nil {
		return invalid(errors.New("report welcome reads the journal: drop --no-journal"))
	}
	defer j.Close()
	d, err := j.Run(ctx, runID)
	if errors.Is(err, journal.ErrNotFound) {
		return invalid(fmt.Errorf("no run %s in %s (onboard history lists them)", runID, j.Path()))
	}
	if err != nil {
		return err
	}
	// The sheet tells a hire what their machine has: only from records
	// that are as written.
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
	h, err := welcomeHire(p, runID, hireID)
	if err != nil {
		return invalid(err)
	}
	path := out
	if path == "" {
		if h.Handover.Welcome.Password == "sheet" {
			return invalid(fmt.Errorf("hire %s's sheet carries the initial password (handover.welcome.password: sheet): write it to a file with --out FILE", h.ID))
		}
		path = "sheet.md"
	}
	b, err := report.RenderWelcome(path, p, h, runOf(d))
	if errors.Is(err, report.ErrNotReady) {
		return &exitError{exitFailed, fmt.Errorf("run %s did not make hire %s ready for handover (%s): no welcome sheet", runID, h.ID, d.Outcome)}
	}
	if err != nil {
		return invalid(err)
	}
	if out == "" {
		_, err = o.stdout.Write(b)
		return err
	}
	if err := writeSheet(out, b, h.Handover.Welcome.Password == "sheet"); err != nil {
		return &exitError{exitFailed, err}
	}
	fmt.Fprintf(o.stdout, "welcome sheet of %s written to %s\n", report.Visible(h.ID), out)
	return nil
}

// welcomeHire picks the hire of the run whose sheet is asked for.
func welcomeHire(p *plan.Plan, runID, id string) (plan.Hire, error) {
	var with []string
	for _, h := range p.Hires {
		if id != "" && h.ID != id {
			continue
		}
		if h.Handover.Welcome != nil {
			if id != "" {
				return h, nil
			}
			with = append(with, h.ID)
		} else if id != "" {
			return h, fmt.Errorf("hire %s's playbook asks for no welcome sheet (handover.welcome) in run %s", id, runID)
		}
	}
	switch {
	case id != "":
		return plan.Hire{}, fmt.Errorf("run %s has no hire %s", runID, id)
	case len(with) == 0:
		return plan.Hire{}, fmt.Errorf("no hire of run %s asks for a welcome sheet (handover.welcome)", runID)
	case len(with) > 1:
		return plan.Hire{}, fmt.Errorf("run %s has several hires with a welcome sheet (%s): name one with --hire", runID, strings.Join(with, ", "))
	}
	for _, h := range p.Hires {
		if h.ID == with[0] {
			return h, nil
		}
	}
	return plan.Hire{}, nil
}

// runOf is the result of a recorded run as far as a welcome sheet needs
// it: every step's finish and every handover re-check.
func runOf(d *journal.RunDetail) *result.Run {
	r := &result.Run{ID: d.ID, Operator: d.Operator, DryRun: d.DryRun, Started: d.Started, Finished: d.Finished, Hires: d.Hires}
	if d.Finish != nil {
		r.Unreachable, r.Cancelled = d.Finish.Unreachable, d.Finish.Cancelled
	}
	for _, rec := range d.Records {
		switch {
		case rec.Step == nil:
		case rec.Kind == journal.StepFinished:
			r.Steps = append(r.Steps, *rec.Step)
		case rec.Kind == journal.Handover:
			r.Handover = append(r.Handover, *rec.Step)
		}
	}
	return r
}

// writeSheet writes a sheet given on the command line: 0644, or, holding
// the password, 0600 and never over an existing file.
func writeSheet(path string, b []byte, withPassword bool) error {
	if !withPassword {
		return report.WriteBytes(path, b)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("welcome sheet %s (it holds the initial password, so it is never written over a file): %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(filepath.Clean(path))
		return fmt.Errorf("welcome sheet %s: %w", path, err)
	}
	return f.Close()
}

// welcomeNotices says which hires asked for a welcome sheet and got none
// because the run did not make them ready for handover.
func welcomeNotices(w io.Writer, p *plan.Plan, res *result.Run) {
	for _, h := range p.Hires {
		if h.Handover.Welcome != nil && len(h.Handover.Welcome.Sheets) > 0 && !res.DryRun && !res.Ready(h.ID) {
			fmt.Fprintf(w, "onboard: welcome sheet of %s not written: not ready for handover (run onboard again once it is)\n", report.Visible(h.ID))
		}
	}
}
