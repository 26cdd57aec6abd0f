package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeInv(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The playbooks section is decoded as strictly as the rest, every problem
// at its file:line:column and field.
func TestPlaybooksSectionErrors(t *testing.T) {
	dir := writeInv(t, map[string]string{
		"a.yaml": `playbooks:
  inline_machines:
    - addresses: [10.0.0.0/33, "bad name!", 192.0.2.1, "*.ok.test"]
      credentials: [nope, lab]
    - credentials: [lab]
  credentials:
    lab: env:LAB_KEY
    pasted: hunter2hunter2
  wrtie: [out]
`,
		"b.yaml": "playbooks:\n  credentials:\n    lab: file:other\n",
	})
	_, err := Load(dir)
	if err == nil {
		t.Fatal("accepted")
	}
	got := strings.ReplaceAll(err.Error(), dir, "$DIR")
	for _, want := range []string{
		`$DIR/a.yaml:5:7: playbooks.inline_machines[1].addresses: is required`,
		`$DIR/a.yaml:9:3: playbooks.wrtie: unknown field (did you mean "write"?)`,
		`$DIR/b.yaml:3:10: playbooks.credentials.lab: is also defined at $DIR/a.yaml:7:10`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// The cross-reference checks run once the files decode.
	dir = writeInv(t, map[string]string{"a.yaml": `playbooks:
  inline_machines:
    - addresses: [10.0.0.0/33, "bad name!", 192.0.2.1, "*.ok.test", laptop.test]
      credentials: [nope, lab]
  credentials:
    lab: env:LAB_KEY
    pasted: hunter2hunter2
`})
	_, err = Load(dir)
	if err == nil {
		t.Fatal("accepted")
	}
	got = strings.ReplaceAll(err.Error(), dir, "$DIR")
	for _, want := range []string{
		`$DIR/a.yaml:3:19: playbooks.inline_machines[0].addresses[0]: "10.0.0.0/33" is not a CIDR range`,
		`$DIR/a.yaml:3:32: playbooks.inline_machines[0].addresses[1]: "bad name!" is neither an IP address, a CIDR range, a host name nor *.domain`,
		`$DIR/a.yaml:4:21: playbooks.inline_machines[0].credentials[0]: unknown credential "nope": not in playbooks.credentials`,
		`$DIR/a.yaml:7:13: playbooks.credentials.pasted: a credential must be a reference`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "hunter2") {
		t.Errorf("the error echoes a pasted secret:\n%s", got)
	}
	if n := strings.Count(got, "\n  "); n != 4 {
		t.Errorf("%d errors, want 4:\n%s", n, got)
	}
}

func TestAddressRules(t *testing.T) {
	tests := []struct {
		rule, addr string
		want       bool
	}{
		{"192.0.2.0/24", "192.0.2.77", true},
		{"192.0.2.0/24", "192.0.3.1", false},
		{"192.0.2.5", "192.0.2.5", true},
		{"192.0.2.5", "192.0.2.6", false},
		{"laptop.test", "LAPTOP.test", true},
		{"laptop.test", "laptop.test.evil", false},
		{"*.laptops.test", "a.laptops.test", true},
		{"*.laptops.test", "laptops.test", false},
		{"*.laptops.test", "a.evillaptops.test", false},
		{"192.0.2.0/24", "host-in-that-range.test", false}, // names never match ranges
		{"fd00::/8", "fd00::1", true},
	}
	for _, tt := range tests {
		r, err := parseAddressRule(tt.rule)
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		if got := r.matches(tt.addr); got != tt.want {
			t.Errorf("%s matches %s = %v, want %v", tt.rule, tt.addr, got, tt.want)
		}
	}
}
