package scim

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"onboard/internal/scim/scimtest"
)

// TestConcurrentRequests: one handler serves clients in parallel (Entra
// and Okta both send several requests at once); every user created is
// found, and every deactivation lands.
func TestConcurrentRequests(t *testing.T) {
	h, b, _ := newTestHandler(t)
	const clients, each = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			// t.Fatal belongs to the test's goroutine: errors go to errs.
			s := &scimtest.Session{Handler: h, Token: testToken}
			do := func(_ *testing.T, _ http.Handler, method, path, body string) (int, interface{}) {
				code, _, doc, err := s.Do(method, path, []byte(body))
				if err != nil {
					errs <- err
				}
				return code, doc
			}
			for i := 0; i < each; i++ {
				name := fmt.Sprintf("c%d.u%d", c, i)
				code, doc := do(t, h, "POST", "/scim/v2/Users", `{`+coreUser+`,"userName":"`+name+`","active":true}`)
				if code != 201 {
					errs <- fmt.Errorf("create %s: %d %v", name, code, doc)
					continue
				}
				code, doc = do(t, h, "PATCH", "/scim/v2/Users/"+str(doc, "/id"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
				if code != 200 || str(doc, "/userName") != name {
					errs <- fmt.Errorf("deactivate %s: %d %v", name, code, doc)
				}
				code, doc = do(t, h, "GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "`+name+`" and active eq false`), "")
				if code != 200 || str(doc, "/Resources/0/userName") != name {
					errs <- fmt.Errorf("find %s: %d %v", name, code, doc)
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(b.users) != clients*each {
		t.Errorf("%d users stored, want %d", len(b.users), clients*each)
	}
	for _, u := range b.users {
		if u.Active {
			t.Errorf("%s still active", u.UserName)
		}
	}
}
