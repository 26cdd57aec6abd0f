package winsim

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Listen serves the host's WinRM server (see SetServer) on addr, over
// HTTPS when tlsConfig is set, until ctx ends or Close, and returns the
// address it listens on. Serve through it rather than wsman.Server.Listen
// to have the network follow the machine: while the host is down, every
// new connection is reset as soon as it is accepted and the open ones are
// reset when it goes down, as a client sees a restarting Windows (WinRM
// requests fail at the transport, not with a SOAP fault).
func (h *Host) Listen(ctx context.Context, addr string, tlsConfig *tls.Config) (net.Addr, error) {
	h.mu.Lock()
	srv := h.server
	h.mu.Unlock()
	if srv == nil {
		return nil, errors.New("winsim: Listen before SetServer")
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var gated net.Listener = &gateListener{Listener: ln, h: h}
	if tlsConfig != nil {
		cfg := tlsConfig.Clone()
		cfg.NextProtos = []string{"http/1.1"} // NTLM authenticates a connection
		gated = tls.NewListener(gated, cfg)
	}
	hs := &http.Server{
		Handler:           srv,
		ConnContext:       srv.ConnContext,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug),
	}
	if !h.listeners.add(hs) {
		ln.Close()
		return nil, errors.New("winsim: host closed")
	}
	go func() { _ = hs.Serve(gated) }()
	go func() {
		select {
		case <-ctx.Done():
			hs.Close()
		case <-h.listeners.done():
		}
	}()
	return ln.Addr(), nil
}

// listeners are the host's HTTP servers and the connections they serve.
type listeners struct {
	mu      sync.Mutex
	servers []*http.Server
	conns   map[*trackedConn]struct{}
	closed  bool
	closeCh chan struct{}
}

func (l *listeners) done() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closeCh == nil {
		l.closeCh = make(chan struct{})
	}
	return l.closeCh
}

func (l *listeners) add(s *http.Server) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.servers = append(l.servers, s)
	return true
}

func (l *listeners) close() error {
	ch := l.done()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	servers := l.servers
	l.servers = nil
	l.mu.Unlock()
	close(ch)
	var err error
	for _, s := range servers {
		err = errors.Join(err, s.Close())
	}
	return err
}

// track registers a connection unless the host is down (checked under the
// same lock that resetAll takes, so none slips through a shutdown).
func (l *listeners) track(c *trackedConn, down func() bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if down() {
		return false
	}
	if l.conns == nil {
		l.conns = map[*trackedConn]struct{}{}
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *listeners) untrack(c *trackedConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// resetAll resets every open connection.
func (l *listeners) resetAll() {
	l.mu.Lock()
	conns := l.conns
	l.conns = nil
	l.mu.Unlock()
	for c := range conns {
		reset(c.Conn)
	}
}

// reset closes a TCP connection with an RST, as a machine whose network
// stack is going away.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

type gateListener struct {
	net.Listener
	h *Host
}

func (g *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, l: &g.h.listeners}
		if !g.h.listeners.track(tc, g.h.Down) {
			reset(c)
			continue
		}
		return tc, nil
	}
}

type trackedConn struct {
	net.Conn
	l    *listeners
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.untrack(c) })
	return c.Conn.Close()
}
