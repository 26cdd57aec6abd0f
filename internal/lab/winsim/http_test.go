package winsim_test

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab/winsim"
	"onboard/internal/plan"
)

// The http check on Windows fetches for real: status, body, redirects
// not followed, the certificate and whether the machine trusts it.
func TestWindowsHTTPCheck(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "<h1>Welcome to the intranet</h1>")
	})
	mux.Handle("/old", http.RedirectHandler("/", http.StatusFound))
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	l := startLab(t, winsim.Config{RootCAs: roots, Hosts: map[string][]string{"intranet.lab": {"127.0.0.1"}}})
	base := srv.URL // https://127.0.0.1:PORT
	port := base[strings.LastIndex(base, ":")+1:]
	sec := plan.Duration(5 * time.Second)
	for _, tt := range []struct {
		c        plan.HTTPCheck
		pass     bool
		evidence string
	}{
		{plan.HTTPCheck{URL: base + "/", Status: 200, Contains: []string{"Welcome", "/intra.et/"}}, true, "answered 200 with each of 2 expected texts in its body; certificate subject O=Acme Co, issuer O=Acme Co, expires"},
		{plan.HTTPCheck{URL: base + "/", Status: 200}, true, "trusted by the host"},
		{plan.HTTPCheck{URL: base + "/", Status: 200, Contains: []string{"Goodbye"}}, false, `does not contain "Goodbye"`},
		{plan.HTTPCheck{URL: base + "/missing", Status: 200}, false, "answered 404, want 200"},
		{plan.HTTPCheck{URL: base + "/old", Status: 302}, true, "answered 302"},
		{plan.HTTPCheck{URL: "https://intranet.lab:" + port + "/", Status: 200}, false, "Could not establish trust relationship"},
		{plan.HTTPCheck{URL: "https://intranet.lab:" + port + "/", Status: 200, Insecure: true}, true, "not trusted by the host: RemoteCertificateNameMismatch"},
		{plan.HTTPCheck{URL: "https://nope.lab/", Status: 200}, false, "could not be resolved"},
		{plan.HTTPCheck{URL: fmt.Sprintf("http://127.0.0.1:%d/", closedPort(t)), Status: 200}, false, "Unable to connect to the remote server (ConnectFailure)"},
	} {
		c := tt.c
		c.Timeout = sec
		wantCheck(t, l, &plan.CheckSpec{Name: c.URL, HTTP: &c}, tt.pass, tt.evidence)
	}
}
