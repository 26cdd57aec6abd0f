// Package strictyaml decodes YAML into Go structs strictly: unknown fields,
// wrong types and missing required fields are errors, every error names
// file:line:column and the field path, and all errors are returned together.
//
// Field tags: onboard:"required" (present and not empty), onboard:"text"
// (a string that may hold line breaks and tabs), onboard:"one" (a list of
// strings that may also be written as one string; elsewhere a scalar where
// a list is expected is an error).
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-multierror"
	"gopkg.in/yaml.v3"

	"onboard/internal/suggest"
)

// Pos is a place in a source file.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"column"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem at one place.
type Error struct {
	Pos   Pos
	Field string // dotted path, e.g. machine.software[1]
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Pos, e.Field, e.Msg)
}

// Errorf makes an *Error.
func Errorf(pos Pos, field, format string, args ...any) *Error {
	return &Error{Pos: pos, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ListFormat prints a list of errors one per line, for multierror, in file
// and line order so that a reader can walk the file top to bottom.
func ListFormat(es []error) string {
	es = append([]error(nil), es...)
	sort.SliceStable(es, func(i, j int) bool {
		a, aok := es[i].(*Error)
		b, bok := es[j].(*Error)
		if !aok || !bok {
			return aok && !bok
		}
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Col < b.Pos.Col
	})
	// The same finding reached by two checks is said once.
	var lines []string
	seen := map[string]bool{}
	for _, e := range es {
		if l := e.Error(); !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d errors:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// Doc is a decoded file: its positions by field path, for later checks
// (unknown host, unknown profile) that must point at the right place.
type Doc struct {
	File   string
	pos    map[string]Pos
	failed map[string]bool // field paths whose value was refused ("" for the file)
}

// Pos returns the position of the value at path, or of its nearest parent.
func (d *Doc) Pos(path string) Pos {
	for p := path; ; {
		if pos, ok := d.pos[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return Pos{File: d.File, Line: 1, Col: 1}
		}
		p = p[:i]
	}
}

// Has reports whether the field at path was written in the file.
func (d *Doc) Has(path string) bool { _, ok := d.pos[path]; return ok }

// Failed reports whether decoding refused the value at path or at one of
// its parents (the whole file, for a syntax error). Checks made after
// decoding skip what it says is missing or wrong there: it was said once.
func (d *Doc) Failed(path string) bool {
	if d == nil || len(d.failed) == 0 {
		return false
	}
	for p := path; ; {
		if d.failed[p] {
			return true
		}
		if p == "" {
			return false
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			i = 0
		}
		p = p[:i]
	}
}

// FailedWithin reports whether decoding refused anything at path, under
// it, or at one of its parents: a check of the whole value (a rule's
// match, read without its misspelt key) would follow from that.
func (d *Doc) FailedWithin(path string) bool {
	if d.Failed(path) {
		return true
	}
	for p := range d.failed {
		if strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return true
		}
	}
	return false
}

// Readable reports whether the file parsed as YAML into one document.
func (d *Doc) Readable() bool { return d != nil && d.Has("") && !d.failed[""] }

// DropFollowOn removes from errs the errors of later checks at fields
// whose decoding already failed (an empty kind after "kind: must be a
// string"), so that each problem is said once. docs are the decoded
// files; an error of another file, or not an *Error, is kept.
func DropFollowOn(errs []error, docs ...*Doc) []error {
	byFile := map[string]*Doc{}
	for _, d := range docs {
		if d != nil {
			byFile[d.File] = d
		}
	}
	out := errs[:0:0]
	for _, err := range errs {
		var e *Error
		if errors.As(err, &e) {
			if d := byFile[e.Pos.File]; d.Failed(e.Field) {
				continue
			}
		}
		out = append(out, err)
	}
	return out
}

// Errorf makes an error positioned at the value of path.
func (d *Doc) Errorf(path, format string, args ...any) *Error {
	return Errorf(d.Pos(path), path, format, args...)
}

// Unmarshaler lets a type decode itself from a node (for example a list
// that may also be written as a mapping). It reports problems through d.
type Unmarshaler interface {
	UnmarshalStrict(d *Decoder, n *yaml.Node, path string)
}

// Decoder walks a yaml.Node tree into Go values, collecting errors.
type Decoder struct {
	doc  *Doc
	errs *multierror.Error

	// Alias expansion is bounded as yaml.v3's own decoder bounds it, so that
	// a small file of nested aliases ("billion laughs") cannot make the
	// walker visit billions of values.
	decoded   int          // values visited
	aliased   int          // of which reached through an alias
	expanding []*yaml.Node // aliases being expanded, outermost first
	usedAt    string       // the field path of the outermost one
	stopped   bool         // expansion refused: decode nothing more

	text bool // the field being decoded is tagged onboard:"text"
	// one: the field being decoded is tagged onboard:"one", a list of
	// strings that may be written as one string (a documented shorthand).
	one bool
}

// The limits of yaml.v3's decode.go (allowedAliasRatio): up to 99% of the
// visited values may come from aliases in documents of up to 400,000
// values, scaling down to 10% at 4,000,000.
const (
	aliasRatioRangeLow  = 400000
	aliasRatioRangeHigh = 4000000
)

func allowedAliasRatio(decoded int) float64 {
	switch {
	case decoded <= aliasRatioRangeLow:
		return 0.99
	case decoded >= aliasRatioRangeHigh:
		return 0.10
	default:
		return 0.99 - 0.89*float64(decoded-aliasRatioRangeLow)/float64(aliasRatioRangeHigh-aliasRatioRangeLow)
	}
}

// visit counts one value and reports whether decoding may go on.
func (d *Decoder) visit(path string) bool {
	if d.stopped {
		return false
	}
	d.decoded++
	if len(d.expanding) > 0 {
		d.aliased++
	}
	if d.aliased > 100 && d.decoded > 1000 && float64(d.aliased)/float64(d.decoded) > allowedAliasRatio(d.decoded) {
		a := d.expanding[0]
		d.Fail(d.PosOf(a), d.usedAt, "the alias *%s expands to too many values (%d of %d read through aliases): an alias may repeat a part of the file, not multiply it", a.Value, d.aliased, d.decoded)
		d.stopped = true
		return false
	}
	return true
}

// enter starts the expansion of alias a, refusing an anchor that contains
// itself; leave must follow a true result.
func (d *Decoder) enter(a *yaml.Node, path string) bool {
	for _, e := range d.expanding {
		if e.Alias == a.Alias {
			d.Fail(d.PosOf(a), d.usedAt, "the alias *%s refers to a value that contains it", a.Value)
			return false
		}
	}
	if len(d.expanding) == 0 {
		d.usedAt = path
	}
	d.expanding = append(d.expanding, a)
	return true
}

func (d *Decoder) leave() { d.expanding = d.expanding[:len(d.expanding)-1] }

// Decode parses data (named file in errors) into v, a pointer to a struct.
// The error, if any, is a *multierror.Error of *Error.
func Decode(file string, data []byte, v any) (*Doc, error) {
	d := &Decoder{doc: &Doc{File: file, pos: map[string]Pos{}, failed: map[string]bool{}}}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && err != io.EOF {
		return d.doc, d.syntaxError(data, err)
	}
	// One document per file: a second one after --- would be ignored.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.Fail(Pos{File: file, Line: extra.Line, Col: extra.Column}, "", "a second YAML document (after ---): write one document per file")
		d.doc.failed[""] = true
		return d.doc, d.Err()
	} else if err != io.EOF {
		return d.doc, d.syntaxError(data, err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		d.Fail(Pos{File: file, Line: 1, Col: 1}, "", "the file is empty")
		d.doc.failed[""] = true
		return d.doc, d.Err()
	}
	d.Value(root.Content[0], reflect.ValueOf(v).Elem(), "")
	if d.stopped {
		// Refused as unreadable, like a syntax error: nothing half-decoded
		// goes on to be checked (which would say thousands of things).
		reflect.ValueOf(v).Elem().SetZero()
		d.doc.pos = map[string]Pos{}
		d.doc.failed[""] = true
	}
	return d.doc, d.Err()
}

// syntaxError turns yaml.v3's "yaml: line 3: ..." into an error at the
// line and column of the problem (see syntax.go).
func (d *Decoder) syntaxError(data []byte, err error) error {
	reported, problem := splitYAMLError(err)
	line, col := syntaxPos(data, reported, problem)
	d.Fail(Pos{File: d.doc.File, Line: line, Col: col}, "", "YAML syntax: %s", syntaxHint(data, line, col, problem))
	d.doc.failed[""] = true
	return d.Err()
}

// Err returns the collected errors, or nil.
func (d *Decoder) Err() error {
	if d.errs == nil {
		return nil
	}
	d.errs.ErrorFormat = ListFormat
	return d.errs.ErrorOrNil()
}

func (d *Decoder) count() int {
	if d.errs == nil {
		return 0
	}
	return len(d.errs.Errors)
}

// Fail records an error.
func (d *Decoder) Fail(pos Pos, field, format string, args ...any) {
	if field != "" {
		d.doc.failed[field] = true
	}
	d.errs = multierror.Append(d.errs, Errorf(pos, field, format, args...))
}

// PosOf returns the position of node n.
func (d *Decoder) PosOf(n *yaml.Node) Pos { return Pos{File: d.doc.File, Line: n.Line, Col: n.Column} }

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected node"
}

var (
	durationType    = reflect.TypeOf(time.Duration(0))
	unmarshalerType = reflect.TypeOf((*Unmarshaler)(nil)).Elem()
)

// Value decodes n into v, recording the position of path.
func (d *Decoder) Value(n *yaml.Node, v reflect.Value, path string) {
	if d.stopped {
		return
	}
	if n.Kind == yaml.AliasNode {
		if !d.enter(n, path) {
			return
		}
		defer d.leave()
		d.Value(n.Alias, v, path)
		return
	}
	if !d.visit(path) {
		return
	}
	d.doc.pos[path] = d.PosOf(n)
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		v.Addr().Interface().(Unmarshaler).UnmarshalStrict(d, n, path)
		return
	}
	if v.Kind() == reflect.Pointer {
		if n.Tag == "!!null" {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.Value(n, v.Elem(), path)
		return
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode {
			d.Fail(d.PosOf(n), path, "must be a duration such as 90s or 5m, got %s", kindName(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil || dur <= 0 {
			d.Fail(d.PosOf(n), path, "must be a positive duration such as 90s or 5m, got %q", n.Value)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structValue(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.Fail(d.PosOf(n), path, "must be a string, got %s", kindName(n))
			return
		}
		if !d.checkText(n, path) {
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.Fail(d.PosOf(n), path, "must be true or false, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			d.Fail(d.PosOf(n), path, "must be a whole number, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Slice:
		if d.one && n.Kind == yaml.ScalarNode && n.Tag != "!!null" && v.Type().Elem() == reflect.TypeOf("") {
			// A field documented to take one string or a list
			// (known_hosts, hr match values) reads one string as a list
			// of one. Elsewhere a scalar is an error: a list of one
			// written without brackets is more often a mistake.
			if !d.checkText(n, path) {
				return
			}
			v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), reflect.ValueOf(n.Value)))
			return
		}
		if n.Kind != yaml.SequenceNode {
			if n.Tag == "!!null" {
				return
			}
			if n.Kind == yaml.ScalarNode && len(n.Value) <= 60 && strings.IndexFunc(n.Value, IsControl) < 0 {
				d.Fail(d.PosOf(n), path, "must be a list, got %s (for a list of one, write [%s])", kindName(n), n.Value)
				return
			}
			d.Fail(d.PosOf(n), path, "must be a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.Value(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			if n.Tag == "!!null" {
				return
			}
			d.Fail(d.PosOf(n), path, "must be a mapping, got %s", kindName(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		d.eachPair(n, path, func(k, val *yaml.Node) {
			if i := strings.IndexFunc(k.Value, IsControl); i >= 0 {
				d.Fail(d.PosOf(k), path, "the key %q contains the control character %U: write it without", k.Value, []rune(k.Value[i:])[0])
				return
			}
			e := reflect.New(v.Type().Elem()).Elem()
			d.Value(val, e, join(path, k.Value))
			v.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		})
	default:
		panic(fmt.Sprintf("strictyaml: unsupported field type %s at %s", v.Type(), path))
	}
}

// IsControl reports whether c is a C0 or C1 control character (DEL
// included), which a terminal would obey rather than show, or a
// bidirectional override that reorders what is shown.
func IsControl(c rune) bool {
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) ||
		(c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
}

// checkText refuses control characters in a string: names, paths and
// titles reach terminals and reports, where ESC and its kind would act.
// Fields tagged onboard:"text" (file content, commands, notes) may hold
// newlines, tabs and carriage returns, and nothing else of the kind.
func (d *Decoder) checkText(n *yaml.Node, path string) bool {
	for i, c := range n.Value {
		if !IsControl(c) || (d.text && (c == '\n' || c == '\t' || c == '\r')) {
			continue
		}
		what := "a control character"
		if c == 0 {
			what = "a NUL character"
		} else if c == '\n' || c == '\t' || c == '\r' {
			what = "a line break or tab"
		}
		d.Fail(d.PosOf(n), path, "must not contain %s (%U at character %d of the value)", what, c, utf8.RuneCountInString(n.Value[:i])+1)
		return false
	}
	return true
}

// eachPair calls fn for every key/value of a mapping, following merge keys
// (<<: *anchor) and rejecting duplicate and non-string keys.
func (d *Decoder) eachPair(n *yaml.Node, path string, fn func(k, v *yaml.Node)) {
	seen := map[string]bool{}
	first := map[string]*yaml.Node{} // the keys written here, for duplicates
	// Merged pairs are read through their alias, and count as such.
	type mergedPair struct{ k, v, alias *yaml.Node }
	var merged []mergedPair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			var via *yaml.Node
			if val.Kind == yaml.AliasNode {
				via, val = val, val.Alias
			}
			srcs := []*yaml.Node{val}
			if val.Kind == yaml.SequenceNode {
				srcs = val.Content
			}
			for _, s := range srcs {
				a := via
				if s.Kind == yaml.AliasNode {
					a, s = s, s.Alias
				}
				if s.Kind != yaml.MappingNode {
					d.Fail(d.PosOf(k), path, "a merge key (<<) must refer to a mapping")
					continue
				}
				for j := 0; j+1 < len(s.Content); j += 2 {
					merged = append(merged, mergedPair{s.Content[j], s.Content[j+1], a})
				}
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.Fail(d.PosOf(k), path, "keys must be plain strings")
			continue
		}
		if f, ok := first[k.Value]; ok {
			d.Fail(d.PosOf(k), join(path, k.Value), "duplicate key; first at %s", d.PosOf(f))
			continue
		}
		seen[k.Value], first[k.Value] = true, k
		fn(k, val)
	}
	// Explicit keys win over merged ones, as in YAML's merge key spec.
	for _, kv := range merged {
		if d.stopped {
			return
		}
		if seen[kv.k.Value] {
			continue
		}
		seen[kv.k.Value] = true
		if kv.alias == nil {
			fn(kv.k, kv.v)
			continue
		}
		if !d.enter(kv.alias, path) {
			continue
		}
		fn(kv.k, kv.v)
		d.leave()
	}
}

type fieldInfo struct {
	index    []int
	name     string
	required bool
	text     bool // may hold newlines and tabs (file content, commands, notes)
	one      bool // a list of strings that may be written as one string
}

// fieldsOf lists the YAML fields of a struct, flattening `yaml:",inline"`
// embedded structs.
func fieldsOf(t reflect.Type) []fieldInfo {
	var fs []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		parts := strings.Split(tag, ",")
		if len(parts) > 1 && parts[1] == "inline" && f.Type.Kind() == reflect.Struct {
			for _, sub := range fieldsOf(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				fs = append(fs, sub)
			}
			continue
		}
		name := parts[0]
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		opts := strings.Split(f.Tag.Get("onboard"), ",")
		fs = append(fs, fieldInfo{index: []int{i}, name: name, required: slices.Contains(opts, "required"), text: slices.Contains(opts, "text"), one: slices.Contains(opts, "one")})
	}
	return fs
}

func (d *Decoder) structValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.Fail(d.PosOf(n), path, "must be a mapping, got %s", kindName(n))
		return
	}
	fs := fieldsOf(v.Type())
	byName := map[string]fieldInfo{}
	for _, f := range fs {
		byName[f.name] = f
	}
	set := map[string]bool{}
	bad := map[string]bool{} // fields whose value was already refused
	d.eachPair(n, path, func(k, val *yaml.Node) {
		f, ok := byName[k.Value]
		if !ok {
			hint, meant := suggestField(k.Value, fs)
			d.Fail(d.PosOf(k), join(path, k.Value), "unknown field%s", hint)
			if meant != "" {
				// The field meant is as good as refused: what later checks
				// find missing there is this same mistake.
				d.doc.failed[join(path, meant)] = true
			}
			return
		}
		set[f.name] = true
		before := d.count()
		outerText, outerOne := d.text, d.one
		d.text, d.one = f.text, f.one
		d.Value(val, v.FieldByIndex(f.index), join(path, f.name))
		d.text, d.one = outerText, outerOne
		bad[f.name] = d.count() > before
	})
	for _, f := range fs {
		if !f.required {
			continue
		}
		if !set[f.name] {
			d.Fail(d.PosOf(n), join(path, f.name), "is required")
			continue
		}
		if bad[f.name] {
			continue
		}
		// A required field written empty is as good as missing.
		if fv := v.FieldByIndex(f.index); fv.Kind() == reflect.String && strings.TrimSpace(fv.String()) == "" {
			d.Fail(d.doc.pos[join(path, f.name)], join(path, f.name), "is required and must not be empty")
		}
	}
}

// suggestField names the closest known field, or lists them; meant is the
// closest field, if any.
func suggestField(name string, fs []fieldInfo) (hint, meant string) {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	sort.Strings(names)
	if best, ok := suggest.Closest(name, names); ok {
		return fmt.Sprintf(" (did you mean %q?)", best), best
	}
	return " (known fields: " + strings.Join(names, ", ") + ")", ""
}

// Suggest returns ` (did you mean "x"?)` for the closest candidate (see
// package suggest), or "".
func Suggest(name string, candidates []string) string {
	if best, ok := suggest.Closest(name, candidates); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
