package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/notify"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// notifyWait bounds how long onboard waits at exit for notifications
// still being delivered (retried) once the run is over: a receiver that
// stays down never holds the command for long, and what was not
// delivered is in the journal as given up.
var notifyWait = 30 * time.Second

// startNotify sends what the plan's rules ask for about res, in the
// background, and returns the wait for them that the command runs at its
// end. It never fails the run: problems are warnings on stderr and
// records in the journal.
func (o *options) startNotify(ctx context.Context, p *plan.Plan, res *result.Run, j *journal.Journal) (wait func()) {
	wait = func() {}
	rules := false
	for _, h := range p.Hires {
		rules = rules || len(h.Notify) > 0
	}
	if !rules || res == nil {
		return wait
	}
	warn := func(err error) { fmt.Fprintf(o.stderr, "onboard: notifications: %v\n", err) }
	inv, err := inventory.Load(o.inventoryPaths()...)
	if err != nil {
		warn(err)
		return wait
	}
	chans, err := notify.Channels(ctx, inv, o.dialer().Secrets)
	if err != nil {
		warn(err) // the other channels still work
	}
	n := &notify.Notifier{Channels: chans, Log: o.logger()}
	if j != nil {
		n.Journal = j
	}
	resume := ""
	if j != nil && res.ID != "" {
		resume = "onboard resume " + res.ID
		if o.journalPath != "" {
			resume = "onboard --journal " + o.journalPath + " resume " + res.ID
		}
	}
	origin := o.origin
	if origin == "" {
		origin = res.ID
	}
	n.Send(notify.Build(p, res, notify.Options{Origin: origin, Final: true, Resume: resume})...)
	return func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyWait)
		defer cancel()
		if err := n.Drain(dctx); err != nil {
			warn(err)
		}
	}
}

// originOf is the run a resumed run continues: following "resume of ID"
// back to the first, whose notifications a resume must not send again.
func originOf(ctx context.Context, j *journal.Journal, d *journal.RunDetail) string {
	id, mode := d.ID, d.Mode
	for i := 0; i < 100 && strings.HasPrefix(mode, "resume of "); i++ {
		prev := strings.TrimPrefix(mode, "resume of ")
		id = prev
		pd, err := j.Run(ctx, prev)
		if err != nil {
			break
		}
		mode = pd.Mode
	}
	return id
}
