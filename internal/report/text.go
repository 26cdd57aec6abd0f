package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"onboard/internal/result"
)

// Text is the report printed to the terminal at the end of a run.
type Text struct {
	// Color asks for ANSI colours. They are used only when NO_COLOR is
	// unset and the writer is not an *os.File that is a non-terminal;
	// callers writing elsewhere decide themselves.
	Color bool
}

// ANSI styles.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiRed     = "\x1b[1;31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiMagenta = "\x1b[1;35m"
	ansiCyan    = "\x1b[36m"
	ansiDim     = "\x1b[2m"
	banGreen    = "\x1b[1;32m"
	banCyan     = "\x1b[1;36m"
)

// useColor applies NO_COLOR (https://no-color.org) and the terminal test.
func useColor(want bool, w io.Writer) bool {
	if !want || os.Getenv("NO_COLOR") != "" {
		return false
	}
	if f, ok := w.(*os.File); ok && !IsTerminal(f) {
		return false
	}
	return true
}

type painter bool

func (p painter) paint(style, s string) string {
	if !p || style == "" || s == "" {
		return s
	}
	return style + s + ansiReset
}

// outcomeLabel names an outcome so that the ones needing attention stand
// out even without colour; cannot-tell never reads like ok.
func outcomeLabel(o result.Outcome) string {
	switch o {
	case result.Failed:
		return "FAILED"
	case result.WouldChange:
		return "would change"
	case result.CannotTell:
		return "CANNOT TELL"
	case "":
		return "unknown"
	}
	return string(o)
}

func outcomeStyle(o result.Outcome) string {
	switch o {
	case result.OK:
		return ansiGreen
	case result.Changed:
		return ansiCyan
	case result.Failed:
		return ansiRed
	case result.Skipped:
		return ansiYellow
	case result.WouldChange:
		return ansiYellow
	case result.CannotTell:
		return ansiMagenta
	}
	return ""
}

func statusStyle(status string) string {
	switch status {
	case statusReady, statusNoDrift:
		return banGreen
	case statusNotReady, statusDrift, statusNotChecked:
		return ansiRed
	}
	return banCyan
}

func (t Text) Write(w io.Writer, r *result.Run) error {
	v, err := newRunView(r)
	if err != nil {
		return err
	}
	p := painter(useColor(t.Color, w))
	b := bufio.NewWriter(w)
	run := v.Run

	if run.Audit {
		fmt.Fprintf(b, "onboard audit %s by %s: the steps recorded at handover, checked again; nothing changed\n", run.ID, run.Operator)
	} else if run.DryRun {
		fmt.Fprintf(b, "%s  dry run %s by %s\n", p.paint(banCyan, statusPlan), run.ID, run.Operator)
	} else {
		fmt.Fprintf(b, "onboard run %s by %s\n", run.ID, run.Operator)
	}
	fmt.Fprintf(b, "Started %s, finished %s, took %s\n", fmtTime(run.Started), fmtTime(run.Finished), fmtDur(v.Duration))

	for _, h := range v.Hires {
		fmt.Fprintf(b, "\n%s  %s\n", p.paint(statusStyle(h.Status), h.Status), hireLine(h.Hire))
		fmt.Fprintf(b, "  %s in %s\n", h.RunCounts(run), fmtDur(h.Duration))
		if len(h.Manual) > 0 {
			fmt.Fprintf(b, "  %s\n", p.paint(ansiBold, "Left to do by hand:"))
			for _, m := range h.Manual {
				fmt.Fprintf(b, "    - %s\n", indentRest(clean(m), "      "))
			}
		}
		if len(h.Hire.Added) > 0 {
			fmt.Fprintf(b, "  %s\n", p.paint(ansiBold, "Added since handover:"))
			for _, m := range h.Hire.Added {
				fmt.Fprintf(b, "    + %s\n", clean(m))
			}
		}
		writeTextEvidence(b, p, h.Steps)
	}
	if len(run.Unreachable) > 0 {
		fmt.Fprintf(b, "\n%s %s\n", p.paint(ansiRed, "Unreachable hosts:"), strings.Join(run.Unreachable, ", "))
	}

	labelWidth := 7
	if run.DryRun {
		labelWidth = 12
	}
	for _, h := range v.Hires {
		if len(h.Steps) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n%s\n", p.paint(ansiBold, "Steps: "+hireName(h.Hire)))
		writeTextSteps(b, p, h.Steps, labelWidth, "  ")
	}

	if !run.DryRun {
		fmt.Fprintf(b, "\n%s\n", p.paint(ansiBold, "Handover re-check"))
		if len(run.Handover) == 0 {
			fmt.Fprintf(b, "  %s\n", p.paint(ansiRed, "did not run: no hire can be handed over"))
		}
		for _, h := range v.Hires {
			if len(h.Handover) == 0 {
				if len(run.Handover) > 0 && len(h.Steps) > 0 {
					fmt.Fprintf(b, "  %s: %s\n", hireName(h.Hire), p.paint(ansiRed, "no checks ran"))
				}
				continue
			}
			done := 0
			for _, s := range h.Handover {
				if s.Outcome.Done() {
					done++
				}
			}
			fmt.Fprintf(b, "  %s: %d of %d in place\n", hireName(h.Hire), done, len(h.Handover))
			writeTextSteps(b, p, h.Handover, labelWidth, "    ")
		}
	} else if v.CannotTell > 0 {
		what := "1 step could not be checked: the plan cannot say whether it would change anything."
		if v.CannotTell > 1 {
			what = fmt.Sprintf("%d steps could not be checked: the plan cannot say whether they would change anything.", v.CannotTell)
		}
		fmt.Fprintf(b, "\n%s\n", p.paint(ansiMagenta, what))
	}
	return b.Flush()
}

func writeTextSteps(b io.Writer, p painter, steps []result.Step, labelWidth int, indent string) {
	hostWidth, titleWidth, durWidth := 0, 0, 0
	for _, s := range steps {
		hostWidth = max(hostWidth, utf8.RuneCountInString(s.Host))
		titleWidth = max(titleWidth, utf8.RuneCountInString(s.Title))
		durWidth = max(durWidth, len(fmtDur(s.Duration)))
	}
	titleWidth = min(titleWidth, 48)
	for _, s := range steps {
		label := outcomeLabel(s.Outcome)
		line := indent + p.paint(outcomeStyle(s.Outcome), label) + pad(label, labelWidth) + "  " +
			s.Host + pad(s.Host, hostWidth) + "  " + s.Title + pad(s.Title, titleWidth) + "  " + pad(fmtDur(s.Duration), durWidth) + fmtDur(s.Duration)
		if note := stepNote(s); note != "" {
			line += "  " + note
		}
		fmt.Fprintln(b, strings.TrimRight(line, " "))
		if s.Failure != nil {
			writeTextFailure(b, s.Failure, indent+"    ")
		}
		if s.Diff != "" {
			writeDiff(func(style, t string) { _, _ = io.WriteString(b, p.paint(style, t)) }, s.Diff, indent+"    ")
		}
	}
}

// stepNote is the one-line explanation printed after a step.
func stepNote(s result.Step) string { return withTags(s, stepNoteBare(s)) }

func stepNoteBare(s result.Step) string {
	switch {
	case s.Outcome == result.Failed:
		return failureWhy(s)
	case s.Changed != "" && s.Reason != "":
		return firstLine(s.Changed) + " (" + firstLine(s.Reason) + ")"
	case s.Changed != "":
		return firstLine(s.Changed)
	case s.Reason != "":
		return firstLine(s.Reason)
	}
	return ""
}

func writeTextFailure(b io.Writer, f *result.Failure, indent string) {
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(b, "%s%-8s %s\n", indent, name+":", indentRest(value, indent+"         "))
		}
	}
	field("host", f.Host)
	field("step", f.Step)
	field("phase", f.Phase)
	field("class", f.Class)
	field("command", clean(f.Command))
	if f.ExitCode != 0 {
		field("exit", fmt.Sprint(f.ExitCode))
	}
	field("message", strings.TrimSpace(clean(f.Message)))
	if out := tailLines(f.Output, maxOutputLines); out != "" {
		fmt.Fprintf(b, "%soutput:\n", indent)
		for _, l := range strings.Split(out, "\n") {
			fmt.Fprintln(b, strings.TrimRight(indent+"  "+l, " \t"))
		}
	}
	if k := f.Known; k != nil {
		field("known", clean(k.Title)+" ("+clean(k.ID)+")")
		field("fix", strings.TrimSpace(clean(k.Fix)))
		field("see", knownLink(k))
	}
}

// indentRest indents every line of s after the first.
func indentRest(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}

func pad(s string, width int) string {
	if n := width - utf8.RuneCountInString(s); n > 0 {
		return strings.Repeat(" ", n)
	}
	return ""
}

// hireName is "Name (username)".
func hireName(h result.Hire) string {
	switch {
	case h.Username != "" && h.Name != "":
		return h.Name + " (" + h.Username + ")"
	case h.Name != "":
		return h.Name
	case h.Username != "":
		return h.Username
	}
	return h.ID
}

// hireLine is "Name (username) on host, profile p".
func hireLine(h result.Hire) string {
	s := hireName(h)
	if h.Host != "" {
		s += " on " + h.Host
	}
	if h.Profile != "" {
		s += ", profile " + h.Profile
	}
	return s
}
