package serve

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/scim/scimtest"
	"onboard/internal/serve/store"
)

const scimToken = "scim-token-0123456789abcdef"

// The providers' published request sequences, replayed against the real
// service and store: every fixture of internal/scim passes here too, and
// what they provision becomes hires.
func TestSCIMFixturesAgainstTheStore(t *testing.T) {
	fixtures, err := filepath.Glob("../scim/testdata/*.json")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for name, db := range databases(t) {
		for _, f := range fixtures {
			t.Run(name+"/"+filepath.Base(f), func(t *testing.T) {
				if name == "sqlite" {
					db = filepath.Join(t.TempDir(), "serve.db")
				}
				s := openService(t, db, Config{Mapper: fixedMapper("ws1", laterSlots)})
				emptyTables(t, s)
				h, err := s.Handler(HTTPConfig{SCIMTokens: []Token{{Name: "entra", Value: []byte(scimToken)}}})
				if err != nil {
					t.Fatal(err)
				}
				scimtest.Replay(t, h, scimToken, f)
				// Each provisioning event was recorded with its source.
				evs, err := store.Events(context.Background(), s.store.DB, "", 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					if ev.Source != "scim" || !strings.HasPrefix(ev.ID, "scim:") {
						t.Errorf("event %s from %s", ev.ID, ev.Source)
					}
				}
			})
		}
	}
}

// Entra's sequence as it reaches a hire: created active with a start
// date (scheduled), its title changed (rescheduled), disabled with the
// string "False" (cancelled), and the token is checked.
func TestSCIMProvisionsAHire(t *testing.T) {
	s := openService(t, filepath.Join(t.TempDir(), "serve.db"), Config{Mapper: fixedMapper("ws1", laterSlots)})
	h, err := s.Handler(HTTPConfig{SCIMTokens: []Token{{Name: "entra", Value: []byte(scimToken)}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	create := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:onboard:2.0:User"],
"userName":"zoe@corp.example.test","externalId":"aad-1","active":true,"name":{"givenName":"Zoë","familyName":"O'Brien"},
"title":"Engineer","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E7001","department":"Engineering"},
"urn:ietf:params:scim:schemas:extension:onboard:2.0:User":{"startDate":"2027-01-04"}}`
	code, body := scimDo(t, srv.URL, "POST", "/scim/v2/Users", create, scimToken)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	id := jsonField(t, body, "id")
	hire, err := store.GetHire(ctx, s.store.DB, "E7001")
	if err != nil || hire.State != store.HireScheduled || hire.Trigger != "scim:"+id {
		t.Fatalf("hire after create: %+v %v", hire, err)
	}
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"title","value":"Staff Engineer"}]}`
	if code, body := scimDo(t, srv.URL, "PATCH", "/scim/v2/Users/"+id, patch, scimToken); code != 200 {
		t.Fatalf("patch title: %d %s", code, body)
	}
	hire, _ = store.GetHire(ctx, s.store.DB, "E7001")
	if hire.Generation != 2 || !strings.Contains(string(hire.Person), "Staff Engineer") {
		t.Fatalf("after the change: gen %d %s", hire.Generation, hire.Person)
	}
	disable := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`
	if code, body := scimDo(t, srv.URL, "PATCH", "/scim/v2/Users/"+id, disable, scimToken); code != 200 {
		t.Fatalf("disable: %d %s", code, body)
	}
	hire, _ = store.GetHire(ctx, s.store.DB, "E7001")
	if hire.State != store.HireCancelled {
		t.Fatalf("after active=False: %s", hire.State)
	}
	runs, _ := store.RunsOf(ctx, s.store.DB, "E7001")
	for _, r := range runs {
		if r.State == store.RunScheduled {
			t.Errorf("run %s still scheduled after the user was disabled", r.ID)
		}
	}
	if code, _ := scimDo(t, srv.URL, "GET", "/scim/v2/Users/"+id, "", "wrong-token-0123456789"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	// A second user with the same employee number is refused.
	dup := strings.Replace(strings.Replace(create, "zoe@", "zoe2@", 1), "aad-1", "aad-2", 1)
	if code, body := scimDo(t, srv.URL, "POST", "/scim/v2/Users", dup, scimToken); code != 409 {
		t.Fatalf("second user for E7001: %d %s", code, body)
	}
}

func scimDo(t *testing.T, base, method, path, body, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/scim+json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func jsonField(t *testing.T, body, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	v, _ := m[key].(string)
	return v
}

// emptyTables clears a database shared by subtests (one PostgreSQL
// cluster serves them all).
func emptyTables(t *testing.T, s *Service) {
	t.Helper()
	for _, tbl := range []string{"onboard_scim_users", "onboard_events", "onboard_runs", "onboard_hires", "onboard_leases", "river_job"} {
		if _, err := s.store.DB.Exec("DELETE FROM " + tbl); err != nil {
			t.Fatal(err)
		}
	}
}
