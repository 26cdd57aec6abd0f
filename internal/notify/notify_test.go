package notify

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"onboard/internal/golden"
	"onboard/internal/inventory"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// summary is one message in a line: key, channel, recipients.
func summary(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s via %s to %s", m.Key, m.Channel, strings.Join(m.Recipients, ",")))
	}
	return out
}

func TestBuildRules(t *testing.T) {
	dry := okRun()
	dry.DryRun = true
	cancelled := failedRun()
	cancelled.Cancelled = true
	audit := okRun()
	audit.Audit, audit.DryRun = true, true
	audit.Handover[1].Outcome = result.Failed
	audit.Handover[1].Reason = "acme-chat is not installed"
	unreachable := okRun()
	unreachable.Handover = nil
	unreachable.Steps[1].Outcome = result.Skipped
	unreachable.Unreachable = []string{"ws1"}
	for _, tc := range []struct {
		name string
		res  *result.Run
		o    Options
		want []string
	}{
		{"failure, final: the tasks for a human wait for the handover", failedRun(), Options{Final: true}, []string{
			"20261203T060000Z-abc123/E1001/failure via chat to oncall@corp.example.test",
			"20261203T060000Z-abc123/E1001/failure via helpdesk to ",
			"20261203T060000Z-abc123/E1001/failure via hook to ",
			"20261203T060000Z-abc123/E1001/failure via mail to oncall@corp.example.test,ghopper@corp.example.test",
		}},
		{"failure, not the last phase", failedRun(), Options{}, []string{
			"20261203T060000Z-abc123/E1001/failure via chat to oncall@corp.example.test",
			"20261203T060000Z-abc123/E1001/failure via helpdesk to ",
			"20261203T060000Z-abc123/E1001/failure via hook to ",
			"20261203T060000Z-abc123/E1001/failure via mail to oncall@corp.example.test,ghopper@corp.example.test",
		}},
		{"resumed: the origin's key", failedRun(), Options{Origin: "20261202T060000Z-000001"}, []string{
			"20261202T060000Z-000001/E1001/failure via chat to oncall@corp.example.test",
			"20261202T060000Z-000001/E1001/failure via helpdesk to ",
			"20261202T060000Z-000001/E1001/failure via hook to ",
			"20261202T060000Z-000001/E1001/failure via mail to oncall@corp.example.test,ghopper@corp.example.test",
		}},
		{"handover ready", okRun(), Options{Final: true}, []string{
			"20261203T070000Z-def456/E1001/handover-ready via mail to ghopper@corp.example.test",
			"20261203T070000Z-def456/E1001/human-task via chat to oncall@corp.example.test",
			"20261203T070000Z-def456/E1001/human-task via mail to oncall@corp.example.test",
		}},
		{"ready, but not the last phase", okRun(), Options{}, nil},
		{"unreachable host is a failure", unreachable, Options{}, []string{
			"20261203T070000Z-def456/E1001/failure via chat to oncall@corp.example.test",
			"20261203T070000Z-def456/E1001/failure via helpdesk to ",
			"20261203T070000Z-def456/E1001/failure via hook to ",
			"20261203T070000Z-def456/E1001/failure via mail to oncall@corp.example.test,ghopper@corp.example.test",
		}},
		{"audit drift", audit, Options{Final: true}, []string{
			"20261203T070000Z-def456/E1001/drift via mail to it-desk@corp.example.test",
		}},
		{"audit, nothing changed", func() *result.Run { r := okRun(); r.Audit, r.DryRun = true, true; return r }(), Options{Final: true}, nil},
		{"audit, a group added", func() *result.Run {
			r := okRun()
			r.Audit, r.DryRun = true, true
			r.Hires = []result.Hire{{ID: "E1001", Added: []string{"group domain-admins"}}}
			return r
		}(), Options{}, []string{"20261203T070000Z-def456/E1001/drift via mail to it-desk@corp.example.test"}},
		{"dry run: nothing", dry, Options{Final: true}, nil},
		{"cancelled: nothing (it resumes)", cancelled, Options{Final: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := summary(Build(fixturePlan(), tc.res, tc.o))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func failureMessage(t *testing.T) Message {
	t.Helper()
	for _, m := range Build(fixturePlan(), failedRun(), Options{Final: true, Resume: "onboard resume 20261203T060000Z-abc123"}) {
		if m.Event == Failure && m.Channel == "mail" {
			return m
		}
	}
	t.Fatal("no failure message")
	return Message{}
}

func TestFailureEvidence(t *testing.T) {
	m := failureMessage(t)
	f := m.Failure
	if f == nil || f.Host != "ws1" || f.Step != "package acme-chat 3.1.0" || f.ExitCode != 100 ||
		f.Command != "apt-get install -y acme-chat=3.1.0" || !strings.Contains(f.Output, "Unable to locate package") {
		t.Errorf("evidence %+v", f)
	}
	if !slices.Equal(m.Done, []string{"account alovelace in corp-ldap"}) ||
		!slices.Equal(m.NotDone, []string{"package acme-chat 3.1.0 (failed)", "printer Office-2F (skipped)"}) {
		t.Errorf("done %q, not done %q", m.Done, m.NotDone)
	}
	if m.Resume != "onboard resume 20261203T060000Z-abc123" {
		t.Errorf("resume %q", m.Resume)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Name != "report-E1001.md" || !strings.Contains(string(m.Attachments[0].Data), "acme-chat") {
		t.Errorf("attachments %+v", m.Attachments)
	}
}

// TestBodies keeps every body a receiver gets in golden files: the mail's
// text and HTML, the signed webhook's JSON, Slack's and Teams' bodies, and
// the ServiceNow and Jira tickets of the examples in examples/notify.
func TestBodies(t *testing.T) {
	m := failureMessage(t)
	ready := Build(fixturePlan(), okRun(), Options{Final: true})[0]
	type body struct {
		name string
		make func(Payload) ([]byte, error)
	}
	str := func(f func(Payload) (string, error)) func(Payload) ([]byte, error) {
		return func(p Payload) ([]byte, error) { s, err := f(p); return []byte(s), err }
	}
	ticket := func(file string) func(Payload) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "notify", file))
		if err != nil {
			t.Fatal(err)
		}
		tk, err := NewTicket("https://x.example.test", "", string(b))
		if err != nil {
			t.Fatal(err)
		}
		return tk.Body
	}
	bodies := []body{
		{"mail.txt", str(Text)}, {"mail.html", str(HTML)}, {"webhook.json", WebhookBody},
		{"slack.json", func(p Payload) ([]byte, error) { return ChatBody(inventory.ChannelSlack, p) }},
		{"teams.json", func(p Payload) ([]byte, error) { return ChatBody(inventory.ChannelTeams, p) }},
		{"servicenow.json", ticket("servicenow-incident.json.tmpl")},
		{"jira.json", ticket("jira-issue.json.tmpl")},
	}
	for _, p := range []Payload{m.Payload, ready.Payload} {
		for _, b := range bodies {
			t.Run(p.Event+"/"+b.name, func(t *testing.T) {
				got, err := b.make(p)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(got), fixtureSecret) {
					t.Errorf("the secret is in the %s body", b.name)
				}
				if strings.HasSuffix(b.name, ".json") && !json.Valid(got) {
					t.Errorf("not JSON:\n%s", got)
				}
				golden.Assert(t, filepath.Join("testdata", p.Event+"."+b.name), got)
			})
		}
	}
}

func TestTicketTemplate(t *testing.T) {
	m := failureMessage(t)
	m.Hire.Name = `Ada "}, "admin": true, "x": "Lovelace`
	for _, tc := range []struct {
		name, tmpl, err string
	}{
		{"values are JSON strings", `{"who": {{json .Hire.Name}}}`, ""},
		{"a bare value breaks the JSON", `{"who": "{{.Hire.Name}}"}`, "not JSON"},
		{"an unknown field", `{"who": {{json .Nobody}}}`, "Nobody"},
		{"the failure, guarded", `{"who": {{json .Hire.Name}}{{with .Failure}}, "exit": {{json .ExitCode}}{{end}}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := NewTicket("https://x.example.test", "", tc.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			b, err := tk.Body(m.Payload)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			// The name stays one string: nothing it holds became a key.
			if err := json.Unmarshal(b, &v); err != nil || v["who"] != m.Hire.Name || v["admin"] != nil ||
				(strings.Contains(tc.tmpl, "exit") && v["exit"] != float64(100)) {
				t.Errorf("body %s (%v)", b, err)
			}
		})
	}
}

func TestNoRulesNoMessages(t *testing.T) {
	p := &plan.Plan{Hires: []plan.Hire{{ID: "E1", Name: "No Rules"}}}
	if ms := Build(p, failedRun(), Options{Final: true}); len(ms) != 0 {
		t.Errorf("messages without rules: %v", summary(ms))
	}
}

// A drift message names each step no longer in place and what the audit
// found: the reason of a step that could not tell, or the failure of a
// re-check (what an audit's engine records), and what was added.
func TestDriftSaysWhat(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(s *result.Step)
		want string
	}{
		{"reason", func(s *result.Step) { s.Reason = "acme-chat is not installed" },
			"ws1: package acme-chat 3.1.0: acme-chat is not installed"},
		{"failed re-check", func(s *result.Step) {
			s.Failure = &result.Failure{Host: "ws1", Phase: "check", Message: "acme-chat 3.0.9 is installed, not 3.1.0 (pw " + fixtureSecret + ")"}
		}, "ws1: package acme-chat 3.1.0: acme-chat 3.0.9 is installed, not 3.1.0 (pw [redacted])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := okRun()
			r.Audit, r.DryRun = true, true
			r.Handover[1].Outcome = result.Failed
			tc.set(&r.Handover[1])
			r.Hires = []result.Hire{{ID: "E1001", Added: []string{"group domain-admins"}}}
			ms := Build(fixturePlan(), r, Options{})
			if len(ms) != 1 {
				t.Fatalf("messages %v", summary(ms))
			}
			want := []string{tc.want, "added since handover: group domain-admins"}
			if !slices.Equal(ms[0].Drift, want) || ms[0].Summary != "Drift found: Ada Lovelace (E1001) on ws1" {
				t.Errorf("drift %q, summary %q", ms[0].Drift, ms[0].Summary)
			}
		})
	}
}

// A long output is cut to its tail on a character boundary.
func TestOutputTail(t *testing.T) {
	r := failedRun()
	r.Steps[1].Failure.Output = strings.Repeat("ü", outputTail) + "\nlast line"
	for _, m := range Build(fixturePlan(), r, Options{}) {
		out := m.Failure.Output
		if !strings.HasPrefix(out, "…") || !strings.HasSuffix(out, "last line") || len(out) > outputTail+len("…") || !utf8.ValidString(out) {
			t.Fatalf("output tail %q (%d bytes)", out[:20], len(out))
		}
		return
	}
	t.Fatal("no message")
}

// A hire whose plan could not be built: the failure is keyed by its
// errors (the same errors once, changed ones again, and never the key a
// step's failure would have), and every message names the event and
// carries the note.
func TestPlanFailureKeys(t *testing.T) {
	p := &plan.Plan{Version: 1, Hires: []plan.Hire{{ID: "E2001", Name: "Ada Lovelace", Host: "ws6",
		Notify: []plan.NotifyRule{{On: []string{"failure"}, To: []plan.Recipient{{Who: "on-duty", Address: "oncall@corp.example.test"}}, Via: []string{"mail"}}}}}}
	res := &result.Run{ID: "20261203T060000Z-abc123", Finished: t0, Steps: []result.Step{{ID: "E2001/plan", Kind: "plan", Hire: "E2001", Host: "ws6",
		Title: "make the plan", Outcome: result.Failed, Failure: &result.Failure{Host: "ws6", Step: "E2001/plan", Phase: "plan",
			Message: "playbooks/E2001.yaml:3:10: profile: unknown profile \"gone\""}}}}
	build := func(errs string) Message {
		t.Helper()
		ms := Build(p, res, Options{Origin: "E2001.g1", Trigger: "hr:evt-1", Note: "from an older inventory", PlanErrors: errs})
		if len(ms) != 1 {
			t.Fatalf("%d messages: %v", len(ms), summary(ms))
		}
		return ms[0]
	}
	a, again, changed := build("unknown profile \"gone\""), build("unknown profile \"gone\""), build("unknown software \"ghost\"")
	stepKey := Key("E2001.g1", "E2001", Failure)
	if a.Key != again.Key || a.Key == changed.Key || a.Key == stepKey || !strings.HasPrefix(a.Key, stepKey+"/plan-") {
		t.Errorf("keys: %q, again %q, changed %q (a step's failure: %q)", a.Key, again.Key, changed.Key, stepKey)
	}
	txt, err := Text(a.Payload)
	if err != nil {
		t.Fatal(err)
	}
	html, err := HTML(a.Payload)
	if err != nil {
		t.Fatal(err)
	}
	body, err := ChatBody(inventory.ChannelSlack, a.Payload)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"text": txt, "html": html, "slack": string(body)} {
		for _, want := range []string{"hr:evt-1", "from an older inventory", "make the plan", "E2001.yaml:3:10"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, s)
			}
		}
	}
}
