package ssh

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"onboard/internal/remote"
)

// hostCPU is the CPU time sshd and everything it ran (sessions, shells,
// commands) have used so far: what a workstation pays, whatever the load
// of the machine the benchmark runs on. Children count once reaped, so
// call it after their connections closed.
func hostCPU(b *testing.B, s *testServer) time.Duration {
	time.Sleep(300 * time.Millisecond) // let sshd reap its closed connections
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ = 100
}

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
			before := hostCPU(b, s)
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
			b.StopTimer()
			c.Close()
			// Includes one connection and its first command, spread over b.N.
			b.ReportMetric(float64((hostCPU(b, s)-before).Microseconds())/1000/float64(b.N), "host-ms/op")
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
			before := hostCPU(b, s)
			b.ResetTimer()
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
			b.StopTimer()
			b.ReportMetric(float64((hostCPU(b, s)-before).Microseconds())/1000/float64(b.N), "host-ms/op")
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
