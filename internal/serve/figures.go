package serve

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"onboard/internal/journal"
	"onboard/internal/serve/store"
	"onboard/internal/stats"
)

// figuresMonths is how many months (this one included) the status page's
// service figures cover.
const figuresMonths = 12

// figuresCache holds the last figures computed, by the journal's head and
// the period: the page reloads every few seconds, and the figures change
// only when a run records something.
type figuresCache struct {
	mu  sync.Mutex
	key string
	rep *stats.Report
}

// figures computes the service figures of the last figuresMonths months
// from the verified journal and the events' arrivals; nil without a
// journal.
func (p *page) figures(ctx context.Context, now time.Time) (*stats.Report, error) {
	j := p.h.s.cfg.Journal
	if j == nil {
		return nil, nil
	}
	now = now.UTC()
	since := time.Date(now.Year(), now.Month()-figuresMonths+1, 1, 0, 0, 0, 0, time.UTC)
	head, err := j.Head(ctx)
	if err != nil {
		return nil, err
	}
	key := head.String() + " " + since.Format(time.DateOnly)
	p.fig.mu.Lock()
	defer p.fig.mu.Unlock()
	if p.fig.key == key {
		return p.fig.rep, nil
	}
	runs, err := stats.Load(ctx, j)
	if err != nil {
		return nil, err
	}
	arrivals, err := store.EventArrivals(ctx, p.h.s.store.DB)
	if err != nil {
		return nil, err
	}
	rep, err := stats.Compute(runs, stats.Options{By: stats.ByMonth, Since: since, HREvents: arrivals})
	if err != nil {
		return nil, err
	}
	p.fig.key, p.fig.rep = key, rep
	return rep, nil
}

// pageFigures is the page's service figures section.
type pageFigures struct {
	Since string
	// Note says why there is no chart: no runs, or a journal that does
	// not verify.
	Note  string
	Chart *stats.Chart
	// The total's figures, in words.
	Hires, Ready, FirstAttempt, Handover, Escalated, Resolution, Manual string
}

// makeFigures shows rep (nil: no journal, no section), or why not.
func makeFigures(rep *stats.Report, err error) *pageFigures {
	var ce *journal.ChainError
	switch {
	case errors.As(err, &ce):
		return &pageFigures{Note: "The journal was changed outside onboard: no figures are read from it (onboard journal verify lists every break)."}
	case err != nil:
		return &pageFigures{Note: "The figures could not be read from the journal; see the service's log."}
	case rep == nil:
		return nil
	}
	f := &pageFigures{Since: rep.Since.Format("2006-01")}
	if rep.Empty() {
		f.Note = "No runs: no hire started since " + f.Since + "."
		return f
	}
	t := rep.Total
	f.Chart = stats.NewChart(rep)
	f.Hires, f.Ready = strconv.Itoa(t.Hires), strconv.Itoa(t.Ready)
	f.FirstAttempt = strconv.Itoa(t.FirstAttempt) + " (" + strconv.FormatFloat(100*t.FirstAttemptRate, 'f', 0, 64) + "%)"
	f.Handover, f.Resolution = stats.MedianP90(t.ToHandover), stats.MedianP90(t.Resolution)
	f.Escalated = strconv.Itoa(t.Escalated) + ", " + strconv.Itoa(t.Resolved) + " resolved"
	f.Manual = strconv.Itoa(t.ManualHires)
	return f
}
