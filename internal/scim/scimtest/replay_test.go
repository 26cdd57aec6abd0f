package scimtest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// recorder stands in for *testing.T to see what Run reports.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, format)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
	runtime.Goexit()
}

func run(s *Session, st Step) *recorder {
	r := &recorder{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Run(r, st)
	}()
	wg.Wait()
	return r
}

// fixed answers every request with one response.
func fixed(status int, ctype, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

// TestRunReports: each kind of expectation fails when the response does
// not meet it, and passes when it does.
func TestRunReports(t *testing.T) {
	user := `{"id":"u1","userName":"ann","active":true,"name":{"givenName":"Ann"},"emails":[{"value":"a@x"}],"totalResults":1}`
	step := func(mod func(*Step)) Step {
		st := Step{Name: "s", Method: "GET", Path: "/scim/v2/Users/u1", Response: Expect{Status: 200}}
		mod(&st)
		return st
	}
	for _, tc := range []struct {
		name    string
		handler http.Handler
		step    Step
		fails   bool
	}{
		{"all met", fixed(200, "application/scim+json", user), step(func(s *Step) {
			s.Response.Equal = map[string]interface{}{"/userName": "ann", "/active": true, "/name/givenName": "Ann", "/totalResults": 1.0, "/emails/0/value": "a@x"}
			s.Response.Present = []string{"/id"}
			s.Response.Absent = []string{"/password", "/emails/1"}
		}), false},
		{"wrong status", fixed(201, "application/scim+json", user), step(func(*Step) {}), true},
		{"wrong content type", fixed(200, "application/json", user), step(func(*Step) {}), true},
		{"wrong value", fixed(200, "application/scim+json", user), step(func(s *Step) { s.Response.Equal = map[string]interface{}{"/userName": "bob"} }), true},
		{"wrong number", fixed(200, "application/scim+json", user), step(func(s *Step) { s.Response.Equal = map[string]interface{}{"/totalResults": 2.0} }), true},
		{"missing value", fixed(200, "application/scim+json", user), step(func(s *Step) { s.Response.Equal = map[string]interface{}{"/title": "x"} }), true},
		{"missing present", fixed(200, "application/scim+json", user), step(func(s *Step) { s.Response.Present = []string{"/meta"} }), true},
		{"absent present", fixed(200, "application/scim+json", user), step(func(s *Step) { s.Response.Absent = []string{"/active"} }), true},
		{"not JSON", fixed(200, "application/scim+json", "{"), step(func(*Step) {}), true},
		{"error without SCIM schema", fixed(404, "application/scim+json", `{"status":"404"}`), step(func(s *Step) { s.Response.Status = 404 }), true},
		{"error with wrong scimType", fixed(409, "application/scim+json", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"mutability"}`), step(func(s *Step) { s.Response.Status, s.Response.ScimType = 409, "uniqueness" }), true},
		{"error as expected", fixed(409, "application/scim+json", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness"}`), step(func(s *Step) { s.Response.Status, s.Response.ScimType = 409, "uniqueness" }), false},
		{"capture of nothing", fixed(200, "application/scim+json", user), step(func(s *Step) { s.Response.Capture = map[string]string{"x": "/nothing"} }), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(&Session{Handler: tc.handler, Token: "tok"}, tc.step)
			if failed := len(r.errors) > 0; failed != tc.fails {
				t.Errorf("failed = %v (%v), want %v", failed, r.errors, tc.fails)
			}
		})
	}
}

// TestCapture: a captured value fills {{var}} in later paths, bodies and
// expected values.
func TestCapture(t *testing.T) {
	var got []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path)
		path, _ := json.Marshal(r.URL.Path)
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write([]byte(`{"id":"u-42","path":` + string(path) + `}`))
	})
	s := &Session{Handler: h, Token: "tok"}
	s.Run(t, Step{Name: "a", Method: "GET", Path: "/a", Response: Expect{Status: 200, Capture: map[string]string{"id": "/id"}}})
	s.Run(t, Step{Name: "b", Method: "GET", Path: "/Users/{{id}}", Response: Expect{Status: 200, Equal: map[string]interface{}{"/path": "/Users/{{id}}"}}})
	if got[1] != "/Users/u-42" {
		t.Errorf("second path %q", got[1])
	}
}

// TestFixturesLoad: every fixture of internal/scim names a published
// source and loads.
func TestFixturesLoad(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		fx, err := Load(f)
		if err != nil {
			t.Error(err)
			continue
		}
		if fx.Description == "" {
			t.Errorf("%s: no description", f)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"steps":[{"name":"x","method":"GET","path":"/","response":{"status":200}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil {
		t.Error("a fixture without a source loads")
	}
}

func TestPointer(t *testing.T) {
	var doc interface{}
	_ = json.Unmarshal([]byte(`{"a/b":{"c~d":[1,{"e":"f"}]},"urn:x:2.0:User":{"k":"v"}}`), &doc)
	for ptr, want := range map[string]interface{}{"/a~1b/c~0d/1/e": "f", "/a~1b/c~0d/0": 1.0, "/urn:x:2.0:User/k": "v"} {
		if got, ok := Pointer(doc, ptr); !ok || got != want {
			t.Errorf("%s = %v %v, want %v", ptr, got, ok, want)
		}
	}
	for _, ptr := range []string{"/x", "/a~1b/c~0d/2", "/a~1b/c~0d/-1", "a"} {
		if got, ok := Pointer(doc, ptr); ok {
			t.Errorf("%s = %v, want missing", ptr, got)
		}
	}
}
