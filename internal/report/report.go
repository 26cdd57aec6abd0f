// Package report writes what a run did for people and machines: the
// handover report (text, Markdown, HTML, JUnit XML, JSON), the printed plan
// and the live view of events (progress and JSON lines).
package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"onboard/internal/result"
	"onboard/internal/secret"
)

// Format writes the report of a finished run in one format. Every format
// scrubs known secrets from free text before writing.
type Format interface {
	Write(w io.Writer, r *result.Run) error
}

// ForPath chooses the format for a report file from its extension: .md,
// .html or .htm, .xml (JUnit), .json (the whole run) or .txt.
func ForPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".md", ".markdown":
		return Markdown{}, nil
	case ".html", ".htm":
		return HTML{}, nil
	case ".xml":
		return JUnit{}, nil
	case ".json":
		return JSON{}, nil
	case ".txt":
		return Text{}, nil
	}
	return nil, fmt.Errorf("report %s: unknown extension %q (use .md, .html, .xml, .json or .txt)", path, filepath.Ext(path))
}

// WriteFile writes the report of r to path in the format its extension
// names. The file appears whole or not at all (temporary file and rename),
// with mode 0644.
func WriteFile(path string, r *result.Run) error {
	b, err := Render(path, r)
	if err != nil {
		return err
	}
	return writeAtomic(path, b, 0o644)
}

// Render is the report of r in the format path's extension names.
func Render(path string, r *result.Run) ([]byte, error) {
	f, err := ForPath(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := f.Write(&buf, r); err != nil {
		return nil, fmt.Errorf("report %s: %w", path, err)
	}
	return buf.Bytes(), nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; a report is for sharing.
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}

// Only returns a copy of r limited to one hire: its steps, handover checks
// and summary. Use it to write the handover report a hire's manager gets.
func Only(r *result.Run, hire string) *result.Run {
	c := *r
	c.Hires = nil
	for _, h := range r.Hires {
		if h.ID == hire {
			c.Hires = append(c.Hires, h)
		}
	}
	c.Steps = filterSteps(r.Steps, hire)
	c.Handover = filterSteps(r.Handover, hire)
	return &c
}

func filterSteps(steps []result.Step, hire string) []result.Step {
	var out []result.Step
	for _, s := range steps {
		if s.Hire == hire {
			out = append(out, s)
		}
	}
	return out
}

// scrubRun returns a deep copy of r with known secrets removed from every
// free-text field, since remote output may echo a password.
func scrubRun(r *result.Run) *result.Run {
	if r == nil {
		return nil
	}
	c := *r
	c.Operator = secret.Scrub(r.Operator)
	c.Hires = make([]result.Hire, len(r.Hires))
	for i, h := range r.Hires {
		h.Name = secret.Scrub(h.Name)
		h.Manual = scrubAll(h.Manual)
		h.Added = scrubAll(h.Added)
		h.Contact = secret.Scrub(h.Contact)
		h.Notes = secret.Scrub(h.Notes)
		c.Hires[i] = h
	}
	c.Steps = scrubSteps(r.Steps)
	c.Handover = scrubSteps(r.Handover)
	c.Unreachable = scrubAll(r.Unreachable)
	return &c
}

func scrubSteps(steps []result.Step) []result.Step {
	if steps == nil {
		return nil
	}
	out := make([]result.Step, len(steps))
	for i, s := range steps {
		out[i] = scrubStep(s)
	}
	return out
}

func scrubStep(s result.Step) result.Step {
	s.Title = secret.Scrub(s.Title)
	s.Changed = secret.Scrub(s.Changed)
	s.Reason = secret.Scrub(s.Reason)
	s.Diff = secret.Scrub(s.Diff)
	if s.Failure != nil {
		f := *s.Failure
		f.Command = secret.Scrub(f.Command)
		f.Output = secret.Scrub(f.Output)
		f.Message = secret.Scrub(f.Message)
		s.Failure = &f
	}
	return s
}

func scrubAll(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = secret.Scrub(s)
	}
	return out
}

// Status lines of a hire's summary.
const (
	statusReady    = "READY FOR HANDOVER"
	statusNotReady = "NOT READY"
	statusPlan     = "PLAN (no changes made)"
	statusNoDrift  = "NO DRIFT: AS HANDED OVER"
	statusDrift    = "DRIFT FOUND"
	// An audit that could not check everything (a host unreachable) proves
	// nothing either way.
	statusNotChecked = "NOT FULLY CHECKED"
)

// maxOutputLines bounds the output tail printed for a failure.
const maxOutputLines = 30

// runView is what every human format shows, computed once.
type runView struct {
	Run      *result.Run // scrubbed
	Duration time.Duration
	Hires    []hireView
	// CannotTell counts dry-run steps whose check could not decide.
	CannotTell int
}

// hireView is the summary and the steps of one hire.
type hireView struct {
	Hire     result.Hire
	Ready    bool
	Status   string
	Counts   map[result.Outcome]int
	Duration time.Duration
	Manual   []string // left to do by hand
	Steps    []result.Step
	Handover []result.Step
	Failures []result.Step // failed steps and failed handover checks
}

// CountsText lists the outcome counts of the hire's steps.
func (h hireView) CountsText(dry bool) string {
	return countsText(h.Counts, dry)
}

// RunCounts is CountsText in the words of the run's kind: an audit counts
// what still holds and what drifted.
func (h hireView) RunCounts(r *result.Run) string {
	if r.Audit {
		c := h.Counts
		s := fmt.Sprintf("%d as handed over, %d drifted", c[result.OK], c[result.Failed])
		if n := c[result.CannotTell] + c[result.Skipped]; n > 0 {
			s += fmt.Sprintf(", %d could not be checked", n)
		}
		return s
	}
	return h.CountsText(r.DryRun)
}

func countsText(c map[result.Outcome]int, dry bool) string {
	if dry {
		return fmt.Sprintf("%d would change, %d cannot tell, %d already in place, %d failed",
			c[result.WouldChange], c[result.CannotTell], c[result.OK], c[result.Failed])
	}
	s := fmt.Sprintf("%d ok, %d changed, %d failed, %d skipped",
		c[result.OK], c[result.Changed], c[result.Failed], c[result.Skipped])
	// Outcomes that belong to a dry run should not appear here, but if they
	// do they must not vanish from the counts.
	if n := c[result.WouldChange]; n > 0 {
		s += fmt.Sprintf(", %d would change", n)
	}
	if n := c[result.CannotTell]; n > 0 {
		s += fmt.Sprintf(", %d cannot tell", n)
	}
	return s
}

// errNoRun is returned for a nil run, a caller's mistake.
var errNoRun = errors.New("report: no run to report")

func newRunView(orig *result.Run) (runView, error) {
	if orig == nil {
		return runView{}, errNoRun
	}
	r := showRun(scrubRun(orig))
	v := runView{Run: r, Duration: r.Finished.Sub(r.Started)}
	if r.Finished.IsZero() || v.Duration < 0 {
		v.Duration = 0
	}
	hires := append([]result.Hire(nil), r.Hires...)
	known := map[string]bool{}
	for _, h := range hires {
		known[h.ID] = true
	}
	// Steps of no listed hire (shared steps) still need to be shown.
	for _, list := range [][]result.Step{r.Steps, r.Handover} {
		for _, s := range list {
			if !known[s.Hire] {
				known[s.Hire] = true
				name := s.Hire
				if name == "" {
					name = "Shared steps"
				}
				hires = append(hires, result.Hire{ID: s.Hire, Name: name})
			}
		}
	}
	for _, h := range hires {
		hv := hireView{
			Hire:     h,
			Ready:    r.Ready(h.ID),
			Steps:    filterSteps(r.Steps, h.ID),
			Handover: filterSteps(r.Handover, h.ID),
		}
		hv.Counts = result.Counts(hv.Steps)
		hv.Duration = span(hv.Steps, hv.Handover)
		switch {
		case r.Audit:
			switch {
			case result.Unwaived(hv.Steps) > 0 || len(h.Added) > 0:
				hv.Status = statusDrift
			case hv.Counts[result.OK] == len(hv.Steps):
				hv.Status = statusNoDrift
			default:
				hv.Status = statusNotChecked
			}
		case r.DryRun:
			hv.Status = statusPlan
		case hv.Ready:
			hv.Status = statusReady
		default:
			hv.Status = statusNotReady
		}
		hv.Manual = append(hv.Manual, h.Manual...)
		for _, s := range hv.Steps {
			if s.Outcome == result.Failed {
				hv.Failures = append(hv.Failures, s)
			}
			if s.Outcome == result.CannotTell {
				v.CannotTell++
			}
		}
		for _, s := range hv.Handover {
			if s.Outcome == result.Failed {
				// The same title may have failed in apply too: say which.
				s.Title = "Handover check: " + s.Title
				hv.Failures = append(hv.Failures, s)
			}
		}
		if !r.DryRun && !hv.Ready {
			hv.Manual = append(hv.Manual, todo(r, hv)...)
		}
		v.Hires = append(v.Hires, hv)
	}
	return v, nil
}

// todo lists what a technician must fix before a hire is ready.
func todo(r *result.Run, hv hireView) []string {
	var out []string
	for _, s := range hv.Steps {
		if s.Outcome == result.Failed && !s.Waived() {
			out = append(out, "Fix failed step: "+failureSummary(s))
		}
	}
	for _, s := range hv.Handover {
		if !s.Outcome.Done() && !s.Waived() {
			out = append(out, "Handover check "+string(s.Outcome)+": "+failureSummary(s))
		}
	}
	skipped := hv.Counts[result.Skipped]
	if skipped == 1 {
		out = append(out, "Run onboard again after the fix: 1 step was skipped")
	} else if skipped > 1 {
		out = append(out, fmt.Sprintf("Run onboard again after the fix: %d steps were skipped", skipped))
	}
	if len(hv.Handover) == 0 && len(hv.Steps) > 0 {
		out = append(out, "The handover re-check did not run")
	}
	hosts := map[string]bool{}
	for _, s := range hv.Steps {
		hosts[s.Host] = true
	}
	for _, u := range r.Unreachable {
		if hosts[u] {
			out = append(out, "Host "+u+" could not be reached")
		}
	}
	return out
}

// failureSummary says in one line what failed, where and why.
func failureSummary(s result.Step) string {
	out := s.Title
	if s.Host != "" {
		out += " on " + s.Host
	}
	if why := failureWhy(s); why != "" {
		out += " (" + why + ")"
	}
	return out
}

// checkTags says which check set a check comes from and how a waiver
// stands: "baseline@1", "waived: REASON, until DATE", or "waiver expired
// DATE (REASON): counts again". Empty for other steps.
func checkTags(s result.Step) string {
	var tags []string
	if s.Set != "" {
		tags = append(tags, "set "+s.Set)
	}
	if w := s.Waiver; w != nil {
		switch {
		case w.Expired:
			tags = append(tags, fmt.Sprintf("waiver expired %s (%s): counts again", w.Expires, firstLine(w.Reason)))
		case !s.Outcome.Done():
			tags = append(tags, fmt.Sprintf("waived: %s, until %s", firstLine(w.Reason), w.Expires))
		default:
			tags = append(tags, fmt.Sprintf("waiver until %s not needed: passes", w.Expires))
		}
	}
	return strings.Join(tags, "; ")
}

// withTags puts a check's tags before its note: "[set baseline@1; waived:
// ...] evidence".
func withTags(s result.Step, note string) string {
	t := checkTags(s)
	switch {
	case t == "":
		return note
	case note == "":
		return "[" + t + "]"
	}
	return "[" + t + "] " + note
}

// failureWhy is "phase: exit N: message" of a failed step.
func failureWhy(s result.Step) string {
	var why []string
	if f := s.Failure; f != nil {
		if f.Phase != "" {
			why = append(why, f.Phase)
		}
		if f.Class != "" {
			why = append(why, f.Class)
		}
		if f.ExitCode != 0 {
			why = append(why, fmt.Sprintf("exit %d", f.ExitCode))
		}
		if m := firstLine(f.Message); m != "" {
			why = append(why, m)
		}
	} else if s.Reason != "" {
		why = append(why, firstLine(s.Reason))
	}
	return strings.Join(why, ": ")
}

// span is the wall-clock time from the first step's start to the last
// step's end; steps run in parallel, so durations do not add up.
func span(lists ...[]result.Step) time.Duration {
	var first, last time.Time
	for _, l := range lists {
		for _, s := range l {
			if s.Started.IsZero() {
				continue
			}
			if first.IsZero() || s.Started.Before(first) {
				first = s.Started
			}
			if end := s.Started.Add(s.Duration); end.After(last) {
				last = end
			}
		}
	}
	if first.IsZero() {
		return 0
	}
	return last.Sub(first)
}

// fmtDur prints a duration for people: "0.4s", "12.0s", "1m4s".
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// fmtTime prints a time in its own location.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

func firstLine(s string) string {
	s = strings.TrimSpace(clean(s))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i]) + " …"
	}
	return s
}

// tailLines keeps the last n lines of cleaned output and says how many
// were left out.
func tailLines(s string, n int) string {
	s = strings.Trim(clean(s), "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	cut := len(lines) - n
	return fmt.Sprintf("… (%d earlier lines left out)\n", cut) + strings.Join(lines[cut:], "\n")
}

// clean makes remote output safe to print: it drops ANSI escape sequences
// and control characters (a terminal would otherwise obey them), and keeps
// of each line only what follows its last carriage return, as a terminal
// shows a progress bar.
func clean(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		lines[i] = stripControl(l)
	}
	return strings.Join(lines, "\n")
}

func stripControl(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; {
		case c == '\x1b':
			i = skipEscape(rs, i)
		case c == '\t' || !isControl(c):
			b.WriteRune(c)
		}
	}
	return b.String()
}

func isControl(c rune) bool {
	// U+FFFE and U+FFFF are not allowed in XML either.
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0xfffe || c == 0xffff
}

// skipEscape returns the index of the last rune of the escape sequence
// starting at rs[i] (ESC).
func skipEscape(rs []rune, i int) int {
	if i+1 >= len(rs) {
		return i
	}
	switch rs[i+1] {
	case '[': // CSI: parameters, then a final byte in @..~
		j := i + 2
		for j < len(rs) && (rs[j] < 0x40 || rs[j] > 0x7e) {
			j++
		}
		return j
	case ']': // OSC: ends with BEL or ESC \
		j := i + 2
		for j < len(rs) {
			if rs[j] == '\a' {
				return j
			}
			if rs[j] == '\x1b' && j+1 < len(rs) && rs[j+1] == '\\' {
				return j + 1
			}
			j++
		}
		return j
	default:
		return i + 1
	}
}

// knownLink is a known failure's link if it is a plain web address (the
// knowledge base allows no other, but a journal may be edited): nothing a
// report links or prints can be a script or break out of its markup.
func knownLink(k *result.Known) string {
	u, err := url.Parse(k.Link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(k.Link, " \t\r\n<>\"'`()[]\\") {
		return ""
	}
	return k.Link
}
