package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// foreignFlag is a flag Terraform (or Ansible) users type: onboard's flag
// that does the same (with value, when the spelling implies one), or why
// there is none.
type foreignFlag struct {
	flag, value string
	why         string // when flag is "" or this command lacks it
}

// foreignFlags are the single-dash spellings of Terraform that onboard
// knows, by name without the dash. A name that is also a flag of the
// command (out, detailed-exitcode, parallel...) needs no entry: -NAME is
// --NAME.
var foreignFlags = map[string]foreignFlag{
	"auto-approve": {flag: "yes", why: "this command changes nothing, so it asks nothing: drop it"},
	"parallelism":  {flag: "parallel", why: "this command works on no hosts"},
	"json":         {flag: "output", value: "json", why: "this command has no JSON output"},
	"var":          {why: "onboard has no variables: a hire's values are in the playbook"},
	"var-file":     {why: "onboard has no variable files: a hire's values are in the playbook"},
	"target":       {why: "onboard has no targets: give only the playbooks to run (a folder is a batch)"},
	"replace":      {why: "every step is checked, and redone when it does not hold: nothing to replace"},
	"refresh":      {why: "every step is checked on the live system, always: drop it"},
	"refresh-only": {why: "onboard plan checks without changing anything"},
	"lock":         {why: "the journal takes several runs at once: drop it"},
	"lock-timeout": {why: "the journal takes several runs at once: drop it"},
	"input":        {why: "onboard reads no variables from the terminal: drop it"},
	"state":        {why: "runs are recorded in the journal: --journal PATH"},
	"state-out":    {why: "runs are recorded in the journal: --journal PATH"},
	"backup":       {why: "the journal keeps every run: drop it"},
	"chdir":        {why: "run onboard in that folder, or give paths"},
	"destroy":      {why: "onboard sets new hires up and never removes them"},
}

// normaliseArgs reads Terraform's single-dash long flags before cobra
// does, which would take -out as -o ut: a single-dash word naming a long
// flag of the command (-out, -detailed-exitcode, -parallel=5) becomes that
// flag, one of foreignFlags becomes onboard's flag or is refused saying
// why, and one naming another command's flag is refused. Short flags and
// their clusters (-v, -vv, -ojson, -p5) pass unchanged; so does everything
// after "--".
func normaliseArgs(root *cobra.Command, args []string) ([]string, error) {
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		// A completion request: the same words, read the same way; one
		// that would be refused is completed as typed.
		rest, err := normaliseArgs(root, args[1:])
		if err != nil {
			return args, nil
		}
		return append([]string{args[0]}, rest...), nil
	}
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		cmd = root
	}
	cmd.InitDefaultHelpFlag()
	if cmd == root {
		root.InitDefaultVersionFlag()
	}
	lookup := cmd.Flags().Lookup
	takesValue := func(f *pflag.Flag) bool { return f != nil && f.NoOptDefVal == "" }
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() { // the value of a flag given as a separate word
			if i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
		}
		switch {
		case a == "--":
			return append(out, args[i:]...), nil
		case strings.HasPrefix(a, "--"):
			out = append(out, a)
			if !strings.Contains(a, "=") && takesValue(lookup(a[2:])) {
				next()
			}
			continue
		case !strings.HasPrefix(a, "-") || len(a) < 3:
			out = append(out, a)
			if len(a) == 2 && a[0] == '-' && takesValue(cmd.Flags().ShorthandLookup(a[1:])) {
				next()
			}
			continue
		}
		name, val, hasVal := strings.Cut(a[1:], "=")
		ff, foreign := foreignFlags[name]
		// A hidden flag is an old spelling (plan --json): Terraform's
		// meaning, when there is one, goes to the current flag.
		if f := lookup(name); f != nil && !(f.Hidden && foreign) {
			out = append(out, "-"+a)
			if !hasVal && takesValue(f) {
				next()
			}
			continue
		}
		if foreign {
			f := lookup(ff.flag)
			switch {
			case f == nil:
				return nil, fmt.Errorf("-%s: %s", name, ff.why)
			case ff.value != "":
				if hasVal && val != "true" {
					return nil, fmt.Errorf("-%s=%s: write --%s %s, or leave it out", name, val, ff.flag, ff.value)
				}
				out = append(out, "--"+ff.flag+"="+ff.value)
			case hasVal:
				out = append(out, "--"+ff.flag+"="+val)
			default:
				out = append(out, "--"+ff.flag)
				if takesValue(f) {
					next()
				}
			}
			continue
		}
		if holders := flagHolders(root, name); len(holders) > 0 {
			return nil, fmt.Errorf("%s: %s has no --%s flag; it is a flag of %s", a, cmd.CommandPath(), name, strings.Join(holders, ", "))
		}
		if cmd.Flags().ShorthandLookup(a[1:2]) == nil {
			// Not a cluster of short flags either: a long flag typed
			// with one dash, perhaps mistyped.
			msg := fmt.Sprintf("%s: %s has no --%s flag (long flags take two dashes)", a, cmd.CommandPath(), name)
			if near := nearestFlag(cmd, name); near != "" {
				msg += fmt.Sprintf("; did you mean --%s?", near)
			}
			return nil, errors.New(msg)
		}
		out = append(out, a)
	}
	return out, nil
}

// checkBareArgs tells a playbook argument of `onboard ARG...` from a
// mistyped command. An argument that exists (file or folder) is a
// playbook; one that does not exist but looks like a path (it has a
// slash, or ends in .yaml, .yml or .json) is a missing playbook, reported
// when it is loaded; anything else is a command onboard does not have,
// with the nearest commands as suggestions.
func checkBareArgs(root *cobra.Command, args []string) error {
	for _, a := range args {
		if _, err := os.Stat(a); err == nil || looksLikePath(a) {
			continue
		}
		msg := fmt.Sprintf("unknown command %q, and no playbook file or folder of that name", a)
		if s := root.SuggestionsFor(a); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		} else {
			msg += " (onboard --help lists the commands)"
		}
		return errors.New(msg)
	}
	return nil
}

func looksLikePath(a string) bool {
	if strings.ContainsRune(a, '/') || strings.ContainsRune(a, filepath.Separator) {
		return true
	}
	switch strings.ToLower(filepath.Ext(a)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
