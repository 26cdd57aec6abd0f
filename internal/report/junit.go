package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"onboard/internal/result"
)

// JUnit is the run as JUnit XML for CI dashboards: one testsuite per hire,
// one testcase per step and per handover check (classname "handover").
// Failed steps are failures typed by phase and skipped steps are skipped.
// In a dry run, would-change is a failure of type "would-change" (the
// machine is not as the playbook says) and cannot-tell is an error (the
// check could not run), so neither reads as a pass.
type JUnit struct{}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string       `xml:"name,attr"`
	Classname string       `xml:"classname,attr"`
	Time      string       `xml:"time,attr"`
	Failure   *junitResult `xml:"failure,omitempty"`
	Error     *junitResult `xml:"error,omitempty"`
	Skipped   *junitResult `xml:"skipped,omitempty"`
	SystemOut string       `xml:"system-out,omitempty"`
}

// junitResult keeps its text in CDATA so the output reads as lines;
// clean has removed every character XML does not allow.
type junitResult struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

func (JUnit) Write(w io.Writer, r *result.Run) error {
	v, err := newRunView(r)
	if err != nil {
		return err
	}
	run := v.Run
	doc := junitSuites{Name: "onboard run " + run.ID, Time: seconds(v.Duration)}
	if run.DryRun {
		doc.Name = "onboard plan " + run.ID + " (no changes made)"
	}
	for _, h := range v.Hires {
		s := junitSuite{
			Name:     hireName(h.Hire),
			Time:     seconds(h.Duration),
			Hostname: h.Hire.Host,
		}
		if t := firstStart(h.Steps); !t.IsZero() {
			s.Timestamp = t.Format(time.RFC3339)
		}
		prop := func(name, value string) {
			if value != "" {
				s.Properties = append(s.Properties, junitProperty{name, value})
			}
		}
		prop("hire", h.Hire.ID)
		prop("username", h.Hire.Username)
		prop("profile", h.Hire.Profile)
		prop("status", h.Status)
		if run.DryRun {
			prop("dry_run", "true")
		}
		for _, st := range h.Steps {
			class := st.Kind
			if class == "" {
				class = "step"
			}
			s.Cases = append(s.Cases, junitStep(st, class))
		}
		for _, st := range h.Handover {
			s.Cases = append(s.Cases, junitStep(st, "handover"))
		}
		for _, c := range s.Cases {
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// junitStep is a step as a test case; in an audit its output also says
// how the check's evidence changed since it was last recorded.
func junitStep(s result.Step, class string) junitCase {
	c := junitCaseOf(s, class)
	if ev := evidenceNote(s); ev != "" {
		c.SystemOut = strings.TrimSpace(c.SystemOut + "\n" + clean(ev))
	}
	return c
}

func junitCaseOf(s result.Step, class string) junitCase {
	name := s.Title
	if s.Host != "" {
		name += " [" + s.Host + "]"
	}
	c := junitCase{Name: name, Classname: class, Time: seconds(s.Duration)}
	switch {
	case s.Waived():
		// Excused for this hire: not a failure of the handover, and the
		// evidence still shown.
		c.Skipped = &junitResult{Message: firstLine(checkTags(s))}
		c.SystemOut = strings.TrimSpace(clean(stepNoteFull(s)))
		return c
	case s.Waiver != nil && s.Waiver.Expired && s.Failure != nil:
		c.Failure = junitFailure(s)
		c.Failure.Message = firstLine(checkTags(s)) + ": " + c.Failure.Message
		return c
	}
	switch s.Outcome {
	case result.OK, result.Changed:
		c.SystemOut = strings.TrimSpace(clean(stepNoteFull(s)))
	case result.Failed:
		c.Failure = junitFailure(s)
	case result.Skipped:
		c.Skipped = &junitResult{Message: firstLine(s.Reason)}
	case result.WouldChange:
		c.Failure = &junitResult{
			Type:    "would-change",
			Message: firstLine("would change: " + s.Reason),
			Text:    strings.TrimSpace(clean(s.Reason)),
		}
	case result.CannotTell:
		c.Error = &junitResult{
			Type:    "cannot-tell",
			Message: firstLine("cannot tell: " + s.Reason),
			Text:    strings.TrimSpace(clean(s.Reason)),
		}
	default:
		c.Error = &junitResult{Type: "unknown", Message: "unknown outcome " + string(s.Outcome)}
	}
	return c
}

func junitFailure(s result.Step) *junitResult {
	f := s.Failure
	if f == nil {
		return &junitResult{Type: "failed", Message: firstLine(s.Reason), Text: strings.TrimSpace(clean(s.Reason))}
	}
	var b strings.Builder
	line := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-8s %s\n", name+":", value)
		}
	}
	line("host", f.Host)
	line("step", f.Step)
	line("phase", f.Phase)
	line("class", f.Class)
	line("command", clean(f.Command))
	if f.ExitCode != 0 {
		line("exit", fmt.Sprint(f.ExitCode))
	}
	line("message", strings.TrimSpace(clean(f.Message)))
	if out := tailLines(f.Output, maxOutputLines); out != "" {
		b.WriteString("output:\n" + out + "\n")
	}
	typ := f.Phase
	if f.Class != "" {
		typ = f.Class
	}
	if typ == "" {
		typ = "failed"
	}
	return &junitResult{Type: typ, Message: firstLine(f.Message), Text: b.String()}
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f", d.Seconds())
}

func firstStart(steps []result.Step) time.Time {
	var t time.Time
	for _, s := range steps {
		if !s.Started.IsZero() && (t.IsZero() || s.Started.Before(t)) {
			t = s.Started
		}
	}
	return t
}
