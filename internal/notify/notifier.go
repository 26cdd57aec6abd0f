package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"onboard/internal/journal"
	"onboard/internal/secret"
)

// Journal is where delivery attempts are recorded and what was sent is
// looked up (*journal.Journal).
type Journal interface {
	RecordNotification(ctx context.Context, runID string, n journal.NotificationRecord, at time.Time) error
	NotificationSent(ctx context.Context, key, channel string) (bool, error)
}

// Notifier delivers messages in the background: each through its channel,
// retried with growing delays, each attempt recorded in the journal under
// the run the message tells of, and never twice (a key and channel
// recorded sent, or in flight here, is skipped). Send never blocks on a
// delivery; Drain waits for them, bounded by its context.
type Notifier struct {
	Channels map[string]Channel
	// Journal may be nil (--no-journal): then only this process
	// remembers what it sent.
	Journal Journal
	Log     *slog.Logger
	// Attempts per message (default 5); Backoff is the first delay
	// (default 2s), doubled each time up to MaxBackoff (default 1m).
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Flight, when set, is shared with the process's other Notifiers, so
	// that a key and channel in flight in one is not sent by another
	// before the journal records it sent (onboard serve makes a Notifier
	// per finished run, and two phases of a hire can fail at once).
	Flight *Flight

	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	seen   map[string]bool // key and channel, taken by a delivery of this process
	active atomic.Int64    // deliveries going on
}

// Flight is the set of notifications being delivered in one process,
// shared by its Notifiers. The zero value is ready to use.
type Flight struct {
	mu sync.Mutex
	m  map[string]bool
}

// take claims id; false if it is already in flight.
func (f *Flight) take(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m[id] {
		return false
	}
	if f.m == nil {
		f.m = map[string]bool{}
	}
	f.m[id] = true
	return true
}

func (f *Flight) release(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, id)
}

// Pending is the number of deliveries still going on.
func (n *Notifier) Pending() int { return int(n.active.Load()) }

func (n *Notifier) init() {
	n.once.Do(func() {
		n.ctx, n.cancel = context.WithCancel(context.Background())
		n.seen = map[string]bool{}
		if n.Log == nil {
			n.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Send starts delivering each message in the background.
func (n *Notifier) Send(msgs ...Message) {
	n.init()
	for _, m := range msgs {
		id := m.Key + "\x00" + m.Channel
		n.mu.Lock()
		dup := n.seen[id]
		n.seen[id] = true
		n.mu.Unlock()
		if dup {
			continue
		}
		if n.Flight != nil && !n.Flight.take(id) {
			n.Log.Info("already being sent", "notification", m.Key, "channel", m.Channel)
			continue
		}
		n.wg.Add(1)
		n.active.Add(1)
		go func() {
			defer n.wg.Done()
			defer n.active.Add(-1)
			if n.Flight != nil {
				// Released once the attempt is recorded: from then on the
				// journal says whether it was sent.
				defer n.Flight.release(id)
			}
			n.deliver(n.ctx, m)
		}()
	}
}

// Drain waits for every delivery to end. When ctx ends first, the
// deliveries still going are cut off (each records that it gave up) and
// Drain returns ctx's error once they have.
func (n *Notifier) Drain(ctx context.Context) error {
	n.init()
	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return fmt.Errorf("notifications not all delivered: %w", ctx.Err())
	}
}

func (n *Notifier) attempts() int {
	if n.Attempts <= 0 {
		return 5
	}
	return n.Attempts
}

func (n *Notifier) delay(attempt int) time.Duration {
	b, max := n.Backoff, n.MaxBackoff
	if b <= 0 {
		b = 2 * time.Second
	}
	if max <= 0 {
		max = time.Minute
	}
	d := b << (attempt - 1)
	if d > max || d <= 0 {
		d = max
	}
	// Up to a quarter more, so that many messages to one receiver that
	// was down do not all come back at once.
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

// deliver runs the attempts of one message.
func (n *Notifier) deliver(ctx context.Context, m Message) {
	log := n.Log.With("notification", m.Key, "channel", m.Channel)
	if n.Journal != nil {
		sent, err := n.Journal.NotificationSent(ctx, m.Key, m.Channel)
		if err != nil {
			log.Warn("could not tell whether the notification was sent; sending it", "err", err)
		}
		if sent {
			log.Info("already sent")
			return
		}
	}
	ch, ok := n.Channels[m.Channel]
	if !ok {
		n.record(ctx, m, 1, journal.NotifyGaveUp, fmt.Sprintf("no channel %q in the inventory's notify.channels (or its credential could not be resolved)", m.Channel))
		return
	}
	max := n.attempts()
	for attempt := 1; ; attempt++ {
		err := ch.Send(ctx, m)
		if err == nil {
			n.record(ctx, m, attempt, journal.NotifySent, "")
			log.Info("notification sent", "attempt", attempt)
			return
		}
		reason := secret.Scrub(err.Error())
		last := attempt >= max || IsPermanent(err) || ctx.Err() != nil
		if last {
			if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				reason += " (stopped waiting: " + ctx.Err().Error() + ")"
			}
			n.record(ctx, m, attempt, journal.NotifyGaveUp, reason)
			log.Warn("notification not delivered", "attempt", attempt, "err", reason)
			return
		}
		n.record(ctx, m, attempt, journal.NotifyFailed, reason)
		log.Info("notification attempt failed; retrying", "attempt", attempt, "err", reason)
		select {
		case <-time.After(n.delay(attempt)):
		case <-ctx.Done():
			n.record(ctx, m, attempt, journal.NotifyGaveUp, "stopped waiting to retry: "+ctx.Err().Error())
			return
		}
	}
}

func (n *Notifier) record(ctx context.Context, m Message, attempt int, status, reason string) {
	if n.Journal == nil {
		return
	}
	rec := journal.NotificationRecord{Key: m.Key, Channel: m.Channel, Event: m.Event, Hire: m.Hire.ID,
		To: m.Recipients, Attempt: attempt, Status: status, Reason: reason}
	if err := n.Journal.RecordNotification(context.WithoutCancel(ctx), m.Run, rec, time.Now()); err != nil {
		n.Log.Warn("record a notification attempt in the journal", "notification", m.Key, "err", err)
	}
}
