package inventory

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNotifySection(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		errs       []string // each must appear, with its position
	}{
		{"valid", `notify:
  on_duty: oncall@corp.example.test
  manager_email: "${person.manager}@corp.example.test"
  teams: {it-desk: it-desk@corp.example.test}
  channels:
    mail: {kind: email, host: smtp.corp.example.test, username: onboard, password: env:SMTP_PW, from: onboard@corp.example.test}
    chat: {kind: slack, url: env:SLACK_URL}
    hook: {kind: webhook, url: "https://hooks.corp.example.test/onboard", key: file:hook.key}
  default_rules:
    - {on: [failure], to: [on-duty, manager, team:it-desk], via: [mail, chat]}
`, nil},
		{"mistakes", `notify:
  on_duty: not-an-address
  manager_email: "${person.nope}@corp.example.test"
  teams: {it-desk: desk}
  channels:
    mail: {kind: email, host: smtp.corp.example.test, tls: none, password: hunter2hunter2, from: onboard@corp.example.test}
    chat: {kind: slack, url: "https://hooks.slack.com/services/T/B/X"}
    hook: {kind: webhook, url: "ftp://x", key: env:K, host: x}
    desk: {kind: ticket, url: "https://x.service-now.com/api/now/table/incident", template: missing.tmpl}
    fax: {kind: fax}
  default_rules:
    - {on: [failur], to: [on-duty, team:nope, "x y"], via: [mail, pager]}
`, []string{
			`:2:12: notify.on_duty: is not an email address: "not-an-address"`,
			`:3:18: notify.manager_email: template ${person.nope}: unknown name`,
			`notify.teams.it-desk: is not an email address: "desk"`,
			`notify.channels.mail.tls: must be starttls or implicit, got "none"`,
			`notify.channels.mail.password: a credential must be a reference`,
			`notify.channels.mail.username: and password go together`,
			`notify.channels.chat.url: a credential must be a reference`,
			`notify.channels.hook.url: must be an https:// (or http://) URL, got "ftp://x"`,
			`notify.channels.hook.host: does not apply to a webhook channel`,
			`notify.channels.desk.template: `,
			`notify.channels.fax.kind: must be one of email, webhook, slack, teams, ticket, got "fax"`,
			`notify.default_rules[0].on[0]: unknown event "failur"`,
			`notify.default_rules[0].to[1]: unknown team "nope"`,
			`notify.default_rules[0].to[2]: must be manager, on-duty, team:NAME or an email address, got "x y"`,
			`notify.default_rules[0].via[1]: unknown channel "pager": not in notify.channels`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := filepath.Join(dir, "notify.yaml")
			if err := os.WriteFile(f, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			inv, err := Load(f)
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if got := inv.NotifyChannels(); !slices.Equal(got, []string{"chat", "hook", "mail"}) {
					t.Errorf("channels %v", got)
				}
				for who, want := range map[string]string{"manager": "ghopper@corp.example.test", "on-duty": "oncall@corp.example.test",
					"team:it-desk": "it-desk@corp.example.test", "x@corp.example.test": "x@corp.example.test"} {
					if got, err := inv.NotifyRecipient(who, "ghopper"); err != nil || got != want {
						t.Errorf("%s: %q %v, want %q", who, got, err, want)
					}
				}
				if r := inv.NotifyDefaultRules(); len(r) != 1 || !slices.Equal(r[0].Via, []string{"mail", "chat"}) {
					t.Errorf("default rules %+v", r)
				}
				if _, err := inv.NotifyRecipient("team:nope", "ghopper"); err == nil {
					t.Error("an unknown team resolved")
				}
				if !slices.Contains(inv.Private(), filepath.Join(dir, "hook.key")) {
					t.Errorf("the webhook key file is not private: %v", inv.Private())
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error echoes a pasted password:\n%v", err)
			}
		})
	}
}
