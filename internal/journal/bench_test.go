package journal

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"onboard/internal/result"
)

// benchStep is a step result of a realistic size.
func benchStep(i int) *result.Step {
	return &result.Step{ID: fmt.Sprintf("E100/package/pkg-%d", i), Kind: "package", Hire: "E100", Host: "ws-01",
		Title: "install pkg", Outcome: result.Changed, Changed: "installed pkg 1.2.3-1", Started: time.Now(),
		Duration: 2 * time.Second, Remote: 1900 * time.Millisecond, Attempts: 1}
}

func benchRecord(b *testing.B, typ result.EventType) {
	ctx := context.Background()
	j, _ := openTemp(b)
	id, err := j.StartRun(ctx, RunStart{Operator: "bench", Plan: testPlan()})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := j.Record(ctx, id, result.Event{Type: typ, Step: benchStep(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// A step-finished record: fsynced (synchronous=FULL) before Record returns.
func BenchmarkRecordStepFinished(b *testing.B) { benchRecord(b, result.StepFinished) }

// A step-started record: committed with synchronous=NORMAL.
func BenchmarkRecordStepStarted(b *testing.B) { benchRecord(b, result.StepStarted) }

// The payload alone: canonical JSON with every string scrubbed.
func BenchmarkCanonical(b *testing.B) {
	p := stepPayload{Step: *benchStep(1), Action: "create"}
	for b.Loop() {
		if _, err := canonical(p); err != nil {
			b.Fatal(err)
		}
	}
}

// benchJournal holds runs runs of 100 steps, each started and finished:
// 201 records a run.
func benchJournal(b *testing.B, runs int) *Journal {
	ctx := context.Background()
	j, _ := openTemp(b)
	for r := range runs {
		id, err := j.StartRun(ctx, RunStart{Operator: "bench", Plan: testPlan(), ID: fmt.Sprintf("run-%d", r)})
		if err != nil {
			b.Fatal(err)
		}
		var es []entry
		for i := range 100 {
			for _, k := range []Kind{StepStarted, StepFinished} {
				p, err := canonical(stepPayload{Step: *benchStep(i)})
				if err != nil {
					b.Fatal(err)
				}
				es = append(es, entry{runID: id, kind: k, time: time.Now(), payload: p})
			}
		}
		if _, err := j.append(ctx, false, es...); err != nil {
			b.Fatal(err)
		}
	}
	return j
}

// Verify over a journal of 100 runs of 100 steps (20,100 records).
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	j := benchJournal(b, 100)
	for b.Loop() {
		rep, err := j.Verify(ctx)
		if err != nil || !rep.OK() || rep.Records != 20100 {
			b.Fatal(err, rep.Problems, rep.Records)
		}
	}
	b.ReportMetric(float64(20100*b.N)/b.Elapsed().Seconds(), "records/s")
}

// What resume and audit pay before acting: the whole chain checked, here
// 500 runs (100,500 records), and one run read in the same snapshot.
func BenchmarkVerifiedRun(b *testing.B) {
	ctx := context.Background()
	j := benchJournal(b, 500)
	for b.Loop() {
		if d, err := j.VerifiedRun(ctx, "run-250"); err != nil || len(d.Records) != 201 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100500*b.N)/b.Elapsed().Seconds(), "records/s")
}

// History: the latest 50 runs of 100, with their counts.
func BenchmarkRuns(b *testing.B) {
	ctx := context.Background()
	j, _ := openTemp(b)
	for r := range 100 {
		id, err := j.StartRun(ctx, RunStart{Operator: "bench", Plan: testPlan(), ID: fmt.Sprintf("run-%d", r)})
		if err != nil {
			b.Fatal(err)
		}
		var es []entry
		for i := range 100 {
			p, _ := canonical(stepPayload{Step: *benchStep(i)})
			es = append(es, entry{runID: id, kind: StepFinished, time: time.Now(), payload: p})
		}
		if _, err := j.append(ctx, false, es...); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if rs, err := j.Runs(ctx, Filter{Limit: 50}); err != nil || len(rs) != 50 {
			b.Fatal(err, len(rs))
		}
	}
}

// Step-finished records from 20 goroutines at once, as when the steps of
// 20 hosts finish together: group commit shares the fsyncs among them.
func BenchmarkRecordStepFinishedParallel(b *testing.B) {
	ctx := context.Background()
	j, _ := openTemp(b)
	id, err := j.StartRun(ctx, RunStart{Operator: "bench", Plan: testPlan()})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(10) // 20 goroutines on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := j.Record(ctx, id, result.Event{Type: result.StepFinished, Step: benchStep(int(n.Add(1)))}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
