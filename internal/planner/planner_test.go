package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"

	"onboard/internal/golden"
	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

func loadInv(t *testing.T) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Load("testdata/inventory")
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	return inv
}

// build loads playbooks and plans them, as the CLI does.
func build(t *testing.T, files ...string) (*plan.Plan, error) {
	t.Helper()
	inv := loadInv(t)
	var errs *multierror.Error
	var pbs []*playbook.Playbook
	for _, f := range files {
		pb, err := playbook.Load(f)
		errs = multierror.Append(errs, err)
		if pb != nil {
			pbs = append(pbs, pb)
		}
	}
	p, err := Build(pbs, inv, Options{ProfileDirs: []string{"testdata/profiles"}, Now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)})
	errs = multierror.Append(errs, err)
	if errs.ErrorOrNil() != nil {
		errs.ErrorFormat = strictyaml.ListFormat
		return nil, errs
	}
	return p, nil
}

// The golden plans show the merge of profile and playbook, the templates
// expanded, the hosts resolved and the steps ordered.
func TestGoldenPlans(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			p, err := build(t, f)
			if err != nil {
				t.Fatalf("valid playbook rejected: %v", err)
			}
			b, _ := json.MarshalIndent(p, "", "  ")
			// Absolute paths of the checkout vary: make them relative.
			wd, _ := os.Getwd()
			b = bytes.ReplaceAll(b, []byte(wd), []byte("$PWD"))
			golden.Assert(t, filepath.Join("testdata", "plans", name+".json"), append(b, '\n'))
		})
	}
}

func TestPlanContents(t *testing.T) {
	p, err := build(t, "testdata/valid/ada.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := p.Hires[0]
	if h.Username != "alovelace" {
		t.Errorf("username = %q", h.Username)
	}
	wantSoftware := []string{"vpn-client", "chat", "ide", "git-tools"}
	if strings.Join(h.Software, ",") != strings.Join(wantSoftware, ",") {
		t.Errorf("software = %v, want %v", h.Software, wantSoftware)
	}
	if strings.Join(h.Groups, ",") != "engineering,vpn-users,data-science" {
		t.Errorf("groups = %v", h.Groups)
	}
	file := p.Step("E1042:file:/home/alovelace/.welcome")
	if file == nil || file.File.Content != "Hello Ada, costs ${HOME}\n" {
		t.Fatalf("file step = %+v", file)
	}
	lobby := p.Step("E1042:printer:lobby")
	if lobby == nil || !lobby.Printer.Default {
		t.Errorf("lobby should be the default printer: %+v", lobby)
	}
	if office := p.Step("E1042:printer:office-2f"); office == nil || office.Printer.Default {
		t.Errorf("office-2f should be mapped but not default: %+v", office)
	}
	check := p.Step("E1042:check:welcome")
	if len(check.DependsOn) != 8 {
		t.Errorf("check depends on %d steps, want all 8 machine steps: %v", len(check.DependsOn), check.DependsOn)
	}
	cmd := p.Step("E1042:command:workspace")
	for _, d := range []string{"E1042:package:ide", "E1042:file:/home/alovelace/.welcome"} {
		if !contains(cmd.DependsOn, d) {
			t.Errorf("command should depend on %s: %v", d, cmd.DependsOn)
		}
	}
	host := p.Hosts["ws1"]
	wd, _ := os.Getwd()
	if host.Credential != "file:"+filepath.Join(wd, "testdata/inventory/keys/id_ed25519") {
		t.Errorf("relative credential path not made absolute: %s", host.Credential)
	}
	if host.User != "onboard" || host.Become != "sudo" || host.Port != 22 || host.PackageManager != "apt" {
		t.Errorf("group defaults not applied: %+v", host)
	}
}

func TestDefaultUsername(t *testing.T) {
	tests := []struct{ given, surname, want string }{
		{"Ada", "Lovelace", "alovelace"},
		{"José", "O'Brien-Łukasiewicz", "jobrien-lukasiewicz"},
		{"Anne-Marie", "d'Arc", "adarc"},
		{"Øystein", "Strøm", "ostrom"},
		{"Björn", "Þórsson Gießen", "bthorssongiessen"},
		{"Maximiliana", "Wolfeschlegelsteinhausenbergerdorff", "mwolfeschlegelsteinh"},
	}
	for _, tt := range tests {
		got := DefaultUsername(playbook.Person{GivenName: tt.given, Surname: tt.surname})
		if got != tt.want {
			t.Errorf("DefaultUsername(%s %s) = %q, want %q", tt.given, tt.surname, got, tt.want)
		}
	}
}

// Every invalid playbook's errors are reported together, each with
// file:line:column and the field, as the golden files show.
func TestInvalidPlaybooks(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no invalid playbooks")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := build(t, f)
			if err == nil {
				t.Fatal("invalid playbook accepted")
			}
			msg := err.Error()
			for _, secretish := range []string{"hunter2", "Sup3rS3cretPassw0rd"} {
				if strings.Contains(msg, secretish) {
					t.Errorf("error echoes a credential written inline: %s", msg)
				}
			}
			golden.Assert(t, filepath.Join("testdata", "invalid", name+".golden"), []byte(msg+"\n"))
		})
	}
}

func TestDuplicateHire(t *testing.T) {
	_, err := build(t, "testdata/valid/ada.yaml", "testdata/valid/ada.yaml")
	if err == nil || !strings.Contains(err.Error(), "one playbook per hire") {
		t.Fatalf("err = %v", err)
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"person.given_name": "José", "person.surname": "Łukasiewicz"}
	tests := []struct{ in, want, err string }{
		{"${person.given_name}", "José", ""},
		{"${person.given_name|first|lower}${person.surname|ascii|lower}", "jlukasiewicz", ""},
		{"$${person.given_name}", "${person.given_name}", ""},
		{"no template", "no template", ""},
		{"${person.nope}", "", "unknown name"},
		{"${person.given_name|shout}", "", "unknown filter"},
		{"${person.given_name", "", "not closed"},
	}
	for _, tt := range tests {
		got, err := playbook.Expand(tt.in, vars)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Expand(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestConflictsAcrossPlaybooks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	person := func(id string) string {
		return "person: {employee_id: " + id + ", given_name: A, surname: B, start_date: 2026-12-01}\n"
	}
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"same inline name, other address", []string{
			write("a1.yaml", person("A1")+"machine: {host: laptop, address: 192.0.2.1, os: linux}\n"),
			write("a2.yaml", person("A2")+"machine: {host: laptop, address: 192.0.2.2, os: linux}\n"),
		}, "host laptop is described differently"},
		{"one file path twice", []string{
			write("b.yaml", person("B1")+"machine:\n  host: ws1\n  files:\n    - {path: /etc/motd, content: a}\n    - {path: /etc/motd, content: b}\n"),
		}, "is planned twice"},
		{"two hires write one file differently", []string{
			write("c1.yaml", person("C1")+"machine: {host: ws1, files: [{path: /etc/motd, content: a}]}\n"),
			write("c2.yaml", person("C2")+"machine: {host: ws1, files: [{path: /etc/motd, content: b}]}\n"),
		}, "both write /etc/motd on ws1, differently"},
		{"two default printers on one host", []string{
			write("d1.yaml", person("D1")+"machine: {host: ws1, printers: [lobby], default_printer: lobby}\n"),
			write("d2.yaml", person("D2")+"machine: {host: ws1, printers: [office-2f], default_printer: office-2f}\n"),
		}, "want different default printers on ws1"},
		{"two hires, one password file", []string{
			write("g1.yaml", person("G1")+"account: {directory: corp-ldap, password: {deliver: 'file:pw/new.pw'}}\n"),
			write("g2.yaml", person("G2")+"account: {directory: corp-ldap, password: {deliver: 'file:pw/new.pw'}}\n"),
		}, "deliver their initial passwords to the same file"},
		{"checks without a machine", []string{
			write("e.yaml", person("E1")+"checks: [{name: x, command: {run: 'false'}}]\n"),
		}, "machine.host: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(t, tt.files...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Two hires on one host wanting the same thing is fine.
	same := write("f1.yaml", person("F1")+"machine: {host: ws1, files: [{path: /etc/motd, content: a}]}\n")
	same2 := write("f2.yaml", person("F2")+"machine: {host: ws1, files: [{path: /etc/motd, content: a}]}\n")
	if _, err := build(t, same, same2); err != nil {
		t.Errorf("identical wishes refused: %v", err)
	}
}

func TestSameNameInOneBatch(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i, id := range []string{"S1", "S2", "S3"} {
		p := filepath.Join(dir, fmt.Sprintf("s%d.yaml", i))
		body := "person: {employee_id: " + id + ", given_name: John, surname: Smith, start_date: 2026-12-01}\n" +
			"account: {directory: corp-ldap, password: {deliver: terminal}}\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	p, err := build(t, files...)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range p.Hires {
		got = append(got, h.Username)
	}
	// corp-ldap's naming policy is given.surname, at most 16 characters.
	if strings.Join(got, ",") != "john.smith,john.smith2,john.smith3" {
		t.Errorf("usernames = %v", got)
	}
	// Two hires naming the same account explicitly are refused.
	for i := range files {
		b, _ := os.ReadFile(files[i])
		os.WriteFile(files[i], bytes.Replace(b, []byte("directory: corp-ldap,"), []byte("directory: corp-ldap, username: jsmith,"), 1), 0o644)
	}
	if _, err := build(t, files[0], files[1]); err == nil || !strings.Contains(err.Error(), "both want the account jsmith") {
		t.Errorf("err = %v", err)
	}
}

// A login check signs in as the hire's account by default, its bind runs
// against the account's directory; without an account it is refused at
// the check's field.
func TestLoginCheckPlan(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	person := "person: {employee_id: L1, given_name: Ada, surname: Lovelace, start_date: 2026-12-01}\n"
	p, err := build(t, write("l.yaml", person+"account: {directory: corp-ldap, password: {deliver: terminal}}\n"+
		"machine: {host: ws1}\nchecks: [{name: sign-in, login: {}}, {name: here, login: {user: root, bind: false}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range p.Steps {
		if s.Check != nil && s.Check.Login != nil {
			got[s.Check.Name] = fmt.Sprintf("%s@%s bind=%v ws=%v", s.Check.Login.User, s.Directory, s.Check.Login.Bind, s.Check.Login.Workstation)
		}
	}
	want := map[string]string{"sign-in": "ada.lovelace@corp-ldap bind=true ws=true", "here": "root@ bind=false ws=true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("login checks = %v, want %v", got, want)
	}
	_, err = build(t, write("n.yaml", person+"machine: {host: ws1}\nchecks: [{name: sign-in, login: {user: ada}}]\n"))
	if err == nil || !strings.Contains(err.Error(), "n.yaml:3:") || !strings.Contains(err.Error(), "checks[0].login: login check: a bind as the hire needs the hire's directory account") {
		t.Errorf("err = %v", err)
	}
	// A join with domain logins names the hire as the user SSSD must resolve.
	p, err = build(t, write("j.yaml", person+"account: {directory: corp-ad, password: {deliver: terminal}}\n"+
		"machine: {host: ws1, domain_join: {logins: sssd}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	joins := 0
	for _, s := range p.Steps {
		if s.Join != nil {
			joins++
		}
		if s.Join != nil && (s.Join.Logins != "sssd" || s.Join.User != p.Hires[0].Username || s.Join.User == "") {
			t.Errorf("join = %+v, want logins sssd for %s", s.Join, p.Hires[0].Username)
		}
	}
	if joins != 1 {
		t.Errorf("%d join steps, want 1", joins)
	}
}
