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
			pb := f.playbook("a.yaml", "A1", tt.body+"machine: {host: ws1, software: [acme-chat, plain-tool], printers: [Solo], default_printer: Solo}\nhandover:\n"+welcome)
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
			if len(w.Printers) != 1 || w.Printers[0] != (plan.WelcomeItem{Step: "A1:printer:Solo", Display: "Solo", Detail: "2nd floor, room 2.14; your default printer"}) {
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

// A Windows hire's sheet: the Windows first-login text, the printer as the
// share it connects, software by catalogue description.
func TestWelcomeWindows(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/valid/wendy-windows.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pbFile := filepath.Join(dir, "wendy.yaml")
	body := strings.Replace(string(b), "file:secrets/E3001.pw", "file:out/E3001.pw", 1) + "handover:\n  welcome: {sheets: [out/wendy.html]}\n"
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
	p, err := Build([]*playbook.Playbook{pb}, inv, Options{ProfileDirs: []string{"testdata/profiles"}, Write: []string{filepath.Join(dir, "out")}})
	if err != nil {
		t.Fatal(err)
	}
	w := p.Hires[0].Handover.Welcome
	if w == nil || w.OS != "windows" || w.FirstLogin != defaultFirstLogin["windows"] {
		t.Fatalf("welcome %+v, want the Windows default first-login text", w)
	}
	if len(w.Printers) != 1 || !strings.HasPrefix(w.Printers[0].Display, `\\`) || w.Printers[0].Detail != "make it your default printer when you first sign in" {
		t.Errorf("printers %+v, want the share, to be made the default by the hire", w.Printers)
	}
	if len(w.Software) != 2 || w.Software[0].Step != "E3001:win-software:chat-win" {
		t.Errorf("software %+v", w.Software)
	}
	for _, s := range w.Software {
		if e := inv.Software[strings.TrimPrefix(s.Step, "E3001:win-software:")]; e.Description != "" && s.Display != e.Description {
			t.Errorf("%s shows %q, want the catalogue's %q", s.Step, s.Display, e.Description)
		}
	}
}
