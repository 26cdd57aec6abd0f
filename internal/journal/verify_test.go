package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"onboard/internal/result"
)

// buildChain writes two runs of six records each (seq 1-6 and 7-12) and
// returns the journal's path and its head.
func buildChain(t *testing.T) (string, Anchor) {
	t.Helper()
	ctx := context.Background()
	j, path := openTemp(t)
	for r, id := range []string{"run-a", "run-b"} {
		if _, err := j.StartRun(ctx, RunStart{ID: id, Operator: "alice", Trigger: "cli", Started: t0.Add(time.Duration(r) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var steps []result.Step
		for i := range 4 {
			st := result.Step{ID: fmt.Sprintf("E1/s%d", i), Hire: "E1", Title: "step", Outcome: result.Changed, Changed: "made it"}
			steps = append(steps, st)
			if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Step: &st}); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Record(ctx, id, result.Event{Type: result.RunFinished, Run: &result.Run{DryRun: true, Steps: steps}}); err != nil {
			t.Fatal(err)
		}
	}
	head, err := j.Head(ctx)
	if err != nil || head.Seq != 12 {
		t.Fatalf("head %v %v, want record 12", head, err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return path, head
}

// raw opens the file as anyone with write access could.
func raw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func sqlExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// row reads one record as stored.
func row(t *testing.T, db *sql.DB, seq int64) (r vrow) {
	t.Helper()
	var kind string
	err := db.QueryRow(`SELECT seq, run_id, kind, time_ns, payload, prev_hash, hash FROM records WHERE seq = ?`, seq).
		Scan(&r.seq, &r.runID, &kind, &r.ns, &r.payload, &r.prev, &r.hash)
	if err != nil {
		t.Fatalf("record %d: %v", seq, err)
	}
	r.kind = Kind(kind)
	return r
}

// forge inserts a record at seq, chained to prev with a correct hash: the
// work of someone who knows the algorithm.
func forge(t *testing.T, db *sql.DB, seq int64, prev string) string {
	t.Helper()
	payload := `{"step":{"id":"E1/forged","hire":"E1","outcome":"changed"}}`
	h := hashRecord(prev, seq, "run-a", StepFinished, t0.UnixNano(), []byte(payload))
	sqlExec(t, db, `INSERT INTO records (seq, run_id, kind, time_ns, payload, prev_hash, hash) VALUES (?, 'run-a', 'step-finished', ?, ?, ?, ?)`,
		seq, t0.UnixNano(), payload, prev, h)
	return h
}

// shift moves records from seq on by delta, around the primary key.
func shift(t *testing.T, db *sql.DB, from, delta int64) {
	sqlExec(t, db, `UPDATE records SET seq = seq + 1000000 WHERE seq >= ?`, from)
	sqlExec(t, db, `UPDATE records SET seq = seq - 1000000 + ? WHERE seq >= 1000000`, delta)
}

// rehash recomputes the chain from seq on, and the head, as someone who
// knows the algorithm would after editing.
func rehash(t *testing.T, db *sql.DB, from int64) {
	prev := genesis
	if from > 1 {
		prev = row(t, db, from-1).hash
	}
	var last, n int64
	if err := db.QueryRow(`SELECT max(seq), count(*) FROM records`).Scan(&last, &n); err != nil {
		t.Fatal(err)
	}
	for seq := from; seq <= last; seq++ {
		r := row(t, db, seq)
		h := hashRecord(prev, seq, r.runID, r.kind, r.ns, r.payload)
		sqlExec(t, db, `UPDATE records SET prev_hash = ?, hash = ? WHERE seq = ?`, prev, h, seq)
		prev = h
	}
	sqlExec(t, db, `UPDATE chain_head SET count = ?, last_seq = ?, last_hash = ?`, n, last, prev)
}

func summary(rep VerifyReport) string {
	var s []string
	for _, p := range rep.Problems {
		w := fmt.Sprintf("%s@%d", p.Kind, p.Seq)
		if p.Last > p.Seq {
			w += fmt.Sprintf("-%d", p.Last)
		}
		s = append(s, w)
	}
	return strings.Join(s, ", ")
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, db *sql.DB)
		pin    bool // verify with the head taken before the tampering
		want   string
	}{
		{name: "untouched", tamper: func(*testing.T, *sql.DB) {}, want: ""},
		{name: "untouched, pinned", tamper: func(*testing.T, *sql.DB) {}, pin: true, want: ""},
		{name: "edited payload", want: "edited@3", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `UPDATE records SET payload = replace(payload, '"changed"', '"failed"') WHERE seq = 3`)
		}},
		{name: "edited time", want: "edited@8", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `UPDATE records SET time_ns = time_ns + 1 WHERE seq = 8`)
		}},
		{name: "edited run id", want: "edited@9", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `UPDATE records SET run_id = 'run-a' WHERE seq = 9`)
		}},
		{name: "edited with its hash recomputed", want: "edited@3", tamper: func(t *testing.T, db *sql.DB) {
			r := row(t, db, 3)
			p := strings.Replace(string(r.payload), `"changed"`, `"ok"`, 1)
			sqlExec(t, db, `UPDATE records SET payload = ?, hash = ? WHERE seq = 3`, p, hashRecord(r.prev, 3, r.runID, r.kind, r.ns, []byte(p)))
		}},
		{name: "deleted middle", want: "deleted@5", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `DELETE FROM records WHERE seq = 5`)
		}},
		{name: "deleted two in the middle", want: "deleted@4-5", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `DELETE FROM records WHERE seq IN (4, 5)`)
		}},
		{name: "deleted first", want: "deleted@1", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `DELETE FROM records WHERE seq = 1`)
		}},
		{name: "deleted last", want: "deleted@12", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `DELETE FROM records WHERE seq = 12`)
		}},
		{name: "deleted last three", want: "deleted@10-12", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `DELETE FROM records WHERE seq >= 10`)
		}},
		{name: "deleted and the rest renumbered", want: "deleted@5, reordered@5-11", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `DELETE FROM records WHERE seq = 5`)
			shift(t, db, 6, -1)
		}},
		{name: "two records swapped", want: "reordered@4-5", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `UPDATE records SET seq = -4 WHERE seq = 4`)
			sqlExec(t, db, `UPDATE records SET seq = 4 WHERE seq = 5`)
			sqlExec(t, db, `UPDATE records SET seq = 5 WHERE seq = -4`)
		}},
		{name: "two distant records swapped", want: "reordered@3-9", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `UPDATE records SET seq = -3 WHERE seq = 3`)
			sqlExec(t, db, `UPDATE records SET seq = 3 WHERE seq = 9`)
			sqlExec(t, db, `UPDATE records SET seq = 9 WHERE seq = -3`)
		}},
		{name: "forged record inserted in the middle", want: "inserted@5, reordered@6-13", tamper: func(t *testing.T, db *sql.DB) {
			shift(t, db, 5, 1)
			forge(t, db, 5, row(t, db, 4).hash)
		}},
		{name: "forged record appended past the head", want: "inserted@13", tamper: func(t *testing.T, db *sql.DB) {
			forge(t, db, 13, row(t, db, 12).hash)
		}},
		{name: "junk record appended", want: "inserted@13", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `INSERT INTO records (seq, run_id, kind, time_ns, payload, prev_hash, hash) VALUES (13, 'x', 'step-finished', 0, '{}', 'x', 'y')`)
		}},
		{name: "head deleted", want: "head@0", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `DELETE FROM chain_head`)
		}},
		{name: "head count edited", want: "head@0", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `UPDATE chain_head SET count = 11`)
		}},
		{name: "head hash edited", want: "edited@12", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `UPDATE chain_head SET last_hash = ?`, genesis)
		}},
		// What the chain alone cannot see, and a pinned head can.
		{name: "truncated and head rewritten", want: "", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `DELETE FROM records WHERE seq >= 10`)
			rehash(t, db, 1)
		}},
		{name: "truncated and head rewritten, pinned", pin: true, want: "deleted@10-12", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `DELETE FROM records WHERE seq >= 10`)
			rehash(t, db, 1)
		}},
		{name: "edited and chain recomputed", want: "", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `UPDATE records SET payload = replace(payload, '"changed"', '"ok"') WHERE seq = 3`)
			rehash(t, db, 3)
		}},
		{name: "edited and chain recomputed, pinned", pin: true, want: "rewritten@12", tamper: func(t *testing.T, db *sql.DB) {
			sqlExec(t, db, `UPDATE records SET payload = replace(payload, '"changed"', '"ok"') WHERE seq = 3`)
			rehash(t, db, 3)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, head := buildChain(t)
			db := raw(t, path)
			tt.tamper(t, db)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			j, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			var pins []Anchor
			if tt.pin {
				pins = append(pins, head)
			}
			rep, err := j.Verify(context.Background(), pins...)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(rep); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			for _, p := range rep.Problems {
				t.Log(p)
			}
			if rep.OK() != (tt.want == "") || (rep.First() == nil) != rep.OK() {
				t.Errorf("OK() %v, First() %v", rep.OK(), rep.First())
			}
			// What resume and audit act on: the streaming check agrees with
			// Verify, and refuses with its findings.
			for name, check := range map[string]func() error{
				"CheckChain":  func() error { return j.CheckChain(context.Background(), pins...) },
				"VerifiedRun": func() error { _, err := j.VerifiedRun(context.Background(), "run-a", pins...); return err },
			} {
				err := check()
				var ce *ChainError
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("%s: %v", name, err)
				case tt.want != "" && !errors.As(err, &ce):
					t.Errorf("%s: %v, want a ChainError", name, err)
				case tt.want != "" && (summary(ce.Report) != tt.want || !strings.Contains(err.Error(), rep.Problems[0].String())):
					t.Errorf("%s: %q (%s), want %q and Verify's message", name, summary(ce.Report), err, tt.want)
				}
			}
		})
	}
}

func TestDeletionStaysDetectedAfterLaterAppends(t *testing.T) {
	ctx := context.Background()
	path, _ := buildChain(t)
	db := raw(t, path)
	sqlExec(t, db, `DELETE FROM records WHERE seq = 12`)
	j, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.StartRun(ctx, RunStart{ID: "run-c"}); err != nil {
		t.Fatal(err)
	}
	rep, err := j.Verify(ctx)
	if err != nil || summary(rep) != "deleted@12" {
		t.Errorf("got %q %v, want deleted@12: the next record is chained to the deleted one", summary(rep), err)
	}
}

func TestAppendRefusesAForgedTail(t *testing.T) {
	ctx := context.Background()
	path, _ := buildChain(t)
	db := raw(t, path)
	forge(t, db, 13, row(t, db, 12).hash)
	j, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.StartRun(ctx, RunStart{ID: "run-c"}); err == nil || !strings.Contains(err.Error(), "outside onboard") {
		t.Errorf("append after a forged record: %v", err)
	}
}

// Run flags the records of a run that no longer match their hash, for
// show to warn and audit to refuse, even without a chain check.
func TestRunFlagsEditedRecords(t *testing.T) {
	ctx := context.Background()
	path, _ := buildChain(t)
	db := raw(t, path)
	sqlExec(t, db, `UPDATE records SET payload = replace(payload, '"changed"', '"failed"') WHERE seq IN (3, 9)`)
	j, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for id, want := range map[string]string{"run-a": "[3]", "run-b": "[9]"} {
		d, err := j.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(d.Unverified); got != want {
			t.Errorf("run %s: unverified %s, want %s", id, got, want)
		}
	}
}

func TestParseAnchor(t *testing.T) {
	h := strings.Repeat("ab", 32)
	a, err := ParseAnchor(" 12:" + strings.ToUpper(h) + "\n")
	if err != nil || a != (Anchor{12, h}) || a.String() != "12:"+h {
		t.Errorf("got %v %v", a, err)
	}
	for _, bad := range []string{"", "12", "x:" + h, "0:" + h, "12:abc", "12:" + h + "00"} {
		if _, err := ParseAnchor(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
