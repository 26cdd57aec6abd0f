package report

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// The leaver report: the evidence that a person's access ended, made from
// a recorded offboarding run only. Each access removal is shown with its
// proof as the run recorded it: the step's apply (verified by a check
// after it, or the step failed) and the handover re-check that found it
// still in place at the end. A removal proven by both is "proven"; any
// other is listed plainly under what did not hold, never as done.

// ModeOffboard is the journal mode (RunStart.Mode) of an offboarding run.
const ModeOffboard = "offboard"

// ErrNotOffboard: the run is not an offboarding, so it has no leaver report.
var ErrNotOffboard = errors.New("not an offboarding run")

// Removal statuses.
const (
	// RemovalProven: applied (or found in place), verified, and in place
	// at the handover re-check.
	RemovalProven = "proven"
	// RemovalUnproven: the step ended done but no re-check proved it at
	// the end of the run.
	RemovalUnproven = "not re-checked"
	// RemovalNotHeld: the re-check found it no longer in place.
	RemovalNotHeld = "did not hold"
	// RemovalFailed: the step failed (a not-yet refusal included).
	RemovalFailed = "failed"
	// RemovalSkipped: a step before it failed, so it did not run.
	RemovalSkipped = "skipped"
)

// LeaverReport is the evidence of one leaver's offboarding run. Its
// strings are data from HR and from the systems: the formats escape them.
type LeaverReport struct {
	RunID    string    `json:"run_id"`
	Mode     string    `json:"mode"`
	Operator string    `json:"operator"`
	Trigger  string    `json:"trigger,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// LeaveAt is the leave time the steps waited for (zero when none did).
	LeaveAt time.Time    `json:"leave_at,omitzero"`
	Leaver  LeaverPerson `json:"leaver"`
	// Complete: every removal is proven.
	Complete bool      `json:"complete"`
	Removals []Removal `json:"removals"`
	// Manual is what the run left to do by hand (a mailbox hand-over...).
	Manual []string `json:"manual,omitempty"`
}

// LeaverPerson is who left.
type LeaverPerson struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Username   string `json:"username"`
	Email      string `json:"email,omitempty"`
	Department string `json:"department,omitempty"`
	Manager    string `json:"manager,omitempty"`
	Host       string `json:"host,omitempty"`
}

// Removal is one access removal and its proof.
type Removal struct {
	Step  string `json:"step"`
	Kind  string `json:"kind"`
	What  string `json:"what"`  // "Account disabled", by kind
	Title string `json:"title"` // the plan's title of the step
	Where string `json:"where"` // the directory or host
	// Status is one of the Removal* constants; Held is Status == proven.
	Status  string `json:"status"`
	Held    bool   `json:"held"`
	Outcome string `json:"outcome"`
	// Verified: the step changed something and the check after its apply
	// found it in place (the engine fails a step whose verify does not).
	Verified bool `json:"verified_after_apply,omitempty"`
	// Applied is what the apply said it did (and saw: the groups before),
	// empty when the step found it in place.
	Applied string `json:"applied,omitempty"`
	// Found is what the check before apply found.
	Found string `json:"found,omitempty"`
	// Proof is what the handover re-check found, after every apply.
	Proof string `json:"proof,omitempty"`
	// Problem says why it is not proven: the failure, or the re-check.
	Problem string `json:"problem,omitempty"`
}

// removalWhat names what a removal kind proves, for a reader.
var removalWhat = map[string]string{
	plan.KindAccountDisable:    "Account disabled",
	plan.KindMembershipRemove:  "Removed from group",
	plan.KindPasswordScramble:  "Password changed",
	plan.KindAccountMove:       "Moved to the leavers OU",
	plan.KindAccountExpire:     "Expiry set",
	plan.KindComputerDisable:   "Computer account disabled",
	plan.KindAccountDelete:     "Account deleted",
	plan.KindLoginRevoke:       "Sign-in on the workstation refused",
	plan.KindHomeArchive:       "Home folder archived",
	plan.KindPrinterRemove:     "Printer unmapped",
	plan.KindWinPrinterRemove:  "Printer unmapped",
	plan.KindPackageRemove:     "Software removed",
	plan.KindWinSoftwareRemove: "Software removed",
	plan.KindLocalGroupRemove:  "Removed from local group",
}

// NewLeaverReport makes hire's leaver report (hire may be empty when the
// run has one) from a recorded run: its plan, its result (every step's
// finish and handover re-check) and its journal mode and trigger.
func NewLeaverReport(p *plan.Plan, res *result.Run, mode, trigger, hire string) (*LeaverReport, error) {
	if mode != ModeOffboard {
		return nil, fmt.Errorf("run %s has mode %q: %w", res.ID, mode, ErrNotOffboard)
	}
	if res.DryRun {
		return nil, fmt.Errorf("run %s is a dry run: it removed nothing, so it proves nothing", res.ID)
	}
	var h *plan.Hire
	for i := range p.Hires {
		if hire == "" || p.Hires[i].ID == hire {
			if h != nil {
				return nil, fmt.Errorf("run %s offboarded several people: name one with --hire", res.ID)
			}
			h = &p.Hires[i]
		}
	}
	if h == nil {
		return nil, fmt.Errorf("run %s has no leaver %s", res.ID, hire)
	}
	r := &LeaverReport{RunID: res.ID, Mode: mode, Operator: res.Operator, Trigger: trigger,
		Started: res.Started.UTC(), Finished: res.Finished.UTC(), Complete: true,
		Leaver: LeaverPerson{ID: h.ID, Name: h.Name, Username: h.Username, Email: h.Email,
			Department: h.Department, Manager: h.Manager, Host: h.Host},
		Manual: h.Manual}
	finished := map[string]result.Step{}
	for _, s := range res.Steps {
		finished[s.ID] = s
	}
	checked := map[string]result.Step{}
	for _, s := range res.Handover {
		checked[s.ID] = s
	}
	for _, s := range p.Steps {
		if s.Hire != h.ID {
			continue
		}
		if s.Leaver != nil && !s.Leaver.NotBefore.IsZero() && r.LeaveAt.IsZero() {
			r.LeaveAt = s.Leaver.NotBefore.UTC()
		}
		rm := newRemoval(s, finished, checked)
		r.Complete = r.Complete && rm.Held
		r.Removals = append(r.Removals, rm)
	}
	if len(r.Removals) == 0 {
		r.Complete = false
	}
	return r, nil
}

func newRemoval(s *plan.Step, finished, checked map[string]result.Step) Removal {
	what := removalWhat[s.Kind]
	if what == "" {
		what = s.Kind
	}
	where := s.Directory
	if s.Host != "" {
		where = s.Host
	}
	rm := Removal{Step: s.ID, Kind: s.Kind, What: what, Title: s.Title, Where: where}
	f, ok := finished[s.ID]
	if !ok {
		rm.Status, rm.Outcome, rm.Problem = RemovalFailed, "not run", "the run recorded no end of this step (interrupted?)"
		return rm
	}
	rm.Outcome = string(f.Outcome)
	if f.Outcome == result.Changed {
		rm.Applied, rm.Verified = f.Changed, true
	}
	rm.Found = f.Reason
	switch {
	case f.Outcome == result.Failed:
		rm.Status, rm.Problem = RemovalFailed, failureText(f)
		return rm
	case f.Outcome == result.Skipped:
		rm.Status, rm.Problem = RemovalSkipped, "not run: "+f.Reason
		return rm
	case !f.Outcome.Done():
		rm.Status, rm.Problem = RemovalFailed, "ended "+string(f.Outcome)
		return rm
	}
	c, ok := checked[s.ID]
	switch {
	case !ok:
		rm.Status, rm.Problem = RemovalUnproven, "no handover re-check proved it at the end of the run"
	case !c.Outcome.Done():
		rm.Status, rm.Problem = RemovalNotHeld, "the re-check after every apply found: "+failureText(c)
	default:
		rm.Status, rm.Held, rm.Proof = RemovalProven, true, c.Reason
	}
	return rm
}

// failureText is a failed step's message, with its phase.
func failureText(s result.Step) string {
	if s.Failure == nil {
		if s.Reason != "" {
			return s.Reason
		}
		return string(s.Outcome)
	}
	msg := s.Failure.Message
	if s.Failure.Phase != "" {
		msg = s.Failure.Phase + ": " + msg
	}
	if s.Failure.Class == result.ClassNotYet {
		msg += " (not yet: nothing was changed; a run after the leave time applies it)"
	}
	return msg
}

// Held counts the removals proven, of all.
func (r *LeaverReport) Held() (held, all int) {
	for _, rm := range r.Removals {
		if rm.Held {
			held++
		}
	}
	return held, len(r.Removals)
}

// NotHeld is the removals that are not proven.
func (r *LeaverReport) NotHeld() []Removal {
	var out []Removal
	for _, rm := range r.Removals {
		if !rm.Held {
			out = append(out, rm)
		}
	}
	return out
}

// shown is a copy for reading: known secrets scrubbed from every string,
// and, for people's formats (not JSON), control characters made visible.
func (r *LeaverReport) shown(forPeople bool) *LeaverReport {
	f := func(s string) string {
		s = secret.Scrub(s)
		if forPeople {
			s = visible(s)
		}
		return s
	}
	c := *r
	c.RunID, c.Mode, c.Operator, c.Trigger = f(r.RunID), f(r.Mode), f(r.Operator), f(r.Trigger)
	l := r.Leaver
	c.Leaver = LeaverPerson{ID: f(l.ID), Name: f(l.Name), Username: f(l.Username), Email: f(l.Email),
		Department: f(l.Department), Manager: f(l.Manager), Host: f(l.Host)}
	c.Removals = make([]Removal, len(r.Removals))
	for i, rm := range r.Removals {
		c.Removals[i] = Removal{Step: f(rm.Step), Kind: f(rm.Kind), What: f(rm.What), Title: f(rm.Title), Where: f(rm.Where),
			Status: rm.Status, Held: rm.Held, Outcome: f(rm.Outcome), Verified: rm.Verified, Applied: f(rm.Applied), Found: f(rm.Found),
			Proof: f(rm.Proof), Problem: f(rm.Problem)}
	}
	c.Manual = nil
	for _, m := range r.Manual {
		c.Manual = append(c.Manual, f(m))
	}
	return &c
}

// RenderLeaver is the leaver report in the format path names: .html
// (printable), .md or .json.
func RenderLeaver(path string, r *LeaverReport) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".md", ".markdown":
		err = writeLeaverMarkdown(&buf, r.shown(true))
	case ".html", ".htm":
		err = leaverTemplate.Execute(&buf, leaverHTML{r.shown(true)})
	case ".json":
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(r.shown(false))
	default:
		return nil, fmt.Errorf("leaver report %s: unknown extension %q (use .html, .md or .json)", path, filepath.Ext(path))
	}
	if err != nil {
		return nil, fmt.Errorf("leaver report %s: %w", path, err)
	}
	return buf.Bytes(), nil
}

// stamp is a time as the reports show it.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// verdict is the report's one-line conclusion.
func (r *LeaverReport) verdict() string {
	held, all := r.Held()
	if r.Complete {
		return fmt.Sprintf("Every access removal is proven (%d of %d).", held, all)
	}
	return fmt.Sprintf("NOT COMPLETE: %d of %d access removals proven; %d did not hold (below).", held, all, all-held)
}

//go:embed leaver.tmpl
var leaverSource string

var leaverTemplate = template.Must(template.New("leaver").Funcs(template.FuncMap{"stamp": stamp}).Parse(leaverSource))

// leaverHTML is the template's view.
type leaverHTML struct{ *LeaverReport }

func (v leaverHTML) Verdict() string { return v.verdict() }

func writeLeaverMarkdown(w io.Writer, r *LeaverReport) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "# Leaver report: %s\n\n", mdText(r.Leaver.Name))
	fmt.Fprintf(b, "**%s**\n\n", mdText(r.verdict()))
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	mdRow(b, "Employee id", mdCode(r.Leaver.ID))
	mdRow(b, "Name", mdText(r.Leaver.Name))
	mdRow(b, "Username", mdCode(r.Leaver.Username))
	for _, row := range [][2]string{{"Email", r.Leaver.Email}, {"Department", r.Leaver.Department},
		{"Manager", r.Leaver.Manager}, {"Workstation", r.Leaver.Host}} {
		if row[1] != "" {
			mdRow(b, row[0], mdText(row[1]))
		}
	}
	if !r.LeaveAt.IsZero() {
		mdRow(b, "Leave time", stamp(r.LeaveAt))
	}
	mdRow(b, "Run", mdCode(r.RunID))
	mdRow(b, "Run by", mdText(r.Operator))
	if r.Trigger != "" {
		mdRow(b, "Trigger", mdText(r.Trigger))
	}
	mdRow(b, "Started", stamp(r.Started))
	mdRow(b, "Finished", stamp(r.Finished))

	fmt.Fprintf(b, "\n## Access removed, with proof\n\n| Removal | Where | Status | Proof after apply |\n|---|---|---|---|\n")
	for _, rm := range r.Removals {
		proof := rm.Proof
		if !rm.Held {
			proof = rm.Problem
		}
		status := mdText(rm.Status)
		if !rm.Held {
			status = "**" + strings.ToUpper(status) + "**"
		}
		fmt.Fprintf(b, "| %s: %s | %s | %s | %s |\n", mdText(rm.What), mdText(rm.Title), mdText(rm.Where), status, mdCell(proof))
	}
	if n := r.NotHeld(); len(n) > 0 {
		fmt.Fprintf(b, "\n## Did not hold\n\n")
		for _, rm := range n {
			fmt.Fprintf(b, "- **%s** %s (%s): %s\n", mdText(strings.ToUpper(rm.Status)), mdText(rm.Title), mdCode(rm.Step), mdText(rm.Problem))
		}
	}
	fmt.Fprintf(b, "\n## What each step did\n\n")
	for _, rm := range r.Removals {
		fmt.Fprintf(b, "- %s (%s): %s", mdText(rm.Title), mdCode(rm.Step), mdText(rm.Outcome))
		if rm.Verified {
			fmt.Fprintf(b, ", verified after apply")
		}
		if rm.Applied != "" {
			fmt.Fprintf(b, "; applied: %s", mdText(rm.Applied))
		} else if rm.Found != "" && rm.Outcome == string(result.OK) {
			fmt.Fprintf(b, "; found in place: %s", mdText(rm.Found))
		}
		fmt.Fprintln(b)
	}
	if len(r.Manual) > 0 {
		fmt.Fprintf(b, "\n## Left to do by hand\n\n")
		for _, m := range r.Manual {
			fmt.Fprintf(b, "- [ ] %s\n", mdText(m))
		}
	}
	return b.Flush()
}
