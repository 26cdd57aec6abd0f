package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"onboard/internal/hrevent"
	"onboard/internal/serve/store"
)

var hrKey = []byte("test-hr-key-0123456789abcdef")

func hookServer(t *testing.T, db string) (*Service, *httptest.Server) {
	t.Helper()
	s := openService(t, db, Config{Mapper: fixedMapper("ws1", laterSlots)})
	h, err := s.Handler(HTTPConfig{HRKeys: [][]byte{[]byte("old-key-rotated-out-soon"), hrKey},
		APITokens: []Token{{Name: "tech", Value: []byte("api-token-0123456789")}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return s, srv
}

func post(t *testing.T, url string, body []byte, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer is not JSON (%d): %s", resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func signed(body []byte, at time.Time) map[string]string {
	ts, sig := hrevent.Sign(hrKey, at, body)
	return map[string]string{hrevent.HeaderTimestamp: ts, hrevent.HeaderSignature: sig}
}

func TestHRWebhook(t *testing.T) {
	hire, err := os.ReadFile("../hrevent/testdata/native-hire.json")
	if err != nil {
		t.Fatal(err)
	}
	hostile, err := os.ReadFile("../hrevent/testdata/native-hostile.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			s, srv := hookServer(t, db)
			url := srv.URL + "/hooks/hr"
			ctx := context.Background()

			code, a := post(t, url, hire, signed(hire, time.Now()))
			if code != http.StatusAccepted || a["result"] != "scheduled" || len(a["runs"].([]any)) != 3 {
				t.Fatalf("hire: %d %v", code, a)
			}
			if !strings.HasPrefix(a["url"].(string), srv.URL+"/api/v1/hires/E2001") {
				t.Errorf("url %v", a["url"])
			}
			// The same event again (a redelivery, or a replay inside the
			// window): one hire, one set of runs.
			code, a = post(t, url, hire, signed(hire, time.Now()))
			if code != http.StatusOK || a["duplicate"] != true {
				t.Fatalf("redelivery: %d %v", code, a)
			}
			runs, _ := store.RunsOf(ctx, s.store.DB, "E2001")
			if len(runs) != 3 {
				t.Fatalf("%d runs after a redelivery", len(runs))
			}
			for _, r := range runs {
				if r.Trigger != "hr:evt-2026-12-0001" {
					t.Errorf("trigger %q", r.Trigger)
				}
			}

			refusals := []struct {
				name   string
				body   []byte
				header map[string]string
				code   int
				want   string
			}{
				{"unsigned", hire, nil, 401, "unsigned"},
				{"bad signature", hire, map[string]string{hrevent.HeaderTimestamp: signed(hire, time.Now())[hrevent.HeaderTimestamp],
					hrevent.HeaderSignature: "v1=" + strings.Repeat("ab", 32)}, 401, "bad signature"},
				{"body changed after signing", append([]byte(" "), hire...), signed(hire, time.Now()), 401, "bad signature"},
				{"replayed after the window", hire, signed(hire, time.Now().Add(-10*time.Minute)), 401, "stale"},
				{"malformed JSON", []byte(`{"id": "e", "type": "hire",`), signed([]byte(`{"id": "e", "type": "hire",`), time.Now()), 400, `"line":1`},
				{"unknown field", []byte(`{"id":"e5","type":"hire","person":{"employee_id":"E5","given_name":"A","surname":"B","start_date":"2027-01-04","shoe_size":44}}`),
					nil, 422, "/person/shoe_size"},
				{"invalid date", []byte(`{"id":"e6","type":"hire","person":{"employee_id":"E6","given_name":"A","surname":"B","start_date":"2027-02-30"}}`),
					nil, 422, "/person/start_date"},
			}
			for _, c := range refusals {
				h := c.header
				if h == nil && c.code != 401 {
					h = signed(c.body, time.Now())
				}
				code, a := post(t, url, c.body, h)
				b, _ := json.Marshal(a)
				if code != c.code || !strings.Contains(string(b), c.want) {
					t.Errorf("%s: %d %s, want %d with %q", c.name, code, b, c.code, c.want)
				}
				if strings.Contains(string(b), string(hrKey)) {
					t.Errorf("%s: the answer holds the key", c.name)
				}
			}

			// A hostile name is data: stored and planned literally.
			code, a = post(t, url, hostile, signed(hostile, time.Now()))
			if code != http.StatusAccepted {
				t.Fatalf("hostile: %d %v", code, a)
			}
			h, err := store.GetHire(ctx, s.store.DB, "E2002")
			if err != nil {
				t.Fatal(err)
			}
			var p Person
			_ = json.Unmarshal(h.Person, &p)
			if p.Surname != `O'Brien"; rm -rf / #` || p.GivenName != "$(id)" || p.CostCenter != "*)(uid=*))(|(uid=*" {
				t.Fatalf("stored person changed: %+v", p)
			}
			pb, err := parsePlaybook("x.yaml", []byte(h.Playbook))
			if err != nil {
				t.Fatal(err)
			}
			if pb.Person.Surname != p.Surname || pb.Person.Title != "<script>alert(1)</script>" || pb.Person.Department != "R&D ${person.surname} %s %n" {
				t.Fatalf("the playbook does not hold the person literally: %+v", pb.Person)
			}

			// Metrics count what was received and refused.
			resp, err := http.Get(srv.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			mb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`onboard_events_received_total{result="scheduled",source="hr"} 2`,
				`onboard_events_received_total{result="duplicate",source="hr"} 1`,
				`onboard_events_refused_total{reason="stale",source="hr"} 1`,
				`onboard_events_refused_total{reason="invalid",source="hr"} 3`} {
				if !strings.Contains(string(mb), want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}
