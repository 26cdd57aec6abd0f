package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"onboard/internal/plan"
)

// moverPlan is a checked re-plan of a hire moved from engineering to
// sales and from ws1 to ws2: removals (one already done by hand), kept
// items and what moved.
func moverPlan() *plan.Plan {
	return &plan.Plan{
		Version: 1, Created: t0, Sources: []string{"playbooks/mo.yaml"},
		Hosts: map[string]*plan.Host{
			"ws1": {Name: "ws1", Address: "10.0.0.11", OS: "linux", Transport: "ssh", User: "admin"},
			"ws2": {Name: "ws2", Address: "10.0.0.12", OS: "linux", Transport: "ssh", User: "admin"},
		},
		Directories: map[string]*plan.Directory{"corp": {Name: "corp", Kind: "openldap"}},
		Hires: []plan.Hire{{
			ID: "E3001", Source: "playbooks/mo.yaml", Name: "Mo Ver", Username: "mo.ver", Profile: "sales", Host: "ws2",
			Groups: []string{"sales"}, Software: []string{"crm"},
			Provenance: []plan.Origin{{Item: "group: sales", From: "profile sales"}, {Item: "software: crm", From: "profile sales"}},
			Moved:      []string{`profile: "engineering" → "sales" (run 20261201T090000Z-a1b2c3)`, `machine: "ws1" → "ws2" (run 20261201T090000Z-a1b2c3)`},
			Kept: []plan.Kept{
				{Item: "software: git-tools on ws1", Rule: plan.RuleNotPlaced, Evidence: "run 20261201T090000Z-a1b2c3, step E3001:package:git-tools found it in place"},
				{Item: "group: github-users in corp", Rule: plan.RuleNotPlaced, Evidence: "run 20261201T090000Z-a1b2c3, step E3001:membership:github-users found it in place"},
				// A removal: listed as its step, not as kept.
				{Item: "software: ide on ws1", Rule: plan.RulePlaced, Evidence: "run 20261201T090000Z-a1b2c3, step E3001:package:ide"},
			},
		}},
		Steps: []*plan.Step{
			{ID: "E3001:account:mo.ver", Kind: plan.KindAccount, Hire: "E3001", Directory: "corp", Title: "Account mo.ver in corp",
				Action: plan.ActionUpdate, Reason: `account mo.ver: departmentNumber: "Engineering" → "Sales"`},
			{ID: "E3001:membership:sales", Kind: plan.KindMembership, Hire: "E3001", Directory: "corp", Title: "Add mo.ver to group sales",
				DependsOn: []string{"E3001:account:mo.ver"}, Action: plan.ActionCreate, Reason: "mo.ver is not a member of sales"},
			{ID: "E3001:package:crm", Kind: plan.KindPackage, Hire: "E3001", Host: "ws2", Title: "Install crm 5.2.0 on ws2",
				Action: plan.ActionCreate, Reason: "acme-crm is not installed"},
			{ID: "E3001:membership-remove:engineering@corp", Kind: plan.KindMembershipRemove, Hire: "E3001", Directory: "corp",
				Title: "Remove mo.ver from group engineering", DependsOn: []string{"E3001:account:mo.ver"},
				Rule: plan.RulePlaced, Evidence: "run 20261201T090000Z-a1b2c3, step E3001:membership:engineering",
				Action: plan.ActionRemove, Reason: "mo.ver is a member of engineering"},
			{ID: "E3001:package-remove:ide@ws1", Kind: plan.KindPackageRemove, Hire: "E3001", Host: "ws1", Title: "Uninstall ide from ws1",
				Rule: plan.RulePlaced, Evidence: "run 20261201T090000Z-a1b2c3, step E3001:package:ide",
				Action: plan.ActionRemove, Reason: "acme-ide 1.9.3 is installed"},
			{ID: "E3001:package-remove:hr-portal@ws1", Kind: plan.KindPackageRemove, Hire: "E3001", Host: "ws1", Title: "Uninstall hr-portal from ws1",
				Rule: plan.RulePrune, Evidence: "in the software catalogue, not in the new setup: removed if installed",
				Action: plan.ActionNone, Reason: "acme-hr is not installed"},
		},
	}
}

func TestPlanTextMover(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePlanText(&buf, moverPlan()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "plan-mover.txt", buf.Bytes())
	if strings.Contains(buf.String(), "\x1b") {
		t.Error("plain plan text holds an escape sequence")
	}

	// On a terminal, the symbols are coloured; nothing else is.
	var color bytes.Buffer
	if err := (PlanText{Color: true}).Write(&color, moverPlan()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "plan-mover-color.txt", color.Bytes())
	for _, want := range []string{"  " + ansiRed + "-" + ansiReset + " E3001:package-remove:ide@ws1", "  " + ansiGreen + "+" + ansiReset + " E3001:package:crm", "  " + ansiYellow + "~" + ansiReset + " E3001:account:mo.ver"} {
		if !strings.Contains(color.String(), want) {
			t.Errorf("coloured plan lacks %q", want)
		}
	}
	if got := strings.NewReplacer(ansiRed, "", ansiGreen, "", ansiYellow, "", ansiReset, "").Replace(color.String()); got != buf.String() {
		t.Errorf("colour changed more than the symbols:\n%s", got)
	}

	// A value cannot colour the screen, even with colours on.
	p := moverPlan()
	p.Steps[4].Title = "Uninstall \x1b[32mide"
	color.Reset()
	if err := (PlanText{Color: true}).Write(&color, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(color.String(), `Uninstall \x1b[32mide`) {
		t.Errorf("an escape in a title reached the terminal:\n%q", color.String())
	}
}

// JSON carries what the text shows: each removal's rule and evidence, and
// the hire's kept items and what moved.
func TestPlanJSONMover(t *testing.T) {
	b, err := json.Marshal(moverPlan())
	if err != nil {
		t.Fatal(err)
	}
	var back plan.Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	s := back.Step("E3001:package-remove:ide@ws1")
	if s == nil || s.Rule != plan.RulePlaced || s.Evidence == "" || s.Action != plan.ActionRemove {
		t.Errorf("removal step read back: %+v", s)
	}
	if h := back.Hires[0]; len(h.Kept) != 3 || h.Kept[0].Rule != plan.RuleNotPlaced || len(h.Moved) != 2 {
		t.Errorf("hire read back: kept %+v, moved %v", h.Kept, h.Moved)
	}
}
