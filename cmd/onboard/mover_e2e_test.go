package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/engine"
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
	// The account update shows each attribute old → new when checked (the
	// removal kinds are left out here: their check lives in internal/step).
	checked := *p
	checked.Steps = nil
	for _, s := range p.Steps {
		if !plan.IsRemoval(s.Kind) {
			c := *s
			c.DependsOn = slices.DeleteFunc(slices.Clone(s.DependsOn), func(d string) bool { return strings.Contains(d, "-remove:") })
			checked.Steps = append(checked.Steps, &c)
		}
	}
	res := o.engine(nil).Run(context.Background(), &checked, engine.DryRun)
	i := slices.IndexFunc(res.Steps, func(s result.Step) bool { return s.ID == "E260:account:"+username })
	switch {
	case i < 0:
		t.Errorf("the checked plan has no account step: %+v", res.Steps)
	case res.Steps[i].Outcome != result.WouldChange || !strings.Contains(res.Steps[i].Reason, `"Engineer" → "Account Executive"`):
		t.Errorf("account step checked: %+v; want would-change, the title old → new", res.Steps[i])
	}
}
