package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"onboard/internal/hrevent"
	"onboard/internal/journal"
)

// onboard serve tells of a hire's handover once, when its last phase is
// done (not after each phase), and of another hire's failure once, though
// its machine phase and its activation phase (which resumes the failed
// step) both fail, through a signed webhook configured in the inventory,
// with every delivery in the journal.
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
	e.write("profiles/hr-broken.yaml", `description: a package the repository does not have (tests)
software: [ghost]
notify:
  - on: [failure]
    to: [team:it-desk]
    via: [hook]
`)
	e.write("inventory/hr-broken.yaml", `# The hire's account is made; its machine fails.
software:
  ghost:
    linux: {package: acme-ghost, version: "1.0"}
hr:
  rules:
    - name: broken
      match: {department: Broken}
      profile: hr-broken
      directory: corp-ad
      machine: {pool: [ws6, ws7]}
      password: {deliver: "file:`+e.dir+`/pw/${person.employee_id}.txt"}
`)
	p := startServe(t, e)
	emp, broken := uniq("E9201"), uniq("E9202")
	if code, a := p.postHR(t, hrHire(uniq("evt-notify"), emp, "Nell", "Notify", "Engineering")); code != http.StatusAccepted {
		t.Fatalf("hire: %d %v", code, a)
	}
	if code, a := p.postHR(t, hrHire(uniq("evt-broken"), broken, "Bo", "Broken", "Broken")); code != http.StatusAccepted {
		t.Fatalf("hire: %d %v", code, a)
	}
	h := p.waitDone(t, emp, 3*time.Minute)
	// The broken hire: its machine and activation phases fail for good.
	deadline := time.Now().Add(60 * time.Second)
	var bh *hireView
	for {
		bh, _ = p.hire(t, broken)
		failed := 0
		for _, r := range bh.Runs {
			if r.State == "failed" {
				failed++
			}
		}
		if failed == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broken hire: %+v", bh)
		}
		time.Sleep(200 * time.Millisecond)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // a second failure message would come now
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("signatures refused: %v", bad)
	}
	if len(got) != 2 {
		t.Fatalf("%d webhooks, want two (a handover, a failure): %v", len(got), got)
	}
	byKey := map[string]map[string]any{}
	for _, m := range got {
		byKey[fmt.Sprint(m["key"])] = m
		if rs, _ := m["recipients"].([]any); len(rs) != 1 || rs[0] != "it-desk@corp.example.test" {
			t.Errorf("recipients %v", m["recipients"])
		}
	}
	if m := byKey[emp+".g1/"+emp+"/handover-ready"]; m == nil || m["event"] != "handover-ready" {
		t.Errorf("no handover-ready keyed by the hire's generation: %v", got)
	}
	f := byKey[broken+".g1/"+broken+"/failure"]
	if f == nil {
		t.Fatalf("no failure keyed by the hire's generation: %v", got)
	}
	if ev, _ := f["failure"].(map[string]any); ev == nil || !strings.Contains(fmt.Sprint(ev["command"]), "acme-ghost") ||
		!strings.Contains(fmt.Sprint(f["resume"]), "/retry") {
		t.Errorf("the failure lacks its evidence or how to go on: %v", f)
	}
	j := openJournalFile(t, e)
	var sent int
	for _, r := range append(h.Runs, bh.Runs...) {
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
	if sent != 2 {
		t.Errorf("%d sent records in the journal, want 2", sent)
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
