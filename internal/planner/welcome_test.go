package planner

import (
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/plan"
)

const welcomeInventory = reachInventory + `software:
  acme-chat:
    description: Acme Chat
    linux: {package: acme-chat, version: 3.1.0}
  plain-tool:
    linux: {package: plain-tool}
printers:
  Solo: {uri: "ipp://10.0.0.5/ipp/print", location: "2nd floor, room 2.14"}
helpdesk:
  name: IT Service Desk
  email: help@example.test
  url: https://help.example.test/
`

// The plan carries everything the sheet shows besides the run's findings:
// confined paths, the inventory's helpdesk, catalogue names, the printer's
// location, and the first-login text by precedence.
func TestWelcomePlanned(t *testing.T) {
	f := newReachFixture(t, welcomeInventory)
	f.write("playbooks/profiles/desk.yaml", "first_login: From the profile.\n")
	tests := []struct {
		name, body, firstLogin string
	}{
		{"default text per OS", "", defaultFirstLogin["linux"]},
		{"the profile's", "profile: desk\n", "From the profile."},
		{"the playbook's", "profile: desk\n", "From the playbook."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			welcome := "  welcome:\n    sheets: [../out/w.md, ../out/w.html]\n"
			if tt.firstLogin == "From the playbook." {
				welcome += "    first_login: From the playbook.\n"
			}
			pb := f.playbook("a.yaml", "A1", tt.body+"machine: {host: ws1, software: [acme-chat, plain-tool], printers: [Solo]}\nhandover:\n"+welcome)
			p, err := f.build(nil, pb)
			if err != nil {
				t.Fatal(err)
			}
			w := p.Hires[0].Handover.Welcome
			if w == nil {
				t.Fatal("no welcome sheet in the plan")
			}
			out, _ := filepath.EvalSymlinks(filepath.Join(f.dir, "out"))
			if len(w.Sheets) != 2 || w.Sheets[0] != filepath.Join(out, "w.md") {
				t.Errorf("sheets %v, want confined absolute paths in %s", w.Sheets, out)
			}
			if w.OS != "linux" || w.FirstLogin != tt.firstLogin {
				t.Errorf("os %q, first login %q; want linux, %q", w.OS, w.FirstLogin, tt.firstLogin)
			}
			if w.Helpdesk == nil || w.Helpdesk.Name != "IT Service Desk" || w.Helpdesk.URL != "https://help.example.test/" {
				t.Errorf("helpdesk %+v", w.Helpdesk)
			}
			want := []plan.WelcomeItem{{Step: "A1:package:acme-chat", Display: "Acme Chat"}, {Step: "A1:package:plain-tool", Display: "plain-tool"}}
			if len(w.Software) != 2 || w.Software[0] != want[0] || w.Software[1] != want[1] {
				t.Errorf("software %+v, want %+v", w.Software, want)
			}
			if len(w.Printers) != 1 || w.Printers[0] != (plan.WelcomeItem{Step: "A1:printer:Solo", Display: "Solo", Detail: "2nd floor, room 2.14"}) {
				t.Errorf("printers %+v", w.Printers)
			}
		})
	}
}

// A sheet goes only where a report may go, never over another output, and
// the password only on a sheet the playbook names as its channel, copied
// from a password file.
func TestWelcomeRefused(t *testing.T) {
	outside := t.TempDir()
	tests := []struct{ name, body, want string }{
		{"outside the writable folders", "handover: {welcome: {sheets: [" + outside + "/w.md]}}\n", "handover.welcome.sheets[0]"},
		{"over the hire's report", "handover: {reports: [../out/r.md], welcome: {sheets: [../out/r.md]}}\n", "is also written by"},
		{"not a sheet format", "handover: {welcome: {sheets: [../out/w.txt]}}\n", "a welcome sheet is .md or .html"},
		{"no sheets", "handover: {welcome: {first_login: hi}}\n", "handover.welcome.sheets: is required"},
		{"unknown channel", "handover: {welcome: {sheets: [../out/w.md], password: email}}\n", "must be sheet"},
		{"password without a file", "account: {directory: corp, password: {deliver: terminal}}\nhandover: {welcome: {sheets: [../out/w.md], password: sheet}}\n",
			"account.password.deliver must be file:PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReachFixture(t, welcomeInventory)
			_, err := f.build(nil, f.playbook("a.yaml", "A1", tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
