// Package stats computes the service figures a support team reports from
// the journal: per month or per profile, how many hires were set up, how
// long from the HR event (or the first run) to handover, how many were
// ready at the first attempt, which steps failed and why, how long from
// escalation to resolution, and what was left to do by hand. The figures
// are defined in docs/stats.md; the functions here are pure, over runs
// already read (and verified) from the journal.
package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"onboard/internal/journal"
	"onboard/internal/playbook"
	"onboard/internal/result"
)

// Groupings of a report.
const (
	ByMonth   = "month"
	ByProfile = "profile"
)

// NoProfile is the group of hires whose plan named no profile.
const NoProfile = "(none)"

// Options select and group what Compute counts.
type Options struct {
	// Since and Until bound a hire's start (its HR event, else its first
	// run): [Since, Until); zero means unbounded.
	Since, Until time.Time
	// By is ByMonth (the default) or ByProfile.
	By string
	// HREvents maps a run's trigger ("hr:<event id>", "scim:<user>") to
	// the time onboard serve received its first event. A hire whose first
	// run has no entry here starts at that run's start.
	HREvents map[string]time.Time
}

// Durations summarises a set of durations.
type Durations struct {
	Count  int           `json:"count"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
}

// FailureCount is how often steps of one kind failed in one phase with one
// class.
type FailureCount struct {
	Kind  string `json:"kind"`
	Phase string `json:"phase"`
	Class string `json:"class,omitempty"`
	Count int    `json:"count"`
}

// ManualCount is one task left to do by hand and how many hires had it.
type ManualCount struct {
	Task  string `json:"task"`
	Hires int    `json:"hires"`
}

// Group is the figures of one month or profile (or of all, as Total).
type Group struct {
	Key string `json:"key"`
	// Hires is the number of hires that started in the group.
	Hires int `json:"hires"`
	// Ready is how many of them were handed over (a run made them ready).
	Ready int `json:"ready"`
	// ToHandover is the time from start to handover of the ready ones.
	ToHandover *Durations `json:"to_handover,omitempty"`
	// FirstAttempt is how many were ready with no run failing for them
	// before (on the CLI: their first run made them ready).
	FirstAttempt int `json:"first_attempt"`
	// FirstAttemptRate is FirstAttempt / Hires.
	FirstAttemptRate float64 `json:"first_attempt_rate"`
	// Failures counts failed steps of the group's hires, over all their runs.
	Failures []FailureCount `json:"failures"`
	// Escalated is how many hires had a run that did not set them up
	// before they were ready; Resolved how many of those a later run did.
	Escalated int `json:"escalated"`
	Resolved  int `json:"resolved"`
	// Resolution is the time from escalation to resolution of the resolved.
	Resolution *Durations `json:"resolution,omitempty"`
	// ManualHires is how many ready hires had tasks left to do by hand;
	// Manual counts each task.
	ManualHires int           `json:"manual_hires"`
	Manual      []ManualCount `json:"manual"`
}

// Report is the figures of every group, and of all together.
type Report struct {
	By     string    `json:"by"`
	Since  time.Time `json:"since,omitzero"`
	Until  time.Time `json:"until,omitzero"`
	Groups []Group   `json:"groups"`
	// Total is nil when no hire started in the period: there is nothing
	// to report, which is not the same as figures of zero (Note says so).
	Total *Group `json:"total,omitempty"`
	Note  string `json:"note,omitempty"`
}

// Empty reports whether no hire was counted.
func (r *Report) Empty() bool { return r.Total == nil }

// hire is one person's way from first run to handover.
type hire struct {
	id, profile string
	start       time.Time
	runs        []*journal.RunDetail // in start order
	ready       bool
	readyAt     time.Time
	escalated   bool // a run before the ready one failed for the hire
	escalatedAt time.Time
	resolvedAt  time.Time // the end of the first run after escalatedAt that held
	manual      []string
}

// Counted reports whether a run counts towards the figures: runs that
// change nothing (dry runs, audits) do not.
func Counted(d *journal.RunSummary) bool {
	return !d.DryRun && d.Mode != "audit" && d.Mode != "dry-run" && d.Mode != "recheck"
}

// Compute reads the figures off runs (every recorded run of the journal,
// in any order; those that do not count are passed over).
func Compute(runs []*journal.RunDetail, o Options) (*Report, error) {
	by := o.By
	if by == "" {
		by = ByMonth
	}
	if by != ByMonth && by != ByProfile {
		return nil, fmt.Errorf("stats: group by month or profile, not %q", by)
	}
	sorted := make([]*journal.RunDetail, 0, len(runs))
	for _, d := range runs {
		if Counted(&d.RunSummary) {
			sorted = append(sorted, d)
		}
	}
	sort.SliceStable(sorted, func(i, k int) bool {
		if !sorted[i].Started.Equal(sorted[k].Started) {
			return sorted[i].Started.Before(sorted[k].Started)
		}
		return sorted[i].FirstSeq < sorted[k].FirstSeq
	})
	hires := map[string]*hire{}
	var order []*hire
	for _, d := range sorted {
		for _, h := range d.Hires {
			x := hires[h.ID]
			if x == nil {
				x = &hire{id: h.ID, profile: h.Profile, start: d.Started}
				if at, ok := o.HREvents[d.Trigger]; ok && !at.IsZero() {
					x.start = at.UTC()
				}
				hires[h.ID] = x
				order = append(order, x)
			}
			if x.ready {
				continue // handed over already: later runs are not part of the setup
			}
			x.runs = append(x.runs, d)
			if x.profile == "" {
				x.profile = h.Profile
			}
			held := heldIn(d, h.ID)
			if held && x.escalated && x.resolvedAt.IsZero() {
				x.resolvedAt = d.Finished
			}
			switch {
			case d.Outcome == journal.RunRunning:
				// not over yet: neither a handover nor an escalation
			case held && !partial(d.Mode):
				x.ready, x.readyAt = true, d.Finished
				m, err := manualOf(d, h.ID)
				if err != nil {
					return nil, err
				}
				x.manual = m
			case held:
				// an earlier phase of serve's, done: the hire is not handed over yet
			case !x.escalated:
				x.escalated, x.escalatedAt = true, escalation(d, h.ID)
			}
		}
	}

	rep := &Report{By: by, Since: o.Since, Until: o.Until}
	groups := map[string]*acc{}
	total := newAcc("total")
	for _, x := range order {
		if !o.Since.IsZero() && x.start.Before(o.Since) || !o.Until.IsZero() && !x.start.Before(o.Until) {
			continue
		}
		key := x.start.UTC().Format("2006-01")
		if by == ByProfile {
			key = x.profile
			if key == "" {
				key = NoProfile
			}
		}
		g := groups[key]
		if g == nil {
			g = newAcc(key)
			groups[key] = g
		}
		g.add(x)
		total.add(x)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rep.Groups = []Group{}
	for _, k := range keys {
		rep.Groups = append(rep.Groups, groups[k].group())
	}
	if total.g.Hires == 0 {
		rep.Note = "no runs: no hire started in the period"
		return rep, nil
	}
	t := total.group()
	rep.Total = &t
	return rep, nil
}

// heldIn reports whether run d set up hire id: the run finished (not
// cancelled), and either ended ok, or (a failed run with several hires)
// the hire's own steps all ended done and were all re-checked at handover
// and held.
func heldIn(d *journal.RunDetail, id string) bool {
	if d.Finish == nil || d.Finish.Cancelled || d.Outcome == journal.RunCancelled {
		return false
	}
	if d.Outcome == journal.RunOK {
		return true
	}
	steps, handover := 0, 0
	for _, r := range d.Records {
		if r.Step == nil || r.Step.Hire != id {
			continue
		}
		switch r.Kind {
		case journal.StepFinished:
			if !r.Step.Outcome.Done() {
				return false
			}
			steps++
		case journal.Handover:
			if r.Step.Outcome != result.OK {
				return false
			}
			handover++
		}
	}
	return steps > 0 && handover == steps
}

// partial reports whether a run sets up only part of what its hires get:
// onboard serve's account and machine phases, which run days before the
// start date; its activation phase hands over (internal/serve, phase.go).
func partial(mode string) bool {
	return strings.HasPrefix(mode, "serve ") && !strings.HasPrefix(mode, "serve activation ")
}

// escalation is when a run that did not make hire id ready was escalated:
// its first failure notification for the hire that was delivered, else
// the run's end (its last record, for a run that never finished).
func escalation(d *journal.RunDetail, id string) time.Time {
	var last time.Time
	for _, r := range d.Records {
		if n := r.Notification; n != nil && n.Event == playbook.EventFailure && n.Status == journal.NotifySent && n.Hire == id {
			return r.Time
		}
		last = r.Time
	}
	if !d.Finished.IsZero() {
		return d.Finished
	}
	return last
}

// manualOf reads the tasks left to do by hand for hire id from the run's
// stored plan.
func manualOf(d *journal.RunDetail, id string) ([]string, error) {
	if len(d.Plan) == 0 {
		return nil, nil
	}
	var p struct {
		Hires []struct {
			ID     string   `json:"id"`
			Manual []string `json:"manual"`
		} `json:"hires"`
	}
	if err := json.Unmarshal(d.Plan, &p); err != nil {
		return nil, fmt.Errorf("stats: run %s: plan: %w", d.ID, err)
	}
	for _, h := range p.Hires {
		if h.ID == id {
			return h.Manual, nil
		}
	}
	return nil, nil
}

// acc gathers one group.
type acc struct {
	g          Group
	toHandover []time.Duration
	resolution []time.Duration
	failures   map[FailureCount]int
	manual     map[string]int
}

func newAcc(key string) *acc {
	return &acc{g: Group{Key: key}, failures: map[FailureCount]int{}, manual: map[string]int{}}
}

func (a *acc) add(x *hire) {
	a.g.Hires++
	for _, d := range x.runs {
		for _, r := range d.Records {
			s := r.Step
			if s == nil || s.Hire != x.id || s.Outcome != result.Failed || (r.Kind != journal.StepFinished && r.Kind != journal.Handover) {
				continue
			}
			k := FailureCount{Kind: s.Kind}
			if s.Failure != nil {
				k.Phase, k.Class = s.Failure.Phase, s.Failure.Class
			}
			if r.Kind == journal.Handover {
				k.Phase = "handover"
			}
			a.failures[k]++
		}
	}
	if x.escalated {
		a.g.Escalated++
	}
	if !x.resolvedAt.IsZero() {
		a.g.Resolved++
		a.resolution = append(a.resolution, x.resolvedAt.Sub(x.escalatedAt))
	}
	if !x.ready {
		return
	}
	a.g.Ready++
	a.toHandover = append(a.toHandover, x.readyAt.Sub(x.start))
	if !x.escalated {
		a.g.FirstAttempt++
	}
	if len(x.manual) > 0 {
		a.g.ManualHires++
		seen := map[string]bool{}
		for _, t := range x.manual {
			if !seen[t] {
				seen[t] = true
				a.manual[t]++
			}
		}
	}
}

func (a *acc) group() Group {
	g := a.g
	if g.Hires > 0 {
		g.FirstAttemptRate = float64(g.FirstAttempt) / float64(g.Hires)
	}
	g.ToHandover = Summarise(a.toHandover)
	g.Resolution = Summarise(a.resolution)
	g.Failures = []FailureCount{}
	for k, n := range a.failures {
		k.Count = n
		g.Failures = append(g.Failures, k)
	}
	sort.Slice(g.Failures, func(i, k int) bool {
		a, b := g.Failures[i], g.Failures[k]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Kind+"\x00"+a.Phase+"\x00"+a.Class < b.Kind+"\x00"+b.Phase+"\x00"+b.Class
	})
	g.Manual = []ManualCount{}
	for t, n := range a.manual {
		g.Manual = append(g.Manual, ManualCount{Task: t, Hires: n})
	}
	sort.Slice(g.Manual, func(i, k int) bool {
		if g.Manual[i].Hires != g.Manual[k].Hires {
			return g.Manual[i].Hires > g.Manual[k].Hires
		}
		return g.Manual[i].Task < g.Manual[k].Task
	})
	return g
}

// Summarise gives the count, median and 90th percentile of ds, or nil
// when ds is empty. The median
// of an even count is the mean of the two middle values; the 90th
// percentile is the nearest rank: the value at rank ceil(0.9 n).
func Summarise(ds []time.Duration) *Durations {
	if len(ds) == 0 {
		return nil
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, k int) bool { return s[i] < s[k] })
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = s[n/2-1] + (s[n/2]-s[n/2-1])/2
	}
	rank := int(math.Ceil(0.9 * float64(n)))
	return &Durations{Count: n, Median: med, P90: s[rank-1]}
}
