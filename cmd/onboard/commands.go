package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"

	"onboard/internal/codetemplate"
	"onboard/internal/connect"
	"onboard/internal/deliver"
	"onboard/internal/engine"
	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/planner"
	"onboard/internal/playbook"
	"onboard/internal/report"
	"onboard/internal/result"
	"onboard/internal/schema"
	"onboard/internal/secret"
	"onboard/internal/strictyaml"
)

func asExit(err error, target **exitError) bool { return errors.As(err, target) }

// options are the flags shared by the commands that load playbooks.
type options struct {
	inventory   []string
	profiles    []string
	parallel    int
	retries     int
	output      string
	reports     []string
	allowWrite  []string
	acceptNew   bool
	verbose     int
	noColor     bool
	dialTimeout time.Duration
	planOut     string
	detailed    bool
	check       bool
	dial        *connect.Dialer
	pool        *connect.Pool // while set, engines share its connections
	journalPath string
	noJournal   bool
	mode        string // recorded in the journal: apply, or resume of RUN-ID

	stdout, stderr io.Writer
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	o := &options{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "onboard [flags] PLAYBOOK...",
		Short: "Onboard new hires: directory account, workstation, software, printers, checked before handover",
		Long: `onboard reads one playbook per new hire (or a folder of them), plans the
setup against the inventory, shows the plan, applies it, verifies every step,
and prints a handover report. A re-run changes nothing that is already right
and resumes what failed.

Exit codes: 0 success, 1 a step failed, 2 invalid input, 3 a host was
unreachable, 4 changes pending (plan --detailed-exitcode).`,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			if o.check {
				return o.plan(cmd.Context(), args)
			}
			return o.apply(cmd.Context(), args)
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringArrayVarP(&o.inventory, "inventory", "i", nil, "inventory file or folder (repeatable; default ./inventory)")
	pf.StringArrayVar(&o.profiles, "profiles", nil, "folder of role profiles, searched first (repeatable); then profiles/ beside the playbook, the inventory's profile folders, ./playbooks/profiles")
	pf.StringArrayVar(&o.allowWrite, "allow-write", nil, "a folder playbooks may write handover reports and password files in, besides the inventory's playbooks.write (repeatable; default: none)")
	pf.CountVarP(&o.verbose, "verbose", "v", "log more (-v info, -vv debug) to stderr")
	pf.StringVar(&o.journalPath, "journal", "", "the journal of runs (default $ONBOARD_JOURNAL, else /var/lib/onboard/journal.db as root, else ~/.local/state/onboard/journal.db)")
	pf.BoolVar(&o.noJournal, "no-journal", false, "do not record this run in the journal")

	addRunFlags := func(c *cobra.Command) {
		f := c.Flags()
		f.IntVarP(&o.parallel, "parallel", "p", 10, "how many hosts are worked on at once")
		f.IntVar(&o.retries, "retries", 2, "retries of a step after a transient fault (connection lost, timeout reaching the host)")
		f.StringVarP(&o.output, "output", "o", "text", "output: text, or json (JSON lines of events)")
		f.StringArrayVar(&o.reports, "report", nil, "also write the report to FILE (.md, .html, .xml JUnit, .json); repeatable")
		f.BoolVar(&o.acceptNew, "accept-new-host-key", false, "trust the SSH host key of a host not yet in known_hosts and record it (a changed key is always refused)")
		f.BoolVar(&o.noColor, "no-color", false, "no colours in the output")
		f.DurationVar(&o.dialTimeout, "connect-timeout", 10*time.Second, "how long to wait for a host to answer")
	}
	addRunFlags(root)
	root.Flags().BoolVar(&o.check, "check", false, "dry run: show what would change and change nothing (same as `onboard plan`)")
	root.Flags().BoolVar(&o.detailed, "detailed-exitcode", false, "with --check: exit 4 when changes are pending")

	planCmd := &cobra.Command{
		Use:     "plan PLAYBOOK...",
		Aliases: []string{"check"},
		Short:   "Show what would change, changing nothing (a dry run)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if j, _ := cmd.Flags().GetBool("json"); j {
				o.output = "json"
			}
			return o.plan(cmd.Context(), args)
		},
	}
	addRunFlags(planCmd)
	planCmd.Flags().StringVar(&o.planOut, "out", "", "save the plan as JSON to FILE, for `onboard apply FILE`")
	planCmd.Flags().BoolVar(&o.detailed, "detailed-exitcode", false, "exit 4 when changes are pending, 0 when none")
	planCmd.Flags().Bool("json", false, "print the plan as JSON instead of text")

	resumeCmd := &cobra.Command{
		Use:   "resume RUN-ID",
		Short: "Continue a failed or interrupted run from the journal: finished steps are re-checked and left alone, the rest is done",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return o.resume(cmd.Context(), args[0]) },
	}
	addRunFlags(resumeCmd)

	applyCmd := &cobra.Command{
		Use:   "apply PLAYBOOK...|PLAN.json",
		Short: "Apply playbooks (same as `onboard PLAYBOOK...`) or a plan saved with `plan --out`",
		Args:  cobra.MinimumNArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return o.apply(cmd.Context(), args) },
	}
	addRunFlags(applyCmd)

	validateCmd := &cobra.Command{
		Use:   "validate [FILE...]",
		Short: "Check playbooks, profiles and the inventory; report every error with file:line:column",
		RunE:  func(cmd *cobra.Command, args []string) error { return o.validate(args) },
	}
	schemaCmd := &cobra.Command{
		Use:   "schema [playbook|inventory|profile]",
		Short: "Print the JSON Schema of the playbook, profile or inventory format (for editors)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			which := "playbook"
			if len(args) == 1 {
				which = args[0]
			}
			b, err := schema.JSON(which)
			if err != nil {
				return &exitError{exitInvalid, err}
			}
			_, err = stdout.Write(append(b, '\n'))
			return err
		},
	}
	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, args []string) { fmt.Fprintln(stdout, "onboard", version) },
	}
	root.AddCommand(planCmd, applyCmd, resumeCmd, validateCmd, schemaCmd, versionCmd, o.serveCommand())
	root.AddCommand(o.verifyCommand())
	o.journalCommands(root)
	return root
}

var version = "dev"

func (o *options) logger() *slog.Logger {
	lvl := slog.LevelWarn
	switch {
	case o.verbose >= 2:
		lvl = slog.LevelDebug
	case o.verbose == 1:
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: lvl, ReplaceAttr: secret.ReplaceAttr}))
}

func invalid(err error) error { return &exitError{exitInvalid, err} }

// expandArgs turns folders into the playbooks inside them (a batch).
func expandArgs(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				files = append(files, filepath.Join(a, n))
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no playbooks in %s", strings.Join(args, ", "))
	}
	return files, nil
}

func (o *options) inventoryPaths() []string {
	if len(o.inventory) > 0 {
		return o.inventory
	}
	return []string{"inventory"}
}

// load reads the inventory and the playbooks and builds the plan. Every
// error of every file is reported together.
func (o *options) load(ctx context.Context, args []string) (*plan.Plan, error) {
	files, err := expandArgs(args)
	if err != nil {
		return nil, invalid(err)
	}
	var errs *multierror.Error
	inv, err := inventory.Load(o.inventoryPaths()...)
	errs = multierror.Append(errs, err)
	var pbs []*playbook.Playbook
	for _, f := range files {
		pb, err := playbook.Load(f)
		errs = multierror.Append(errs, err)
		if pb != nil {
			pbs = append(pbs, pb)
		}
	}
	var p *plan.Plan
	if inv != nil {
		var unreachable bool
		p, unreachable, err = o.dialer().Plan(ctx, pbs, inv, planner.Options{ProfileDirs: o.profiles, Write: o.allowWrite})
		errs = multierror.Append(errs, err)
		if unreachable {
			errs.ErrorFormat = strictyaml.ListFormat
			return nil, &exitError{exitUnreachable, errs}
		}
	}
	if errs.ErrorOrNil() != nil {
		errs.ErrorFormat = strictyaml.ListFormat
		return nil, invalid(errs)
	}
	return p, nil
}

// dialer is the one connection factory of an invocation: its secret
// resolver caches each reference, so a cmd: reference runs once.
func (o *options) dialer() *connect.Dialer {
	if o.dial == nil {
		o.dial = &connect.Dialer{Secrets: &secret.Resolver{}, AcceptNewHostKey: o.acceptNew, DialTimeout: o.dialTimeout,
			Log: o.logger(), Deliver: &deliver.Channel{Terminal: terminal()}}
	}
	return o.dial
}

// terminal is the controlling terminal, for passwords printed once; nil
// when there is none (CI, HR-triggered runs).
func terminal() io.Writer {
	f, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	return f
}

func (o *options) engine(obs result.Observer) *engine.Engine {
	d := o.dialer()
	var hosts engine.Dialer = d
	if o.pool != nil {
		hosts = o.pool
	}
	return &engine.Engine{
		Dialer: hosts, Directories: d,
		Parallel: o.parallel, Retries: o.retries, Observer: obs, Log: d.Log, Operator: operator(),
	}
}

// operator names who runs onboard, for the report and the journal.
func operator() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// observer picks the live view: JSON lines, or progress (live on a
// terminal, plain lines otherwise).
func (o *options) observer() (result.Observer, func(), error) {
	switch o.output {
	case "json":
		return report.NewJSONLines(o.stdout), func() {}, nil
	case "text":
		term := false
		if f, ok := o.stdout.(*os.File); ok {
			term = report.IsTerminal(f)
		}
		p := report.NewProgress(o.stdout, term)
		if term {
			// The live view owns the terminal: a password printed there
			// goes through it, above the redrawn region.
			o.dialer().Deliver = &deliver.Channel{Terminal: p}
		}
		return p, p.Close, nil
	}
	return nil, nil, invalid(fmt.Errorf("--output must be text or json, got %q", o.output))
}

// checkFlags refuses values that make no sense before anything runs.
func (o *options) checkFlags() error {
	if o.parallel < 1 {
		return invalid(fmt.Errorf("--parallel must be at least 1, got %d", o.parallel))
	}
	if o.retries < 0 || o.retries > 10 {
		return invalid(fmt.Errorf("--retries must be between 0 and 10, got %d", o.retries))
	}
	for _, r := range o.reports {
		if _, err := report.ForPath(r); err != nil {
			return invalid(err)
		}
	}
	return nil
}

func (o *options) plan(ctx context.Context, args []string) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
	// A dry run changes nothing, known_hosts included: an unknown host key
	// makes its steps cannot-tell.
	o.acceptNew = false
	p, err := o.load(ctx, args)
	if err != nil {
		return err
	}
	if err := o.engine(nil).Validate(p); err != nil {
		return invalid(err)
	}
	asJSON := o.output == "json"
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	if j != nil {
		defer j.Close()
	}
	e := o.engine(nil)
	if rec := o.recorder(j, p, "dry-run", true); rec != nil {
		e.Recorder = rec
	}
	res := e.Run(ctx, p, engine.DryRun)
	annotate(p, res)
	if o.planOut != "" {
		if err := writeJSON(o.planOut, p); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return err
		}
	} else if err := report.WritePlanText(o.stdout, p); err != nil {
		return err
	}
	return o.exitFor(res, true)
}

// annotate copies the dry run's findings into the plan's steps.
func annotate(p *plan.Plan, res *result.Run) {
	byID := map[string]result.Step{}
	for _, r := range res.Steps {
		byID[r.ID] = r
	}
	for _, s := range p.Steps {
		r := byID[s.ID]
		s.Reason = secret.Scrub(r.Reason)
		switch r.Outcome {
		case result.OK:
			s.Action = plan.ActionNone
		case result.WouldChange:
			s.Action = plan.ActionUpdate
			if strings.Contains(r.Reason, "not installed") || strings.Contains(r.Reason, "does not exist") {
				s.Action = plan.ActionCreate
			}
		case result.Failed:
			s.Action = plan.ActionCannotTell
			if r.Failure != nil {
				s.Reason = "check fails: " + secret.Scrub(r.Failure.Message)
			}
		default:
			s.Action = plan.ActionCannotTell
		}
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// loadPlanOrPlaybooks accepts a saved plan (one .json argument) or playbooks.
func (o *options) loadPlanOrPlaybooks(ctx context.Context, args []string) (*plan.Plan, error) {
	if len(args) == 1 && strings.HasSuffix(args[0], ".json") {
		b, err := os.ReadFile(args[0])
		if err != nil {
			return nil, invalid(err)
		}
		var p plan.Plan
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, invalid(fmt.Errorf("read plan %s: %w", args[0], err))
		}
		if p.Version != 1 {
			return nil, invalid(fmt.Errorf("plan %s has version %d; this onboard reads version 1", args[0], p.Version))
		}
		return &p, nil
	}
	return o.load(ctx, args)
}

// resume applies the plan a recorded run was made from. Every step is
// checked first, so what the run finished is left alone (an account is
// never created twice) and only the rest is done.
func (o *options) resume(ctx context.Context, runID string) error {
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	if j == nil {
		return invalid(errors.New("resume reads the journal: drop --no-journal"))
	}
	// The plan is about to run on every host it names: act only on a chain
	// that verifies, read in the snapshot that was verified.
	d, err := j.VerifiedRun(ctx, runID)
	j.Close()
	if errors.Is(err, journal.ErrNotFound) {
		return invalid(fmt.Errorf("no run %s in the journal (onboard history lists them)", runID))
	}
	if err != nil {
		return journalErr(fmt.Errorf("resume %s: %w", runID, err))
	}
	p, err := d.PlanOf()
	if err != nil {
		return invalid(err)
	}
	if p == nil {
		return invalid(fmt.Errorf("run %s has no plan in the journal", runID))
	}
	if d.Outcome == "ok" && !d.DryRun {
		fmt.Fprintf(o.stdout, "run %s finished ok; re-checking it changes nothing that is in place\n", runID)
	}
	o.mode = "resume of " + runID
	return o.applyPlan(ctx, p)
}

func (o *options) apply(ctx context.Context, args []string) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
	p, err := o.loadPlanOrPlaybooks(ctx, args)
	if err != nil {
		return err
	}
	return o.applyPlan(ctx, p)
}

func (o *options) applyPlan(ctx context.Context, p *plan.Plan) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
	if err := o.engine(nil).Validate(p); err != nil {
		return invalid(fmt.Errorf("the plan cannot be run: %w", err))
	}
	for _, h := range p.Hires {
		for _, r := range h.Handover.Reports {
			if _, err := report.ForPath(r); err != nil {
				return invalid(fmt.Errorf("%s: handover.reports: %w", h.Source, err))
			}
		}
	}
	obs, done, err := o.observer()
	if err != nil {
		return err
	}
	// The plan shown first and the apply share one connection per host.
	o.pool = connect.NewPool(o.dialer())
	defer func() {
		_ = o.pool.Close()
		o.pool = nil
	}()
	if o.output == "text" {
		// Show the checked plan first, as terraform apply does: what will
		// change and why. The checks are read-only and cheap.
		annotate(p, o.engine(nil).Run(ctx, p, engine.DryRun))
		if err := report.WritePlanText(o.stdout, p); err != nil {
			return err
		}
		fmt.Fprintln(o.stdout)
	}
	j, err := o.openJournal(ctx)
	if err != nil {
		done()
		return err
	}
	if j != nil {
		defer j.Close()
	}
	e := o.engine(obs)
	mode := "apply"
	if o.mode != "" {
		mode = o.mode
	}
	if rec := o.recorder(j, p, mode, false); rec != nil {
		e.Recorder = rec
	}
	res := e.Run(ctx, p, engine.Apply)
	done()
	if o.output == "text" {
		fmt.Fprintln(o.stdout)
		if err := (report.Text{Color: !o.noColor}).Write(o.stdout, res); err != nil {
			return err
		}
	}
	if o.output == "text" {
		journalLine(ctx, o.stdout, j, res.ID)
	}
	if err := o.writeReports(p, res); err != nil {
		return err
	}
	return o.exitFor(res, false)
}

// writeReports writes --report files and each playbook's handover reports
// (one per hire, holding only that hire).
func (o *options) writeReports(p *plan.Plan, res *result.Run) error {
	var errs *multierror.Error
	for _, path := range o.reports {
		errs = multierror.Append(errs, report.WriteFile(path, res))
	}
	errs = multierror.Append(errs, report.WriteHandovers(p, res))
	if err := errs.ErrorOrNil(); err != nil {
		errs.ErrorFormat = strictyaml.ListFormat
		return &exitError{exitFailed, fmt.Errorf("write reports: %w", err)}
	}
	return nil
}

// exitFor maps a run's outcome to an exit code.
func (o *options) exitFor(res *result.Run, dry bool) error {
	if res.JournalError != "" {
		return &exitError{exitFailed, fmt.Errorf("the journal could not be written, so the run stopped: %s", res.JournalError)}
	}
	if res.Cancelled {
		return &exitError{exitInterrupted, errors.New("interrupted: the run stopped early; run the same command again to resume")}
	}
	if len(res.Unreachable) > 0 {
		sort.Strings(res.Unreachable)
		return &exitError{exitUnreachable, fmt.Errorf("unreachable: %s", strings.Join(res.Unreachable, ", "))}
	}
	c := result.Counts(res.Steps)
	if n := result.Unwaived(res.Steps) + result.Unwaived(res.Handover); n > 0 {
		return &exitError{exitFailed, fmt.Errorf("%d step(s) failed", n)}
	}
	if dry && o.detailed && c[result.WouldChange]+c[result.CannotTell] > 0 {
		return &exitError{exitChanges, nil}
	}
	return nil
}

func (o *options) validate(args []string) error {
	var errs *multierror.Error
	inv, err := inventory.Load(o.inventoryPaths()...)
	errs = multierror.Append(errs, err)
	n := 0
	if len(args) > 0 {
		files, err := expandArgs(args)
		if err != nil {
			return invalid(err)
		}
		var pbs []*playbook.Playbook
		for _, f := range files {
			if isProfile(f) {
				pr, err := playbook.LoadProfile(f)
				errs = multierror.Append(errs, err)
				if pr != nil {
					errs = multierror.Append(errs, lintProfile(pr))
				}
				n++
				continue
			}
			pb, err := playbook.Load(f)
			errs = multierror.Append(errs, err)
			if pb != nil {
				pbs = append(pbs, pb)
			}
			n++
		}
		if len(pbs) > 0 {
			_, err := planner.Build(pbs, inv, planner.Options{ProfileDirs: o.profiles, Write: o.allowWrite})
			errs = multierror.Append(errs, err)
		}
	}
	if err := errs.ErrorOrNil(); err != nil {
		errs.ErrorFormat = strictyaml.ListFormat
		return invalid(errs)
	}
	fmt.Fprintf(o.stdout, "ok: inventory (%d hosts, %d printers, %d software) and %d file(s) are valid\n",
		len(inv.Hosts), len(inv.Printers), len(inv.Software), n)
	return nil
}

// lintProfile reports what plan would refuse about a profile's check
// commands (sh: checks are for Linux and macOS hosts) for any hire.
func lintProfile(pr *playbook.Profile) error {
	var errs *multierror.Error
	for i, c := range pr.Checks {
		if c.Command == nil {
			continue
		}
		path := fmt.Sprintf("checks[%d].command.run", i)
		if err := codetemplate.Lint(codetemplate.Sh, c.Command.Run); err != nil {
			errs = multierror.Append(errs, pr.Doc.Errorf(path, "%v", err))
		}
	}
	return errs.ErrorOrNil()
}

// isProfile tells a profile file from a playbook by its folder.
func isProfile(path string) bool {
	return filepath.Base(filepath.Dir(path)) == "profiles"
}
