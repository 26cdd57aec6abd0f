package report

import (
	"io"
	"testing"

	"onboard/internal/result"
)

// BenchmarkObservers is the cost of one run's events (sampleEvents: steps,
// handover) in each output, as the engine pays it: Event is called on the
// step's own goroutine.
func BenchmarkObservers(b *testing.B) {
	events := sampleEvents()
	outputs := []struct {
		name string
		make func() (result.Observer, func())
	}{
		{"json", func() (result.Observer, func()) { return NewJSONLines(io.Discard), func() {} }},
		{"text", func() (result.Observer, func()) { p := NewProgress(io.Discard, false); return p, p.Close }},
		{"live", func() (result.Observer, func()) { p := NewProgress(io.Discard, true); return p, p.Close }},
	}
	for _, o := range outputs {
		b.Run(o.name, func(b *testing.B) {
			for b.Loop() {
				obs, done := o.make()
				for _, e := range events {
					obs.Event(e)
				}
				done()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
		})
	}
}
