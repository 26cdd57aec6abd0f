package planner

import (
	"strings"
	"testing"
	"time"

	"onboard/internal/plan"
)

// A check set planned on its own against inventory hosts (onboard verify):
// each host stands as the hire of its checks, every check names its set.
func TestVerifyPlan(t *testing.T) {
	inv := loadInv(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	p, err := VerifyPlan(inv, "corp@2", []string{"ws1", "ws2", "ws1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hires) != 2 || p.Hires[0].ID != "ws1" || p.Hires[1].Host != "ws2" || len(p.Hosts) != 2 || !p.Created.Equal(now) {
		t.Fatalf("hires %+v, hosts %d", p.Hires, len(p.Hosts))
	}
	var ids []string
	for _, s := range p.Steps {
		if s.Kind != plan.KindCheck || s.Check.Set != "corp@2" || s.Hire != s.Host || s.Timeout <= 0 {
			t.Errorf("%s: kind %s set %q hire %s host %s timeout %v", s.ID, s.Kind, s.Check.Set, s.Hire, s.Host, time.Duration(s.Timeout))
		}
		if s.Host == "ws1" {
			ids = append(ids, s.ID)
		}
	}
	want := "ws1:check:firewall-active ws1:check:security-updates-installed ws1:check:security-updates-enabled ws1:check:disk-encryption ws1:check:ssh-root-password ws1:check:corp-ca"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("steps on ws1:\n got %s\nwant %s", got, want)
	}

	for _, tc := range []struct {
		set   string
		hosts []string
		want  string
	}{
		{"baseline@3", []string{"ws1"}, "--checks: check set baseline is version 1, not 3"},
		{"nope", []string{"ws1"}, `--checks: unknown check set "nope"`},
		{"baseline", []string{"ws9"}, `unknown host "ws9"`},
		{"baseline", []string{"win1"}, "host win1 runs Windows: check set baseline@1 is for Linux hosts"},
		{"empty", []string{"ws1"}, "--checks: check set empty@1 has no checks"},
	} {
		if _, err := VerifyPlan(inv, tc.set, tc.hosts, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s on %v: %v, want %q", tc.set, tc.hosts, err, tc.want)
		}
	}
}
