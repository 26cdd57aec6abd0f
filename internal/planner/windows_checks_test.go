package planner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// planWendy plans the Windows hire with extra checks appended.
func planWendy(t *testing.T, checks string) (*plan.Plan, error) {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/valid/wendy-windows.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pbFile := filepath.Join(dir, "wendy.yaml")
	body := strings.Replace(string(b), "file:secrets/E3001.pw", "file:out/E3001.pw", 1) + checks
	if err := os.WriteFile(pbFile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load("testdata/inventory")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := playbook.Load(pbFile)
	if err != nil {
		t.Fatal(err)
	}
	return Build([]*playbook.Playbook{pb}, inv, Options{ProfileDirs: []string{"testdata/profiles"}, Write: []string{filepath.Join(dir, "out")}})
}

// A Windows host runs the dns, tcp, service, user and group checks, after
// every other step of the hire.
func TestWindowsChecksPlanned(t *testing.T) {
	p, err := planWendy(t, `checks:
  - name: intranet
    dns: {name: intranet.corp.example.test}
  - name: smtp
    tcp: {host: mail.corp.example.test, port: 25}
  - name: spooler
    service: {name: Spooler, running: true, enabled: true}
  - name: hire-known
    user: {name: 'CORP\${account.username}', groups: [Remote Desktop Users]}
  - name: rdp-group
    group: {name: Remote Desktop Users}
  - name: intranet-page
    http: {url: 'https://intranet.corp.example.test/', contains: [Welcome]}
`)
	if err != nil {
		t.Fatal(err)
	}
	var checks []*plan.Step
	others := map[string]bool{}
	for _, s := range p.Steps {
		if s.Kind == plan.KindCheck {
			checks = append(checks, s)
		} else if s.Hire == "E3001" {
			others[s.ID] = true
		}
	}
	if len(checks) != 6 {
		t.Fatalf("%d check steps, want 6", len(checks))
	}
	for _, c := range checks {
		deps := map[string]bool{}
		for _, d := range c.DependsOn {
			deps[d] = true
		}
		for id := range others {
			if !deps[id] {
				t.Errorf("check %s does not wait for %s", c.ID, id)
			}
		}
		if u := c.Check.User; u != nil && !strings.HasPrefix(u.Name, `CORP\`) || u != nil && strings.Contains(u.Name, "$") {
			t.Errorf("user check name %q, want the expanded username", u.Name)
		}
	}
}

// Kinds that read Linux tools are refused on Windows, at the check.
func TestWindowsRefusesLinuxCheckKinds(t *testing.T) {
	for _, kind := range []string{
		"command: {run: 'true'}",
		"file: {path: /etc/hosts}",
		"package: {name: curl}",
	} {
		_, err := planWendy(t, "checks:\n  - name: x\n    "+kind+"\n")
		if err == nil || !strings.Contains(err.Error(), "checks[0]") || !strings.Contains(err.Error(), "runs Windows") {
			t.Errorf("%s: err %v, want a refusal at checks[0]", kind, err)
		}
	}
}
