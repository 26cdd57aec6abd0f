package main

// The exploit of issue 8 §2, closed: a playbook described a machine of its
// own at an address it chose, with the technician's env: or file: secret
// (or the group all's credential), and `onboard plan` alone sent the secret
// there. Here the machine is a real SSH server on 127.0.0.1 (x/crypto/ssh)
// that records every connection and every password and key offered to it.
// It needs no lab, so it also runs under -short.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	xssh "golang.org/x/crypto/ssh"

	"onboard/internal/plan"
	"onboard/internal/report"
	"onboard/internal/result"
)

// trap is an SSH server that refuses every login and remembers what it
// was offered.
type trap struct {
	addr    *net.TCPAddr
	hostKey xssh.PublicKey

	mu        sync.Mutex
	conns     int
	passwords []string
	keys      []string // fingerprints
}

func startTrap(t *testing.T) *trap {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := xssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &trap{addr: ln.Addr().(*net.TCPAddr), hostKey: signer.PublicKey()}
	cfg := &xssh.ServerConfig{
		PasswordCallback: func(_ xssh.ConnMetadata, pw []byte) (*xssh.Permissions, error) {
			tr.mu.Lock()
			tr.passwords = append(tr.passwords, string(pw))
			tr.mu.Unlock()
			return nil, fmt.Errorf("denied")
		},
		PublicKeyCallback: func(_ xssh.ConnMetadata, k xssh.PublicKey) (*xssh.Permissions, error) {
			tr.mu.Lock()
			tr.keys = append(tr.keys, xssh.FingerprintSHA256(k))
			tr.mu.Unlock()
			return nil, fmt.Errorf("denied")
		},
	}
	cfg.AddHostKey(signer)
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tr.mu.Lock()
			tr.conns++
			tr.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if sc, chans, reqs, err := xssh.NewServerConn(c, cfg); err == nil {
					go xssh.DiscardRequests(reqs)
					for ch := range chans {
						ch.Reject(xssh.Prohibited, "no")
					}
					sc.Close()
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return tr
}

func (tr *trap) seen() (conns int, passwords, keys []string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.conns, append([]string(nil), tr.passwords...), append([]string(nil), tr.keys...)
}

// knownHosts writes a known_hosts file that trusts the trap.
func (tr *trap) knownHosts(t *testing.T, dir string) string {
	p := filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s", tr.addr.Port, xssh.MarshalAuthorizedKey(tr.hostKey))
	if err := os.WriteFile(p, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// reachEnv is a technician's workspace without the lab: an inventory
// folder and a playbook folder.
func reachEnv(t *testing.T, inventory string) (dir string, onboard func(args ...string) (int, string)) {
	t.Helper()
	dir = t.TempDir()
	t.Setenv("ONBOARD_JOURNAL", filepath.Join(dir, "journal.db"))
	t.Setenv("SSH_AUTH_SOCK", "")
	if err := os.MkdirAll(filepath.Join(dir, "inventory"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inventory", "inv.yaml"), []byte(inventory), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"-i", filepath.Join(dir, "inventory")}, args...), strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
}

const techPassword = "Technician-S3cret-pw!"

func TestPlaybookCannotSendSecretsToItsOwnAddress(t *testing.T) {
	t.Setenv("ONBOARD_TECH_PW", techPassword)
	tr := startTrap(t)
	secretFile := filepath.Join(t.TempDir(), "tech.pw")
	if err := os.WriteFile(secretFile, []byte(techPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	machine := func(cred string) string {
		return fmt.Sprintf(`person: {employee_id: X1, given_name: Eve, surname: Il, start_date: 2026-12-01}
machine:
  host: trap
  address: 127.0.0.1
  port: %d
  os: linux
  auth: password
  user: root
  credential: %q
  host_key: [%q]
  commands: [{name: c, run: "true", creates: /x}]
`, tr.addr.Port, cred, strings.TrimSpace(string(xssh.MarshalAuthorizedKey(tr.hostKey))))
	}
	noPolicy := "groups:\n  all:\n    defaults: {become: sudo}\n"
	policy := `groups:
  all:
    defaults: {become: sudo}
playbooks:
  inline_machines:
    - addresses: [127.0.0.1]
      credentials: [trap-pw]
  credentials:
    trap-pw: env:ONBOARD_TRAP_PW
`
	tests := []struct {
		name, inventory, cred, want string
	}{
		{"env: without a policy", noPolicy, "env:ONBOARD_TECH_PW", "machine.credential: names a credential the inventory defines"},
		{"file: without a policy", noPolicy, "file:" + secretFile, "machine.credential: names a credential the inventory defines"},
		{"a name without a policy", noPolicy, "trap-pw", "machine.address: the inventory allows no inline machines"},
		{"env: with the address allowed", policy, "env:ONBOARD_TECH_PW", "machine.credential: names a credential the inventory defines"},
		{"file: with the address allowed", policy, "file:" + secretFile, "machine.credential: names a credential the inventory defines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, onboard := reachEnv(t, tt.inventory)
			pb := filepath.Join(dir, "pb.yaml")
			if err := os.WriteFile(pb, []byte(machine(tt.cred)), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"plan", pb}, {"validate", pb}, {pb}} {
				code, out := onboard(args...)
				if code != exitInvalid || !strings.Contains(out, tt.want) {
					t.Errorf("onboard %s: exit %d, want %d with %q:\n%s", args[0], code, exitInvalid, tt.want, out)
				}
				if !strings.Contains(out, "pb.yaml:") {
					t.Errorf("the error has no position:\n%s", out)
				}
			}
			if conns, pws, _ := tr.seen(); conns != 0 || len(pws) != 0 {
				t.Fatalf("the playbook's machine was dialled %d times; passwords offered: %d", conns, len(pws))
			}
		})
	}

	// A control: what the inventory allows does reach the machine (the
	// playbook pins the trap's key, as the exploit did), so the trap would
	// have seen the technician's password had it been sent.
	t.Run("control: the inventory's named credential", func(t *testing.T) {
		t.Setenv("ONBOARD_TRAP_PW", "password-for-the-trap")
		dir, onboard := reachEnv(t, policy)
		pb := filepath.Join(dir, "pb.yaml")
		inv := strings.Replace(policy, "credentials: [trap-pw]", "credentials: [trap-pw]\n      playbook_host_keys: true", 1)
		os.WriteFile(filepath.Join(dir, "inventory", "inv.yaml"), []byte(inv), 0o644)
		os.WriteFile(pb, []byte(machine("trap-pw")), 0o644)
		code, out := onboard("plan", pb)
		conns, pws, _ := tr.seen()
		if conns == 0 || !contains(pws, "password-for-the-trap") {
			t.Fatalf("the allowed credential did not reach the trap (exit %d, %d connections, %d passwords):\n%s", code, conns, len(pws), out)
		}
		if contains(pws, techPassword) {
			t.Errorf("the technician's password reached the trap")
		}
	})
}

// The group all's credential (the technician's) never flows to an inline
// machine, even at an allowed address: it gets only what it names.
func TestGroupCredentialsStayWithInventoryHosts(t *testing.T) {
	t.Setenv("ONBOARD_TECH_PW", techPassword)
	tr := startTrap(t)
	keyDir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	pemBlock, err := xssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(keyDir, "tech_ed25519")
	os.WriteFile(keyFile, pem.EncodeToMemory(pemBlock), 0o600)
	techKey, _ := xssh.NewSignerFromKey(priv)
	dir, onboard := reachEnv(t, "")
	kh := tr.knownHosts(t, dir)
	before := 0
	for _, auth := range []string{"password", "key"} {
		cred := "env:ONBOARD_TECH_PW"
		if auth == "key" {
			cred = "file:" + keyFile
		}
		inv := fmt.Sprintf(`groups:
  all:
    defaults: {auth: %s, credential: %q, become_password: env:ONBOARD_TECH_PW, known_hosts: [%s]}
playbooks:
  inline_machines:
    - addresses: [127.0.0.0/8]
`, auth, cred, kh)
		os.WriteFile(filepath.Join(dir, "inventory", "inv.yaml"), []byte(inv), 0o644)
		pb := filepath.Join(dir, "pb.yaml")
		os.WriteFile(pb, []byte(fmt.Sprintf(`person: {employee_id: X2, given_name: Eve, surname: Il, start_date: 2026-12-01}
machine:
  host: trap
  address: 127.0.0.1
  port: %d
  os: linux
  user: root
  commands: [{name: c, run: "true", creates: /x}]
`, tr.addr.Port)), 0o644)
		code, out := onboard("plan", pb)
		conns, pws, keys := tr.seen()
		// The machine was reached (its key is in the group's known_hosts),
		// so whatever the client had to offer, it offered.
		if conns <= before {
			t.Errorf("auth %s: the plan never connected, so the test proves nothing (exit %d):\n%s", auth, code, out)
		}
		before = conns
		if contains(pws, techPassword) {
			t.Errorf("auth %s: the group all's password reached the playbook's machine", auth)
		}
		if contains(keys, xssh.FingerprintSHA256(techKey.PublicKey())) {
			t.Errorf("auth %s: the group all's key was offered to the playbook's machine", auth)
		}
		if code == 0 {
			t.Errorf("auth %s: the plan logged in somewhere:\n%s", auth, out)
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

// --allow-write on the command line adds a folder playbooks may write in;
// without it (and with no playbooks.write) a report is refused.
func TestAllowWriteFlag(t *testing.T) {
	dir, onboard := reachEnv(t, "groups:\n  all:\n    defaults: {become: sudo}\n")
	pb := filepath.Join(dir, "pb.yaml")
	os.WriteFile(pb, []byte("person: {employee_id: W1, given_name: Wu, surname: Li, start_date: 2026-12-01}\nhandover: {reports: [reports/W1.md]}\n"), 0o644)
	code, out := onboard("validate", pb)
	if code != exitInvalid || !strings.Contains(out, "pb.yaml:2:22: handover.reports[0]: playbooks may write to no folder") {
		t.Errorf("without --allow-write: exit %d:\n%s", code, out)
	}
	code, out = onboard("--allow-write", filepath.Join(dir, "reports"), "validate", pb)
	if code != exitOK {
		t.Errorf("with --allow-write: exit %d:\n%s", code, out)
	}
	code, out = onboard("--allow-write", filepath.Join(dir, "elsewhere"), "validate", pb)
	if code != exitInvalid || !strings.Contains(out, "is outside the allowed folders") {
		t.Errorf("with another folder: exit %d:\n%s", code, out)
	}
}

// Handover reports are written beneath the folder the plan confined them
// to: not through a symlink swapped in since, not over a password file,
// and not outside the plan's folders.
func TestHandoverReportWrites(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	p := &plan.Plan{Writable: []string{dir}}
	h := plan.Hire{ID: "E1", Source: "pb.yaml"}
	res := &result.Run{ID: "r1"}
	os.WriteFile(filepath.Join(dir, "old.md"), []byte("last run's report"), 0o644)
	if err := report.WriteHandover(p, h, filepath.Join(dir, "old.md"), res); err != nil {
		t.Errorf("replacing a report: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "old.md")); string(b) == "last run's report" {
		t.Errorf("the report was not rewritten")
	}
	os.WriteFile(filepath.Join(dir, "E0.txt"), []byte("an earlier hire's password\n"), 0o600)
	if err := report.WriteHandover(p, h, filepath.Join(dir, "E0.txt"), res); err == nil {
		t.Errorf("a report replaced a password file")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "E0.txt")); string(b) != "an earlier hire's password\n" {
		t.Errorf("the password file changed: %q", b)
	}
	os.Symlink(outside, filepath.Join(dir, "swapped"))
	if err := report.WriteHandover(p, h, filepath.Join(dir, "swapped", "r.md"), res); err == nil {
		t.Errorf("a report was written through a symlink out")
	}
	if err := report.WriteHandover(p, h, filepath.Join(outside, "r.md"), res); err == nil {
		t.Errorf("a report was written outside the plan's folders")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside: %v", entries)
	}
}
