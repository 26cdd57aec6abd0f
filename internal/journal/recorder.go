package journal

import (
	"context"
	"errors"
	"sync"

	"onboard/internal/result"
)

// RunRecorder records the events of one run as the engine emits them: the
// run-started event starts the run in the journal under the engine's run
// id, with what the RunStart says; every later event is recorded under it.
//
// It is the engine's seam: the engine calls Record synchronously, before
// any observer hears of the event, and treats an error as the end of the
// run (a step whose result could not be recorded is not reported done).
type RunRecorder struct {
	j     *Journal
	start RunStart

	mu    sync.Mutex
	runID string
}

// Recorder returns a recorder for one run described by start (its ID is
// taken from the run-started event when empty).
func (j *Journal) Recorder(start RunStart) *RunRecorder {
	return &RunRecorder{j: j, start: start}
}

// errNotStarted: an event came before run-started.
var errNotStarted = errors.New("journal: an event of a run came before its run-started event")

// Record makes ev durable. See Journal.Record.
func (r *RunRecorder) Record(ctx context.Context, ev result.Event) error {
	if ev.Type == result.RunStarted {
		rs := r.start
		if rs.ID == "" {
			rs.ID = ev.RunID
		}
		if rs.Started.IsZero() {
			rs.Started = ev.Time
		}
		id, err := r.j.StartRun(ctx, rs)
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.runID = id
		r.mu.Unlock()
		return nil
	}
	id := r.RunID()
	if id == "" {
		return errNotStarted
	}
	return r.j.Record(ctx, id, ev)
}

// RunID is the run's id once it has started, else "".
func (r *RunRecorder) RunID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runID
}

// Observer adapts the recorder to result.Observer, for an engine without
// the Record seam: put it first among the observers, so every event is on
// disk before the others show it, and let onErr stop the run (cancel its
// context) and fail the command, since Observer.Event cannot return the
// error. onErr may be nil only in tests.
func (r *RunRecorder) Observer(onErr func(error)) result.Observer {
	return observer{r: r, onErr: onErr}
}

type observer struct {
	r     *RunRecorder
	onErr func(error)
}

func (o observer) Event(ev result.Event) {
	if err := o.r.Record(context.Background(), ev); err != nil && o.onErr != nil {
		o.onErr(err)
	}
}
