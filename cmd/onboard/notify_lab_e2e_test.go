package main

// Notifications end to end through the lab's SMTP server (aiosmtpd): what
// onboard serve sends when a hire's plan cannot be built, and what an
// audit sends when it finds drift. Each mail is read back from the
// Maildir: envelope recipients, subject, the decoded text part.

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"onboard/internal/lab"
)

// labMail is one delivered mail as a test reads it.
type labMail struct {
	to, subject, key, text string
	raw                    []byte
}

// readMail parses a delivered mail and decodes its text/plain part.
func readMail(t *testing.T, raw []byte) labMail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	out := labMail{to: m.Header.Get("X-RcptTo"), subject: subject, key: m.Header.Get("X-Onboard-Key"), raw: raw}
	var walk func(r io.Reader, ct string)
	walk = func(r io.Reader, ct string) {
		mt, params, _ := mime.ParseMediaType(ct)
		if !strings.HasPrefix(mt, "multipart/") {
			return
		}
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pct := p.Header.Get("Content-Type")
			if strings.HasPrefix(pct, "multipart/") {
				walk(p, pct)
				continue
			}
			if !strings.HasPrefix(pct, "text/plain") || p.Header.Get("Content-Disposition") != "" {
				continue
			}
			var body io.Reader = p
			switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
			case "quoted-printable":
				body = quotedprintable.NewReader(p)
			case "base64":
				body = base64.NewDecoder(base64.StdEncoding, p)
			}
			b, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			out.text += string(b)
		}
	}
	walk(m.Body, m.Header.Get("Content-Type"))
	if out.text == "" {
		t.Fatalf("the mail has no text part:\n%s", raw)
	}
	return out
}

// mailChannel is an inventory notify section sending through s as "mail".
func mailChannel(s *lab.SMTP, rest string) string {
	return fmt.Sprintf(`notify:
  on_duty: oncall@corp.example.test
  teams: {it-desk: it-desk@corp.example.test}
  channels:
    mail:
      kind: email
      host: 127.0.0.1
      port: %d
      ca_cert: %s
      username: %s
      password: file:%s
      from: onboard@corp.example.test
%s`, s.Port, s.CACertFile, s.User, s.PasswordFile, rest)
}

// waitMails waits for n mails, then a moment more for one too many.
func waitMails(t *testing.T, s *lab.SMTP, n int) []labMail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := s.WaitMessages(ctx, n); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	ms, err := s.Messages()
	if err != nil {
		t.Fatal(err)
	}
	var out []labMail
	for _, m := range ms {
		out = append(out, readMail(t, m.Raw))
	}
	if len(out) != n {
		t.Fatalf("%d mails, want %d", len(out), n)
	}
	return out
}

// Under onboard serve, an HR event for a hire whose profile no longer
// exists fails every phase; the technician on duty gets one mail, by the
// inventory's default rules, with the error at its position, the event
// and what to do; the API shows each run failed with that reason. The
// same event again, and a retry that meets the same error, send nothing
// more.
func TestServeNotifiesUnbuildablePlan(t *testing.T) {
	l := needLab(t)
	e := serveEnv(t, l)
	s := lab.SMTPForTest(t)
	smtpPassword, err := s.Password()
	if err != nil {
		t.Fatal(err)
	}
	e.write("inventory/notify.yaml", mailChannel(s, `  default_rules:
    - {on: [failure], to: [on-duty], via: [mail]}
`))
	profile := e.write("profiles/hr-gone.yaml", "description: removed once onboard serve has started (tests)\n")
	e.write("inventory/hr-gone.yaml", `hr:
  rules:
    - name: gone
      match: {department: Gone}
      profile: hr-gone
      directory: corp-ad
      machine: {pool: [ws6, ws7]}
      password: {deliver: "file:`+e.dir+`/pw/${person.employee_id}.txt"}
`)
	p := startServe(t, e) // checks that every rule's profile exists
	if err := os.Remove(profile); err != nil {
		t.Fatal(err)
	}
	emp, evt := uniq("E9301"), uniq("evt-gone")
	ev := hrHire(evt, emp, "Gus", "Gone", "Gone")
	if code, a := p.postHR(t, ev); code != http.StatusAccepted {
		t.Fatalf("hire: %d %v", code, a)
	}
	failedRuns := func(attempts int) *hireView {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			h, _ := p.hire(t, emp)
			n := 0
			for _, r := range h.Runs {
				if r.State == "failed" && r.Attempts >= attempts {
					n++
				}
			}
			if n == 3 {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("hire %s: %+v", emp, h)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	h := failedRuns(1)
	for _, r := range h.Runs {
		if !strings.Contains(r.Error, `unknown profile "hr-gone"`) || r.JournalRun == "" {
			t.Errorf("run %s: error %q, journal run %q", r.ID, r.Error, r.JournalRun)
		}
	}
	// The journal's run of it, as onboard show prints it.
	if code, out, stderr := e.onboard("show", h.Runs[0].JournalRun); code != exitOK || !strings.Contains(out, "make the plan") ||
		!strings.Contains(out, `unknown profile "hr-gone"`) || !strings.Contains(out, "hr:"+evt) {
		t.Errorf("show %s: exit %d\n%s%s", h.Runs[0].JournalRun, code, out, stderr)
	}
	ms := waitMails(t, s, 1)
	m := ms[0]
	if m.to != "oncall@corp.example.test" {
		t.Errorf("recipients %q", m.to)
	}
	if !strings.Contains(m.subject, "Onboarding failed: Gus Gone ("+emp+")") || !strings.HasPrefix(m.key, emp+".g1/"+emp+"/failure/plan-") {
		t.Errorf("subject %q, key %q", m.subject, m.key)
	}
	at := regexp.MustCompile(`playbooks/` + regexp.QuoteMeta(emp) + `\.yaml:\d+:\d+: profile: unknown profile "hr-gone"`)
	if !at.MatchString(m.text) {
		t.Errorf("the mail lacks the error at its position:\n%s", m.text)
	}
	for _, want := range []string{"Event:    hr:" + evt, "hr rule gone", "/api/v1/runs/" + emp + ".g1."} {
		if !strings.Contains(m.text, want) {
			t.Errorf("the mail lacks %q:\n%s", want, m.text)
		}
	}
	if strings.Contains(string(m.raw), smtpPassword) {
		t.Errorf("the mail holds the SMTP password")
	}

	// The same event again: a duplicate, nothing new.
	if code, a := p.postHR(t, ev); code != http.StatusOK || a["duplicate"] != true {
		t.Fatalf("the same event again: %d %v", code, a)
	}
	// A retry that meets the same error: failed again, told once.
	account := emp + ".g1.account"
	req, _ := http.NewRequest(http.MethodPost, p.url+"/api/v1/runs/"+account+"/retry", nil)
	req.Header.Set("Authorization", "Bearer "+serveAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("retry: %s", resp.Status)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		h2, _ := p.hire(t, emp)
		again := false
		for _, r := range h2.Runs {
			again = again || (r.ID == account && r.State == "failed" && r.Attempts == 2)
		}
		if again {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retried run did not fail again: %+v", h2)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitMails(t, s, 1)
}

// A hire set up on a lab workstation, then a file of the setup changed by
// hand: the audit finds the drift and the drift rule mails the team, naming
// the step and what the audit found. Each audit is a run of its own, and
// the documented key is origin run / hire / event, so a second audit that
// finds the same drift mails again, under its own key: a reminder until
// the drift is mended. Once mended, an audit sends nothing.
func TestAuditDriftNotifiesLab(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	s := lab.SMTPForTest(t)
	smtpPassword, err := s.Password()
	if err != nil {
		t.Fatal(err)
	}
	const ws, hire = "ws4", "DRIFT1"
	conf := "/etc/onboard-drift-" + hire + ".conf"
	wsExec(t, l, ws, "rm -f "+conf)
	t.Cleanup(func() { _, _, _ = l.Exec(context.Background(), ws, "rm -f "+conf) })
	e.write("inventory/notify.yaml", mailChannel(s, ""))
	pb := e.write("drift.yaml", fmt.Sprintf(`person: {employee_id: %s, given_name: Dana, surname: Drift, start_date: 2026-12-01, manager: ghopper}
machine:
  host: %s
  files:
    - path: %s
      mode: "0644"
      content: "proxy=proxy.corp.example.test:3128\n"
notify:
  - on: [drift]
    to: [team:it-desk]
    via: [mail]
`, hire, ws, conf))
	if code, out, stderr := e.onboard(pb); code != exitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, stderr := e.onboard("audit", "-i", e.inv, hire); code != exitOK {
		t.Fatalf("audit before any change: exit %d\n%s%s", code, out, stderr)
	}
	time.Sleep(time.Second)
	if ms, _ := s.Messages(); len(ms) != 0 {
		t.Fatalf("%d mails before any drift (the rules name drift only)", len(ms))
	}

	// By hand, on the machine: the file's content changes.
	wsExec(t, l, ws, "echo proxy=evil.example.test:8080 > "+conf)
	audit := func() {
		t.Helper()
		code, out, stderr := e.onboard("audit", "-i", e.inv, hire)
		if code != exitDrift {
			t.Fatalf("audit: exit %d, want %d (drift)\n%s%s", code, exitDrift, out, stderr)
		}
	}
	audit()
	ms := waitMails(t, s, 1)
	m := ms[0]
	if m.to != "it-desk@corp.example.test" || !strings.HasSuffix(m.subject, "Drift found: Dana Drift ("+hire+") on "+ws) {
		t.Errorf("recipients %q, subject %q", m.to, m.subject)
	}
	if !strings.HasSuffix(m.key, "/"+hire+"/drift") {
		t.Errorf("key %q", m.key)
	}
	found := ws + ": Write " + conf + " on " + ws + ": " + conf + ": content differs"
	if i := strings.Index(m.text, "No longer in place:"); i < 0 || !strings.Contains(m.text[i:], found) {
		t.Errorf("the mail does not name the drifted step and what was found:\n%s", m.text)
	}

	// The same drift, a second audit: told again, under the new audit's key.
	audit()
	ms = waitMails(t, s, 2)
	if ms[1].key == m.key || ms[1].to != m.to || !strings.Contains(ms[1].text, found) {
		t.Errorf("the second audit's mail: key %q (the first's %q), to %q\n%s", ms[1].key, m.key, ms[1].to, ms[1].text)
	}

	// Mended: no drift, no mail.
	wsExec(t, l, ws, "printf 'proxy=proxy.corp.example.test:3128\\n' > "+conf)
	if code, out, stderr := e.onboard("audit", "-i", e.inv, hire); code != exitOK {
		t.Fatalf("audit once mended: exit %d\n%s%s", code, out, stderr)
	}
	for _, m := range waitMails(t, s, 2) {
		if strings.Contains(string(m.raw), smtpPassword) {
			t.Errorf("a mail holds the SMTP password")
		}
	}
}
