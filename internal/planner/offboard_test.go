package planner

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"onboard/internal/golden"
	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// offboardInv is the planner's test inventory with the directories'
// leavers settings, and the extra files given (testdata/offboard).
func offboardInv(t *testing.T, extra ...string) *inventory.Inventory {
	t.Helper()
	files := []string{"checksets.yaml", "hosts.yaml", "playbooks.yaml", "software.yaml", "windows.yaml"}
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join("testdata", "inventory", f))
	}
	paths = append(paths, filepath.Join("testdata", "offboard", "directories.yaml"))
	for _, f := range extra {
		paths = append(paths, filepath.Join("testdata", "offboard", f))
	}
	inv, err := inventory.Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// setupHistory is what a verified journal says after the plan of the
// playbook file ran in run-1: the history of its hire, with its setup.
func setupHistory(t *testing.T, file string) *plan.History {
	t.Helper()
	pb, err := playbook.Load(filepath.Join("testdata", file+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := Build([]*playbook.Playbook{pb}, loadInv(t), Options{ProfileDirs: []string{"testdata/profiles"},
		Now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	h := historyOf(before)
	h.Setup, h.SetupRun = h.Last, h.LastRun
	h.SetupSteps, h.SetupHosts, h.SetupDirectories = before.Steps, before.Hosts, before.Directories
	return h
}

// offboardSummary prints an offboarding plan: its steps in order with
// where, what they wait for, the leaver spec's times and the removals'
// rules, and the hire's manual tasks.
func offboardSummary(p *plan.Plan) string {
	var b strings.Builder
	for _, h := range p.Hires {
		fmt.Fprintf(&b, "hire %s (%s) %s on %s, manager %s\n", h.ID, h.Name, h.Username, h.Host, h.Manager)
		for _, m := range h.Manual {
			fmt.Fprintf(&b, "  by hand: %s\n", m)
		}
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "- %s [%s%s] %q\n", s.ID, s.Host, s.Directory, s.Title)
		if l := s.Leaver; l != nil {
			fmt.Fprintf(&b, "    leaver %s (employee %s) not before %s", l.Username, l.EmployeeID, ts(l.NotBefore))
			if l.OU != "" {
				fmt.Fprintf(&b, ", ou %s", l.OU)
			}
			if l.Computer != "" {
				fmt.Fprintf(&b, ", computer %s", l.Computer)
			}
			if !l.RetainUntil.IsZero() {
				fmt.Fprintf(&b, ", retained until %s", ts(l.RetainUntil))
			}
			b.WriteString("\n")
		}
		if s.Rule != "" {
			fmt.Fprintf(&b, "    rule %s: %s\n", s.Rule, s.Evidence)
		}
		if r := s.LoginRevoke; r != nil {
			fmt.Fprintf(&b, "    revoke %s (sssd domain %q)\n", r.User, r.Domain)
		}
		if a := s.HomeArchive; a != nil {
			fmt.Fprintf(&b, "    archive %s to %s\n", a.Home, a.Archive)
		}
		if c := s.Command; c != nil {
			fmt.Fprintf(&b, "    run %q creates %q unless %q values %q\n", c.Run, c.Creates, c.Unless, c.Values)
		}
		if len(s.DependsOn) > 0 {
			fmt.Fprintf(&b, "    after %s\n", strings.Join(s.DependsOn, ", "))
		}
	}
	return b.String()
}

func TestOffboard(t *testing.T) {
	now := time.Date(2026, 12, 20, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		setup  string   // the playbook of the hire's setup
		extra  []string // inventory files of testdata/offboard
		at     time.Time
		groups []string // the account's groups in the directory now
	}{
		// OpenLDAP, a Linux machine: disable first, groups each its own
		// step, the leavers OU, the expiry; the printer onboard mapped.
		{name: "openldap", setup: "mover/before", groups: []string{"github-users", "engineering", "engineering"}},
		// Active Directory, a Linux machine joined (pre-staged): its
		// computer account is disabled.
		{name: "ad-linux", setup: "valid/zoe-ad", groups: []string{"Engineering"}},
		// A Windows machine: the domain user leaves the sign-in groups;
		// the printer connection goes.
		{name: "windows", setup: "valid/wendy-windows", groups: []string{"Sales", "Domain Printers"}},
		// The inventory's home archive and hooks, values as data, after
		// the login is revoked.
		{name: "hooks", setup: "mover/before", extra: []string{"offboarding.yaml"}, groups: []string{"engineering"}},
		// A leave time next week: every step waits for the disable, which
		// is not before then; the expiry is that time.
		{name: "future", setup: "mover/before", at: time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hist := setupHistory(t, tt.setup)
			var asked []string
			opt := OffboardOptions{At: tt.at, Now: now, Groups: func(d *plan.Directory, username string) ([]string, error) {
				asked = append(asked, username+" in "+d.Name)
				return tt.groups, nil
			}}
			p, err := Offboard(hist, offboardInv(t, tt.extra...), opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(asked) != 1 || !strings.HasPrefix(asked[0], p.Hires[0].Username+" in ") {
				t.Errorf("groups asked for %v, want once for %s", asked, p.Hires[0].Username)
			}
			validPlan(t, p)
			// Disable first, and everything else waits for it (but the
			// expiry, the backstop).
			disable := p.Steps[0]
			if disable.Kind != plan.KindAccountDisable {
				t.Fatalf("first step is %s, want the disable", disable.ID)
			}
			for _, s := range p.Steps[1:] {
				if s.Kind != plan.KindAccountExpire && !dependsOn(p, s, disable.ID) {
					t.Errorf("step %s does not wait for the disable", s.ID)
				}
			}
			golden.Assert(t, filepath.Join("testdata", "offboard", tt.name+".golden"), []byte(offboardSummary(p)))
		})
	}
}

// dependsOn says whether s waits, directly or not, for id.
func dependsOn(p *plan.Plan, s *plan.Step, id string) bool {
	for _, d := range s.DependsOn {
		if d == id || dependsOn(p, p.Step(d), id) {
			return true
		}
	}
	return false
}

// A re-run of an applied offboarding keeps its leave time (the scramble
// and the expiry are in place for it); --at still overrides it.
func TestOffboardRerunKeepsLeaveTime(t *testing.T) {
	left := time.Date(2026, 12, 20, 17, 0, 0, 0, time.UTC)
	hist := setupHistory(t, "mover/before")
	hist.LeftAt, hist.LeftRun = left, "run-2"
	for _, tt := range []struct {
		at, want time.Time
	}{{time.Time{}, left}, {left.Add(time.Hour), left.Add(time.Hour)}} {
		p, err := Offboard(hist, offboardInv(t), OffboardOptions{At: tt.at, Now: left.Add(48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Steps {
			if s.Leaver != nil && !s.Leaver.NotBefore.Equal(tt.want) {
				t.Errorf("--at %v: step %s not before %v, want %v", tt.at, s.ID, s.Leaver.NotBefore, tt.want)
			}
		}
	}
}

// A printer another hire's current setup on the machine has (the
// journal's History.Shared) is kept, with the rule and that hire's step.
func TestOffboardKeepsShared(t *testing.T) {
	hist := setupHistory(t, "mover/before")
	var key string
	for _, it := range hist.Items {
		if it.Step.Printer != nil {
			key = plan.ItemKey(it.Step)
		}
	}
	hist.Shared = map[string]string{key: "hire E3009's setup has it (run run-9, step E3009:printer:office-2f)"}
	p, err := Offboard(hist, offboardInv(t), OffboardOptions{Now: time.Date(2026, 12, 20, 17, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		if s.Kind == plan.KindPrinterRemove {
			t.Errorf("a printer another hire has is removed: %s", s.ID)
		}
	}
	want := plan.Kept{Item: "printer: Office-2F on ws1", Rule: plan.RuleStillWanted,
		Evidence: "hire E3009's setup has it (run run-9, step E3009:printer:office-2f); run run-1, step E3001:printer:office-2f"}
	if got := p.Hires[0].Kept; len(got) != 1 || got[0] != want {
		t.Errorf("kept = %+v, want %+v", got, want)
	}
}

// A Windows machine joined under its own name (no pre-staged computer, no
// rename): the computer account is left to disable by hand, saying why.
func TestOffboardUnnamedComputer(t *testing.T) {
	hist := setupHistory(t, "valid/wendy-windows")
	var steps []*plan.Step
	for _, s := range hist.SetupSteps {
		switch {
		case s.Kind == plan.KindComputer:
			continue
		case s.WinJoin != nil:
			c, j := *s, *s.WinJoin
			j.NewName = ""
			c.WinJoin = &j
			s = &c
		}
		steps = append(steps, s)
	}
	hist.SetupSteps = steps
	p, err := Offboard(hist, offboardInv(t), OffboardOptions{Now: time.Date(2026, 12, 20, 17, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Step("E3001:" + plan.KindComputerDisable + ":WS-WENDY"); s != nil {
		t.Errorf("a computer-disable for a name the setup did not give: %s", s.ID)
	}
	want := "Disable the computer account of win1 in corp-ad by hand: the setup joined it under its own name, which the journal does not record"
	if !slices.Contains(p.Hires[0].Manual, want) {
		t.Errorf("manual = %q, want %q", p.Hires[0].Manual, want)
	}
}

// A hire the journal shows no setup of: nothing to take down.
func TestOffboardNoSetup(t *testing.T) {
	for _, h := range []*plan.History{nil, {}} {
		_, err := Offboard(h, offboardInv(t), OffboardOptions{})
		if !errors.Is(err, ErrNoSetup) {
			t.Errorf("err = %v, want ErrNoSetup", err)
		}
	}
}

// A purge plans only the deletion, after the retention and never under a
// legal hold; the refusals say why and until when.
func TestOffboardPurge(t *testing.T) {
	left := time.Date(2026, 12, 20, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		setup string
		extra []string
		left  time.Time
		now   time.Time
		err   string
	}{
		{name: "never offboarded", setup: "mover/before", now: left,
			err: "purge E3001: the journal shows no applied offboarding of mo.ver: offboard first"},
		{name: "in retention", setup: "mover/before", left: left, now: left.AddDate(0, 0, 29),
			err: "purge E3001: account mo.ver is retained until 2027-01-19T17:00:00Z (left at 2026-12-20T17:00:00Z, run run-2; directories.corp-ldap.leavers.retention_days: 30)"},
		{name: "after retention", setup: "mover/before", left: left, now: left.AddDate(0, 0, 30)},
		{name: "legal hold", setup: "valid/zoe-ad", extra: []string{"held.yaml"}, left: left, now: left.AddDate(1, 0, 0),
			err: `purge E2001: account zobrien-lukasiewicz is under legal hold since 2026-11-20 (matter 2026-17 (litigation); `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hist := setupHistory(t, tt.setup)
			hist.LeftAt, hist.LeftRun = tt.left, "run-2"
			p, err := Offboard(hist, offboardInv(t, tt.extra...), OffboardOptions{Purge: true, Now: tt.now,
				Groups: func(*plan.Directory, string) ([]string, error) { return nil, errors.New("a purge asks for no groups") }})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", "offboard", "purge.golden"), []byte(offboardSummary(p)))
		})
	}
}
