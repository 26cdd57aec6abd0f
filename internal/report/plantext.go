package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/secret"
)

// actionSymbol marks a plan step by what it will do, as terraform plan
// does. An unchecked step gets a dot, never the sign of "in place".
func actionSymbol(a plan.Action) string {
	switch a {
	case plan.ActionCreate:
		return "+"
	case plan.ActionUpdate:
		return "~"
	case plan.ActionRemove:
		return "-"
	case plan.ActionNone:
		return "="
	case plan.ActionCannotTell:
		return "?"
	}
	return "·"
}

// WritePlanText prints a plan for people: per hire what was merged from
// where, then every step with its action, host, dependencies and reason
// (and its diff, when the plan has one), and a closing count. It has no
// colours; PlanText.Write can colour the diffs.
func WritePlanText(w io.Writer, p *plan.Plan) error { return PlanText{}.Write(w, p) }

// PlanText is the plan printed for people.
type PlanText struct {
	// Color asks for coloured diffs, under the rule of Text.Color (never
	// with NO_COLOR, nor into a file that is not a terminal).
	Color bool
}

// planBuf is plan text made in pieces: what is written to it is escaped
// (visible) when the next painted piece comes, so that the text's own
// values can neither move the cursor nor recolour the screen while the
// colours of a diff still reach the terminal.
type planBuf struct {
	bytes.Buffer
	out   strings.Builder
	paint painter
}

// painted adds s, already escaped, with its style.
func (b *planBuf) painted(style, s string) {
	b.flush()
	b.out.WriteString(b.paint.paint(style, s))
}

func (b *planBuf) flush() {
	b.out.WriteString(visible(b.String()))
	b.Reset()
}

func (t PlanText) Write(w io.Writer, p *plan.Plan) error {
	b := &planBuf{paint: painter(useColor(t.Color, w))}
	fmt.Fprintf(b, "Plan made %s", fmtTime(p.Created))
	if len(p.Sources) > 0 {
		fmt.Fprintf(b, " from %s", strings.Join(p.Sources, ", "))
	}
	removes := ""
	for _, s := range p.Steps {
		if plan.IsRemoval(s.Kind) || s.Action == plan.ActionRemove {
			removes = " - remove,"
			break
		}
	}
	fmt.Fprintf(b, "\nSymbols: + create, ~ update,%s = already in place, ? cannot tell, · not checked\n", removes)

	byHire := map[string][]*plan.Step{}
	known := map[string]bool{}
	for _, h := range p.Hires {
		known[h.ID] = true
	}
	var other []*plan.Step
	for _, s := range p.Steps {
		if known[s.Hire] {
			byHire[s.Hire] = append(byHire[s.Hire], s)
		} else {
			other = append(other, s)
		}
	}
	for _, h := range p.Hires {
		writePlanHire(b, p, h)
		writePlanSteps(b, byHire[h.ID])
	}
	if len(other) > 0 {
		fmt.Fprintf(b, "\nOther steps\n")
		writePlanSteps(b, other)
	}

	counts := map[plan.Action]int{}
	for _, s := range p.Steps {
		counts[s.Action]++
	}
	fmt.Fprintf(b, "\nPlan: %d to create, %d to update, ", counts[plan.ActionCreate], counts[plan.ActionUpdate])
	if removes != "" {
		fmt.Fprintf(b, "%d to remove, ", counts[plan.ActionRemove])
	}
	fmt.Fprintf(b, "%d already in place, %d cannot tell", counts[plan.ActionNone], counts[plan.ActionCannotTell])
	if n := counts[plan.ActionUnknown]; n > 0 {
		fmt.Fprintf(b, ", %d not checked", n)
	}
	fmt.Fprintf(b, ".\n")
	b.flush()
	_, err := io.WriteString(w, b.out.String())
	return err
}

func writePlanHire(b io.Writer, p *plan.Plan, h plan.Hire) {
	name := h.Name
	if h.Username != "" {
		name += " (" + h.Username + ")"
	}
	fmt.Fprintf(b, "\n%s\n", strings.TrimSpace(name))
	var facts []string
	if h.Profile != "" {
		facts = append(facts, "profile "+h.Profile)
	}
	if h.Host != "" {
		facts = append(facts, "host "+hostLine(p, h.Host))
	}
	if h.StartDate != "" {
		facts = append(facts, "starts "+h.StartDate)
	}
	if len(facts) > 0 {
		fmt.Fprintf(b, "  %s\n", strings.Join(facts, ", "))
	}
	if h.Source != "" {
		fmt.Fprintf(b, "  playbook %s\n", h.Source)
	}

	// Provenance items read "software: htop"; group them by category.
	from := map[string]map[string]string{}
	var order []string // categories of unmatched items, in order
	for _, o := range h.Provenance {
		cat, item, ok := strings.Cut(o.Item, ":")
		if !ok {
			cat, item = "other", o.Item
		}
		cat = provCategory(cat)
		if from[cat] == nil {
			from[cat] = map[string]string{}
			order = append(order, cat)
		}
		from[cat][strings.TrimSpace(item)] = o.From
	}
	lists := []struct {
		cat, title string
		items      []string
	}{
		{"group", "groups", h.Groups},
		{"software", "software", h.Software},
		{"printer", "printers", h.Printers},
	}
	shown := map[string]bool{}
	for _, l := range lists {
		writeProvenance(b, l.title, l.items, from[l.cat])
		shown[l.cat] = true
	}
	for _, cat := range order {
		if !shown[cat] {
			writeProvenance(b, cat, nil, from[cat])
		}
	}
	if len(h.Moved) > 0 {
		fmt.Fprintf(b, "  moved since the setup was last applied:\n")
		for _, m := range h.Moved {
			fmt.Fprintf(b, "    %s\n", m)
		}
	}
	// What the new setup no longer names yet stays: the rule says why.
	// (Kept also lists the removals, shown as steps below.)
	kept := slices.DeleteFunc(slices.Clone(h.Kept), func(k plan.Kept) bool { return k.Rule == plan.RulePlaced || k.Rule == plan.RulePrune })
	if len(kept) > 0 {
		fmt.Fprintf(b, "  kept, not in the new setup:\n")
		width := 0
		for _, k := range kept {
			width = max(width, len([]rune(k.Item)))
		}
		for _, k := range kept {
			line := "    " + k.Item + pad(k.Item, width) + "  ← " + k.Rule
			if k.Evidence != "" {
				line += ": " + k.Evidence
			}
			fmt.Fprintln(b, line)
		}
	}
	if len(h.Manual) > 0 {
		fmt.Fprintf(b, "  left to do by hand:\n")
		for _, m := range h.Manual {
			fmt.Fprintf(b, "    - %s\n", indentRest(secret.Scrub(m), "      "))
		}
	}
	fmt.Fprintln(b)
}

// provCategory maps "groups", "Group" and "group" to one key.
func provCategory(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	switch c {
	case "groups", "group":
		return "group"
	case "printers", "printer":
		return "printer"
	case "software", "softwares", "package", "packages":
		return "software"
	}
	return c
}

// writeProvenance lists the merged items of one category with where each
// came from, then the items the merge left out (say, omitted by the
// playbook), marked as not included.
func writeProvenance(b io.Writer, title string, items []string, from map[string]string) {
	type row struct{ item, from string }
	var rows []row
	in := map[string]bool{}
	for _, it := range items {
		in[it] = true
		rows = append(rows, row{it, from[it]})
	}
	for it, f := range from {
		if !in[it] {
			rows = append(rows, row{it + " (not included)", f})
		}
	}
	if len(rows) == 0 {
		return
	}
	// Map order is random: sort the left-out rows for a stable print.
	slices.SortFunc(rows[len(items):], func(a, b row) int { return strings.Compare(a.item, b.item) })
	width := 0
	for _, r := range rows {
		width = max(width, len([]rune(r.item)))
	}
	fmt.Fprintf(b, "  %s:\n", title)
	for _, r := range rows {
		line := "    " + r.item
		if r.from != "" {
			line += pad(r.item, width) + "  ← " + r.from
		}
		fmt.Fprintln(b, line)
	}
}

func hostLine(p *plan.Plan, name string) string {
	h := p.Hosts[name]
	if h == nil {
		return name
	}
	var how []string
	if h.OS != "" {
		how = append(how, h.OS)
	}
	if h.Transport != "" || h.Address != "" {
		addr := h.Address
		if h.User != "" {
			addr = h.User + "@" + addr
		}
		if h.Port != 0 {
			addr = fmt.Sprintf("%s:%d", addr, h.Port)
		}
		how = append(how, strings.TrimSpace(h.Transport+" "+addr))
	}
	if len(how) == 0 {
		return name
	}
	return name + " (" + strings.Join(how, ", ") + ")"
}

// symbolStyle colours the symbols of steps that change something.
var symbolStyle = map[string]string{"+": ansiGreen, "~": ansiYellow, "-": ansiRed}

func writePlanSteps(b *planBuf, steps []*plan.Step) {
	idWidth, hostWidth := 0, 0
	for _, s := range steps {
		idWidth = max(idWidth, len([]rune(s.ID)))
		hostWidth = max(hostWidth, len([]rune(s.Host)))
	}
	for _, s := range steps {
		title := secret.Scrub(s.Title)
		// The symbol of a change is coloured as Terraform's (green create,
		// yellow update, red remove); the rest of the line is escaped text.
		sym := actionSymbol(s.Action)
		b.WriteString("  ")
		b.painted(symbolStyle[sym], sym)
		line := " " + s.ID + pad(s.ID, idWidth) + "  " + s.Host + pad(s.Host, hostWidth) + "  " + title
		fmt.Fprintln(b, strings.TrimRight(line, " "))
		indent := "    " + strings.Repeat(" ", idWidth+2)
		if len(s.DependsOn) > 0 {
			deps := s.DependsOn
			more := ""
			if len(deps) > 3 {
				// Checks depend on every step of their machine: say how many.
				deps, more = deps[:3], fmt.Sprintf(" and %d more", len(deps)-3)
			}
			fmt.Fprintf(b, "%sdepends on %s%s\n", indent, strings.Join(deps, ", "), more)
		}
		if s.Rule != "" {
			why := s.Rule
			if s.Evidence != "" {
				why += ": " + s.Evidence
			}
			fmt.Fprintf(b, "%srule %s\n", indent, why)
		}
		if c := s.Check; c != nil && c.Set != "" {
			fmt.Fprintf(b, "%sfrom check set %s\n", indent, c.Set)
		}
		if c := s.Check; c != nil && c.Waiver != nil {
			fmt.Fprintf(b, "%swaiver: %s, until %s\n", indent, clean(firstLine(c.Waiver.Reason)), c.Waiver.Expires)
		}
		reason := strings.TrimSpace(clean(secret.Scrub(s.Reason)))
		switch {
		case s.Action == plan.ActionCannotTell && reason != "":
			reason = "cannot tell: " + reason
		case s.Action == plan.ActionCannotTell:
			reason = "cannot tell"
		}
		if reason != "" {
			fmt.Fprintf(b, "%s%s\n", indent, indentRest(reason, indent))
		}
		if s.Diff != "" {
			writeDiff(b.painted, visible(secret.Scrub(s.Diff)), indent)
		}
	}
}
