package report

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"onboard/internal/result"
)

// redrawEvery bounds how often the live view is redrawn (10 per second).
const redrawEvery = 100 * time.Millisecond

// maxRunningShown bounds the running steps listed in the live view.
const maxRunningShown = 8

// Progress shows a run as it happens. On a terminal it keeps a live view
// (running steps with their elapsed time, done and failed counts) redrawn
// in place with ANSI escapes, with a line printed above it for every
// finished step; elsewhere it prints only those lines. It is a
// result.Observer and safe for concurrent use. Call Close when the run is
// over, before anything else writes to the same terminal.
type Progress struct {
	w    io.Writer
	file *os.File // w, when it is a file, to ask for its width
	now  func() time.Time

	mu       sync.Mutex
	live     bool
	handover bool
	total    int
	done     int
	failed   int
	started  time.Time
	finished time.Time
	running  map[string]runningStep
	seq      int      // start order of running steps
	pending  []string // finished lines not yet printed (live view)
	region   string   // the live region as last drawn
	lines    int      // lines of that region

	stop   chan struct{}
	exited chan struct{}
	once   sync.Once
}

type runningStep struct {
	host, title string
	since       time.Time
	seq         int
}

// NewProgress returns a progress view writing to w. With isTerminal it
// draws the live view (use IsTerminal to decide); otherwise plain lines.
func NewProgress(w io.Writer, isTerminal bool) *Progress {
	p := &Progress{
		w:       w,
		now:     time.Now,
		live:    isTerminal,
		running: map[string]runningStep{},
		stop:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	p.file, _ = w.(*os.File)
	if isTerminal {
		go p.loop()
	} else {
		close(p.exited)
	}
	return p
}

func (p *Progress) loop() {
	defer close(p.exited)
	t := time.NewTicker(redrawEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.live {
				p.draw(false)
			}
			p.mu.Unlock()
		}
	}
}

// Close stops the live view and leaves its final state on the screen.
// Events after Close are printed as plain lines. Close may be called more
// than once.
func (p *Progress) Close() {
	p.once.Do(func() {
		close(p.stop)
		<-p.exited
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.live {
			p.draw(true)
			p.live = false
		}
	})
}

// Event records one event of the run.
func (p *Progress) Event(e result.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := e.Time
	if at.IsZero() {
		at = p.now()
	}
	switch e.Type {
	case result.RunStarted:
		p.started, p.total, p.done, p.failed = at, e.Total, 0, 0
		p.finished = time.Time{}
		p.line(fmt.Sprintf("run %s: %d steps", e.RunID, e.Total))
	case result.HandoverStarted:
		p.handover, p.total, p.done, p.failed = true, e.Total, 0, 0
		p.line(fmt.Sprintf("handover re-check: %d checks", e.Total))
	case result.StepStarted:
		if e.Step == nil {
			return
		}
		s := scrubStep(*e.Step)
		p.seq++
		p.running[s.ID] = runningStep{host: visible(s.Host), title: firstLine(visible(s.Title)), since: at, seq: p.seq}
	case result.StepFinished:
		if e.Step == nil {
			return
		}
		s := scrubStep(*e.Step)
		delete(p.running, s.ID)
		p.done++
		if s.Outcome == result.Failed {
			p.failed++
		}
		p.line(p.finishedLine(s))
	case result.RunFinished:
		p.finished = at
		p.line(p.summaryLine(e.Run, at))
	}
}

// Write prints text as permanent lines above the live view and redraws at
// once, so that something the technician must read (an initial password
// delivered to the terminal) is never wiped by the next redraw.
func (p *Progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		p.line(l)
	}
	if p.live {
		p.draw(false)
	}
	return len(b), nil
}

// line prints a permanent line: at once in plain mode, above the live
// region at the next redraw otherwise.
func (p *Progress) line(s string) {
	// The view's own escapes are written by draw; a line's never act.
	s = visible(s)
	if p.live {
		p.pending = append(p.pending, s)
		return
	}
	_, _ = io.WriteString(p.w, s+"\n")
}

// finishedLine is "ok      ws1  Install acme-chat 3.1.0  (0.4s)", with the
// reason for anything that is not done.
func (p *Progress) finishedLine(s result.Step) string {
	host := visible(s.Host)
	if host == "" {
		host = "-"
	}
	title := firstLine(visible(s.Title))
	if p.handover {
		title = "re-check: " + title
	}
	out := fmt.Sprintf("%-7s %s  %s  (%s)", string(s.Outcome), host, title, fmtDur(s.Duration))
	var note string
	switch {
	case s.Outcome == result.Failed:
		note = failureWhy(s)
	case s.Outcome == result.Changed:
		note = firstLine(s.Changed)
	case s.Outcome != result.OK:
		note = firstLine(s.Reason)
	}
	if note != "" {
		out += "  " + note
	}
	return out
}

func (p *Progress) summaryLine(r *result.Run, at time.Time) string {
	elapsed := fmtDur(at.Sub(p.started))
	if r == nil {
		return "finished in " + elapsed
	}
	steps := r.Steps
	return fmt.Sprintf("finished run %s in %s: %s", r.ID, elapsed, countsText(result.Counts(steps), r.DryRun))
}

// status is the last line of the live view.
func (p *Progress) status() string {
	elapsed := time.Duration(0)
	if !p.started.IsZero() {
		end := p.finished
		if end.IsZero() {
			end = p.now()
		}
		elapsed = end.Sub(p.started)
	}
	what := "steps"
	if p.handover {
		what = "handover checks"
	}
	s := fmt.Sprintf("%d/%d %s done", p.done, p.total, what)
	if p.failed > 0 {
		s += fmt.Sprintf(", %d failed", p.failed)
	}
	if n := len(p.running); n > 0 {
		s += fmt.Sprintf(", %d running", n)
	}
	return s + ", " + fmtDur(elapsed) + " elapsed"
}

// draw redraws the live region in place: up to the region's first line,
// clear to the end of the screen, print pending lines, then the region.
// With final, the running steps are left out and the status stays.
func (p *Progress) draw(final bool) {
	width := termWidth(p.file) - 1
	var region strings.Builder
	lines := 0
	if !final && len(p.running) > 0 {
		run := make([]runningStep, 0, len(p.running))
		for _, r := range p.running {
			run = append(run, r)
		}
		slices.SortFunc(run, func(a, b runningStep) int {
			if c := a.since.Compare(b.since); c != 0 {
				return c
			}
			return cmp.Compare(a.seq, b.seq)
		})
		now := p.now()
		for i, r := range run {
			if i == maxRunningShown {
				region.WriteString(fit(fmt.Sprintf("        … and %d more", len(run)-i), width) + "\n")
				lines++
				break
			}
			host := r.host
			if host == "" {
				host = "-"
			}
			region.WriteString(fit(fmt.Sprintf("running %s  %s  (%s)", host, r.title, fmtDur(now.Sub(r.since))), width) + "\n")
			lines++
		}
	}
	if p.total > 0 || !p.started.IsZero() {
		region.WriteString(fit(p.status(), width) + "\n")
		lines++
	}
	if region.String() == p.region && len(p.pending) == 0 && !final {
		return
	}
	var b strings.Builder
	if p.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.lines)
	}
	b.WriteString("\r\x1b[J")
	for _, l := range p.pending {
		b.WriteString(l + "\n")
	}
	b.WriteString(region.String())
	p.pending = p.pending[:0]
	p.region, p.lines = region.String(), lines
	if final {
		p.region, p.lines = "", 0
	}
	_, _ = io.WriteString(p.w, b.String())
}

// fit cuts s to width runes so that a line never wraps, which would break
// the cursor arithmetic of the redraw.
func fit(s string, width int) string {
	if width <= 0 || utf8.RuneCountInString(s) <= width {
		return s
	}
	rs := []rune(s)
	return string(rs[:width-1]) + "…"
}
