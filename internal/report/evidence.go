package report

import (
	"fmt"
	"io"
	"strings"

	"onboard/internal/result"
)

// An audit's comparison of each check's evidence with what the journal
// last recorded of it, in every human format: the checks whose evidence
// changed, field by field, and those whose did not, briefly.

// evidenceChanged are the steps whose evidence changed since it was last
// recorded.
func evidenceChanged(steps []result.Step) []result.Step {
	var out []result.Step
	for _, s := range steps {
		if c := s.EvidenceChange; c != nil && len(c.Changed) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// evidenceUnchanged names the steps whose evidence is as last recorded.
func evidenceUnchanged(steps []result.Step) []string {
	var out []string
	for _, s := range steps {
		if c := s.EvidenceChange; c != nil && c.Unchanged {
			out = append(out, stepName(s))
		}
	}
	return out
}

// stepName is "Title on host", without repeating the host.
func stepName(s result.Step) string {
	if s.Host == "" || strings.HasSuffix(s.Title, " on "+s.Host) {
		return s.Title
	}
	return s.Title + " on " + s.Host
}

// sinceText says which run recorded the earlier evidence, and when.
func sinceText(c *result.EvidenceChange) string {
	return fmt.Sprintf("since run %s (%s)", c.SinceRun, fmtTime(c.Since))
}

// changeText is one changed field: "addresses: 10.0.0.5 → 10.0.0.9".
func changeText(f result.FieldChange) string {
	return fmt.Sprintf("%s: %s → %s", f.Field, firstLine(f.Was), firstLine(f.Now))
}

// writeTextEvidence writes a hire's evidence comparison for the terminal.
func writeTextEvidence(b io.Writer, p painter, steps []result.Step) {
	changed, same := evidenceChanged(steps), evidenceUnchanged(steps)
	if len(changed) > 0 {
		fmt.Fprintf(b, "  %s\n", p.paint(ansiBold, "Evidence changed since last recorded:"))
		for _, s := range changed {
			fmt.Fprintf(b, "    %s, %s:\n", clean(stepName(s)), sinceText(s.EvidenceChange))
			for _, f := range s.EvidenceChange.Changed {
				fmt.Fprintf(b, "      %s\n", clean(changeText(f)))
			}
		}
	}
	if len(same) > 0 {
		fmt.Fprintf(b, "  Evidence unchanged since last recorded: %s\n", clean(strings.Join(same, ", ")))
	}
}

// writeMarkdownEvidence writes a hire's evidence comparison as a table.
func writeMarkdownEvidence(b io.Writer, steps []result.Step) {
	changed, same := evidenceChanged(steps), evidenceUnchanged(steps)
	if len(changed) == 0 && len(same) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### Evidence since last recorded\n\n")
	if len(changed) > 0 {
		fmt.Fprintf(b, "| Check | Field | Was | Now | Recorded |\n|---|---|---|---|---|\n")
		for _, s := range changed {
			c := s.EvidenceChange
			for _, f := range c.Changed {
				fmt.Fprintf(b, "| %s | %s | %s | %s | run %s, %s |\n", mdCell(stepName(s)), mdCell(f.Field), mdCell(f.Was), mdCell(f.Now),
					mdCode(c.SinceRun), fmtTime(c.Since))
			}
		}
	}
	if len(same) > 0 {
		if len(changed) > 0 {
			fmt.Fprintln(b)
		}
		fmt.Fprintf(b, "Unchanged: %s\n", mdCell(strings.Join(same, ", ")))
	}
}

// htmlChange is one changed field of a check's evidence.
type htmlChange struct {
	Check, Field, Was, Now, Since string
}

// htmlEvidence is a hire's evidence comparison for the HTML page.
func htmlEvidence(steps []result.Step) (changes []htmlChange, unchanged string) {
	for _, s := range evidenceChanged(steps) {
		c := s.EvidenceChange
		for _, f := range c.Changed {
			changes = append(changes, htmlChange{Check: stepName(s), Field: f.Field, Was: clean(f.Was), Now: clean(f.Now),
				Since: fmt.Sprintf("run %s, %s", c.SinceRun, fmtTime(c.Since))})
		}
	}
	return changes, strings.Join(evidenceUnchanged(steps), ", ")
}

// evidenceNote is a step's evidence comparison on lines of its own: the
// changed fields, or that nothing changed; "" outside an audit.
func evidenceNote(s result.Step) string {
	c := s.EvidenceChange
	if c == nil {
		return ""
	}
	if c.Unchanged {
		return "evidence unchanged " + sinceText(c)
	}
	lines := []string{"evidence changed " + sinceText(c) + ":"}
	for _, f := range c.Changed {
		lines = append(lines, "  "+changeText(f))
	}
	return strings.Join(lines, "\n")
}
