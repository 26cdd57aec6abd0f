package playbook

import (
	"os"
	"strings"
	"testing"

	"onboard/internal/golden"
)

// Every problem with the new check kinds is reported at once, each at its
// file:line:column and field.
func TestCheckKindErrors(t *testing.T) {
	data, err := os.ReadFile("testdata/checks-invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("testdata/checks-invalid.yaml", data)
	if err == nil {
		t.Fatal("accepted")
	}
	golden.Assert(t, "testdata/checks-invalid.golden", []byte(err.Error()+"\n"))
}

// A playbook using every check kind with valid values loads clean.
func TestCheckKindsValid(t *testing.T) {
	src := `person: {employee_id: E1, given_name: Ann, surname: Lee, start_date: 2027-01-04}
checks:
  - {name: dns, dns: {name: intranet.lab, addresses: [10.0.0.5, "fd00::5"], timeout: 3s}}
  - {name: gone, dns: {name: old.lab, resolves: false}}
  - {name: smtp, tcp: {host: mail.lab, port: 25}}
  - {name: telnet, tcp: {host: "${machine.host}", port: 23, reachable: false}}
  - {name: web, http: {url: "https://intranet.lab/", status: 200, contains: [Welcome], timeout: 20s}}
  - {name: cups, service: {name: cups, running: true, enabled: true}, retry: {timeout: 30s}}
  - {name: hire, user: {name: "${account.username}", groups: [lpadmin]}}
  - {name: staff, group: {name: lpadmin}}
  - {name: sign-in, login: {}}
  - {name: sign-in-here, login: {user: "${account.username}", bind: false}}
  - {name: ssh, package: {name: openssh-server, version: ">= 1:9.2"}}
`
	if _, err := Parse("pb.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

func TestCheckURL(t *testing.T) {
	for url, want := range map[string]string{
		"http://h/":              "",
		"https://h:8443/a?b":     "",
		"ftp://h/":               "must be an http:// or https:// URL",
		"https:///x":             "must name a host",
		"http://h/a b":           "must not contain spaces",
		"intranet.lab/page":      "must be an http:// or https:// URL",
		"http://[::1]:631/ok":    "",
		"https://ada:hunter2@h/": "must not carry a user or password",
	} {
		err := CheckURL(url)
		if (err == nil) != (want == "") || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("CheckURL(%q) = %v, want %q", url, err, want)
		}
	}
}
