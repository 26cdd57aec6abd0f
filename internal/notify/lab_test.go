package notify

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"onboard/internal/hrevent"
	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/secret"
)

// TestDeliverLab sends a failure and a handover through every channel
// kind, configured in an inventory as a technician writes it: email to
// the lab's aiosmtpd over STARTTLS and over implicit TLS, read back from
// its Maildir; a signed webhook, Slack, Teams, and ServiceNow and Jira
// tickets to local receivers. No delivered byte holds a password.
func TestDeliverLab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the lab's SMTP server")
	}
	s := lab.SMTPForTest(t)
	smtpPassword, err := s.Password()
	if err != nil {
		t.Fatal(err)
	}
	receivers := map[string]*receiver{}
	urls := map[string]string{}
	for _, name := range []string{"hook", "slack", "teams", "servicenow", "jira"} {
		receivers[name] = &receiver{}
		srv := httptest.NewServer(receivers[name])
		t.Cleanup(srv.Close)
		urls[name] = srv.URL + "/" + name
	}
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const hookKey, token, snowPassword = "hook-key-4f1d9a7e0c", "jira-token-8c2e51b7aa", "snow-pw-77e1c09b3d"
	write("hook.key", hookKey)
	write("jira.token", token)
	write("snow.pw", snowPassword)
	write("slack.url", urls["slack"])
	write("teams.url", urls["teams"])
	for _, f := range []string{"servicenow-incident.json.tmpl", "jira-issue.json.tmpl"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "notify", f))
		if err != nil {
			t.Fatal(err)
		}
		write(f, string(b))
	}
	write("notify.yaml", fmt.Sprintf(`notify:
  on_duty: oncall@corp.example.test
  manager_email: "${person.manager}@corp.example.test"
  teams:
    it-desk: it-desk@corp.example.test
  channels:
    mail:
      kind: email
      host: 127.0.0.1
      port: %d
      ca_cert: %s
      username: %s
      password: file:%s
      from: onboard@corp.example.test
    mail-tls:
      kind: email
      host: 127.0.0.1
      port: %d
      tls: implicit
      ca_cert: %s
      username: %s
      password: file:%s
      from: onboard@corp.example.test
    hook:
      kind: webhook
      url: %s
      key: file:hook.key
    slack:
      kind: slack
      url: file:slack.url
    teams:
      kind: teams
      url: file:teams.url
    servicenow:
      kind: ticket
      url: %s
      username: onboard
      password: file:snow.pw
      template: servicenow-incident.json.tmpl
    jira:
      kind: ticket
      url: %s
      token: file:jira.token
      template: jira-issue.json.tmpl
`, s.Port, s.CACertFile, s.User, s.PasswordFile, s.TLSPort, s.CACertFile, s.User, s.PasswordFile,
		urls["hook"], urls["servicenow"], urls["jira"]))
	inv, err := inventory.Load(filepath.Join(dir, "notify.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	chans, err := Channels(ctx, inv, &secret.Resolver{})
	if err != nil {
		t.Fatal(err)
	}
	to := func(who string) plan.Recipient {
		a, err := inv.NotifyRecipient(who, "ghopper")
		if err != nil {
			t.Fatal(err)
		}
		return plan.Recipient{Who: who, Address: a}
	}
	p := fixturePlan()
	p.Hires = p.Hires[:1]
	p.Hires[0].Notify = []plan.NotifyRule{
		{On: []string{"failure"}, To: []plan.Recipient{to("on-duty"), to("team:it-desk")}, Via: []string{"mail", "hook", "slack", "teams", "servicenow", "jira"}},
		{On: []string{"handover-ready"}, To: []plan.Recipient{to("manager")}, Via: []string{"mail-tls"}},
	}
	failed, ok := failedRun(), okRun()
	// The SMTP password reached a command's output: scrubbed everywhere.
	failed.Steps[1].Failure.Output += "\nAUTH PLAIN " + smtpPassword
	j := testJournal(t, failed.ID, ok.ID)
	n := &Notifier{Channels: chans, Journal: j, Backoff: 100 * time.Millisecond}
	msgs := append(Build(p, failed, Options{Resume: "onboard resume " + failed.ID}), Build(p, ok, Options{Final: true})...)
	if len(msgs) != 7 {
		t.Fatalf("%d messages, want 7: %v", len(msgs), summary(msgs))
	}
	n.Send(msgs...)
	if err := n.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var delivered [][]byte

	// Mail: two messages, with envelope, subject, parts and attachment.
	mails, err := s.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2", len(mails))
	}
	bySubject := map[string]*mail.Message{}
	for _, raw := range mails {
		delivered = append(delivered, raw.Raw)
		m, err := mail.ReadMessage(bytes.NewReader(raw.Raw))
		if err != nil {
			t.Fatal(err)
		}
		subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		bySubject[subj] = m
	}
	for _, tc := range []struct {
		subject, rcpt, key, attachment, text string
	}{
		{"[onboard] Onboarding failed: Ada Lovelace (E1001) on ws1: package acme-chat 3.1.0", "oncall@corp.example.test, it-desk@corp.example.test",
			failed.ID + "/E1001/failure", "report-E1001.md", "Exit code:   100"},
		{"[onboard] Ready for handover: Ada Lovelace (E1001) on ws1", "ghopper@corp.example.test",
			ok.ID + "/E1001/handover-ready", "handover-E1001.html", "Left to do by hand"},
	} {
		m := bySubject[tc.subject]
		if m == nil {
			t.Errorf("no mail %q (got %v)", tc.subject, keys(bySubject))
			continue
		}
		if got := m.Header.Get("X-RcptTo"); got != tc.rcpt {
			t.Errorf("%s: envelope recipients %q, want %q", tc.subject, got, tc.rcpt)
		}
		if got := m.Header.Get("X-Onboard-Key"); got != tc.key {
			t.Errorf("%s: key %q", tc.subject, got)
		}
		parts := mimeParts(t, m)
		want := []string{"multipart/alternative:text/plain", "multipart/alternative:text/html", "attachment:" + tc.attachment}
		if !slices.Equal(partNames(parts), want) {
			t.Errorf("%s: parts %v, want %v", tc.subject, partNames(parts), want)
		}
		if len(parts) == 3 {
			if !strings.Contains(string(parts[0].body), tc.text) {
				t.Errorf("%s: text part lacks %q:\n%s", tc.subject, tc.text, parts[0].body)
			}
			if !strings.Contains(string(parts[1].body), "<h1") || !strings.Contains(string(parts[2].body), "E1001") {
				t.Errorf("%s: HTML part or attachment is not what was sent", tc.subject)
			}
		}
		for _, pt := range parts {
			delivered = append(delivered, pt.body)
		}
	}

	// Webhooks: one request each, in the format the receiver expects.
	for name, r := range receivers {
		got := r.requests()
		if len(got) != 1 {
			t.Errorf("%s: %d requests, want 1", name, len(got))
			continue
		}
		req := got[0]
		delivered = append(delivered, req.body)
		for k, v := range req.header {
			delivered = append(delivered, []byte(k+": "+strings.Join(v, ",")))
		}
		if !json.Valid(req.body) {
			t.Errorf("%s: body is not JSON: %s", name, req.body)
		}
		switch name {
		case "hook":
			if err := hrevent.Verify([][]byte{[]byte(hookKey)}, req.header.Get(hrevent.HeaderTimestamp), req.header.Get(hrevent.HeaderSignature), req.body, time.Now(), time.Minute); err != nil {
				t.Errorf("webhook signature: %v", err)
			}
		case "slack", "teams":
			want, _ := ChatBody(name, msgs[0].Payload)
			want = bytes.ReplaceAll(want, []byte(smtpPassword), []byte(secret.Redacted))
			var a, b any
			_ = json.Unmarshal(req.body, &a)
			_ = json.Unmarshal(want, &b)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("%s body differs from its golden shape:\n%s", name, req.body)
			}
		case "servicenow":
			if u, pw, ok := (&http.Request{Header: req.header}).BasicAuth(); !ok || u != "onboard" || pw != snowPassword {
				t.Errorf("servicenow: basic auth %q %v", u, ok)
			}
		case "jira":
			if req.header.Get("Authorization") != "Bearer "+token {
				t.Errorf("jira: no bearer token")
			}
		}
		if strings.HasPrefix(name, "servicenow") || name == "jira" {
			if !bytes.Contains(req.body, []byte("Unable to locate package")) {
				t.Errorf("%s: the ticket lacks the output tail: %s", name, req.body)
			}
		}
	}

	// Every attempt is in the journal, sent.
	for _, run := range []string{failed.ID, ok.ID} {
		for _, r := range attempts(t, j, run) {
			if r.Status != journal.NotifySent {
				t.Errorf("run %s: %+v", run, r)
			}
		}
	}
	if got := len(attempts(t, j, failed.ID)) + len(attempts(t, j, ok.ID)); got != 7 {
		t.Errorf("%d records, want 7", got)
	}

	// No password, key or token in anything delivered. (Headers carry
	// Authorization with the ticket's own credential, which is its
	// purpose: those are left out of the grep.)
	for i, d := range delivered {
		s := string(d)
		if strings.HasPrefix(s, "Authorization:") {
			continue
		}
		for _, secretText := range []string{smtpPassword, fixtureSecret, hookKey, token, snowPassword} {
			if strings.Contains(s, secretText) {
				t.Errorf("delivered item %d holds a secret:\n%s", i, s)
			}
		}
	}
}

type part struct {
	name string
	body []byte
}

func partNames(ps []part) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.name)
	}
	return out
}

// mimeParts walks a message: multipart/mixed of multipart/alternative
// and attachments, decoding transfer encodings.
func mimeParts(t *testing.T, m *mail.Message) []part {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: want multipart/mixed", m.Header.Get("Content-Type"))
	}
	var out []part
	var walk func(r io.Reader, boundary, outer string)
	walk = func(r io.Reader, boundary, outer string) {
		mr := multipart.NewReader(r, boundary)
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ct, ps, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if strings.HasPrefix(ct, "multipart/") {
				walk(p, ps["boundary"], ct)
				continue
			}
			body := decodeBody(t, p)
			if _, dp, err := mime.ParseMediaType(p.Header.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
				out = append(out, part{"attachment:" + dp["filename"], body})
				continue
			}
			out = append(out, part{outer + ":" + ct, body})
		}
	}
	walk(m.Body, params["boundary"], "")
	return out
}

func decodeBody(t *testing.T, p *multipart.Part) []byte {
	t.Helper()
	b, err := io.ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
	case "base64":
		d, err := io.ReadAll(base64Decoder(bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
		return d
	case "quoted-printable":
		d, err := io.ReadAll(qpDecoder(bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	return b
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func base64Decoder(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }

func qpDecoder(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }

// Mail is never sent to a server whose certificate does not verify (the
// system's CAs do not know the lab's), nor with a wrong password; each
// attempt's reason is in the journal, without the password.
func TestEmailRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the lab's SMTP server")
	}
	s := lab.SMTPForTest(t)
	pw, err := s.Password()
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(s.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	labCA := x509.NewCertPool()
	labCA.AppendCertsFromPEM(pem)
	wrong := secret.New(pw + "-wrong")
	for _, tc := range []struct {
		name   string
		email  *Email
		reason string
	}{
		{"untrusted certificate", &Email{Host: s.Addr, Port: s.Port, Username: s.User, Password: secret.New(pw), From: "onboard@corp.example.test"}, "certificate"},
		{"untrusted certificate, implicit TLS", &Email{Host: s.Addr, Port: s.TLSPort, Implicit: true, Username: s.User, Password: secret.New(pw), From: "onboard@corp.example.test"}, "certificate"},
		{"wrong password", &Email{Host: s.Addr, Port: s.Port, RootCAs: labCA, Username: s.User, Password: wrong, From: "onboard@corp.example.test"}, "535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := testJournal(t, "20261203T060000Z-abc123")
			n := &Notifier{Channels: map[string]Channel{"mail": tc.email}, Journal: j, Attempts: 1}
			m := failureMessage(t)
			m.Run = "20261203T060000Z-abc123"
			n.Send(m)
			if err := n.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			recs := attempts(t, j, m.Run)
			if len(recs) != 1 || recs[0].Status != journal.NotifyGaveUp || !strings.Contains(recs[0].Reason, tc.reason) {
				t.Fatalf("records %+v, want one given up naming %q", recs, tc.reason)
			}
			if strings.Contains(recs[0].Reason, pw) {
				t.Errorf("the reason holds the password: %q", recs[0].Reason)
			}
		})
	}
	if ms, _ := s.Messages(); len(ms) != 0 {
		t.Errorf("%d messages delivered, want none", len(ms))
	}
}
