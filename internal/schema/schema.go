// Package schema generates the JSON Schema (draft 2020-12) of each YAML
// format onboard reads: playbooks, role profiles and inventory files. Editors
// use it for completion and validation, e.g. VS Code's YAML extension with
// a first line "# yaml-language-server: $schema=playbook.schema.json".
//
// The schema is made by reflection over the very types the strict decoder
// (internal/strictyaml) fills, following the decoder's rules, so it cannot
// drift from what onboard accepts: field names come from `yaml` tags,
// `yaml:"-"` fields are left out, `yaml:",inline"` structs are flattened,
// `onboard:"required"` fields are required and unknown fields are refused.
// On top of the decoder's rules it carries the checks onboard makes once a
// file is decoded and that a schema can say (enumerations, formats, "one of
// these fields"), and a description of every field (describe.go).
//
// Only keywords that mean the same in draft-07 and 2020-12 are used, and no
// $ref, because VS Code's YAML extension validates with draft-07 semantics.
package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"onboard/internal/inventory"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// Draft is the JSON Schema dialect of the generated schemas.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// IDBase prefixes the $id of each schema: IDBase + NAME + ".schema.json".
const IDBase = "https://onboard.example.com/schema/"

type format struct {
	name, title, description string
	root                     reflect.Type
}

var formats = []format{
	{"playbook", "onboard playbook",
		"One new hire's onboarding: who they are, their account, their workstation and the checks run before handover.",
		reflect.TypeFor[playbook.Playbook]()},
	{"profile", "onboard role profile",
		"What every hire of a role gets: groups, software, printers, checks and manual steps. A playbook names its profile in `profile` and may add to or omit from it.",
		reflect.TypeFor[playbook.Profile]()},
	{"inventory", "onboard inventory",
		"One inventory file: host groups, hosts, the printer catalogue and the software catalogue. Every section is optional; onboard merges every file of an inventory directory.",
		reflect.TypeFor[inventory.File]()},
}

// Names lists the formats JSON knows.
func Names() []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return names
}

// JSON returns the indented JSON Schema of one format: "playbook",
// "profile" or "inventory".
func JSON(which string) ([]byte, error) {
	for _, f := range formats {
		if f.name == which {
			s, g := generate(f)
			if err := g.err(); err != nil {
				return nil, err
			}
			return encode(s)
		}
	}
	return nil, fmt.Errorf("unknown schema %q: choose %s", which, strings.Join(Names(), ", "))
}

func generate(f format) (sch, *gen) {
	g := &gen{used: map[string]bool{}}
	body := g.object(f.root)
	s := sch{
		"$schema":     Draft,
		"$id":         IDBase + f.name + ".schema.json",
		"title":       f.title,
		"description": f.description,
	}
	for k, v := range body {
		s[k] = v
	}
	return s, g
}

// sch is one schema object; encode writes its keys in keyOrder.
type sch map[string]any

// props is the properties of an object schema, in field order.
type props struct {
	names   []string
	schemas map[string]sch
}

func (p *props) add(name string, s sch) {
	if p.schemas == nil {
		p.schemas = map[string]sch{}
	}
	p.names = append(p.names, name)
	p.schemas[name] = s
}

// keyOrder is the order keys are written in; others follow, sorted.
var keyOrder = []string{
	"$schema", "$id", "title", "description", "type", "enum", "format", "pattern", "patternErrorMessage",
	"minimum", "maximum", "items", "properties", "propertyNames", "additionalProperties", "required",
	"anyOf", "oneOf", "not", "if", "then", "else",
}

// keys returns s's keys in keyOrder.
func (s sch) keys() []string {
	rank := func(k string) int {
		if i := slices.Index(keyOrder, k); i >= 0 {
			return i
		}
		return len(keyOrder)
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

// encode writes v as JSON indented by two spaces, lists of strings on one
// line, without escaping <, > and & (descriptions are prose).
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := write(&b, v, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func write(b *bytes.Buffer, v any, depth int) error {
	var keys []string
	var get func(string) any
	switch v := v.(type) {
	case sch:
		keys, get = v.keys(), func(k string) any { return v[k] }
	case *props:
		keys, get = v.names, func(k string) any { return v.schemas[k] }
	case []sch:
		if len(v) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[")
		for i, s := range v {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + strings.Repeat("  ", depth+1))
			if err := write(b, s, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("\n" + strings.Repeat("  ", depth) + "]")
		return nil
	case []string:
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteString("]")
		return nil
	default:
		return writeJSON(b, v)
	}
	if len(keys) == 0 {
		b.WriteString("{}")
		return nil
	}
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n" + strings.Repeat("  ", depth+1))
		if err := writeJSON(b, k); err != nil {
			return err
		}
		b.WriteString(": ")
		if err := write(b, get(k), depth+1); err != nil {
			return err
		}
	}
	b.WriteString("\n" + strings.Repeat("  ", depth) + "}")
	return nil
}

// writeJSON writes a scalar.
func writeJSON(b *bytes.Buffer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return nil
}

// gen walks Go types into schemas, recording which descriptions and rules
// it used and what it could not describe.
type gen struct {
	used    map[string]bool
	missing []string
}

func (g *gen) err() error {
	if len(g.missing) == 0 {
		return nil
	}
	return fmt.Errorf("schema: %s", strings.Join(g.missing, "; "))
}

func (g *gen) fail(format string, args ...any) {
	g.missing = append(g.missing, fmt.Sprintf(format, args...))
}

func (g *gen) describe(key string) string {
	d, ok := descriptions[key]
	if !ok {
		g.fail("no description for %s", key)
	}
	g.used[key] = true
	return d
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	stringType      = reflect.TypeFor[string]()
	listType        = reflect.TypeFor[playbook.List]()
	unmarshalerType = reflect.TypeFor[strictyaml.Unmarshaler]()
)

// scalarTypes are what a Go string accepts: the decoder takes the text of
// any scalar but null, so `employee_id: 1042` and `version: 2.1` are
// strings to onboard.
var scalarTypes = []string{"string", "number", "boolean"}

// value is the schema of a Go type as strictyaml.Decoder.Value decodes it,
// in the same order of cases. key ("pkg.Type.field") names the field.
func (g *gen) value(t reflect.Type, key string) sch {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if t == listType {
			return g.list(key)
		}
		g.fail("%s: no schema for %s, which decodes itself", key, t)
		return sch{}
	}
	if t.Kind() == reflect.Pointer {
		return nullable(g.value(t.Elem(), key)) // null leaves the pointer nil
	}
	if t == durationType {
		return sch{"type": "string", "pattern": durationPattern,
			"patternErrorMessage": "must be a positive duration such as 90s, 5m or 1h30m"}
	}
	switch t.Kind() {
	case reflect.Struct:
		return g.object(t)
	case reflect.String:
		return sch{"type": scalarTypes}
	case reflect.Bool:
		return sch{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return sch{"type": "integer"}
	case reflect.Slice:
		return sch{"type": []string{"array", "null"}, "items": g.value(t.Elem(), key+"[]")}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			g.fail("%s: map keys must be strings, not %s", key, t.Key())
		}
		return sch{"type": []string{"object", "null"}, "additionalProperties": g.value(t.Elem(), key+"{}")}
	}
	g.fail("%s: no schema for %s", key, t)
	return sch{}
}

func nullable(s sch) sch {
	switch t := s["type"].(type) {
	case string:
		s["type"] = []string{t, "null"}
	case []string:
		s["type"] = append(append([]string(nil), t...), "null")
	}
	return s
}

// field is one YAML field of a struct; owner is the struct declaring it
// (the embedded struct for inline fields).
type field struct {
	name     string
	typ      reflect.Type
	owner    reflect.Type
	required bool
	one      bool // onboard:"one": one string is a list of one
}

// fields lists a struct's YAML fields as strictyaml's fieldsOf does.
func fields(t reflect.Type) []field {
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		parts := strings.Split(tag, ",")
		if len(parts) > 1 && parts[1] == "inline" && f.Type.Kind() == reflect.Struct {
			fs = append(fs, fields(f.Type)...)
			continue
		}
		name := parts[0]
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		opts := strings.Split(f.Tag.Get("onboard"), ",")
		fs = append(fs, field{name: name, typ: f.Type, owner: t, required: slices.Contains(opts, "required"), one: slices.Contains(opts, "one")})
	}
	return fs
}

// object is a struct: a mapping with exactly its fields.
func (g *gen) object(t reflect.Type) sch {
	ps := &props{}
	var required []string
	for _, f := range fields(t) {
		key := f.owner.String() + "." + f.name
		s := g.value(f.typ, key)
		if f.one && f.typ.Kind() == reflect.Slice && f.typ.Elem() == stringType {
			// A documented shorthand: one scalar is a list of one.
			s["type"] = append([]string{"array"}, append(scalarTypes, "null")...)
		}
		if r, ok := fieldRules[key]; ok {
			g.used["rule "+key] = true
			for k, v := range r {
				s[k] = v
			}
		}
		s["description"] = g.describe(key)
		ps.add(f.name, s)
		if f.required {
			required = append(required, f.name)
		}
	}
	s := sch{"type": "object", "properties": ps, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	if r, ok := typeRules[t.String()]; ok {
		g.used["rule "+t.String()] = true
		for k, v := range r {
			s[k] = v
		}
	}
	return s
}

// list is playbook.List: names as a list (or one name), or a mapping with
// add and omit lists, or nothing.
func (g *gen) list(key string) sch {
	ps := &props{}
	for _, k := range []string{"add", "omit"} {
		s := g.value(reflect.TypeFor[[]string](), key+"."+k)
		s["description"] = g.describe("playbook.List." + k)
		ps.add(k, s)
	}
	return sch{
		"type":                 append([]string{"array", "object"}, append(scalarTypes, "null")...),
		"items":                g.value(stringType, key+"[]"),
		"properties":           ps,
		"additionalProperties": false,
	}
}
