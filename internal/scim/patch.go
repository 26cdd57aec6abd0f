package scim

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	libfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// schemas holds the core User schema (with externalId, as the library
// validates it) and the extensions by URI.
type schemas struct {
	core schema.Schema
	ext  map[string]schema.Schema
}

func userSchemas() schemas {
	core := schema.CoreUserSchema()
	core.Attributes = append(core.Attributes, schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		Name: "externalId", CaseExact: true,
	})))
	return schemas{core: core, ext: map[string]schema.Schema{
		EnterpriseSchema: schema.ExtensionEnterpriseUser(),
		OnboardSchema:    onboardExtension(),
	}}
}

// applyPatch applies operations the library has parsed and validated (RFC
// 7644 §3.5.2) to doc, a document as document() makes it. The library checks
// paths and value types; what each operation does to the resource is here.
func (s schemas) applyPatch(doc map[string]interface{}, ops []scim.PatchOperation) error {
	for i, op := range ops {
		if err := s.applyOp(doc, op); err != nil {
			return fmt.Errorf("operation %d (%s): %w", i+1, op.Op, err)
		}
	}
	return nil
}

func (s schemas) applyOp(doc map[string]interface{}, op scim.PatchOperation) error {
	if op.Path != nil {
		return s.applyPath(doc, op.Op, *op.Path, op.Value)
	}
	// No path: the value is a map of attribute paths (or extension URIs
	// holding a map of their attributes) to values.
	values, ok := op.Value.(map[string]interface{})
	if !ok {
		return scimerrors.ScimErrorInvalidValue
	}
	for key, v := range values {
		if ext, ok := s.ext[key]; ok {
			inner, _ := v.(map[string]interface{})
			for ik, iv := range inner {
				p, err := filter.ParsePath([]byte(ik))
				if err != nil {
					return scimerrors.ScimErrorInvalidPath
				}
				uri := ext.ID
				p.AttributePath.URIPrefix = &uri
				if err := s.applyPath(doc, op.Op, p, iv); err != nil {
					return err
				}
			}
			continue
		}
		p, err := filter.ParsePath([]byte(key))
		if err != nil {
			return scimerrors.ScimErrorInvalidPath
		}
		if err := s.applyPath(doc, op.Op, p, v); err != nil {
			return err
		}
	}
	return nil
}

// applyPath applies one operation at one path.
func (s schemas) applyPath(doc map[string]interface{}, op string, p filter.Path, value interface{}) error {
	sch := s.core
	container := doc
	if uri := p.AttributePath.URI(); uri != "" && uri != s.core.ID {
		ext, ok := s.ext[uri]
		if !ok {
			return scimerrors.ScimErrorInvalidPath
		}
		sch = ext
		c, ok := doc[uri].(map[string]interface{})
		if !ok {
			if op == scim.PatchOperationRemove {
				return nil
			}
			c = map[string]interface{}{}
			doc[uri] = c
		}
		container = c
	}
	attr, ok := sch.Attributes.ContainsAttribute(p.AttributePath.AttributeName)
	if !ok {
		return scimerrors.ScimErrorInvalidPath
	}
	name := attr.Name()
	if p.ValueExpression != nil {
		sub, err := subName(attr, p.SubAttributeName())
		if err != nil {
			return err
		}
		return applyFiltered(container, op, attr, p.ValueExpression, sub, value)
	}
	if raw := p.AttributePath.SubAttributeName(); raw != "" {
		sub, err := subName(attr, raw)
		if err != nil {
			return err
		}
		if op == scim.PatchOperationRemove {
			if m, ok := container[name].(map[string]interface{}); ok {
				delete(m, sub)
				if len(m) == 0 {
					delete(container, name)
				}
			}
			return nil
		}
		child(container, name)[sub] = value
		return nil
	}
	switch {
	case op == scim.PatchOperationRemove:
		delete(container, name)
	case attr.MultiValued():
		add, _ := value.([]interface{})
		if op == scim.PatchOperationReplace {
			container[name] = add
			return nil
		}
		list, _ := container[name].([]interface{})
		for _, v := range add {
			if !containsValue(list, v) {
				list = append(list, v)
			}
		}
		container[name] = list
	case attr.HasSubAttributes():
		// Sub-attributes not given are left as they are, for add and
		// replace alike (RFC 7644 §3.5.2.1 and §3.5.2.3).
		m, ok := value.(map[string]interface{})
		if !ok {
			return scimerrors.ScimErrorInvalidValue
		}
		c := child(container, name)
		for k, v := range m {
			c[k] = v
		}
	default:
		container[name] = value
	}
	return nil
}

// applyFiltered applies an operation whose path selects values of a
// multi-valued attribute with a filter, as emails[type eq "work"].value.
func applyFiltered(container map[string]interface{}, op string, attr schema.CoreAttribute, expr filter.Expression, sub string, value interface{}) error {
	name := attr.Name()
	list, _ := container[name].([]interface{})
	v := libfilter.NewFilterValidator(expr, schema.Schema{Attributes: attr.SubAttributes()})
	var matched []int
	for i, e := range list {
		m, ok := e.(map[string]interface{})
		if ok && passes(v, m) {
			matched = append(matched, i)
		}
	}
	if op == scim.PatchOperationRemove {
		if sub != "" {
			for _, i := range matched {
				delete(list[i].(map[string]interface{}), sub)
			}
			return nil
		}
		kept := list[:0:0]
		for i, e := range list {
			if !containsIndex(matched, i) {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			delete(container, name)
		} else {
			container[name] = kept
		}
		return nil
	}
	if len(matched) == 0 {
		// Nothing matches: a filter of equalities describes the value to
		// add (Entra replaces emails[type eq "work"].value on a user who
		// has no work email yet); any other filter has no target.
		elem := map[string]interface{}{}
		if !equalities(expr, attr, elem) {
			return scimerrors.ScimErrorNoTarget
		}
		list = append(list, elem)
		matched = []int{len(list) - 1}
	}
	for _, i := range matched {
		m := list[i].(map[string]interface{})
		if sub != "" {
			m[sub] = value
			continue
		}
		nv, ok := value.(map[string]interface{})
		if !ok {
			return scimerrors.ScimErrorInvalidValue
		}
		if op == scim.PatchOperationReplace {
			list[i] = nv
			continue
		}
		for k, x := range nv {
			m[k] = x
		}
	}
	container[name] = list
	return nil
}

// passes evaluates a filter on one value; the library's evaluator panics
// on some shapes of value, which count as no match.
func passes(v libfilter.Validator, m map[string]interface{}) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return v.PassesFilter(m) == nil
}

// equalities fills elem from a filter made only of "sub eq value" joined by
// "and", and reports whether the filter had that form.
func equalities(expr filter.Expression, attr schema.CoreAttribute, elem map[string]interface{}) bool {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if e.Operator != filter.EQ {
			return false
		}
		sub, ok := attr.SubAttributes().ContainsAttribute(e.AttributePath.AttributeName)
		if !ok {
			return false
		}
		elem[sub.Name()] = e.CompareValue
		return true
	case *filter.LogicalExpression:
		return e.Operator == filter.AND && equalities(e.Left, attr, elem) && equalities(e.Right, attr, elem)
	}
	return false
}

// subName is the canonical name of a sub-attribute of attr.
func subName(attr schema.CoreAttribute, raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	sub, ok := attr.SubAttributes().ContainsAttribute(raw)
	if !ok {
		return "", scimerrors.ScimErrorInvalidPath
	}
	return sub.Name(), nil
}

func containsValue(list []interface{}, v interface{}) bool {
	for _, e := range list {
		if reflect.DeepEqual(e, v) {
			return true
		}
	}
	return false
}

func containsIndex(list []int, i int) bool {
	for _, e := range list {
		if e == i {
			return true
		}
	}
	return false
}

// lowerKeys is used to find an attribute whatever its case.
func lowerKeys(m map[string]interface{}, name string) (string, bool) {
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}
