package report

import (
	"time"

	"onboard/internal/result"
)

// checksRun is a run whose handover checks recorded evidence, one of them
// on a machine that lacks the tool it needs (cannot-run: never a pass).
func checksRun() *result.Run {
	dns := result.Step{ID: "E1077:check:intranet-name", Kind: "check", Hire: "E1077", Host: "ws1", Title: "Check intranet-name on ws1",
		Outcome: result.OK, Reason: "intranet.example.test resolves to 10.0.0.5, fd00::5", Started: at(3 * time.Second), Duration: 40 * ms}
	web := result.Step{ID: "E1077:check:intranet-page", Kind: "check", Hire: "E1077", Host: "ws1", Title: "Check intranet-page on ws1",
		Outcome: result.OK, Reason: "https://intranet.example.test/ answered 200; connected to 10.0.0.5 port 443; certificate subject CN=intranet.example.test, issuer CN=Example CA, expires Dec 3 10:00:00 2027 GMT, trusted by the host (passed on try 3, after 2.004s)",
		Started: at(3 * time.Second), Duration: 2100 * ms}
	mail := result.Step{ID: "E1077:check:smtp", Kind: "check", Hire: "E1077", Host: "ws1", Title: "Check smtp on ws1",
		Outcome: result.Failed, Started: at(3 * time.Second), Duration: 30 * ms,
		Failure: &result.Failure{Host: "ws1", Step: "E1077:check:smtp", Phase: "check", Class: result.ClassCannotRun,
			Message: "cannot run: a command it needs is not on the host (exit 127: timeout: failed to run command 'bash': No such file or directory)"}}
	return &result.Run{
		ID: "r-20261203-1600", Operator: "tech1", Started: t0, Finished: at(10 * time.Second),
		Hires: []result.Hire{{ID: "E1077", Name: "Nina Simone", Username: "nsimone", Host: "ws1", Source: "playbooks/nina.yaml"}},
		Steps: []result.Step{dns, web, mail},
		Handover: []result.Step{
			func() result.Step { s := dns; s.Started = at(8 * time.Second); return s }(),
			func() result.Step { s := web; s.Started = at(8 * time.Second); return s }(),
			{ID: mail.ID, Kind: "check", Hire: "E1077", Host: "ws1", Title: mail.Title, Outcome: result.Skipped, Reason: "the step did not complete: failed"},
		},
	}
}
