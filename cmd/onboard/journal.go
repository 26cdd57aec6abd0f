package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// openJournal opens the journal the flags name, or nil with --no-journal.
func (o *options) openJournal(ctx context.Context) (*journal.Journal, error) {
	if o.noJournal {
		return nil, nil
	}
	path := o.journalPath
	if path == "" {
		p, err := journal.DefaultPath()
		if err != nil {
			return nil, invalid(fmt.Errorf("journal: %w (give --journal PATH, or --no-journal)", err))
		}
		path = p
	}
	j, err := journal.Open(ctx, path)
	if err != nil {
		return nil, &exitError{exitFailed, fmt.Errorf("open the journal %s: %w", path, err)}
	}
	return j, nil
}

// recorder starts recording a run of p in j.
func (o *options) recorder(j *journal.Journal, p *plan.Plan, mode string, dry bool) *journal.RunRecorder {
	if j == nil {
		return nil
	}
	return j.Recorder(journal.RunStart{Operator: operator(), Trigger: "cli", Mode: mode, DryRun: dry, Sources: p.Sources, Plan: p})
}

// journalLine tells where the run was recorded, with the chain's head so an
// auditor can pin it (onboard journal verify --expect-head).
func journalLine(ctx context.Context, w io.Writer, j *journal.Journal, runID string) {
	if j == nil {
		return
	}
	head, err := j.Head(ctx)
	if err != nil {
		fmt.Fprintf(w, "journal: %s, run %s (head unreadable: %v)\n", j.Path(), runID, err)
		return
	}
	fmt.Fprintf(w, "journal: %s, run %s, head %s\n", j.Path(), runID, head)
}

func (o *options) journalCommands(root *cobra.Command) {
	var f journal.Filter
	var since, until, asJSON string
	history := &cobra.Command{
		Use:   "history",
		Short: "List recorded runs (who, when, which hire, which machine, outcome)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, d := range []struct {
				s   string
				dst *time.Time
			}{{since, &f.Since}, {until, &f.Until}} {
				if d.s == "" {
					continue
				}
				t, err := time.ParseInLocation("2006-01-02", d.s, time.Local)
				if err != nil {
					return invalid(fmt.Errorf("dates are written YYYY-MM-DD, got %q", d.s))
				}
				*d.dst = t
			}
			j, err := o.openJournal(cmd.Context())
			if err != nil || j == nil {
				return err
			}
			defer j.Close()
			runs, err := j.Runs(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON == "json" {
				return writeJSONTo(o.stdout, runs)
			}
			tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tSTARTED\tOPERATOR\tHIRES\tHOSTS\tOUTCOME\tSTEPS")
			for _, r := range runs {
				var hires []string
				for _, h := range r.Hires {
					hires = append(hires, h.ID+" "+h.Username)
				}
				mode := r.Outcome
				if r.DryRun {
					mode += " (dry run)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.Local().Format("2006-01-02 15:04"), r.Operator,
					strings.Join(hires, ", "), strings.Join(r.Hosts, ", "), mode, counts(r.Steps))
			}
			return tw.Flush()
		},
	}
	history.Flags().StringVar(&f.Hire, "hire", "", "only runs of this employee id")
	history.Flags().StringVar(&f.Host, "host", "", "only runs against this host (or directory)")
	history.Flags().StringVar(&f.Outcome, "outcome", "", "only runs that ended so: ok, failed, cancelled, interrupted, running")
	history.Flags().StringVar(&since, "since", "", "runs started on or after this date (YYYY-MM-DD)")
	history.Flags().StringVar(&until, "until", "", "runs started before this date (YYYY-MM-DD)")
	history.Flags().IntVar(&f.Limit, "limit", 50, "at most this many runs")
	history.Flags().StringVarP(&asJSON, "output", "o", "text", "text or json")

	var showFmt string
	show := &cobra.Command{
		Use:   "show RUN-ID",
		Short: "Show one recorded run step by step",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			j, err := o.openJournal(cmd.Context())
			if err != nil || j == nil {
				return err
			}
			defer j.Close()
			d, err := j.Run(cmd.Context(), args[0])
			if errors.Is(err, journal.ErrNotFound) {
				return invalid(fmt.Errorf("no run %s in %s", args[0], j.Path()))
			}
			if err != nil {
				return err
			}
			if showFmt == "json" {
				return writeJSONTo(o.stdout, d)
			}
			fmt.Fprintf(o.stdout, "run %s by %s (%s), %s\nstarted %s", d.ID, d.Operator, d.Trigger, d.Outcome, d.Started.Local().Format(time.RFC1123))
			if !d.Finished.IsZero() {
				fmt.Fprintf(o.stdout, ", finished %s", d.Finished.Local().Format(time.RFC1123))
			}
			fmt.Fprintln(o.stdout)
			for _, h := range d.Hires {
				fmt.Fprintf(o.stdout, "hire %s: %s (%s) on %s\n", h.ID, h.Name, h.Username, h.Host)
			}
			tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
			for _, rec := range d.Records {
				if rec.Step == nil {
					fmt.Fprintf(tw, "%s\t%s\t\t\t\n", rec.Time.Local().Format("15:04:05.000"), rec.Kind)
					continue
				}
				s := rec.Step
				what := s.Changed
				if what == "" {
					what = s.Reason
				}
				if s.Failure != nil {
					what = s.Failure.Message
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", rec.Time.Local().Format("15:04:05.000"), rec.Kind, s.Outcome, s.Title, what)
			}
			return tw.Flush()
		},
	}
	show.Flags().StringVarP(&showFmt, "output", "o", "text", "text or json")

	var pins []string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the journal's hash chain: find edited, deleted, reordered or inserted records",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var anchors []journal.Anchor
			for _, p := range pins {
				a, err := journal.ParseAnchor(p)
				if err != nil {
					return invalid(err)
				}
				anchors = append(anchors, a)
			}
			j, err := o.openJournal(cmd.Context())
			if err != nil || j == nil {
				return err
			}
			defer j.Close()
			rep, err := j.Verify(cmd.Context(), anchors...)
			if err != nil {
				return err
			}
			if rep.OK() {
				fmt.Fprintf(o.stdout, "ok: %d records, chain intact, head %s\n", rep.Records, rep.Head)
				return nil
			}
			for _, p := range rep.Problems {
				fmt.Fprintf(o.stdout, "%s\n", p)
			}
			return &exitError{exitFailed, fmt.Errorf("the journal %s was changed outside onboard: %d problem(s)", j.Path(), len(rep.Problems))}
		},
	}
	verify.Flags().StringArrayVar(&pins, "expect-head", nil, "a head SEQ:HASH recorded earlier (printed after every run): detects a rewritten or truncated chain")
	journalCmd := &cobra.Command{Use: "journal", Short: "The journal of runs"}
	journalCmd.AddCommand(verify)
	root.AddCommand(history, show, journalCmd)
}

func counts(m map[result.Outcome]int) string {
	var parts []string
	for o, n := range m {
		parts = append(parts, fmt.Sprintf("%d %s", n, o))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
