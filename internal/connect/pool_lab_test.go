package connect_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"onboard/internal/connect"
	"onboard/internal/engine"
	"onboard/internal/inventory"
	"onboard/internal/lab"
	"onboard/internal/plan"
	"onboard/internal/remote"
	sshremote "onboard/internal/remote/ssh"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// recorder keeps the SSH clients a Dialer made, for their counters.
type recorder struct {
	d       *connect.Dialer
	mu      sync.Mutex
	clients []*sshremote.Client
}

func (r *recorder) Dial(ctx context.Context, h *plan.Host) (remote.Communicator, error) {
	c, err := r.d.Dial(ctx, h)
	if err == nil {
		r.mu.Lock()
		r.clients = append(r.clients, c.(*sshremote.Client))
		r.mu.Unlock()
	}
	return c, err
}

// The plan shown first, the apply and its handover re-check, on one lab
// workstation through one pool: one connection, and one session per shell
// (the login user's, and root's through sudo) whatever the number of steps.
func TestPoolOneConnectionOneSessionPerShell(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab")
	}
	l := lab.ForTest(t, lab.Config{Name: "poolt", Subnet: 218, Workstations: 1})
	inv, err := inventory.Load(l.InventoryFile)
	if err != nil {
		t.Fatal(err)
	}
	host, err := inv.Host("ws1")
	if err != nil {
		t.Fatal(err)
	}
	if host.User == "root" {
		t.Fatalf("the lab logs in as root: the sudo shell goes untested")
	}
	tests := []struct {
		name        string
		checks      int
		privileged  int
		runs        []engine.Mode
		wantSession int64
	}{
		{"ten checks, text output", 10, 0, []engine.Mode{engine.DryRun, engine.Apply}, 1},
		{"ten checks, json output", 10, 0, []engine.Mode{engine.Apply}, 1},
		{"privileged too", 6, 4, []engine.Mode{engine.DryRun, engine.Apply}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &plan.Plan{Hosts: map[string]*plan.Host{"ws1": host}}
			for i := range tt.checks + tt.privileged {
				p.Steps = append(p.Steps, &plan.Step{ID: fmt.Sprintf("check-%d", i), Kind: plan.KindCheck, Host: "ws1",
					Title: fmt.Sprintf("check %d", i), Timeout: plan.Duration(time.Minute),
					Check: &plan.CheckSpec{Command: &plan.CommandCheck{Run: "test -d /", Privileged: i >= tt.checks}}})
			}
			rec := &recorder{d: &connect.Dialer{Secrets: &secret.Resolver{}, DialTimeout: 10 * time.Second}}
			pool := connect.NewPool(rec)
			defer pool.Close()
			e := &engine.Engine{Dialer: pool}
			if err := e.Validate(p); err != nil {
				t.Fatal(err)
			}
			for _, mode := range tt.runs {
				res := e.Run(context.Background(), p, mode)
				if c := result.Counts(res.Steps); c[result.OK] != len(p.Steps) {
					t.Fatalf("mode %v: counts %v, failures %+v", mode, c, res.Steps)
				}
				if mode == engine.Apply && len(res.Handover) != len(p.Steps) {
					t.Fatalf("handover re-checked %d of %d", len(res.Handover), len(p.Steps))
				}
			}
			if len(rec.clients) != 1 {
				t.Fatalf("dialled %d times, want 1", len(rec.clients))
			}
			if st := rec.clients[0].Stats(); st.Dials != 1 || st.Sessions != tt.wantSession {
				t.Errorf("stats %+v, want 1 connection and %d sessions", st, tt.wantSession)
			}
		})
	}
}
