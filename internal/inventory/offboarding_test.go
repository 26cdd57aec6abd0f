package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// legal_holds and offboarding: validated with positions, merged across
// files (one hold an employee, one offboarding section).
func TestOffboarding(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files []string
		err   string
	}{
		{name: "valid", files: []string{"legal_holds:\n  - {employee_id: E1, reason: matter 17, since: 2026-11-20}\n" +
			"offboarding:\n  archive_home: /srv/archive/${account.username}-${offboard.date}.tar.gz\n" +
			"  hooks:\n    - name: wipe\n      run: wipe \"${account.username}\"\n      creates: /var/lib/wiped-${person.employee_id}\n"}},
		{name: "bad date", files: []string{"legal_holds:\n  - {employee_id: E1, reason: r, since: 20.11.2026}\n"},
			err: `inv0.yaml:2:41: legal_holds[0].since: must be a date YYYY-MM-DD, got "20.11.2026"`},
		{name: "missing reason", files: []string{"legal_holds:\n  - {employee_id: E1, since: 2026-11-20}\n"},
			err: "legal_holds[0].reason"},
		{name: "held twice", files: []string{"legal_holds:\n  - {employee_id: E1, reason: a, since: 2026-11-20}\n",
			"legal_holds:\n  - {employee_id: E1, reason: b, since: 2026-11-21}\n"},
			err: "inv1.yaml:2:19: legal_holds[0].employee_id: E1 is also held at "},
		{name: "archive relative", files: []string{"offboarding:\n  archive_home: archive/${account.username}.tar.gz\n"},
			err: `offboarding.archive_home: must be a clean absolute path ending in .tar.gz once expanded, got "archive/placeholder.tar.gz"`},
		{name: "unknown template", files: []string{"offboarding:\n  archive_home: /a/${account.nickname}.tar.gz\n"},
			err: "offboarding.archive_home: "},
		{name: "hook not idempotent", files: []string{"offboarding:\n  hooks:\n    - {name: wipe, run: wipe}\n"},
			err: "offboarding.hooks[0]: give creates or unless"},
		{name: "hook twice", files: []string{"offboarding:\n  hooks:\n    - {name: wipe, run: wipe, unless: 'true'}\n    - {name: wipe, run: wipe, unless: 'true'}\n"},
			err: `offboarding.hooks[1].name: hook "wipe" is defined twice`},
		{name: "two sections", files: []string{"offboarding: {archive_home: /a/x.tar.gz}\n", "offboarding: {archive_home: /b/x.tar.gz}\n"},
			err: "offboarding: is also defined at "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, f := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, "inv"+string(rune('0'+i))+".yaml"), []byte(f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			inv, err := Load(dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h, where := inv.LegalHold("E1")
			if h == nil || h.Reason != "matter 17" || !strings.HasSuffix(where, "inv0.yaml:2:5") {
				t.Errorf("legal hold of E1 = %+v at %q", h, where)
			}
			if h, _ := inv.LegalHold("E2"); h != nil {
				t.Errorf("E2 is held: %+v", h)
			}
			if o := inv.Offboarding(); o == nil || len(o.Hooks) != 1 || o.Hooks[0].Creates != "/var/lib/wiped-${person.employee_id}" {
				t.Errorf("offboarding = %+v", o)
			}
		})
	}
}
