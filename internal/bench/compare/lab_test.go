package compare

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab"
)

// TestRunQuickAgainstLab runs every tool once at N=2 against a lab of its
// own (root; about half a minute) and checks that each measured something
// and that the hosts end provisioned.
func TestRunQuickAgainstLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab")
	}
	bin := filepath.Join(t.TempDir(), "onboard")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../cmd/onboard").CombinedOutput(); err != nil {
		t.Fatalf("build onboard: %v: %s", err, out)
	}
	l := lab.ForTest(t, lab.Config{Name: "bcmpt", Subnet: 78, Workstations: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log strings.Builder
	rep, err := Run(ctx, l, Config{Onboard: bin, Inventory: "../../../inventory",
		Trivial: []int{2}, Provision: []int{2}, Runs: 1, Log: &log})
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		Trivial:   {OnboardText, OnboardJSON, Ansible, BareSession, BareBatched},
		Provision: {OnboardText, Ansible, PhysicalLimit},
		Rerun:     {OnboardText, Ansible, BareChecks},
	}
	for w, tools := range want {
		row := rep.Row(w, 2)
		if len(row.Cells) != len(tools) {
			t.Errorf("%s: %d tools measured, want %v", w, len(row.Cells), tools)
		}
		for _, tool := range tools {
			c := row.Cell(tool)
			if c == nil || len(c.Samples) != 1 {
				t.Errorf("%s: %s not measured once: %+v", w, tool, c)
				continue
			}
			s := c.Median
			if s.Wall <= 0 || s.HostCPU <= 0 || s.ControllerCPU <= 0 {
				t.Errorf("%s %s: a figure is missing: %+v", w, tool, s)
			}
			if (tool == OnboardText || tool == OnboardJSON || tool == Ansible) && s.PeakRSSKB <= 0 {
				t.Errorf("%s %s: no peak RSS", w, tool)
			}
		}
		if r := row.Ratios(); r.AnsibleOverOnboard <= 0 || r.OnboardOverFloor <= 0 {
			t.Errorf("%s: ratios %+v", w, r)
		}
	}
	// The process count sees one shell per command at least: 10 commands
	// a session each, on each of the 2 hosts.
	if got := rep.Row(Trivial, 2).Cell(BareSession).Median.HostProcs; got < 2*10 {
		t.Errorf("bare session per command started %d processes on 2 hosts, want at least 20", got)
	}
	if s, b := rep.Row(Trivial, 2).Cell(BareSession).Median.HostProcs, rep.Row(Trivial, 2).Cell(BareBatched).Median.HostProcs; b >= s || b < 2 {
		t.Errorf("batched started %d processes, session per command %d: want fewer, at least one per host", b, s)
	}
	// The last provisioning (the physical limit) left every host set up.
	for _, ws := range l.Workstations {
		out, _, err := l.Exec(ctx, ws.Name, "dpkg-query -W -f='${Version}' acme-chat && lpstat -v Office-2F && cat /etc/motd && test -d /srv/workspace")
		if err != nil || !strings.Contains(out, "3.1.0") || !strings.Contains(out, "Welcome Bench") {
			t.Errorf("%s after the benchmark: %v: %s", ws.Name, err, out)
		}
	}
}
