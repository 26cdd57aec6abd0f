package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"onboard/internal/journal"
)

// Shell completion (onboard completion bash|zsh|fish|powershell): playbook
// files for the commands that take them, schema names, and from the
// journal the run ids, hire ids and hosts it has recorded. Completion only
// reads: a journal that does not exist yet completes nothing and is not
// created.

// playbookArgs completes playbook files and the folders holding them.
func playbookArgs(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

// recordedRuns is the journal's runs, newest first, or nil when there is
// no journal to read.
func (o *options) recordedRuns(ctx context.Context) []journal.RunSummary {
	path := o.journalPath
	if path == "" {
		p, err := journal.DefaultPath()
		if err != nil {
			return nil
		}
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	j, err := journal.Open(ctx, path)
	if err != nil {
		return nil
	}
	defer j.Close()
	runs, err := j.Runs(ctx, journal.Filter{Limit: 500})
	if err != nil {
		return nil
	}
	return runs
}

// runIDArgs completes run ids, newest first, each described by its hires
// and outcome.
func (o *options) runIDArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, r := range o.recordedRuns(cmd.Context()) {
		if !strings.HasPrefix(r.ID, toComplete) {
			continue
		}
		var hires []string
		for _, h := range r.Hires {
			hires = append(hires, h.ID)
		}
		out = append(out, fmt.Sprintf("%s\t%s %s", r.ID, strings.Join(hires, ","), r.Outcome))
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// hireArgs completes the employee ids the journal has runs of.
func (o *options) hireArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	seen := map[string]string{}
	for _, a := range args {
		seen[a] = "" // audit E1 E2: each hire once
	}
	var out []string
	for _, r := range o.recordedRuns(cmd.Context()) {
		for _, h := range r.Hires {
			if _, ok := seen[h.ID]; ok || !strings.HasPrefix(h.ID, toComplete) {
				continue
			}
			seen[h.ID] = h.Name
			out = append(out, h.ID+"\t"+h.Name)
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

// hostArgs completes the hosts and directories the journal has runs
// against.
func (o *options) hostArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	seen := map[string]bool{}
	var out []string
	for _, r := range o.recordedRuns(cmd.Context()) {
		for _, h := range r.Hosts {
			if !seen[h] && strings.HasPrefix(h, toComplete) {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}
