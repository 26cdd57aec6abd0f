package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"onboard/internal/result"
)

// A profile's four packages reach a real workstation in one apt
// transaction (one entry in apt's own history), each step still reported
// and verified on its own.
func TestPackagesOneTransaction(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	pkgs := []string{"acme-vpn", "acme-chat", "acme-ide", "acme-office"}
	// Whatever ran on ws3 before, the four are missing now. dpkg itself
	// writes no apt history, so the count below is onboard's alone.
	wsExec(t, l, "ws3", "dpkg --purge "+strings.Join(pkgs, " ")+" >/dev/null 2>&1; true")
	history := func() string {
		out, _, _ := l.Exec(context.Background(), "ws3", "cat /var/log/apt/history.log 2>/dev/null; true")
		return out
	}
	before := strings.Count(history(), "Start-Date:")

	pb := e.write("pat.yaml", fmt.Sprintf(hireTmpl, "E60", "Pat", "Batchelor", "engineering", "ws3", ""))
	code, r, stderr := e.jsonRun(pb)
	if code != exitOK {
		t.Fatalf("exit %d: %s\nsteps: %+v", code, stderr, r.Steps)
	}
	for _, s := range r.Steps {
		if s.Kind == "package" && (s.Outcome != result.Changed || !strings.HasPrefix(s.Changed, "installed acme-")) {
			t.Errorf("%s: %s %q, want changed on its own", s.ID, s.Outcome, s.Changed)
		}
	}
	for _, s := range r.Handover {
		if s.Outcome != result.OK {
			t.Errorf("handover %s: %s %s", s.ID, s.Outcome, s.Reason)
		}
	}

	h := history()
	if n := strings.Count(h, "Start-Date:") - before; n != 1 {
		t.Fatalf("%d apt transactions, want 1:\n%s", n, h)
	}
	last := h[strings.LastIndex(h, "Start-Date:"):]
	cmdline := regexp.MustCompile(`(?m)^Commandline: .*$`).FindString(last)
	for _, p := range pkgs {
		if !strings.Contains(cmdline, " "+p) || !strings.Contains(last, p+":") {
			t.Errorf("the transaction does not install %s:\n%s", p, last)
		}
	}
	if v := wsExec(t, l, "ws3", "dpkg-query -W -f='${Package}=${Version} ' "+strings.Join(pkgs, " ")); v != "acme-chat=3.1.0 acme-ide=1.9.3 acme-office=7.3.0 acme-vpn=2.4.1 " {
		t.Errorf("ws3 packages: %q", v)
	}
}
