package planner

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"

	"onboard/internal/golden"
	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// reachFixture is a technician's folder: an inventory with a policy for
// playbooks, a folder of playbooks, an allowed output folder, and files a
// playbook must not reach.
type reachFixture struct {
	t   *testing.T
	dir string
}

const reachInventory = `groups:
  all:
    defaults:
      credential: env:ONBOARD_TECH_KEY
      become_password: env:ONBOARD_TECH_SUDO
      known_hosts: known_hosts
hosts:
  ws1:
    address: 10.213.9.11
    os: linux
playbooks:
  inline_machines:
    - addresses: [192.0.2.0/24, "*.laptops.test"]
      credentials: [laptop-key]
      known_hosts: [laptops_known_hosts]
    - addresses: [198.51.100.7]
      credentials: [kiosk-key]
      playbook_host_keys: true
  credentials:
    laptop-key: file:keys/laptop
    kiosk-key: env:KIOSK_KEY
    other-key: file:../secret/id_ed25519
  write: [../out]
`

const reachPerson = "person: {employee_id: %ID%, given_name: Ann, surname: Lee, start_date: 2026-12-01}\n"

func newReachFixture(t *testing.T, inv string) *reachFixture {
	t.Helper()
	f := &reachFixture{t: t, dir: t.TempDir()}
	f.write("inventory/inv.yaml", inv)
	f.write("playbooks/motd.txt", "Welcome\n")
	f.write("secret/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\n")
	f.write("out/.keep", "")
	return f
}

func (f *reachFixture) write(name, body string) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *reachFixture) playbook(name, id, body string) string {
	return f.write("playbooks/"+name, strings.ReplaceAll(reachPerson, "%ID%", id)+body)
}

// build plans the playbooks against the fixture's inventory, with the
// command line's --allow-write folders.
func (f *reachFixture) build(write []string, files ...string) (*plan.Plan, error) {
	f.t.Helper()
	inv, err := inventory.Load(filepath.Join(f.dir, "inventory"))
	if err != nil {
		f.t.Fatalf("inventory: %v", err)
	}
	var errs *multierror.Error
	var pbs []*playbook.Playbook
	for _, file := range files {
		pb, err := playbook.Load(file)
		errs = multierror.Append(errs, err)
		if pb != nil {
			pbs = append(pbs, pb)
		}
	}
	p, err := Build(pbs, inv, Options{ProfileDirs: []string{"testdata/profiles"}, Write: write, Now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)})
	errs = multierror.Append(errs, err)
	if errs.ErrorOrNil() != nil {
		errs.ErrorFormat = strictyaml.ListFormat
		return p, errs
	}
	return p, nil
}

// Every way a playbook could reach past what the inventory allows is
// refused when the plan is made, at the field that asked, as the golden
// file shows.
func TestReachRefusals(t *testing.T) {
	outside := t.TempDir() // a folder nobody allowed
	tests := []struct {
		name  string
		setup func(f *reachFixture) []string // playbook files
		write []string
	}{
		{"inline machine without a policy", func(f *reachFixture) []string {
			f.write("inventory/inv.yaml", "hosts:\n  ws1: {address: 10.213.9.11, os: linux}\n")
			return []string{f.playbook("a.yaml", "A1", "machine: {host: laptop, address: 192.0.2.10, os: linux}\n")}
		}, nil},
		{"inline address outside the allowed ranges", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine: {host: laptop, address: 203.0.113.66, os: linux, credential: laptop-key}\n")}
		}, nil},
		{"a name never matches a range", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine: {host: laptop, address: evil.example.test, os: linux}\n")}
		}, nil},
		{"env reference in the playbook", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine: {host: laptop, address: 192.0.2.10, os: linux, credential: 'env:HOME'}\n")}
		}, nil},
		{"file reference in the playbook", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine: {host: laptop, address: 192.0.2.10, os: linux, auth: password, credential: 'file:/root/.ssh/id_ed25519', become_password: 'file:../secret/id_ed25519'}\n")}
		}, nil},
		{"credential the rule does not list", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine: {host: laptop, address: 192.0.2.10, os: linux, credential: kiosk-key}\n")}
		}, nil},
		{"credential the inventory does not define", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine: {host: laptop, address: 192.0.2.10, os: linux, credential: hunter2}\n")}
		}, nil},
		{"known_hosts from the playbook", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine: {host: laptop, address: 192.0.2.10, os: linux, credential: laptop-key, known_hosts: [/etc/passwd]}\n")}
		}, nil},
		{"host key pinned where the rule does not allow it", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine: {host: laptop, address: 192.0.2.10, os: linux, host_key: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOnboardTestKeyOnboardTestKeyOnboardTest']}\n")}
		}, nil},
		{"file source outside by ..", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine:\n  host: ws1\n  files: [{path: /tmp/k, source: ../secret/id_ed25519}]\n")}
		}, nil},
		{"file source absolute", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "machine:\n  host: ws1\n  files: [{path: /tmp/k, source: "+filepath.Join(f.dir, "secret/id_ed25519")+"}]\n")}
		}, nil},
		{"file source through a symlink out", func(f *reachFixture) []string {
			if err := os.Symlink(filepath.Join(f.dir, "secret"), filepath.Join(f.dir, "playbooks", "keys")); err != nil {
				t.Fatal(err)
			}
			return []string{f.playbook("a.yaml", "A1", "machine:\n  host: ws1\n  files: [{path: /tmp/k, source: keys/id_ed25519}]\n")}
		}, nil},
		{"file source in a folder playbooks write to", func(f *reachFixture) []string {
			f.write("playbooks/pw/E9.pw", "another hire's password\n")
			return []string{f.playbook("a.yaml", "A1", "machine:\n  host: ws1\n  files: [{path: /tmp/k, source: pw/E9.pw}]\n")}
		}, []string{"playbooks/pw"}},
		{"file source that is not a regular file", func(f *reachFixture) []string {
			// A fifo would block a plain read until someone writes to it.
			if err := syscall.Mkfifo(filepath.Join(f.dir, "playbooks", "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{f.playbook("a.yaml", "A1", "machine:\n  host: ws1\n  files: [{path: /tmp/k, source: fifo}]\n")}
		}, nil},
		{"file source in the inventory's folder", func(f *reachFixture) []string {
			// A playbook beside the inventory folder: its own folder holds it.
			return []string{f.write("a.yaml", strings.ReplaceAll(reachPerson, "%ID%", "A1")+"machine:\n  host: ws1\n  files: [{path: /tmp/k, source: inventory/inv.yaml}]\n")}
		}, nil},
		{"file source the inventory names as a secret", func(f *reachFixture) []string {
			return []string{f.write("a.yaml", strings.ReplaceAll(reachPerson, "%ID%", "A1")+"machine:\n  host: ws1\n  files: [{path: /tmp/k, source: secret/id_ed25519}]\n")}
		}, nil},
		{"no folder to write in", func(f *reachFixture) []string {
			f.write("inventory/inv.yaml", "hosts:\n  ws1: {address: 10.213.9.11, os: linux}\n")
			return []string{f.playbook("a.yaml", "A1", "handover: {reports: [a.html]}\n")}
		}, nil},
		{"report outside by ..", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "handover: {reports: [../out/ok.md, ../inventory/inv.md]}\n")}
		}, nil},
		{"report absolute outside", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "handover: {reports: ["+filepath.Join(outside, "x.html")+"]}\n")}
		}, nil},
		{"report through a symlink out", func(f *reachFixture) []string {
			if err := os.Symlink(outside, filepath.Join(f.dir, "out", "link")); err != nil {
				t.Fatal(err)
			}
			return []string{f.playbook("a.yaml", "A1", "handover: {reports: [../out/link/x.html]}\n")}
		}, nil},
		{"delivery outside", func(f *reachFixture) []string {
			return []string{f.playbook("a.yaml", "A1", "account: {directory: corp, password: {deliver: 'file:/etc/cron.d/x'}}\n")}
		}, nil},
		{"delivery leading out by a template", func(f *reachFixture) []string {
			return []string{f.write("playbooks/a.yaml", "person: {employee_id: A1, given_name: Ann, surname: ../inventory/x, start_date: 2026-12-01}\n"+
				"account: {directory: corp, username: alee, password: {deliver: 'file:../out/${person.surname}.pw'}}\n")}
		}, nil},
		{"two hires, one password file by two names", func(f *reachFixture) []string {
			if err := os.Symlink(filepath.Join(f.dir, "out"), filepath.Join(f.dir, "out", "again")); err != nil {
				t.Fatal(err)
			}
			return []string{
				f.playbook("a.yaml", "A1", "account: {directory: corp, username: alee, password: {deliver: 'file:../out/pw.txt'}}\n"),
				f.playbook("b.yaml", "B1", "account: {directory: corp, username: blee, password: {deliver: 'file:../out/again/pw.txt'}}\n"),
			}
		}, nil},
		{"a report over a password file", func(f *reachFixture) []string {
			return []string{
				f.playbook("a.yaml", "A1", "account: {directory: corp, username: alee, password: {deliver: 'file:../out/pw.txt'}}\n"),
				f.playbook("b.yaml", "B1", "handover: {reports: [../out/pw.txt]}\n"),
			}
		}, nil},
	}
	var got strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReachFixture(t, reachInventory+directoryInventory)
			files := tt.setup(f)
			var write []string
			for _, w := range tt.write {
				write = append(write, filepath.Join(f.dir, w))
			}
			_, err := f.build(write, files...)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := strings.ReplaceAll(err.Error(), f.dir, "$DIR")
			msg = strings.ReplaceAll(msg, outside, "$OUTSIDE")
			for _, s := range []string{"hunter2", "BEGIN OPENSSH"} {
				if strings.Contains(msg, s) {
					t.Errorf("the error shows %q", s)
				}
			}
			got.WriteString("== " + tt.name + "\n" + msg + "\n")
		})
	}
	golden.Assert(t, "testdata/reach.golden", []byte(got.String()))
}

const directoryInventory = `directories:
  corp:
    kind: openldap
    urls: [ldaps://ldap.test]
    base_dn: dc=test
    users_ou: ou=people,dc=test
    bind_dn: cn=admin,dc=test
    bind_password: env:LDAP_PW
`

// What the policy allows is planned, and the group all's secrets never
// reach an inline machine: only the credential the playbook names from
// the inventory does.
func TestReachAllowed(t *testing.T) {
	f := newReachFixture(t, reachInventory+directoryInventory)
	a := f.playbook("a.yaml", "A1", `account: {directory: corp, username: alee, password: {deliver: 'file:../out/A1.pw'}}
machine:
  host: laptop-a
  address: 192.0.2.10
  os: linux
  credential: laptop-key
  files: [{path: /etc/motd, source: motd.txt}]
handover: {reports: [../out/A1.html]}
`)
	b := f.playbook("b.yaml", "B1", "machine: {host: laptop-b, address: b.laptops.test, os: linux}\n")
	c := f.playbook("c.yaml", "C1", "machine: {host: kiosk, address: 198.51.100.7, os: linux, credential: kiosk-key, host_key: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOnboardTestKeyOnboardTestKeyOnboardTest']}\n")
	p, err := f.build(nil, a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := filepath.EvalSymlinks(filepath.Join(f.dir, "out"))
	la := p.Hosts["laptop-a"]
	if la.Credential != "file:"+filepath.Join(f.dir, "inventory", "keys", "laptop") || la.Auth != "key" {
		t.Errorf("laptop-a: credential %q auth %q, want the inventory's laptop-key", la.Credential, la.Auth)
	}
	if strings.Join(la.KnownHosts, ",") != filepath.Join(f.dir, "inventory", "laptops_known_hosts") {
		t.Errorf("laptop-a: known_hosts %v, want the rule's", la.KnownHosts)
	}
	lb := p.Hosts["laptop-b"]
	if lb.Credential != "" || lb.BecomePassword != "" || lb.Auth != "agent" {
		t.Errorf("laptop-b has the group all's secrets: credential %q, become_password %q, auth %q", lb.Credential, lb.BecomePassword, lb.Auth)
	}
	if k := p.Hosts["kiosk"]; k.Credential != "env:KIOSK_KEY" || len(k.HostKeys) != 1 {
		t.Errorf("kiosk: %+v", k)
	}
	if ws := p.Step("A1:file:/etc/motd"); ws == nil || ws.File.Content != "Welcome\n" {
		t.Errorf("file source: %+v", ws)
	}
	act := p.Step("A1:activate:alee")
	if act.Activate.Deliver != "file:"+filepath.Join(out, "A1.pw") || act.Activate.DeliverRoot != out {
		t.Errorf("delivery %q beneath %q", act.Activate.Deliver, act.Activate.DeliverRoot)
	}
	if r := p.Hires[0].Handover.Reports; len(r) != 1 || r[0] != filepath.Join(out, "A1.html") {
		t.Errorf("reports %v", r)
	}
	if strings.Join(p.Writable, ",") != out {
		t.Errorf("writable %v", p.Writable)
	}
	// The command line's --allow-write adds a folder.
	d := f.playbook("d.yaml", "D1", "handover: {reports: [elsewhere/D1.md]}\n")
	if _, err := f.build(nil, d); err == nil {
		t.Errorf("a report outside the inventory's folders was accepted")
	}
	if _, err := f.build([]string{filepath.Join(f.dir, "playbooks", "elsewhere")}, d); err != nil {
		t.Errorf("--allow-write: %v", err)
	}
}

// Profiles are found beside the playbook, then in the inventory's folders,
// and an unknown one names every folder it was looked for in.
func TestProfileLookupOrder(t *testing.T) {
	// Outside the inventory folder: every YAML file inside it is inventory.
	f := newReachFixture(t, reachInventory+"  profiles: [../team-profiles]\n")
	f.write("team-profiles/ops.yaml", "software: [ops-tool]\n")
	f.write("profiles/desk.yaml", "description: beside the inventory folder\n")
	f.write("playbooks/profiles/desk.yaml", "description: beside the playbook\n")
	inv, err := inventory.Load(filepath.Join(f.dir, "inventory"))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := playbook.Load(f.playbook("a.yaml", "A1", "profile: desk\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{inv: inv, profiles: map[string]*playbook.Profile{}}
	pr := b.profile(pb)
	if pr == nil || pr.Description != "beside the playbook" {
		t.Errorf("desk: %+v, %v; want the playbook's own profiles/ first", pr, b.errs)
	}
	pb.Profile = "ops"
	if pr := b.profile(pb); pr == nil || len(pr.Software) != 1 {
		t.Errorf("ops (the inventory's playbooks.profiles): %+v, %v", pr, b.errs)
	}
	os.Remove(filepath.Join(f.dir, "playbooks/profiles/desk.yaml"))
	b.profiles = map[string]*playbook.Profile{}
	pb.Profile = "desk"
	if pr := b.profile(pb); pr == nil || pr.Description != "beside the inventory folder" {
		t.Errorf("desk without the playbook's: %+v, %v; want profiles/ beside the inventory", pr, b.errs)
	}
	pb.Profile = "nope"
	b.profile(pb)
	msg := strings.ReplaceAll(b.errs.Error(), f.dir, "$DIR")
	var dirs []string
	for _, d := range []string{"$DIR/playbooks/profiles", "$DIR/team-profiles", "$DIR/profiles", "playbooks/profiles"} {
		if !strings.Contains(msg, d) {
			t.Errorf("the error does not name %s: %s", d, msg)
		}
		dirs = append(dirs, d)
	}
	// In that order.
	idx := func(s string) int { return strings.Index(msg, s+",") }
	order := []int{idx(dirs[0]), idx(dirs[1]), idx(dirs[2])}
	if !sort.IntsAreSorted(order) {
		t.Errorf("looked in the wrong order: %s", msg)
	}
}
