package ssh

import (
	"context"
	"testing"

	"onboard/internal/remote"
)

// modes are the two ways a client runs commands.
var modes = []struct {
	name       string
	perCommand bool
}{{"shell", false}, {"session", true}}

// BenchmarkRun is one trivial command over one reused connection: in the
// long-lived shell, and in a session of its own.
func BenchmarkRun(b *testing.B) {
	s := startSSHD(b)
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			cfg := s.config()
			cfg.SessionPerCommand = m.perCommand
			c := dial(b, cfg)
			ctx := context.Background()
			if code, err := c.Run(ctx, remote.Cmd{Command: "true"}); err != nil || code != 0 {
				b.Fatal(code, err) // the shell starts outside the timing
			}
			b.ResetTimer()
			for b.Loop() {
				if code, err := c.Run(ctx, remote.Cmd{Command: "true"}); err != nil || code != 0 {
					b.Fatal(code, err)
				}
			}
		})
	}
}

// BenchmarkTenChecks is what a host costs for ten trivial steps: connect,
// ten commands, close.
func BenchmarkTenChecks(b *testing.B) {
	s := startSSHD(b)
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			cfg := s.config()
			cfg.SessionPerCommand = m.perCommand
			ctx := context.Background()
			for b.Loop() {
				c, err := Dial(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				for range 10 {
					if code, err := c.Run(ctx, remote.Cmd{Command: "test -d /"}); err != nil || code != 0 {
						b.Fatal(code, err)
					}
				}
				c.Close()
			}
		})
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
