package result

import (
	"fmt"
	"testing"
	"time"
)

func TestCompareEvidence(t *testing.T) {
	f := func(kv ...string) []Fact {
		var fs []Fact
		for i := 0; i+1 < len(kv); i += 2 {
			fs = append(fs, Fact{Key: kv[i], Value: kv[i+1]})
		}
		return fs
	}
	ok := func(reason string, facts []Fact) Step { return Step{Outcome: OK, Reason: reason, Evidence: facts} }
	failed := func(msg string, facts []Fact) Step {
		return Step{Outcome: Failed, Reason: "check", Failure: &Failure{Phase: "check", Message: msg}, Evidence: facts}
	}
	tests := []struct {
		name     string
		was, now Step
		want     string
	}{
		{"unchanged", ok("a", f("addresses", "10.0.0.5")), ok("a", f("addresses", "10.0.0.5")), "[]"},
		{"a field changed", ok("a", f("addresses", "10.0.0.5")), ok("b", f("addresses", "10.0.0.9")), "[addresses: 10.0.0.5 → 10.0.0.9]"},
		{"several, in the order now records them", ok("a", f("status", "200", "certificate expiry", "2027-03-01")),
			failed("b", f("status", "503", "certificate expiry", "2026-12-20")),
			"[status: 200 → 503 certificate expiry: 2027-03-01 → 2026-12-20]"},
		{"a field appears and one goes", ok("a", f("state", "active", "at boot", "enabled")), ok("a", f("state", "active", "address", "10.0.0.1")),
			"[address: (not recorded) → 10.0.0.1 at boot: enabled → (not recorded)]"},
		{"a record from before fields: words", ok("10.0.0.5", nil), ok("10.0.0.9", f("addresses", "10.0.0.9")), "[evidence: 10.0.0.5 → 10.0.0.9]"},
		{"words, the same", ok("x resolves to 10.0.0.5", nil), ok("x resolves to 10.0.0.5", nil), "[]"},
		{"words of a failure", ok("ssh is running", nil), failed("ssh is stopped", nil), "[evidence: ssh is running → ssh is stopped]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range CompareEvidence(tt.was, tt.now) {
				got = append(got, fmt.Sprintf("%s: %s → %s", c.Field, c.Was, c.Now))
			}
			if s := fmt.Sprintf("%v", got); s != tt.want {
				t.Errorf("got  %s\nwant %s", s, tt.want)
			}
			c := NewEvidenceChange(tt.was, tt.now, "r1", time.Unix(0, 0))
			if c.Unchanged != (len(got) == 0) || c.SinceRun != "r1" {
				t.Errorf("NewEvidenceChange: %+v", c)
			}
		})
	}
}
