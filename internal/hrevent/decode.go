package hrevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"onboard/internal/strictyaml"
)

// maxDepth bounds nesting: the deepest shape read here (Personio's
// supervisor) is six levels, and a bound keeps a hostile document of
// brackets from recursing without end.
const maxDepth = 32

var errDepth = fmt.Errorf("nested deeper than %d levels", maxDepth)

// Decode reads one event in the given format (Native, Workday, BambooHR or
// Personio) from a delivery's body and header values. Every problem found
// is returned together in an *Error. A delivery that holds several events
// (a BambooHR batch) is refused here: use DecodeAll.
func Decode(format string, body []byte, opt Options) (*Event, error) {
	evs, err := DecodeAll(format, body, opt)
	if err != nil {
		return nil, err
	}
	if len(evs) != 1 {
		return nil, &Error{Problems: []Problem{{Message: fmt.Sprintf("holds %d events where one was expected", len(evs))}}}
	}
	return evs[0], nil
}

// DecodeAll reads every event of a delivery: one for every format but
// BambooHR's, whose webhook may batch several employees. If any event has
// a problem none is returned, so that a sender retries the delivery whole.
func DecodeAll(format string, body []byte, opt Options) ([]*Event, error) {
	d := &dec{format: format}
	var drafts []*draft
	if decodeFormat[format] == nil {
		return nil, &Error{Problems: []Problem{{Message: fmt.Sprintf("unknown format %q (known: %s)", format, strings.Join(Formats, ", "))}}}
	}
	root := d.parse(body)
	if root != nil {
		drafts = decodeFormat[format](d, root, opt)
	}
	for _, dr := range drafts {
		d.validate(dr)
	}
	if len(d.problems) > 0 {
		e := &Error{Problems: d.problems}
		// Name the event only when it is one and its id is well-formed:
		// the message reaches logs, and a malformed id is not shown bare.
		if len(drafts) == 1 && !drafts[0].bad["id"] && idRE.MatchString(drafts[0].ev.ID) {
			e.Event = drafts[0].ev.ID
		}
		return nil, e
	}
	evs := make([]*Event, len(drafts))
	for i, dr := range drafts {
		dr.ev.Source = format
		evs[i] = &dr.ev
	}
	return evs, nil
}

// decodeFormat maps each format to its decoder. A decoder maps the
// document onto drafts, reporting wrong types and unknown fields; validate
// then checks the values.
var decodeFormat = map[string]func(d *dec, root *node, opt Options) []*draft{
	Native:   decodeNative,
	Workday:  decodeWorkday,
	BambooHR: decodeBambooHR,
	Personio: decodePersonio,
}

// kind is a JSON value's kind.
type kind int

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

// node is one parsed JSON value. Objects keep their keys in order.
type node struct {
	kind  kind
	s     string // a string, or a number's literal
	b     bool
	keys  []string
	vals  []*node
	items []*node
}

// get returns the value of key in an object, nil if absent.
func (n *node) get(key string) *node {
	if i := slices.Index(n.keys, key); i >= 0 {
		return n.vals[i]
	}
	return nil
}

func (n *node) describe() string {
	switch n.kind {
	case kNull:
		return "null"
	case kBool:
		return strconv.FormatBool(n.b)
	case kNumber:
		return "a number"
	case kString:
		return "a string"
	case kArray:
		return "a list"
	}
	return "an object"
}

// seg is one step of a path: an object key, or an array index when key
// is "" and index >= 0.
type seg struct {
	key   string
	index int
}

// path is where a value is in the document.
type path []seg

func (p path) key(k string) path { return append(slices.Clip(p), seg{key: k, index: -1}) }
func (p path) index(i int) path  { return append(slices.Clip(p), seg{index: i}) }

// pointer is the RFC 6901 JSON pointer.
func (p path) pointer() string {
	var b strings.Builder
	for _, s := range p {
		b.WriteByte('/')
		if s.index >= 0 {
			b.WriteString(strconv.Itoa(s.index))
		} else {
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(s.key))
		}
	}
	return b.String()
}

// field is the dotted path, as the playbook errors write one.
func (p path) field() string {
	var b strings.Builder
	for _, s := range p {
		if s.index >= 0 {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

// dec collects the problems of one delivery.
type dec struct {
	format   string
	problems []Problem
}

func (d *dec) fail(p path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Pointer: p.pointer(), Field: p.field(), Message: fmt.Sprintf(format, args...)})
}

func (d *dec) failAt(body []byte, offset int, format string, args ...any) {
	line, col := lineCol(body, offset)
	d.problems = append(d.problems, Problem{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

// lineCol turns a byte offset into a 1-based line and column, the column
// counted in characters.
func lineCol(body []byte, offset int) (int, int) {
	offset = min(max(offset, 0), len(body))
	before := body[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

// parse reads the body into a tree, or records why it cannot and returns
// nil. Duplicate keys are recorded but do not stop the parse.
func (d *dec) parse(body []byte) *node {
	if len(body) > MaxBody {
		d.problems = append(d.problems, Problem{Message: fmt.Sprintf("is %d bytes, more than the %d allowed", len(body), MaxBody)})
		return nil
	}
	if !utf8.Valid(body) {
		i := 0
		for i < len(body) {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		d.failAt(body, i, "is not valid UTF-8 (byte 0x%02x)", body[i])
		return nil
	}
	jd := json.NewDecoder(bytes.NewReader(body))
	jd.UseNumber()
	root, err := d.value(jd, nil, 0)
	if err == nil {
		if _, err = jd.Token(); err == io.EOF {
			return root
		}
	}
	var syn *json.SyntaxError
	if errors.Is(err, errDepth) {
		// The value that goes too deep starts after any white space.
		off := int(jd.InputOffset())
		for off < len(body) && strings.IndexByte(" \t\r\n", body[off]) >= 0 {
			off++
		}
		d.failAt(body, off, "malformed JSON: %s", err.Error())
		return nil
	}
	// The streaming decoder's offsets count from where it began a token,
	// not from the offending byte: the whole-document check places it.
	tokenErr := err
	var raw json.RawMessage
	err = json.Unmarshal(body, &raw)
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		d.problems = append(d.problems, Problem{Message: "is empty: an event is a JSON object"})
	case errors.As(err, &syn) && int(syn.Offset) >= len(body) && strings.HasPrefix(syn.Error(), "unexpected end"):
		d.failAt(body, len(body), "malformed JSON: the document ends early")
	case errors.As(err, &syn):
		// Offset counts the offending byte.
		d.failAt(body, int(syn.Offset)-1, "malformed JSON: %s", syn.Error())
	default:
		// The document is valid JSON that the token reader refused; not
		// expected, but said rather than dropped.
		d.failAt(body, int(jd.InputOffset()), "malformed JSON: %v", tokenErr)
	}
	return nil
}

func (d *dec) value(jd *json.Decoder, p path, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	tok, err := jd.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: kNull}, nil
	case bool:
		return &node{kind: kBool, b: t}, nil
	case json.Number:
		return &node{kind: kNumber, s: t.String()}, nil
	case string:
		return &node{kind: kString, s: t}, nil
	case json.Delim:
		if t == '[' {
			n := &node{kind: kArray}
			for jd.More() {
				item, err := d.value(jd, p.index(len(n.items)), depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
			_, err := jd.Token() // ]
			return n, err
		}
		n := &node{kind: kObject}
		for jd.More() {
			tok, err := jd.Token()
			if err != nil {
				return nil, err
			}
			key := tok.(string) // the decoder allows only strings here
			v, err := d.value(jd, p.key(key), depth+1)
			if err != nil {
				return nil, err
			}
			// encoding/json would keep the last of two; a sender that
			// writes a key twice has a bug worth hearing about.
			if slices.Contains(n.keys, key) {
				if printable(key) {
					d.fail(p.key(key), "is written twice")
				} else {
					d.fail(p, "key %q is written twice", key)
				}
				continue
			}
			n.keys, n.vals = append(n.keys, key), append(n.vals, v)
		}
		_, err := jd.Token() // }
		return n, err
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// object reports whether n is an object, recording a problem if not.
func (d *dec) object(n *node, p path) bool {
	if n.kind != kObject {
		d.fail(p, "must be an object, got %s", n.describe())
		return false
	}
	return true
}

// fields calls fn for each key of an object in order. With known set, a
// key not in it is a problem; without, unknown keys are skipped (vendor
// documents carry far more than onboard reads).
func (d *dec) fields(n *node, p path, known []string, fn func(key string, v *node, p path)) {
	if !d.object(n, p) {
		return
	}
	for i, k := range n.keys {
		if !slices.Contains(known, k) {
			if known != nil {
				d.unknown(p, k, known)
			}
			continue
		}
		fn(k, n.vals[i], p.key(k))
	}
}

func (d *dec) unknown(p path, key string, known []string) {
	hint := strictyaml.Suggest(key, known)
	if hint == "" {
		hint = " (known fields: " + strings.Join(known, ", ") + ")"
	}
	if !printable(key) {
		d.fail(p, "unknown field %q%s", key, hint)
		return
	}
	d.fail(p.key(key), "unknown field%s", hint)
}

// printable reports whether a key from the document may stand bare in a
// pointer: one a terminal would act on (or that hides as blank) is quoted
// in the message instead, and its parent named.
func printable(key string) bool {
	return !strings.ContainsFunc(key, func(r rune) bool { return !strconv.IsPrint(r) })
}

// str returns a string value, or records a problem. With numbers set, a
// whole number is taken as its digits (vendors write ids either way).
func (d *dec) str(n *node, p path, numbers bool) (string, bool) {
	switch {
	case n.kind == kString:
		return n.s, true
	case numbers && n.kind == kNumber && !strings.ContainsAny(n.s, ".eE-"):
		return n.s, true
	case numbers:
		d.fail(p, "must be a string or a whole number, got %s", n.describe())
	default:
		d.fail(p, "must be a string, got %s", n.describe())
	}
	return "", false
}
