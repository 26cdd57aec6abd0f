package step_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/deliver"
	"onboard/internal/directory"
	"onboard/internal/engine"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// oneDirectory hands the engine the same directory target every run, so
// that the password an activation set in one run is known to the next
// run's checks, as in one invocation.
type oneDirectory struct{ d *step.DirTarget }

func (o oneDirectory) DialDirectory(context.Context, *plan.Directory) (*step.DirTarget, error) {
	return o.d, nil
}

// keepOpen is the client with a Close that leaves it open: the engine
// closes its directories after each run, and this test's runs share one.
type keepOpen struct{ *directory.Client }

func (keepOpen) Close() error { return nil }

// A leaver, end to end through the engine against slapd (with ppolicy) and
// the Samba DC: a hire is set up; before the leave time the disable fails
// as not-yet and only the expiry (the backstop) is set; after it the steps
// disable the account (a
// bind fails), take it out of its groups (memberOf no longer lists them),
// scramble its password, set its expiry, disable its computer and move it
// to the leavers OU, and the handover re-check proves each; a second run
// finds everything in place. Then a restore enables it, and the retention
// run deletes it only once no hold or retention keeps it.
func TestLeaverOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab with both directories")
	}
	l := lab.ForTest(t, lab.Config{Name: "leavs", Subnet: 213, Workstations: 1, Printers: []string{"Desk"},
		OpenLDAP: true, PPolicy: true, ActiveDirectory: true})
	for _, d := range l.Directories {
		t.Run(d.Kind, func(t *testing.T) { testLeaverOnLab(t, d) })
	}
}

func testLeaverOnLab(t *testing.T, d lab.Directory) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ad := d.Kind == lab.KindActiveDirectory
	client, err := directory.Dial(ctx, directory.Config{
		Name: d.Name, Kind: directory.Kind(d.Kind), URLs: []string{d.URL}, BaseDN: d.BaseDN, UsersOU: d.UsersDN,
		GroupsBase: d.GroupsDN, ComputersOU: d.ComputersDN, Domain: d.Domain, BindDN: d.BindDN,
		BindPassword: secret.New(d.BindPassword), CACertFile: d.CACertFile, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	pd := &plan.Directory{Name: d.Name, Kind: d.Kind, Domain: d.Domain, BaseDN: d.BaseDN}
	dir := &step.DirTarget{Dir: pd, Client: keepOpen{client}, Deliver: &deliver.Channel{}}
	eng := &engine.Engine{Directories: oneDirectory{dir}, Parallel: 4}
	run := func(t *testing.T, steps []*plan.Step, mode engine.Mode) *result.Run {
		t.Helper()
		p := &plan.Plan{Version: 1, Directories: map[string]*plan.Directory{d.Name: pd}, Steps: steps,
			Hires: []plan.Hire{{ID: "LV1", Username: "lvleaver"}}}
		if err := eng.Validate(p); err != nil {
			t.Fatal(err)
		}
		return eng.Run(ctx, p, mode)
	}
	byKind := func(res *result.Run) map[string]result.Step {
		out := map[string]result.Step{}
		for _, s := range res.Steps {
			out[s.ID] = s
		}
		return out
	}

	// The hire, as onboard sets one up: account, two groups, activated.
	const user, hire = "lvleaver", "LV1"
	acct := &plan.Step{ID: "LV1:account:" + user, Kind: plan.KindAccount, Hire: hire, Directory: d.Name,
		Account: &plan.AccountSpec{Username: user, EmployeeID: hire, GivenName: "Lee", Surname: "Leaver", DisplayName: "Lee Leaver",
			UIDMin: 20000, GIDNumber: 10000}}
	setup := []*plan.Step{acct}
	for _, g := range []string{"sales", "crm-users"} {
		setup = append(setup, &plan.Step{ID: "LV1:membership:" + g, Kind: plan.KindMembership, Hire: hire, Directory: d.Name,
			DependsOn: []string{acct.ID}, Membership: &plan.MembershipSpec{Username: user, Group: g}})
	}
	pwFile := filepath.Join(t.TempDir(), user+".pw")
	setup = append(setup, &plan.Step{ID: "LV1:activate:" + user, Kind: plan.KindActivate, Hire: hire, Directory: d.Name,
		DependsOn: []string{setup[1].ID, setup[2].ID},
		Activate:  &plan.ActivateSpec{Username: user, Deliver: "file:" + pwFile, Length: 16}})
	computer := ""
	if ad {
		computer = "LVPC1"
		if _, err := client.PrestageComputer(ctx, computer, "", "the leaver's laptop"); err != nil {
			t.Fatal(err)
		}
	}
	res := run(t, setup, engine.Apply)
	for _, s := range res.Steps {
		if !s.Outcome.Done() {
			t.Fatalf("setup step %s: %s %+v", s.ID, s.Outcome, s.Failure)
		}
	}
	u, _ := client.FindUser(ctx, user)

	leaversOU := "OU=Leavers," + d.BaseDN
	leaver := func(at time.Time) []*plan.Step {
		return plan.LeaverSteps(plan.Leaver{Hire: hire, Username: user, Directory: d.Name, LeaveAt: at,
			Groups: []string{"sales", "crm-users"}, Rule: plan.RulePlaced, Evidence: "run setup",
			LeaversOU: leaversOU, Expire: true, Computer: computer, Timeout: time.Minute})
	}
	disableID := hire + ":" + plan.KindAccountDisable + ":" + user

	t.Run("before the leave time: not yet, nothing changes", func(t *testing.T) {
		due := time.Now().Add(time.Hour)
		res := run(t, leaver(due), engine.Apply)
		got := byKind(res)
		dis := got[disableID]
		if dis.Outcome != result.Failed || dis.Failure == nil || dis.Failure.Class != result.ClassNotYet ||
			!strings.Contains(dis.Failure.Message, "due at "+due.UTC().Format(time.RFC3339)) {
			t.Errorf("disable before the leave time: %s %+v", dis.Outcome, dis.Failure)
		}
		expireID := hire + ":" + plan.KindAccountExpire + ":" + user
		for id, s := range got {
			switch {
			case id == expireID:
				// The backstop: set before the leave time.
				if s.Outcome != result.Changed {
					t.Errorf("%s: %s %+v, want changed before the leave time", id, s.Outcome, s.Failure)
				}
			case id != disableID && s.Outcome != result.Skipped:
				t.Errorf("%s: %s, want skipped after the not-yet disable", id, s.Outcome)
			}
		}
		if at, err := client.Expiry(ctx, u.DN); err != nil || !at.Equal(directory.ExpiryAsSet(directory.Kind(d.Kind), due)) {
			t.Errorf("expiry after the early run: %s, %v", at, err)
		}
		if err := client.VerifyBind(ctx, u.DN, delivered(t, pwFile)); err != nil {
			t.Errorf("the hire cannot bind before the leave time: %v", err)
		}
		// A dry run says when.
		dry := byKind(run(t, leaver(due), engine.DryRun))
		if s := dry[disableID]; s.Outcome != result.WouldChange || !strings.Contains(s.Reason, "not yet") {
			t.Errorf("dry run of the disable: %s %q", s.Outcome, s.Reason)
		}
	})

	// The leave time falls a whole second after the activation set the
	// password (OpenLDAP dates it in seconds), and before now.
	time.Sleep(1100 * time.Millisecond)
	leaveAt := time.Now().Truncate(time.Second)
	t.Run("after the leave time: every step changes and is proven", func(t *testing.T) {
		pw := delivered(t, pwFile)
		res := run(t, leaver(leaveAt), engine.Apply)
		for _, s := range res.Steps {
			// OpenLDAP's expiry is a day: the early run may have set it already.
			if s.Outcome != result.Changed && !(s.Kind == plan.KindAccountExpire && s.Outcome == result.OK && !ad) {
				t.Errorf("%s: %s %q %+v", s.ID, s.Outcome, s.Reason, s.Failure)
			}
		}
		for _, s := range res.Handover {
			if s.Outcome != result.OK {
				t.Errorf("handover %s: %s %q", s.ID, s.Outcome, s.Reason)
			}
		}
		got := byKind(res)
		dis := got[disableID]
		groups, ok := step.GroupsSeen(dis.Changed)
		if !ok || strings.Join(groups, ",") != "crm-users,sales" {
			t.Errorf("the disable's evidence %q gives groups %v, want crm-users and sales", dis.Changed, groups)
		}
		rm := got[hire+":"+plan.KindMembershipRemove+":sales"]
		if g, ok := step.GroupsSeen(rm.Changed); !ok || !contains(g, "sales") {
			t.Errorf("the removal's evidence %q", rm.Changed)
		}

		// Read the directory afresh, as someone checking by hand.
		now, err := client.FindUser(ctx, user)
		if err != nil || now == nil {
			t.Fatalf("FindUser: %+v %v", now, err)
		}
		if parsed, _ := ldap.ParseDN(now.DN); len(parsed.RDNs) < 2 || !strings.EqualFold(parsed.RDNs[1].Attributes[0].Value, "Leavers") {
			t.Errorf("DN %s is not in the leavers OU", now.DN)
		}
		if err := client.VerifyBind(ctx, now.DN, pw); !errors.Is(err, directory.ErrInvalidCredentials) {
			t.Errorf("a bind as the leaver: %v, want refused", err)
		}
		if mo := memberOf(t, d, now.DN); len(mo) != 0 {
			t.Errorf("memberOf still lists %v", mo)
		}
		at, err := client.Expiry(ctx, now.DN)
		if want := directory.ExpiryAsSet(directory.Kind(d.Kind), leaveAt); err != nil || !at.Equal(want) {
			t.Errorf("expiry %s, %v; want %s", at, err, want)
		}
		if ad {
			pc, _ := client.FindComputer(ctx, computer)
			if pc == nil || pc.Enabled {
				t.Errorf("computer after the leaver run: %+v", pc)
			}
		}
	})

	t.Run("again: every step in place", func(t *testing.T) {
		steps := leaver(leaveAt)
		// A group deleted since has no members: in place too.
		gone := &plan.Step{ID: hire + ":membership-remove:gone", Kind: plan.KindMembershipRemove, Hire: hire, Directory: d.Name,
			Membership: &plan.MembershipSpec{Username: user, Group: "no-such-group"}}
		res := run(t, append(steps, gone), engine.Apply)
		for _, s := range res.Steps {
			if s.Outcome != result.OK {
				t.Errorf("%s: %s %q", s.ID, s.Outcome, s.Reason)
			}
		}
	})

	t.Run("restore enables the account", func(t *testing.T) {
		en := &plan.Step{ID: hire + ":account-enable:" + user, Kind: plan.KindAccountEnable, Hire: hire, Directory: d.Name,
			Leaver: &plan.LeaverSpec{Username: user, EmployeeID: hire}}
		ex := &plan.Step{ID: hire + ":account-expire:" + user, Kind: plan.KindAccountExpire, Hire: hire, Directory: d.Name,
			Leaver: &plan.LeaverSpec{Username: user, EmployeeID: hire, NoExpiry: true}}
		res := run(t, []*plan.Step{en, ex}, engine.Apply)
		for i, s := range res.Steps {
			if s.Outcome != result.Changed || len(res.Handover) != 2 || res.Handover[i].Outcome != result.OK {
				t.Errorf("%s: %s %+v; handover %+v", s.ID, s.Outcome, s.Failure, res.Handover)
			}
		}
		now, _ := client.FindUser(ctx, user)
		if dis, err := client.UserDisabled(ctx, now.DN); err != nil || dis || !now.Enabled {
			t.Errorf("after the restore: UserDisabled %v, %v; Enabled %v", dis, err, now.Enabled)
		}
		if at, err := client.Expiry(ctx, now.DN); err != nil || !at.IsZero() {
			t.Errorf("expiry after the restore: %s, %v", at, err)
		}
		// The restored account binds with a password set again.
		pw := secret.New("Rest0red-Leaver-Pass")
		if err := client.SetPassword(ctx, now.DN, pw, false); err != nil {
			t.Fatal(err)
		}
		if err := client.VerifyBind(ctx, now.DN, pw); err != nil {
			t.Errorf("bind after the restore: %v", err)
		}
	})

	t.Run("delete only after retention and without hold", func(t *testing.T) {
		del := func(spec plan.LeaverSpec) []*plan.Step {
			spec.Username, spec.EmployeeID = user, hire
			return []*plan.Step{{ID: hire + ":account-delete:" + user, Kind: plan.KindAccountDelete, Hire: hire, Directory: d.Name, Leaver: &spec}}
		}
		for name, spec := range map[string]plan.LeaverSpec{
			"legal hold":        {LegalHold: true, RetainUntil: leaveAt},
			"retention not out": {RetainUntil: time.Now().Add(24 * time.Hour)},
		} {
			s := run(t, del(spec), engine.Apply).Steps[0]
			if s.Outcome != result.Failed || s.Failure == nil || s.Failure.Class != result.ClassNotYet {
				t.Errorf("delete under %s: %s %+v", name, s.Outcome, s.Failure)
			}
			if now, _ := client.FindUser(ctx, user); now == nil {
				t.Fatalf("deleted under %s", name)
			}
		}
		res := run(t, del(plan.LeaverSpec{RetainUntil: leaveAt}), engine.Apply)
		if s := res.Steps[0]; s.Outcome != result.Changed {
			t.Errorf("delete after retention: %s %+v", s.Outcome, s.Failure)
		}
		if now, err := client.FindUser(ctx, user); err != nil || now != nil {
			t.Errorf("FindUser after the delete: %+v %v", now, err)
		}
		if s := run(t, del(plan.LeaverSpec{RetainUntil: leaveAt}), engine.Apply).Steps[0]; s.Outcome != result.OK {
			t.Errorf("delete again: %s %q", s.Outcome, s.Reason)
		}
	})
}

// delivered is the hire's initial password, read from the file the
// activation delivered it to.
func delivered(t *testing.T, path string) secret.Value {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return secret.New(strings.TrimSuffix(string(b), "\n"))
}

// adminConn is an LDAPS connection bound as the directory's administrator.
func adminConn(t *testing.T, d lab.Directory) *ldap.Conn {
	t.Helper()
	pem, err := os.ReadFile(d.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := ldap.DialURL(d.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(d.BindDN, d.BindPassword); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// memberOf reads the entry's memberOf over a connection of its own.
func memberOf(t *testing.T, d lab.Directory, dn string) []string {
	t.Helper()
	conn := adminConn(t, d)
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 10, false,
		"(objectClass=*)", []string{"memberOf"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read memberOf of %s: %v", dn, err)
	}
	return res.Entries[0].GetAttributeValues("memberOf")
}

func contains(vs []string, want string) bool {
	for _, v := range vs {
		if v == want {
			return true
		}
	}
	return false
}
