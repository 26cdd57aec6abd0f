package scim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"onboard/internal/scim/scimtest"
)

const coreUser = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]`

func do(t *testing.T, h http.Handler, method, path, body string) (int, interface{}) {
	t.Helper()
	s := &scimtest.Session{Handler: h, Token: testToken}
	code, _, doc, err := s.Do(method, path, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return code, doc
}

func str(doc interface{}, ptr string) string {
	v, _ := scimtest.Pointer(doc, ptr)
	s, _ := v.(string)
	return s
}

// TestAuth: a request without a bearer token, with another scheme or with
// a token the checker refuses gets a SCIM 401 and a WWW-Authenticate
// challenge, reaches no Backend, and no token shows in the log.
func TestAuth(t *testing.T) {
	h, b, logs := newTestHandler(t)
	for _, tc := range []struct {
		name, header string
	}{
		{"missing", ""},
		{"basic scheme", "Basic " + testToken},
		{"bearer without token", "Bearer "},
		{"wrong token", "Bearer wrong-" + testToken},
		{"token only", testToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/scim/v2/Users", "/scim/v2/Users/u0001", "/scim/v2/ServiceProviderConfig", "/scim/v2/Groups"} {
				req := httptest.NewRequest("GET", path, nil)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("%s: status %d, want 401", path, rec.Code)
				}
				if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: WWW-Authenticate %q", path, rec.Header().Get("WWW-Authenticate"))
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/scim+json" {
					t.Errorf("%s: Content-Type %q", path, ct)
				}
				body := rec.Body.String()
				if !strings.Contains(body, `"urn:ietf:params:scim:api:messages:2.0:Error"`) || !strings.Contains(body, `"status":"401"`) {
					t.Errorf("%s: body %s", path, body)
				}
				if strings.Contains(body, testToken) {
					t.Errorf("%s: body shows the token", path)
				}
			}
		})
	}
	// A good token passes, in any case of the scheme.
	req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("good token: status %d", rec.Code)
	}
	if len(b.calls) != 0 {
		t.Errorf("refused requests reached the Backend: %v", b.calls)
	}
	if strings.Contains(logs.String(), testToken) || !strings.Contains(logs.String(), "status=401") {
		t.Errorf("log shows the token or misses the refusals:\n%s", logs)
	}
}

// TestErrors: every failure is a SCIM error message with the status and
// scimType RFC 7644 §3.12 gives it, and the detail names the attribute.
func TestErrors(t *testing.T) {
	enterprise := `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	onboard := `"urn:ietf:params:scim:schemas:extension:onboard:2.0:User"`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		scimType, detail         string
	}{
		{"unknown attribute", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a","shoeSize":"42"}`, 400, "invalidSyntax", "shoeSize: unknown attribute"},
		{"unknown extension attribute", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a",` + enterprise + `:{"badge":"7"}}`, 400, "invalidSyntax", "enterprise:2.0:User:badge: unknown attribute"},
		{"unknown attribute in PATCH path", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"shoeSize","value":"42"}]}`, 400, "invalidPath", ""},
		{"unknown attribute in PATCH value", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"shoeSize":"42"}}]}`, 400, "invalidValue", ""},
		{"unknown attribute in filter", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`shoeSize eq "42"`), ``, 400, "invalidFilter", ""},
		{"wrong type: active a number", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a","active":5}`, 400, "invalidValue", ""},
		{"wrong type: userName an object", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":{"x":1}}`, 400, "invalidValue", ""},
		{"wrong type: active a word in PATCH", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":"maybe"}]}`, 400, "invalidValue", ""},
		{"missing userName", "POST", "/scim/v2/Users", `{` + coreUser + `,"displayName":"A"}`, 400, "invalidValue", ""},
		{"userName removed by PATCH", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"userName"}]}`, 400, "invalidValue", "userName: required"},
		{"not JSON", "POST", "/scim/v2/Users", `{"userName":`, 400, "invalidSyntax", ""},
		{"two JSON values", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a"} {}`, 400, "invalidSyntax", ""},
		{"no schemas", "POST", "/scim/v2/Users", `{"userName":"a"}`, 400, "invalidSyntax", ""},
		{"PATCH without PatchOp schema", "PATCH", "/scim/v2/Users/{{id}}", `{"Operations":[{"op":"replace","path":"title","value":"x"}]}`, 400, "invalidValue", ""},
		{"operator the type lacks", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`active gt true`), ``, 400, "invalidFilter", ""},
		{"search not provided", "POST", "/scim/v2/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"a\""}`, 501, "", "not supported"},
		{"bad filter syntax", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq`), ``, 400, "invalidFilter", ""},
		{"bad filter operator", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`userName is "a"`), ``, 400, "invalidFilter", ""},
		{"filter with a control character", "GET", "/scim/v2/Users?filter=" + url.QueryEscape("userName eq \"a\x00\""), ``, 400, "invalidFilter", ""},
		{"overlong filter", "GET", "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "`+strings.Repeat("a", 1100)+`"`), ``, 400, "invalidFilter", ""},
		{"count not a number", "GET", "/scim/v2/Users?count=ten", ``, 400, "", "count"},
		{"uniqueness", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"Taken.User"}`, 409, "uniqueness", ""},
		{"uniqueness on PATCH", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"other.user"}]}`, 409, "uniqueness", ""},
		{"not found: GET", "GET", "/scim/v2/Users/nobody", ``, 404, "", "nobody"},
		{"not found: PUT", "PUT", "/scim/v2/Users/nobody", `{` + coreUser + `,"userName":"x"}`, 404, "", "nobody"},
		{"not found: PATCH", "PATCH", "/scim/v2/Users/nobody", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`, 404, "", "nobody"},
		{"not found: DELETE", "DELETE", "/scim/v2/Users/nobody", ``, 404, "", "nobody"},
		{"groups not provided", "GET", "/scim/v2/Groups", ``, 404, "", "Groups are not provided"},
		{"groups not provided: POST", "POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"x"}`, 404, "", "Groups are not provided"},
		{"unknown endpoint", "GET", "/scim/v2/Devices", ``, 404, "", ""},
		{"control character in name", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a","name":{"givenName":"Ann\u0007"}}`, 400, "invalidValue", "name.givenName: control characters"},
		{"newline in userName", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a\nb"}`, 400, "invalidValue", "userName: control characters"},
		{"control character in email", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a","emails":[{"value":"a\u001b@x","type":"work"}]}`, 400, "invalidValue", "emails.value: control characters"},
		{"control character in extension", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a",` + enterprise + `:{"department":"Sa\u0000les"}}`, 400, "invalidValue", "enterprise:2.0:User:department: control characters"},
		{"control character in PATCH value", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Boss\r\nX-Injected: 1"}]}`, 400, "invalidValue", "title: control characters"},
		{"control character in PATCH map", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"name.familyName":"L\u0085ee"}}]}`, 400, "invalidValue", "name.familyName: control characters"},
		{"control character in PATCH path", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title\u0000","value":"x"}]}`, 400, "invalidPath", "path: control characters"},
		{"bidirectional override", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a","displayName":"Ann \u202egnp.exe"}`, 400, "invalidValue", "displayName: control characters"},
		{"line separator", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a","title":"x\u2028y"}`, 400, "invalidValue", "title: control characters"},
		{"overlong value", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a","displayName":"` + strings.Repeat("é", 257) + `"}`, 400, "invalidValue", "displayName: longer than 256"},
		{"start date not a date", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a",` + onboard + `:{"startDate":"next Monday"}}`, 400, "invalidValue", "onboard:2.0:User:startDate: not a date"},
		{"start date impossible", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:onboard:2.0:User:startDate","value":"2026-02-30"}]}`, 400, "invalidValue", "startDate: not a date"},
		{"body too large", "POST", "/scim/v2/Users", `{` + coreUser + `,"userName":"a","title":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "", "larger than"},
		{"too many operations", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.TrimSuffix(strings.Repeat(`{"op":"add","path":"title","value":"x"},`, 101), ",") + `]}`, 413, "", "operations"},
		{"remove without target filter", "PATCH", "/scim/v2/Users/{{id}}", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[value co \"x\"].type","value":"home"}]}`, 400, "noTarget", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, b, _ := newTestHandler(t)
			code, doc := do(t, h, "POST", "/scim/v2/Users", `{`+coreUser+`,"userName":"taken.user","externalId":"e1"}`)
			if code != 201 {
				t.Fatalf("seed: %d %v", code, doc)
			}
			do(t, h, "POST", "/scim/v2/Users", `{`+coreUser+`,"userName":"other.user"}`)
			id := str(doc, "/id")
			calls := len(b.calls)
			code, doc = do(t, h, tc.method, strings.ReplaceAll(tc.path, "{{id}}", id), tc.body)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %v", code, tc.status, doc)
			}
			if str(doc, "/schemas/0") != "urn:ietf:params:scim:api:messages:2.0:Error" || str(doc, "/status") != fmt.Sprint(tc.status) {
				t.Errorf("not a SCIM error: %v", doc)
			}
			if got := str(doc, "/scimType"); got != tc.scimType {
				t.Errorf("scimType %q, want %q (%v)", got, tc.scimType, doc)
			}
			if !strings.Contains(str(doc, "/detail"), tc.detail) {
				t.Errorf("detail %q does not say %q", str(doc, "/detail"), tc.detail)
			}
			if tc.status == 400 || tc.status == 413 {
				for _, c := range b.calls[calls:] {
					if c != "create" || tc.scimType != "uniqueness" {
						t.Errorf("a refused request reached the Backend: %v", b.calls[calls:])
					}
				}
			}
		})
	}
}

// failingBackend answers every call with its error.
type failingBackend struct{ err error }

func (f failingBackend) Create(context.Context, User) (User, error)          { return User{}, f.err }
func (f failingBackend) Get(context.Context, string) (User, error)           { return User{}, f.err }
func (f failingBackend) List(context.Context) ([]User, error)                { return nil, f.err }
func (f failingBackend) Replace(context.Context, string, User) (User, error) { return User{}, f.err }
func (f failingBackend) Delete(context.Context, string) error                { return f.err }

// TestBackendErrors: the Backend's errors, wrapped or not, become the
// statuses they stand for; an unexpected one is logged and answered 500
// without its text.
func TestBackendErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		status   int
		scimType string
		detail   string
	}{
		{"invalid", fmt.Errorf("store: %w", &InvalidError{Attribute: "urn:ietf:params:scim:schemas:extension:onboard:2.0:User:workstation", Message: "no such workstation in the inventory"}), 400, "invalidValue", "onboard:2.0:User:workstation: no such workstation"},
		{"conflict", fmt.Errorf("store: %w", ErrConflict), 409, "uniqueness", ""},
		{"not found", fmt.Errorf("store: %w", ErrNotFound), 404, "", ""},
		{"unexpected", errors.New("pq: password authentication failed for user onboard at 10.0.0.5"), 500, "", "failed to create user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			h, err := NewHandler(failingBackend{tc.err}, checker(testToken), slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			code, doc := do(t, h, "POST", "/scim/v2/Users", `{`+coreUser+`,"userName":"a"}`)
			if code != tc.status || str(doc, "/scimType") != tc.scimType || !strings.Contains(str(doc, "/detail"), tc.detail) {
				t.Fatalf("got %d %v, want %d %q %q", code, doc, tc.status, tc.scimType, tc.detail)
			}
			if tc.status == 500 {
				if strings.Contains(fmt.Sprint(doc), "password") {
					t.Errorf("the Backend's error text reached the client: %v", doc)
				}
				if !strings.Contains(logs.String(), "password authentication failed") {
					t.Errorf("the Backend's error was not logged:\n%s", logs.String())
				}
			}
		})
	}
}

// TestBackendReceives: the Backend gets exactly the values sent, every
// attribute in its field, and Entra's shapes normalised.
func TestBackendReceives(t *testing.T) {
	h, b, _ := newTestHandler(t)
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:onboard:2.0:User"],
		"externalId":"E-77","userName":"Zoë.O'Brien@example.com","active":"True",
		"name":{"givenName":"Zoë","familyName":"O'Brien; DROP TABLE","formatted":"ignored"},
		"displayName":"Zoë O'Brien","nickName":"Zo","title":"Ingénieure \"principale\"",
		"emails":[{"value":"zoe@home.example","type":"home"},{"value":"zoe@example.com","type":"work","primary":true}],
		"phoneNumbers":[{"value":"+43 1 234","type":"work"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"00042","department":"R&D","costCenter":"CC-9","organization":"Acme","division":"Labs","manager":"m-0007"},
		"urn:ietf:params:scim:schemas:extension:onboard:2.0:User":{"startDate":"2026-04-01","workstation":"WS-0042","location":"Wien <HQ>"}}`
	code, doc := do(t, h, "POST", "/scim/v2/Users", body)
	if code != 201 {
		t.Fatalf("create: %d %v", code, doc)
	}
	want := User{
		ExternalID: "E-77", UserName: "Zoë.O'Brien@example.com", GivenName: "Zoë", FamilyName: "O'Brien; DROP TABLE",
		DisplayName: "Zoë O'Brien", NickName: "Zo", Title: `Ingénieure "principale"`, Email: "zoe@example.com", Active: true,
		EmployeeNumber: "00042", Department: "R&D", CostCenter: "CC-9", Organization: "Acme", Division: "Labs", Manager: "m-0007",
		StartDate: "2026-04-01", Workstation: "WS-0042", Location: "Wien <HQ>",
	}
	if diff := cmp.Diff(want, b.got[0]); diff != "" {
		t.Errorf("Backend received (-want +got):\n%s", diff)
	}
	id := str(doc, "/id")
	for _, p := range []string{"/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager/value", "/urn:ietf:params:scim:schemas:extension:onboard:2.0:User/startDate", "/meta/location", "/meta/version"} {
		if str(doc, p) == "" {
			t.Errorf("response lacks %s: %v", p, doc)
		}
	}
	// A PATCH that changes nothing (Entra re-sends active every cycle)
	// does not reach Replace.
	code, _ = do(t, h, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`)
	if code != 200 || len(b.got) != 1 {
		t.Errorf("no-op PATCH: %d, Backend received %d users", code, len(b.got))
	}
	// Disabling reaches Replace with Active false, everything else kept and
	// the version the PATCH read.
	read := b.users[id].Version
	code, doc = do(t, h, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	if code != 200 || len(b.got) != 2 {
		t.Fatalf("disable: %d %v", code, doc)
	}
	want.ID, want.Active, want.Version = id, false, read
	if diff := cmp.Diff(want, b.got[1]); diff != "" {
		t.Errorf("Backend received on disable (-want +got):\n%s", diff)
	}
}

// TestPatchShapes: PATCH shapes beyond the fixtures, each from the same
// starting user.
func TestPatchShapes(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	const onb = "urn:ietf:params:scim:schemas:extension:onboard:2.0:User"
	for _, tc := range []struct {
		name string
		ops  string
		want func(u *User)
	}{
		{"manager as a bare ID (Entra)", `{"op":"Add","path":"` + ent + `:manager","value":"m-9"}`, func(u *User) { u.Manager = "m-9" }},
		{"manager as a value object", `{"op":"replace","path":"` + ent + `:manager","value":{"value":"m-9"}}`, func(u *User) { u.Manager = "m-9" }},
		{"manager.value", `{"op":"replace","path":"` + ent + `:manager.value","value":"m-9"}`, func(u *User) { u.Manager = "m-9" }},
		{"manager in a map without path", `{"op":"replace","value":{"` + ent + `:manager":"m-9"}}`, func(u *User) { u.Manager = "m-9" }},
		{"manager in an extension container", `{"op":"replace","value":{"` + ent + `":{"manager":"m-9","department":"Ops"}}}`, func(u *User) { u.Manager, u.Department = "m-9", "Ops" }},
		{"manager removed", `{"op":"Remove","path":"` + ent + `:manager"}`, func(u *User) { u.Manager = "" }},
		{"department removed", `{"op":"remove","path":"` + ent + `:department"}`, func(u *User) { u.Department = "" }},
		{"onboard container keeps what it does not name", `{"op":"add","value":{"` + onb + `":{"workstation":"WS-2"}}}`, func(u *User) { u.Workstation = "WS-2" }},
		{"active without path, as a string", `{"op":"replace","value":{"active":"False"}}`, func(u *User) { u.Active = false }},
		{"case of attribute names", `{"op":"replace","path":"NAME.GIVENNAME","value":"Bea"}`, func(u *User) { u.GivenName = "Bea" }},
		{"work email value set by add", `{"op":"add","path":"emails[type eq \"work\"].value","value":"w@example.com"}`, func(u *User) { u.Email = "w@example.com" }},
		{"email replaced", `{"op":"replace","path":"emails","value":[{"value":"n@example.com","type":"work","primary":true}]}`, func(u *User) { u.Email = "n@example.com" }},
		{"email removed", `{"op":"remove","path":"emails[type eq \"work\"]"}`, func(u *User) { u.Email = "" }},
		{"externalId replaced", `{"op":"replace","path":"externalId","value":"X-2"}`, func(u *User) { u.ExternalID = "X-2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, b, _ := newTestHandler(t)
			code, doc := do(t, h, "POST", "/scim/v2/Users", `{`+coreUser+`,"userName":"ann","externalId":"X-1","active":true,"name":{"givenName":"Ann","familyName":"Lee"},
				"emails":[{"value":"a@example.com","type":"work"}],
				"`+ent+`":{"department":"Sales","manager":{"value":"m-1"}},"`+onb+`":{"startDate":"2026-04-01","location":"Graz"}}`)
			if code != 201 {
				t.Fatalf("seed: %d %v", code, doc)
			}
			want := b.got[0]
			want.ID = str(doc, "/id")
			tc.want(&want)
			code, doc = do(t, h, "PATCH", "/scim/v2/Users/"+want.ID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+tc.ops+`]}`)
			if code != 200 {
				t.Fatalf("patch: %d %v", code, doc)
			}
			got := b.users[want.ID]
			got.Created, got.LastModified, got.Version = time.Time{}, time.Time{}, ""
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
		})
	}
}

// staleGet reads a user as it was before another change landed.
type staleGet struct{ *memBackend }

func (s staleGet) Get(ctx context.Context, id string) (User, error) {
	u, err := s.memBackend.Get(ctx, id)
	u.Version = `W/"0"`
	return u, err
}

// TestPatchConcurrentChange: a PATCH applied to a version that is no
// longer the stored one is refused by the Backend and answered 409.
func TestPatchConcurrentChange(t *testing.T) {
	b := newMemBackend()
	h, err := NewHandler(staleGet{b}, checker(testToken), nil, WithBaseURL("https://onboard.example.test/scim/v2"))
	if err != nil {
		t.Fatal(err)
	}
	code, doc := do(t, h, "POST", "/scim/v2/Users", `{`+coreUser+`,"userName":"ann"}`)
	if code != 201 || str(doc, "/meta/location") != "https://onboard.example.test/scim/v2/Users/"+str(doc, "/id") {
		t.Fatalf("create: %d %v", code, doc)
	}
	code, doc = do(t, h, "PATCH", "/scim/v2/Users/"+str(doc, "/id"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Clerk"}]}`)
	if code != 409 {
		t.Errorf("PATCH on a stale version: %d %v, want 409", code, doc)
	}
}
