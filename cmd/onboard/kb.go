package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/kb"
	"onboard/internal/report"
	"onboard/internal/result"
)

// kbCommand is `onboard kb`: the inventory's knowledge base of known
// failures, its articles and what they answer in a recorded run.
func (o *options) kbCommand() *cobra.Command {
	var out string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the knowledge base's articles (validated with the inventory) and the failures each answers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			b, err := o.knowledgeBase()
			if err != nil {
				return err
			}
			return writeArticles(o.stdout, b, out)
		},
	}
	list.Flags().StringArrayVarP(&o.inventory, "inventory", "i", nil, "inventory file or folder `PATH` (repeatable; default ./inventory)")
	addOutput(list, &out, "an array of articles")
	match := &cobra.Command{
		Use:               "match RUN-ID",
		Short:             "Show which articles of the knowledge base answer the failures of a run recorded in the journal",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.runIDArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			return o.kbMatch(cmd.Context(), args[0], out)
		},
	}
	match.Flags().StringArrayVarP(&o.inventory, "inventory", "i", nil, "inventory file or folder `PATH` (repeatable; default ./inventory)")
	o.addJournalFlags(match, false)
	addOutput(match, &out, "an array of failures with the articles that answer them")
	c := &cobra.Command{Use: "kb", Short: "The knowledge base of known failures (the inventory's knowledge_base)"}
	c.AddCommand(list, match)
	return c
}

// knowledgeBase loads the inventory and its knowledge base; an invalid
// article is an invalid input, as in onboard validate.
func (o *options) knowledgeBase() (*kb.Base, error) {
	inv, err := inventory.Load(o.inventoryPaths()...)
	if err != nil {
		return nil, invalid(err)
	}
	b := inv.KnowledgeBase()
	if b == nil {
		return nil, invalid(fmt.Errorf("the inventory (%s) names no knowledge base: add knowledge_base: DIR to one of its files", strings.Join(o.inventoryPaths(), ", ")))
	}
	return b, nil
}

type articleJSON struct {
	ID      string       `json:"id"`
	Title   string       `json:"title"`
	File    string       `json:"file"`
	Link    string       `json:"link,omitempty"`
	Fix     string       `json:"fix"`
	Matches []kb.Pattern `json:"matches"`
}

func writeArticles(w io.Writer, b *kb.Base, format string) error {
	if format == "json" {
		list := []articleJSON{}
		for _, a := range b.Articles {
			list = append(list, articleJSON{ID: a.ID, Title: a.Title, File: a.File, Link: a.Link, Fix: a.Fix(), Matches: a.Matches})
		}
		return writeJSONTo(w, list)
	}
	for _, a := range b.Articles {
		fmt.Fprintf(w, "%s  %s\n    file: %s\n", a.ID, oneLine(a.Title), a.File)
		if a.Link != "" {
			fmt.Fprintf(w, "    link: %s\n", a.Link)
		}
		for _, p := range a.Matches {
			fmt.Fprintf(w, "    matches: %s\n", describe(p))
		}
	}
	fmt.Fprintf(w, "%d article(s)\n", len(b.Articles))
	return nil
}

// describe is a pattern in one line: its fields as written.
func describe(p kb.Pattern) string {
	var parts []string
	for _, f := range []struct{ name, v string }{{"kind", p.Kind}, {"phase", p.Phase}, {"class", p.Class}, {"host", p.Host}, {"output", p.Output}} {
		if f.v != "" {
			parts = append(parts, fmt.Sprintf("%s=%q", f.name, f.v))
		}
	}
	return strings.Join(parts, " ")
}

type matchJSON struct {
	Step     string   `json:"step"`
	Kind     string   `json:"kind"`
	Host     string   `json:"host,omitempty"`
	Phase    string   `json:"phase"`
	Message  string   `json:"message"`
	Handover bool     `json:"handover,omitempty"`
	Articles []string `json:"articles"` // ids, the most specific first
}

// kbMatch matches the failures of a recorded run against the knowledge
// base as it is now: an article written after the run answers it too.
func (o *options) kbMatch(ctx context.Context, runID, format string) error {
	b, err := o.knowledgeBase()
	if err != nil {
		return err
	}
	j, err := o.openJournal(ctx)
	if err != nil {
		return err
	}
	defer j.Close()
	d, err := j.Run(ctx, runID)
	if errors.Is(err, journal.ErrNotFound) {
		return invalid(fmt.Errorf("no run %s in %s (onboard history lists them)", runID, j.Path()))
	}
	if err != nil {
		return err
	}
	run := runOf(d)
	var found []matchJSON
	for _, list := range []struct {
		steps    []result.Step
		handover bool
	}{{run.Steps, false}, {run.Handover, true}} {
		for _, s := range list.steps {
			if s.Failure == nil {
				continue
			}
			m := matchJSON{Step: s.ID, Kind: s.Kind, Host: s.Failure.Host, Phase: s.Failure.Phase, Message: s.Failure.Message, Handover: list.handover, Articles: []string{}}
			for _, a := range b.Match(s.Failure, s.Kind) {
				m.Articles = append(m.Articles, a.ID)
			}
			found = append(found, m)
		}
	}
	if format == "json" {
		if found == nil {
			found = []matchJSON{}
		}
		return writeJSONTo(o.stdout, found)
	}
	byID := map[string]kb.Article{}
	for _, a := range b.Articles {
		byID[a.ID] = a
	}
	w := o.stdout
	if len(found) == 0 {
		fmt.Fprintf(w, "run %s has no failures\n", runID)
		return nil
	}
	for _, m := range found {
		what := "failed"
		if m.Handover {
			what = "failed the handover check"
		}
		fmt.Fprintf(w, "%s (%s) %s in %s on %s: %s\n", m.Step, m.Kind, what, m.Phase, m.Host, oneLine(m.Message))
		if len(m.Articles) == 0 {
			fmt.Fprintf(w, "    no article answers it\n")
		}
		for i, id := range m.Articles {
			a := byID[id]
			fmt.Fprintf(w, "    %s  %s\n", id, oneLine(a.Title))
			if i == 0 {
				fmt.Fprintf(w, "        %s\n", oneLine(a.Fix()))
				if a.Link != "" {
					fmt.Fprintf(w, "        see %s\n", a.Link)
				}
			}
		}
	}
	return nil
}

// oneLine is s with its line breaks as spaces, for a one-line listing,
// and its control characters (a terminal's escapes) made visible.
func oneLine(s string) string {
	return report.Visible(strings.Join(strings.Fields(s), " "))
}
