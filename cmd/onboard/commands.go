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
	"onboard/internal/kb"
	"onboard/internal/plan"
	"onboard/internal/planner"
	"onboard/internal/playbook"
	"onboard/internal/remote"
	"onboard/internal/report"
	"onboard/internal/result"
	"onboard/internal/schema"
	"onboard/internal/secret"
	"onboard/internal/step"
	"onboard/internal/strictyaml"
)

func asExit(err error, target **exitError) bool { return errors.As(err, target) }

// options are the flags shared by the commands that load playbooks.
type options struct {
	inventory   []string
	known       *kb.Base // the inventory's knowledge base, once loaded
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
	limit       []string
	origin      string // the run a resume continues, for its notifications
	yes         bool   // apply without asking, on a terminal too
	diff        bool   // file steps carry the diff of their content

	stdin          io.Reader
	stdout, stderr io.Writer
}

// rootHelp is the root command's long help: what onboard does, how a bare
// argument is read, and every exit code.
const rootHelp = `onboard reads one playbook per new hire (or a folder of them), plans the
setup against the inventory, shows the plan, applies it, verifies every step,
and prints a handover report. A re-run changes nothing that is already right
and resumes what failed.

onboard PLAYBOOK... is onboard apply PLAYBOOK... A command name always means
the command (write ./validate for a file of that name). Any other argument is
a playbook file or folder; one that does not exist and has no slash and no
.yaml, .yml or .json extension is taken for a mistyped command.

Flags take two dashes. Terraform's single-dash spellings of a command's flags
(-out, -detailed-exitcode, -parallelism, -auto-approve) work too; those onboard
has no counterpart for (-var, -target, -destroy...) are refused, saying why.

On a terminal (stdin and stdout), apply shows the plan and asks before
changing anything; only yes goes on, and --yes skips the question. It never
asks when stdin or stdout is not a terminal (CI, pipes, services).

Exit codes:
  0    success: every step done and re-checked (plan: nothing to change)
  1    one or more steps failed, or apply was not confirmed
  2    invalid input: playbook, profile, inventory or command line
  3    one or more hosts could not be reached
  4    plan --detailed-exitcode: changes are pending
  5    audit: drift found, a completed setup no longer is as handed over
  6    the journal was changed outside onboard (its hash chain does not verify)
  130  interrupted (Ctrl-C, SIGTERM): run the same command again to resume`

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	o := &options{stdin: stdin, stdout: stdout, stderr: stderr}
	build := currentBuild()
	root := &cobra.Command{
		Use:               "onboard [flags] PLAYBOOK...",
		Short:             "Onboard new hires: directory account, workstation, software, printers, checked before handover",
		Long:              rootHelp,
		Version:           build.Version,
		Args:              cobra.ArbitraryArgs,
		SilenceUsage:      true,
		SilenceErrors:     true,
		ValidArgsFunction: playbookArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			if err := checkBareArgs(cmd, args); err != nil {
				return invalid(err)
			}
			if o.check {
				if o.acceptNew {
					return invalid(errors.New("--accept-new-host-key with --check: a dry run changes nothing, known_hosts included"))
				}
				return o.plan(cmd.Context(), args)
			}
			if o.detailed {
				return invalid(errors.New("--detailed-exitcode is for dry runs: add --check, or use onboard plan"))
			}
			return o.apply(cmd, args)
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.SetVersionTemplate(build.String())
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(explainFlagError)

	o.addLoadFlags(root)
	o.addLimitFlag(root)
	o.addJournalFlags(root, true)
	o.addVerbose(root)
	o.addHostFlags(root, true)
	addOutput(root, &o.output, "JSON lines of events; with --check, the plan as JSON")
	root.Flags().StringArrayVar(&o.reports, "report", nil, reportUsage("the report"))
	o.addApplyFlags(root)
	o.addDiffFlag(root)
	root.Flags().BoolVar(&o.check, "check", false, "dry run: show what would change and change nothing (as onboard plan)")
	root.Flags().BoolVar(&o.detailed, "detailed-exitcode", false, "with --check: exit 4 when changes are pending, 0 when none")

	planCmd := &cobra.Command{
		Use:               "plan PLAYBOOK...",
		Aliases:           []string{"check"},
		SuggestFor:        []string{"dry-run", "diff"},
		Short:             "Show what would change, changing nothing (a dry run)",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: playbookArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("json") {
				fmt.Fprintln(o.stderr, "onboard: --json is deprecated: use -o json")
				if j, _ := cmd.Flags().GetBool("json"); j {
					o.output = "json"
				}
			}
			return o.plan(cmd.Context(), args)
		},
	}
	o.addLoadFlags(planCmd)
	o.addLimitFlag(planCmd)
	o.addJournalFlags(planCmd, true)
	o.addVerbose(planCmd)
	o.addHostFlags(planCmd, true)
	addOutput(planCmd, &o.output, "the plan as JSON")
	planCmd.Flags().StringArrayVar(&o.reports, "report", nil, reportUsage("the dry run's report"))
	planCmd.Flags().StringVar(&o.planOut, "out", "", "save the plan as JSON to `FILE`, for onboard apply FILE")
	planCmd.Flags().BoolVar(&o.detailed, "detailed-exitcode", false, "exit 4 when changes are pending, 0 when none")
	o.addDiffFlag(planCmd)
	planCmd.Flags().BoolVar(&o.noColor, "no-color", false, "no colours in the diffs (NO_COLOR does the same)")
	planCmd.Flags().Bool("json", false, "the plan as JSON (deprecated: -o json)")
	_ = planCmd.Flags().MarkHidden("json")

	resumeCmd := &cobra.Command{
		Use:               "resume RUN-ID",
		SuggestFor:        []string{"retry", "continue"},
		Short:             "Continue a failed or interrupted run from the journal: finished steps are re-checked and left alone, the rest is done",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.runIDArgs,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.resume(cmd.Context(), args[0]) },
	}
	o.addJournalFlags(resumeCmd, false)
	o.addVerbose(resumeCmd)
	o.addHostFlags(resumeCmd, true)
	addOutput(resumeCmd, &o.output, "JSON lines of events")
	resumeCmd.Flags().StringArrayVar(&o.reports, "report", nil, reportUsage("the report"))
	o.addApplyFlags(resumeCmd)
	o.addNotifyInventory(resumeCmd)
	o.addDiffFlag(resumeCmd)

	applyCmd := &cobra.Command{
		Use:               "apply PLAYBOOK...|PLAN.json",
		SuggestFor:        []string{"run"},
		Short:             "Apply playbooks (as onboard PLAYBOOK...) or a plan saved with onboard plan --out",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: playbookArgs,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.apply(cmd, args) },
	}
	o.addLoadFlags(applyCmd)
	o.addLimitFlag(applyCmd)
	o.addJournalFlags(applyCmd, true)
	o.addVerbose(applyCmd)
	o.addHostFlags(applyCmd, true)
	addOutput(applyCmd, &o.output, "JSON lines of events")
	applyCmd.Flags().StringArrayVar(&o.reports, "report", nil, reportUsage("the report"))
	o.addApplyFlags(applyCmd)
	o.addDiffFlag(applyCmd)

	var resolve bool
	validateCmd := &cobra.Command{
		Use:               "validate [FILE...]",
		SuggestFor:        []string{"lint"},
		Short:             "Check playbooks, profiles and the inventory; report every error with file:line:column",
		ValidArgsFunction: playbookArgs,
		RunE:              func(cmd *cobra.Command, args []string) error { return o.validate(cmd.Context(), args, resolve) },
	}
	o.addLoadFlags(validateCmd)
	validateCmd.Flags().BoolVar(&resolve, "resolve", false, "also resolve every credential reference of the inventory (reads env: and file:, runs cmd:)")

	schemaCmd := &cobra.Command{
		Use:       "schema [playbook|inventory|profile]",
		Short:     "Print the JSON Schema of the playbook, profile or inventory format (for editors)",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"playbook", "profile", "inventory"},
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
	var versionOut string
	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version onboard was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(versionOut); err != nil {
				return err
			}
			if versionOut == "json" {
				return writeJSONTo(stdout, build)
			}
			_, err := io.WriteString(stdout, build.String())
			return err
		},
	}
	addOutput(versionCmd, &versionOut, "an object")
	root.AddCommand(planCmd, applyCmd, resumeCmd, validateCmd, schemaCmd, versionCmd, o.serveCommand(), o.initCommand(), o.inventoryCommand())
	root.AddCommand(o.verifyCommand())
	o.journalCommands(root)
	mistypedSubcommands(root)
	root.AddCommand(o.reportCommand())
	root.AddCommand(o.statsCommand())
	root.AddCommand(o.kbCommand())
	root.AddCommand(o.offboardCommand())
	root.AddCommand(o.restoreCommand())
	return root
}

// mistypedSubcommands makes cobra's own help and completion commands
// refuse what they do not know, as onboard's do: cobra prints the help
// and exits 0 for "onboard help vaildate" and "onboard completion bsh".
func mistypedSubcommands(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "completion":
			c.Args = unknownSubcommand
			c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
			c.SuggestionsMinimumDistance = 2
		case "help":
			help := c.Run
			c.Run = nil
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if t, rest, err := root.Find(args); err == nil && t == root && len(rest) > 0 {
					return unknownSubcommand(root, rest[:1])
				}
				help(cmd, args)
				return nil
			}
		}
	}
}

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
		o.known = inv.KnowledgeBase()
		hist, err := o.history(ctx, pbs)
		if err != nil {
			return nil, err
		}
		var unreachable bool
		p, unreachable, err = o.dialer().Plan(ctx, pbs, inv, planner.Options{ProfileDirs: o.profiles, Write: o.allowWrite, History: hist})
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
	l, err := plan.ParseLimit(o.limit)
	if err != nil {
		return nil, invalid(err)
	}
	if p, err = l.Select(p); err != nil {
		return nil, invalid(err)
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
		Known: o.known, Diff: o.diff,
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

// colorOnTerminal: colours only on a terminal (a pipe, a file or a
// test's buffer gets none), unless --no-color or NO_COLOR.
func (o *options) colorOnTerminal() bool {
	f, ok := o.stdout.(*os.File)
	return !o.noColor && ok && report.IsTerminal(f)
}

// checkFlags refuses values that make no sense before anything runs.
func (o *options) checkFlags() error {
	if o.parallel < 1 {
		return invalid(fmt.Errorf("--parallel must be at least 1, got %d", o.parallel))
	}
	if o.retries < 0 || o.retries > 10 {
		return invalid(fmt.Errorf("--retries must be between 0 and 10, got %d", o.retries))
	}
	if err := checkOutput(o.output); err != nil {
		return err
	}
	for _, r := range o.reports {
		if _, err := report.ForPath(r); err != nil {
			return invalid(err)
		}
	}
	if _, err := plan.ParseLimit(o.limit); err != nil {
		return invalid(err)
	}
	return nil
}

func (o *options) plan(ctx context.Context, args []string) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
	// A dry run changes nothing, known_hosts included: an unknown host key
	// makes its steps cannot-tell (plan has no --accept-new-host-key, and
	// onboard --check refuses it).
	o.acceptNew = false
	var inputs []plan.Input
	if o.planOut != "" {
		// Read before the plan is made: a file changed while planning
		// leaves the saved plan stale, never silently wrong. A file that
		// cannot be read is reported by load.
		if files, err := expandArgs(args); err == nil {
			inputs, _ = digestInputs(o.inventoryPaths(), files)
		}
	}
	p, err := o.load(ctx, args)
	if err != nil {
		return err
	}
	if o.planOut != "" {
		if inputs == nil {
			return invalid(errors.New("plan --out: the inputs could not be read to record them; nothing written"))
		}
		for _, f := range p.ProfileFiles {
			in, err := digestFile(f, "profile")
			if err != nil {
				return invalid(fmt.Errorf("plan --out: %w; nothing written", err))
			}
			inputs = append(inputs, in)
		}
		// Read before the dry run, as the files before planning: a change
		// in between leaves the plan stale, never silently wrong.
		facts, err := o.dialer().DirectoryState(ctx, p)
		if err != nil {
			return readDirectoryErr(fmt.Errorf("plan --out: the directory state the plan depends on could not be read to record it; nothing written: %w", err))
		}
		p.DirectoryState = facts
		p.Inputs = append(inputs, digestDirectories(facts)...)
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
	return o.showDryRun(p, res, asJSON)
}

// showDryRun prints a checked plan (as JSON, or as text for people),
// writes the dry run's reports, and exits as a dry run does.
func (o *options) showDryRun(p *plan.Plan, res *result.Run, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(shownPlan(p)); err != nil {
			return err
		}
	} else if err := (report.PlanText{Color: o.colorOnTerminal()}).Write(o.stdout, p); err != nil {
		return err
	}
	for _, path := range o.reports {
		if err := report.WriteFile(path, res); err != nil {
			return &exitError{exitFailed, fmt.Errorf("write reports: %w", err)}
		}
	}
	return o.exitFor(res, true)
}

// shownPlan is the plan as printed: a file marked sensitive shows no
// content (the saved plan and the journal keep it, for apply and resume).
func shownPlan(p *plan.Plan) *plan.Plan {
	c := *p
	c.Steps = make([]*plan.Step, len(p.Steps))
	for i, s := range p.Steps {
		if s.File != nil && s.File.Sensitive {
			sc, fc := *s, *s.File
			fc.Content = step.SensitiveRedacted
			sc.File = &fc
			s = &sc
		}
		c.Steps[i] = s
	}
	return &c
}

// readDirectoryErr is a directory read that failed: exit 3 when the
// directory did not answer, else 2.
func readDirectoryErr(err error) error {
	if errors.Is(err, remote.ErrUnreachable) {
		return &exitError{exitUnreachable, err}
	}
	return invalid(err)
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
		s.Diff = secret.Scrub(r.Diff)
		switch r.Outcome {
		case result.OK:
			s.Action = plan.ActionNone
		case result.WouldChange:
			s.Action = plan.ActionUpdate
			if strings.Contains(r.Reason, "not installed") || strings.Contains(r.Reason, "does not exist") {
				s.Action = plan.ActionCreate
			}
			if plan.IsRemoval(s.Kind) {
				s.Action = plan.ActionRemove
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

// isSavedPlan tells apply's one .json argument (a plan saved with plan
// --out) from playbooks.
func isSavedPlan(args []string) bool {
	return len(args) == 1 && strings.HasSuffix(args[0], ".json")
}

// loadPlanOrPlaybooks accepts a saved plan (one .json argument) or playbooks.
func (o *options) loadPlanOrPlaybooks(ctx context.Context, args []string) (*plan.Plan, error) {
	if isSavedPlan(args) {
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
		if len(p.Inputs) == 0 {
			return nil, invalid(fmt.Errorf("plan %s records no inputs, so whether it is stale cannot be told: make it again with onboard plan --out %s", args[0], args[0]))
		}
		// Read again as plan --out read it: what the usernames and the
		// directory steps' verdicts depended on (nothing is read for a plan
		// that depends on no directory).
		now, err := o.dialer().ReadDirectoryFacts(ctx, p.Directories, p.DirectoryState)
		if err != nil {
			return nil, readDirectoryErr(fmt.Errorf("the directory state the saved plan %s depends on could not be read: %w", args[0], err))
		}
		if err := checkInputs(args[0], &p, directoryChanges(&p, now)...); err != nil {
			return nil, err
		}
		return &p, nil
	}
	return o.load(ctx, args)
}

// resume applies the plan a recorded run was made from. Every step is
// checked first, so what the run finished is left alone (an account is
// never created twice) and only the rest is done.
func (o *options) resume(ctx context.Context, runID string) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
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
	if err == nil {
		o.origin = originOf(ctx, j, d)
	}
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

func (o *options) apply(cmd *cobra.Command, args []string) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
	if isSavedPlan(args) {
		// Terraform refuses -var with a saved plan for the same reason: the
		// plan was made from its inputs, and applies as it was shown.
		for _, name := range []string{"inventory", "profiles", "allow-write"} {
			if cmd.Flags().Changed(name) {
				return invalid(fmt.Errorf("--%s is for playbooks: the saved plan %s was made with its inventory, profiles and folders", name, args[0]))
			}
		}
		if len(o.limit) > 0 {
			return invalid(fmt.Errorf("--limit is for playbooks: a saved plan applies as it was shown (make it with onboard plan --limit %s --out %s)",
				strings.Join(o.limit, ","), args[0]))
		}
	}
	ctx := cmd.Context()
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
	if o.known == nil && p.KnowledgeBase != "" {
		// A resumed run or a saved plan: the knowledge base as it is now.
		b, err := kb.Load(p.KnowledgeBase)
		if err != nil {
			fmt.Fprintf(o.stderr, "onboard: the knowledge base %s was not read, failures go unexplained: %v\n", p.KnowledgeBase, err)
		}
		o.known = b
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
	var pre *result.Run
	if o.output == "text" {
		// Show the checked plan first, as terraform apply does: what will
		// change and why. The apply takes the verdicts of steps found in
		// place instead of checking them again (Engine.Prechecked).
		pre = o.engine(nil).Run(ctx, p, engine.DryRun)
		annotate(p, pre)
		if err := (report.PlanText{Color: o.colorOnTerminal()}).Write(o.stdout, p); err != nil {
			return err
		}
		fmt.Fprintln(o.stdout)
	}
	if err := o.confirm(ctx, p); err != nil {
		done()
		return err
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
	e.Prechecked = pre
	mode := "apply"
	if o.mode != "" {
		mode = o.mode
	}
	if rec := o.recorder(j, p, mode, false); rec != nil {
		e.Recorder = rec
	}
	res := e.Run(ctx, p, engine.Apply)
	done()
	defer o.startNotify(ctx, p, res, j)()
	if o.output == "text" {
		fmt.Fprintln(o.stdout)
		if err := (report.Text{Color: o.colorOnTerminal()}).Write(o.stdout, res); err != nil {
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
	welcomeNotices(o.stderr, p, res)
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

func (o *options) validate(ctx context.Context, args []string, resolve bool) error {
	var errs *multierror.Error
	inv, err := inventory.Load(o.inventoryPaths()...)
	errs = multierror.Append(errs, err)
	if resolve {
		// What plan would meet when it first needs a secret, said here at
		// the reference rather than as a host plan cannot reach.
		errs = multierror.Append(errs, inv.ResolveReferences(ctx, o.dialer().Secrets)...)
	}
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
	if refs := len(inv.References()); refs > 0 && !resolve {
		fmt.Fprintf(o.stdout, "note: %d credential reference(s) not resolved: onboard validate --resolve reads them (and runs cmd: references)\n", refs)
	}
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
