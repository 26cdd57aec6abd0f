// Package bench measures onboard against the lab: the wall time of a
// 10-step onboarding on N workstations, and the engine's own overhead per
// step (a step's time beyond the remote commands it waited on). Run with
// `make bench`.
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"onboard/internal/connect"
	"onboard/internal/engine"
	"onboard/internal/inventory"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/planner"
	"onboard/internal/playbook"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// tenSteps is the playbook of the benchmark: 4 packages, 2 printers, a
// file, a command and 2 checks.
const tenSteps = `person:
  employee_id: B%[1]d
  given_name: Bench
  surname: Hire%[1]d
  start_date: 2026-12-01
machine:
  host: ws%[1]d
  software: [vpn-client, chat, crm, office]
  printers: [office-2f, lobby]
  default_printer: office-2f
  files:
    - path: /etc/motd
      content: "Welcome ${person.name}\n"
  commands:
    - name: workspace
      run: mkdir -p /srv/workspace/${account.username}
      creates: /srv/workspace/${account.username}
      privileged: true
checks:
  - name: chat
    package: {name: acme-chat, version: "3.1.0"}
  - name: motd
    file: {path: /etc/motd, contains: [Welcome]}
`

func BenchmarkOnboard(b *testing.B) {
	for _, n := range []int{1, 5, 20} {
		b.Run(fmt.Sprintf("workstations=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchOnce(b, n)
			}
		})
	}
}

func benchOnce(b *testing.B, n int) {
	b.StopTimer()
	p, stop := tenStepPlan(b, "bench", 30, n)
	defer stop()
	if len(p.Steps) != 10*n {
		b.Fatalf("plan has %d steps, want %d", len(p.Steps), 10*n)
	}
	e := &engine.Engine{Dialer: &connect.Dialer{Secrets: &secret.Resolver{}}, Parallel: 20, Retries: 1}

	b.StartTimer()
	first := measure(b, e, p, "first run", n)
	b.StopTimer()
	again := measure(b, e, p, "re-run", n)
	b.ReportMetric(first.wall.Seconds(), "s/first-run")
	b.ReportMetric(again.wall.Seconds(), "s/re-run")
	b.ReportMetric(float64(first.overhead.Microseconds()), "µs-overhead/step")
	b.ReportMetric(float64(again.overhead.Microseconds()), "µs-overhead/step-rerun")
}

type figures struct {
	wall, overhead, p95 time.Duration
}

func measure(b *testing.B, e *engine.Engine, p *plan.Plan, label string, n int) figures {
	start := time.Now()
	r := e.Run(context.Background(), p, engine.Apply)
	wall := time.Since(start)
	var over []time.Duration
	var total time.Duration
	for _, list := range [][]result.Step{r.Steps, r.Handover} {
		for _, s := range list {
			if !s.Outcome.Done() {
				b.Fatalf("%s: %s %s: %+v", label, s.ID, s.Outcome, s.Failure)
			}
			o := s.Duration - s.Remote
			over = append(over, o)
			total += o
		}
	}
	sort.Slice(over, func(i, j int) bool { return over[i] < over[j] })
	f := figures{wall: wall, overhead: total / time.Duration(len(over)), p95: over[len(over)*95/100]}
	fmt.Printf("bench: %-9s workstations=%-2d steps=%-3d wall=%-8s engine overhead/step mean=%-8s p95=%s\n",
		label, n, len(r.Steps), wall.Round(time.Millisecond), f.overhead.Round(time.Microsecond), f.p95.Round(time.Microsecond))
	return f
}

// tenStepPlan starts a lab of n fresh workstations (its own name and
// subnet: other benchmarks may run on the machine) and plans the tenSteps
// hire on each; stop stops the lab.
func tenStepPlan(b *testing.B, name string, subnet, n int) (p *plan.Plan, stop func()) {
	b.Helper()
	ctx := context.Background()
	l, err := lab.Start(ctx, lab.Config{Name: name, Subnet: subnet, Workstations: n})
	if err != nil {
		b.Fatal(err)
	}
	stop = func() {
		if err := l.Stop(ctx); err != nil {
			b.Error(err)
		}
	}
	dir := b.TempDir()
	var pbs []*playbook.Playbook
	for i := 1; i <= n; i++ {
		f := filepath.Join(dir, fmt.Sprintf("hire%d.yaml", i))
		if err := os.WriteFile(f, []byte(fmt.Sprintf(tenSteps, i)), 0o644); err != nil {
			stop()
			b.Fatal(err)
		}
		pb, err := playbook.Load(f)
		if err != nil {
			stop()
			b.Fatal(err)
		}
		pbs = append(pbs, pb)
	}
	inv, err := inventory.Load("../../inventory/software.yaml", "../../inventory/groups.yaml", l.InventoryFile)
	if err != nil {
		stop()
		b.Fatal(err)
	}
	if p, err = planner.Build(pbs, inv, planner.Options{}); err != nil {
		stop()
		b.Fatal(err)
	}
	return p, stop
}
