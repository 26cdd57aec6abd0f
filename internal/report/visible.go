package report

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"onboard/internal/result"
	"onboard/internal/strictyaml"
)

// visible makes text safe for a terminal and shows what it holds: every
// control character (ESC, BEL, DEL, C1, bidirectional overrides) is written
// as a Go escape such as \x1b or \u202e, so that a name or title can
// neither move the cursor nor recolour the screen, yet a reader sees it.
// Newlines and tabs stay, as multi-line text needs them.
func visible(s string) string {
	if !strings.ContainsFunc(s, func(c rune) bool { return c != '\n' && c != '\t' && strictyaml.IsControl(c) }) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		switch {
		case c == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case c == '\n' || c == '\t' || !strictyaml.IsControl(c):
			b.WriteRune(c)
		case c < 0x80:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			fmt.Fprintf(&b, `\u%04x`, c)
		}
	}
	return b.String()
}

// visibleAll applies visible to each string of a list, copying it.
func visibleAll(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = visible(s)
	}
	return out
}

// showRun returns a copy of an already scrubbed run with every string made
// visible, for the formats people read (text, Markdown, HTML, JUnit).
func showRun(r *result.Run) *result.Run {
	c := *r
	c.ID, c.Operator, c.JournalError = visible(r.ID), visible(r.Operator), visible(r.JournalError)
	c.Hires = make([]result.Hire, len(r.Hires))
	for i, h := range r.Hires {
		h.ID, h.Name, h.Username, h.Host = visible(h.ID), visible(h.Name), visible(h.Username), visible(h.Host)
		h.Profile, h.Source, h.StartDate = visible(h.Profile), visible(h.Source), visible(h.StartDate)
		h.Manager, h.Email, h.Contact, h.Notes = visible(h.Manager), visible(h.Email), visible(h.Contact), visible(h.Notes)
		h.Manual, h.Added = visibleAll(h.Manual), visibleAll(h.Added)
		c.Hires[i] = h
	}
	c.Steps = showSteps(r.Steps)
	c.Handover = showSteps(r.Handover)
	c.Unreachable = visibleAll(r.Unreachable)
	return &c
}

func showSteps(steps []result.Step) []result.Step {
	if steps == nil {
		return nil
	}
	out := make([]result.Step, len(steps))
	for i, s := range steps {
		out[i] = showStep(s)
	}
	return out
}

func showStep(s result.Step) result.Step {
	s.ID, s.Kind, s.Hire, s.Host, s.Title = visible(s.ID), visible(s.Kind), visible(s.Hire), visible(s.Host), visible(s.Title)
	s.Action, s.Changed, s.Reason = visible(s.Action), visible(s.Changed), visible(s.Reason)
	s.Diff = visible(s.Diff)
	if s.Failure != nil {
		f := *s.Failure
		f.Host, f.Step, f.Command, f.Message = visible(f.Host), visible(f.Step), visible(f.Command), visible(f.Message)
		// Output is remote program output: its colour codes are dropped
		// (clean), what is left of other controls is shown.
		f.Output = visible(clean(f.Output))
		s.Failure = &f
	}
	return s
}

// jsonControls writes as \u escapes the control characters that
// encoding/json leaves raw (DEL, C1, bidirectional overrides): the same
// JSON value, with nothing a terminal would obey when it is printed.
func jsonControls(data []byte) []byte {
	if !bytes.ContainsFunc(data, func(c rune) bool { return strictyaml.IsControl(c) && c >= 0x7f }) {
		return data
	}
	var b bytes.Buffer
	for len(data) > 0 {
		c, n := utf8.DecodeRune(data)
		if c >= 0x7f && strictyaml.IsControl(c) {
			fmt.Fprintf(&b, `\u%04x`, c)
		} else {
			b.Write(data[:n])
		}
		data = data[n:]
	}
	return b.Bytes()
}

// Visible is visible for other packages' HTML and text: control characters
// (bidirectional overrides included) written as Go escapes a reader sees.
func Visible(s string) string { return visible(s) }
