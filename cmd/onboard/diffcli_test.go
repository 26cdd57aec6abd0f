package main

import (
	"strings"
	"testing"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// annotate puts each step's diff from the dry run into the plan (what
// plan -o json and plan --out write), scrubbed once more.
func TestAnnotateCarriesTheDiff(t *testing.T) {
	secret.New("annotate-secret-pw")
	p := &plan.Plan{Steps: []*plan.Step{{ID: "f", Kind: plan.KindFile}, {ID: "g", Kind: plan.KindFile}}}
	res := &result.Run{Steps: []result.Step{
		{ID: "f", Outcome: result.WouldChange, Reason: "/etc/x: content differs", Diff: "--- before: /etc/x on ws1\n+++ after: /etc/x\n@@ -1 +1 @@\n-a\n+annotate-secret-pw\n"},
		{ID: "g", Outcome: result.OK},
	}}
	annotate(p, res)
	if d := p.Steps[0].Diff; !strings.Contains(d, "+[redacted]\n") || strings.Contains(d, "annotate-secret-pw") {
		t.Errorf("diff of f: %q", d)
	}
	if p.Steps[0].Action != plan.ActionUpdate || p.Steps[1].Diff != "" {
		t.Errorf("steps: %+v %+v", p.Steps[0], p.Steps[1])
	}
}

// plan -o json prints no content of a file marked sensitive; the plan
// itself (saved, journaled) keeps it for apply.
func TestShownPlanHidesSensitiveContent(t *testing.T) {
	p := &plan.Plan{Steps: []*plan.Step{
		{ID: "token", Kind: plan.KindFile, File: &plan.FileSpec{Path: "/etc/token", Content: "tok-123", Sensitive: true}},
		{ID: "motd", Kind: plan.KindFile, File: &plan.FileSpec{Path: "/etc/motd", Content: "hello"}},
	}}
	shown := shownPlan(p)
	if got := shown.Steps[0].File.Content; got != "(sensitive content redacted)" {
		t.Errorf("sensitive content shown as %q", got)
	}
	if shown.Steps[1].File.Content != "hello" || p.Steps[0].File.Content != "tok-123" {
		t.Errorf("shown %q; the plan's own content now %q", shown.Steps[1].File.Content, p.Steps[0].File.Content)
	}
}
