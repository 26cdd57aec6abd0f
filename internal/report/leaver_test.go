package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"onboard/internal/golden"
	"onboard/internal/plan"
	"onboard/internal/result"
)

// leaverPlan is an offboarding of a leaver whose HR data is hostile: the
// directory steps LeaverSteps makes, and two host removals on ws6.
func leaverPlan() *plan.Plan {
	leave := at(-time.Hour)
	steps := plan.LeaverSteps(plan.Leaver{Hire: "E260", Username: "nx", Directory: "corp", LeaveAt: leave,
		Groups: []string{"sales", "crm|users"}, Rule: plan.RulePlaced, Evidence: "run R1",
		LeaversOU: "OU=Leavers,DC=example,DC=test", Expire: true, Computer: "WS6", TitleName: hostileName})
	steps = append(steps,
		&plan.Step{ID: "E260:login-revoke:nx", Kind: plan.KindLoginRevoke, Hire: "E260", Host: "ws6",
			Title: "End nx's access on ws6", LoginRevoke: &plan.LoginRevokeSpec{User: "nx"}},
		&plan.Step{ID: "E260:printer-remove:Solo", Kind: plan.KindPrinterRemove, Hire: "E260", Host: "ws6",
			Title: "Unmap printer Solo", Printer: &plan.PrinterSpec{Name: "Solo"}})
	return &plan.Plan{Version: 1, Steps: steps, Hires: []plan.Hire{{ID: "E260", Name: hostileName, Username: "nx",
		Email: "n.x@example.test", Department: "R&D [dept](http://evil.test)", Manager: "Mia <mia@example.test>", Host: "ws6",
		Manual: []string{"Hand the mailbox of nx over to *Mia* <mia@example.test>"}}}}
}

// leaverRun is the run of leaverPlan: everything proven (complete), or
// with one failed step, one skipped after it, and one removal the
// handover re-check found undone.
func leaverRun(p *plan.Plan, complete bool) *result.Run {
	r := &result.Run{ID: "20261203T190000-ab12", Operator: "tech\x1b[2J", Started: at(0), Finished: at(time.Minute), Hires: []result.Hire{{ID: "E260"}}}
	reasons := map[string][2]string{ // kind: what apply said, what the re-check found
		plan.KindAccountDisable:   {`disabled nx (CN=nx,OU=Users,DC=example,DC=test); it was in groups ["crm|users","sales"]`, "account nx is disabled (ppolicy lock pwdAccountLockedTime 000001010000Z); a bind with the password set in this run fails on ldaps://dc1"},
		plan.KindPasswordScramble: {"scrambled the password of nx: a random one, never shown or kept", "the password of nx was set at 2026-12-03T19:00:01Z, at or after the leave time 2026-12-03T18:00:00Z"},
		plan.KindAccountMove:      {"moved nx from CN=nx,OU=Users,DC=example,DC=test to CN=nx,OU=Leavers,DC=example,DC=test", "account nx is in OU=Leavers,DC=example,DC=test"},
		plan.KindAccountExpire:    {"set the expiry of nx to 2026-12-03T18:00:00Z (was never)", "account nx expires at 2026-12-03T18:00:00Z"},
		plan.KindComputerDisable:  {"disabled computer account CN=WS6,OU=Computers,DC=example,DC=test", "computer account CN=WS6,OU=Computers,DC=example,DC=test is disabled"},
		plan.KindLoginRevoke:      {"locked nx on ws6; ended 3 processes", "nx cannot sign in on ws6 (locked, expired); no processes of nx run"},
		plan.KindPrinterRemove:    {"", "printer Solo is not mapped on ws6"},
	}
	for _, s := range p.Steps {
		rs := result.Step{ID: s.ID, Kind: s.Kind, Hire: s.Hire, Host: s.Host, Title: s.Title, Outcome: result.Changed, Started: at(0)}
		rc := rs
		rc.Outcome = result.OK
		w := reasons[s.Kind]
		rs.Changed, rc.Reason = w[0], w[1]
		if s.Kind == plan.KindMembershipRemove {
			g := s.Membership.Group
			rs.Changed = `removed nx from CN=` + g + `; groups ["crm|users","sales"] before`
			rc.Reason = "nx is not a member of " + g
		}
		if s.Kind == plan.KindPrinterRemove {
			rs.Outcome, rs.Reason = result.OK, "printer Solo is not mapped on ws6"
		}
		if !complete {
			switch s.Kind {
			case plan.KindComputerDisable:
				rs.Outcome, rs.Changed = result.Failed, ""
				rs.Failure = &result.Failure{Step: s.ID, Phase: "apply", Message: "disable CN=WS6: insufficient access <rights>"}
			case plan.KindAccountMove:
				rs.Outcome, rs.Changed, rs.Reason = result.Skipped, "", "E260:computer-disable:WS6 failed"
			case plan.KindMembershipRemove:
				if s.Membership.Group == "sales" {
					rc.Outcome, rc.Reason = result.Failed, ""
					rc.Failure = &result.Failure{Step: s.ID, Phase: "check", Message: "nx is a member of sales"}
				}
			}
		}
		r.Steps = append(r.Steps, rs)
		if rs.Outcome.Done() {
			r.Handover = append(r.Handover, rc)
		}
	}
	return r
}

func TestLeaverReportGolden(t *testing.T) {
	for _, tc := range []struct {
		name     string
		complete bool
	}{{"leaver", true}, {"leaver-incomplete", false}} {
		t.Run(tc.name, func(t *testing.T) {
			p := leaverPlan()
			lr, err := NewLeaverReport(p, leaverRun(p, tc.complete), ModeOffboard, "hr:ev-7", "")
			if err != nil {
				t.Fatal(err)
			}
			if lr.Complete != tc.complete {
				t.Errorf("Complete = %v, want %v", lr.Complete, tc.complete)
			}
			for _, ext := range []string{"html", "md", "json"} {
				b, err := RenderLeaver("out."+ext, lr)
				if err != nil {
					t.Fatal(err)
				}
				golden.Assert(t, filepath.Join("testdata", tc.name+"."+ext), b)
			}
		})
	}
}

// Each removal's status follows the run: proven only when the step ended
// done and its handover re-check found it in place.
func TestLeaverReportStatuses(t *testing.T) {
	p := leaverPlan()
	lr, err := NewLeaverReport(p, leaverRun(p, false), ModeOffboard, "", "E260")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"E260:account-disable:nx":          RemovalProven,
		"E260:membership-remove:sales":     RemovalNotHeld,
		"E260:membership-remove:crm|users": RemovalProven,
		"E260:password-scramble:nx":        RemovalProven,
		"E260:account-expire:nx":           RemovalProven,
		"E260:computer-disable:WS6":        RemovalFailed,
		"E260:account-move:nx":             RemovalSkipped,
		"E260:login-revoke:nx":             RemovalProven,
		"E260:printer-remove:Solo":         RemovalProven,
	}
	if len(lr.Removals) != len(want) {
		t.Fatalf("%d removals, want %d: %+v", len(lr.Removals), len(want), lr.Removals)
	}
	for _, rm := range lr.Removals {
		if rm.Status != want[rm.Step] || rm.Held != (want[rm.Step] == RemovalProven) {
			t.Errorf("%s: status %q held %v, want %q", rm.Step, rm.Status, rm.Held, want[rm.Step])
		}
		if !rm.Held && rm.Problem == "" {
			t.Errorf("%s: not held and no problem said", rm.Step)
		}
	}
	if held, all := lr.Held(); held != 6 || all != 9 || lr.Complete {
		t.Errorf("held %d of %d, complete %v", held, all, lr.Complete)
	}
	if !lr.LeaveAt.Equal(at(-time.Hour)) {
		t.Errorf("LeaveAt %s", lr.LeaveAt)
	}

	// A handover that never ran proves nothing.
	res := leaverRun(p, true)
	res.Handover = nil
	lr, _ = NewLeaverReport(p, res, ModeOffboard, "", "")
	if lr.Complete || lr.Removals[0].Status != RemovalUnproven {
		t.Errorf("without a handover re-check: complete %v, %q", lr.Complete, lr.Removals[0].Status)
	}
}

func TestLeaverReportRefuses(t *testing.T) {
	p := leaverPlan()
	if _, err := NewLeaverReport(p, leaverRun(p, true), "apply", "", ""); !errors.Is(err, ErrNotOffboard) {
		t.Errorf("a setup run: %v, want ErrNotOffboard", err)
	}
	dry := leaverRun(p, true)
	dry.DryRun = true
	if _, err := NewLeaverReport(p, dry, ModeOffboard, "", ""); err == nil || !strings.Contains(err.Error(), "dry run") {
		t.Errorf("a dry run: %v", err)
	}
	if _, err := NewLeaverReport(p, leaverRun(p, true), ModeOffboard, "", "E999"); err == nil {
		t.Error("an unknown leaver: no error")
	}
	if _, err := RenderLeaver("x.pdf", &LeaverReport{}); err == nil {
		t.Error(".pdf: no error")
	}
}

// HR's values are data in every format: no element, link or escape of
// theirs survives, and the JSON reads back as written.
func TestLeaverReportEscapes(t *testing.T) {
	p := leaverPlan()
	lr, err := NewLeaverReport(p, leaverRun(p, false), ModeOffboard, "", "")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := RenderLeaver("r.html", lr)
	doc, err := html.Parse(bytes.NewReader(h))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "a") {
			t.Errorf("the HTML has a <%s> element", n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	md, _ := RenderLeaver("r.md", lr)
	for _, bad := range []string{"\x1b", "\u202e", "<script>"} {
		if bytes.Contains(md, []byte(bad)) || bytes.Contains(h, []byte(bad)) {
			t.Errorf("a report holds %q", bad)
		}
	}
	if bytes.Contains(md, []byte("[x](javascript")) {
		t.Error("the Markdown holds HR's link")
	}
	js, _ := RenderLeaver("r.json", lr)
	var back LeaverReport
	if err := json.Unmarshal(js, &back); err != nil || back.Leaver.Name != hostileName || back.Operator != "tech\x1b[2J" {
		t.Errorf("JSON read back: %q %q %v", back.Leaver.Name, back.Operator, err)
	}
}
