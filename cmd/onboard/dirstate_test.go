package main

import (
	"strings"
	"testing"

	"onboard/internal/plan"
)

// directoryChanges names each change of the directory state a saved plan
// recorded, and a recorded state edited away from its digest.
func TestDirectoryChanges(t *testing.T) {
	recorded := []plan.DirectoryFact{
		{Directory: "corp-ldap", Kind: "account", Name: "ada", State: plan.Absent},
		{Directory: "corp-ldap", Kind: "employee", Name: "E1", State: plan.Absent},
		{Directory: "corp-ldap", Kind: "group", Name: "sales", State: "cn=sales,ou=Groups,dc=corp"},
		{Directory: "corp-ad", Kind: "computer", Name: "WS1", State: "CN=WS1,OU=Workstations,DC=corp"},
	}
	with := func(changes map[int]string) []plan.DirectoryFact {
		now := append([]plan.DirectoryFact(nil), recorded...)
		for i, s := range changes {
			now[i].State = s
		}
		return now
	}
	tests := []struct {
		name   string
		now    []plan.DirectoryFact
		edited bool
		want   []string
	}{
		{name: "unchanged", now: with(nil)},
		{name: "account made", now: with(map[int]string{0: `uid=ada,ou=People,dc=corp (employee id "")`, 1: "ada"}), want: []string{
			`directory corp-ldap: account ada now exists (made since the plan): uid=ada,ou=People,dc=corp (employee id "")`,
			"directory corp-ldap: the account of employee E1 now exists (made since the plan): ada",
		}},
		{name: "group gone", now: with(map[int]string{2: plan.Absent}), want: []string{
			"directory corp-ldap: group sales is gone (removed since the plan; it was cn=sales,ou=Groups,dc=corp)",
		}},
		{name: "computer moved", now: with(map[int]string{3: "CN=WS1,OU=Old,DC=corp"}), want: []string{
			"directory corp-ad: computer WS1 changed since the plan: was CN=WS1,OU=Workstations,DC=corp, now CN=WS1,OU=Old,DC=corp",
		}},
		{name: "recorded state removed", now: nil, edited: true, want: []string{
			"directory corp-ldap: the recorded state does not match its digest (the plan file was edited)",
			"directory corp-ad: the recorded state does not match its digest (the plan file was edited)",
		}},
		{name: "recorded state edited", now: with(nil), edited: true, want: []string{
			"directory corp-ldap: the recorded state does not match its digest (the plan file was edited)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &plan.Plan{DirectoryState: append([]plan.DirectoryFact(nil), recorded...)}
			p.Inputs = digestDirectories(p.DirectoryState)
			if len(p.Inputs) != 2 || p.Inputs[0].Kind != "directory" || p.Inputs[0].Path != "corp-ldap" {
				t.Fatalf("inputs %+v", p.Inputs)
			}
			switch {
			case tc.edited && tc.now == nil:
				p.DirectoryState = nil
			case tc.edited:
				p.DirectoryState[0].State = "uid=someone-else"
				tc.now[0].State = "uid=someone-else"
			}
			got := directoryChanges(p, tc.now)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
