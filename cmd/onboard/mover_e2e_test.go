package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/plan"
	"onboard/internal/result"
)

const moverHire = `person:
  employee_id: E260
  given_name: Moira
  surname: Vance
  title: %s
  department: %s
  start_date: 2026-12-01
profile: %s
account:
  directory: corp-ldap
  must_change_password: false
  password: {deliver: "file:pw/E260-%s.pw"}
machine:
  host: ws4
%s`

// A hire onboarded for real, then moved from engineering to sales: the
// plan of the edited playbook, made from the journal the real run wrote,
// removes what that run put in place and the new profile does not name,
// keeps what it found in place (a package installed by hand before) with
// its rule, and with prune.groups removes a group added by hand in the
// directory since. The removal kinds' own check/apply are tested with
// internal/step.
func TestMoverReplanAfterARealRun(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	// git-tools by hand before the first run; the IDE not there, so that
	// the run installs it.
	wsExec(t, l, "ws4", `dpkg -r acme-ide >/dev/null 2>&1; apt-get install -y acme-git-tools >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y acme-git-tools >/dev/null; }`)
	first := e.write("first/moira.yaml", fmt.Sprintf(moverHire, "Engineer", "Engineering", "engineering", "1", "  software: {add: [git-tools]}\n"))
	code, r, stderr := e.jsonRun(first, "--allow-write", e.dir)
	if code != exitOK {
		t.Fatalf("first run: exit %d: %s\n%+v", code, stderr, r.Steps)
	}
	outcome := map[string]result.Step{}
	for _, s := range r.Steps {
		outcome[s.ID] = s
	}
	if o := outcome["E260:package:git-tools"].Outcome; o != result.OK {
		t.Fatalf("git-tools, installed by hand: %s, want ok", o)
	}
	if o := outcome["E260:package:ide"].Outcome; o != result.Changed {
		t.Fatalf("the IDE: %s, want changed", o)
	}

	// Since: someone adds the account to data-science by hand.
	d := labDir(t, l, "corp-ldap")
	c := ldapAs(t, d)
	username := r.Hires[0].Username
	u := entry(t, c, d.BaseDN, "(uid="+username+")")
	mod := ldap.NewModifyRequest("cn=data-science,ou=Groups,"+d.BaseDN, nil)
	mod.Add("member", []string{u.DN})
	if err := c.Modify(mod); err != nil {
		t.Fatal(err)
	}

	moved := e.write("moved/moira.yaml", fmt.Sprintf(moverHire, "Account Executive", "Sales", "sales", "2", "prune: {groups: true}\n"))
	o := &options{inventory: []string{e.inv}, profiles: []string{"../../playbooks/profiles"}, allowWrite: []string{e.dir},
		stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	p, err := o.load(context.Background(), []string{moved})
	if err != nil {
		t.Fatal(err)
	}
	type removal struct{ rule, evidence string }
	got := map[string]removal{}
	for _, s := range p.Steps {
		if plan.IsRemoval(s.Kind) {
			got[s.ID] = removal{s.Rule, s.Evidence}
		}
	}
	want := map[string]removal{
		"E260:membership-remove:engineering@corp-ldap":  {plan.RulePlaced, "run " + r.ID + ", step E260:membership:engineering"},
		"E260:membership-remove:github-users@corp-ldap": {plan.RulePlaced, "run " + r.ID + ", step E260:membership:github-users"},
		"E260:membership-remove:data-science@corp-ldap": {plan.RulePrune, "a member of data-science in corp-ldap when planned"},
		"E260:package-remove:ide@ws4":                   {plan.RulePlaced, "run " + r.ID + ", step E260:package:ide"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("removals:\n%v\nwant:\n%v", got, want)
	}
	h := p.Hires[0]
	if !slices.ContainsFunc(h.Kept, func(k plan.Kept) bool {
		return k.Item == "software: git-tools on ws4" && k.Rule == plan.RuleNotPlaced && strings.Contains(k.Evidence, r.ID)
	}) {
		t.Errorf("git-tools, installed by hand, is not kept with its rule: %+v", h.Kept)
	}
	if !slices.Contains(h.Moved, `profile: "engineering" → "sales" (run `+r.ID+`)`) {
		t.Errorf("moved: %q", h.Moved)
	}
	// The plan as the technician reads it: each removal marked and its
	// rule, the account update old → new.
	code, text, stderr := e.onboard("plan", moved, "--allow-write", e.dir)
	if code != exitChanges && code != exitOK {
		t.Fatalf("plan of the move: exit %d: %s\n%s", code, stderr, text)
	}
	for _, want := range []string{
		"  - E260:package-remove:ide@ws4",
		"rule placed-by-onboard: run " + r.ID + ", step E260:package:ide",
		"rule prune: a member of data-science in corp-ldap when planned",
		`"Engineer" → "Account Executive"`,
		"software: git-tools on ws4",
		"to remove,",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan text lacks %q:\n%s", want, text)
		}
	}

	// The move applied: the groups and the software follow the new
	// profile, and what someone installed by hand stays.
	code, r2, stderr := e.jsonRun(moved, "--allow-write", e.dir)
	if code != exitOK {
		t.Fatalf("the move: exit %d: %s\n%+v", code, stderr, r2.Steps)
	}
	for id := range want {
		if o := outcomes(r2.Steps)[id]; o != result.Changed {
			t.Errorf("%s: %s, want changed", id, o)
		}
	}
	u = entry(t, c, d.BaseDN, "(uid="+username+")", "memberOf")
	var groups []string
	for _, g := range u.GetAttributeValues("memberOf") {
		groups = append(groups, strings.TrimPrefix(strings.SplitN(g, ",", 2)[0], "cn="))
	}
	slices.Sort(groups)
	if fmt.Sprint(groups) != "[crm-users sales vpn-users]" {
		t.Errorf("groups after the move: %v, want the sales profile's", groups)
	}
	pkgs := wsExec(t, l, "ws4", `for p in acme-ide acme-git-tools acme-crm; do dpkg-query -W -f '${Package} ${Status}\n' $p 2>/dev/null || echo "$p absent"; done`)
	for _, want := range []string{"acme-git-tools install ok installed", "acme-crm install ok installed"} {
		if !strings.Contains(pkgs, want) {
			t.Errorf("after the move, want %q:\n%s", want, pkgs)
		}
	}
	if strings.Contains(pkgs, "acme-ide install ok installed") {
		t.Errorf("the IDE onboard installed for engineering is still there:\n%s", pkgs)
	}

	// Once moved, a re-run removes nothing more and changes nothing.
	code, r3, stderr := e.jsonRun(moved, "--allow-write", e.dir)
	if code != exitOK {
		t.Fatalf("re-run after the move: exit %d: %s", code, stderr)
	}
	for _, s := range r3.Steps {
		if plan.IsRemoval(s.Kind) || s.Outcome != result.OK {
			t.Errorf("re-run after the move: %s %s (%s), want every step ok and no removal", s.ID, s.Outcome, s.Kind)
		}
	}
}
