// Package scimtest replays recorded SCIM exchanges (testdata/*.json in
// internal/scim: the providers' and RFC 7644's published examples) against
// any http.Handler that serves /scim/v2, so the same fixtures check the
// package's handler and the real onboard serve.
package scimtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Fixture is one recorded exchange: a sequence of requests, each with the
// essential parts of its expected response.
type Fixture struct {
	Source      string `json:"source"` // URL of the published example
	Description string `json:"description"`
	Steps       []Step `json:"steps"`
}

// Step is one request and what its response must show.
type Step struct {
	Name string `json:"name"`
	// Note says where the step comes from when it is not the source's own
	// example (setup before it, cleanup after it).
	Note     string          `json:"note,omitempty"`
	Method   string          `json:"method"`
	Path     string          `json:"path"` // may hold {{var}} captured earlier
	Body     json.RawMessage `json:"body,omitempty"`
	Response Expect          `json:"response"`
}

// Expect is what a response must show. Attribute locations are JSON
// Pointers (RFC 6901), e.g. "/name/givenName" or "/Resources/0/userName".
type Expect struct {
	Status   int                    `json:"status"`
	ScimType string                 `json:"scimType,omitempty"` // for errors
	Equal    map[string]interface{} `json:"equal,omitempty"`    // pointer → value
	Present  []string               `json:"present,omitempty"`  // pointers that must exist
	Absent   []string               `json:"absent,omitempty"`   // pointers that must not exist
	Capture  map[string]string      `json:"capture,omitempty"`  // var → pointer, for later steps
}

// Load reads a fixture file.
func Load(path string) (Fixture, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Fixture{}, fmt.Errorf("load fixture: %w", err)
	}
	var f Fixture
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return Fixture{}, fmt.Errorf("load fixture %s: %w", path, err)
	}
	if !strings.HasPrefix(f.Source, "https://") || len(f.Steps) == 0 {
		return Fixture{}, fmt.Errorf("load fixture %s: needs a source URL and steps", path)
	}
	return f, nil
}

// Session runs steps against one handler, carrying captured variables.
type Session struct {
	Handler http.Handler
	Token   string
	Vars    map[string]string
}

// Do sends the step's request and returns the status and decoded body (nil
// when empty). It checks nothing.
func (s *Session) Do(method, path string, body []byte) (int, http.Header, interface{}, error) {
	path = s.expand(path)
	var rd io.Reader
	if len(body) > 0 {
		rd = strings.NewReader(s.expand(string(body)))
	}
	req := httptest.NewRequest(method, path, rd)
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	var doc interface{}
	if rec.Body.Len() > 0 {
		d := json.NewDecoder(rec.Body)
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			return rec.Code, rec.Header(), nil, fmt.Errorf("%s %s: response is not JSON: %w", method, path, err)
		}
	}
	return rec.Code, rec.Header(), doc, nil
}

func (s *Session) expand(text string) string {
	for k, v := range s.Vars {
		text = strings.ReplaceAll(text, "{{"+k+"}}", v)
	}
	return text
}

// Run sends one step and checks its response, capturing variables.
func (s *Session) Run(t testing.TB, st Step) interface{} {
	t.Helper()
	code, hdr, doc, err := s.Do(st.Method, st.Path, st.Body)
	if err != nil {
		t.Fatalf("%s: %v", st.Name, err)
	}
	if code != st.Response.Status {
		t.Fatalf("%s: %s %s answered %d, want %d; body %v", st.Name, st.Method, s.expand(st.Path), code, st.Response.Status, doc)
	}
	if doc != nil && !strings.HasPrefix(hdr.Get("Content-Type"), "application/scim+json") {
		t.Errorf("%s: Content-Type %q, want application/scim+json", st.Name, hdr.Get("Content-Type"))
	}
	if code >= 400 {
		if got, _ := Pointer(doc, "/schemas/0"); got != "urn:ietf:params:scim:api:messages:2.0:Error" {
			t.Errorf("%s: error body without the SCIM Error schema: %v", st.Name, doc)
		}
		if got, _ := Pointer(doc, "/status"); got != strconv.Itoa(code) {
			t.Errorf("%s: error status %v, want %q", st.Name, got, strconv.Itoa(code))
		}
		if st.Response.ScimType != "" {
			if got, _ := Pointer(doc, "/scimType"); got != st.Response.ScimType {
				t.Errorf("%s: scimType %v, want %q", st.Name, got, st.Response.ScimType)
			}
		}
	}
	for p, want := range st.Response.Equal {
		if w, ok := want.(string); ok {
			want = s.expand(w)
		}
		got, ok := Pointer(doc, p)
		if !ok {
			t.Errorf("%s: %s missing, want %v", st.Name, p, want)
			continue
		}
		if !same(got, want) {
			t.Errorf("%s: %s = %v, want %v", st.Name, p, got, want)
		}
	}
	for _, p := range st.Response.Present {
		if _, ok := Pointer(doc, p); !ok {
			t.Errorf("%s: %s missing", st.Name, p)
		}
	}
	for _, p := range st.Response.Absent {
		if got, ok := Pointer(doc, p); ok {
			t.Errorf("%s: %s = %v, want absent", st.Name, p, got)
		}
	}
	for v, p := range st.Response.Capture {
		got, ok := Pointer(doc, p)
		str, isStr := got.(string)
		if !ok || !isStr || str == "" {
			t.Fatalf("%s: capture %s from %s: got %v", st.Name, v, p, got)
		}
		if s.Vars == nil {
			s.Vars = map[string]string{}
		}
		s.Vars[v] = str
	}
	return doc
}

// Replay runs every step of the fixture at fixturePath against handler,
// with token as the bearer token.
func Replay(t *testing.T, handler http.Handler, token string, fixturePath string) {
	t.Helper()
	f, err := Load(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{Handler: handler, Token: token}
	for _, st := range f.Steps {
		s.Run(t, st)
	}
}

// Pointer resolves a JSON Pointer (RFC 6901) in doc.
func Pointer(doc interface{}, ptr string) (interface{}, bool) {
	if ptr == "" {
		return doc, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]interface{}:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []interface{}:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// same compares a decoded response value (numbers as json.Number) with a
// fixture value (numbers as float64).
func same(got, want interface{}) bool {
	if n, ok := got.(json.Number); ok {
		f, err := n.Float64()
		w, isNum := want.(float64)
		return err == nil && isNum && f == w
	}
	return reflect.DeepEqual(normalise(got), want)
}

func normalise(v interface{}) interface{} {
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case []interface{}:
		out := make([]interface{}, len(v))
		for i, e := range v {
			out[i] = normalise(e)
		}
		return out
	case map[string]interface{}:
		out := make(map[string]interface{}, len(v))
		for k, e := range v {
			out[k] = normalise(e)
		}
		return out
	}
	return v
}
