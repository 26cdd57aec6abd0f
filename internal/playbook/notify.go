package playbook

import (
	"fmt"
	"net/mail"
	"strings"

	"onboard/internal/strictyaml"
)

// NotifyRule says who learns of what, and through which channels of the
// inventory (docs/notifications.md). Profiles and playbooks both may have
// rules; a hire gets the profile's and the playbook's.
type NotifyRule struct {
	// On: handover-ready, failure, human-task, drift.
	On []string `yaml:"on" onboard:"required"`
	// To: manager (the hire's), on-duty (the technician on duty),
	// team:NAME (an inventory team address) or an address.
	To []string `yaml:"to"`
	// Via: the inventory's notify.channels names.
	Via []string `yaml:"via" onboard:"required"`
}

// Notification events, as rules name them.
const (
	EventHandoverReady = "handover-ready"
	EventFailure       = "failure"
	EventHumanTask     = "human-task"
	EventDrift         = "drift"
)

// NotifyEvents are the events a rule may name.
var NotifyEvents = []string{EventHandoverReady, EventFailure, EventHumanTask, EventDrift}

// CheckNotify checks the rules of a playbook, a profile or the inventory's
// notify.default_rules on their own; the channels and teams they name are
// checked against the inventory when the plan is made.
func CheckNotify(d *strictyaml.Doc, base string, rules []NotifyRule) []error {
	var errs []error
	for i, r := range rules {
		p := fmt.Sprintf("%s[%d]", base, i)
		if len(r.On) == 0 {
			errs = append(errs, d.Errorf(p+".on", "names no event (%s)", strings.Join(NotifyEvents, ", ")))
		}
		for j, e := range r.On {
			known := false
			for _, k := range NotifyEvents {
				known = known || e == k
			}
			if !known {
				errs = append(errs, d.Errorf(fmt.Sprintf("%s.on[%d]", p, j), "unknown event %q: one of %s%s", e, strings.Join(NotifyEvents, ", "), strictyaml.Suggest(e, NotifyEvents)))
			}
		}
		for j, w := range r.To {
			switch {
			case w == "manager", w == "on-duty":
			case strings.HasPrefix(w, "team:") && nameRE.MatchString(strings.TrimPrefix(w, "team:")):
			default:
				if a, err := mail.ParseAddress(w); err != nil || a.Address != w {
					errs = append(errs, d.Errorf(fmt.Sprintf("%s.to[%d]", p, j), "must be manager, on-duty, team:NAME or an email address, got %q", w))
				}
			}
		}
		if len(r.Via) == 0 {
			errs = append(errs, d.Errorf(p+".via", "names no channel (the inventory's notify.channels)"))
		}
		for j, v := range r.Via {
			if !nameRE.MatchString(v) {
				errs = append(errs, d.Errorf(fmt.Sprintf("%s.via[%d]", p, j), "must name a channel of the inventory's notify.channels, got %q", v))
			}
		}
	}
	return errs
}
