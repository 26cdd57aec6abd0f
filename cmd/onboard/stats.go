package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"onboard/internal/serve/store"
	"onboard/internal/stats"
)

// statsCommand is `onboard stats`: the service figures of docs/stats.md.
func (o *options) statsCommand() *cobra.Command {
	var since, until, by, format, csvFile, database string
	c := &cobra.Command{
		Use:   "stats",
		Short: "Service figures from the journal: hires, time to handover, first-attempt success, failures, resolution time, manual tasks",
		Long: `stats reads the journal (verified first: a journal changed outside onboard
gives no figures, exit 6) and reports, per month (UTC) or per profile, the
figures defined in docs/stats.md: hires, time from the HR event (or the first
run) to handover, first-attempt success, failed steps by kind, phase and
class, time from escalation to resolution, and what was left to do by hand.

The HR events' arrival times come from onboard serve's database: --database,
else serve.db beside the journal when it exists; without it, a hire's time
starts at its first run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(format); err != nil {
				return err
			}
			if by != stats.ByMonth && by != stats.ByProfile {
				return invalid(fmt.Errorf("--by must be month or profile, got %q", by))
			}
			opts := stats.Options{By: by}
			for _, d := range []struct {
				s   string
				dst *time.Time
			}{{since, &opts.Since}, {until, &opts.Until}} {
				if d.s == "" {
					continue
				}
				t, err := time.Parse("2006-01-02", d.s) // UTC, as the months are
				if err != nil {
					return invalid(fmt.Errorf("dates are written YYYY-MM-DD, got %q", d.s))
				}
				*d.dst = t
			}
			if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Since.Before(opts.Until) {
				return invalid(fmt.Errorf("--since %s is not before --until %s", since, until))
			}
			ctx := cmd.Context()
			j, err := o.openJournal(ctx)
			if err != nil {
				return err
			}
			defer j.Close() // stats has no --no-journal: j is open
			runs, err := stats.Load(ctx, j)
			if err != nil {
				return journalErr(err)
			}
			if database == "" {
				if p := filepath.Join(filepath.Dir(j.Path()), "serve.db"); fileExists(p) {
					database = p
				}
			}
			if database != "" {
				if opts.HREvents, err = hrEvents(ctx, database); err != nil {
					return &exitError{exitFailed, err}
				}
			}
			rep, err := stats.Compute(runs, opts)
			if err != nil {
				return err
			}
			if csvFile != "" {
				var b bytes.Buffer
				if err := stats.WriteCSV(&b, rep); err != nil {
					return err
				}
				if err := os.WriteFile(csvFile, b.Bytes(), 0o644); err != nil {
					return &exitError{exitFailed, fmt.Errorf("stats: %w", err)}
				}
			}
			if format == "json" {
				return stats.WriteJSON(o.stdout, rep)
			}
			return stats.WriteText(o.stdout, rep)
		},
	}
	o.addJournalFlags(c, false)
	f := c.Flags()
	f.StringVar(&since, "since", "", "hires that started on or after `DATE` (YYYY-MM-DD, UTC)")
	f.StringVar(&until, "until", "", "hires that started before `DATE` (YYYY-MM-DD, UTC)")
	f.StringVar(&by, "by", stats.ByMonth, "group by `WHAT`: month (UTC) or profile")
	f.StringVar(&csvFile, "csv", "", "also write the figures as CSV to `FILE` (one row a group, then the total)")
	f.StringVar(&database, "database", "", "onboard serve's database, for the HR events' arrival: an SQLite file or a postgres://... `URL` (default: serve.db beside the journal, when it exists)")
	addOutput(c, &format, "the report")
	_ = c.RegisterFlagCompletionFunc("by", cobra.FixedCompletions([]string{stats.ByMonth, stats.ByProfile}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// hrEvents reads when onboard serve received each trigger's first event.
func hrEvents(ctx context.Context, database string) (map[string]time.Time, error) {
	s, err := store.Open(ctx, database)
	if err != nil {
		return nil, fmt.Errorf("stats: HR events: %w", err)
	}
	defer s.Close()
	m, err := store.EventArrivals(ctx, s.DB)
	if err != nil {
		return nil, fmt.Errorf("stats: HR events in %s: %w", s.Where, err)
	}
	return m, nil
}
