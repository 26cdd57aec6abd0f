package ssh

import (
	"context"
	"testing"

	"onboard/internal/remote"
)

// BenchmarkRun is one trivial command over one reused connection.
func BenchmarkRun(b *testing.B) {
	s := startSSHD(b)
	c := dial(b, s.config())
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if code, err := c.Run(ctx, remote.Cmd{Command: "true"}); err != nil || code != 0 {
			b.Fatal(code, err)
		}
	}
}

// BenchmarkRunParallel is trivial commands from many goroutines over one
// connection (MaxSessions at a time).
func BenchmarkRunParallel(b *testing.B) {
	s := startSSHD(b)
	c := dial(b, s.config())
	ctx := context.Background()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code, err := c.Run(ctx, remote.Cmd{Command: "true"}); err != nil || code != 0 {
				b.Fatal(code, err)
			}
		}
	})
}

// BenchmarkDialAndFirstRun is a new connection and its first command: the
// first reply waits for a delayed ACK unless TCP_QUICKACK is set.
func BenchmarkDialAndFirstRun(b *testing.B) {
	s := startSSHD(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c, err := Dial(ctx, s.config())
		if err != nil {
			b.Fatal(err)
		}
		if code, err := c.Run(ctx, remote.Cmd{Command: "true"}); err != nil || code != 0 {
			b.Fatal(code, err)
		}
		c.Close()
	}
}
