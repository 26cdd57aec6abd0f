package hrevent

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"onboard/internal/schedule"
	"onboard/internal/strictyaml"
)

// Limits on what an event may say, in characters.
const (
	maxID    = 128
	maxName  = 128 // given name, surname, preferred name
	maxText  = 256 // title, department, manager, location, cost center
	maxEmail = 254 // RFC 5321's limit on a forward path
	maxHost  = 253
)

var (
	idRE       = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	employeeRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	hostRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// draft is an event as a format's decoder read it, before validation,
// with where each of its fields is (or would be) in the document.
type draft struct {
	ev Event
	// at maps "id", "type", "occurred_at", "workstation" and
	// "person.<name>" to the place a problem with it is reported.
	at map[string]loc
	// bad marks fields that already have a problem (a wrong type), so
	// that validation does not report them again as missing.
	bad map[string]bool
}

// loc is a place in the document, or a header.
type loc struct {
	p      path
	header string
}

func newDraft() *draft { return &draft{at: map[string]loc{}, bad: map[string]bool{}} }

// setPerson records a person field's value and place.
func (dr *draft) setPerson(name, v string, p path) {
	for _, f := range personFields {
		if f.name == name {
			*f.ptr(&dr.ev.Person) = &v
		}
	}
	if name == "employee_id" {
		dr.ev.Person.EmployeeID = v
	}
	dr.at["person."+name] = loc{p: p}
}

// fromHeaders fills the id and type from the headers where the document
// has neither, and checks a header against the document where it has one.
func (d *dec) fromHeaders(dr *draft, opt Options, idAt, typeAt path, docID, docType bool) {
	for _, h := range []struct {
		field, header, value string
		inDoc                bool
		at                   path
		dst                  *string
	}{
		{"id", HeaderEventID, opt.EventID, docID, idAt, &dr.ev.ID},
		{"type", HeaderEventType, opt.EventType, docType, typeAt, (*string)(&dr.ev.Type)},
	} {
		switch {
		case !h.inDoc && h.value == "":
			d.problems = append(d.problems, Problem{Header: h.header, Message: fmt.Sprintf("is required: a %s document carries no event %s", d.format, h.field)})
			dr.bad[h.field] = true
		case !h.inDoc:
			*h.dst = h.value
			dr.at[h.field] = loc{header: h.header}
		default:
			dr.at[h.field] = loc{p: h.at}
			if h.value != "" && *h.dst != "" && h.value != *h.dst && !dr.bad[h.field] {
				d.problems = append(d.problems, Problem{Header: h.header, Message: fmt.Sprintf("says %q but the document says %q", h.value, *h.dst)})
			}
		}
	}
}

// validate checks a draft's values and records every problem.
func (d *dec) validate(dr *draft) {
	fail := func(field, format string, args ...any) {
		l := dr.at[field]
		msg := fmt.Sprintf(format, args...)
		if d.format != Native && strings.HasPrefix(field, "person.") {
			msg += " (read as " + field + ")"
		}
		if l.header != "" {
			d.problems = append(d.problems, Problem{Header: l.header, Message: msg})
			return
		}
		d.fail(l.p, "%s", msg)
	}
	ev := &dr.ev
	if !dr.bad["id"] {
		switch {
		case ev.ID == "":
			fail("id", "is required and must not be empty")
		case !idRE.MatchString(ev.ID):
			fail("id", "must be 1 to %d letters, digits, '.', '_', ':' or '-' (it is the key that finds a redelivery), got %q", maxID, ev.ID)
		}
	}
	if !dr.bad["type"] {
		switch ev.Type {
		case Hire, Change, Cancel, Leave:
		case "":
			fail("type", "is required: hire, change, cancel or leave")
		default:
			fail("type", "must be hire, change, cancel or leave, got %q", ev.Type)
		}
	}
	if ev.Workstation != "" && (len(ev.Workstation) > maxHost || !hostRE.MatchString(ev.Workstation)) {
		fail("workstation", "must be an inventory host name (letters, digits, '.', '_', '-'; at most %d), got %q", maxHost, ev.Workstation)
	}

	p := &ev.Person
	if !dr.bad["person.employee_id"] {
		switch {
		case p.EmployeeID == "":
			fail("person.employee_id", "is required and must not be empty")
		case !employeeRE.MatchString(p.EmployeeID):
			fail("person.employee_id", "must be 1 to 64 letters, digits, '.', '_' or '-' (it names steps and files), got %q", p.EmployeeID)
		}
	}
	for _, f := range personFields {
		name := "person." + f.name
		v := *f.ptr(p)
		if dr.bad[name] {
			continue
		}
		required := ev.Type == Hire && (f.name == "given_name" || f.name == "surname" || f.name == "start_date")
		leaveOnly := f.name == "last_day" || f.name == "leave_at"
		switch {
		case v == nil && required:
			fail(name, "is required for a hire")
			continue
		case v == nil && f.name == "last_day" && ev.Type == Leave:
			fail(name, "is required for a leave")
			continue
		case v == nil:
			continue
		case leaveOnly && ev.Type != Leave && !dr.bad["type"] && ev.Type != "":
			// A date of leaving in a hire or change would be ignored; a
			// sender that means a leave must say so.
			fail(name, "belongs to a leave event only, not to a %s", ev.Type)
			continue
		case *v == "" && required:
			fail(name, "is required for a hire and must not be empty")
			continue
		case *v == "" && f.name == "last_day" && ev.Type == Leave:
			fail(name, "is required for a leave and must not be empty")
			continue
		case *v == "" && (f.name == "given_name" || f.name == "surname" || f.name == "start_date"):
			// A change may clear a title, never a name or start date.
			fail(name, "must not be empty")
			continue
		case *v == "":
			continue
		}
		if msg := checkText(*v, f.max); msg != "" {
			fail(name, "%s", msg)
			continue
		}
		switch f.name {
		case "email":
			if a, err := mail.ParseAddress(*v); err != nil || a.Address != *v {
				fail(name, "is not an email address: %q", *v)
			}
		case "start_date", "last_day":
			if _, err := time.Parse(time.DateOnly, *v); err != nil || !dateRE.MatchString(*v) {
				fail(name, "must be a date written YYYY-MM-DD, got %q", *v)
			}
		case "leave_at":
			if _, err := schedule.ParseClock(*v); err != nil {
				fail(name, "must be a local time written HH:MM (00:00 to 23:59), got %q", *v)
			}
		}
	}
}

// checkText refuses what a person field must not hold: control
// characters (line breaks and tabs among them, as every field is one
// line), bidirectional overrides, and more than max characters. Anything
// printable is data, quotes and shell or HTML syntax included.
func checkText(s string, max int) string {
	for i, c := range s {
		if strictyaml.IsControl(c) {
			return fmt.Sprintf("must not contain a control character (%U at character %d of the value)", c, utf8.RuneCountInString(s[:i])+1)
		}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("is %d characters long, more than the %d allowed", n, max)
	}
	return ""
}
