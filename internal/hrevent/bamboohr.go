package hrevent

import (
	"fmt"
	"time"
)

// BambooHR: the field-based (global) webhook, posted as JSON, with the
// payload's field names set to BambooHR's API aliases:
//
//	{"employees": [{
//	  "id": "123",                          person.employee_id (BambooHR's employee id)
//	  "action": "Created",                  type: Created → hire, Updated → change, Deleted → cancel
//	  "timestamp": "2026-11-20T09:00:00+00:00", occurred_at; id is bamboohr:<id>:<unix seconds>
//	  "changedFields": ["firstName"],       ignored
//	  "fields": {
//	    "firstName": …, "lastName": …,      person.given_name, person.surname
//	    "preferredName": …,                 person.preferred_name
//	    "jobTitle": …, "department": …,     person.title, person.department
//	    "location": …, "workEmail": …,      person.location, person.email
//	    "supervisorEId": …,                 person.manager (the supervisor's BambooHR id)
//	    "hireDate": "2026-12-07",           person.start_date (0000-00-00: none)
//	    "terminationDate": "2027-03-31"}}]} person.last_day (0000-00-00: none)
//
// BambooHR has no action of its own for a termination: an Updated record
// with a termination date is a leave (last_day), one without is a change.
//
// The employee id is BambooHR's id rather than employeeNumber, which many
// companies leave unset, and it is the id supervisorEId names. One
// delivery may batch several employees: DecodeAll returns an event each.
var bamboohrFields = []mapping{
	{"given_name", []string{"fields", "firstName"}},
	{"surname", []string{"fields", "lastName"}},
	{"preferred_name", []string{"fields", "preferredName"}},
	{"title", []string{"fields", "jobTitle"}},
	{"department", []string{"fields", "department"}},
	{"location", []string{"fields", "location"}},
	{"email", []string{"fields", "workEmail"}},
	{"manager", []string{"fields", "supervisorEId"}},
	{"start_date", []string{"fields", "hireDate"}},
	{"last_day", []string{"fields", "terminationDate"}},
}

var bamboohrActions = map[string]Type{"created": Hire, "updated": Change, "deleted": Cancel}

func decodeBambooHR(d *dec, root *node, opt Options) []*draft {
	var top path
	if !d.object(root, top) {
		return nil
	}
	list, p := root.get("employees"), top.key("employees")
	switch {
	case list == nil:
		d.fail(p, "is required")
		return nil
	case list.kind != kArray:
		d.fail(p, "must be a list, got %s", list.describe())
		return nil
	case len(list.items) == 0:
		d.fail(p, "holds no employee")
		return nil
	}
	var drafts []*draft
	for i, rec := range list.items {
		rp := p.index(i)
		if !d.object(rec, rp) {
			continue
		}
		dr := newDraft()
		d.take(dr, "employee_id", rec, rp, "id")
		d.takeAll(dr, rec, rp, bamboohrFields)
		dr.at["type"] = loc{p: rp.key("action")}
		if a, ok := d.required(rec, rp, "action"); ok {
			if dr.ev.Type = vendorType(a, bamboohrActions); dr.ev.Type == "" {
				d.fail(rp.key("action"), "must be Created, Updated or Deleted, got %q", a)
				dr.bad["type"] = true
			}
			terminated(dr)
		} else {
			dr.bad["type"] = true
		}
		dr.at["id"] = loc{p: rp.key("timestamp")}
		if ts, ok := d.required(rec, rp, "timestamp"); ok {
			t, err := parseVendorTime(ts)
			if err != nil {
				d.fail(rp.key("timestamp"), "must be a time such as 2026-11-20T09:00:00+00:00, got %q", ts)
				dr.bad["id"] = true
			} else {
				dr.ev.OccurredAt = t.UTC()
				dr.ev.ID = fmt.Sprintf("bamboohr:%s:%d", dr.ev.Person.EmployeeID, t.Unix())
			}
		} else {
			dr.bad["id"] = true
		}
		d.fromHeaders(dr, opt, rp.key("timestamp"), rp.key("action"), true, true)
		drafts = append(drafts, dr)
	}
	return drafts
}

// terminated makes a vendor's update that carries a termination date a
// leave: the vendors send a termination as an ordinary update.
func terminated(dr *draft) {
	if dr.ev.Type == Change && dr.ev.Person.LastDay != nil {
		dr.ev.Type = Leave
	}
}

// required returns the string at key of an object, recording a problem
// when it is absent or not a string.
func (d *dec) required(rec *node, p path, key string) (string, bool) {
	n := rec.get(key)
	if n == nil {
		d.fail(p.key(key), "is required")
		return "", false
	}
	return d.str(n, p.key(key), false)
}

// parseVendorTime reads RFC 3339, and the same with a zone written
// without a colon (+0000) as BambooHR's event-based webhooks write it.
func parseVendorTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05Z0700", s)
	}
	return t, err
}
