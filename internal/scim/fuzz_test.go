package scim

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"onboard/internal/scim/scimtest"
)

// FuzzRequests: any body, PATCH or POST, and any filter is answered with a
// SCIM message and never a 500 or a panic, and what reaches the Backend
// has no control character and no overlong value.
func FuzzRequests(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		fx, err := scimtest.Load(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, st := range fx.Steps {
			if len(st.Body) > 0 {
				f.Add(st.Method == "PATCH", string(st.Body), "")
			}
			if u, err := url.Parse(st.Path); err == nil && u.Query().Get("filter") != "" {
				f.Add(false, "", u.Query().Get("filter"))
			}
		}
	}
	f.Add(true, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails[value pr]"}]}`, `emails[value pr]`)
	f.Add(true, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails[type eq \"work\" and primary eq true].display","value":"x"}]}`, `not (emails pr)`)
	f.Fuzz(func(t *testing.T, patch bool, body, filter string) {
		h, b, _ := newTestHandler(t)
		code, doc := do(t, h, "POST", "/scim/v2/Users", `{`+coreUser+`,"userName":"seed","emails":[{"value":"s@example.com","type":"work"}]}`)
		if code != 201 {
			t.Fatalf("seed: %d %v", code, doc)
		}
		id := str(doc, "/id")
		method, path := "POST", "/scim/v2/Users"
		if patch {
			method, path = "PATCH", "/scim/v2/Users/"+id
		}
		s := &scimtest.Session{Handler: h, Token: testToken}
		for _, req := range [][3]string{{method, path, body}, {"GET", "/scim/v2/Users?filter=" + url.QueryEscape(filter), ""}} {
			code, hdr, doc, err := s.Do(req[0], req[1], []byte(req[2]))
			if err != nil {
				t.Fatalf("%s %s: %v", req[0], req[1], err)
			}
			if code >= 500 {
				t.Fatalf("%s %s %q: %d %v", req[0], req[1], req[2], code, doc)
			}
			if doc != nil && hdr.Get("Content-Type") != "application/scim+json" {
				t.Fatalf("Content-Type %q", hdr.Get("Content-Type"))
			}
			if code >= 400 && str(doc, "/schemas/0") != "urn:ietf:params:scim:api:messages:2.0:Error" {
				t.Fatalf("%d without a SCIM error: %v", code, doc)
			}
		}
		for _, u := range b.got {
			for _, fl := range fields {
				checkHeld(t, fl.name(), *fl.get(&u))
			}
			checkHeld(t, "email", u.Email)
		}
	})
}

func checkHeld(t *testing.T, name, v string) {
	t.Helper()
	if hasControl(v) || !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxValue {
		raw, _ := json.Marshal(v)
		t.Fatalf("the Backend received %s = %s", name, raw)
	}
}
