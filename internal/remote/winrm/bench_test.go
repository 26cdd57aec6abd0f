package winrm

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	mw "github.com/masterzen/winrm"

	"onboard/internal/lab/wsman"
	"onboard/internal/remote"
)

// benchSetups are the transports the benchmarks compare.
var benchSetups = []struct {
	name  string
	https bool
	auth  string
}{
	{"https-basic", true, AuthBasic},
	{"http-ntlm", false, AuthNTLM},
}

func benchServer(b *testing.B, https bool) *testServer {
	return startServer(b, serverOptions{https: https, cfg: wsman.Config{Basic: true, NTLM: true, AllowUnencrypted: true}})
}

// BenchmarkRunReusedShell is one trivial command (a builtin of the test
// host: no process) in the client's one shell: Command, Send(End),
// Receive, Signal.
func BenchmarkRunReusedShell(b *testing.B) {
	for _, setup := range benchSetups {
		b.Run(setup.name, func(b *testing.B) {
			s := benchServer(b, setup.https)
			c := dial(b, s.config(setup.auth))
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if code, err := c.Run(ctx, remote.Cmd{Command: "noop"}); err != nil || code != 0 {
					b.Fatal(code, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(c.requests.Load())/float64(b.N), "requests/op")
		})
	}
}

// BenchmarkRunShellPerCommand is the same command through the library's
// RunWithContext, which creates and deletes a shell for every command:
// Create, Command, Receive, Signal, Delete.
func BenchmarkRunShellPerCommand(b *testing.B) {
	for _, setup := range benchSetups {
		b.Run(setup.name, func(b *testing.B) {
			s := benchServer(b, setup.https)
			var ca []byte
			if setup.https {
				var err error
				if ca, err = os.ReadFile(s.caFile); err != nil {
					b.Fatal(err)
				}
			}
			params := *mw.DefaultParameters
			if setup.auth == AuthNTLM {
				params.TransportDecorator = func() mw.Transporter { return &mw.ClientNTLM{} }
			}
			ep := mw.NewEndpoint("127.0.0.1", s.addr.Port, setup.https, false, ca, nil, nil, 0)
			lc, err := mw.NewClientWithParameters(ep, testUser, testPassword, &params)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			before := s.Requests()
			b.ResetTimer()
			for b.Loop() {
				if code, err := lc.RunWithContext(ctx, "noop", io.Discard, io.Discard); err != nil || code != 0 {
					b.Fatal(code, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(s.Requests()-before)/float64(b.N), "requests/op")
		})
	}
}

// BenchmarkRunParallel is trivial commands from many goroutines in the one
// shell (MaxCommands at a time).
func BenchmarkRunParallel(b *testing.B) {
	s := benchServer(b, true)
	c := dial(b, s.config(AuthBasic))
	ctx := context.Background()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code, err := c.Run(ctx, remote.Cmd{Command: "noop"}); err != nil || code != 0 {
				b.Fatal(code, err)
			}
		}
	})
}

// BenchmarkRunWithLatency is both ways of running a command through a
// proxy that delays every TCP write by 2 ms each way (a 4 ms round trip,
// a LAN over VPN): what counts is the round trips on the critical path,
// not the CPU that dominates on 127.0.0.1.
func BenchmarkRunWithLatency(b *testing.B) {
	const oneWay = 2 * time.Millisecond
	s := benchServer(b, true)
	port, _ := latencyProxy(b, s.addr.String(), oneWay)
	b.Run("reused-shell", func(b *testing.B) {
		cfg := s.config(AuthBasic)
		cfg.Port = port
		c := dial(b, cfg)
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			if code, err := c.Run(ctx, remote.Cmd{Command: "noop"}); err != nil || code != 0 {
				b.Fatal(code, err)
			}
		}
	})
	b.Run("shell-per-command", func(b *testing.B) {
		ca, err := os.ReadFile(s.caFile)
		if err != nil {
			b.Fatal(err)
		}
		lc, err := mw.NewClient(mw.NewEndpoint("127.0.0.1", port, true, false, ca, nil, nil, 0), testUser, testPassword)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			if code, err := lc.RunWithContext(ctx, "noop", io.Discard, io.Discard); err != nil || code != 0 {
				b.Fatal(code, err)
			}
		}
	})
}

// latencyProxy forwards 127.0.0.1:port to target, delaying each write by
// delay (in order, per direction). kill closes it and every connection.
func latencyProxy(tb testing.TB, target string, delay time.Duration) (port int, kill func()) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	kill = func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	tb.Cleanup(kill)
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		type chunk struct {
			data []byte
			at   time.Time
		}
		q := make(chan chunk, 1024)
		go func() {
			defer close(q)
			for {
				buf := make([]byte, 64<<10)
				n, err := src.Read(buf)
				if n > 0 {
					q <- chunk{buf[:n], time.Now().Add(delay)}
				}
				if err != nil {
					return
				}
			}
		}()
		for ch := range q {
			time.Sleep(time.Until(ch.at))
			if _, err := dst.Write(ch.data); err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			go pipe(u, c)
			go pipe(c, u)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, kill
}
