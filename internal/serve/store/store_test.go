package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"onboard/internal/lab"
)

// engines opens a fresh store on each engine: SQLite always, PostgreSQL
// (a private cluster from the lab) unless -short.
func engines(t *testing.T) map[string]*Store {
	t.Helper()
	ctx := context.Background()
	out := map[string]*Store{}
	s, err := Open(ctx, filepath.Join(t.TempDir(), "serve.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out[SQLite] = s
	if !testing.Short() {
		pg := lab.PostgresForTest(t)
		p, err := Open(ctx, pg.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		out[Postgres] = p
	}
	return out
}

func TestEventsAreStoredOnce(t *testing.T) {
	for name, s := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Millisecond)
			ev := &Event{ID: "hr:evt-1", Source: "hr", Type: "hire", EmployeeID: "E1", ReceivedAt: now,
				Body: json.RawMessage(`{"name":"O'Brien\"; rm -rf / #"}`), Result: "scheduled"}
			got, inserted, err := InsertEvent(ctx, s.DB, ev)
			if err != nil || !inserted || got != ev {
				t.Fatalf("first insert: %v %v", inserted, err)
			}
			again := *ev
			again.Result = "held"
			got, inserted, err = InsertEvent(ctx, s.DB, &again)
			if err != nil || inserted {
				t.Fatalf("second insert: inserted=%v err=%v", inserted, err)
			}
			if got.Result != "scheduled" || string(got.Body) != string(ev.Body) || !got.ReceivedAt.Equal(now) {
				t.Fatalf("the stored event changed: %+v", got)
			}
			if _, err := GetEvent(ctx, s.DB, "hr:nope"); err == nil {
				t.Fatal("a missing event was found")
			}
		})
	}
}

func TestOneClaimWins(t *testing.T) {
	for name, s := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			if err := InsertRun(ctx, s.DB, &Run{ID: "r1", EmployeeID: "E1", Generation: 1, Phase: "account",
				State: RunScheduled, Trigger: "hr:e", ScheduledAt: now}); err != nil {
				t.Fatal(err)
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := Claim(ctx, s.DB, "r1", fmt.Sprintf("i%d", i), now, now.Add(time.Minute))
					if err != nil {
						t.Error(err)
					}
					if r != nil {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d claims won, want 1", wins.Load())
			}
			// Its holder died: once the lease has run out, another takes it.
			later := now.Add(2 * time.Minute)
			ab, err := Abandoned(ctx, s.DB, later)
			if err != nil || len(ab) != 1 {
				t.Fatalf("abandoned: %v %v", ab, err)
			}
			r, err := Claim(ctx, s.DB, "r1", "survivor", later, later.Add(time.Minute))
			if err != nil || r == nil || r.Attempts != 2 || r.Holder != "survivor" {
				t.Fatalf("take-over: %+v %v", r, err)
			}
			// The old holder can no longer finish it.
			old := *r
			old.State = RunOK
			if ok, err := Finish(ctx, s.DB, &old, ab[0].Holder, later); err != nil || ok {
				t.Fatalf("the dead holder finished the run: %v %v", ok, err)
			}
			r.State = RunOK
			if ok, err := Finish(ctx, s.DB, r, "survivor", later); err != nil || !ok {
				t.Fatalf("finish: %v %v", ok, err)
			}
			if again, _ := Claim(ctx, s.DB, "r1", "x", later, later.Add(time.Minute)); again != nil {
				t.Fatal("a finished run was claimed")
			}
		})
	}
}

func TestLeaseSlots(t *testing.T) {
	for name, s := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			exp := now.Add(time.Minute)
			var got []bool
			for i := range 3 {
				ok, err := Acquire(ctx, s.DB, "directory:corp", 2, "a", fmt.Sprintf("run%d", i), now, exp)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ok)
			}
			if fmt.Sprint(got) != "[true true false]" {
				t.Fatalf("2 slots gave %v", got)
			}
			if err := ReleaseAll(ctx, s.DB, "run0"); err != nil {
				t.Fatal(err)
			}
			if ok, _ := Acquire(ctx, s.DB, "directory:corp", 2, "a", "run2", now, exp); !ok {
				t.Fatal("a released slot was not free")
			}
			// Leases that ran out are free.
			if ok, _ := Acquire(ctx, s.DB, "directory:corp", 2, "b", "run3", exp.Add(time.Second), exp.Add(time.Hour)); !ok {
				t.Fatal("an expired slot was not free")
			}
			n, err := Holding(ctx, s.DB, "directory:corp", exp.Add(time.Second))
			if err != nil || n != 1 {
				t.Fatalf("holding %d %v", n, err)
			}
		})
	}
}

func TestConcurrentAcquireNeverOverbooks(t *testing.T) {
	for name, s := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			var held atomic.Int32
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := s.Tx(ctx, func(tx *sql.Tx) error {
						ok, err := Acquire(ctx, tx, "host:ws1", 3, "h", fmt.Sprintf("r%d", i), now, now.Add(time.Minute))
						if ok {
							held.Add(1)
						}
						return err
					})
					if err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if held.Load() != 3 {
				t.Fatalf("%d of 3 slots taken", held.Load())
			}
		})
	}
}

// A run's trigger finds its first event: an HR event by its id, a SCIM
// user by the earliest of its versions.
func TestEventArrivals(t *testing.T) {
	for name, s := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			for _, ev := range []*Event{
				{ID: "hr:evt-1", Source: "hr", ReceivedAt: t0},
				{ID: "scim:u-7:v2", Source: "scim", ReceivedAt: t0.Add(2 * time.Hour)},
				{ID: "scim:u-7:v1", Source: "scim", ReceivedAt: t0.Add(time.Hour)},
			} {
				ev.Type, ev.EmployeeID, ev.Body, ev.Result = "hire", "E1", json.RawMessage(`{}`), "scheduled"
				if _, _, err := InsertEvent(ctx, s.DB, ev); err != nil {
					t.Fatal(err)
				}
			}
			got, err := EventArrivals(ctx, s.DB)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || !got["hr:evt-1"].Equal(t0) || !got["scim:u-7"].Equal(t0.Add(time.Hour)) {
				t.Errorf("arrivals %v", got)
			}
		})
	}
}
