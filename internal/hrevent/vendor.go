package hrevent

import (
	"strings"
	"time"
)

// mapping says where a vendor document keeps one person field: a chain of
// object keys below the record.
type mapping struct {
	field string   // native person field name
	keys  []string // object keys from the record down to the value
}

// find follows keys through objects below n. It returns the value (nil
// when absent), its path, and false when something on the way is not an
// object (a problem it records). A null on the way is returned as the
// value: a vendor's "department": null means no department.
func (d *dec) find(n *node, p path, keys ...string) (*node, path, bool) {
	for i, k := range keys {
		if n == nil {
			for _, k := range keys[i:] {
				p = p.key(k)
			}
			return nil, p, true
		}
		if n.kind == kNull && i > 0 {
			return n, p, true
		}
		if !d.object(n, p) {
			return nil, p, false
		}
		n, p = n.get(k), p.key(k)
	}
	return n, p, true
}

// takeAll maps each field of a vendor record onto the draft.
func (d *dec) takeAll(dr *draft, rec *node, p path, ms []mapping) {
	for _, m := range ms {
		d.take(dr, m.field, rec, p, m.keys...)
	}
}

// take maps the value at keys below rec to a person field. A vendor's
// null is an empty value; for the employee's and the manager's ids a
// whole number is taken as its digits, as vendors write ids either way.
func (d *dec) take(dr *draft, field string, rec *node, p path, keys ...string) {
	n, at, ok := d.find(rec, p, keys...)
	dr.at["person."+field] = loc{p: at}
	if !ok {
		dr.bad["person."+field] = true
		return
	}
	if n == nil {
		return
	}
	s := ""
	if n.kind != kNull {
		if s, ok = d.str(n, at, field == "employee_id" || field == "manager"); !ok {
			dr.bad["person."+field] = true
			return
		}
	}
	if field == "start_date" || field == "last_day" {
		s = vendorDate(s)
	}
	if s == "" && (field == "given_name" || field == "surname" || field == "start_date" || field == "last_day") {
		// Vendors send a whole record with empty values where nothing is
		// known; these fields cannot be cleared, so empty is "not given"
		// (and a hire says it is missing).
		return
	}
	dr.setPerson(field, s, at)
}

// vendorDate reduces the ways vendors write a date to YYYY-MM-DD: a
// date-time (Personio: 2026-12-07T00:00:00+01:00) or an XML date with a
// zone (Workday: 2026-12-07-08:00) keeps its date as written; BambooHR's
// 0000-00-00 means no date. Anything else is left for validation to
// refuse.
func vendorDate(s string) string {
	if s == "0000-00-00" {
		return ""
	}
	if len(s) <= 10 || !dateRE.MatchString(s[:10]) {
		return s
	}
	rest := s[10:]
	if rest[0] == 'T' {
		if _, err := time.Parse(time.RFC3339, s); err == nil {
			return s[:10]
		}
		return s
	}
	if rest == "Z" {
		return s[:10]
	}
	if _, err := time.Parse("-07:00", rest); err == nil && (rest[0] == '+' || rest[0] == '-') {
		return s[:10]
	}
	return s
}

// vendorType maps a vendor's word for an event to a Type, "" if unknown.
func vendorType(word string, words map[string]Type) Type {
	return words[strings.ToLower(word)]
}
