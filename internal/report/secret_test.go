package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"onboard/internal/result"
	"onboard/internal/secret"
)

// TestSecretsNeverWritten puts a registered secret in every free-text field
// a remote host can fill and checks that no output carries it.
func TestSecretsNeverWritten(t *testing.T) {
	const pw = "S3cr3t-value-xyz"
	secret.New(pw)

	leaky := func() *result.Run {
		r := sampleRun()
		f := r.Steps[4].Failure
		f.Output = "sudo: password is " + pw + "\nE: failed\n" + pw
		f.Message = "bind as admin with " + pw + " failed"
		f.Command = "echo " + pw + " | sudo -S true"
		r.Steps[1].Changed = "set password " + pw
		r.Steps[5].Reason = "skipped, " + pw
		r.Handover[4].Failure.Output = pw
		r.Hires[1].Notes = "temporary password " + pw
		r.Hires[1].Manual = append(r.Hires[1].Manual, "tell them "+pw)
		return r
	}
	outputs := map[string]string{}
	for name, f := range map[string]Format{"text": Text{}, "md": Markdown{}, "html": HTML{}, "junit": JUnit{}, "json": JSON{}} {
		var buf bytes.Buffer
		if err := f.Write(&buf, leaky()); err != nil {
			t.Fatal(err)
		}
		outputs[name] = buf.String()
	}
	dry := dryRun()
	dry.Steps[2].Reason = "cannot read " + pw
	var buf bytes.Buffer
	if err := (Text{}).Write(&buf, dry); err != nil {
		t.Fatal(err)
	}
	outputs["dry text"] = buf.String()

	var lines, plain, live bytes.Buffer
	jl := NewJSONLines(&lines)
	pp := NewProgress(&plain, false)
	lv := NewProgress(&live, true)
	r := leaky()
	for _, o := range []result.Observer{jl, pp, lv} {
		o.Event(result.Event{Type: result.RunStarted, RunID: r.ID, Total: 2})
		o.Event(result.Event{Type: result.StepStarted, Step: &r.Steps[4]})
		o.Event(result.Event{Type: result.StepFinished, Step: &r.Steps[4]})
		o.Event(result.Event{Type: result.StepFinished, Step: &r.Steps[5]})
		o.Event(result.Event{Type: result.RunFinished, RunID: r.ID, Run: r})
	}
	pp.Close()
	lv.Close()
	outputs["json lines"] = lines.String()
	outputs["progress"] = plain.String()
	outputs["live progress"] = live.String()

	p := samplePlan()
	p.Steps[2].Reason = "installed " + pw
	p.Steps[3].Title = "Write " + pw
	buf.Reset()
	if err := WritePlanText(&buf, p); err != nil {
		t.Fatal(err)
	}
	outputs["plan"] = buf.String()

	for name, out := range outputs {
		if strings.Contains(out, pw) {
			t.Errorf("%s output contains the secret", name)
		}
		if !strings.Contains(out, secret.Redacted) {
			t.Errorf("%s output does not show %s where the secret was", name, secret.Redacted)
		}
	}
	// The engine's values are left alone.
	if !strings.Contains(r.Steps[4].Failure.Output, pw) {
		t.Errorf("scrubbing changed the caller's run")
	}
}

// TestJUnitHostileOutput feeds output that breaks naive XML writers.
func TestJUnitHostileOutput(t *testing.T) {
	r := sampleRun()
	raw := "before ]]> after\x00\x1b[31m\xff\xfe end\uFFFF"
	r.Steps[4].Failure.Output = raw
	var buf bytes.Buffer
	if err := (JUnit{}).Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	assertWellFormedXML(t, buf.Bytes())
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.Suites[1].Cases[1].Failure.Text
	if !strings.Contains(got, "before ]]> after\uFFFD end\n") {
		t.Errorf("output mangled: %q", got)
	}
}
