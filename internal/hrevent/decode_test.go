package hrevent

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/golden"
)

// TestGolden decodes every example in testdata and compares the events
// with their golden JSON (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file, format string
		opt          Options
	}{
		{"native-hire.json", Native, Options{}},
		{"native-change.json", Native, Options{EventID: "evt-2026-12-0002"}},
		{"native-cancel.json", Native, Options{EventType: "cancel"}},
		{"native-hostile.json", Native, Options{}},
		{"workday.json", Workday, Options{EventID: "wd-BP-4417", EventType: "hire"}},
		{"bamboohr.json", BambooHR, Options{}},
		{"bamboohr-batch.json", BambooHR, Options{}},
		{"personio.json", Personio, Options{}},
		{"native-leave.json", Native, Options{}},
		{"workday-leave.json", Workday, Options{EventID: "wd-BP-5120", EventType: "leave"}},
		{"bamboohr-leave.json", BambooHR, Options{}},
		{"personio-leave.json", Personio, Options{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := DecodeAll(tc.format, body, tc.opt)
			if err != nil {
				t.Fatalf("DecodeAll: %v", err)
			}
			for _, ev := range evs {
				if ev.Source != tc.format {
					t.Errorf("Source = %q, want %q", ev.Source, tc.format)
				}
			}
			// HTML escaping off: the golden file shows <script> as sent.
			var got strings.Builder
			enc := json.NewEncoder(&got)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(evs); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", strings.TrimSuffix(tc.file, ".json")+".golden.json"), []byte(got.String()))
		})
	}
}

// TestHostileNamesAreData: printable text that would mean something to a
// shell, SQL, LDAP, HTML or a template is valid person data and comes
// through byte for byte, as encoding/json itself reads it.
func TestHostileNamesAreData(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "native-hostile.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Decode(Native, body, Options{})
	if err != nil {
		t.Fatalf("Decode refused hostile but printable names: %v", err)
	}
	var plain struct{ Person map[string]string }
	if err := json.Unmarshal(body, &plain); err != nil {
		t.Fatal(err)
	}
	got := ev.Person.Set()
	if len(got) != len(plain.Person) {
		t.Errorf("decoded %d person fields, the document has %d", len(got), len(plain.Person))
	}
	for k, want := range plain.Person {
		if got[k] != want {
			t.Errorf("person.%s = %q, want %q unchanged", k, got[k], want)
		}
	}
	for _, want := range []string{"$(id)", `O'Brien"; rm -rf / #`, "<script>alert(1)</script>"} {
		found := false
		for _, v := range got {
			found = found || v == want
		}
		if !found {
			t.Errorf("%q is not among the decoded fields %q", want, got)
		}
	}
}

// TestChangeKeepsAbsentFromEmpty: in a change, a field left out is nil
// and a field given empty is a pointer to "".
func TestChangeKeepsAbsentFromEmpty(t *testing.T) {
	ev, err := Decode(Native, []byte(`{"id": "c-1", "type": "change", "person": {"employee_id": "E1", "title": ""}}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Person.Title == nil || *ev.Person.Title != "" {
		t.Errorf("title = %v, want a pointer to \"\"", ev.Person.Title)
	}
	if ev.Person.Department != nil {
		t.Errorf("department = %q, want nil (not mentioned)", *ev.Person.Department)
	}
	want := map[string]string{"employee_id": "E1", "title": ""}
	if got := ev.Person.Set(); len(got) != 2 || got["title"] != "" || got["employee_id"] != "E1" {
		t.Errorf("Set() = %q, want %q", got, want)
	}
}

func TestErrorBody(t *testing.T) {
	_, err := Decode(Native, []byte(withPerson(`"given_name": "Ada", "surname": "L", "start_date": "2026-13-01", "email": "x"`)), Options{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, not *Error: %v", err, err)
	}
	want := `{"error":"invalid event","event":"evt-1","problems":[` +
		`{"pointer":"/person/email","field":"person.email","message":"is not an email address: \"x\""},` +
		`{"pointer":"/person/start_date","field":"person.start_date","message":"must be a date written YYYY-MM-DD, got \"2026-13-01\""}]}`
	if got := string(e.Body()); got != want {
		t.Errorf("Body():\n got %s\nwant %s", got, want)
	}

	_, err = Decode(Native, []byte("{\n  \"id\": x}"), Options{})
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, not *Error: %v", err, err)
	}
	want = `{"error":"invalid event","problems":[{"pointer":"","line":2,"column":9,"message":"malformed JSON: invalid character 'x' looking for beginning of value"}]}`
	if got := string(e.Body()); got != want {
		t.Errorf("Body():\n got %s\nwant %s", got, want)
	}
}

// TestHeaders: a header fills what a document lacks, and must agree with
// what it has.
func TestHeaders(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "bamboohr.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opt  Options
		want string // "" when accepted
	}{
		{"none", Options{}, ""},
		{"agreeing", Options{EventID: "bamboohr:123:1795165200", EventType: "hire"}, ""},
		{"other id", Options{EventID: "x-1"}, `event bamboohr:123:1795165200: header Onboard-Event-Id: says "x-1" but the document says "bamboohr:123:1795165200"`},
		{"other type", Options{EventType: "change"}, `event bamboohr:123:1795165200: header Onboard-Event-Type: says "change" but the document says "hire"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(BambooHR, body, tc.opt)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("error:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
