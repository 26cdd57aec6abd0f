package hrevent

import (
	"strings"
)

// Personio: one employee as Personio's API returns it (GET
// /company/employees/{id}: every attribute a {"label", "value"} pair), in
// the envelope an integration relays it in on an employee event:
//
//	{"event": "employee.created",          type: employee.created → hire, .updated → change, .deleted → cancel
//	 "id": "…",                            id
//	 "data": {"type": "Employee", "attributes": {
//	   "id": {"value": 4711},              person.employee_id
//	   "first_name": {"value": …},         person.given_name
//	   "last_name": {"value": …},          person.surname
//	   "preferred_name": {"value": …},     person.preferred_name
//	   "email": {"value": …},              person.email
//	   "position": {"value": …},           person.title
//	   "department": {"value": {"attributes": {"name": …}}},  person.department
//	   "office": {"value": {"attributes": {"name": …}}},      person.location
//	   "cost_centers": {"value": [{"attributes": {"name": …}}]}, person.cost_center (names joined by ", ")
//	   "supervisor": {"value": {"attributes": {"id": {"value": …}}}}, person.manager (the supervisor's id)
//	   "hire_date": {"value": "2026-12-07T00:00:00+01:00"},     person.start_date (its date as written)
//	   "termination_date": {"value": "2027-03-31T00:00:00+02:00"}}}} person.last_day (a leave only)
//
// Personio sends a termination as an update: employee.updated with a
// termination date is a leave.
//
// The API's own response ({"success": true, "data": …}) is read as well:
// a document without "event" or "id" takes them from the Onboard-Event-Type
// and Onboard-Event-Id headers. Other attributes are ignored.
var personioFields = []mapping{
	{"employee_id", []string{"id", "value"}},
	{"given_name", []string{"first_name", "value"}},
	{"surname", []string{"last_name", "value"}},
	{"preferred_name", []string{"preferred_name", "value"}},
	{"email", []string{"email", "value"}},
	{"title", []string{"position", "value"}},
	{"department", []string{"department", "value", "attributes", "name"}},
	{"location", []string{"office", "value", "attributes", "name"}},
	{"manager", []string{"supervisor", "value", "attributes", "id", "value"}},
	{"start_date", []string{"hire_date", "value"}},
	{"last_day", []string{"termination_date", "value"}},
}

var personioEvents = map[string]Type{"employee.created": Hire, "employee.updated": Change, "employee.deleted": Cancel}

func decodePersonio(d *dec, root *node, opt Options) []*draft {
	var top path
	if !d.object(root, top) {
		return nil
	}
	data, dp := root.get("data"), top.key("data")
	if data == nil {
		d.fail(dp, "is required")
		return nil
	}
	attrs, ap, ok := d.find(data, dp, "attributes")
	if !ok {
		return nil
	}
	if attrs == nil {
		d.fail(ap, "is required")
		return nil
	}
	if !d.object(attrs, ap) {
		return nil
	}
	dr := newDraft()
	d.takeAll(dr, attrs, ap, personioFields)
	d.costCenters(dr, attrs, ap)

	ev := root.get("event")
	if ev != nil {
		if s, ok := d.str(ev, top.key("event"), false); !ok {
			dr.bad["type"] = true
		} else if dr.ev.Type = vendorType(s, personioEvents); dr.ev.Type == "" {
			d.fail(top.key("event"), "must be employee.created, employee.updated or employee.deleted, got %q", s)
			dr.bad["type"] = true
		}
		terminated(dr)
	}
	id := root.get("id")
	if id != nil {
		if s, ok := d.str(id, top.key("id"), true); ok {
			dr.ev.ID = s
		} else {
			dr.bad["id"] = true
		}
	}
	d.fromHeaders(dr, opt, top.key("id"), top.key("event"), id != nil, ev != nil)
	return []*draft{dr}
}

// costCenters joins the names of an employee's cost centers (Personio
// splits a person's cost across several, by percentage).
func (d *dec) costCenters(dr *draft, attrs *node, ap path) {
	const field = "person.cost_center"
	list, lp, ok := d.find(attrs, ap, "cost_centers", "value")
	dr.at[field] = loc{p: lp}
	switch {
	case !ok:
		dr.bad[field] = true
		return
	case list == nil:
		return
	case list.kind == kNull:
		dr.setPerson("cost_center", "", lp)
		return
	case list.kind != kArray:
		d.fail(lp, "must be a list, got %s", list.describe())
		dr.bad[field] = true
		return
	}
	var names []string
	for i, cc := range list.items {
		n, np, ok := d.find(cc, lp.index(i), "attributes", "name")
		if !ok {
			dr.bad[field] = true
			continue
		}
		if n == nil {
			d.fail(np, "is required")
			dr.bad[field] = true
			continue
		}
		if s, ok := d.str(n, np, false); ok {
			names = append(names, s)
		} else {
			dr.bad[field] = true
		}
	}
	if !dr.bad[field] {
		dr.setPerson("cost_center", strings.Join(names, ", "), lp)
	}
}
