package scim

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"onboard/internal/scim/scimtest"
)

func ids(t *testing.T, doc interface{}) []string {
	t.Helper()
	res, ok := scimtest.Pointer(doc, "/Resources")
	if !ok {
		t.Fatalf("no Resources in %v", doc)
	}
	var out []string
	for _, r := range res.([]interface{}) {
		out = append(out, r.(map[string]interface{})["userName"].(string))
	}
	return out
}

// TestFilters: the filters Okta and Entra send and what the library's
// validator accepts besides, evaluated on the listed users.
func TestFilters(t *testing.T) {
	h, _, _ := newTestHandler(t)
	for _, u := range filterUsers {
		if code, doc := do(t, h, "POST", "/scim/v2/Users", u); code != 201 {
			t.Fatalf("seed: %d %v", code, doc)
		}
	}
	for _, tc := range []struct {
		filter string
		want   string
	}{
		{`userName eq "ann.lee"`, "ann.lee"},
		{`userName eq "ANN.LEE"`, "ann.lee"}, // userName is caseExact false
		{`externalId eq "ext-2"`, "bo.ek"},
		{`externalId eq "EXT-2"`, ""}, // externalId is caseExact
		{`emails[type eq "work"].value eq "cy@example.org"`, "cy.dee"},
		{`emails[type eq "work" and value eq "cy@example.org"]`, "cy.dee"},
		{`emails.value co "example.com"`, "ann.lee bo.ek"},
		{`name.familyName eq "Lee"`, "ann.lee di.lee"},
		{`title sw "Senior"`, "cy.dee"},
		{`title ew "Engineer"`, "ann.lee cy.dee"},
		{`nickName pr`, "bo.ek"},
		{`active eq false`, "bo.ek"},
		{`not (active eq true)`, "bo.ek"},
		{`userName eq "ann.lee" or externalId eq "ext-3"`, "ann.lee cy.dee"},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "2001"`, "ann.lee"},
		{`employeeNumber eq "2002"`, "bo.ek"},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ne "Sales"`, "bo.ek"},
		{`id eq "u0003"`, "cy.dee"},
		{`urn:ietf:params:scim:schemas:extension:onboard:2.0:User:startDate ge "2026-05-01"`, "cy.dee"},
		{`workstation eq "WS-7"`, "cy.dee"},
		{`meta.created ge "2026-03-02T09:03:00Z"`, "cy.dee di.lee"},
		{`userName eq "nobody"`, ""},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			code, doc := do(t, h, "GET", "/scim/v2/Users?filter="+url.QueryEscape(tc.filter), "")
			if code != 200 {
				t.Fatalf("%d %v", code, doc)
			}
			got := ids(t, doc)
			sort.Strings(got)
			if strings.Join(got, " ") != tc.want {
				t.Errorf("matched %q, want %q", got, tc.want)
			}
			if n, _ := scimtest.Pointer(doc, "/totalResults"); fmt.Sprint(n) != fmt.Sprint(len(got)) {
				t.Errorf("totalResults %v, %d listed", n, len(got))
			}
		})
	}
}

// TestPaging: startIndex and count page through the users in one order,
// totalResults counts them all, and count is capped.
func TestPaging(t *testing.T) {
	h, _, _ := newTestHandler(t)
	const n = 7
	for i := 0; i < n; i++ {
		if code, doc := do(t, h, "POST", "/scim/v2/Users", fmt.Sprintf(`{%s,"userName":"user%d"}`, coreUser, i)); code != 201 {
			t.Fatalf("seed: %d %v", code, doc)
		}
	}
	var all []string
	for start := 1; start <= n; start += 3 {
		code, doc := do(t, h, "GET", fmt.Sprintf("/scim/v2/Users?startIndex=%d&count=3", start), "")
		if code != 200 {
			t.Fatalf("%d %v", code, doc)
		}
		for p, want := range map[string]string{"/totalResults": "7", "/startIndex": fmt.Sprint(start), "/itemsPerPage": "3"} {
			if v, _ := scimtest.Pointer(doc, p); fmt.Sprint(v) != want {
				t.Errorf("start %d: %s = %v, want %s", start, p, v, want)
			}
		}
		all = append(all, ids(t, doc)...)
	}
	want := "user0 user1 user2 user3 user4 user5 user6"
	if strings.Join(all, " ") != want {
		t.Errorf("pages gave %v, want %s", all, want)
	}
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"count=0", ""},
		{"startIndex=7&count=100", "user6"},
		{"startIndex=8", ""},
		{"startIndex=0&count=1", "user0"}, // below 1 means 1
		{"count=-4", ""},                  // negative means 0
		{"filter=" + url.QueryEscape(`userName sw "user"`) + "&startIndex=2&count=2", "user1 user2"},
	} {
		code, doc := do(t, h, "GET", "/scim/v2/Users?"+tc.query, "")
		if code != 200 {
			t.Fatalf("%s: %d %v", tc.query, code, doc)
		}
		if got := strings.Join(ids(t, doc), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.query, got, tc.want)
		}
	}
	code, doc := do(t, h, "GET", "/scim/v2/Users?count=100000", "")
	if v, _ := scimtest.Pointer(doc, "/itemsPerPage"); code != 200 || fmt.Sprint(v) != fmt.Sprint(maxResults) {
		t.Errorf("count above the maximum: %d itemsPerPage %v", code, v)
	}
}

// TestDiscovery: ServiceProviderConfig, Schemas and ResourceTypes say what
// is served: PATCH and filtering, no bulk or sort, bearer tokens, Users
// with both extensions, no Groups.
func TestDiscovery(t *testing.T) {
	h, _, _ := newTestHandler(t)
	code, doc := do(t, h, "GET", "/scim/v2/ServiceProviderConfig", "")
	if code != 200 {
		t.Fatalf("ServiceProviderConfig: %d %v", code, doc)
	}
	for p, want := range map[string]interface{}{
		"/patch/supported": true, "/filter/supported": true, "/bulk/supported": false, "/sort/supported": false,
		"/etag/supported": false, "/changePassword/supported": false, "/authenticationSchemes/0/type": "oauthbearertoken",
	} {
		if v, _ := scimtest.Pointer(doc, p); v != want {
			t.Errorf("ServiceProviderConfig %s = %v, want %v", p, v, want)
		}
	}
	code, doc = do(t, h, "GET", "/scim/v2/ResourceTypes", "")
	if code != 200 || str(doc, "/Resources/0/name") != "User" || str(doc, "/Resources/0/endpoint") != "/Users" {
		t.Fatalf("ResourceTypes: %d %v", code, doc)
	}
	if _, more := scimtest.Pointer(doc, "/Resources/1"); more {
		t.Errorf("ResourceTypes lists more than User: %v", doc)
	}
	var exts []string
	for i := 0; ; i++ {
		s := str(doc, fmt.Sprintf("/Resources/0/schemaExtensions/%d/schema", i))
		if s == "" {
			break
		}
		exts = append(exts, s)
	}
	if strings.Join(exts, " ") != EnterpriseSchema+" "+OnboardSchema {
		t.Errorf("User extensions %v", exts)
	}
	code, doc = do(t, h, "GET", "/scim/v2/Schemas", "")
	if code != 200 || !strings.Contains(fmt.Sprint(doc), OnboardSchema) || !strings.Contains(fmt.Sprint(doc), "startDate") {
		t.Errorf("Schemas: %d, lacks the onboard extension", code)
	}
	code, doc = do(t, h, "GET", "/scim/v2/Schemas/"+OnboardSchema, "")
	if code != 200 || str(doc, "/id") != OnboardSchema {
		t.Errorf("Schemas/%s: %d %v", OnboardSchema, code, doc)
	}
}

// TestMountPaths: the coordinator may mount the handler at /scim/v2/ as it
// is or behind http.StripPrefix.
func TestMountPaths(t *testing.T) {
	h, _, _ := newTestHandler(t)
	for _, prefix := range []string{"/scim/v2", "/v2", ""} {
		code, doc := do(t, h, "POST", prefix+"/Users", `{`+coreUser+`,"userName":"p`+strings.ReplaceAll(prefix, "/", "_")+`"}`)
		if code != 201 {
			t.Fatalf("%q: POST %d %v", prefix, code, doc)
		}
		if code, doc := do(t, h, "GET", prefix+"/Users/"+str(doc, "/id"), ""); code != 200 {
			t.Errorf("%q: GET %d %v", prefix, code, doc)
		}
		if code, _ := do(t, h, "GET", prefix+"/ServiceProviderConfig", ""); code != 200 {
			t.Errorf("%q: ServiceProviderConfig %d", prefix, code)
		}
	}
}

func TestRewriteFilter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`emails[type eq "work"].value eq "a@b.c"`, `emails[type eq "work" and value eq "a@b.c"]`},
		{`emails[type eq "wo]rk"].value eq "a"`, `emails[type eq "wo]rk" and value eq "a"]`},
		{`emails[type eq "work"]`, `emails[type eq "work"]`},
		{`userName eq "a[b].c d"`, `userName eq "a[b].c d"`},
		{`emails[type eq "work"].value`, `emails[type eq "work"].value`},
		{`emails[type eq "work"].value eq "a" or emails[type eq "home"].value eq "b"`, `emails[type eq "work"].value eq "a" or emails[type eq "home"].value eq "b"`},
		{`emails[type eq "x\"]"].value eq "a"`, `emails[type eq "x\"]" and value eq "a"]`},
	} {
		if got := rewriteFilter(tc.in); got != tc.want {
			t.Errorf("rewriteFilter(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
