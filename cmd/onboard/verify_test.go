package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"onboard/internal/golden"
	"onboard/internal/result"
)

// What `onboard verify` prints for a run of the baseline on two hosts: one
// verdict per check with its evidence, in text and JSON; a check that
// cannot tell is not a pass, one that does not apply is.
func TestVerifyOutputGolden(t *testing.T) {
	step := func(host, name string, o result.Outcome, reason string, f *result.Failure) result.Step {
		return result.Step{ID: host + ":check:" + name, Kind: "check", Hire: host, Host: host, Set: "baseline@1",
			Outcome: o, Reason: reason, Failure: f, Duration: 40 * time.Millisecond}
	}
	res := &result.Run{ID: "20261203T165641Z-70adaa",
		Hires: []result.Hire{{ID: "ws1"}, {ID: "ws2"}},
		Steps: []result.Step{
			step("ws1", "firewall-active", result.OK, "nftables input chain: type filter hook input priority filter; policy drop; 1 chains", nil),
			step("ws1", "screen-lock", result.OK, "not applicable: no desktop session is installed", nil),
			step("ws1", "ssh-root-password", result.OK, "sshd -T: permitrootlogin no, passwordauthentication no", nil),
			step("ws2", "firewall-active", result.Failed, "check", &result.Failure{Phase: "check", Class: result.ClassCannotRun,
				Message: "cannot run: a command it needs is not on the host (exit 127: sh: 2: nft: not found)"}),
			step("ws2", "disk-encryption", result.Failed, "check", &result.Failure{Phase: "check", Class: result.ClassCannotRun,
				Message: "cannot tell: lsblk lists no block devices"}),
			step("ws2", "ssh-root-password", result.Failed, "check", &result.Failure{Phase: "check",
				Message: "sshd -T: permitrootlogin yes, passwordauthentication yes (exit 1, want 0)"}),
		},
	}
	out := verifyResult(res, "baseline@1")
	if out.Passed || !out.Hosts[0].Passed || out.Hosts[1].Passed {
		t.Errorf("passed %v, hosts %v %v: want only ws1 passed", out.Passed, out.Hosts[0].Passed, out.Hosts[1].Passed)
	}
	var text bytes.Buffer
	writeVerifyText(&text, out)
	golden.Assert(t, "testdata/verify/baseline.txt", text.Bytes())
	js, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/verify/baseline.json", append(js, '\n'))
}
