package notify

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"onboard/internal/hrevent"
	"onboard/internal/journal"
	"onboard/internal/plan"
	"onboard/internal/secret"
)

// receiver is a local HTTP endpoint that keeps what it was sent.
type receiver struct {
	mu     sync.Mutex
	got    []request
	status int
	hang   time.Duration
}

type request struct {
	header http.Header
	body   []byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, request{req.Header.Clone(), b})
	status, hang := r.status, r.hang
	r.mu.Unlock()
	if hang > 0 {
		select {
		case <-time.After(hang):
		case <-req.Context().Done():
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

// testJournal opens a journal in a temporary folder with the run started.
func testJournal(t *testing.T, runIDs ...string) *journal.Journal {
	t.Helper()
	ctx := context.Background()
	j, err := journal.Open(ctx, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	for _, id := range runIDs {
		if _, err := j.StartRun(ctx, journal.RunStart{ID: id, Operator: "test", Trigger: "cli", Mode: "apply", Plan: &plan.Plan{Version: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// attempts reads back the notification records of a run.
func attempts(t *testing.T, j *journal.Journal, runID string) []journal.NotificationRecord {
	t.Helper()
	d, err := j.Run(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	return d.Notifications()
}

func hookMessage(t *testing.T, runID string) Message {
	t.Helper()
	m := failureMessage(t)
	m.Channel, m.Run = "hook", runID
	return m
}

// A receiver that is down, then up: the message arrives once, after
// failed attempts that the journal records with their reason; a resumed
// run (another Notifier, the same key) sends nothing again.
func TestDownThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: connections are refused

	key := secret.New("hook-key-0123456789")
	rcv := &receiver{}
	j := testJournal(t, "20261203T060000Z-abc123", "20261203T080000Z-resume")
	hook := &Webhook{URL: "http://" + addr + "/hooks/onboard", Key: key, Client: httpClient(2 * time.Second)}
	n := &Notifier{Channels: map[string]Channel{"hook": hook}, Journal: j, Attempts: 20, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	m := hookMessage(t, "20261203T060000Z-abc123")
	start := time.Now()
	n.Send(m, m) // the same message twice in one process: once
	time.Sleep(300 * time.Millisecond)
	if time.Since(start) > 2*time.Second {
		t.Fatal("Send blocked")
	}
	var srv *http.Server
	for i := 0; ; i++ {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			srv = &http.Server{Handler: rcv}
			go srv.Serve(l)
			break
		}
		if i > 50 {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	if err := hrevent.Verify([][]byte{[]byte(key.Reveal())}, got[0].header.Get(hrevent.HeaderTimestamp), got[0].header.Get(hrevent.HeaderSignature),
		got[0].body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("the intake's own check refuses the signature: %v", err)
	}
	if id := got[0].header.Get(hrevent.HeaderEventID); id != m.Key {
		t.Errorf("%s: %q, want the key %q", hrevent.HeaderEventID, id, m.Key)
	}
	recs := attempts(t, j, "20261203T060000Z-abc123")
	if len(recs) < 2 {
		t.Fatalf("records %+v: want failed attempts then sent", recs)
	}
	for i, r := range recs {
		want := journal.NotifyFailed
		if i == len(recs)-1 {
			want = journal.NotifySent
		}
		if r.Status != want || r.Attempt != i+1 || r.Key != m.Key || r.Channel != "hook" {
			t.Errorf("record %d: %+v, want %s", i, r, want)
		}
		if want == journal.NotifyFailed && !strings.Contains(r.Reason, "refused") {
			t.Errorf("record %d: reason %q does not say the connection was refused", i, r.Reason)
		}
	}

	// The resumed run: same key, recorded sent, so nothing goes out.
	n2 := &Notifier{Channels: map[string]Channel{"hook": hook}, Journal: j, Backoff: 10 * time.Millisecond}
	m2 := m
	m2.Run = "20261203T080000Z-resume"
	n2.Send(m2)
	if err := n2.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rcv.requests()) != 1 {
		t.Errorf("the resumed run sent it again: %d deliveries", len(rcv.requests()))
	}
	if recs := attempts(t, j, "20261203T080000Z-resume"); len(recs) != 0 {
		t.Errorf("the resumed run recorded attempts: %+v", recs)
	}
	if err := j.CheckChain(ctx); err != nil {
		t.Errorf("journal chain: %v", err)
	}
}

// A refusal (400) is not retried; a receiver that hangs is cut off by
// the drain's deadline; both are recorded as given up, with the reason.
func TestGiveUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rcv      *receiver
		drain    time.Duration
		attempts int
		reason   string
	}{
		{"refused", &receiver{status: http.StatusBadRequest}, 5 * time.Second, 1, "400 Bad Request"},
		{"server error, retried", &receiver{status: http.StatusBadGateway}, 5 * time.Second, 3, "502 Bad Gateway"},
		{"hangs past the drain", &receiver{hang: 10 * time.Second}, 300 * time.Millisecond, 1, "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.rcv)
			defer srv.Close()
			j := testJournal(t, "20261203T060000Z-abc123")
			n := &Notifier{Channels: map[string]Channel{"hook": &Webhook{URL: srv.URL, Key: secret.New("hook-key-0123456789"), Client: httpClient(30 * time.Second)}},
				Journal: j, Attempts: 3, Backoff: 10 * time.Millisecond}
			n.Send(hookMessage(t, "20261203T060000Z-abc123"))
			ctx, cancel := context.WithTimeout(context.Background(), tc.drain)
			defer cancel()
			start := time.Now()
			err := n.Drain(ctx)
			if tc.rcv.hang > 0 {
				if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
					t.Errorf("drain: %v after %s, want the deadline's error, promptly", err, time.Since(start))
				}
			} else if err != nil {
				t.Fatal(err)
			}
			recs := attempts(t, j, "20261203T060000Z-abc123")
			if len(recs) != tc.attempts {
				t.Fatalf("%d records, want %d: %+v", len(recs), tc.attempts, recs)
			}
			last := recs[len(recs)-1]
			if last.Status != journal.NotifyGaveUp || !strings.Contains(last.Reason, tc.reason) {
				t.Errorf("last record %+v, want gave-up with %q", last, tc.reason)
			}
			if strings.Contains(last.Reason, "hook-key") {
				t.Errorf("the key is in the reason: %q", last.Reason)
			}
		})
	}
}

// Two Notifiers of one process that share a Flight (onboard serve makes
// one per finished run) send a key through a channel once, though both
// are given it while the first delivery is still going on; without the
// Flight, both would send it (the journal says "sent" only once it is).
func TestFlightSharedByNotifiers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared bool
		want   int
	}{
		{"shared flight", true, 1},
		{"no flight", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := &receiver{hang: 200 * time.Millisecond}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			j := testJournal(t, "20261203T060000Z-abc123", "20261203T060001Z-abc124")
			hook := &Webhook{URL: srv.URL, Key: secret.New("hook-key-0123456789"), Client: httpClient(5 * time.Second)}
			var f *Flight
			if tc.shared {
				f = &Flight{}
			}
			var ns []*Notifier
			for _, run := range []string{"20261203T060000Z-abc123", "20261203T060001Z-abc124"} {
				n := &Notifier{Channels: map[string]Channel{"hook": hook}, Journal: j, Flight: f, Backoff: 10 * time.Millisecond}
				n.Send(hookMessage(t, run))
				ns = append(ns, n)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, n := range ns {
				if err := n.Drain(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(rcv.requests()); got != tc.want {
				t.Errorf("%d deliveries, want %d", got, tc.want)
			}
			// Once released, the key is the journal's to judge: a third
			// Notifier sends nothing.
			n := &Notifier{Channels: map[string]Channel{"hook": hook}, Journal: j, Flight: f}
			n.Send(hookMessage(t, "20261203T060001Z-abc124"))
			if err := n.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if got := len(rcv.requests()); got != tc.want {
				t.Errorf("after a later Notifier: %d deliveries, want still %d", got, tc.want)
			}
		})
	}
}
