package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"onboard/internal/scim/scimtest"
)

// TestPatchCrossCheck applies every PATCH of the fixtures, and a few more
// shapes Entra and Okta send, with the handler and with scim-patch (an
// independent implementation of RFC 7644 §3.5.2, tools/scimcheck), each to
// the resource as the handler showed it just before, and compares what
// onboard holds of both results.
func TestPatchCrossCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node.js (tools/scimcheck)")
	}
	type patchCase struct {
		name       string
		before     interface{}
		operations interface{}
		ours       interface{}
	}
	var cases []patchCase
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		fx, err := scimtest.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := newTestHandler(t)
		s := &scimtest.Session{Handler: h, Token: testToken}
		for _, st := range fx.Steps {
			var before interface{}
			if st.Method == "PATCH" {
				_, _, before, err = s.Do("GET", st.Path, nil)
				if err != nil {
					t.Fatal(err)
				}
			}
			after := s.Run(t, st)
			if st.Method == "PATCH" {
				cases = append(cases, patchCase{filepath.Base(f) + ": " + st.Name, before, operations(t, st.Body), after})
			}
		}
	}
	// Shapes the fixtures lack: the manager as Entra sends it (a bare ID)
	// and as the schema defines it, extension removal, a complex replace
	// and the onboard extension.
	extra := []struct{ name, body string }{
		{"manager as a bare ID", `{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m-0042"}`},
		{"manager as a value object", `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m-0043"}}`},
		{"manager removed", `{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}`},
		{"department replaced", `{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Finance"}`},
		// scim-patch 0.8.3 splits a bare extension URN used as a key at its
		// last colon, so the container form ({"urn:…:User": {…}}) is
		// checked by TestPatchShapes alone; the prefixed keys here.
		{"extension attributes without path", `{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:onboard:2.0:User:startDate":"2026-04-01","urn:ietf:params:scim:schemas:extension:onboard:2.0:User:workstation":"WS-0101","title":"Accountant"}}`},
		{"name replaced as a complex value", `{"op":"replace","path":"name","value":{"givenName":"Åsa"}}`},
		{"givenName removed", `{"op":"remove","path":"name.givenName"}`},
		{"work email added to a user without one", `{"op":"add","path":"emails","value":[{"value":"new@example.com","type":"work"}]}`},
		{"emails removed", `{"op":"remove","path":"emails"}`},
		{"work email set by filter on a user without emails", `{"op":"replace","path":"emails[type eq \"work\"].value","value":"w@example.com"}`},
		{"title added then removed", `{"op":"add","path":"title","value":"Clerk"}`},
		{"title removed", `{"op":"remove","path":"title"}`},
	}
	h, _, _ := newTestHandler(t)
	s := &scimtest.Session{Handler: h, Token: testToken}
	code, _, created, err := s.Do("POST", "/scim/v2/Users", []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x.check","name":{"givenName":"Ann","familyName":"Lee"},"active":true,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","employeeNumber":"17"},
		"urn:ietf:params:scim:schemas:extension:onboard:2.0:User":{"location":"Graz"}}`))
	if err != nil || code != 201 {
		t.Fatalf("seed user: %d %v %v", code, created, err)
	}
	id, _ := scimtest.Pointer(created, "/id")
	path := fmt.Sprintf("/scim/v2/Users/%s", id)
	for _, e := range extra {
		_, _, before, _ := s.Do("GET", path, nil)
		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + e.body + `]}`
		code, _, after, err := s.Do("PATCH", path, []byte(body))
		if err != nil || code != 200 {
			t.Fatalf("%s: %d %v %v", e.name, code, after, err)
		}
		cases = append(cases, patchCase{e.name, before, operations(t, []byte(body)), after})
	}
	if len(cases) < 20 {
		t.Fatalf("only %d PATCH cases", len(cases))
	}

	in := map[string]interface{}{}
	var patches []interface{}
	for _, c := range cases {
		patches = append(patches, map[string]interface{}{"resource": c.before, "operations": c.operations})
	}
	in["patch"] = patches
	var out struct {
		Patch []struct {
			Result interface{} `json:"result"`
			Error  string      `json:"error"`
		} `json:"patch"`
	}
	scimcheck(t, in, &out)
	if len(out.Patch) != len(cases) {
		t.Fatalf("scimcheck answered %d cases, want %d", len(out.Patch), len(cases))
	}
	agree := 0
	for i, c := range cases {
		theirs := out.Patch[i]
		if theirs.Error != "" {
			t.Errorf("%s: scim-patch refused it: %s", c.name, theirs.Error)
			continue
		}
		if diff := cmp.Diff(held(theirs.Result), held(c.ours)); diff != "" {
			t.Errorf("%s: onboard's result differs from scim-patch's (-scim-patch +ours):\n%s", c.name, diff)
			continue
		}
		agree++
	}
	t.Logf("%d of %d PATCH requests agree with scim-patch", agree, len(cases))
}

// TestFilterCrossCheck evaluates filters with the handler and with
// scim2-parse-filter on the same users and compares the matches.
func TestFilterCrossCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node.js (tools/scimcheck)")
	}
	h, _, _ := newTestHandler(t)
	s := &scimtest.Session{Handler: h, Token: testToken}
	for _, u := range filterUsers {
		if code, _, doc, err := s.Do("POST", "/scim/v2/Users", []byte(u)); err != nil || code != 201 {
			t.Fatalf("seed %s: %d %v %v", u, code, doc, err)
		}
	}
	_, _, all, err := s.Do("GET", "/scim/v2/Users?count=100", nil)
	if err != nil {
		t.Fatal(err)
	}
	resources, _ := scimtest.Pointer(all, "/Resources")
	list, _ := resources.([]interface{})
	if len(list) != len(filterUsers) {
		t.Fatalf("listed %d users, want %d", len(list), len(filterUsers))
	}
	// Values match in case: scim2-parse-filter compares strings exactly,
	// where userName is caseExact false (TestFilters covers that).
	filters := []string{
		`userName eq "ann.lee"`,
		`externalId eq "ext-2"`,
		`emails[type eq "work"].value eq "bo@example.com"`,
		`emails[type eq "work" and value co "example.org"]`,
		`emails.value co "example.com"`,
		`name.familyName eq "Lee"`,
		`title co "Engineer"`,
		`displayName sw "Cy"`,
		`nickName pr`,
		`active eq false`,
		`not (active eq true)`,
		`userName eq "ann.lee" or userName eq "cy.dee"`,
		`active eq true and title co "Engineer"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "2002"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"`,
		`meta.created gt "2026-03-02T09:01:30Z"`,
		`urn:ietf:params:scim:schemas:extension:onboard:2.0:User:startDate ge "2026-05-01"`,
		`userName eq "nobody"`,
	}
	var cases []interface{}
	ours := make([][]int, len(filters))
	for i, f := range filters {
		cases = append(cases, map[string]interface{}{"filter": f, "resources": list})
		code, _, doc, err := s.Do("GET", "/scim/v2/Users?count=100&filter="+url.QueryEscape(f), nil)
		if err != nil || code != 200 {
			t.Fatalf("%s: %d %v %v", f, code, doc, err)
		}
		got, _ := scimtest.Pointer(doc, "/Resources")
		for _, r := range got.([]interface{}) {
			for j, a := range list {
				if a.(map[string]interface{})["id"] == r.(map[string]interface{})["id"] {
					ours[i] = append(ours[i], j)
				}
			}
		}
		sort.Ints(ours[i])
	}
	var out struct {
		Filter []struct {
			Matched []int  `json:"matched"`
			Error   string `json:"error"`
		} `json:"filter"`
	}
	scimcheck(t, map[string]interface{}{"filter": cases}, &out)
	for i, f := range filters {
		theirs := out.Filter[i]
		if theirs.Error != "" {
			t.Errorf("%s: scim2-parse-filter refused it: %s", f, theirs.Error)
			continue
		}
		if !cmp.Equal(theirs.Matched, ours[i], cmp.Comparer(func(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) })) {
			t.Errorf("%s: we match %v, scim2-parse-filter %v", f, ours[i], theirs.Matched)
		}
	}
}

var filterUsers = []string{
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann.lee","externalId":"ext-1","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Ann Lee","title":"Engineer","active":true,"emails":[{"value":"ann@example.com","type":"work","primary":true}],
	 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"2001","department":"Sales"}}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bo.ek","externalId":"ext-2","name":{"givenName":"Bo","familyName":"Ek"},"displayName":"Bo Ek","title":"Clerk","nickName":"B","active":false,"emails":[{"value":"bo@example.com","type":"work"}],
	 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"2002","department":"Finance"}}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"cy.dee","externalId":"ext-3","name":{"givenName":"Cy","familyName":"Dee"},"displayName":"Cy Dee","title":"Senior Engineer","active":true,"emails":[{"value":"cy@example.org","type":"work"}],
	 "urn:ietf:params:scim:schemas:extension:onboard:2.0:User":{"startDate":"2026-05-04","workstation":"WS-7"}}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"di.lee","name":{"familyName":"Lee"},"active":true}`,
}

// operations returns the Operations of a PatchOp body.
func operations(t *testing.T, body []byte) interface{} {
	t.Helper()
	var m map[string]interface{}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	k, _ := lowerKeys(m, "operations")
	return m[k]
}

// held is what onboard keeps of a resource, read independently of the
// package's own mapping: keys compared without case, active as a boolean
// or Entra's "True"/"False", manager as an object or a bare ID, the email
// as the primary, else work, else first.
func held(doc interface{}) map[string]string {
	d := lower(doc).(map[string]interface{})
	out := map[string]string{}
	str := func(m interface{}, key string) string {
		mm, _ := m.(map[string]interface{})
		v, _ := mm[key].(string)
		return v
	}
	for _, k := range []string{"username", "externalid", "displayname", "nickname", "title"} {
		out[k] = str(d, k)
	}
	out["givenname"] = str(d["name"], "givenname")
	out["familyname"] = str(d["name"], "familyname")
	ent := d[strings.ToLower(EnterpriseSchema)]
	for _, k := range []string{"employeenumber", "department", "costcenter", "organization", "division"} {
		out[k] = str(ent, k)
	}
	if m, ok := ent.(map[string]interface{}); ok {
		switch v := m["manager"].(type) {
		case string:
			out["manager"] = v
		case map[string]interface{}:
			out["manager"], _ = v["value"].(string)
		}
	}
	onb := d[strings.ToLower(OnboardSchema)]
	for _, k := range []string{"startdate", "workstation", "location"} {
		out[k] = str(onb, k)
	}
	switch v := d["active"].(type) {
	case bool:
		out["active"] = fmt.Sprint(v)
	case string:
		out["active"] = strings.ToLower(v)
	}
	emails, _ := d["emails"].([]interface{})
	var primary, work, first string
	for _, e := range emails {
		v := str(e, "value")
		m, _ := e.(map[string]interface{})
		if p, _ := m["primary"].(bool); p && primary == "" {
			primary = v
		}
		if strings.EqualFold(str(e, "type"), "work") && work == "" {
			work = v
		}
		if first == "" {
			first = v
		}
	}
	out["email"] = first
	if work != "" {
		out["email"] = work
	}
	if primary != "" {
		out["email"] = primary
	}
	return out
}

func lower(v interface{}) interface{} {
	switch v := v.(type) {
	case map[string]interface{}:
		out := map[string]interface{}{}
		for k, e := range v {
			out[strings.ToLower(k)] = lower(e)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(v))
		for i, e := range v {
			out[i] = lower(e)
		}
		return out
	}
	return v
}

var (
	scimcheckOnce sync.Once
	scimcheckErr  error
)

// scimcheck runs tools/scimcheck/check.mjs on in, decoding its answer into
// out; it installs the pinned packages first if they are missing.
func scimcheck(t *testing.T, in interface{}, out interface{}) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): the SCIM cross-check needs Node.js 20 and npm (tools/scimcheck)", err)
	}
	tool, err := filepath.Abs("../../tools/scimcheck")
	if err != nil {
		t.Fatal(err)
	}
	scimcheckOnce.Do(func() { scimcheckErr = installScimcheck(tool) })
	if scimcheckErr != nil {
		t.Fatal(scimcheckErr)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(tool, "check.mjs"))
	cmd.Stdin = bytes.NewReader(raw)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scimcheck: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("scimcheck output: %v\n%s", err, stdout.String())
	}
}

// installScimcheck runs "npm ci --ignore-scripts" in tool unless its
// packages are there (plain JavaScript: no install script is needed).
func installScimcheck(tool string) error {
	if _, err := os.Stat(filepath.Join(tool, "node_modules", "scim-patch", "package.json")); err == nil {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("tools/scimcheck/node_modules is missing and npm is not installed: run npm ci --ignore-scripts in tools/scimcheck")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = tool
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci --ignore-scripts in tools/scimcheck: %w\n%s", err, out)
	}
	return nil
}
