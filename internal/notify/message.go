// Package notify tells people what a run did: the hire's manager that the
// machine is ready, the technician on duty that a step failed (with the
// evidence), through email, signed webhooks, chat and helpdesk tickets.
// Delivery is retried, journaled, deduplicated and never blocks a run.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/report"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// Events, as rules name them.
const (
	HandoverReady = playbook.EventHandoverReady
	Failure       = playbook.EventFailure
	HumanTask     = playbook.EventHumanTask
	Drift         = playbook.EventDrift
)

// Payload is what a notification says, as plain data: the JSON body of a
// webhook and the data of every template. It never holds a secret: every
// text from a run is passed through secret.Scrub.
type Payload struct {
	Event string    `json:"event"`
	Key   string    `json:"key"`
	Run   string    `json:"run"`
	Time  time.Time `json:"time"`
	Hire  Hire      `json:"hire"`
	// Trigger is what started the run: the HR event (hr:<event id>) of an
	// onboard serve run; empty from the command line.
	Trigger string `json:"trigger,omitempty"`
	// Summary is one line: the email subject, the chat title.
	Summary    string   `json:"summary"`
	Recipients []string `json:"recipients,omitempty"`
	// Failure: the first failed step, with what a technician needs.
	Failure *Evidence `json:"failure,omitempty"`
	// Failed lists every failed step ("host: title: message").
	Failed  []string `json:"failed,omitempty"`
	Done    []string `json:"done,omitempty"`
	NotDone []string `json:"not_done,omitempty"`
	Manual  []string `json:"manual,omitempty"`
	Drift   []string `json:"drift,omitempty"`
	// Resume is how to go on after a failure.
	Resume string `json:"resume,omitempty"`
	// Note says what a reader must know to weigh the message, such as
	// that its recipients come from an older inventory.
	Note string `json:"note,omitempty"`
}

// Hire is who the notification is about.
type Hire struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Username  string `json:"username,omitempty"`
	Host      string `json:"host,omitempty"`
	Profile   string `json:"profile,omitempty"`
	Manager   string `json:"manager,omitempty"`
	StartDate string `json:"start_date,omitempty"`
}

// Evidence is a failed step as a technician needs it.
type Evidence struct {
	Host     string `json:"host,omitempty"`
	Step     string `json:"step"`
	Kind     string `json:"kind,omitempty"`
	Phase    string `json:"phase,omitempty"`
	Command  string `json:"command,omitempty"`
	ExitCode int    `json:"exit_code"`
	Output   string `json:"output,omitempty"`
	Message  string `json:"message"`
	// Known is the knowledge-base article that answers the failure: its
	// title, fix and link (docs/knowledge-base.md).
	Known *result.Known `json:"known,omitempty"`
}

// Attachment is a file sent with an email.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is one notification to deliver through one channel.
type Message struct {
	Payload
	Channel     string
	Attachments []Attachment
}

// Options say what a run's notifications need beyond the plan and result.
type Options struct {
	// Origin is the run whose notifications these are: the run itself, or
	// for a resumed run the run it resumes (so it does not notify twice).
	Origin string
	// Final: this run ends the hire's setup, so handover-ready and
	// human-task apply (serve's activation phase; every CLI apply).
	Final bool
	// Resume is the command (or action) that goes on after a failure.
	Resume string
	// Trigger is what started the run (hr:<event id>), shown in every
	// message.
	Trigger string
	// Note is shown in every message (Payload.Note).
	Note string
	// PlanErrors: the hire's plan could not be built, for these errors;
	// its failure is keyed by them (PlanFailureKey).
	PlanErrors string
}

// outputTail bounds the output a notification carries.
const outputTail = 2000

// Build returns the messages a run's rules ask for: per hire, per event
// that happened, per channel, to the rules' recipients of that event and
// channel.
func Build(p *plan.Plan, res *result.Run, o Options) []Message {
	// A dry run changes nothing (an audit is one, and tells of drift); a
	// cancelled run resumes.
	if res == nil || (res.DryRun && !res.Audit) || res.Cancelled {
		return nil
	}
	origin := o.Origin
	if origin == "" {
		origin = res.ID
	}
	var out []Message
	for _, h := range p.Hires {
		if len(h.Notify) == 0 {
			continue
		}
		for _, ev := range events(h, res, o.Final) {
			byChannel := map[string][]string{}
			for _, r := range h.Notify {
				if !contains(r.On, ev) {
					continue
				}
				for _, v := range r.Via {
					list := byChannel[v]
					for _, to := range r.To {
						if !contains(list, to.Address) {
							list = append(list, to.Address)
						}
					}
					byChannel[v] = list
				}
			}
			if len(byChannel) == 0 {
				continue
			}
			pl := payload(h, res, ev, origin, o.Resume)
			pl.Trigger, pl.Note = secret.Scrub(o.Trigger), secret.Scrub(o.Note)
			if ev == Failure && o.PlanErrors != "" {
				pl.Key = PlanFailureKey(origin, h.ID, o.PlanErrors)
			}
			atts := attachments(h, res, ev)
			for _, ch := range sortedKeys(byChannel) {
				m := Message{Payload: pl, Channel: ch, Attachments: atts}
				m.Recipients = byChannel[ch]
				out = append(out, m)
			}
		}
	}
	return out
}

// events are the events a run gives a hire, in a fixed order.
func events(h plan.Hire, res *result.Run, final bool) []string {
	var out []string
	if res.Audit {
		if len(notInPlace(h.ID, res)) > 0 || len(added(h.ID, res)) > 0 {
			out = append(out, Drift)
		}
		return out
	}
	failed := false
	for _, list := range [][]result.Step{res.Steps, res.Handover} {
		for _, s := range list {
			failed = failed || (s.Hire == h.ID && (s.Outcome == result.Failed || s.Outcome == result.Skipped))
		}
	}
	failed = failed || (h.Host != "" && contains(res.Unreachable, h.Host))
	if failed {
		out = append(out, Failure)
	}
	if final && !failed && res.Ready(h.ID) {
		out = append(out, HandoverReady)
	}
	// Tasks for a human come with the handover: after a failure, the
	// failure is what to act on, and the tasks follow once it is mended.
	if final && !failed && len(h.Manual) > 0 {
		out = append(out, HumanTask)
	}
	return out
}

// Key is the notification's identity: origin run / hire / event.
func Key(origin, hire, event string) string { return origin + "/" + hire + "/" + event }

// PlanFailureKey is the identity of the failure of a hire whose plan could
// not be built: the failure's key and a digest of the errors, so that the
// same errors are told once and changed ones again, and a step that fails
// once the plan is mended is still told.
func PlanFailureKey(origin, hire, errs string) string {
	sum := sha256.Sum256([]byte(errs))
	return Key(origin, hire, Failure) + "/plan-" + hex.EncodeToString(sum[:6])
}

func payload(h plan.Hire, res *result.Run, ev, origin, resume string) Payload {
	pl := Payload{Event: ev, Key: Key(origin, h.ID, ev), Run: res.ID, Time: res.Finished.UTC(),
		Hire: Hire{ID: h.ID, Name: h.Name, Username: h.Username, Host: h.Host, Profile: h.Profile, Manager: h.Manager, StartDate: h.StartDate}}
	who := h.Name + " (" + h.ID + ")"
	on := ""
	if h.Host != "" {
		on = " on " + h.Host
	}
	switch ev {
	case Failure:
		pl.Summary = "Onboarding failed: " + who + on
		pl.Done, pl.NotDone = doneAndNot(h.ID, res)
		pl.Resume = resume
		for _, list := range [][]result.Step{res.Steps, res.Handover} {
			for _, s := range list {
				if s.Hire != h.ID || s.Outcome != result.Failed {
					continue
				}
				if pl.Failure == nil {
					pl.Failure = evidence(s)
					pl.Summary += ": " + s.Title
				}
				line := s.Title
				if s.Host != "" {
					line = s.Host + ": " + line
				}
				if s.Failure != nil {
					line += ": " + s.Failure.Message
				}
				pl.Failed = append(pl.Failed, secret.Scrub(line))
			}
		}
		if pl.Failure == nil && contains(res.Unreachable, h.Host) {
			pl.Failure = &Evidence{Host: h.Host, Step: "connect", Phase: "connect", Message: h.Host + " could not be reached"}
			pl.Summary += ": " + h.Host + " unreachable"
		}
	case HandoverReady:
		pl.Summary = "Ready for handover: " + who + on
		pl.Done, _ = doneAndNot(h.ID, res)
		pl.Manual = scrubAll(h.Manual)
	case HumanTask:
		pl.Summary = "Left for a human: " + who + on
		pl.Manual = scrubAll(h.Manual)
	case Drift:
		pl.Summary = "Drift found: " + who + on
		pl.Drift = append(notInPlace(h.ID, res), added(h.ID, res)...)
	}
	pl.Summary = secret.Scrub(pl.Summary)
	return pl
}

func evidence(s result.Step) *Evidence {
	e := &Evidence{Host: s.Host, Step: secret.Scrub(s.Title), Kind: s.Kind}
	if f := s.Failure; f != nil {
		e.Phase, e.Command, e.ExitCode = f.Phase, secret.Scrub(f.Command), f.ExitCode
		e.Message = secret.Scrub(f.Message)
		out := secret.Scrub(strings.TrimSpace(f.Output))
		if len(out) > outputTail {
			// Cut on a character boundary: the tail may start mid-rune.
			out = "…" + strings.ToValidUTF8(out[len(out)-outputTail:], "")
		}
		e.Output = out
		if k := f.Known; k != nil {
			e.Known = &result.Known{ID: k.ID, Title: secret.Scrub(k.Title), Fix: secret.Scrub(k.Fix), Link: k.Link}
		}
	}
	return e
}

// doneAndNot are the titles of the hire's steps that are in place, and of
// those that are not (failed, skipped, or never re-checked).
func doneAndNot(hire string, res *result.Run) (done, not []string) {
	final := map[string]result.Step{}
	for _, s := range res.Steps {
		if s.Hire == hire {
			final[s.ID] = s
		}
	}
	for _, s := range res.Handover {
		if s.Hire == hire {
			final[s.ID] = s
		}
	}
	for _, s := range res.Steps {
		if s.Hire != hire {
			continue
		}
		f := final[s.ID]
		t := secret.Scrub(s.Title)
		if f.Outcome.Done() {
			done = append(done, t)
		} else {
			not = append(not, t+" ("+string(f.Outcome)+")")
		}
	}
	return done, not
}

func notInPlace(hire string, res *result.Run) []string {
	var out []string
	for _, list := range [][]result.Step{res.Steps, res.Handover} {
		for _, s := range list {
			if s.Hire == hire && !s.Outcome.Done() {
				line := secret.Scrub(s.Title)
				if s.Host != "" {
					line = s.Host + ": " + line
				}
				// What the audit found: a re-check that fails says it in
				// its failure, a step that could not tell in its reason.
				why := s.Reason
				if why == "" && s.Failure != nil {
					why = s.Failure.Message
				}
				if why != "" {
					line += ": " + secret.Scrub(why)
				}
				if !contains(out, line) {
					out = append(out, line)
				}
			}
		}
	}
	return out
}

// added is what an audit found beyond the handed-over setup.
func added(hire string, res *result.Run) []string {
	var out []string
	for _, h := range res.Hires {
		if h.ID == hire {
			for _, a := range h.Added {
				out = append(out, "added since handover: "+secret.Scrub(a))
			}
		}
	}
	return out
}

// attachments: the handover report on handover-ready, the hire's run
// report on a failure (both as the report package renders them, scrubbed).
func attachments(h plan.Hire, res *result.Run, ev string) []Attachment {
	var name, ctype string
	switch ev {
	case HandoverReady:
		name, ctype = "handover-"+h.ID+".html", "text/html"
	case Failure, Drift:
		name, ctype = "report-"+h.ID+".md", "text/markdown"
	default:
		return nil
	}
	b, err := report.Render(name, report.Only(res, h.ID))
	if err != nil {
		return nil
	}
	return []Attachment{{Name: name, ContentType: ctype, Data: []byte(secret.Scrub(string(b)))}}
}

func scrubAll(list []string) []string {
	var out []string
	for _, s := range list {
		out = append(out, secret.Scrub(s))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// String names the message for logs and errors: key and channel.
func (m Message) String() string { return fmt.Sprintf("%s via %s", m.Key, m.Channel) }
