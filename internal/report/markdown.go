package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"onboard/internal/result"
)

// Markdown is the handover report as a Markdown document, for a ticket or
// a wiki page.
type Markdown struct{}

func (Markdown) Write(w io.Writer, r *result.Run) error {
	v, err := newRunView(r)
	if err != nil {
		return err
	}
	run := v.Run
	b := bufio.NewWriter(w)

	if run.Audit {
		fmt.Fprintf(b, "# Audit of completed setups\n\n")
		fmt.Fprintf(b, "Audit `%s` by %s: every step recorded at handover, checked again on the live systems. Nothing was changed.\n\n", mdCodeText(run.ID), mdText(run.Operator))
	} else if run.DryRun {
		fmt.Fprintf(b, "# %s\n\n", statusPlan)
		fmt.Fprintf(b, "Dry run `%s` by %s. Nothing was changed on any machine.\n\n", mdCodeText(run.ID), mdText(run.Operator))
	} else {
		fmt.Fprintf(b, "# Onboarding handover\n\n")
		fmt.Fprintf(b, "Run `%s` by %s.\n\n", mdCodeText(run.ID), mdText(run.Operator))
	}
	fmt.Fprintf(b, "Started %s, finished %s, took %s.\n", fmtTime(run.Started), fmtTime(run.Finished), fmtDur(v.Duration))
	if len(run.Unreachable) > 0 {
		fmt.Fprintf(b, "\n**Unreachable hosts:** %s\n", mdText(strings.Join(run.Unreachable, ", ")))
	}

	for _, h := range v.Hires {
		fmt.Fprintf(b, "\n## %s: %s\n\n", mdText(hireName(h.Hire)), mdStatus(h.Status))
		fmt.Fprintf(b, "| | |\n|---|---|\n")
		mdRow(b, "Name", mdText(h.Hire.Name))
		mdRow(b, "Username", mdCode(h.Hire.Username))
		mdRow(b, "Machine", mdText(h.Hire.Host))
		mdRow(b, "Profile", mdText(h.Hire.Profile))
		mdRow(b, "Outcomes", h.RunCounts(run))
		mdRow(b, "Duration", fmtDur(h.Duration))
		mdRow(b, "Contact", mdCell(h.Hire.Contact))

		if len(h.Manual) > 0 {
			fmt.Fprintf(b, "\n### Left to do by hand\n\n")
			for _, m := range h.Manual {
				fmt.Fprintf(b, "- [ ] %s\n", mdCell(m))
			}
		}
		if len(h.Hire.Added) > 0 {
			fmt.Fprintf(b, "\n### Added since handover\n\n")
			for _, m := range h.Hire.Added {
				fmt.Fprintf(b, "- %s\n", mdCell(m))
			}
		}
		writeMarkdownEvidence(b, h.Steps)
		if len(h.Steps) > 0 {
			fmt.Fprintf(b, "\n### Steps\n\n")
			mdStepTable(b, h.Steps)
		}
		mdDiffs(b, h.Steps)
		if len(h.Failures) > 0 {
			fmt.Fprintf(b, "\n### Failures\n")
			for _, s := range h.Failures {
				mdFailure(b, s)
			}
		}
		if !run.DryRun {
			fmt.Fprintf(b, "\n### Handover checks\n\n")
			if len(h.Handover) == 0 {
				fmt.Fprintf(b, "The handover re-check did not run.\n")
			} else {
				mdStepTable(b, h.Handover)
			}
		}
		if h.Hire.Notes != "" {
			fmt.Fprintf(b, "\n### Notes\n\n%s\n", mdParagraphs(h.Hire.Notes))
		}
	}
	if run.DryRun && v.CannotTell > 0 {
		fmt.Fprintf(b, "\n> **%d step(s) could not be checked**: the plan cannot say whether they would change anything.\n", v.CannotTell)
	}
	return b.Flush()
}

func mdStatus(status string) string {
	switch status {
	case statusReady, statusNoDrift:
		return "✅ **" + status + "**"
	case statusNotReady, statusDrift, statusNotChecked:
		return "❌ **" + status + "**"
	}
	return "📋 **" + status + "**"
}

func mdOutcome(o result.Outcome) string {
	switch o {
	case result.Failed:
		return "❌ **FAILED**"
	case result.CannotTell:
		return "❓ **CANNOT TELL**"
	case result.WouldChange:
		return "✏️ would change"
	case result.Skipped:
		return "⏭️ skipped"
	case result.Changed:
		return "🔧 changed"
	case result.OK:
		return "✅ ok"
	}
	return mdText(outcomeLabel(o))
}

func mdRow(b io.Writer, name, value string) {
	if value == "" {
		return
	}
	fmt.Fprintf(b, "| %s | %s |\n", name, value)
}

func mdStepTable(b io.Writer, steps []result.Step) {
	fmt.Fprintf(b, "| Outcome | Step | Host | Duration | Details |\n|---|---|---|---:|---|\n")
	for _, s := range steps {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n",
			mdOutcome(s.Outcome), mdCell(s.Title), mdText(s.Host), fmtDur(s.Duration), mdCell(stepNote(s)))
	}
}

// mdDiffs shows the diffs of file steps (--diff), each in a diff block.
func mdDiffs(b io.Writer, steps []result.Step) {
	head := false
	for _, s := range steps {
		if s.Diff == "" {
			continue
		}
		if !head {
			fmt.Fprintf(b, "\n### File changes\n")
			head = true
		}
		d := strings.TrimRight(s.Diff, "\n")
		fence := mdFence(d)
		fmt.Fprintf(b, "\n%s:\n\n%sdiff\n%s\n%s\n", mdText(s.Title), fence, d, fence)
	}
}

func mdFailure(b io.Writer, s result.Step) {
	fmt.Fprintf(b, "\n#### %s\n\n", mdText(strings.TrimSpace(s.Title+" on "+s.Host)))
	f := s.Failure
	if f == nil {
		fmt.Fprintf(b, "- Reason: %s\n", mdCell(s.Reason))
		return
	}
	item := func(name, value string) {
		if value != "" {
			fmt.Fprintf(b, "- %s: %s\n", name, value)
		}
	}
	item("Host", mdText(f.Host))
	item("Step", mdCode(f.Step))
	item("Phase", mdText(f.Phase))
	item("Class", mdText(f.Class))
	item("Command", mdCode(clean(f.Command)))
	if f.ExitCode != 0 {
		item("Exit code", fmt.Sprint(f.ExitCode))
	}
	item("Message", mdCell(f.Message))
	if out := tailLines(f.Output, maxOutputLines); out != "" {
		fence := mdFence(out)
		fmt.Fprintf(b, "\nOutput (last lines):\n\n%stext\n%s\n%s\n", fence, out, fence)
	}
	if k := f.Known; k != nil {
		// The article is the inventory's, yet escaped like remote text: a
		// report must not carry markup nobody reviewed as markup.
		fmt.Fprintf(b, "\nKnown failure: **%s** (%s)\n\n%s\n", mdText(clean(k.Title)), mdCode(k.ID), mdParagraphs(clean(k.Fix)))
		if l := knownLink(k); l != "" {
			fmt.Fprintf(b, "\nSee <%s>\n", l)
		}
	}
}

// mdEscaper backslash-escapes Markdown punctuation and raw HTML, so remote
// text shows as written and cannot inject markup or links.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "|", `\|`, "#", `\#`, "!", `\!`, "~", `\~`,
	"&", "&amp;",
)

// mdText escapes one line of text.
func mdText(s string) string {
	s = strings.Join(strings.Fields(clean(s)), " ")
	return mdEscaper.Replace(s)
}

// mdCell escapes text for a table cell or list item, keeping line breaks.
func mdCell(s string) string {
	lines := strings.Split(strings.TrimSpace(clean(s)), "\n")
	for i, l := range lines {
		lines[i] = mdText(l)
	}
	return strings.Join(lines, "<br>")
}

// mdParagraphs escapes free text, keeping its paragraphs and line breaks.
func mdParagraphs(s string) string {
	lines := strings.Split(strings.TrimSpace(clean(s)), "\n")
	for i, l := range lines {
		if l = mdText(l); l != "" {
			l += "  " // hard line break
		}
		lines[i] = l
	}
	return strings.TrimRight(strings.Join(lines, "\n"), " ")
}

// mdCode makes an inline code span that holds any text, including
// backticks and pipes.
func mdCode(s string) string {
	s = strings.Join(strings.Fields(clean(s)), " ")
	if s == "" {
		return ""
	}
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	// A pipe ends a table cell even inside a code span.
	s = strings.ReplaceAll(s, "|", `\|`)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || len(ticks) > 1 {
		return ticks + " " + s + " " + ticks
	}
	return ticks + s + ticks
}

// mdCodeText is text inside a single-backtick span: backticks dropped.
func mdCodeText(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(clean(s)), " "), "`", "'")
}

// mdFence is a code fence longer than any backtick run in s.
func mdFence(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}
