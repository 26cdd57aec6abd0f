package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"onboard/internal/journal"
)

// A notification never blocks or fails the onboarding: with a receiver
// that hangs, the command ends with the run's own exit code once the
// bounded wait is over, and the journal records the delivery as given up.
func TestNotifyNeverBlocksTheRun(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body) // then a closed connection ends r.Context()
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	defer srv.Close()
	saved := notifyWait
	notifyWait = 700 * time.Millisecond
	t.Cleanup(func() { notifyWait = saved })

	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("secrets/hook.key", "cli-hook-key-7a1e55")
	write("inventory/notify.yaml", fmt.Sprintf(`notify:
  on_duty: oncall@corp.example.test
  channels:
    hook: {kind: webhook, url: "%s/hook", key: "file:../secrets/hook.key"}
`, srv.URL))
	pb := write("hand.yaml", `person: {employee_id: E5, given_name: Hal, surname: Hands, start_date: 2027-01-04}
handover:
  manual: [Hand over the laptop]
notify:
  - on: [human-task]
    to: [on-duty]
    via: [hook]
`)
	jpath := filepath.Join(dir, "journal.db")
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"-i", filepath.Join(dir, "inventory"), "--journal", jpath, "apply", "-o", "json", pb},
		strings.NewReader(""), &out, &errb)
	took := time.Since(start)
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (the run's own): %s", code, errb.String())
	}
	if took > 5*time.Second {
		t.Errorf("the command took %s: a hanging receiver held it", took)
	}
	if calls.Load() == 0 {
		t.Fatal("the receiver was never called")
	}
	if !strings.Contains(errb.String(), "notifications not all delivered") {
		t.Errorf("stderr does not say what was not delivered:\n%s", errb.String())
	}
	j, err := journal.Open(context.Background(), jpath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	runs, err := j.Runs(context.Background(), journal.Filter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v %v", runs, err)
	}
	d, err := j.Run(context.Background(), runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	ns := d.Notifications()
	if len(ns) != 1 || ns[0].Status != journal.NotifyGaveUp || ns[0].Event != "human-task" || !strings.Contains(ns[0].Reason, "context canceled") {
		t.Errorf("notification records %+v, want one given up", ns)
	}
}
