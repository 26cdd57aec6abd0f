package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/hrevent"
	"onboard/internal/journal"
	"onboard/internal/lab"
)

// A failed apply notifies the technician on duty and the manager by mail
// (the lab's aiosmtpd) and a signed webhook, with the evidence; the
// command's exit code is the run's, not the notifications'. Resuming the
// run, which fails again, notifies nobody twice. No delivered message
// holds a password.
func TestNotifyFailureAndResume(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	s := lab.SMTPForTest(t)
	smtpPassword, err := s.Password()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var gotBodies [][]byte
	var gotHeaders []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotBodies, gotHeaders = append(gotBodies, b), append(gotHeaders, r.Header.Clone())
		mu.Unlock()
	}))
	defer srv.Close()
	received := func() ([][]byte, []http.Header) {
		mu.Lock()
		defer mu.Unlock()
		return append([][]byte(nil), gotBodies...), append([]http.Header(nil), gotHeaders...)
	}
	const hookKey = "e2e-hook-key-93c1d2"
	e.write("secrets/hook.key", hookKey)
	e.write("inventory/broken.yaml", `software:
  ghost:
    linux: {package: acme-ghost, version: "1.0"}
`)
	e.write("inventory/notify.yaml", fmt.Sprintf(`notify:
  on_duty: oncall@corp.example.test
  manager_email: "${person.manager}@corp.example.test"
  channels:
    mail:
      kind: email
      host: 127.0.0.1
      port: %d
      ca_cert: %s
      username: %s
      password: file:%s
      from: onboard@corp.example.test
    hook:
      kind: webhook
      url: %s/onboard
      key: file:../secrets/hook.key
`, s.Port, s.CACertFile, s.User, s.PasswordFile, srv.URL))
	pb := e.write("nia.yaml", `person: {employee_id: E77, given_name: Nia, surname: Notify, start_date: 2026-12-01, manager: ghopper}
machine:
  host: ws7
  software: [ghost]
notify:
  - on: [failure]
    to: [on-duty, manager]
    via: [mail, hook]
  - on: [handover-ready]
    to: [manager]
    via: [mail]
`)
	code, r, stderr := e.jsonRun(pb)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d (the step's failure, not the notifications'): %s", code, exitFailed, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mails, err := s.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	hooks, hookHeaders := received()
	if len(mails) != 1 || len(hooks) != 1 {
		t.Fatalf("%d mails and %d webhooks, want one of each", len(mails), len(hooks))
	}
	m, err := mail.ReadMessage(bytes.NewReader(mails[0].Raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get("X-RcptTo"); got != "oncall@corp.example.test, ghopper@corp.example.test" {
		t.Errorf("recipients %q", got)
	}
	if got := m.Header.Get("X-Onboard-Key"); got != r.ID+"/E77/failure" {
		t.Errorf("key %q, want the run's", got)
	}
	body := string(mails[0].Raw)
	for _, want := range []string{"acme-ghost", "ws7", "Exit code", "onboard resume " + r.ID} {
		if !strings.Contains(body, want) {
			t.Errorf("the mail lacks %q", want)
		}
	}
	if err := hrevent.Verify([][]byte{[]byte(hookKey)}, hookHeaders[0].Get(hrevent.HeaderTimestamp), hookHeaders[0].Get(hrevent.HeaderSignature),
		hooks[0], time.Now(), time.Minute); err != nil {
		t.Errorf("webhook signature: %v", err)
	}

	// Resume: it fails again, and nobody hears of it twice.
	code, r2, stderr := e.jsonRun("resume", r.ID)
	if code != exitFailed {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	time.Sleep(500 * time.Millisecond)
	mails, _ = s.Messages()
	hooks, _ = received()
	if len(mails) != 1 || len(hooks) != 1 {
		t.Errorf("after the resume: %d mails and %d webhooks, want still one of each", len(mails), len(hooks))
	}

	// The journal holds the attempts, sent, under the first run.
	j, err := journal.Open(ctx, os.Getenv("ONBOARD_JOURNAL"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for id, want := range map[string]int{r.ID: 2, r2.ID: 0} {
		d, err := j.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ns := d.Notifications()
		if len(ns) != want {
			t.Errorf("run %s: %d notification records, want %d: %+v", id, len(ns), want, ns)
		}
		for _, n := range ns {
			if n.Status != journal.NotifySent {
				t.Errorf("run %s: %+v", id, n)
			}
		}
	}

	if code, out, _ := e.onboard("show", r.ID); code != exitOK || !strings.Contains(out, "sent") || !strings.Contains(out, "failure via mail, attempt 1") {
		t.Errorf("show (exit %d) lacks the notification records:\n%s", code, out)
	}

	// No password or key in anything delivered.
	for _, b := range append(hooks, mails[0].Raw) {
		for _, sec := range []string{smtpPassword, hookKey} {
			if strings.Contains(string(b), sec) {
				t.Errorf("a delivered message holds a secret:\n%s", b)
			}
		}
	}
}
