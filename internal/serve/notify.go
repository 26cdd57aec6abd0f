package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"onboard/internal/inventory"
	"onboard/internal/notify"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
	"onboard/internal/serve/store"
)

// notifications are the deliveries of finished runs still going on in the
// background: Stop waits for them, bounded by its StopTimeout.
type notifications struct {
	mu   sync.Mutex
	busy []*notify.Notifier
	// flight keeps a key in flight once across the Notifiers of finished
	// runs: two phases of a hire can fail at the same moment.
	flight notify.Flight
}

// notifyRun sends what the hire's rules ask for about a run that has
// reached its final state (failed for good, or done): a failure with its
// evidence, and for the activation phase the handover and the tasks left
// for a human. The key's origin is the hire's generation (E2001.g1): the
// same for every attempt, retry and phase of one setup, since each phase
// re-checks and resumes the phases before it, so a failure is told once,
// not again by the retry or the next phase that meets it. It never blocks
// the run.
func (s *Service) notifyRun(ctx context.Context, r *store.Run, res *result.Run) {
	if res == nil {
		return
	}
	stored, err := store.GetRun(context.WithoutCancel(ctx), s.store.DB, r.ID)
	if err != nil || len(stored.Plan) == 0 {
		return // no plan was made: there are no rules to follow
	}
	var p plan.Plan
	if err := json.Unmarshal(stored.Plan, &p); err != nil {
		s.log.Warn("notifications: stored plan", "run", r.ID, "err", err)
		return
	}
	origin, final := fmt.Sprintf("%s.g%d", r.EmployeeID, r.Generation), r.Phase == PhaseActivation
	if isLeavePhase(r.Phase) {
		// A leave's run is whole, as a command-line apply: its own origin
		// (EMP.leaveN.offboard), and its tasks for a human (a mailbox to
		// hand over) are told when it is done.
		origin, final = r.ID, true
	}
	msgs := notify.Build(&p, res, notify.Options{Origin: origin, Final: final,
		Resume: "retry run " + r.ID + " on the status page (or POST /api/v1/runs/" + r.ID + "/retry)"})
	if len(msgs) == 0 {
		return
	}
	inv, err := s.inventory()
	if err != nil {
		s.log.Warn("notifications: inventory", "run", r.ID, "err", err)
		return
	}
	s.send(ctx, r, inv, msgs)
}

// send starts delivering msgs through inv's channels in the background,
// and keeps the Notifier for Stop to wait on.
func (s *Service) send(ctx context.Context, r *store.Run, inv *inventory.Inventory, msgs []notify.Message) {
	if len(msgs) == 0 {
		return
	}
	chans, err := notify.Channels(ctx, inv, &secret.Resolver{})
	if err != nil {
		s.log.Warn("notifications: channels", "run", r.ID, "err", err)
	}
	n := &notify.Notifier{Channels: chans, Log: s.log, Flight: &s.notes.flight}
	if s.cfg.Journal != nil {
		n.Journal = s.cfg.Journal
	}
	n.Send(msgs...)
	s.notes.mu.Lock()
	defer s.notes.mu.Unlock()
	keep := s.notes.busy[:0]
	for _, b := range s.notes.busy {
		if b.Pending() > 0 {
			keep = append(keep, b)
		}
	}
	s.notes.busy = append(keep, n)
}

// drainNotifications waits for the deliveries still going on, at most
// StopTimeout; those cut off are recorded as given up.
func (s *Service) drainNotifications(ctx context.Context) {
	s.notes.mu.Lock()
	busy := s.notes.busy
	s.notes.busy = nil
	s.notes.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StopTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range busy {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Drain(ctx); err != nil {
				s.log.Warn("notifications", "err", err)
			}
		}()
	}
	wg.Wait()
}
