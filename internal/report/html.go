package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"onboard/internal/result"
)

// HTML is the handover report as one self-contained page (inline CSS, no
// scripts, nothing fetched from the network) that a technician can hand
// to the hire's manager. Every value is escaped by html/template.
type HTML struct{}

//go:embed html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

type htmlData struct {
	Title      string
	DryRun     bool
	Heading    string // the page's h1 when not the default
	RunID      string
	Operator   string
	Started    string
	Finished   string
	Duration   string
	Unreach    string
	Hires      []htmlHire
	CannotTell int
}

type htmlHire struct {
	Name        string
	Username    string
	Host        string
	Profile     string
	StartDate   string
	Manager     string
	Contact     string
	Notes       string
	Status      string
	StatusClass string
	Counts      string
	Duration    string
	Manual      []string
	Added       []string
	Changes     []htmlChange // an audit's checks whose evidence changed
	Unchanged   string       // and those whose did not
	Steps       []htmlStep
	Handover    []htmlStep
	Failures    []htmlFailure
}

type htmlStep struct {
	Class    string
	Label    string
	Title    string
	Host     string
	Duration string
	Note     string
}

type htmlFailure struct {
	Title    string
	Host     string
	Step     string
	Phase    string
	Class    string
	Command  string
	ExitCode string
	Message  string
	Output   string
	Known    *htmlKnown
}

// htmlKnown is the knowledge-base article matched to a failure.
type htmlKnown struct {
	ID, Title, Fix, Link string
}

func (HTML) Write(w io.Writer, r *result.Run) error {
	v, err := newRunView(r)
	if err != nil {
		return err
	}
	run := v.Run
	d := htmlData{
		DryRun:     run.DryRun,
		RunID:      run.ID,
		Operator:   run.Operator,
		Started:    fmtTime(run.Started),
		Finished:   fmtTime(run.Finished),
		Duration:   fmtDur(v.Duration),
		Unreach:    strings.Join(run.Unreachable, ", "),
		CannotTell: v.CannotTell,
	}
	switch {
	case run.Audit:
		d.Title = "Audit of completed setups: run " + run.ID
		d.Heading = "Audit of completed setups"
	case len(v.Hires) == 1 && run.DryRun:
		d.Title = "Onboarding plan: " + hireName(v.Hires[0].Hire)
	case len(v.Hires) == 1:
		d.Title = "Onboarding handover: " + hireName(v.Hires[0].Hire)
	case run.DryRun:
		d.Title = "Onboarding plan: run " + run.ID
	default:
		d.Title = "Onboarding handover: run " + run.ID
	}
	for _, h := range v.Hires {
		hh := htmlHire{
			Name:      h.Hire.Name,
			Username:  h.Hire.Username,
			Host:      h.Hire.Host,
			Profile:   h.Hire.Profile,
			StartDate: h.Hire.StartDate,
			Manager:   h.Hire.Manager,
			Contact:   strings.TrimSpace(clean(h.Hire.Contact)),
			Notes:     strings.TrimSpace(clean(h.Hire.Notes)),
			Status:    h.Status,
			Counts:    h.RunCounts(run),
			Duration:  fmtDur(h.Duration),
			Steps:     htmlSteps(h.Steps),
			Handover:  htmlSteps(h.Handover),
		}
		switch h.Status {
		case statusReady, statusNoDrift:
			hh.StatusClass = "ready"
		case statusNotReady, statusDrift, statusNotChecked:
			hh.StatusClass = "notready"
		default:
			hh.StatusClass = "plan"
		}
		hh.Changes, hh.Unchanged = htmlEvidence(h.Steps)
		for _, m := range h.Hire.Added {
			hh.Added = append(hh.Added, strings.TrimSpace(clean(m)))
		}
		for _, m := range h.Manual {
			hh.Manual = append(hh.Manual, strings.TrimSpace(clean(m)))
		}
		for _, s := range h.Failures {
			hh.Failures = append(hh.Failures, htmlFail(s))
		}
		d.Hires = append(d.Hires, hh)
	}
	return htmlTemplate.Execute(w, d)
}

func htmlSteps(steps []result.Step) []htmlStep {
	var out []htmlStep
	for _, s := range steps {
		out = append(out, htmlStep{
			Class:    "o-" + outcomeClass(s.Outcome),
			Label:    outcomeLabel(s.Outcome),
			Title:    s.Title,
			Host:     s.Host,
			Duration: fmtDur(s.Duration),
			Note:     strings.TrimSpace(clean(stepNoteFull(s))),
		})
	}
	return out
}

// stepNoteFull is stepNote with all lines kept; HTML can show them.
func stepNoteFull(s result.Step) string { return withTags(s, stepNoteFullBare(s)) }

func stepNoteFullBare(s result.Step) string {
	switch {
	case s.Outcome == result.Failed:
		return failureWhy(s)
	case s.Changed != "" && s.Reason != "":
		return s.Changed + " (" + s.Reason + ")"
	case s.Changed != "":
		return s.Changed
	}
	return s.Reason
}

// outcomeClass is a CSS class name for an outcome, from a fixed set.
func outcomeClass(o result.Outcome) string {
	switch o {
	case result.OK, result.Changed, result.Failed, result.Skipped, result.WouldChange, result.CannotTell:
		return string(o)
	}
	return "unknown"
}

func htmlFail(s result.Step) htmlFailure {
	hf := htmlFailure{Title: s.Title, Host: s.Host, Message: strings.TrimSpace(clean(s.Reason))}
	if f := s.Failure; f != nil {
		hf.Host = f.Host
		hf.Step = f.Step
		hf.Phase = f.Phase
		hf.Class = f.Class
		hf.Command = clean(f.Command)
		if f.ExitCode != 0 {
			hf.ExitCode = fmt.Sprint(f.ExitCode)
		}
		hf.Message = strings.TrimSpace(clean(f.Message))
		hf.Output = tailLines(f.Output, maxOutputLines)
		if k := f.Known; k != nil {
			hf.Known = &htmlKnown{ID: clean(k.ID), Title: clean(k.Title), Fix: strings.TrimSpace(clean(k.Fix)), Link: knownLink(k)}
		}
	}
	return hf
}
