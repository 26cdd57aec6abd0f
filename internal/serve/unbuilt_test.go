package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/journal"
	"onboard/internal/serve/store"
	"onboard/internal/stats"
)

// hookLog is a local webhook receiver that keeps every body.
type hookLog struct {
	mu   sync.Mutex
	got  []map[string]any
	raws []string
}

func (h *hookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	h.mu.Lock()
	h.got, h.raws = append(h.got, m), append(h.raws, string(b))
	h.mu.Unlock()
}

func (h *hookLog) bodies() ([]map[string]any, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got), slices.Clone(h.raws)
}

// waitAttempt waits for a run to be failed after its nth attempt.
func waitAttempt(t *testing.T, s *Service, id string, n int) *store.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := store.GetRun(context.Background(), s.store.DB, id)
		if err == nil && r.State == store.RunFailed && r.Attempts == n && r.Error != "" {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s not failed after attempt %d: %+v %v", id, n, r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A hire whose plan cannot be built fails in every phase, and the
// technician on duty hears of it once, through the inventory's
// default_rules, with the errors at their positions, the HR event and
// what to do; a retry that meets the same errors tells nobody again.
// Errors that change are told again: a profile that now loads, by the
// profile's own rules; an inventory that no longer loads, through the
// inventory serve last loaded, saying so. Every run is failed with its
// reason, in the store and in the journal.
func TestUnbuiltPlanNotifies(t *testing.T) {
	hooks := &hookLog{}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	dir := t.TempDir()
	invDir, profiles := filepath.Join(dir, "inventory"), filepath.Join(dir, "profiles")
	const hookKey = "unbuilt-hook-key-5d1e0a"
	for name, content := range map[string]string{
		"inventory/hook.key": hookKey,
		"inventory/notify.yaml": fmt.Sprintf(`notify:
  on_duty: oncall@corp.example.test
  teams: {desk: desk@corp.example.test}
  channels:
    hook: {kind: webhook, url: "%s/onboard", key: "file:hook.key"}
  default_rules:
    - {on: [failure], to: [on-duty], via: [hook]}
`, srv.URL),
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(profiles, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// The mapping names the profile "engineering", which no folder has,
	// and a host the inventory lacks.
	s := openService(t, filepath.Join(dir, "serve.db"), Config{Mapper: fixedMapper("ws1", nowSlots), Inventory: []string{invDir},
		Profiles: []string{profiles}, Journal: j})
	if _, err := s.Accept(ctx, hireIntake("evt-u1", "E1")); err != nil {
		t.Fatal(err)
	}
	var runs []*store.Run
	for _, ph := range []string{PhaseAccount, PhaseMachine, PhaseActivation} {
		runs = append(runs, waitAttempt(t, s, "E1.g1."+ph, 1))
	}
	wait := func(n int) []map[string]any {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, _ := hooks.bodies()
			if len(got) >= n || time.Now().After(deadline) {
				time.Sleep(500 * time.Millisecond) // a message too many would come now
				got, _ = hooks.bodies()
				if len(got) != n {
					t.Fatalf("%d messages, want %d: %v", len(got), n, got)
				}
				return got
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	got := wait(1)
	m := got[0]
	failure, _ := m["failure"].(map[string]any)
	msg := fmt.Sprint(failure["message"])
	if m["event"] != "failure" || m["trigger"] != "hr:evt-u1" || !strings.HasPrefix(fmt.Sprint(m["key"]), "E1.g1/E1/failure/plan-") ||
		fmt.Sprint(m["recipients"]) != "[oncall@corp.example.test]" {
		t.Errorf("the message: %v", m)
	}
	if !strings.Contains(msg, `unknown profile "engineering"`) || !strings.Contains(msg, "E1.yaml:") || !strings.Contains(msg, "ws1") ||
		failure["phase"] != "plan" {
		t.Errorf("the failure lacks the errors at their positions: %v", failure)
	}
	if r := fmt.Sprint(m["resume"]); !strings.Contains(r, "hr rule everyone") || !strings.Contains(r, "/api/v1/runs/E1.g1.") {
		t.Errorf("what to do: %q", r)
	}
	for _, r := range runs {
		if !strings.Contains(r.Error, `unknown profile "engineering"`) || r.JournalRun == "" || len(r.Result) == 0 {
			t.Errorf("run %s: error %q, journal run %q, result %s", r.ID, r.Error, r.JournalRun, r.Result)
			continue
		}
		d, err := j.Run(ctx, r.JournalRun)
		if err != nil {
			t.Fatal(err)
		}
		if d.Outcome != journal.RunFailed || d.Trigger != "hr:evt-u1" || d.Steps["failed"] != 1 {
			t.Errorf("journal run %s: outcome %s, trigger %s, steps %v", d.ID, d.Outcome, d.Trigger, d.Steps)
		}
	}

	// The service figures count each as a failure of kind and phase plan.
	var details []*journal.RunDetail
	for _, r := range runs {
		d, err := j.Run(ctx, r.JournalRun)
		if err != nil {
			t.Fatal(err)
		}
		details = append(details, d)
	}
	rep, err := stats.Compute(details, stats.Options{})
	if err != nil || rep.Total == nil {
		t.Fatalf("figures: %+v %v", rep, err)
	}
	if f := rep.Total.Failures; len(f) != 1 || f[0].Kind != "plan" || f[0].Phase != "plan" || f[0].Count != 3 || rep.Total.Escalated != 1 {
		t.Errorf("figures: failures %+v, escalated %d", f, rep.Total.Escalated)
	}

	// The status page lists each phase among its failures, with the errors.
	p := &page{h: &server{s: s}}
	in, err := p.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v := makePage(in, s.now(), time.UTC, time.Minute)
	if len(v.Failures) != 3 {
		t.Errorf("%d failures on the status page, want the 3 phases: %+v", len(v.Failures), v.Failures)
	}
	for _, f := range v.Failures {
		if f.HireID != "E1" || !strings.Contains(f.Error, `unknown profile "engineering"`) {
			t.Errorf("status page failure %+v", f)
		}
	}

	// The same errors again: nobody is told twice.
	if err := s.Retry(ctx, "E1.g1.account"); err != nil {
		t.Fatal(err)
	}
	waitAttempt(t, s, "E1.g1.account", 2)
	wait(1)

	// The profile now exists and has rules of its own: the errors change
	// (only the host is left), and the profile's rules are followed.
	if err := os.WriteFile(filepath.Join(profiles, "engineering.yaml"), []byte(`description: engineers
notify:
  - {on: [failure], to: [team:desk], via: [hook]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, "E1.g1.account"); err != nil {
		t.Fatal(err)
	}
	waitAttempt(t, s, "E1.g1.account", 3)
	got = wait(2)
	if m := got[1]; fmt.Sprint(m["recipients"]) != "[desk@corp.example.test]" || m["key"] == got[0]["key"] ||
		strings.Contains(fmt.Sprint(m["failure"]), "unknown profile") {
		t.Errorf("after the profile was added: %v", m)
	}

	// The inventory no longer loads: told through the one last loaded.
	if err := os.WriteFile(filepath.Join(invDir, "broken.yaml"), []byte("hosts: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, "E1.g1.account"); err != nil {
		t.Fatal(err)
	}
	waitAttempt(t, s, "E1.g1.account", 4)
	got = wait(3)
	if m := got[2]; !strings.Contains(fmt.Sprint(m["note"]), "last loaded") || !strings.Contains(fmt.Sprint(m["failure"]), "broken.yaml") {
		t.Errorf("with a broken inventory: %v", m)
	}

	_, raws := hooks.bodies()
	for _, b := range raws {
		if strings.Contains(b, hookKey) {
			t.Errorf("a message holds the webhook key: %s", b)
		}
	}
	if err := j.CheckChain(ctx); err != nil {
		t.Error(err)
	}
}
