package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/notify"
	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/result"
	"onboard/internal/secret"
	"onboard/internal/serve/store"
)

// planError is a hire's plan that could not be built (a broken inventory,
// a profile that is missing or does not load, a playbook error): the run
// fails before any step, and the failure is told by the rules of
// unbuiltRules.
type planError struct{ err error }

func (e *planError) Error() string { return e.err.Error() }
func (e *planError) Unwrap() error { return e.err }

// planStepKind is the kind of the step that stands, in the result and the
// journal of a run whose plan could not be built, for making the plan.
const planStepKind = "plan"

// lastInventory is the last inventory that loaded: when the inventory no
// longer loads, a failure is still told through its channels, saying so.
type lastInventory struct {
	mu  sync.Mutex
	inv *inventory.Inventory
	at  time.Time
}

// inventory loads the inventory of the moment and remembers it when it
// loads.
func (s *Service) inventory() (*inventory.Inventory, error) {
	inv, err := inventory.Load(s.cfg.Inventory...)
	if err != nil {
		return nil, err
	}
	s.lastInv.mu.Lock()
	s.lastInv.inv, s.lastInv.at = inv, s.now()
	s.lastInv.mu.Unlock()
	return inv, nil
}

func (s *Service) lastInventory() (*inventory.Inventory, time.Time) {
	s.lastInv.mu.Lock()
	defer s.lastInv.mu.Unlock()
	return s.lastInv.inv, s.lastInv.at
}

// recordUnbuilt records a run whose plan could not be built, in the
// journal (one failed step: making the plan, with the errors), and returns
// its result and journal run id ("" without a journal, or when it could
// not be written: the run still fails, and the log says why).
func (s *Service) recordUnbuilt(ctx context.Context, r *store.Run, h *store.Hire, pe *planError) (*result.Run, string) {
	var p Person
	var a Assignment
	_ = json.Unmarshal(h.Person, &p)
	_ = json.Unmarshal(h.Assignment, &a)
	now := s.now()
	src := s.playbookPath(h.EmployeeID)
	hire := result.Hire{ID: h.EmployeeID, Name: strings.TrimSpace(playbook.Person{GivenName: p.GivenName, Surname: p.Surname, PreferredName: p.PreferredName}.DisplayName()),
		Host: a.Host, Profile: a.Profile, Source: src, StartDate: p.StartDate, Manager: p.Manager, Email: p.Email}
	id := h.EmployeeID + "/" + planStepKind
	st := result.Step{ID: id, Kind: planStepKind, Hire: h.EmployeeID, Host: a.Host, Title: "make the plan", Outcome: result.Failed, Started: now,
		Failure: &result.Failure{Host: a.Host, Step: id, Phase: planStepKind, Message: secret.Scrub(pe.Error())}}
	res := &result.Run{ID: journal.NewRunID(now), Operator: "onboard serve (" + s.cfg.Instance + ")", Started: now, Finished: now,
		Hires: []result.Hire{hire}, Steps: []result.Step{st}}
	if s.cfg.Journal == nil {
		return res, ""
	}
	rec := s.cfg.Journal.Recorder(journal.RunStart{Operator: res.Operator, Trigger: r.Trigger, Sources: []string{src}, Hires: res.Hires,
		Mode: unbuiltMode(r)})
	for _, ev := range []result.Event{
		{Type: result.RunStarted, RunID: res.ID, Time: now},
		{Type: result.StepFinished, RunID: res.ID, Time: now, Step: &st},
		{Type: result.RunFinished, RunID: res.ID, Time: now, Run: res},
	} {
		if err := rec.Record(context.WithoutCancel(ctx), ev); err != nil {
			s.log.Warn("journal: a run whose plan could not be built", "run", r.ID, "err", err)
			return res, ""
		}
	}
	return res, res.ID
}

// unbuiltMode is a run's journal mode when its plan could not be built:
// a leaver's stays "offboard" or "purge" (a failed one), a hire's says so.
func unbuiltMode(r *store.Run) string {
	if isLeavePhase(r.Phase) {
		return r.Phase
	}
	return fmt.Sprintf("serve %s (run %s, attempt %d): the plan could not be built", r.Phase, r.ID, r.Attempts)
}

// notifyUnbuilt tells of a run whose plan could not be built, by the
// rules unbuiltRules finds, keyed by the hire's generation and the errors:
// the same errors for the same hire and event are told once (every phase
// and every retry meets them), changed ones again.
func (s *Service) notifyUnbuilt(ctx context.Context, r *store.Run, h *store.Hire, pe *planError, res *result.Run) {
	if res == nil || len(res.Hires) != 1 {
		return // recordUnbuilt makes both
	}
	var p Person
	var a Assignment
	_ = json.Unmarshal(h.Person, &p)
	_ = json.Unmarshal(h.Assignment, &a)
	note := ""
	inv, err := s.inventory()
	if err != nil {
		var at time.Time
		inv, at = s.lastInventory()
		if inv == nil {
			s.log.Warn("notifications: the inventory does not load, and none loaded since the start: nobody is told that the plan could not be built", "run", r.ID, "err", err)
			return
		}
		note = fmt.Sprintf("The inventory does not load now (the errors say why): these recipients and channels are those of the inventory onboard serve last loaded, at %s.",
			at.UTC().Format(time.RFC3339))
	}
	rules, from := s.unbuiltRules(inv, &p, &a)
	if len(rules) == 0 {
		s.log.Warn("notifications: the plan could not be built and no rule says whom to tell (set the inventory's notify.default_rules)", "run", r.ID, "hire", h.EmployeeID)
		return
	}
	s.log.Info("notifications: the plan could not be built; telling by "+from, "run", r.ID, "hire", h.EmployeeID)
	ph := plan.Hire{ID: h.EmployeeID, Name: res.Hires[0].Name, Host: a.Host, Profile: a.Profile, Manager: p.Manager, StartDate: p.StartDate, Notify: rules}
	placed := ""
	if a.Rule != "" {
		at := ""
		if a.RuleAt != "" {
			at = " (" + a.RuleAt + ")"
		}
		placed = fmt.Sprintf("; hr rule %s%s placed the hire: profile %s, host %s", a.Rule, at, a.Profile, a.Host)
	}
	fix := fmt.Sprintf("fix what the errors name%s. Then retry the hire's failed runs on the status page, such as this one, %s (POST /api/v1/runs/%s/retry)",
		placed, r.ID, r.ID)
	msgs := notify.Build(&plan.Plan{Version: 1, Hires: []plan.Hire{ph}}, res, notify.Options{Origin: fmt.Sprintf("%s.g%d", r.EmployeeID, r.Generation),
		Resume: fix, Trigger: r.Trigger, Note: note, PlanErrors: secret.Scrub(pe.Error())})
	s.send(ctx, r, inv, msgs)
}

// unbuiltRules are the rules for a hire whose plan could not be built: its
// profile's failure rules when the profile loads and they resolve against
// the inventory, else the inventory's notify.default_rules. It says which.
func (s *Service) unbuiltRules(inv *inventory.Inventory, p *Person, a *Assignment) ([]plan.NotifyRule, string) {
	dirs := append(append([]string{}, s.cfg.Profiles...), filepath.Join(filepath.Dir(s.playbookPath(p.EmployeeID)), "profiles"))
	dirs = append(append(dirs, inv.ProfileDirs()...), filepath.Join("playbooks", "profiles"))
	if path, err := playbook.FindProfile(a.Profile, dirs); err == nil {
		if pr, err := playbook.LoadProfile(path); err == nil {
			if rules, err := resolveRules(inv, pr.Notify, p.Manager); err == nil && hasFailure(rules) {
				return rules, "the profile's rules (" + path + ")"
			}
		}
	}
	rules, err := resolveRules(inv, inv.NotifyDefaultRules(), p.Manager)
	if err != nil {
		s.log.Warn("notifications: notify.default_rules", "hire", p.EmployeeID, "err", err)
	}
	return rules, "the inventory's notify.default_rules"
}

// resolveRules turns rules into the plan's form, each recipient an
// address, as the planner does. It returns what resolved and the first
// error.
func resolveRules(inv *inventory.Inventory, rules []playbook.NotifyRule, manager string) ([]plan.NotifyRule, error) {
	var out []plan.NotifyRule
	var first error
	for _, r := range rules {
		pr := plan.NotifyRule{On: r.On}
		for _, v := range r.Via {
			if _, ok := inv.NotifyChannel(v); !ok {
				first = firstErr(first, fmt.Errorf("unknown channel %q", v))
				continue
			}
			pr.Via = append(pr.Via, v)
		}
		for _, w := range r.To {
			addr, err := inv.NotifyRecipient(w, manager)
			if err != nil {
				first = firstErr(first, err)
				continue
			}
			pr.To = append(pr.To, plan.Recipient{Who: w, Address: addr})
		}
		out = append(out, pr)
	}
	return out, first
}

func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func hasFailure(rules []plan.NotifyRule) bool {
	for _, r := range rules {
		for _, e := range r.On {
			if e == notify.Failure && len(r.Via) > 0 {
				return true
			}
		}
	}
	return false
}
