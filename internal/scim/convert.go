package scim

import (
	"strings"
	"time"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
)

// field ties a User field to its SCIM attribute: the schema it belongs to
// (empty for the core schema), its name, and a sub-attribute for "name".
type field struct {
	schema, attr, sub string
	get               func(*User) *string
}

// fields lists every string field of User but Email (a multi-valued
// attribute) and the Backend-assigned ID: the one mapping used both ways.
var fields = []field{
	{"", "externalId", "", func(u *User) *string { return &u.ExternalID }},
	{"", "userName", "", func(u *User) *string { return &u.UserName }},
	{"", "name", "givenName", func(u *User) *string { return &u.GivenName }},
	{"", "name", "familyName", func(u *User) *string { return &u.FamilyName }},
	{"", "displayName", "", func(u *User) *string { return &u.DisplayName }},
	{"", "nickName", "", func(u *User) *string { return &u.NickName }},
	{"", "title", "", func(u *User) *string { return &u.Title }},
	{EnterpriseSchema, "employeeNumber", "", func(u *User) *string { return &u.EmployeeNumber }},
	{EnterpriseSchema, "department", "", func(u *User) *string { return &u.Department }},
	{EnterpriseSchema, "costCenter", "", func(u *User) *string { return &u.CostCenter }},
	{EnterpriseSchema, "organization", "", func(u *User) *string { return &u.Organization }},
	{EnterpriseSchema, "division", "", func(u *User) *string { return &u.Division }},
	{EnterpriseSchema, "manager", "value", func(u *User) *string { return &u.Manager }},
	{OnboardSchema, "startDate", "", func(u *User) *string { return &u.StartDate }},
	{OnboardSchema, "workstation", "", func(u *User) *string { return &u.Workstation }},
	{OnboardSchema, "location", "", func(u *User) *string { return &u.Location }},
}

// name is the attribute's SCIM name as an error detail gives it.
func (f field) name() string {
	n := f.attr
	if f.sub != "" {
		n += "." + f.sub
	}
	if f.schema != "" {
		n = f.schema + ":" + n
	}
	return n
}

// document is a User as a SCIM JSON object with canonical attribute names,
// extensions nested under their schema URI: what PATCH operates on and what
// the handler returns.
func document(u User) map[string]interface{} {
	doc := map[string]interface{}{"active": u.Active}
	for _, f := range fields {
		v := *f.get(&u)
		if v == "" {
			continue
		}
		m := doc
		if f.schema != "" {
			m = child(doc, f.schema)
		}
		if f.sub != "" {
			child(m, f.attr)[f.sub] = v
		} else {
			m[f.attr] = v
		}
	}
	if u.Email != "" {
		doc["emails"] = []interface{}{map[string]interface{}{"value": u.Email, "type": "work", "primary": true}}
	}
	return doc
}

// child returns m[key] as a map, creating it if absent.
func child(m map[string]interface{}, key string) map[string]interface{} {
	c, ok := m[key].(map[string]interface{})
	if !ok {
		c = map[string]interface{}{}
		m[key] = c
	}
	return c
}

// fromDocument reads a User from a document with canonical names (what the
// library's validation or applyPatch produce). Attributes onboard does not
// hold are dropped.
func fromDocument(doc map[string]interface{}) User {
	var u User
	for _, f := range fields {
		m := doc
		if f.schema != "" {
			m, _ = doc[f.schema].(map[string]interface{})
		}
		if f.sub != "" {
			m, _ = m[f.attr].(map[string]interface{})
		}
		key := f.attr
		if f.sub != "" {
			key = f.sub
		}
		if s, ok := m[key].(string); ok {
			*f.get(&u) = s
		}
	}
	u.Active, _ = doc["active"].(bool)
	u.Email = pickEmail(doc["emails"])
	return u
}

// pickEmail chooses the primary email, else the work one, else the first.
func pickEmail(v interface{}) string {
	list, _ := v.([]interface{})
	var work, first string
	for _, e := range list {
		m, _ := e.(map[string]interface{})
		s, _ := m["value"].(string)
		if s == "" {
			continue
		}
		if p, _ := m["primary"].(bool); p {
			return s
		}
		if t, _ := m["type"].(string); work == "" && strings.EqualFold(t, "work") {
			work = s
		}
		if first == "" {
			first = s
		}
	}
	if work != "" {
		return work
	}
	return first
}

// resource is the library's view of u.
func resource(u User) scim.Resource {
	doc := document(u)
	delete(doc, "externalId")
	r := scim.Resource{ID: u.ID, Attributes: doc, Meta: scim.Meta{Version: u.Version}}
	if u.ExternalID != "" {
		r.ExternalID = optional.NewString(u.ExternalID)
	}
	if !u.Created.IsZero() {
		t := u.Created.UTC()
		r.Meta.Created = &t
	}
	if !u.LastModified.IsZero() {
		t := u.LastModified.UTC()
		r.Meta.LastModified = &t
	}
	return r
}

// filterDocument is u as the library's filter evaluates it: extension
// attributes also at the top level, prefixed with their schema URI and, where
// no core attribute has the name, bare; the common attributes id and meta.
func filterDocument(u User) map[string]interface{} {
	doc := document(u)
	if u.ID != "" {
		doc["id"] = u.ID
	}
	meta := map[string]interface{}{"resourceType": "User"}
	if !u.Created.IsZero() {
		meta["created"] = u.Created.UTC().Format(time.RFC3339)
	}
	if !u.LastModified.IsZero() {
		meta["lastModified"] = u.LastModified.UTC().Format(time.RFC3339)
	}
	doc["meta"] = meta
	for _, uri := range []string{EnterpriseSchema, OnboardSchema} {
		ext, _ := doc[uri].(map[string]interface{})
		for k, v := range ext {
			doc[uri+":"+k] = v
			if _, core := doc[k]; !core {
				doc[k] = v
			}
		}
	}
	return doc
}
