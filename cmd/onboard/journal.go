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

	"onboard/internal/engine"
	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/report"
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
		return nil, &exitError{exitFailed, err} // it names the file
	}
	return j, nil
}

// journalErr gives a journal that does not verify its own exit code, so
// that a script tells a tampered journal from a failed step.
func journalErr(err error) error {
	var ce *journal.ChainError
	if errors.As(err, &ce) {
		return &exitError{exitTampered, err}
	}
	return err
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
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return invalid(fmt.Errorf("history takes no arguments: for one hire's runs, --hire %s; for a host's, --host %s", args[0], args[0]))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(asJSON); err != nil {
				return err
			}
			if cmd.Flags().Changed("limit") {
				fmt.Fprintln(o.stderr, "onboard: history --limit is deprecated: use --last N (--limit selects hosts and hires, on plan and apply)")
			}
			if f.Limit < 0 {
				return invalid(fmt.Errorf("--last must be 0 (all runs) or more, got %d", f.Limit))
			}
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
	o.addJournalFlags(history, false)
	history.Flags().StringVar(&f.Hire, "hire", "", "only runs of the hire with employee id `ID`")
	history.Flags().StringVar(&f.Host, "host", "", "only runs against host (or directory) `NAME`")
	history.Flags().StringVar(&f.Outcome, "outcome", "", "only runs that ended so, an `OUTCOME`: ok, failed, cancelled, interrupted, running")
	history.Flags().StringVar(&since, "since", "", "runs started on or after `DATE` (YYYY-MM-DD)")
	history.Flags().StringVar(&until, "until", "", "runs started before `DATE` (YYYY-MM-DD)")
	history.Flags().IntVar(&f.Limit, "last", 50, "the `N` most recent runs (0: all)")
	// --limit was the count before it was --last; it goes on working here,
	// with a warning, while on plan and apply it selects hosts and hires as
	// in Ansible.
	history.Flags().IntVar(&f.Limit, "limit", 50, "deprecated: --last `N`")
	_ = history.Flags().MarkHidden("limit")
	addOutput(history, &asJSON, "an array of runs")
	_ = history.RegisterFlagCompletionFunc("outcome", cobra.FixedCompletions([]string{"ok", "failed", "cancelled", "interrupted", "running"}, cobra.ShellCompDirectiveNoFileComp))
	_ = history.RegisterFlagCompletionFunc("hire", o.hireArgs)
	_ = history.RegisterFlagCompletionFunc("host", o.hostArgs)

	var showFmt string
	show := &cobra.Command{
		Use:               "show RUN-ID",
		Short:             "Show one recorded run step by step",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.runIDArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(showFmt); err != nil {
				return err
			}
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
			if len(d.Unverified) > 0 {
				fmt.Fprintf(o.stderr, "onboard: warning: record(s) %s of run %s do not match their hashes: changed outside onboard (onboard journal verify)\n",
					seqList(d.Unverified), d.ID)
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
				if n := rec.Notification; n != nil {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s via %s, attempt %d\t%s\n", rec.Time.Local().Format("15:04:05.000"), rec.Kind,
						n.Status, n.Event, n.Channel, n.Attempt, n.Reason)
					continue
				}
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
	o.addJournalFlags(show, false)
	addOutput(show, &showFmt, "the run with every record")

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
			return &exitError{exitTampered, fmt.Errorf("the journal %s was changed outside onboard: %d problem(s)", j.Path(), len(rep.Problems))}
		},
	}
	o.addJournalFlags(verify, false)
	verify.Flags().StringArrayVar(&pins, "expect-head", nil, "a head `SEQ:HASH` recorded earlier (printed after every run): detects a rewritten or truncated chain (repeatable)")
	auditCmd := &cobra.Command{
		Use:               "audit [EMPLOYEE-ID...]",
		Short:             "Check completed setups again on the live systems and report drift since handover (exit 5 when found)",
		ValidArgsFunction: o.hireArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.checkFlags(); err != nil {
				return err
			}
			return o.audit(cmd.Context(), args)
		},
	}
	o.addJournalFlags(auditCmd, false)
	o.addVerbose(auditCmd)
	o.addHostFlags(auditCmd, false)
	addOutput(auditCmd, &o.output, "the audit as one object")
	auditCmd.Flags().StringArrayVar(&o.reports, "report", nil, reportUsage("the audit"))
	auditCmd.Flags().BoolVar(&o.noColor, "no-color", false, "no colours in the output (NO_COLOR does the same)")
	o.addNotifyInventory(auditCmd)
	root.AddCommand(auditCmd)
	journalCmd := &cobra.Command{
		Use:   "journal",
		Short: "The journal of runs",
		Args:  unknownSubcommand,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	journalCmd.SuggestionsMinimumDistance = 2
	journalCmd.AddCommand(verify)
	root.AddCommand(history, show, journalCmd)
}

func seqList(seqs []int64) string {
	var parts []string
	for _, s := range seqs {
		parts = append(parts, fmt.Sprint(s))
	}
	return strings.Join(parts, ", ")
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

// auditPlan gathers, for each hire, the plan of its latest run that
// handed the hire over (a run that ended ok, or one that failed only in
// checks a waiver excused for that hire): the steps that were proven then
// are the ones to check.
func auditPlan(ctx context.Context, j *journal.Journal, only map[string]bool) (*plan.Plan, error) {
	p, _, err := auditPlans(ctx, j, only)
	return p, err
}

// auditPlans is auditPlan, and the leavers among its hires: a hire whose
// latest such run is an offboarding is audited on that run's steps (its
// access stays removed), mapped here to that run's id.
func auditPlans(ctx context.Context, j *journal.Journal, only map[string]bool) (*plan.Plan, map[string]string, error) {
	leavers := map[string]string{}
	var runs []journal.RunSummary
	for _, outcome := range []string{journal.RunOK, journal.RunFailed} {
		rs, err := j.Runs(ctx, journal.Filter{Outcome: outcome, Limit: 100000})
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, rs...)
	}
	// Newest first, as each list was.
	sort.SliceStable(runs, func(a, b int) bool { return runs[a].Started.After(runs[b].Started) })
	p := &plan.Plan{Version: 1, Created: time.Now().UTC(), Hosts: map[string]*plan.Host{}, Directories: map[string]*plan.Directory{}}
	seen := map[string]bool{}
	for _, r := range runs { // newest first
		if r.DryRun {
			continue
		}
		d, err := j.Run(ctx, r.ID)
		if err != nil {
			return nil, nil, err
		}
		if len(d.Unverified) > 0 { // changed since CheckChain
			return nil, nil, &exitError{exitTampered, fmt.Errorf("audit: record(s) %s of run %s in %s do not match their hashes: changed outside onboard (onboard journal verify)",
				seqList(d.Unverified), r.ID, j.Path())}
		}
		rp, err := d.PlanOf()
		if err != nil {
			return nil, nil, err
		}
		if rp == nil {
			continue
		}
		for _, h := range rp.Hires {
			if seen[h.ID] || (len(only) > 0 && !only[h.ID]) {
				continue
			}
			if r.Outcome != journal.RunOK && !handedOver(d, h.ID) {
				continue
			}
			seen[h.ID] = true
			if r.Mode == report.ModeOffboard {
				leavers[h.ID] = r.ID
				h.Source = fmt.Sprintf("%s (offboarded in run %s)", h.Source, r.ID)
			} else {
				h.Source = fmt.Sprintf("%s (handed over in run %s)", h.Source, r.ID)
			}
			p.Hires = append(p.Hires, h)
			p.Sources = append(p.Sources, h.Source)
			for _, s := range rp.Steps {
				if s.Hire != h.ID || s.Kind == plan.KindReboot {
					continue // a pending reboot is not a handed-over state
				}
				c := *s
				c.Action, c.Reason = plan.ActionUnknown, ""
				p.Steps = append(p.Steps, &c)
				if s.Host != "" {
					p.Hosts[s.Host] = rp.Hosts[s.Host]
				}
				if s.Directory != "" {
					p.Directories[s.Directory] = rp.Directories[s.Directory]
				}
			}
		}
	}
	for id := range only {
		if !seen[id] {
			return nil, nil, invalid(fmt.Errorf("no completed (handed over) run of hire %s in %s", id, j.Path()))
		}
	}
	return p, leavers, nil
}

// handedOver reports whether run d handed hire over although the run
// failed: the handover re-check ran for the hire, and each of its steps
// ended done or is a check a waiver excused (whose re-check was skipped).
func handedOver(d *journal.RunDetail, hire string) bool {
	waived := map[string]bool{}
	handover := false
	for _, rec := range d.Records {
		s := rec.Step
		if s == nil || s.Hire != hire {
			continue
		}
		switch rec.Kind {
		case journal.StepFinished:
			if s.Waived() {
				waived[s.ID] = true
			} else if !s.Outcome.Done() {
				return false
			}
		case journal.Handover:
			handover = true
			if !s.Outcome.Done() && !s.Waived() && !(s.Outcome == result.Skipped && waived[s.ID]) {
				return false
			}
		}
	}
	return handover
}

// audit re-checks completed setups on the live systems.
func (o *options) audit(ctx context.Context, hires []string) error {
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	if j == nil {
		return invalid(errors.New("audit reads the journal: drop --no-journal"))
	}
	defer j.Close()
	only := map[string]bool{}
	for _, h := range hires {
		only[h] = true
	}
	// The audit re-runs the checks of recorded plans and reads their
	// outcomes: only from a chain that verifies.
	if err := j.CheckChain(ctx); err != nil {
		return journalErr(fmt.Errorf("audit: %w", err))
	}
	p, leavers, err := auditPlans(ctx, j, only)
	if err != nil {
		return journalErr(err)
	}
	if len(p.Steps) == 0 {
		fmt.Fprintln(o.stdout, "nothing to audit: the journal has no completed setup")
		return nil
	}
	// What each check saw when the journal last recorded it (the
	// handover, or the last audit), read before this audit records anew.
	last := map[string]map[string]journal.StepRecord{}
	for _, h := range p.Hires {
		if last[h.ID], err = j.LastKnown(ctx, h.ID); err != nil {
			return journalErr(fmt.Errorf("audit: %w", err))
		}
	}
	e := o.engine(nil)
	e.Recorder = o.recorder(j, p, "audit", true)
	res := e.Run(ctx, p, engine.Recheck)
	res.Audit = true
	evidenceChanges(res, last)
	leaverLines := leaverDrift(res, p, leavers)
	for i := range res.Hires {
		res.Hires[i].Manual = nil // the handover's to-do list is history
		if leavers[res.Hires[i].ID] == "" {
			res.Hires[i].Added = o.additions(ctx, p, res.Hires[i].ID)
		}
	}
	defer o.startNotify(ctx, p, res, j)() // drift, to whom the rules say
	switch o.output {
	case "json":
		if err := writeJSONTo(o.stdout, res); err != nil {
			return err
		}
	default:
		if err := (report.Text{Color: !o.noColor}).Write(o.stdout, res); err != nil {
			return err
		}
		journalLine(ctx, o.stdout, j, res.ID)
	}
	for _, path := range o.reports {
		if err := report.WriteFile(path, res); err != nil {
			return &exitError{exitFailed, err}
		}
	}
	if len(res.Unreachable) > 0 {
		return &exitError{exitUnreachable, fmt.Errorf("unreachable: %s", strings.Join(res.Unreachable, ", "))}
	}
	added := 0
	for _, h := range res.Hires {
		added += len(h.Added)
	}
	if n := result.Unwaived(res.Steps); n > 0 || added > 0 {
		err := fmt.Errorf("drift: %d check(s) no longer hold as handed over, %d thing(s) added since", n, added)
		if len(leaverLines) > 0 {
			err = fmt.Errorf("%w; %s", err, report.Visible(strings.Join(leaverLines, "; ")))
		}
		return &exitError{exitDrift, err}
	}
	return nil
}

// evidenceChanges sets, on each check the audit saw (passed or failed),
// how its evidence differs from the journal's last record of it.
func evidenceChanges(res *result.Run, last map[string]map[string]journal.StepRecord) {
	for i := range res.Steps {
		s := &res.Steps[i]
		if s.Kind != string(plan.KindCheck) || (s.Outcome != result.OK && s.Outcome != result.Failed) || (s.Failure != nil && s.Failure.Phase != "check") {
			continue
		}
		rec, ok := last[s.Hire][s.ID]
		if !ok || rec.Step == nil {
			continue
		}
		s.EvidenceChange = result.NewEvidenceChange(*rec.Step, *s, rec.RunID, rec.Time)
	}
}

// additions finds what was added around a hire's setup since handover:
// directory groups and printer queues that its plan did not give. Other
// additions (software, files) are not knowable without a baseline of the
// whole machine, and are not reported.
func (o *options) additions(ctx context.Context, p *plan.Plan, hire string) []string {
	var added []string
	groups := map[string]map[string]bool{} // directory -> planned groups
	users := map[string]string{}           // directory -> username
	queues := map[string]map[string]bool{} // host -> planned queues
	for _, s := range p.Steps {
		if s.Hire != hire {
			continue
		}
		switch {
		case s.Account != nil:
			users[s.Directory] = s.Account.Username
			if groups[s.Directory] == nil {
				groups[s.Directory] = map[string]bool{}
			}
		case s.Membership != nil:
			if groups[s.Directory] == nil {
				groups[s.Directory] = map[string]bool{}
			}
			groups[s.Directory][strings.ToLower(s.Membership.Group)] = true
		case s.Printer != nil:
			if queues[s.Host] == nil {
				queues[s.Host] = map[string]bool{}
			}
			queues[s.Host][strings.ToLower(s.Printer.Name)] = true
		}
	}
	for dir, username := range users {
		c, err := o.dialer().OpenDirectory(ctx, p.Directories[dir])
		if err != nil {
			added = append(added, fmt.Sprintf("(cannot list the groups of %s in %s: %v)", username, dir, err))
			continue
		}
		if u, err := c.FindUser(ctx, username); err == nil && u != nil {
			if names, err := c.GroupsOf(ctx, u.DN); err == nil {
				for _, g := range names {
					if !groups[dir][strings.ToLower(g)] {
						added = append(added, fmt.Sprintf("%s is now also a member of %s in %s", username, g, dir))
					}
				}
			}
		}
		c.Close()
	}
	for host, planned := range queues {
		comm, err := o.dialer().Dial(ctx, p.Hosts[host])
		if err != nil {
			continue // the re-check has already reported the host
		}
		var out strings.Builder
		if code, err := comm.Run(ctx, remote.Cmd{Command: "LC_ALL=C lpstat -v 2>/dev/null", Stdout: &out}); err == nil && code == 0 {
			for _, line := range strings.Split(out.String(), "\n") {
				rest, ok := strings.CutPrefix(line, "device for ")
				if !ok {
					continue
				}
				name, _, _ := strings.Cut(rest, ":")
				if !planned[strings.ToLower(name)] {
					added = append(added, fmt.Sprintf("printer queue %s on %s", name, host))
				}
			}
		}
		comm.Close()
	}
	sort.Strings(added)
	return added
}
