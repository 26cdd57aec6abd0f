package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"onboard/internal/remote"
)

// connect dials, checks the host key and logs in: one new connection.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()

	hk, err := c.hostKeyChecker()
	if err != nil {
		return nil, err
	}
	auth := c.authMethods()
	defer auth.close()

	d := net.Dialer{}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, c.unreachable(ctx, "connect", err)
	}
	nc = withSocketOptions(nc)

	// ssh.NewClientConn takes no context: bound it with a deadline, and
	// close the socket if ctx ends first.
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	sc, chans, reqs, err := xssh.NewClientConn(nc, c.addr, &xssh.ClientConfig{
		User:              c.cfg.User,
		Auth:              auth.methods,
		HostKeyCallback:   hk.check,
		HostKeyAlgorithms: hk.algorithms,
		Timeout:           c.cfg.DialTimeout,
	})
	stopped := stop()
	if err != nil {
		_ = nc.Close()
		return nil, c.handshakeError(ctx, err, hk, auth)
	}
	if !stopped {
		_ = sc.Close()
		return nil, c.unreachable(ctx, "ssh handshake", ctx.Err())
	}
	_ = nc.SetDeadline(time.Time{})

	cn := &conn{ssh: xssh.NewClient(sc, chans, reqs), done: make(chan struct{})}
	go func() {
		_ = cn.ssh.Wait()
		close(cn.done)
	}()
	go c.keepAlive(cn)
	n := c.dials.Add(1)
	c.log.Debug("ssh connected", "user", c.cfg.User, "took", time.Since(start), "connections", n)
	return cn, nil
}

// unreachable wraps a failure to reach the host at stage ("connect", "ssh
// handshake"): "ws1 (10.0.0.5:22): connect: connection refused: host
// unreachable". A caller's own cancellation is not the host's fault and is
// reported as such.
func (c *Client) unreachable(ctx context.Context, stage string, err error) error {
	if ctxErr := context.Cause(ctx); ctxErr != nil && errors.Is(ctxErr, context.Canceled) {
		return c.errorf("%s: %w", stage, ctxErr)
	}
	msg := strings.TrimPrefix(err.Error(), "ssh: handshake failed: ")
	if op, ok := err.(*net.OpError); ok && op.Err != nil {
		msg = op.Err.Error() // drop Go's "dial tcp ADDR:" prefix, the address is already named
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		msg = "timed out"
	}
	if !strings.HasPrefix(msg, stage+": ") {
		msg = stage + ": " + msg
	}
	return &causedError{
		msg:    fmt.Sprintf("%s: %s: %v", c.where(), msg, remote.ErrUnreachable),
		causes: []error{remote.ErrUnreachable, err},
	}
}

// causedError has its own message but unwraps to a sentinel and the cause.
type causedError struct {
	msg    string
	causes []error
}

func (e *causedError) Error() string   { return e.msg }
func (e *causedError) Unwrap() []error { return e.causes }

// handshakeError classifies a failed SSH handshake.
func (c *Client) handshakeError(ctx context.Context, err error, hk *hostKeyChecker, auth *authConfig) error {
	if hk.failure != nil {
		return hk.failure
	}
	var alg *xssh.AlgorithmNegotiationError
	switch {
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("%s: login as %s refused (tried %s): %w",
			c.where(), c.cfg.User, strings.Join(auth.tried, ", "), remote.ErrAuth)
	case errors.As(err, &alg) && alg.What == "host key":
		return fmt.Errorf("%s: the host offers none of the host key types known for it (known: %s; offered: %s); "+
			"if it was reinstalled, remove its old key from the known_hosts file: %w",
			c.where(), strings.Join(hk.algorithms, ", "), strings.Join(alg.RequestedAlgorithms, ", "), remote.ErrHostKey)
	case ctx.Err() != nil, errors.Is(err, io.EOF), isTimeout(err),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		// Dropped during the handshake: sshd's MaxStartups, a restart, a
		// firewall. Worth a retry.
		return c.unreachable(ctx, "ssh handshake", err)
	default:
		return c.errorf("ssh handshake: %w", err)
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
