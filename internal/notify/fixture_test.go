package notify

import (
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// fixtureSecret stands for a password that leaked into a command's output:
// registered as a secret, it must never reach a message.
const fixtureSecret = "Corr3ct-Horse-Battery"

var _ = secret.New(fixtureSecret)

var t0 = time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)

// fixturePlan has two hires: Ada on ws1 with every kind of rule, Grace on
// ws2 with a rule only for failures.
func fixturePlan() *plan.Plan {
	return &plan.Plan{Version: 1, Hires: []plan.Hire{
		{ID: "E1001", Name: "Ada Lovelace", Username: "alovelace", Host: "ws1", Profile: "engineering", Manager: "ghopper", StartDate: "2026-12-07",
			Manual: []string{"Hand over the laptop and the badge"},
			Notify: []plan.NotifyRule{
				{On: []string{"failure", "human-task"}, To: []plan.Recipient{{Who: "on-duty", Address: "oncall@corp.example.test"}}, Via: []string{"mail", "chat"}},
				{On: []string{"handover-ready", "failure"}, To: []plan.Recipient{{Who: "manager", Address: "ghopper@corp.example.test"}}, Via: []string{"mail"}},
				{On: []string{"failure"}, Via: []string{"helpdesk", "hook"}},
				{On: []string{"drift"}, To: []plan.Recipient{{Who: "team:it-desk", Address: "it-desk@corp.example.test"}}, Via: []string{"mail"}},
			}},
		{ID: "E1002", Name: "Grace Hopper", Username: "ghopper2", Host: "ws2",
			Notify: []plan.NotifyRule{{On: []string{"failure"}, To: []plan.Recipient{{Who: "on-duty", Address: "oncall@corp.example.test"}}, Via: []string{"mail"}}}},
	}}
}

func step(hire, id, host, title string, o result.Outcome) result.Step {
	return result.Step{ID: id, Kind: "package", Hire: hire, Host: host, Title: title, Outcome: o, Started: t0}
}

// failedRun: Ada's package step failed with an output that holds the
// secret; her printer step was skipped; Grace's steps are done.
func failedRun() *result.Run {
	fail := step("E1001", "E1001/package/acme-chat", "ws1", "package acme-chat 3.1.0", result.Failed)
	fail.Failure = &result.Failure{Host: "ws1", Step: fail.ID, Phase: "apply",
		Command: "apt-get install -y acme-chat=3.1.0", ExitCode: 100,
		Output:  "Reading package lists...\nE: Unable to locate package acme-chat\nlogin with password " + fixtureSecret + " refused",
		Message: "apply failed: exit status 100",
		Known: &result.Known{ID: "package-not-in-sources", Title: "A package <b>missing</b> from the repository",
			Fix:  "Run `apt-get update` on the host & <script>alert('kb')</script>; never paste " + fixtureSecret,
			Link: "https://intranet.example.com/kb/package-not-in-sources"}}
	return &result.Run{ID: "20261203T060000Z-abc123", Operator: "tech", Started: t0, Finished: t0.Add(42 * time.Second),
		Hires: []result.Hire{{ID: "E1001", Name: "Ada Lovelace"}, {ID: "E1002", Name: "Grace Hopper"}},
		Steps: []result.Step{
			step("E1001", "E1001/account", "", "account alovelace in corp-ldap", result.Changed),
			fail,
			step("E1001", "E1001/printer/office-2f", "ws1", "printer Office-2F", result.Skipped),
			step("E1002", "E1002/package/acme-vpn", "ws2", "package acme-vpn", result.Changed),
		},
		Handover: []result.Step{
			step("E1001", "E1001/account", "", "account alovelace in corp-ldap", result.OK),
			step("E1002", "E1002/package/acme-vpn", "ws2", "package acme-vpn", result.OK),
		},
	}
}

// okRun: everything done and re-checked.
func okRun() *result.Run {
	return &result.Run{ID: "20261203T070000Z-def456", Operator: "tech", Started: t0, Finished: t0.Add(30 * time.Second),
		Steps: []result.Step{
			step("E1001", "E1001/account", "", "account alovelace in corp-ldap", result.Changed),
			step("E1001", "E1001/package/acme-chat", "ws1", "package acme-chat 3.1.0", result.Changed),
		},
		Handover: []result.Step{
			step("E1001", "E1001/account", "", "account alovelace in corp-ldap", result.OK),
			step("E1001", "E1001/package/acme-chat", "ws1", "package acme-chat 3.1.0", result.OK),
		},
	}
}
