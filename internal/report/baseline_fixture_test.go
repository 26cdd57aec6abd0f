package report

import (
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
)

// baselineRun is a run of the baseline check set for two hires: one whose
// only failing check is waived (ready), and one whose waiver has expired
// (the check counts again: not ready). Waivers are judged on the run's
// start day, t0.
func baselineRun() *result.Run {
	check := func(hire, host, name string, o result.Outcome, evidence string, w *plan.Waiver) result.Step {
		s := result.Step{ID: hire + ":check:" + name, Kind: "check", Hire: hire, Host: host, Title: "Check " + name + " on " + host,
			Outcome: o, Set: "baseline@1", Waiver: result.NewWaiver(w, t0), Started: at(3 * time.Second), Duration: 50 * ms}
		switch {
		case o.Done():
			s.Reason = evidence
		case strings.HasPrefix(evidence, "cannot "):
			s.Failure = &result.Failure{Host: host, Step: s.ID, Phase: "check", Class: result.ClassCannotRun, Message: evidence}
		default:
			s.Failure = &result.Failure{Host: host, Step: s.ID, Phase: "check", Message: evidence}
		}
		return s
	}
	day := t0.UTC().Format("2006-01-02")
	steps := []result.Step{
		check("E1101", "ws1", "firewall-active", result.Failed, "no filter chain on the input hook in the loaded nftables ruleset (0 chains) (exit 1, want 0)",
			&plan.Waiver{Reason: "nftables rollout for the design team is in January", Expires: day}),
		check("E1101", "ws1", "ssh-root-password", result.OK, "sshd -T: permitrootlogin no, passwordauthentication no", nil),
		check("E1101", "ws1", "screen-lock", result.OK, "not applicable: no desktop session is installed (nothing in /usr/share/xsessions or /usr/share/wayland-sessions)", nil),
		check("E1102", "ws2", "disk-encryption", result.Failed, "cannot tell: lsblk lists no block devices",
			&plan.Waiver{Reason: "laptop re-imaged with LUKS next week", Expires: "2026-11-22"}),
		check("E1102", "ws2", "firewall-active", result.Failed, "cannot run: a command it needs is not on the host (exit 127: sh: 2: nft: not found)",
			&plan.Waiver{Reason: "nftables arrives with the next image", Expires: "2026-12-31"}),
		check("E1102", "ws2", "security-updates-enabled", result.OK, `apt configuration: APT::Periodic::Unattended-Upgrade "1";`,
			&plan.Waiver{Reason: "not needed", Expires: "2027-01-31"}),
	}
	var handover []result.Step
	for _, s := range steps {
		h := s
		h.Started = at(8 * time.Second)
		if !s.Outcome.Done() {
			h.Outcome, h.Reason, h.Failure, h.Duration = result.Skipped, "the step did not complete: failed", nil, 0
		}
		handover = append(handover, h)
	}
	return &result.Run{
		ID: "r-20261123-0900", Operator: "tech1", Started: t0, Finished: at(10 * time.Second),
		Hires: []result.Hire{
			{ID: "E1101", Name: "Nina Simone", Username: "nsimone", Host: "ws1", Source: "playbooks/nina.yaml"},
			{ID: "E1102", Name: "Miles Davis", Username: "mdavis", Host: "ws2", Source: "playbooks/miles.yaml"},
		},
		Steps:    steps,
		Handover: handover,
	}
}
