package plan

import (
	"slices"
	"strings"
	"testing"
)

func limitPlan() *Plan {
	p := &Plan{Version: 1, Hosts: map[string]*Host{}, Directories: map[string]*Directory{"corp-ad": {Name: "corp-ad"}}}
	for _, h := range []struct{ id, host string }{{"E1", "ws1"}, {"E2", "ws2"}, {"E3", "ws10"}} {
		p.Hires = append(p.Hires, Hire{ID: h.id, Host: h.host, Source: h.id + ".yaml"})
		p.Sources = append(p.Sources, h.id+".yaml")
		p.Hosts[h.host] = &Host{Name: h.host}
		acct := &Step{ID: h.id + ":account", Hire: h.id, Directory: "corp-ad"}
		file := &Step{ID: h.id + ":file", Hire: h.id, Host: h.host, DependsOn: []string{acct.ID}}
		p.Steps = append(p.Steps, acct, file)
	}
	return p
}

func TestLimitSelect(t *testing.T) {
	tests := []struct {
		limit   []string
		hires   string // selected, in plan order
		wantErr string
	}{
		{nil, "E1 E2 E3", ""},
		{[]string{"E1"}, "E1", ""},
		{[]string{"ws*"}, "E1 E2 E3", ""},
		{[]string{"ws1"}, "E1", ""},
		{[]string{"WS2"}, "E2", ""},
		{[]string{"e3"}, "E3", ""},
		{[]string{"ws1,E3"}, "E1 E3", ""},
		{[]string{"ws1", "E3"}, "E1 E3", ""},
		{[]string{"!E2"}, "E1 E3", ""},
		{[]string{"ws*,!ws1*"}, "E2", ""},
		{[]string{"ws[12]"}, "E1 E2", ""},
		{[]string{"ws9"}, "", "--limit ws9: no hire or host of the plan matches"},
		{[]string{"E1,nope,!gone"}, "", "--limit nope,!gone: no hire or host"},
		{[]string{"!E1,!E2,!E3"}, "", "leaves no hire to run"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.limit, " "), func(t *testing.T) {
			l, err := ParseLimit(tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			p := limitPlan()
			got, err := l.Select(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, h := range got.Hires {
				ids = append(ids, h.ID)
			}
			if strings.Join(ids, " ") != tt.hires {
				t.Fatalf("hires %v, want %s", ids, tt.hires)
			}
			// Only the selected hires' steps, hosts and sources remain.
			for _, s := range got.Steps {
				if !slices.Contains(ids, s.Hire) {
					t.Errorf("step %s of an unselected hire kept", s.ID)
				}
			}
			if len(got.Steps) != 2*len(ids) || len(got.Hosts) != len(ids) || len(got.Sources) != len(ids) {
				t.Errorf("%d steps, %d hosts, %d sources for %d hires", len(got.Steps), len(got.Hosts), len(got.Sources), len(ids))
			}
			if len(p.Hires) != 3 || len(p.Steps) != 6 {
				t.Error("Select changed the plan it was given")
			}
		})
	}
}

func TestParseLimitRefusesBadPatterns(t *testing.T) {
	if _, err := ParseLimit([]string{"ws[1"}); err == nil || !strings.Contains(err.Error(), "--limit ws[1") {
		t.Fatalf("got %v", err)
	}
}

// A limit that leaves out a step another kept step depends on is refused,
// not run with a dangling dependency.
func TestLimitKeepsDependencies(t *testing.T) {
	p := limitPlan()
	p.Steps[3].DependsOn = append(p.Steps[3].DependsOn, "E1:account") // E2's file waits on E1's account
	l, _ := ParseLimit([]string{"E2"})
	if _, err := l.Select(p); err == nil || !strings.Contains(err.Error(), "depends on E1:account") {
		t.Fatalf("got %v", err)
	}
}
