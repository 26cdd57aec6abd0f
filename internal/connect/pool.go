package connect

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strconv"
	"sync"

	"onboard/internal/plan"
	"onboard/internal/remote"
)

// HostDialer opens a connection to a host (a Dialer, or anything like it).
type HostDialer interface {
	Dial(ctx context.Context, h *plan.Host) (remote.Communicator, error)
}

// Pool hands out one Communicator per host until the pool is closed, so that
// the runs of one invocation (the plan shown first, the apply, its handover)
// share one connection per host. A Communicator redials a lost connection
// on its own; a failed dial is not kept, so the next Dial tries again.
type Pool struct {
	Dialer HostDialer

	mu     sync.Mutex
	hosts  map[string]*pooled
	closed bool
}

// NewPool returns a pool dialling through d.
func NewPool(d HostDialer) *Pool { return &Pool{Dialer: d} }

// pooled is one host's entry: its dial is done once at a time.
type pooled struct {
	dial chan struct{} // one dial at a time; a channel so waiting obeys ctx
	comm remote.Communicator
}

// poolKey tells hosts apart by how they are reached, not only by name.
func poolKey(h *plan.Host) string {
	return h.Name + "\x00" + h.Transport + "\x00" + h.Address + "\x00" + strconv.Itoa(h.Port) + "\x00" + h.User
}

// Dial returns the host's pooled Communicator, dialling it on first use.
// Closing what it returns does nothing: Close the pool instead.
func (p *Pool) Dial(ctx context.Context, h *plan.Host) (remote.Communicator, error) {
	key := poolKey(h)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("connection pool closed")
	}
	if p.hosts == nil {
		p.hosts = map[string]*pooled{}
	}
	e, ok := p.hosts[key]
	if !ok {
		e = &pooled{dial: make(chan struct{}, 1)}
		p.hosts[key] = e
	}
	p.mu.Unlock()

	select {
	case e.dial <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-e.dial }()
	p.mu.Lock()
	comm, closed := e.comm, p.closed
	p.mu.Unlock()
	if closed {
		return nil, errors.New("connection pool closed")
	}
	if comm != nil {
		return share(comm), nil
	}
	comm, err := p.Dialer.Dial(ctx, h)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = comm.Close()
		return nil, errors.New("connection pool closed")
	}
	e.comm = comm
	return share(comm), nil
}

// Close closes every pooled connection; later Dials fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	var comms []remote.Communicator
	for _, e := range p.hosts {
		if e.comm != nil {
			comms = append(comms, e.comm)
		}
	}
	p.hosts = nil
	p.mu.Unlock()
	var errs []error
	for _, c := range comms {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// shared is a pooled Communicator whose Close leaves the connection to the
// pool. Unwrap gives the transport's own client (for counters in tests).
type shared struct{ c remote.Communicator }

func (s shared) Run(ctx context.Context, cmd remote.Cmd) (int, error) { return s.c.Run(ctx, cmd) }

func (s shared) Upload(ctx context.Context, path string, r io.Reader, mode fs.FileMode, privileged bool) error {
	return s.c.Upload(ctx, path, r, mode, privileged)
}

func (s shared) Close() error { return nil }

// Unwrap returns the pooled Communicator.
func (s shared) Unwrap() remote.Communicator { return s.c }

// ownedUploader is the optional upload with owner and group (SSH); the
// wrapper keeps it visible to steps that look for it.
type ownedUploader interface {
	UploadOwned(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, owner, group string, privileged bool) error
}

type sharedOwned struct {
	shared
	u ownedUploader
}

func (s sharedOwned) UploadOwned(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, owner, group string, privileged bool) error {
	return s.u.UploadOwned(ctx, dst, r, mode, owner, group, privileged)
}

func share(c remote.Communicator) remote.Communicator {
	if u, ok := c.(ownedUploader); ok {
		return sharedOwned{shared{c}, u}
	}
	return shared{c}
}
