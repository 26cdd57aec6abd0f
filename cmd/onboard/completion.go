package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/playbook"
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

// limitArgs completes --limit: the inventory's hosts (-i, else
// ./inventory) and the employee ids of the playbooks already on the line.
func (o *options) limitArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	// Cobra parses the flags twice while completing, and an array flag
	// holds each -i twice then.
	paths := slices.Compact(slices.Sorted(slices.Values(o.inventoryPaths())))
	if inv, err := inventory.Load(paths...); err == nil && inv != nil {
		for name := range inv.Hosts {
			out = append(out, name+"\thost")
		}
	}
	if files, err := expandArgs(args); err == nil {
		for _, f := range files {
			if pb, err := playbook.Load(f); err == nil && pb != nil && pb.Person.EmployeeID != "" {
				out = append(out, pb.Person.EmployeeID+"\thire "+strings.TrimSpace(pb.Person.GivenName+" "+pb.Person.Surname))
			}
		}
	}
	// Complete the last of comma-separated patterns.
	prefix := ""
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		prefix, toComplete = toComplete[:i+1], toComplete[i+1:]
	}
	var matched []string
	for _, c := range out {
		if strings.HasPrefix(strings.ToLower(c), strings.ToLower(toComplete)) {
			matched = append(matched, prefix+c)
		}
	}
	sort.Strings(matched)
	return matched, cobra.ShellCompDirectiveNoFileComp
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
