package bench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"onboard/internal/connect"
	"onboard/internal/engine"
	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/secret"
)

// BenchmarkProvisioning measures the first run of the provisioning
// workload (tenSteps: 4 packages, 2 printers, a file, a command, 2 checks)
// on fresh workstations: wall time, each host's time from its first step's
// start to its last step's end, and the remote commands each host ran.
// Run: go test -run '^$' -bench Provisioning -benchtime 1x ./internal/bench/
func BenchmarkProvisioning(b *testing.B) {
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprintf("workstations=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				provisionOnce(b, n)
			}
		})
	}
}

func provisionOnce(b *testing.B, n int) {
	ctx := context.Background()
	b.StopTimer()
	p, stop := tenStepPlan(b, "pkgb", 171, n)
	defer stop()
	var cmds atomic.Int64
	d := &countingDialer{d: &connect.Dialer{Secrets: &secret.Resolver{}}, n: &cmds}
	e := &engine.Engine{Dialer: d, Parallel: 20, Retries: 1}

	b.StartTimer()
	start := time.Now()
	r := e.Run(ctx, p, engine.Apply)
	wall := time.Since(start)
	b.StopTimer()

	first, last := map[string]time.Time{}, map[string]time.Time{}
	for _, s := range r.Steps {
		if !s.Outcome.Done() {
			b.Fatalf("%s: %s %+v", s.ID, s.Outcome, s.Failure)
		}
		if t, ok := first[s.Host]; !ok || s.Started.Before(t) {
			first[s.Host] = s.Started
		}
		if end := s.Started.Add(s.Duration); end.After(last[s.Host]) {
			last[s.Host] = end
		}
	}
	var per []time.Duration
	for h := range first {
		per = append(per, last[h].Sub(first[h]))
	}
	sort.Slice(per, func(i, j int) bool { return per[i] < per[j] })
	var sum time.Duration
	for _, d := range per {
		sum += d
	}
	mean := sum / time.Duration(len(per))
	perHost := float64(cmds.Load()) / float64(n)
	fmt.Printf("bench: provisioning workstations=%-2d wall=%-8s per host mean=%-8s max=%-8s commands/host=%.1f (run and handover)\n",
		n, wall.Round(time.Millisecond), mean.Round(time.Millisecond), per[len(per)-1].Round(time.Millisecond), perHost)
	b.ReportMetric(wall.Seconds(), "s/first-run")
	b.ReportMetric(mean.Seconds(), "s/host")
	b.ReportMetric(perHost, "commands/host")
}

// countingDialer counts the commands run on every host it connects.
type countingDialer struct {
	d engine.Dialer
	n *atomic.Int64
}

func (c *countingDialer) Dial(ctx context.Context, h *plan.Host) (remote.Communicator, error) {
	comm, err := c.d.Dial(ctx, h)
	if err != nil {
		return nil, err
	}
	return &countingComm{Communicator: comm, n: c.n}, nil
}

type countingComm struct {
	remote.Communicator
	n *atomic.Int64
}

func (c *countingComm) Run(ctx context.Context, cmd remote.Cmd) (int, error) {
	c.n.Add(1)
	return c.Communicator.Run(ctx, cmd)
}

// UploadOwned keeps the transport's owner-setting upload visible.
func (c *countingComm) UploadOwned(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, owner, group string, privileged bool) error {
	u, ok := c.Communicator.(interface {
		UploadOwned(context.Context, string, io.Reader, fs.FileMode, string, string, bool) error
	})
	if !ok {
		return fmt.Errorf("upload %s: this transport cannot set a file's owner or group", dst)
	}
	return u.UploadOwned(ctx, dst, r, mode, owner, group, privileged)
}
