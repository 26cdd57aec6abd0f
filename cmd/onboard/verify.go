package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"onboard/internal/engine"
	"onboard/internal/inventory"
	"onboard/internal/planner"
	"onboard/internal/report"
	"onboard/internal/result"
)

// verifyCommand is `onboard verify --checks SET HOST...`: a check set run
// on its own against inventory hosts, like goss, for machines onboard may
// not have set up. Nothing is changed; the run is recorded in the journal
// as a verify run.
func (o *options) verifyCommand() *cobra.Command {
	var set string
	var retries int
	c := &cobra.Command{
		Use:   "verify --checks SET HOST...",
		Short: "Run a check set (baseline, or an inventory's check_sets) against inventory hosts, changing nothing",
		Long: `verify runs every check of a check set on each named host and prints what
each found. SET is a set name, or NAME@VERSION to insist on a version.
Exit codes: 0 every check passed (or does not apply), 1 a check failed or
could not run, 2 invalid input, 3 a host was unreachable.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.retries = retries
			return o.verify(cmd.Context(), set, args)
		},
	}
	c.Flags().StringVar(&set, "checks", "", "the check set to run: `SET` or SET@VERSION (required)")
	o.addLoadFlags(c)
	o.addJournalFlags(c, false)
	o.addVerbose(c)
	o.addHostFlags(c, false)
	c.Flags().IntVar(&retries, "retries", 2, "retry a check `N` times after a transient fault (connection lost)")
	addOutput(c, &o.output, "one object with every host's verdicts")
	c.Flags().StringArrayVar(&o.reports, "report", nil, reportUsage("the report"))
	o.addApplyFlags(c)
	return c
}

// Verdicts of a verified check, as printed and in JSON.
const (
	verdictPass          = "pass"
	verdictNotApplicable = "not-applicable"
	verdictFail          = "fail"
	verdictCannotRun     = "cannot-run"
	verdictCannotTell    = "cannot-tell" // ran, but the host cannot say: never a pass
	verdictSkipped       = "skipped"
)

// verifyCheck is one check's verdict on one host, with its evidence.
type verifyCheck struct {
	Name     string `json:"name"`
	Set      string `json:"set"`
	Verdict  string `json:"verdict"`
	Evidence string `json:"evidence"`
	// Fields is the evidence field by field (see result.Fact).
	Fields   []result.Fact `json:"fields,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// verifyHost is every check of the set on one host.
type verifyHost struct {
	Host   string        `json:"host"`
	Passed bool          `json:"passed"`
	Checks []verifyCheck `json:"checks"`
}

// verifyOutput is what `onboard verify -o json` prints.
type verifyOutput struct {
	RunID       string       `json:"run_id"`
	Set         string       `json:"set"`
	Passed      bool         `json:"passed"`
	Hosts       []verifyHost `json:"hosts"`
	Unreachable []string     `json:"unreachable,omitempty"`
}

func (o *options) verify(ctx context.Context, set string, hosts []string) error {
	if set == "" {
		return invalid(errors.New("--checks is required: name the check set to run (baseline, or one of the inventory's check_sets)"))
	}
	if o.output != "text" && o.output != "json" {
		return invalid(fmt.Errorf("--output must be text or json, got %q", o.output))
	}
	if err := o.checkFlags(); err != nil {
		return err
	}
	inv, err := inventory.Load(o.inventoryPaths()...)
	if err != nil {
		return invalid(err)
	}
	p, err := planner.VerifyPlan(inv, set, hosts, time.Time{})
	if err != nil {
		return invalid(err)
	}
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	if j != nil {
		defer j.Close()
	}
	e := o.engine(nil)
	if r := o.recorder(j, p, "verify", true); r != nil {
		e.Recorder = r
	}
	res := e.Run(ctx, p, engine.Recheck)
	out := verifyResult(res, p.Steps[0].Check.Set)
	switch o.output {
	case "json":
		if err := writeJSONTo(o.stdout, out); err != nil {
			return err
		}
	default:
		writeVerifyText(o.stdout, out)
		if j != nil {
			journalLine(ctx, o.stdout, j, res.ID)
		}
	}
	for _, path := range o.reports {
		if err := report.WriteFile(path, res); err != nil {
			return &exitError{exitFailed, err}
		}
	}
	if res.JournalError != "" {
		return &exitError{exitFailed, fmt.Errorf("the journal could not be written, so the run stopped: %s", res.JournalError)}
	}
	if len(res.Unreachable) > 0 {
		return &exitError{exitUnreachable, fmt.Errorf("unreachable: %s", strings.Join(out.Unreachable, ", "))}
	}
	if !out.Passed {
		n := 0
		for _, h := range out.Hosts {
			for _, c := range h.Checks {
				if c.Verdict != verdictPass && c.Verdict != verdictNotApplicable {
					n++
				}
			}
		}
		return &exitError{exitFailed, fmt.Errorf("%d check(s) of %s did not pass", n, out.Set)}
	}
	return nil
}

// verifyResult reads the run: one verdict per check, with what it found.
func verifyResult(res *result.Run, set string) verifyOutput {
	out := verifyOutput{RunID: res.ID, Set: set, Passed: true, Unreachable: append([]string(nil), res.Unreachable...)}
	sort.Strings(out.Unreachable)
	byHost := map[string]*verifyHost{}
	for _, h := range res.Hires {
		out.Hosts = append(out.Hosts, verifyHost{Host: h.ID, Passed: true})
	}
	for i := range out.Hosts {
		byHost[out.Hosts[i].Host] = &out.Hosts[i]
	}
	for _, s := range res.Steps {
		c := verifyCheck{Name: strings.TrimPrefix(s.ID, s.Hire+":check:"), Set: s.Set, Duration: s.Duration, Evidence: s.Reason, Fields: s.Evidence}
		switch {
		case s.Outcome == result.OK && strings.HasPrefix(s.Reason, "not applicable:"):
			c.Verdict = verdictNotApplicable
		case s.Outcome == result.OK:
			c.Verdict = verdictPass
		case s.Outcome == result.Failed && s.Failure != nil:
			c.Verdict, c.Evidence = verdictFail, s.Failure.Message
			switch {
			case s.Failure.Class == result.ClassCannotRun && strings.HasPrefix(s.Failure.Message, "cannot tell:"):
				c.Verdict = verdictCannotTell
			case s.Failure.Class == result.ClassCannotRun:
				c.Verdict = verdictCannotRun
			}
		default:
			c.Verdict = verdictSkipped
		}
		h := byHost[s.Hire]
		if h == nil {
			continue
		}
		if c.Verdict != verdictPass && c.Verdict != verdictNotApplicable {
			h.Passed, out.Passed = false, false
		}
		h.Checks = append(h.Checks, c)
	}
	if len(out.Unreachable) > 0 {
		out.Passed = false
	}
	return out
}

// writeVerifyText prints each host's checks, one line each: verdict, name,
// evidence.
func writeVerifyText(w io.Writer, out verifyOutput) {
	for _, h := range out.Hosts {
		counts := map[string]int{}
		width := 0
		for _, c := range h.Checks {
			counts[c.Verdict]++
			width = max(width, len(c.Name))
		}
		fmt.Fprintf(w, "%s on %s: %d passed, %d not applicable, %d failed, %d cannot run, %d cannot tell", out.Set, h.Host,
			counts[verdictPass], counts[verdictNotApplicable], counts[verdictFail], counts[verdictCannotRun], counts[verdictCannotTell])
		if n := counts[verdictSkipped]; n > 0 {
			fmt.Fprintf(w, ", %d skipped", n)
		}
		fmt.Fprintln(w)
		for _, c := range h.Checks {
			fmt.Fprintf(w, "  %-14s %-*s  %s\n", strings.ToUpper(c.Verdict), width, c.Name, report.Visible(oneLine(c.Evidence)))
		}
	}
	if len(out.Unreachable) > 0 {
		fmt.Fprintf(w, "unreachable: %s\n", strings.Join(out.Unreachable, ", "))
	}
}
