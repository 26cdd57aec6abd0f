package serve

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/connect"
	"onboard/internal/deliver"
	"onboard/internal/engine"
	"onboard/internal/journal"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
	"onboard/internal/serve/store"
)

// A leave event through onboard serve, against slapd with ppolicy: the
// offboard run's hook builds a real leaver plan (plan.LeaverSteps). Before
// the leave time nothing happens: the run stays scheduled, the hook is not
// called, the account still binds. At the time the run disables the
// account (a bind fails), takes it out of its groups, and the journal
// records the run with mode "offboard".
func TestLeaveOffboardsAtTheTimeOnLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab with OpenLDAP")
	}
	l := lab.ForTest(t, lab.Config{Name: "lvsrv", Subnet: 207, Workstations: 1, Printers: []string{"Solo"}, OpenLDAP: true, PPolicy: true})
	var d lab.Directory
	for _, x := range l.Directories {
		if x.Kind == lab.KindOpenLDAP {
			d = x
		}
	}
	if d.Name == "" {
		t.Fatalf("the lab has no OpenLDAP directory: %+v", l.Directories)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pd := &plan.Directory{Name: d.Name, Kind: d.Kind, URLs: []string{d.URL}, BaseDN: d.BaseDN, UsersOU: d.UsersDN,
		GroupsBase: d.GroupsDN, ComputersOU: d.ComputersDN, Domain: d.Domain, BindDN: d.BindDN,
		BindPassword: "file:" + d.BindPasswordFile, CACert: d.CACertFile}
	dialer := &connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: 10 * time.Second, Deliver: &deliver.Channel{}}
	client, err := dialer.OpenDirectory(ctx, pd)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	// The hire, as onboard sets one up: an account in two groups, active.
	const user, hire = "lvserve", "LS1"
	groups := []string{"sales", "crm-users"}
	pwFile := filepath.Join(t.TempDir(), user+".pw")
	acct := &plan.Step{ID: hire + ":account:" + user, Kind: plan.KindAccount, Hire: hire, Directory: d.Name,
		Account: &plan.AccountSpec{Username: user, EmployeeID: hire, GivenName: "Lee", Surname: "Serve", DisplayName: "Lee Serve",
			UIDMin: 20000, GIDNumber: 10000}}
	setup := []*plan.Step{acct}
	for _, g := range groups {
		setup = append(setup, &plan.Step{ID: hire + ":membership:" + g, Kind: plan.KindMembership, Hire: hire, Directory: d.Name,
			DependsOn: []string{acct.ID}, Membership: &plan.MembershipSpec{Username: user, Group: g}})
	}
	setup = append(setup, &plan.Step{ID: hire + ":activate:" + user, Kind: plan.KindActivate, Hire: hire, Directory: d.Name,
		DependsOn: []string{setup[1].ID, setup[2].ID}, Activate: &plan.ActivateSpec{Username: user, Deliver: "file:" + pwFile, Length: 16}})
	mkPlan := func(steps []*plan.Step) *plan.Plan {
		return &plan.Plan{Version: 1, Directories: map[string]*plan.Directory{d.Name: pd}, Steps: steps,
			Hires: []plan.Hire{{ID: hire, Username: user, Name: "Lee Serve"}}}
	}
	eng := &engine.Engine{Directories: dialer, Parallel: 4}
	res := eng.Run(ctx, mkPlan(setup), engine.Apply)
	for _, s := range res.Steps {
		if !s.Outcome.Done() {
			t.Fatalf("setup step %s: %s %+v", s.ID, s.Outcome, s.Failure)
		}
	}
	u, err := client.FindUser(ctx, user)
	if err != nil || u == nil {
		t.Fatalf("FindUser: %+v %v", u, err)
	}
	pwb, err := os.ReadFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	pw := secret.New(strings.TrimSuffix(string(pwb), "\n"))
	if in, err := client.GroupsOf(ctx, u.DN); err != nil || len(in) != len(groups) {
		t.Fatalf("groups after the setup: %v %v", in, err)
	}

	// The hook: what planner.Offboard will be, cut down to the directory.
	type call struct {
		emp   string
		at    time.Time
		purge bool
	}
	var mu sync.Mutex
	var calls []call
	offboard := func(_ context.Context, emp string, at time.Time, purge bool) (*plan.Plan, error) {
		mu.Lock()
		calls = append(calls, call{emp, at, purge})
		mu.Unlock()
		return mkPlan(plan.LeaverSteps(plan.Leaver{Hire: emp, Username: user, Directory: d.Name, LeaveAt: at, Groups: groups,
			Rule: plan.RulePlaced, Evidence: "the setup run", Expire: true, Timeout: time.Minute})), nil
	}
	calledSoFar := func() []call {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(calls)
	}

	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	s := openService(t, filepath.Join(t.TempDir(), "serve.db"), Config{Mapper: fixedMapper("ws1", laterSlots),
		LeavePolicy: fixedPolicy(time.UTC, 0), Offboard: offboard, Journal: j})

	// OpenLDAP dates a password change in seconds: the leave falls whole
	// seconds after the activation, and far enough ahead to look before it.
	at := time.Now().Add(8 * time.Second).Truncate(time.Second)
	a, err := s.Accept(ctx, leaveIntake("leave-lab", hire, Departure{At: at}))
	if err != nil || a.Result != "scheduled" || len(a.Runs) != 1 {
		t.Fatalf("leave: %+v %v", a, err)
	}
	runID := a.Runs[0].ID

	// Before the leave time: nothing.
	for time.Until(at) > 1500*time.Millisecond {
		r, err := store.GetRun(ctx, s.store.DB, runID)
		if err != nil || r.State != store.RunScheduled || r.Attempts != 0 {
			t.Fatalf("%s before the leave time: %+v %v", time.Until(at), r, err)
		}
		if c := calledSoFar(); len(c) != 0 {
			t.Fatalf("the offboard plan was built %s before the leave time: %+v", time.Until(at), c)
		}
		if err := client.VerifyBind(ctx, u.DN, pw); err != nil {
			t.Fatalf("the account cannot bind %s before the leave time: %v", time.Until(at), err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// At the time: disabled, out of its groups, journaled as an offboarding.
	r := waitRun(t, s, runID, store.RunOK)
	if r.StartedAt.Before(at) {
		t.Errorf("the run started at %s, before the leave time %s", r.StartedAt, at)
	}
	if c := calledSoFar(); len(c) != 1 || c[0].emp != hire || !c[0].at.Equal(at) || c[0].purge {
		t.Errorf("hook calls: %+v, want one offboard of %s at %s", c, hire, at)
	}
	if err := client.VerifyBind(ctx, u.DN, pw); err == nil {
		t.Error("the account still binds after the offboarding")
	}
	now, err := client.GroupsOf(ctx, u.DN)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if slices.ContainsFunc(now, func(have string) bool { return strings.EqualFold(have, g) }) {
			t.Errorf("still in group %s after the offboarding (%v)", g, now)
		}
	}
	det, err := j.Run(ctx, r.JournalRun)
	if err != nil {
		t.Fatalf("journal run %q: %v", r.JournalRun, err)
	}
	if det.Mode != "offboard" || det.Trigger != "hr:leave-lab" {
		t.Errorf("journal run: mode %q trigger %q, want offboard from hr:leave-lab", det.Mode, det.Trigger)
	}
	var res2 result.Run
	if err := json.Unmarshal(r.Result, &res2); err != nil {
		t.Fatal(err)
	}
	disabled := false
	for _, st := range res2.Steps {
		disabled = disabled || (st.Kind == plan.KindAccountDisable && st.Outcome == result.Changed)
	}
	if !disabled {
		t.Errorf("the run's result has no changed disable: %+v", res2.Steps)
	}
}
