package plan

import (
	"encoding/json"
	"testing"
	"time"

	"onboard/internal/golden"
)

// The leaver's directory steps as the planner will get them: ids, titles,
// specs and the order of dependencies, in JSON as a saved plan holds them.
func TestLeaverSteps(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Leaver
	}{
		{"full", Leaver{Hire: "E1042", Username: "ada", Directory: "corp-ad", TitleName: "Ada Lovelace",
			LeaveAt: time.Date(2026, 12, 31, 17, 0, 0, 0, time.FixedZone("CET", 3600)), Groups: []string{"sales", "crm-users"},
			Rule: RulePlaced, Evidence: "run 20261203-101500, step E1042:membership:sales",
			LeaversOU: "OU=Leavers,DC=corp,DC=example,DC=test", Expire: true, Computer: "WS-ADA", Timeout: time.Minute}},
		{"minimal", Leaver{Hire: "E7", Username: "bob", Directory: "corp-ldap", LeaveAt: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := LeaverSteps(tc.l)
			ids := map[string]int{}
			for i, s := range steps {
				ids[s.ID] = i
			}
			for i, s := range steps {
				if s.Kind != KindAccountDisable && s.Kind != KindAccountExpire && len(s.DependsOn) == 0 {
					t.Errorf("%s does not wait for the disable", s.ID)
				}
				for _, d := range s.DependsOn {
					if j, ok := ids[d]; !ok || j >= i {
						t.Errorf("%s depends on %s, which is not an earlier step", s.ID, d)
					}
				}
			}
			b, err := json.MarshalIndent(steps, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, "testdata/leaver-"+tc.name+".json", append(b, '\n'))
		})
	}
}
