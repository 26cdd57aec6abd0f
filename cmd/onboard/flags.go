package main

import (
	"errors"
	"fmt"
	"onboard/internal/suggest"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Each command registers only the flags it uses, from the groups below, so
// that its help lists nothing it would ignore. A usage string names its
// placeholder in back quotes (pflag shows `FILE` as --report FILE); a flag
// that takes no value ends its usage with an empty pair, so that pflag
// shows no placeholder (it would show the value's type, "count").

// addLoadFlags registers the inputs of a plan: inventory, profiles and the
// folders a playbook may write in.
func (o *options) addLoadFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVarP(&o.inventory, "inventory", "i", nil, "inventory file or folder `PATH` (repeatable; default ./inventory)")
	f.StringArrayVar(&o.profiles, "profiles", nil, "folder `DIR` of role profiles, searched first (repeatable); then profiles/ beside the playbook, the inventory's profile folders, ./playbooks/profiles")
	f.StringArrayVar(&o.allowWrite, "allow-write", nil, "folder `DIR` playbooks may write handover reports and password files in, besides the inventory's playbooks.write (repeatable; default: none)")
}

// addLimitFlag registers --limit, Ansible's selection of part of a batch.
func (o *options) addLimitFlag(c *cobra.Command) {
	c.Flags().StringArrayVarP(&o.limit, "limit", "l", nil, "only the hires matching `PATTERN`: an employee id or host name, with globs (*, ?, [...]); !PATTERN leaves out; comma-separated or repeated, as Ansible's --limit")
	_ = c.RegisterFlagCompletionFunc("limit", o.limitArgs)
}

// addJournalFlags registers where the journal is; optional adds
// --no-journal, for the commands that can run without recording.
func (o *options) addJournalFlags(c *cobra.Command, optional bool) {
	f := c.Flags()
	f.StringVar(&o.journalPath, "journal", "", "the journal of runs, an SQLite file at `PATH` (default $ONBOARD_JOURNAL, else /var/lib/onboard/journal.db as root, else ~/.local/state/onboard/journal.db)")
	if optional {
		f.BoolVar(&o.noJournal, "no-journal", false, "do not record this run in the journal")
	}
}

func (o *options) addVerbose(c *cobra.Command) {
	c.Flags().CountVarP(&o.verbose, "verbose", "v", "log more (-v info, -vv debug) to stderr``")
}

// addHostFlags registers how hosts are reached and worked on.
func (o *options) addHostFlags(c *cobra.Command, retries bool) {
	f := c.Flags()
	f.IntVarP(&o.parallel, "parallel", "p", 10, "work on `N` hosts at once")
	if retries {
		f.IntVar(&o.retries, "retries", 2, "retry a step `N` times after a transient fault (connection lost, timeout reaching the host), 0 to 10")
	}
	f.DurationVar(&o.dialTimeout, "connect-timeout", 10*time.Second, "how long to wait for a host to answer, a `DURATION` such as 10s or 1m")
}

// addApplyFlags registers what only changing runs use.
func (o *options) addApplyFlags(c *cobra.Command) {
	f := c.Flags()
	f.BoolVar(&o.acceptNew, "accept-new-host-key", false, "trust the SSH host key of a host not yet in known_hosts and record it (a changed key is always refused)")
	f.BoolVar(&o.noColor, "no-color", false, "no colours in the output (NO_COLOR does the same)")
	f.BoolVarP(&o.yes, "yes", "y", false, "apply without asking (on a terminal, onboard shows the plan and asks first; it never asks when stdin or stdout is not a terminal)")
}

// addDiffFlag registers --diff, as Ansible's and terraform plan's diffs.
func (o *options) addDiffFlag(c *cobra.Command) {
	c.Flags().BoolVar(&o.diff, "diff", false, "show what a file step changes in the file's content, as a unified diff (files marked sensitive and lines holding a secret are redacted)")
}

// reportUsage is the usage of --report, the same on every command that
// writes reports: the format follows the file's extension.
func reportUsage(what string) string {
	return "also write " + what + " to `FILE`, in the format its extension names: .txt (as printed), .md, .html, .xml (JUnit), .json (repeatable)"
}

// addOutput registers -o, --output: text or json on every command that
// has it; usage says what json is on this command.
func addOutput(c *cobra.Command, dst *string, json string) {
	c.Flags().StringVarP(dst, "output", "o", "text", "output `FORMAT`: text, or json ("+json+")")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// checkOutput refuses an output format other than text and json.
func checkOutput(v string) error {
	if v != "text" && v != "json" {
		return invalid(fmt.Errorf("--output must be text or json, got %q", v))
	}
	return nil
}

// flagHolders names the commands that have the long flag name, for an
// error on a command that does not.
func flagHolders(root *cobra.Command, name string) []string {
	var out []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup(name) != nil && !c.Flags().Lookup(name).Hidden {
			out = append(out, c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	sort.Strings(out)
	return out
}

// explainFlagError turns pflag's "unknown flag: --x" into what to type
// instead: the flag's Terraform meaning, the commands that have it, or
// the nearest flag of this command.
func explainFlagError(c *cobra.Command, err error) error {
	msg := err.Error()
	if short, ok := strings.CutPrefix(msg, "unknown shorthand flag: '"); ok && len(short) > 0 {
		// -i given to a command without it: say which long flag it is
		// elsewhere, as for an unknown long flag.
		if long := shorthandName(c.Root(), short[:1]); long != "" {
			return invalid(fmt.Errorf("%s has no -%s (--%s) flag; it is a flag of %s", c.CommandPath(), short[:1], long,
				strings.Join(flagHolders(c.Root(), long), ", ")))
		}
	}
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return invalid(fmt.Errorf("%s: %w", c.CommandPath(), err))
	}
	if ff, ok := foreignFlags[name]; ok {
		if ff.flag != "" && c.Flags().Lookup(ff.flag) != nil {
			use := "--" + ff.flag
			if ff.value != "" {
				use += " " + ff.value
			}
			return invalid(fmt.Errorf("%s has no --%s flag; did you mean %s?", c.CommandPath(), name, use))
		}
		return invalid(fmt.Errorf("--%s: %s", name, ff.why))
	}
	if holders := flagHolders(c.Root(), name); len(holders) > 0 {
		return invalid(fmt.Errorf("%s has no --%s flag; it is a flag of %s", c.CommandPath(), name, strings.Join(holders, ", ")))
	}
	if near := nearestFlag(c, name); near != "" {
		return invalid(fmt.Errorf("%s has no --%s flag; did you mean --%s?", c.CommandPath(), name, near))
	}
	return invalid(fmt.Errorf("%s has no --%s flag (see %s --help)", c.CommandPath(), name, c.CommandPath()))
}

// shorthandName is the long name of the one-letter flag short on any
// command, or "".
func shorthandName(root *cobra.Command, short string) string {
	if f := root.Flags().ShorthandLookup(short); f != nil {
		return f.Name
	}
	for _, c := range root.Commands() {
		if n := shorthandName(c, short); n != "" {
			return n
		}
	}
	return ""
}

// unknownSubcommand is the Args of a command that only groups others
// (onboard journal): cobra would print its help and exit 0 for a mistyped
// subcommand.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s has no command %q", c.CommandPath(), args[0])
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	} else {
		msg += fmt.Sprintf(" (%s --help lists them)", c.CommandPath())
	}
	return invalid(errors.New(msg))
}

// nearestFlag is the visible flag of c closest to name, within two edits.
func nearestFlag(c *cobra.Command, name string) string {
	best, bestD := "", 3
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := editDistance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the edit distance between a and b (suggest.Distance:
// a swap of two letters counts one).
func editDistance(a, b string) int { return suggest.Distance([]rune(a), []rune(b)) }

// addNotifyInventory registers -i on the commands that work from the
// journal (resume, audit): the plan they run carries no channels, so the
// inventory says where notifications go.
func (o *options) addNotifyInventory(c *cobra.Command) {
	c.Flags().StringArrayVarP(&o.inventory, "inventory", "i", nil, "inventory file or folder `PATH` whose notify channels tell of the run (repeatable; default ./inventory)")
}
