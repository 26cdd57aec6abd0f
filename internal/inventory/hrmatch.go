package inventory

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"onboard/internal/schedule"
	"onboard/internal/strictyaml"
)

// ErrNoMatch: no hr rule applies to a hire, and the event waits for a
// technician. The error's text says why, for them.
var ErrNoMatch = errors.New("no hr rule matches")

// ErrWorkstation: the rule that applies takes the workstation from the
// event, and the event names none, or one the rule does not allow. Such an
// error is also ErrNoMatch (errors.Is holds for both): it too waits for a
// technician.
var ErrWorkstation = errors.New("no workstation the hr rule allows")

// workstationError is ErrWorkstation and ErrNoMatch, with its own text: a
// rule did match, only the machine is missing.
type workstationError struct{ msg string }

func (e *workstationError) Error() string { return e.msg }

func (e *workstationError) Is(target error) bool {
	return target == ErrNoMatch || target == ErrWorkstation
}

// HRPerson is what an HR event says about a hire, as far as the mapping is
// concerned. The values are untrusted: they are compared as data, never
// read as patterns, and quoted wherever they are shown.
type HRPerson struct {
	EmployeeID, GivenName, Surname string
	Title, Department, Location    string
	CostCenter                     string
	// Workstation is the host the event names, for rules whose machine is
	// from_event.
	Workstation string
}

func (p HRPerson) field(key string) string {
	switch key {
	case "department":
		return p.Department
	case "title":
		return p.Title
	case "location":
		return p.Location
	case "cost_center":
		return p.CostCenter
	}
	return ""
}

// HRAssignment is what a hire gets from the rule that matched.
type HRAssignment struct {
	Rule   string // the rule's name
	RuleAt string // where it is written, file:line:column

	Profile   string
	Directory string
	JoinOU    string // empty: the profile's join_ou, or the domain's default

	// Exactly one of Host and Pool is set. Host is a fixed host, or the
	// event's workstation (FromEvent); Pool lists the hosts to take the
	// first free one of (the caller knows which are assigned).
	Host      string
	Pool      []string
	FromEvent bool

	Groups []string // extra directory groups
	// PasswordDeliver (file:PATH) and HandoverReports are templates, as
	// a playbook's account.password.deliver: expanded with the hire's
	// template values when the playbook is made.
	PasswordDeliver string
	HandoverContact string
	HandoverReports []string

	// Schedule places the hire's phases: the profile's, or the default.
	Schedule schedule.Schedule
}

// maxHRField bounds a person's field: longer is no department or title.
const maxHRField = 256

// MatchHR finds the first hr rule (in file order) every match key of which
// fits the hire. Without one, the error is ErrNoMatch with the fields tried
// and why the nearest rules did not match. It only reads the inventory:
// safe for concurrent use.
func (inv *Inventory) MatchHR(p HRPerson) (*HRAssignment, error) {
	for _, f := range []struct{ name, v string }{
		{"department", p.Department}, {"title", p.Title}, {"location", p.Location},
		{"cost_center", p.CostCenter}, {"workstation", p.Workstation},
	} {
		if err := checkHRField(f.v); err != nil {
			// Intake refuses these first; the event waits, never matched
			// on a value that cannot be shown.
			return nil, fmt.Errorf("%w: the hire's %s %v", ErrNoMatch, f.name, err)
		}
	}
	type miss struct {
		rule  *hrRule
		wants []string
	}
	var misses []miss
	for i := range inv.hr.rules {
		r := &inv.hr.rules[i]
		var wants []string
		for _, k := range hrKeys {
			vals, ok := r.matches[k]
			if !ok && len(r.Match.values(k)) == 0 {
				continue
			}
			if !anyMatch(vals, p.field(k)) {
				wants = append(wants, k+" "+wanted(r.Match.values(k)))
			}
		}
		if len(wants) == 0 {
			return inv.assign(r, p)
		}
		misses = append(misses, miss{r, wants})
	}
	if len(misses) == 0 {
		return nil, fmt.Errorf("%w: the inventory has no hr rules (docs/inventory.md, HR mapping and schedule)", ErrNoMatch)
	}
	// The fields any rule looks at, with the hire's values.
	var tried []string
	for _, k := range hrKeys {
		for _, m := range misses {
			if len(m.rule.Match.values(k)) > 0 {
				tried = append(tried, fmt.Sprintf("%s %s", k, quoteHR(p.field(k))))
				break
			}
		}
	}
	// The nearest rules: fewest keys that did not match, then file order.
	sort.SliceStable(misses, func(i, j int) bool { return len(misses[i].wants) < len(misses[j].wants) })
	const shown = 3
	var why []string
	for i, m := range misses {
		if i == shown {
			why = append(why, fmt.Sprintf("%d more", len(misses)-shown))
			break
		}
		why = append(why, m.rule.Name+" wants "+strings.Join(m.wants, " and "))
	}
	return nil, fmt.Errorf("%w: %s (rules: %s)", ErrNoMatch, strings.Join(tried, ", "), strings.Join(why, "; "))
}

func (inv *Inventory) assign(r *hrRule, p HRPerson) (*HRAssignment, error) {
	a := &HRAssignment{
		Rule: r.Name, RuleAt: r.doc.Pos(r.key).String(),
		Profile: r.Profile, Directory: r.Directory, JoinOU: r.OU,
		Host: r.Machine.Host, Pool: append([]string(nil), r.Machine.Pool...),
		Groups:          append([]string(nil), r.Groups...),
		PasswordDeliver: r.Password.Deliver, HandoverContact: r.Handover.Contact,
		HandoverReports: append([]string(nil), r.Handover.Reports...),
		Schedule:        inv.ScheduleFor(r.Profile),
	}
	if len(a.Pool) == 0 {
		a.Pool = nil
	}
	if fe := r.Machine.FromEvent; fe != nil {
		a.FromEvent = true
		allowed := strings.Join(fe.Allowed, ", ")
		if p.Workstation == "" {
			return nil, &workstationError{fmt.Sprintf("hr rule %s (%s) takes the workstation from the event, and the event names none (allowed: %s)", r.Name, a.RuleAt, allowed)}
		}
		// Host names are compared ignoring case, as DNS does; the
		// inventory's spelling is the one used.
		for _, h := range fe.Allowed {
			if strings.EqualFold(h, p.Workstation) {
				a.Host = h
				return a, nil
			}
		}
		return nil, &workstationError{fmt.Sprintf("the event's workstation %s is not one hr rule %s (%s) allows (%s)", quoteHR(p.Workstation), r.Name, a.RuleAt, allowed)}
	}
	return a, nil
}

func anyMatch(vals []hrValue, s string) bool {
	for _, v := range vals {
		if v.match(s) {
			return true
		}
	}
	return false
}

// wanted shows a rule's values as written: they are the inventory's.
func wanted(vals []string) string {
	return strings.Join(vals, " or ")
}

// checkHRField refuses what no HR field is: control characters, invalid
// UTF-8, too long.
func checkHRField(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	if len(s) > maxHRField {
		return fmt.Errorf("is %d bytes long, more than %d", len(s), maxHRField)
	}
	if i := strings.IndexFunc(s, strictyaml.IsControl); i >= 0 {
		return fmt.Errorf("%s contains the control character %U", quoteHR(s), []rune(s[i:])[0])
	}
	return nil
}

// quoteHR shows an untrusted value: quoted, escaped, and cut short.
func quoteHR(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("%q…", string([]rune(s)[:max]))
	}
	return fmt.Sprintf("%q", s)
}
