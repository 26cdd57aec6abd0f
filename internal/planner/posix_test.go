package planner

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"onboard/internal/playbook"
)

// An Active Directory that asks for POSIX attributes gives the hire's
// account a uidNumber to allocate (from uid_min), a gidNumber, home and
// shell, and the join's SSSD then uses the directory's IDs; one that does
// not keeps neither, and SSSD maps IDs from SIDs.
func TestADPosixPlan(t *testing.T) {
	pbFile := filepath.Join(t.TempDir(), "p.yaml")
	body := "person: {employee_id: P1, given_name: Ada, surname: Lovelace, start_date: 2026-12-01}\n" +
		"account: {directory: corp-ad, password: {deliver: terminal}}\nmachine: {host: ws1, domain_join: {logins: sssd}}\n"
	if err := os.WriteFile(pbFile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		posix bool
	}{{"posix", true}, {"mapped", false}} {
		t.Run(tt.name, func(t *testing.T) {
			inv := loadInv(t)
			d := inv.Directories["corp-ad"]
			d.Posix.Enabled = tt.posix
			if tt.posix {
				d.Posix.UIDMin, d.Posix.Shell = 30000, "/bin/zsh"
			}
			inv.Directories["corp-ad"] = d
			pb, err := playbook.Load(pbFile)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Build([]*playbook.Playbook{pb}, inv, Options{ProfileDirs: []string{"testdata/profiles"}, Now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			if p.Directories["corp-ad"].Posix != tt.posix {
				t.Errorf("directory Posix = %v", p.Directories["corp-ad"].Posix)
			}
			var acct, join bool
			for _, s := range p.Steps {
				if a := s.Account; a != nil {
					acct = true
					want := [4]any{0, 0, "", ""}
					if tt.posix {
						want = [4]any{30000, 10000, "/home/" + a.Username, "/bin/zsh"}
					}
					if got := [4]any{a.UIDMin, a.GIDNumber, a.Home, a.Shell}; got != want {
						t.Errorf("account POSIX fields %v, want %v", got, want)
					}
				}
				if j := s.Join; j != nil {
					join = true
					if j.PosixIDs != tt.posix || j.Logins != "sssd" {
						t.Errorf("join %+v, want PosixIDs %v", j, tt.posix)
					}
				}
			}
			if !acct || !join {
				t.Fatalf("account %v, join %v: steps missing", acct, join)
			}
		})
	}
}
