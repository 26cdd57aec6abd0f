package connect

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
)

// countingComm is a Communicator that records its closes.
type countingComm struct{ closes atomic.Int32 }

func (c *countingComm) Run(context.Context, remote.Cmd) (int, error) { return 0, nil }
func (c *countingComm) Upload(context.Context, string, io.Reader, fs.FileMode, bool) error {
	return nil
}
func (c *countingComm) Close() error { c.closes.Add(1); return nil }

// ownedComm also uploads with an owner, as the SSH client does.
type ownedComm struct{ countingComm }

func (c *ownedComm) UploadOwned(context.Context, string, io.Reader, fs.FileMode, string, string, bool) error {
	return nil
}

// countingDialer dials a fresh Communicator per call, failing the first
// fail calls with a transient fault.
type countingDialer struct {
	mu    sync.Mutex
	dials map[string]int
	fail  int
	comms []*ownedComm
}

func (d *countingDialer) Dial(_ context.Context, h *plan.Host) (remote.Communicator, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dials == nil {
		d.dials = map[string]int{}
	}
	d.dials[h.Name]++
	if d.fail > 0 {
		d.fail--
		return nil, remote.ErrUnreachable
	}
	c := &ownedComm{}
	d.comms = append(d.comms, c)
	return c, nil
}

func TestPool(t *testing.T) {
	ws1 := &plan.Host{Name: "ws1", Transport: "ssh", Address: "10.0.0.1", User: "onboard"}
	ws2 := &plan.Host{Name: "ws2", Transport: "ssh", Address: "10.0.0.2", User: "onboard"}
	ctx := context.Background()
	tests := []struct {
		name  string
		fail  int
		calls []*plan.Host
		dials map[string]int
		errs  int
	}{
		{"one dial per host for many runs", 0, []*plan.Host{ws1, ws2, ws1, ws1, ws2}, map[string]int{"ws1": 1, "ws2": 1}, 0},
		{"a failed dial is tried again", 1, []*plan.Host{ws1, ws1, ws1}, map[string]int{"ws1": 2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &countingDialer{fail: tt.fail}
			p := NewPool(d)
			errs := 0
			for _, h := range tt.calls {
				c, err := p.Dial(ctx, h)
				if err != nil {
					if !remote.IsTransient(err) {
						t.Fatalf("error lost its kind: %v", err)
					}
					errs++
					continue
				}
				if _, ok := c.(ownedUploader); !ok {
					t.Error("the pooled Communicator hides UploadOwned")
				}
				// What a run does at its end: the pool keeps it open.
				_ = c.Close()
			}
			if errs != tt.errs || len(d.dials) != len(tt.dials) {
				t.Errorf("errors %d dials %v, want %d %v", errs, d.dials, tt.errs, tt.dials)
			}
			for h, n := range tt.dials {
				if d.dials[h] != n {
					t.Errorf("%s dialled %d times, want %d", h, d.dials[h], n)
				}
			}
			for _, c := range d.comms {
				if n := c.closes.Load(); n != 0 {
					t.Errorf("a pooled connection was closed %d times before the pool", n)
				}
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			for _, c := range d.comms {
				if n := c.closes.Load(); n != 1 {
					t.Errorf("closed %d times by the pool, want 1", n)
				}
			}
			if _, err := p.Dial(ctx, ws1); err == nil {
				t.Error("Dial after Close succeeded")
			}
		})
	}
}

// TestPoolConcurrentDial: steps of one host that start together share one
// dial.
func TestPoolConcurrentDial(t *testing.T) {
	d := &countingDialer{}
	p := NewPool(d)
	defer p.Close()
	h := &plan.Host{Name: "ws1", Transport: "ssh", Address: "10.0.0.1"}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.Dial(context.Background(), h); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d.dials["ws1"] != 1 {
		t.Errorf("dialled %d times, want 1", d.dials["ws1"])
	}
}

// TestPoolDialCancelled: a caller waiting on another's dial gives up with
// its context.
func TestPoolDialCancelled(t *testing.T) {
	block := make(chan struct{})
	p := NewPool(dialFunc(func(ctx context.Context, h *plan.Host) (remote.Communicator, error) {
		<-block
		return &countingComm{}, nil
	}))
	defer p.Close()
	h := &plan.Host{Name: "ws1"}
	go func() { _, _ = p.Dial(context.Background(), h) }()
	for {
		p.mu.Lock()
		e := p.hosts[poolKey(h)]
		p.mu.Unlock()
		if e != nil && len(e.dial) == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Dial(ctx, h); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	close(block)
}

type dialFunc func(ctx context.Context, h *plan.Host) (remote.Communicator, error)

func (f dialFunc) Dial(ctx context.Context, h *plan.Host) (remote.Communicator, error) {
	return f(ctx, h)
}
