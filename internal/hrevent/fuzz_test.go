package hrevent

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"onboard/internal/strictyaml"
)

// FuzzDecode: no body makes Decode panic; a refusal is an *Error whose
// message holds no control character and whose body is valid JSON; and every accepted event, of any format, re-encodes
// as a native event that decodes to the same value.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		if filepath.Ext(file[:len(file)-len(".json")]) == ".golden" {
			continue
		}
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for i := range Formats {
			f.Add(uint8(i), body)
		}
	}
	f.Add(uint8(0), []byte(hire))
	f.Add(uint8(0), []byte(`{"id": "a", "id": "b"}`))
	f.Add(uint8(0), []byte("{\"id\": \"\xff\"}"))
	f.Add(uint8(3), []byte(`{"data": {"attributes": {"cost_centers": {"value": null}}}}`))

	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		format := Formats[int(which)%len(Formats)]
		opt := Options{EventID: "fuzz-1", EventType: "change"}
		if format == Native || format == BambooHR {
			opt = Options{}
		}
		evs, err := DecodeAll(format, body, opt)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("refusal %T %v is not an *Error with problems", err, err)
			}
			// The message reaches logs and terminals: nothing in it acts.
			for _, c := range e.Error() {
				if c != '\n' && strictyaml.IsControl(c) {
					t.Fatalf("error message holds %U: %q", c, e.Error())
				}
			}
			if !json.Valid(e.Body()) {
				t.Fatalf("error body is not JSON: %s", e.Body())
			}
			return
		}
		for _, ev := range evs {
			want := *ev
			want.Source = ""
			again, err := json.Marshal(want)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", want, err)
			}
			got, err := Decode(Native, again, Options{})
			if err != nil {
				t.Fatalf("re-encoded event %s is refused: %v", again, err)
			}
			want.Source = Native
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("round trip changed the event:\n got %+v\nwant %+v", *got, want)
			}
		}
	})
}
