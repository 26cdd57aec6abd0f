package inventory

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/go-multierror"

	"onboard/internal/playbook"
	"onboard/internal/schedule"
	"onboard/internal/strictyaml"
)

// HR maps the hires HR records (department, title, location, cost centre)
// to what onboard serve makes of them: a role profile, a machine, a
// directory and an OU, and when each phase runs. The section may appear in
// several files: holidays and rules add up (rules in the order the files
// are read), a timezone and a schedule name may be defined once.
type HR struct {
	// Timezone: the IANA zone (Europe/Berlin) schedule times are local to;
	// default UTC.
	Timezone string `yaml:"timezone"`
	// Holidays: dates (YYYY-MM-DD) that are not working days.
	Holidays []string `yaml:"holidays"`
	// Schedules by profile name; "default" for every other profile.
	Schedules map[string]HRSchedule `yaml:"schedules"`
	// Rules: the first whose match fits the hire applies.
	Rules []HRRule `yaml:"rules"`
}

// HRSchedule places the phases of a profile's hires; a phase left out is
// the default schedule's.
type HRSchedule struct {
	Account    *HRWhen `yaml:"account"`
	Machine    *HRWhen `yaml:"machine"`
	Activation *HRWhen `yaml:"activation"`
}

// HRWhen places one phase.
type HRWhen struct {
	WorkingDaysBefore int    `yaml:"working_days_before" onboard:"required"`
	At                string `yaml:"at" onboard:"required"`
}

// HRRule says what a matching hire gets.
type HRRule struct {
	Name      string     `yaml:"name" onboard:"required"`
	Match     HRMatch    `yaml:"match"`
	Profile   string     `yaml:"profile" onboard:"required"`
	Directory string     `yaml:"directory" onboard:"required"`
	OU        string     `yaml:"ou"`
	Machine   HRMachine  `yaml:"machine" onboard:"required"`
	Groups    []string   `yaml:"groups"`
	Password  HRPassword `yaml:"password"`
	Handover  HRHandover `yaml:"handover"`
}

// HRMatch: every key given must match the hire's field. A value is a
// string compared ignoring case, or /regexp/ (RE2, unanchored, ignoring
// case); a list of values matches when one does.
type HRMatch struct {
	Department []string `yaml:"department" onboard:"one"`
	Title      []string `yaml:"title" onboard:"one"`
	Location   []string `yaml:"location" onboard:"one"`
	CostCenter []string `yaml:"cost_center" onboard:"one"`
}

// HRMachine is where the hire's workstation comes from: exactly one field.
type HRMachine struct {
	Host      string       `yaml:"host"`
	Pool      []string     `yaml:"pool"`
	FromEvent *HRFromEvent `yaml:"from_event"`
}

// HRFromEvent takes the workstation the event names, among these hosts.
type HRFromEvent struct {
	Allowed []string `yaml:"allowed" onboard:"required"`
}

// HRPassword says where a hire's initial password is delivered.
type HRPassword struct {
	Deliver string `yaml:"deliver"`
}

// HRHandover is the handover of a matching hire.
type HRHandover struct {
	Contact string   `yaml:"contact"`
	Reports []string `yaml:"reports"`
}

// The match keys, in the order they are tried and reported.
var hrKeys = []string{"department", "title", "location", "cost_center"}

func (m HRMatch) values(key string) []string {
	switch key {
	case "department":
		return m.Department
	case "title":
		return m.Title
	case "location":
		return m.Location
	case "cost_center":
		return m.CostCenter
	}
	return nil
}

// DefaultPhases is the schedule without hr.schedules.default: the account
// five working days before the start, the machine the working day before,
// activation at 07:30 on the day.
func DefaultPhases() map[schedule.Phase]schedule.When {
	return maps.Clone(defaultPhases)
}

var defaultPhases = map[schedule.Phase]schedule.When{
	schedule.Account:    {WorkingDaysBefore: 5, At: schedule.Clock{Hour: 9}},
	schedule.Machine:    {WorkingDaysBefore: 1, At: schedule.Clock{Hour: 9}},
	schedule.Activation: {WorkingDaysBefore: 0, At: schedule.Clock{Hour: 7, Minute: 30}},
}

// hrState is the hr sections merged, with where each part was written.
type hrState struct {
	timezone    string
	timezoneDoc *strictyaml.Doc
	holidays    []hrPlaced // value: the date as written
	schedules   map[string]hrSchedule
	rules       []hrRule

	// Made by checkHR.
	loc      *time.Location
	holiday  map[schedule.Date]bool
	resolved map[string]schedule.Schedule
}

type hrPlaced struct {
	value string
	key   string
	doc   *strictyaml.Doc
}

type hrSchedule struct {
	HRSchedule
	doc *strictyaml.Doc
}

type hrRule struct {
	HRRule
	key     string // hr.rules[N], in its file
	doc     *strictyaml.Doc
	matches map[string][]hrValue // by key, made by checkHR
}

// hrValue is one compiled match value.
type hrValue struct {
	text string         // as written
	re   *regexp.Regexp // for /regexp/
}

func (v hrValue) match(s string) bool {
	if v.re != nil {
		return v.re.MatchString(s)
	}
	return strings.EqualFold(v.text, s)
}

// addHR merges one file's hr section.
func (inv *Inventory) addHR(doc *strictyaml.Doc, h HR) []error {
	var errs []error
	st := &inv.hr
	if h.Timezone != "" {
		if st.timezoneDoc != nil {
			errs = append(errs, doc.Errorf("hr.timezone", "is also defined at %s", st.timezoneDoc.Pos("hr.timezone")))
		} else {
			st.timezone, st.timezoneDoc = h.Timezone, doc
		}
	}
	for i, d := range h.Holidays {
		st.holidays = append(st.holidays, hrPlaced{value: d, key: fmt.Sprintf("hr.holidays[%d]", i), doc: doc})
	}
	for _, name := range sortedKeys(h.Schedules) {
		key := "hr.schedules." + name
		if prev, ok := st.schedules[name]; ok {
			errs = append(errs, doc.Errorf(key, "is also defined at %s", prev.doc.Pos(key)))
			continue
		}
		if st.schedules == nil {
			st.schedules = map[string]hrSchedule{}
		}
		st.schedules[name] = hrSchedule{HRSchedule: h.Schedules[name], doc: doc}
	}
	for i, r := range h.Rules {
		st.rules = append(st.rules, hrRule{HRRule: r, key: fmt.Sprintf("hr.rules[%d]", i), doc: doc})
	}
	return errs
}

// checkHR validates the merged hr sections and prepares them for
// matching: zone, holidays, schedules, and every rule's references.
func (inv *Inventory) checkHR() []error {
	var errs []error
	st := &inv.hr
	st.loc = time.UTC
	if st.timezone != "" {
		loc, err := loadZone(st.timezone)
		if err != nil {
			errs = append(errs, st.timezoneDoc.Errorf("hr.timezone", "%v", err))
		} else {
			st.loc = loc
		}
	}
	st.holiday = map[schedule.Date]bool{}
	for _, h := range st.holidays {
		d, err := schedule.ParseDate(h.value)
		if err != nil {
			errs = append(errs, h.doc.Errorf(h.key, "%v", err))
			continue
		}
		st.holiday[d] = true
	}
	errs = append(errs, inv.checkSchedules()...)
	names := map[string]hrRule{}
	for i, r := range st.rules {
		errs = append(errs, inv.checkRule(&st.rules[i])...)
		if prev, ok := names[r.Name]; ok {
			errs = append(errs, r.doc.Errorf(r.key+".name", "rule %s is also defined at %s", r.Name, prev.doc.Pos(prev.key+".name")))
		} else {
			names[r.Name] = r
		}
		if r.catchAll() && i < len(st.rules)-1 && !r.doc.FailedWithin(r.key+".match") {
			next := st.rules[i+1]
			errs = append(errs, r.doc.Errorf(r.key+".match", "rule %s matches every hire (no match keys), so the rules after it would never apply (%s at %s): only the last rule may match everything", r.Name, next.Name, next.doc.Pos(next.key)))
		}
	}
	return errs
}

func (r hrRule) catchAll() bool {
	for _, k := range hrKeys {
		if len(r.Match.values(k)) > 0 {
			return false
		}
	}
	return true
}

// loadZone loads an IANA zone; "Local" is refused: it would mean whatever
// zone the serving machine is set to.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, fmt.Errorf("Local depends on the machine onboard runs on: name the zone (Europe/Berlin, America/New_York, UTC)")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: an IANA name such as Europe/Berlin, America/New_York or UTC", name)
	}
	return loc, nil
}

func (s HRSchedule) phases() map[schedule.Phase]*HRWhen {
	return map[schedule.Phase]*HRWhen{schedule.Account: s.Account, schedule.Machine: s.Machine, schedule.Activation: s.Activation}
}

// checkSchedules resolves every schedule (the default's phases under a
// profile's) and checks each once.
func (inv *Inventory) checkSchedules() []error {
	var errs []error
	st := &inv.hr
	st.resolved = map[string]schedule.Schedule{}
	// Each phase as written, checked on its own.
	bad := map[string]bool{}
	for _, name := range sortedKeys(st.schedules) {
		s := st.schedules[name]
		key := "hr.schedules." + name
		if name != "default" && !nameRE.MatchString(name) {
			errs, bad[name] = append(errs, s.doc.Errorf(key, "schedules are named after profiles (letters, digits, '.', '_' or '-'), or default")), true
		}
		for _, p := range schedule.Phases {
			w := s.phases()[p]
			if w == nil {
				continue
			}
			pk := key + "." + string(p)
			if w.WorkingDaysBefore < 0 || w.WorkingDaysBefore > schedule.MaxWorkingDays {
				errs, bad[name] = append(errs, s.doc.Errorf(pk+".working_days_before", "must be between 0 (the start date) and %d, got %d", schedule.MaxWorkingDays, w.WorkingDaysBefore)), true
			}
			if _, err := schedule.ParseClock(w.At); err != nil {
				errs, bad[name] = append(errs, s.doc.Errorf(pk+".at", "%v", err)), true
			}
		}
	}
	resolve := func(name string) (schedule.Schedule, map[schedule.Phase]string) {
		phases := map[schedule.Phase]schedule.When{}
		from := map[schedule.Phase]string{}
		for p, w := range defaultPhases {
			phases[p] = w
		}
		for _, n := range []string{"default", name} {
			s, ok := st.schedules[n]
			if !ok {
				continue
			}
			for p, w := range s.phases() {
				if w != nil {
					c, _ := schedule.ParseClock(w.At)
					phases[p], from[p] = schedule.When{WorkingDaysBefore: w.WorkingDaysBefore, At: c}, n
				}
			}
		}
		return schedule.Schedule{Name: name, Phases: phases, Location: st.loc, Holidays: st.holiday}, from
	}
	def, _ := resolve("default")
	st.resolved["default"] = def
	for _, name := range sortedKeys(st.schedules) {
		if bad[name] || bad["default"] && name != "default" {
			continue
		}
		s, from := resolve(name)
		st.resolved[name] = s
		key := "hr.schedules." + name
		for _, p := range s.Problems() {
			// Said where this schedule writes the phase at fault, or the
			// one it runs before; a problem among phases it inherits is
			// the default's, said there.
			var at schedule.Phase
			switch {
			case from[p.Phase] == name:
				at = p.Phase
			case p.After != "" && from[p.After] == name:
				at = p.After
			case name != "default":
				continue
			}
			src := func(q schedule.Phase) string {
				switch {
				case from[q] == "":
					return " (built-in default)"
				case from[q] != name:
					return " (from hr.schedules." + from[q] + ")"
				}
				return ""
			}
			msg := fmt.Sprintf("%s: %s", p.Phase, p.Msg)
			if p.After != "" {
				msg = fmt.Sprintf("%s would run before %s: %s is %s%s, %s is %s%s; account, machine and activation run in that order",
					p.Phase, p.After, p.After, s.Phases[p.After], src(p.After), p.Phase, s.Phases[p.Phase], src(p.Phase))
			}
			errs = append(errs, st.schedules[name].doc.Errorf(key+"."+string(at), "%s", msg))
		}
	}
	return errs
}

// checkRule checks one rule's references and compiles its match.
func (inv *Inventory) checkRule(r *hrRule) []error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, r.doc.Errorf(r.key+"."+field, format, args...))
	}
	if !nameRE.MatchString(r.Name) {
		fail("name", "rule names are letters, digits, '.', '_' or '-', got %q", r.Name)
	}
	r.matches = map[string][]hrValue{}
	for _, k := range hrKeys {
		for i, v := range r.Match.values(k) {
			field := fmt.Sprintf("match.%s[%d]", k, i)
			if !r.doc.Has(r.key + "." + field) {
				field = "match." + k // a single value, not a list
			}
			hv, err := compileHRValue(v)
			if err != nil {
				fail(field, "%v", err)
				continue
			}
			r.matches[k] = append(r.matches[k], hv)
		}
	}
	if !nameRE.MatchString(r.Profile) {
		fail("profile", "must be a profile name (letters, digits, '.', '_' or '-'), got %q", r.Profile)
	}
	d, dirOK := inv.Directories[r.Directory]
	if !dirOK && !inv.incomplete("directories") {
		fail("directory", "unknown directory %q%s", r.Directory, strictyaml.Suggest(r.Directory, sortedKeys(inv.Directories)))
	}
	if r.OU != "" {
		ou, err := ldap.ParseDN(r.OU)
		switch {
		case err != nil:
			fail("ou", "%q is not a DN: %v", r.OU, err)
		case !dirOK:
		case d.Kind != "active-directory":
			fail("ou", "directory %s is %s: machines join Active Directory domains, so there is no join OU", r.Directory, d.Kind)
		default:
			base, err := ldap.ParseDN(d.BaseDN)
			if err == nil && base.EqualFold(ou) {
				fail("ou", "is the base DN of directory %s itself: name the OU machines join, under it", r.Directory)
			} else if err == nil && !base.AncestorOfFold(ou) {
				fail("ou", "%s is not under the base DN of directory %s (%s)", r.OU, r.Directory, d.BaseDN)
			}
		}
	}
	m := r.Machine
	n := 0
	for _, set := range []bool{m.Host != "", len(m.Pool) > 0, m.FromEvent != nil} {
		if set {
			n++
		}
	}
	if n != 1 && !r.doc.FailedWithin(r.key+".machine") {
		fail("machine", "needs exactly one of host, pool or from_event (has %d)", n)
	}
	host := func(field, name string) {
		if _, ok := inv.Hosts[name]; !ok && !inv.incomplete("hosts") {
			fail(field, "unknown host %q%s", name, strictyaml.Suggest(name, sortedKeys(inv.Hosts)))
		}
	}
	hostList := func(field string, names []string) {
		seen := map[string]bool{}
		for i, h := range names {
			f := fmt.Sprintf("%s[%d]", field, i)
			host(f, h)
			if seen[h] {
				fail(f, "%s is listed twice", h)
			}
			seen[h] = true
		}
	}
	if m.Host != "" {
		host("machine.host", m.Host)
	}
	hostList("machine.pool", m.Pool)
	if m.FromEvent != nil {
		hostList("machine.from_event.allowed", m.FromEvent.Allowed)
	}
	for i, g := range r.Groups {
		if strings.TrimSpace(g) == "" {
			fail(fmt.Sprintf("groups[%d]", i), "is empty")
		}
	}
	vars := (&playbook.Playbook{}).TemplateVars("username", "host")
	path := func(field, p string) {
		if _, err := playbook.Expand(p, vars); err != nil {
			for _, pr := range playbook.Problems(err) {
				fail(field, "%s", pr)
			}
		} else if !playbook.IsAbs(p) {
			fail(field, "must be an absolute path (a rule has no folder of its own to be relative to), got %q", p)
		}
	}
	if dl := r.Password.Deliver; dl != "" {
		if p, ok := strings.CutPrefix(dl, "file:"); ok {
			path("password.deliver", p)
		} else if dl == "terminal" {
			fail("password.deliver", "terminal: onboard serve has no technician's terminal to print it on: deliver to file:PATH")
		} else {
			fail("password.deliver", "must be file:PATH, got %q", dl)
		}
	}
	for i, rp := range r.Handover.Reports {
		path(fmt.Sprintf("handover.reports[%d]", i), rp)
	}
	return errs
}

// compileHRValue reads a match value: /regexp/ or a string.
func compileHRValue(v string) (hrValue, error) {
	if strings.TrimSpace(v) == "" {
		return hrValue{}, fmt.Errorf("an empty value matches nothing but an empty field: for hires without one write /^$/, else leave the key out")
	}
	if len(v) >= 2 && strings.HasPrefix(v, "/") && strings.HasSuffix(v, "/") {
		expr := v[1 : len(v)-1]
		if expr == "" {
			return hrValue{}, fmt.Errorf("// matches everything: leave the key out instead")
		}
		if _, err := regexp.Compile(expr); err != nil {
			return hrValue{}, fmt.Errorf("bad regular expression %s: %v", v, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		re, err := regexp.Compile("(?i)" + expr)
		if err != nil {
			return hrValue{}, fmt.Errorf("bad regular expression %s: %v", v, err)
		}
		return hrValue{text: v, re: re}, nil
	}
	return hrValue{text: v}, nil
}

// ValidateHR checks what the inventory cannot check alone: that every
// rule's profile, and every schedule named after a profile, exists
// (profileExists says, from the profile folders). Errors are positioned
// like Load's.
func (inv *Inventory) ValidateHR(profileExists func(name string) bool) error {
	var errs *multierror.Error
	st := &inv.hr
	for _, r := range st.rules {
		if nameRE.MatchString(r.Profile) && !profileExists(r.Profile) {
			errs = multierror.Append(errs, r.doc.Errorf(r.key+".profile", "no profile %s in the profile folders (%s)", r.Profile, strings.Join(inv.ProfileDirs(), ", ")))
		}
	}
	for _, name := range sortedKeys(st.schedules) {
		if name != "default" && nameRE.MatchString(name) && !profileExists(name) {
			errs = multierror.Append(errs, st.schedules[name].doc.Errorf("hr.schedules."+name, "names no profile: schedules are by profile name (or default), and there is no profile %s in the profile folders", name))
		}
	}
	if errs != nil {
		errs.ErrorFormat = strictyaml.ListFormat
	}
	return errs.ErrorOrNil()
}

// ScheduleFor is the schedule of a profile's hires: its own, or the
// default's. The maps are the caller's own.
func (inv *Inventory) ScheduleFor(profile string) schedule.Schedule {
	s, ok := inv.hr.resolved[profile]
	if !ok {
		s, ok = inv.hr.resolved["default"]
	}
	if !ok {
		s = schedule.Schedule{Name: "default", Phases: defaultPhases, Location: time.UTC}
	}
	s.Phases, s.Holidays = maps.Clone(s.Phases), maps.Clone(s.Holidays)
	return s
}

// HRLocation is the zone hr schedules are local to (UTC by default).
func (inv *Inventory) HRLocation() *time.Location {
	if inv.hr.loc == nil {
		return time.UTC
	}
	return inv.hr.loc
}

// HRRules are the names of the hr rules, in the order they are tried.
func (inv *Inventory) HRRules() []string {
	var out []string
	for _, r := range inv.hr.rules {
		out = append(out, r.Name)
	}
	return out
}
