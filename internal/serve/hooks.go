package serve

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"time"

	"onboard/internal/hrevent"
)

func init() {
	extraRoutes = append(extraRoutes, func(h *server, mux *http.ServeMux) error {
		mux.HandleFunc("POST /hooks/hr", func(w http.ResponseWriter, r *http.Request) { h.hrHook(w, r, hrevent.Native) })
		mux.HandleFunc("POST /hooks/hr/{format}", func(w http.ResponseWriter, r *http.Request) { h.hrHook(w, r, r.PathValue("format")) })
		return nil
	})
}

// hookRun is a run as a webhook answer names it.
type hookRun struct {
	ID          string    `json:"id"`
	Phase       string    `json:"phase"`
	State       string    `json:"state"`
	ScheduledAt time.Time `json:"scheduled_at"`
	URL         string    `json:"url"`
}

// hookAnswer is the body of a 202 (or, for a redelivery, 200).
type hookAnswer struct {
	Event      string    `json:"event"`
	Duplicate  bool      `json:"duplicate,omitempty"`
	EmployeeID string    `json:"employee_id"`
	Result     string    `json:"result"`
	Detail     string    `json:"detail,omitempty"`
	URL        string    `json:"url"`
	Runs       []hookRun `json:"runs"`
	Done       []string  `json:"done,omitempty"`
}

// hrHook takes one HR delivery: signature first (nothing is parsed from a
// stranger), then the event decoded strictly, then stored with its runs
// before the answer.
func (h *server) hrHook(w http.ResponseWriter, r *http.Request, format string) {
	start := time.Now()
	refuse := func(code int, reason, msg string) {
		h.s.stats.refuse("hr", reason)
		writeError(w, code, msg)
	}
	if len(h.hc.HRKeys) == 0 {
		refuse(http.StatusServiceUnavailable, "disabled", "the HR webhook is not configured (onboard serve --hr-key)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, hrevent.MaxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			refuse(http.StatusRequestEntityTooLarge, "too_large", "the body is larger than 1 MiB")
			return
		}
		refuse(http.StatusBadRequest, "malformed", "the body could not be read")
		return
	}
	err = hrevent.Verify(h.hc.HRKeys, r.Header.Get(hrevent.HeaderTimestamp), r.Header.Get(hrevent.HeaderSignature), body, h.s.now(), h.hc.HRWindow)
	if err != nil {
		reason := "signature"
		switch {
		case errors.Is(err, hrevent.ErrUnsigned):
			reason = "unsigned"
		case errors.Is(err, hrevent.ErrMalformed):
			reason = "malformed_signature"
		case errors.Is(err, hrevent.ErrStale):
			reason = "stale"
		}
		w.Header().Set("WWW-Authenticate", `Onboard-Signature realm="onboard"`)
		refuse(http.StatusUnauthorized, reason, err.Error())
		return
	}
	evs, err := hrevent.DecodeAll(format, body, hrevent.Options{EventID: r.Header.Get(hrevent.HeaderEventID),
		EventType: r.Header.Get(hrevent.HeaderEventType)})
	if err != nil {
		var ee *hrevent.Error
		if errors.As(err, &ee) {
			h.s.stats.refuse("hr", "invalid")
			w.Header().Set("Content-Type", "application/json")
			code := http.StatusUnprocessableEntity
			for _, p := range ee.Problems {
				if p.Line > 0 || p.Pointer == "" {
					code = http.StatusBadRequest // not JSON, or not the shape at all
				}
			}
			w.WriteHeader(code)
			_, _ = w.Write(ee.Body())
			return
		}
		refuse(http.StatusBadRequest, "invalid", err.Error())
		return
	}
	base := h.baseURL(r)
	var answers []hookAnswer
	allDup := true
	for _, ev := range evs {
		acc, err := h.s.Accept(r.Context(), intakeOf(ev))
		if err != nil {
			h.s.log.Error("store an HR event", "event", ev.ID, "err", err)
			// Nothing was stored for this event: the sender retries.
			writeError(w, http.StatusServiceUnavailable, "the event could not be stored; retry later")
			return
		}
		allDup = allDup && acc.Duplicate
		answers = append(answers, answerOf(acc, base))
	}
	h.s.stats.accept.Observe(time.Since(start).Seconds())
	code := http.StatusAccepted
	if allDup {
		code = http.StatusOK
	}
	if len(answers) == 1 {
		writeJSON(w, code, answers[0])
		return
	}
	writeJSON(w, code, map[string]any{"events": answers})
}

func answerOf(acc *Accepted, base string) hookAnswer {
	a := hookAnswer{Event: acc.EventID, Duplicate: acc.Duplicate, EmployeeID: acc.EmployeeID, Result: acc.Result,
		Detail: acc.Detail, URL: base + "/api/v1/hires/" + acc.EmployeeID, Runs: []hookRun{}}
	for _, r := range acc.Runs {
		a.Runs = append(a.Runs, hookRun{ID: r.ID, Phase: r.Phase, State: r.State, ScheduledAt: r.ScheduledAt, URL: base + "/api/v1/runs/" + r.ID})
	}
	for _, r := range acc.Done {
		a.Done = append(a.Done, r.Phase)
	}
	return a
}

// intakeOf turns a decoded HR event into the service's intake.
func intakeOf(ev *hrevent.Event) Intake {
	// The decoded event is what is stored: one event of a batch, each
	// field as validated.
	body, _ := json.Marshal(ev)
	set := ev.Person.Set()
	p := Person{EmployeeID: ev.Person.EmployeeID, GivenName: set["given_name"], Surname: set["surname"],
		PreferredName: set["preferred_name"], Title: set["title"], Department: set["department"], Manager: set["manager"],
		Email: set["email"], Location: set["location"], CostCenter: set["cost_center"], StartDate: set["start_date"],
		Workstation: ev.Workstation}
	in := Intake{ID: "hr:" + ev.ID, Source: "hr", Type: string(ev.Type), Trigger: "hr:" + ev.ID, Person: p, Body: body}
	if ev.Type == hrevent.Leave {
		in.Leave = &Departure{LastDay: set["last_day"], LeaveAt: set["leave_at"]}
	}
	if ev.Type == hrevent.Change {
		in.Fields = []string{}
		for k := range set {
			if k != "employee_id" {
				in.Fields = append(in.Fields, k)
			}
		}
		if ev.Workstation != "" {
			in.Fields = append(in.Fields, "workstation")
		}
		sort.Strings(in.Fields)
	}
	return in
}
