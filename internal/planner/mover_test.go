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
	"onboard/internal/plan"
	"onboard/internal/playbook"
)

// historyOf is what a journal says after before's plan ran: every item of
// its steps in place, placed by onboard unless found names it (the step
// found it in place).
func historyOf(before *plan.Plan, found ...string) *plan.History {
	last := before.Hires[0]
	h := &plan.History{Last: &last, LastRun: "run-1"}
	for _, s := range before.Steps {
		if plan.ItemKey(s) == "" {
			continue
		}
		h.Items = append(h.Items, plan.Placed{Step: s, Host: before.Hosts[s.Host], Directory: before.Directories[s.Directory],
			RunID: "run-1", Time: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), ByOnboard: !slices.Contains(found, plan.ItemName(s))})
	}
	return h
}

func loadPlaybook(t *testing.T, name string) *playbook.Playbook {
	t.Helper()
	pb, err := playbook.Load(filepath.Join("testdata", "mover", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// moveSummary prints what a re-plan adds to a plan: what moved, each
// removal with its rule, evidence and dependencies, what each check and
// reboot waits for among them, and each item kept with its rule.
func moveSummary(p *plan.Plan) string {
	var b strings.Builder
	for _, h := range p.Hires {
		fmt.Fprintf(&b, "hire %s on %s, profile %s\n", h.ID, h.Host, h.Profile)
		for _, m := range h.Moved {
			fmt.Fprintf(&b, "  moved: %s\n", m)
		}
		for _, k := range h.Kept {
			if k.Rule != plan.RulePlaced && k.Rule != plan.RulePrune { // removals are listed as steps below
				fmt.Fprintf(&b, "  kept: %s [%s] %s\n", k.Item, k.Rule, k.Evidence)
			}
		}
		for _, m := range h.Manual {
			if strings.HasPrefix(m, "Remove ") {
				fmt.Fprintf(&b, "  by hand: %s\n", m)
			}
		}
	}
	removal := map[string]bool{}
	for _, s := range p.Steps {
		if s.Rule != "" {
			removal[s.ID] = true
			fmt.Fprintf(&b, "- %s (%s%s) %q [%s] %s\n", s.ID, s.Host, s.Directory, s.Title, s.Rule, s.Evidence)
			if len(s.DependsOn) > 0 {
				fmt.Fprintf(&b, "    after %s\n", strings.Join(s.DependsOn, ", "))
			}
		}
	}
	for _, s := range p.Steps {
		var waits []string
		for _, d := range s.DependsOn {
			if removal[d] && s.Rule == "" {
				waits = append(waits, d)
			}
		}
		if len(waits) > 0 {
			fmt.Fprintf(&b, "  %s waits for %s\n", s.ID, strings.Join(waits, ", "))
		}
	}
	return b.String()
}

// validPlan holds what the engine's Validate holds, kinds aside: unique
// ids, known hosts, directories and dependencies, each removal with its
// spec.
func validPlan(t *testing.T, p *plan.Plan) {
	t.Helper()
	ids := map[string]bool{}
	for _, s := range p.Steps {
		if ids[s.ID] {
			t.Errorf("step %s twice", s.ID)
		}
		ids[s.ID] = true
		if s.Host != "" && p.Hosts[s.Host] == nil || s.Directory != "" && p.Directories[s.Directory] == nil {
			t.Errorf("step %s: host %q or directory %q not in the plan", s.ID, s.Host, s.Directory)
		}
		if s.Rule != "" && (plan.ItemKey(s) == "" || s.Evidence == "") {
			t.Errorf("removal %s lacks its spec or evidence: %+v", s.ID, s)
		}
		if plan.IsRemoval(s.Kind) {
			// The hire's Kept list has the rule of every item, removals too.
			i := slices.IndexFunc(p.Hires, func(h plan.Hire) bool { return h.ID == s.Hire })
			if i < 0 || !slices.Contains(p.Hires[i].Kept, plan.Kept{Item: where(s), Rule: s.Rule, Evidence: s.Evidence}) {
				t.Errorf("removal %s is not in its hire's Kept list", s.ID)
			}
		}
	}
	for _, s := range p.Steps {
		for _, d := range s.DependsOn {
			if !ids[d] {
				t.Errorf("step %s depends on %s, not in the plan", s.ID, d)
			}
		}
	}
}

func TestMover(t *testing.T) {
	inv := loadInv(t)
	now := time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		before   string // default before.yaml
		playbook string
		others   []string // other hires' playbooks in the same plan
		found    []string // items the journal shows found in place, not placed
		groups   []string // the account's groups in the directory (prune.groups)
		shared   []string // item keys another hire's setup has (History.Shared), "/" for \x00
	}{
		// Groups and software follow the profile; what the journal shows
		// onboard found in place (git-tools, put there by hand) is kept.
		{name: "engineering-to-sales", playbook: "sales", found: []string{"software: git-tools", "group: github-users"}},
		// prune removes found items too, the catalogue's software and
		// printers the new setup does not name, and every other group the
		// directory has the account in.
		{name: "prune", playbook: "sales-prune", found: []string{"software: git-tools"}, groups: []string{"crm-users", "engineering", "poker-club", "sales"}},
		// Removals on the old machine (all of it, what the new one installs
		// again too), installs on the new one.
		{name: "machine-change", playbook: "sales-ws2", found: []string{"software: office"}},
		// A colleague on the same machine wants the IDE: it is kept, with
		// the rule and her step.
		{name: "shared-machine", playbook: "sales", others: []string{"colleague"}},
		// A hire planned another time has the IDE and hr-portal on ws1
		// (the journal says): kept, whether placed or pruned.
		{name: "shared-by-journal", playbook: "sales-prune", shared: []string{"software/ws1/ide", "software/ws1/hr-portal"}},
		// Windows: the uninstall before the reboot, the printer and local
		// group after it.
		{name: "windows", before: "../valid/wendy-windows", playbook: "wendy-moved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before == "" {
				tt.before = "before"
			}
			before, err := Build([]*playbook.Playbook{loadPlaybook(t, tt.before)}, inv, Options{ProfileDirs: []string{"testdata/profiles"}, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			pbs := []*playbook.Playbook{loadPlaybook(t, tt.playbook)}
			for _, o := range tt.others {
				pbs = append(pbs, loadPlaybook(t, o))
			}
			hist := historyOf(before, tt.found...)
			for _, k := range tt.shared {
				if hist.Shared == nil {
					hist.Shared = map[string]string{}
				}
				hist.Shared[strings.ReplaceAll(k, "/", "\x00")] = "hire E3009's setup has it (run run-9, step E3009:package:x)"
			}
			opt := Options{ProfileDirs: []string{"testdata/profiles"}, Now: now,
				History: map[string]*plan.History{"E3001": hist}}
			if tt.groups != nil {
				opt.Groups = func(d *plan.Directory, username string) ([]string, error) {
					if d.Name != "corp-ldap" || username != "mo.ver" {
						return nil, fmt.Errorf("groups of %s in %s asked", username, d.Name)
					}
					return tt.groups, nil
				}
			}
			p, err := Build(pbs, inv, opt)
			if err != nil {
				t.Fatal(err)
			}
			validPlan(t, p)
			golden.Assert(t, filepath.Join("testdata", "mover", tt.name+".golden"), []byte(moveSummary(p)))
		})
	}
}

// Without history, or with history of the same setup, a plan has no
// removal and keeps nothing: a first onboarding and a re-run are as before.
func TestMoverNoChange(t *testing.T) {
	inv := loadInv(t)
	opt := Options{ProfileDirs: []string{"testdata/profiles"}}
	first, err := Build([]*playbook.Playbook{loadPlaybook(t, "before")}, inv, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.History = map[string]*plan.History{"E3001": historyOf(first, "software: git-tools")}
	again, err := Build([]*playbook.Playbook{loadPlaybook(t, "before")}, inv, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Steps) != len(first.Steps) || len(again.Hires[0].Kept) != 0 || len(again.Hires[0].Moved) != 0 {
		t.Errorf("a re-run of the same setup changed the plan: %d steps (was %d), kept %v, moved %v",
			len(again.Steps), len(first.Steps), again.Hires[0].Kept, again.Hires[0].Moved)
	}
	// prune on a first onboarding removes nothing: there is no earlier setup.
	pb := loadPlaybook(t, "sales-prune")
	opt.History = nil
	p, err := Build([]*playbook.Playbook{pb}, inv, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		if s.Rule != "" {
			t.Errorf("a first onboarding plans removal %s", s.ID)
		}
	}
}

// A machine the journal recorded but the inventory no longer has is
// reached as the journal described it; one neither describes is left to
// do by hand, named.
func TestMoverOldMachine(t *testing.T) {
	inv := loadInv(t)
	opt := Options{ProfileDirs: []string{"testdata/profiles"}}
	before, err := Build([]*playbook.Playbook{loadPlaybook(t, "before")}, inv, opt)
	if err != nil {
		t.Fatal(err)
	}
	hist := historyOf(before)
	for i := range hist.Items {
		if hist.Items[i].Step.Host == "ws1" {
			s := *hist.Items[i].Step
			s.Host = "ws-retired"
			hist.Items[i].Step = &s
			h := *hist.Items[i].Host
			h.Name, h.Address = "ws-retired", "10.213.9.99"
			hist.Items[i].Host = &h
		}
	}
	// One on a machine the journal could not describe either.
	gone := *hist.Items[len(hist.Items)-1].Step
	gone.Host = "ws-gone"
	hist.Items[len(hist.Items)-1].Step, hist.Items[len(hist.Items)-1].Host = &gone, nil
	opt.History = map[string]*plan.History{"E3001": hist}
	p, err := Build([]*playbook.Playbook{loadPlaybook(t, "sales")}, inv, opt)
	if err != nil {
		t.Fatal(err)
	}
	validPlan(t, p)
	if h := p.Hosts["ws-retired"]; h == nil || h.Address != "10.213.9.99" {
		t.Errorf("the retired machine is not reached as the journal described it: %+v", h)
	}
	var removals, byHand int
	for _, s := range p.Steps {
		if s.Host == "ws-retired" {
			removals++
		}
	}
	for _, m := range p.Hires[0].Manual {
		if strings.Contains(m, "ws-gone is described neither") {
			byHand++
		}
	}
	if removals == 0 || byHand != 1 || p.Hosts["ws-gone"] != nil {
		t.Errorf("%d removals on ws-retired, %d left by hand; want some, and one (ws-gone)\n%s", removals, byHand, moveSummary(p))
	}
}

// The directory is asked only for prune.groups; its failure is the
// playbook's error at that field.
func TestMoverPruneGroupsError(t *testing.T) {
	inv := loadInv(t)
	opt := Options{ProfileDirs: []string{"testdata/profiles"}}
	before, err := Build([]*playbook.Playbook{loadPlaybook(t, "before")}, inv, opt)
	if err != nil {
		t.Fatal(err)
	}
	asked := 0
	opt.History = map[string]*plan.History{"E3001": historyOf(before)}
	opt.Groups = func(*plan.Directory, string) ([]string, error) {
		asked++
		return nil, errors.New("ldap: no route to host")
	}
	if _, err := Build([]*playbook.Playbook{loadPlaybook(t, "sales")}, inv, opt); err != nil || asked != 0 {
		t.Errorf("without prune.groups: %v, directory asked %d times; want no error, never asked", err, asked)
	}
	_, err = Build([]*playbook.Playbook{loadPlaybook(t, "sales-prune")}, inv, opt)
	if err == nil || !strings.Contains(err.Error(), "sales-prune.yaml:") || !strings.Contains(err.Error(), "prune.groups: list the groups of mo.ver in corp-ldap: ldap: no route to host") {
		t.Errorf("prune.groups with the directory failing: %v", err)
	}
}
