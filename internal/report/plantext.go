package report

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
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
// where, then every step with its action, host, dependencies and reason,
// and a closing count.
func WritePlanText(w io.Writer, p *plan.Plan) error {
	return WritePlanTextColor(w, p, false)
}

// stepSymbol is the action symbol that begins a step's line.
var stepSymbol = regexp.MustCompile(`(?m)^  ([-+~]) `)

// symbolColors are Terraform's: green create, yellow update, red remove.
var symbolColors = map[string]string{"+": "32", "~": "33", "-": "31"}

// WritePlanTextColor is WritePlanText, with the symbols of steps that
// change something coloured as Terraform does when color is set (for a
// terminal). The colours are added after every value was escaped, so a
// value still cannot colour the screen.
func WritePlanTextColor(w io.Writer, p *plan.Plan, color bool) error {
	var b bytes.Buffer
	if err := writePlanText(&b, p); err != nil {
		return err
	}
	out := b.String()
	if color {
		out = stepSymbol.ReplaceAllStringFunc(out, func(m string) string {
			sym := strings.TrimSpace(m)
			return "  \x1b[" + symbolColors[sym] + "m" + sym + "\x1b[0m "
		})
	}
	_, err := io.WriteString(w, out)
	return err
}

func writePlanText(w io.Writer, p *plan.Plan) error {
	// Every value is shown with its control characters escaped: the text
	// is made whole, then escaped at once (it holds no escapes of its own).
	b := new(bytes.Buffer)
	fmt.Fprintf(b, "Plan made %s", fmtTime(p.Created))
	if len(p.Sources) > 0 {
		fmt.Fprintf(b, " from %s", strings.Join(p.Sources, ", "))
	}
	removes := ""
	for _, s := range p.Steps {
		if s.Rule != "" || plan.IsRemoval(s.Kind) {
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
	_, err := io.WriteString(w, visible(b.String()))
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

func writePlanSteps(b io.Writer, steps []*plan.Step) {
	idWidth, hostWidth := 0, 0
	for _, s := range steps {
		idWidth = max(idWidth, len([]rune(s.ID)))
		hostWidth = max(hostWidth, len([]rune(s.Host)))
	}
	for _, s := range steps {
		title := secret.Scrub(s.Title)
		line := "  " + actionSymbol(s.Action) + " " + s.ID + pad(s.ID, idWidth) + "  " + s.Host + pad(s.Host, hostWidth) + "  " + title
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
	}
}
