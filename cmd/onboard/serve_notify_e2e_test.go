package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"onboard/internal/hrevent"
	"onboard/internal/journal"
)

// onboard serve tells of a hire's handover once, when its last phase is
// done (not after each phase), through a signed webhook configured in the
// inventory, and records the delivery in the journal.
func TestServeNotifiesHandover(t *testing.T) {
	l := needLab(t)
	e := serveEnv(t, l)
	var mu sync.Mutex
	var got []map[string]any
	var bad []string
	const key = "serve-notify-key-51f0e2"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := hrevent.Verify([][]byte{[]byte(key)}, r.Header.Get(hrevent.HeaderTimestamp), r.Header.Get(hrevent.HeaderSignature), b, time.Now(), time.Minute); err != nil {
			bad = append(bad, err.Error())
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		got = append(got, m)
	}))
	defer srv.Close()
	e.write("secrets/notify.key", key)
	e.write("inventory/notify.yaml", fmt.Sprintf(`notify:
  teams: {it-desk: it-desk@corp.example.test}
  channels:
    hook: {kind: webhook, url: "%s/onboard", key: "file:../secrets/notify.key"}
`, srv.URL))
	e.write("profiles/hr-basic.yaml", `description: HR-triggered hires (tests), with a handover notification
software: [chat]
notify:
  - on: [handover-ready, failure]
    to: [team:it-desk]
    via: [hook]
`)
	p := startServe(t, e)
	emp := uniq("E9201")
	if code, a := p.postHR(t, hrHire(uniq("evt-notify"), emp, "Nell", "Notify", "Engineering")); code != http.StatusAccepted {
		t.Fatalf("hire: %d %v", code, a)
	}
	h := p.waitDone(t, emp, 3*time.Minute)
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("signatures refused: %v", bad)
	}
	if len(got) != 1 {
		t.Fatalf("%d webhooks, want one (the handover): %v", len(got), got)
	}
	var activation string
	for _, r := range h.Runs {
		if r.Phase == "activation" {
			activation = r.ID
		}
	}
	if got[0]["event"] != "handover-ready" || got[0]["key"] != activation+"/"+emp+"/handover-ready" {
		t.Errorf("webhook %v, want handover-ready keyed by the activation run %s", got[0], activation)
	}
	if rs, _ := got[0]["recipients"].([]any); len(rs) != 1 || rs[0] != "it-desk@corp.example.test" {
		t.Errorf("recipients %v", got[0]["recipients"])
	}
	j := openJournalFile(t, e)
	var sent int
	for _, r := range h.Runs {
		d, err := j.Run(t.Context(), r.JournalRun)
		if err != nil {
			continue
		}
		for _, n := range d.Notifications() {
			if n.Status == journal.NotifySent {
				sent++
			}
		}
	}
	if sent != 1 {
		t.Errorf("%d sent records in the journal, want 1", sent)
	}
}

func openJournalFile(t *testing.T, e *env) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.Context(), filepath.Join(e.dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	if err := j.CheckChain(t.Context()); err != nil {
		t.Fatal(err)
	}
	return j
}
