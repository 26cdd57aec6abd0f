package planner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// A hire's rules are its profile's, then its playbook's, each recipient
// resolved to an address and each channel checked against the inventory.
func TestNotifyRules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("inventory/notify.yaml", `notify:
  on_duty: oncall@corp.example.test
  manager_email: "${person.manager}@corp.example.test"
  teams: {it-desk: it-desk@corp.example.test}
  channels:
    mail: {kind: email, host: smtp.corp.example.test, from: onboard@corp.example.test}
    chat: {kind: slack, url: env:SLACK_URL}
`)
	write("profiles/desk.yaml", `notify:
  - on: [failure]
    to: [on-duty]
    via: [chat]
`)
	inv, err := inventory.Load(filepath.Join(dir, "inventory"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, rules string
		want        []plan.NotifyRule
		err         []string
	}{
		{"profile then playbook", `
  - on: [handover-ready]
    to: [manager, team:it-desk, ann@corp.example.test]
    via: [mail]`, []plan.NotifyRule{
			{On: []string{"failure"}, To: []plan.Recipient{{Who: "on-duty", Address: "oncall@corp.example.test"}}, Via: []string{"chat"}},
			{On: []string{"handover-ready"}, To: []plan.Recipient{{Who: "manager", Address: "ghopper@corp.example.test"},
				{Who: "team:it-desk", Address: "it-desk@corp.example.test"}, {Who: "ann@corp.example.test", Address: "ann@corp.example.test"}}, Via: []string{"mail"}},
		}, nil},
		{"unknown channel and team", `
  - on: [failure]
    to: [team:sales]
    via: [mial]`, nil, []string{`notify[0].via[0]: unknown channel "mial": not in the inventory's notify.channels (did you mean "mail"?)`,
			`notify[0].to[0]: unknown team "sales"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := write("hire.yaml", `person: {employee_id: E1, given_name: Ann, surname: Lee, start_date: 2027-01-04, manager: ghopper}
profile: desk
notify:`+tc.rules+"\n")
			pb, err := playbook.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Build([]*playbook.Playbook{pb}, inv, Options{ProfileDirs: []string{filepath.Join(dir, "profiles")}, Now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)})
			if tc.err != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range tc.err {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, p.Hires[0].Notify); d != "" {
				t.Errorf("rules (-want +got):\n%s", d)
			}
		})
	}
}
