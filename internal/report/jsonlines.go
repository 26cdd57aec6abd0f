package report

import (
	"encoding/json"
	"io"
	"sync"

	"onboard/internal/result"
)

// jsonLines writes one JSON object per event and line (--output json).
type jsonLines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONLines returns an observer that writes every event to w as one
// line of JSON, with known secrets scrubbed. It is safe for concurrent
// use; write errors are dropped, as an observer cannot stop a run.
func NewJSONLines(w io.Writer) result.Observer {
	return &jsonLines{w: w}
}

func (j *jsonLines) Event(e result.Event) {
	e = scrubEvent(e)
	line, err := json.Marshal(e)
	if err != nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.w.Write(append(jsonControls(line), '\n'))
}

// scrubEvent copies the step and run of e with secrets scrubbed; the
// engine's values are never changed.
func scrubEvent(e result.Event) result.Event {
	if e.Step != nil {
		s := scrubStep(*e.Step)
		e.Step = &s
	}
	e.Run = scrubRun(e.Run)
	return e
}
