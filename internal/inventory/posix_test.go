package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An Active Directory asks for POSIX attributes with posix.enabled; its
// other posix settings without it are an error (they would do nothing),
// and the plan's directory says whether its accounts carry them.
func TestADPosix(t *testing.T) {
	const ad = "directories:\n  corp-ad:\n    kind: active-directory\n    urls: [ldaps://dc1.corp.example.test:636]\n" +
		"    base_dn: DC=corp,DC=example,DC=test\n    users_ou: OU=Staff,DC=corp,DC=example,DC=test\n    domain: corp.example.test\n" +
		"    bind_dn: CN=Administrator,CN=Users,DC=corp,DC=example,DC=test\n    bind_password: env:AD_PW\n"
	for _, tt := range []struct {
		name, posix string
		posixDir    bool
		err         string
	}{
		{"none", "", false, ""},
		{"enabled", "    posix: {enabled: true, uid_min: 20000, gid_number: 10000}\n", true, ""},
		{"not enabled", "    posix: {uid_min: 20000}\n", false, "directories.corp-ad.posix: sets POSIX attributes of Active Directory accounts only with posix.enabled: true"},
		{"negative", "    posix: {enabled: true, uid_min: -1}\n", false, "uid_min and gid_number must be above 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "inv.yaml")
			if err := os.WriteFile(p, []byte(ad+tt.posix), 0o644); err != nil {
				t.Fatal(err)
			}
			inv, err := Load(p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, err := inv.Directory("corp-ad")
			if err != nil {
				t.Fatal(err)
			}
			if d.Posix != tt.posixDir {
				t.Errorf("Posix = %v, want %v", d.Posix, tt.posixDir)
			}
		})
	}
}
