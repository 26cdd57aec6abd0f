package report

import (
	"path/filepath"
	"testing"
	"time"

	"onboard/internal/golden"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// t0 is the fixed start of every fixture, so goldens are stable.
var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

const ms = time.Millisecond

// failedOutput is the multi-line tail of a failed apt-get, with colour
// codes, a progress bar and markup that every format must neutralise.
const failedOutput = "Reading package lists...\n" +
	"Building dependency tree...\r\n" +
	"Progress: [ 10%]\rProgress: [ 50%]\rProgress: [100%]\n" +
	"\x1b[1;31mE:\x1b[0m Unable to locate package acme-chat\n" +
	"E: Version '3.1.0' for 'acme-chat' was not found\n" +
	"<script>alert('x')</script> | `tick` & *stars*\n"

// sampleRun is a finished run with two hires: Ada is ready, Alan is not.
func sampleRun() *result.Run {
	return &result.Run{
		ID:       "r-20261123-0900",
		Operator: "tech1",
		Started:  t0,
		Finished: at(2*time.Minute + 5*time.Second),
		Hires: []result.Hire{
			{
				ID: "E1001", Name: "Ada Lovelace", Username: "alovelace", Host: "ws1",
				Profile: "engineering", Source: "playbooks/ada.yaml", StartDate: "2026-12-01", Manager: "ghopper",
				Manual:  []string{"Hand over the YubiKey", "Book the welcome lunch"},
				Contact: "Grace Hopper <grace@example.com>, extension 4711",
				Notes:   "Joins the platform team.\nDesk 4.12 on the second floor.",
			},
			{
				ID: "E1002", Name: "Alan Turing", Username: "aturing", Host: "ws2",
				Profile: "research", Source: "playbooks/alan.yaml",
				Manual:  []string{"Collect the badge from reception"},
				Contact: "IT desk, extension 4242",
			},
		},
		Steps: []result.Step{
			{ID: "account-alovelace", Kind: "command", Hire: "E1001", Host: "ws1", Title: "Create account alovelace",
				Outcome: result.OK, Started: at(1 * time.Second), Duration: 400 * ms},
			{ID: "pkg-htop-ws1", Kind: "package", Hire: "E1001", Host: "ws1", Title: "Install htop",
				Outcome: result.Changed, Changed: "installed htop 3.3.0-4", Started: at(2 * time.Second), Duration: 1200 * ms},
			{ID: "printer-floor2", Kind: "printer", Hire: "E1001", Host: "ws1", Title: "Map printer floor2-color",
				Outcome: result.Changed, Changed: "added queue floor2-color (driverless)", Started: at(2 * time.Second), Duration: 2500 * ms},
			{ID: "account-aturing", Kind: "command", Hire: "E1002", Host: "ws2", Title: "Create account aturing",
				Outcome: result.OK, Started: at(1 * time.Second), Duration: 300 * ms},
			{ID: "pkg-acme-chat", Kind: "package", Hire: "E1002", Host: "ws2", Title: "Install acme-chat 3.1.0",
				Outcome: result.Failed, Started: at(2 * time.Second), Duration: 3 * time.Second, Attempts: 2,
				Failure: &result.Failure{
					Host: "ws2", Step: "pkg-acme-chat", Phase: "apply",
					Command:  "sudo -n apt-get install -y 'acme-chat=3.1.0'",
					ExitCode: 100,
					Output:   failedOutput,
					Message:  "apt-get install exited 100",
					Known: &result.Known{ID: "package-not-in-sources", Title: "A package <b>missing</b> from the *repository*",
						Fix:  "Run `apt-get update` on the host.\n<script>alert('kb')</script> [click](javascript:alert(1)) & **bold**",
						Link: "https://intranet.example.com/kb/package-not-in-sources"},
				}},
			{ID: "file-acme-config", Kind: "file", Hire: "E1002", Host: "ws2", Title: "Write acme-chat settings",
				Outcome: result.Skipped, Reason: "depends on pkg-acme-chat, which failed"},
			{ID: "pkg-htop-ws2", Kind: "package", Hire: "E1002", Host: "ws2", Title: "Install htop",
				Outcome: result.Changed, Changed: "installed htop 3.3.0-4", Started: at(2 * time.Second), Duration: 1100 * ms},
		},
		Handover: []result.Step{
			{ID: "account-alovelace", Kind: "command", Hire: "E1001", Host: "ws1", Title: "Create account alovelace",
				Outcome: result.OK, Started: at(10 * time.Second), Duration: 100 * ms},
			{ID: "pkg-htop-ws1", Kind: "package", Hire: "E1001", Host: "ws1", Title: "Install htop",
				Outcome: result.OK, Started: at(10 * time.Second), Duration: 200 * ms},
			{ID: "printer-floor2", Kind: "printer", Hire: "E1001", Host: "ws1", Title: "Map printer floor2-color",
				Outcome: result.OK, Started: at(10 * time.Second), Duration: 150 * ms},
			{ID: "account-aturing", Kind: "command", Hire: "E1002", Host: "ws2", Title: "Create account aturing",
				Outcome: result.OK, Started: at(10 * time.Second), Duration: 100 * ms},
			{ID: "pkg-acme-chat", Kind: "package", Hire: "E1002", Host: "ws2", Title: "Install acme-chat 3.1.0",
				Outcome: result.Failed, Started: at(10 * time.Second), Duration: 250 * ms,
				Failure: &result.Failure{
					Host: "ws2", Step: "pkg-acme-chat", Phase: "verify",
					Command:  "dpkg-query -W -f='${Version}' acme-chat",
					ExitCode: 1,
					Output:   "dpkg-query: no packages found matching acme-chat\n",
					Message:  "acme-chat is not installed",
				}},
			{ID: "pkg-htop-ws2", Kind: "package", Hire: "E1002", Host: "ws2", Title: "Install htop",
				Outcome: result.OK, Started: at(10 * time.Second), Duration: 200 * ms},
		},
	}
}

// dryRun is a dry run with one hire whose machine cannot be fully checked.
func dryRun() *result.Run {
	return &result.Run{
		ID:       "r-20261123-0800-dry",
		Operator: "tech1",
		DryRun:   true,
		Started:  t0,
		Finished: at(12 * time.Second),
		Hires: []result.Hire{{
			ID: "E1003", Name: "Grace Hopper", Username: "ghopper", Host: "ws3",
			Profile: "engineering", Source: "playbooks/grace.yaml",
			Manual: []string{"Hand over the YubiKey"},
		}},
		Steps: []result.Step{
			{ID: "account-ghopper", Kind: "command", Hire: "E1003", Host: "ws3", Title: "Create account ghopper",
				Outcome: result.WouldChange, Reason: "user ghopper does not exist", Started: at(1 * time.Second), Duration: 300 * ms},
			{ID: "pkg-htop-ws3", Kind: "package", Hire: "E1003", Host: "ws3", Title: "Install htop",
				Outcome: result.OK, Started: at(1 * time.Second), Duration: 200 * ms},
			{ID: "file-ghopper-ssh", Kind: "file", Hire: "E1003", Host: "ws3", Title: "Write ~ghopper/.ssh/config",
				Outcome: result.CannotTell, Reason: "depends on account-ghopper, which has not been applied yet"},
			{ID: "printer-floor2-ws3", Kind: "printer", Hire: "E1003", Host: "ws3", Title: "Map printer floor2-color",
				Outcome: result.CannotTell, Reason: "lpstat timed out after 30s", Started: at(2 * time.Second), Duration: 10 * time.Second},
		},
	}
}

// samplePlan is a checked plan for two hires with every action.
func samplePlan() *plan.Plan {
	return &plan.Plan{
		Version: 1,
		Created: t0,
		Sources: []string{"playbooks/ada.yaml", "playbooks/alan.yaml"},
		Hosts: map[string]*plan.Host{
			"ws1": {Name: "ws1", Address: "10.0.0.11", OS: "linux", Transport: "ssh", User: "admin", Credential: "env:WS_PASSWORD"},
			"ws2": {Name: "ws2", Address: "10.0.0.12", Port: 2222, OS: "linux", Transport: "ssh", User: "admin"},
		},
		Hires: []plan.Hire{
			{
				ID: "E1001", Source: "playbooks/ada.yaml", Name: "Ada Lovelace", Username: "alovelace",
				StartDate: "2026-12-01", Profile: "engineering", Host: "ws1",
				Groups:   []string{"developers", "vpn-users"},
				Software: []string{"htop", "acme-chat"},
				Printers: []string{"floor2-color"},
				Manual:   []string{"Hand over the YubiKey"},
				Provenance: []plan.Origin{
					{Item: "group: developers", From: "profile engineering"},
					{Item: "group: vpn-users", From: "playbook"},
					{Item: "software: htop", From: "profile engineering"},
					{Item: "software: acme-chat", From: "playbook"},
					{Item: "software: slack", From: "omitted by playbook"},
					{Item: "printer: floor2-color", From: "profile engineering"},
				},
			},
			{
				ID: "E1002", Source: "playbooks/alan.yaml", Name: "Alan Turing", Username: "aturing",
				Profile: "research", Host: "ws2",
				Software: []string{"htop"},
			},
		},
		Steps: []*plan.Step{
			{ID: "account-alovelace", Kind: plan.KindCommand, Hire: "E1001", Host: "ws1", Title: "Create account alovelace",
				Action: plan.ActionCreate, Reason: "user alovelace does not exist"},
			{ID: "pkg-htop-ws1", Kind: plan.KindPackage, Hire: "E1001", Host: "ws1", Title: "Install htop",
				Action: plan.ActionNone},
			{ID: "pkg-acme-chat", Kind: plan.KindPackage, Hire: "E1001", Host: "ws1", Title: "Install acme-chat 3.1.0",
				Action: plan.ActionUpdate, Reason: "installed 3.0.2, wanted 3.1.0"},
			{ID: "file-acme-config", Kind: plan.KindFile, Hire: "E1001", Host: "ws1", Title: "Write acme-chat settings",
				DependsOn: []string{"account-alovelace", "pkg-acme-chat"},
				Action:    plan.ActionCannotTell, Reason: "depends on account-alovelace, which has not been applied yet"},
			{ID: "printer-floor2", Kind: plan.KindPrinter, Hire: "E1001", Host: "ws1", Title: "Map printer floor2-color",
				Action: plan.ActionNone},
			{ID: "account-aturing", Kind: plan.KindCommand, Hire: "E1002", Host: "ws2", Title: "Create account aturing",
				Action: plan.ActionNone},
			{ID: "pkg-htop-ws2", Kind: plan.KindPackage, Hire: "E1002", Host: "ws2", Title: "Install htop",
				DependsOn: []string{"account-aturing"}},
		},
	}
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Assert(t, filepath.Join("testdata", name), got)
}
