package hrevent

import "time"

// The native schema's fields, in order (docs/hr-events.md).
var (
	nativeFields = []string{"id", "type", "occurred_at", "person", "workstation"}
	nativePerson = func() []string {
		names := []string{"employee_id"}
		for _, f := range personFields {
			names = append(names, f.name)
		}
		return names
	}()
)

// decodeNative reads onboard's own schema: every field known, every value
// a string, nothing else accepted. The id and type are the document's; a
// header, if sent, must agree.
func decodeNative(d *dec, root *node, opt Options) []*draft {
	dr := newDraft()
	ev := &dr.ev
	var top path
	for _, f := range nativeFields {
		dr.at[f] = loc{p: top.key(f)}
	}
	for _, f := range nativePerson {
		dr.at["person."+f] = loc{p: top.key("person").key(f)}
	}
	personSeen := false
	d.fields(root, top, nativeFields, func(key string, v *node, p path) {
		if key == "person" {
			personSeen = true
			d.fields(v, p, nativePerson, func(key string, v *node, p path) {
				if s, ok := d.str(v, p, false); ok {
					dr.setPerson(key, s, p)
				} else {
					dr.bad["person."+key] = true
				}
			})
			if v.kind != kObject {
				personSeen = false // reported; its fields are not missing
			}
			return
		}
		s, ok := d.str(v, p, false)
		if !ok {
			dr.bad[key] = true
			return
		}
		switch key {
		case "id":
			ev.ID = s
		case "type":
			ev.Type = Type(s)
		case "workstation":
			ev.Workstation = s
		case "occurred_at":
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				d.fail(p, "must be a time written as RFC 3339 (2026-11-20T09:00:00Z), got %q", s)
				return
			}
			ev.OccurredAt = t.UTC()
		}
	})
	if root.kind != kObject {
		return nil
	}
	if !personSeen {
		if root.get("person") == nil {
			d.fail(top.key("person"), "is required")
		}
		dr.bad["person.employee_id"] = true
		for _, f := range personFields {
			dr.bad["person."+f.name] = true
		}
	}
	d.fromHeaders(dr, opt, top.key("id"), top.key("type"), true, true)
	return []*draft{dr}
}
