package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"onboard/internal/connect"
	"onboard/internal/deliver"
	"onboard/internal/engine"
	"onboard/internal/inventory"
	"onboard/internal/lab"
	"onboard/internal/planner"
	"onboard/internal/playbook"
	"onboard/internal/secret"
)

const batch = 200

// BenchmarkAccounts creates a batch of 200 accounts with onboard (create,
// group, password, enable, bind proof, and the handover re-check) and,
// for scale, adds 200 entries of the same shape with ldapadd in one run, on
// the same server. The ratio says what onboard's care costs.
func BenchmarkAccounts(b *testing.B) {
	ctx := context.Background()
	l, err := lab.Start(ctx, lab.Config{Name: "benchd", Subnet: 31, Workstations: 1, OpenLDAP: true, ActiveDirectory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Stop(ctx)
	for _, d := range l.Directories {
		b.Run(d.Name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				onboardRate := onboardAccounts(b, l, d, i)
				ldapaddRate := ldapadd(b, d, i)
				fmt.Printf("bench: %-9s %d accounts: onboard %.1f accounts/s, ldapadd %.1f entries/s, ratio %.2f\n",
					d.Name, batch, onboardRate, ldapaddRate, onboardRate/ldapaddRate)
				b.ReportMetric(onboardRate, "accounts/s")
				b.ReportMetric(ldapaddRate, "ldapadd-entries/s")
			}
		})
	}
}

func onboardAccounts(b *testing.B, l *lab.Lab, d lab.Directory, round int) float64 {
	dir := b.TempDir()
	var pbs []*playbook.Playbook
	group := "sales"
	for i := 0; i < batch; i++ {
		f := filepath.Join(dir, fmt.Sprintf("h%d.yaml", i))
		body := fmt.Sprintf(`person: {employee_id: R%dB%d, given_name: Bench, surname: Hire%dx%d, start_date: 2026-12-01, title: Tester}
account:
  directory: %s
  username: bh%dx%d
  groups: [%s]
  must_change_password: false
  password: {deliver: "file:pw/%d.pw"}
`, round, i, round, i, d.Name, round, i, group, i)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		pb, err := playbook.Load(f)
		if err != nil {
			b.Fatal(err)
		}
		pbs = append(pbs, pb)
	}
	inv, err := inventory.Load(l.InventoryFile)
	if err != nil {
		b.Fatal(err)
	}
	p, err := planner.Build(pbs, inv, planner.Options{})
	if err != nil {
		b.Fatal(err)
	}
	d2 := &connect.Dialer{Secrets: &secret.Resolver{}, Deliver: &deliver.Channel{}}
	e := &engine.Engine{Dialer: d2, Directories: d2, Parallel: 8, Retries: 1}
	start := time.Now()
	r := e.Run(context.Background(), p, engine.Apply)
	wall := time.Since(start)
	for _, s := range r.Steps {
		if !s.Outcome.Done() {
			b.Fatalf("%s: %s %+v", s.ID, s.Outcome, s.Failure)
		}
	}
	return float64(batch) / wall.Seconds()
}

// ldapadd adds entries of the same shape as onboard's, with the password
// in the add (AD accepts unicodePwd over TLS), in one ldapadd run.
func ldapadd(b *testing.B, d lab.Directory, round int) float64 {
	var ldif strings.Builder
	for i := 0; i < batch; i++ {
		name := fmt.Sprintf("la%dx%d", round, i)
		if d.Kind == "active-directory" {
			pw := utf16.Encode([]rune(`"Xy7!` + name + `-Pw"`))
			raw := make([]byte, 0, len(pw)*2)
			for _, c := range pw {
				raw = append(raw, byte(c), byte(c>>8))
			}
			fmt.Fprintf(&ldif, "dn: CN=LA %s,%s\nobjectClass: user\nsAMAccountName: %s\nuserPrincipalName: %s@%s\ngivenName: LA\nsn: %s\n"+
				"displayName: LA %s\ntitle: Tester\nemployeeID: %s\nunicodePwd:: %s\nuserAccountControl: 512\n\n",
				name, d.UsersDN, name, name, d.Domain, name, name, name, base64.StdEncoding.EncodeToString(raw))
		} else {
			fmt.Fprintf(&ldif, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: %s\ncn: LA %s\nsn: %s\n"+
				"givenName: LA\ntitle: Tester\nemployeeNumber: %s\nuidNumber: %d\ngidNumber: 10000\nhomeDirectory: /home/%s\nuserPassword: Xy7!%s-Pw\n\n",
				name, d.UsersDN, name, name, name, name, 50000+round*1000+i, name, name)
		}
	}
	f := filepath.Join(b.TempDir(), "add.ldif")
	if err := os.WriteFile(f, []byte(ldif.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("ldapadd", "-x", "-H", d.URL, "-D", d.BindDN, "-y", d.BindPasswordFile, "-f", f)
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+d.CACertFile)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ldapadd: %v\n%s", err, out)
	}
	return float64(batch) / time.Since(start).Seconds()
}
