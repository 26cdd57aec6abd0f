package checkset_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"onboard/internal/checkset"
	"onboard/internal/inventory"
)

func names(s *checkset.Set) string {
	var ns []string
	for _, c := range s.Checks {
		ns = append(ns, c.Name)
	}
	return strings.Join(ns, ",")
}

const baselineChecks = "firewall-active,security-updates-installed,security-updates-enabled,disk-encryption,screen-lock,ssh-root-password"

func TestBaselineShipped(t *testing.T) {
	c := checkset.New()
	if errs := c.Resolve(); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, ref := range []string{"baseline", "baseline@1"} {
		s, err := c.Get(ref)
		if err != nil {
			t.Fatal(err)
		}
		if s.Ref() != "baseline@1" || names(s) != baselineChecks {
			t.Errorf("%s: got %s with %s", ref, s.Ref(), names(s))
		}
	}
	if _, err := c.Get("baseline@2"); err == nil || err.Error() != "check set baseline is version 1, not 2" {
		t.Errorf("baseline@2: %v", err)
	}
	if _, err := c.Get("baseln"); err == nil || !strings.Contains(err.Error(), `unknown check set "baseln"`) || !strings.Contains(err.Error(), `did you mean "baseline"`) {
		t.Errorf("baseln: %v", err)
	}
}

// load writes an inventory file holding check_sets and loads it.
func load(t *testing.T, sets string) (*inventory.Inventory, string, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "sets.yaml")
	if err := os.WriteFile(f, []byte("check_sets:\n"+sets), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(f)
	return inv, f, err
}

func TestExtends(t *testing.T) {
	inv, _, err := load(t, `
  corp:
    version: 3
    extends: baseline@1
    remove: [screen-lock]
    checks:
      - name: disk-encryption          # overridden: corp laptops use a TPM-bound LUKS volume
        file: {path: /etc/crypttab, contains: [luks]}
      - name: corp-ca
        file: {path: /usr/local/share/ca-certificates/corp.crt}
  corp-strict:
    version: 1
    extends: corp@3
    checks:
      - name: auditd
        service: {name: auditd}
`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := inv.CheckSets.Get("corp")
	if err != nil {
		t.Fatal(err)
	}
	want := "firewall-active,security-updates-installed,security-updates-enabled,disk-encryption,ssh-root-password,corp-ca"
	if s.Ref() != "corp@3" || names(s) != want {
		t.Errorf("corp: %s %s, want corp@3 %s", s.Ref(), names(s), want)
	}
	if s.Checks[3].File == nil || s.Checks[3].Command != nil {
		t.Errorf("disk-encryption was not overridden: %+v", s.Checks[3])
	}
	strict, err := inv.CheckSets.Get("corp-strict@1")
	if err != nil {
		t.Fatal(err)
	}
	if names(strict) != want+",auditd" {
		t.Errorf("corp-strict: %s", names(strict))
	}
}

func TestSetErrors(t *testing.T) {
	for _, tc := range []struct {
		name, sets string
		want       []string // each in the error, with its position
	}{
		{"version mismatch", `
  corp:
    version: 1
    extends: baseline@2
`, []string{`sets.yaml:5:14: check_sets.corp.extends: extends baseline@2, but baseline is version 1: review what changed and pin baseline@1`}},
		{"version unpinned", `
  corp:
    version: 1
    extends: baseline
`, []string{`sets.yaml:5:14: check_sets.corp.extends: must pin the version of the set it extends (baseline@1)`}},
		{"unknown parent", `
  corp:
    version: 1
    extends: baselin@1
`, []string{`sets.yaml:5:14: check_sets.corp.extends: unknown check set "baselin" (did you mean "baseline"?)`}},
		{"remove unknown", `
  corp:
    version: 1
    extends: baseline@1
    remove: [screenlock]
`, []string{`sets.yaml:6:14: check_sets.corp.remove[0]: baseline@1 has no check "screenlock" (did you mean "screen-lock"?)`}},
		{"remove without extends", `
  corp:
    version: 1
    remove: [screen-lock]
`, []string{`sets.yaml:5:13: check_sets.corp.remove: applies only with extends`}},
		{"no version", `
  corp:
    checks: [{name: a, file: {path: /a}}]
`, []string{`sets.yaml:4:5: check_sets.corp.version: is required`}},
		{"cycle", `
  a:
    version: 1
    extends: b@1
  b:
    version: 1
    extends: a@1
`, []string{`sets.yaml:5:14: check_sets.a.extends: the sets it extends lead back to it: a → b → a`, `sets.yaml:8:14: check_sets.b.extends: the sets it extends lead back to it: b → a → b`}},
		{"bad check", `
  corp:
    version: 1
    checks:
      - name: two
        file: {path: /a}
        dns: {name: a.example}
      - name: two
        file: {path: /b}
`, []string{`sets.yaml:6:9: check_sets.corp.checks[0]: needs exactly one of`, `sets.yaml:9:15: check_sets.corp.checks[1].name: "two" is used by another check`}},
		{"bad template", `
  corp:
    version: 1
    checks:
      - name: home
        file: {path: "${account.hom}/.profile"}
`, []string{`sets.yaml:7:22: check_sets.corp.checks[0].file.path: template ${account.hom}: unknown name "account.hom"`}},
		{"shipped name", `
  baseline:
    version: 2
`, []string{`sets.yaml:4:5: check_sets.baseline: check set baseline is also defined at onboard:checkset/baseline.yaml`}},
		{"shipped Windows name", `
  baseline-windows:
    version: 2
`, []string{`sets.yaml:4:5: check_sets.baseline-windows: check set baseline-windows is also defined at onboard:checkset/baseline-windows.yaml`}},
		{"Linux and Windows checks", `
  corp-win:
    version: 1
    extends: baseline-windows@1
    checks:
      - name: corp-ca
        file: {path: /usr/local/share/ca-certificates/corp.crt}
`, []string{`sets.yaml:4:5: check_sets.corp-win: check set corp-win mixes Linux and Windows checks (corp-ca reads Linux tools, bitlocker asks Windows): no host can run it`}},
		{"unknown Windows item", `
  corp-win:
    version: 1
    checks:
      - name: tpm
        windows_security: {item: tpm}
`, []string{`sets.yaml:7:34: check_sets.corp-win.checks[0].windows_security.item: must be one of bitlocker, defender, firewall, pending-reboot, got "tpm"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := load(t, tc.sets)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// The Windows baseline ships beside the Linux one; each set says which
// OS its checks run on, and one of checks both OSes run runs on both.
func TestWindowsBaselineShipped(t *testing.T) {
	inv, _, err := load(t, `
  corp-win:
    version: 1
    extends: baseline-windows@1
    remove: [no-pending-reboot]
    checks:
      - name: spooler
        service: {name: Spooler}
  net:
    version: 1
    checks:
      - name: intranet
        dns: {name: intranet.example.test}
`)
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"baseline-windows@1": "windows: bitlocker,defender-real-time,firewall-profiles,no-pending-reboot",
		"corp-win@1":         "windows: bitlocker,defender-real-time,firewall-profiles,spooler",
		"baseline@1":         "linux: " + baselineChecks,
		"net@1":              ": intranet",
	} {
		s, err := inv.CheckSets.Get(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.OS() + ": " + names(s); got != want {
			t.Errorf("%s: %s, want %s", ref, got, want)
		}
	}
	s, _ := inv.CheckSets.Get("baseline-windows")
	for _, c := range s.Checks {
		if c.WindowsSecurity == nil || c.WindowsSecurity.Item == "" {
			t.Errorf("%s: %+v, want a windows_security check", c.Name, c)
		}
	}
}

// Plans made in parallel (onboard serve) share one catalogue.
func TestGetConcurrently(t *testing.T) {
	c := checkset.New()
	done := make(chan error)
	for range 8 {
		go func() {
			s, err := c.Get("baseline@1")
			if err == nil && len(s.Checks) != 6 {
				err = fmt.Errorf("%d checks", len(s.Checks))
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
