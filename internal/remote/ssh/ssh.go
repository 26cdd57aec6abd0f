// Package ssh is the SSH transport of package remote: one connection per
// host, reused by every command, with host key checking, keepalive and sudo.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"onboard/internal/remote"
	"onboard/internal/secret"
)

// Defaults for the zero values of Config.
const (
	DefaultPort        = 22
	DefaultDialTimeout = 10 * time.Second
	DefaultKeepAlive   = 15 * time.Second
	// DefaultMaxSessions stays below OpenSSH's MaxSessions (10), a hard cap
	// per connection: one more concurrent session fails with "open failed".
	// The two long-lived shells come on top: 8 + 2 = 10.
	DefaultMaxSessions = 8
)

// keepAliveMisses unanswered keepalives close the connection as lost.
const keepAliveMisses = 3

// cancelGrace is how long a cancelled command has to end after SIGTERM
// before SIGKILL: sudo relays TERM to its command, but KILL only kills sudo.
const cancelGrace = 500 * time.Millisecond

// Config describes how to reach and log in to one host.
type Config struct {
	Host    string // inventory name, used in every error message ("ws1")
	Address string // IP or hostname
	Port    int    // default 22
	User    string

	// Authentication: any combination; tried in the order key, agent,
	// password.
	PrivateKey secret.Value // PEM/OpenSSH private key content (may be empty)
	Passphrase secret.Value // for an encrypted key (optional)
	Password   secret.Value // password auth (optional)
	UseAgent   bool         // the agent at SSH_AUTH_SOCK

	KnownHosts []string // known_hosts files (absolute paths); missing files count as empty
	// HostKeys are extra known host key lines: "ADDR ssh-ed25519 AAAA..."
	// (known_hosts syntax) or bare "ssh-ed25519 AAAA..." (valid for this host).
	HostKeys []string
	// AcceptNewHostKey accepts an unknown host's key and appends it to the
	// first KnownHosts file (trust on first use, only when explicitly
	// asked). A changed key is always refused.
	AcceptNewHostKey bool

	// Become is how Privileged commands gain root when User is not root:
	// "sudo", or "" / "none" (then Privileged commands fail).
	Become string
	// BecomePassword, if set, is given to sudo on stdin (sudo -S -p ''),
	// never on the command line; without it sudo -n fails fast.
	BecomePassword secret.Value

	DialTimeout time.Duration // default 10s
	// KeepAlive is the interval of keepalive@openssh.com requests (default
	// 15s); a connection that misses 3 in a row is closed and reported lost.
	KeepAlive time.Duration
	// MaxSessions caps concurrent sessions of their own (commands with
	// input, or beside a busy shell) on the one connection (default 8);
	// keep it two below sshd's MaxSessions, for the long-lived shells.
	MaxSessions int
	// SessionPerCommand runs every command in a session of its own (the
	// old way) instead of a long-lived shell per host. Commands with input
	// (Stdin, uploads) always get a session of their own.
	SessionPerCommand bool
	Logger            *slog.Logger // optional
}

// Stats counts what a client opened, for tests and logs.
type Stats struct {
	Dials    int64 // SSH connections made
	Sessions int64 // SSH sessions (channels) opened
	Batches  int64 // batches run as one job in a long-lived shell
	Commands int64 // commands run on their own (Run)
}

// Client runs commands on one host over one SSH connection. It implements
// remote.Communicator and is safe for concurrent use.
type Client struct {
	cfg    Config
	addr   string // host:port, as dialled and as written in known_hosts
	log    *slog.Logger
	signer xssh.Signer // from Config.PrivateKey, parsed once

	slots    chan struct{} // semaphore: one token per open session
	dialLock chan struct{} // one dial at a time; a channel so waiting obeys ctx

	mu       sync.Mutex
	cur      *conn
	closed   bool
	accepted []string // host keys accepted this run, as known_hosts lines

	shells [2]shellSlot // long-lived shells: [0] login user, [1] privileged

	dials    atomic.Int64 // connections made, for logs and tests
	sessions atomic.Int64 // sessions opened, for tests
	batches  atomic.Int64 // batches run in a shell, for tests
	commands atomic.Int64 // commands run on their own, for tests
}

// Stats returns the counts of connections and sessions opened so far.
func (c *Client) Stats() Stats {
	return Stats{Dials: c.dials.Load(), Sessions: c.sessions.Load(), Batches: c.batches.Load(), Commands: c.commands.Load()}
}

var (
	_ remote.Communicator = (*Client)(nil)
	_ remote.BatchRunner  = (*Client)(nil)
)

// conn is one SSH connection and its keepalive.
type conn struct {
	ssh     *xssh.Client
	done    chan struct{} // closed when the connection is gone
	lost    atomic.Bool   // closed by keepalive or a failed session: not by Close
	closing sync.Once
}

func (cn *conn) alive() bool {
	select {
	case <-cn.done:
		return false
	default:
		return true
	}
}

func (cn *conn) close() { cn.closing.Do(func() { _ = cn.ssh.Close() }) }

// Dial validates cfg and opens the connection, so that an unreachable host,
// a bad host key or refused credentials show up at once.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Host == "" {
		cfg.Host = cfg.Address
	}
	c := &Client{
		cfg:      cfg,
		addr:     net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)),
		log:      cfg.Logger,
		slots:    make(chan struct{}, cfg.MaxSessions),
		dialLock: make(chan struct{}, 1),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("host", cfg.Host, "addr", c.addr)
	if err := c.validate(); err != nil {
		return nil, err
	}
	if _, err := c.getConn(ctx, nil); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) validate() error {
	cfg := c.cfg
	switch {
	case cfg.Address == "":
		return c.errorf("no address configured")
	case cfg.User == "":
		return c.errorf("no user configured")
	case cfg.Port < 0 || cfg.Port > 65535:
		return c.errorf("port %d out of range", cfg.Port)
	}
	switch cfg.Become {
	case "", "none", "sudo":
	default:
		return c.errorf("become method %q is not supported (use sudo or none)", cfg.Become)
	}
	if !cfg.PrivateKey.IsZero() {
		s, err := parseKey(cfg.PrivateKey, cfg.Passphrase)
		if err != nil {
			return c.errorf("private key: %w", err)
		}
		c.signer = s
	}
	if c.signer == nil && !cfg.UseAgent && cfg.Password.IsZero() {
		return c.errorf("no credentials configured for %s (private key, agent or password): %w", cfg.User, remote.ErrAuth)
	}
	// Parse the extra host keys now, so a typo fails before any dial.
	if _, err := hostKeyLines(cfg.HostKeys, c.addr); err != nil {
		return c.errorf("%w", err)
	}
	return nil
}

// where names the host in every error: "ws1 (10.0.0.5:22)".
func (c *Client) where() string { return c.cfg.Host + " (" + c.addr + ")" }

// errorf is fmt.Errorf with where() in front.
func (c *Client) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{c.where()}, args...)...)
}

// getConn returns the live connection, dialling a new one if there is none
// or if the current one is old (the connection the caller saw fail).
func (c *Client) getConn(ctx context.Context, old *conn) (*conn, error) {
	if cn, err := c.current(old); cn != nil || err != nil {
		return cn, err
	}
	select {
	case c.dialLock <- struct{}{}:
	case <-ctx.Done():
		return nil, c.errorf("connect: %w", ctx.Err())
	}
	defer func() { <-c.dialLock }()
	// Another caller may have dialled while this one waited.
	if cn, err := c.current(old); cn != nil || err != nil {
		return cn, err
	}
	cn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		cn.close()
		return nil, c.errorf("client closed: %w", net.ErrClosed)
	}
	c.cur = cn
	return cn, nil
}

// current returns the current connection if it is alive and not old.
func (c *Client) current(old *conn) (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, c.errorf("client closed: %w", net.ErrClosed)
	}
	if c.cur != nil && c.cur != old && c.cur.alive() {
		return c.cur, nil
	}
	return nil, nil
}

// drop closes cn because it failed; the next call redials.
func (c *Client) drop(cn *conn, why string) {
	if cn.alive() {
		c.log.Warn("ssh connection lost", "reason", why)
	}
	cn.lost.Store(true)
	cn.close()
	c.mu.Lock()
	if c.cur == cn {
		c.cur = nil
	}
	c.mu.Unlock()
}

// keepAlive sends keepalive@openssh.com every interval and closes the
// connection after keepAliveMisses unanswered requests: x/crypto/ssh has no
// keepalive of its own, and a dead peer behind a silent network would
// otherwise hang every command until TCP gives up (minutes).
func (c *Client) keepAlive(cn *conn) {
	t := time.NewTicker(c.cfg.KeepAlive)
	defer t.Stop()
	replies := make(chan error, 1)
	pending, missed := false, 0
	for {
		select {
		case <-cn.done:
			return
		case err := <-replies:
			pending = false
			if err != nil {
				c.drop(cn, "keepalive: "+err.Error())
				return
			}
			missed = 0
		case <-t.C:
			if pending {
				missed++
				if missed >= keepAliveMisses {
					c.drop(cn, fmt.Sprintf("%d keepalives unanswered", missed))
					return
				}
				continue
			}
			pending = true
			go func() {
				// Any reply, even a refusal, proves the peer is alive.
				_, _, err := cn.ssh.SendRequest("keepalive@openssh.com", true, nil)
				replies <- err
			}()
		}
	}
}

// Run runs cmd in the host's long-lived shell (see shell.go), or in a
// session of its own when the command has input, the shell is busy with
// another caller, or the host cannot keep a shell.
func (c *Client) Run(ctx context.Context, cmd remote.Cmd) (int, error) {
	line, stdinPrefix, err := c.commandLine(cmd)
	if err != nil {
		return -1, err
	}
	c.commands.Add(1)
	if !c.cfg.SessionPerCommand && cmd.Stdin == nil {
		sh, err := c.takeShell(ctx, cmd.Privileged)
		if err != nil {
			return -1, err
		}
		if sh != nil {
			return c.runShell(ctx, sh, cmd, func(ok bool) { c.putShell(cmd.Privileged, sh, ok) })
		}
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return -1, c.errorf("wait for a free session: %w", ctx.Err())
	}
	release := func() { <-c.slots }
	sess, cn, err := c.newSession(ctx)
	if err != nil {
		release()
		return -1, err
	}
	return c.execute(ctx, cn, sess, line, stdinPrefix, cmd, release)
}

// RunBatch runs read-only commands in one round trip per shell: the login
// user's commands as one job in its long-lived shell, the privileged ones
// as one job in the privileged shell (the same shell for a root login),
// both at once. Without a shell (busy, or none on this host) they run one
// by one.
func (c *Client) RunBatch(ctx context.Context, cmds []remote.Cmd) ([]int, error) {
	codes := make([]int, len(cmds))
	for i := range codes {
		codes[i] = -1
	}
	for _, cmd := range cmds {
		if cmd.Stdin != nil {
			return codes, c.errorf("a batch command cannot take stdin: %q", cmd.Command)
		}
	}
	var groups [2][]int // by shell
	for i, cmd := range cmds {
		k := c.shellIndex(cmd.Privileged)
		groups[k] = append(groups[k], i)
	}
	var wg sync.WaitGroup
	var errs [2]error
	for k, idx := range groups {
		if len(idx) == 0 {
			continue
		}
		wg.Go(func() { errs[k] = c.runGroup(ctx, k == 1, cmds, idx, codes) })
	}
	wg.Wait()
	return codes, errors.Join(errs[0], errs[1])
}

// runGroup runs cmds[i] for i in idx, all for one shell, and fills codes.
func (c *Client) runGroup(ctx context.Context, priv bool, cmds []remote.Cmd, idx []int, codes []int) error {
	var sh *rshell
	if !c.cfg.SessionPerCommand && len(idx) > 1 {
		var err error
		if sh, err = c.takeShell(ctx, priv); err != nil {
			return err
		}
	}
	if sh == nil {
		for _, i := range idx {
			code, err := c.Run(ctx, cmds[i])
			if err != nil {
				return err
			}
			codes[i] = code
		}
		return nil
	}
	sub := make([]remote.Cmd, len(idx))
	for k, i := range idx {
		sub[k] = cmds[i]
	}
	c.batches.Add(1)
	got, err := c.runShellBatch(ctx, sh, sub, func(ok bool) { c.putShell(priv, sh, ok) })
	for k, i := range idx {
		if k < len(got) {
			codes[i] = got[k]
		}
	}
	return err
}

// newSession opens a session, redialling once if the connection turns out
// to be dead: no command has run yet, so this is safe to repeat.
func (c *Client) newSession(ctx context.Context) (*xssh.Session, *conn, error) {
	var old *conn
	for attempt := 0; ; attempt++ {
		cn, err := c.getConn(ctx, old)
		if err != nil {
			return nil, nil, err
		}
		sess, err := openSession(ctx, cn)
		if err == nil {
			c.sessions.Add(1)
			return sess, cn, nil
		}
		var refused *xssh.OpenChannelError
		if errors.As(err, &refused) || ctx.Err() != nil {
			// The server is alive and said no (a policy), or we gave up.
			return nil, nil, c.errorf("open session: %w", err)
		}
		c.drop(cn, "open session: "+err.Error())
		if attempt > 0 {
			return nil, nil, c.errorf("open session: %w: %w", err, remote.ErrConnectionLost)
		}
		c.log.Info("ssh connection dropped, redialling")
		old = cn
	}
}

// openSession opens a session, retrying briefly while sshd refuses with
// "open failed": sshd frees a finished session only when our close reaches
// it, a moment after Wait returned, so a full semaphore can still meet a
// full MaxSessions.
func openSession(ctx context.Context, cn *conn) (*xssh.Session, error) {
	delay := time.Millisecond
	deadline := time.Now().Add(5 * time.Second)
	for {
		sess, err := newSessionOn(ctx, cn)
		var refused *xssh.OpenChannelError
		if err == nil || !errors.As(err, &refused) || refused.Reason != xssh.ConnectionFailed || time.Now().After(deadline) {
			return sess, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, err
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// newSessionOn opens a session on cn, giving up when cn dies or ctx ends:
// x/crypto/ssh waits forever for the reply to a channel opened just as its
// connection died (the channel misses the close of all channels).
func newSessionOn(ctx context.Context, cn *conn) (*xssh.Session, error) {
	type opened struct {
		sess *xssh.Session
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := cn.ssh.NewSession()
		ch <- opened{s, err}
	}()
	abandon := func() {
		go func() {
			if o := <-ch; o.sess != nil {
				_ = o.sess.Close()
			}
		}()
	}
	select {
	case o := <-ch:
		return o.sess, o.err
	case <-cn.done:
		abandon()
		return nil, fmt.Errorf("open session: %w", net.ErrClosed)
	case <-ctx.Done():
		abandon()
		return nil, ctx.Err()
	}
}

// execute starts line in sess and waits for it or for ctx. release frees the
// session slot; it runs once the session is really closed.
func (c *Client) execute(ctx context.Context, cn *conn, sess *xssh.Session, line, stdinPrefix string, cmd remote.Cmd, release func()) (int, error) {
	// The gates stop the session's copy goroutines from touching the
	// caller's writers and reader after Run returns (on cancellation Run
	// does not wait for a stuck channel to drain).
	stdout, stderr := &remote.GatedWriter{W: cmd.Stdout}, &remote.GatedWriter{W: cmd.Stderr}
	if cmd.Stdout != nil {
		sess.Stdout = stdout
	}
	if cmd.Stderr != nil {
		sess.Stderr = stderr
	}
	var pid *pidFilter
	if c.cfg.User == "root" {
		// sshd ignores signal requests on root logins (no privilege
		// separation after login): to cancel, kill the command's process
		// group from a second session. The shell reports its PID first.
		pid = newPIDFilter(stderr)
		sess.Stderr = pid
		line = pidMarkerCommand + "\n" + line
	}
	var stdin *remote.GatedReader
	var stdinPipe io.WriteCloser
	if cmd.Stdin != nil || stdinPrefix != "" {
		var r io.Reader = strings.NewReader(stdinPrefix)
		if cmd.Stdin != nil {
			r = io.MultiReader(r, cmd.Stdin)
		}
		stdin = &remote.GatedReader{R: r}
		// A pipe fed by our own goroutine, not sess.Stdin: Session.Wait
		// waits for its stdin copy, which hangs when the command exits
		// without reading a reader that never ends.
		p, err := sess.StdinPipe()
		if err != nil {
			_ = sess.Close()
			release()
			return -1, c.errorf("stdin: %w", err)
		}
		stdinPipe = p
	}
	finish := func() {
		stdout.Shut()
		stderr.Shut()
		if stdin != nil {
			stdin.Shut()
		}
	}

	if err := sess.Start(line); err != nil {
		finish()
		_ = sess.Close()
		release()
		if !cn.alive() || errors.Is(err, io.EOF) {
			c.drop(cn, "start command: "+err.Error())
			return -1, c.errorf("start command: %w: %w", err, remote.ErrConnectionLost)
		}
		return -1, c.errorf("start command: %w", err)
	}
	if stdinPipe != nil {
		go func() {
			_, _ = io.Copy(stdinPipe, stdin)
			_ = stdinPipe.Close() // EOF for the command
		}()
	}
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()

	select {
	case err := <-waited:
		if pid != nil {
			pid.flush()
		}
		finish()
		_ = sess.Close()
		release()
		return c.exitCode(cn, err)
	case <-ctx.Done():
		finish()
		// Return at once; the kill and the slot's release go on behind.
		go func() {
			defer release()
			c.kill(cn, sess, pid, waited)
			_ = sess.Close()
		}()
		return -1, c.errorf("command cancelled: %w", ctx.Err())
	}
}

// kill ends a cancelled command: SIGTERM (sudo relays it to its command,
// while SIGKILL would kill only sudo), then SIGKILL after cancelGrace.
func (c *Client) kill(cn *conn, sess *xssh.Session, pid *pidFilter, waited <-chan error) {
	group := 0
	if pid != nil {
		group = pid.wait(cancelGrace)
	}
	_ = sess.Signal(xssh.SIGTERM)
	c.killGroup(cn, group, "TERM")
	select {
	case <-waited:
		return
	case <-time.After(cancelGrace):
	}
	_ = sess.Signal(xssh.SIGKILL)
	c.killGroup(cn, group, "KILL")
}

// killGroup sends sig to the process group of a root login's command, from
// a session of its own (outside the semaphore: the cancelled command still
// holds its slot, and openSession waits out a full sshd).
func (c *Client) killGroup(cn *conn, group int, sig string) {
	if group <= 1 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sess, err := openSession(ctx, cn)
	if err != nil {
		c.log.Warn("cannot kill cancelled command", "pid", group, "err", err)
		return
	}
	c.sessions.Add(1)
	defer sess.Close()
	_ = sess.Run(fmt.Sprintf("kill -%s -- -%d 2>/dev/null", sig, group))
}

// exitCode turns Session.Wait's error into Run's results.
func (c *Client) exitCode(cn *conn, err error) (int, error) {
	var exit *xssh.ExitError
	var missing *xssh.ExitMissingError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitStatus(), nil
	case errors.As(err, &missing):
		c.drop(cn, "command ended without an exit status")
		return -1, c.errorf("connection dropped while the command ran, its outcome is unknown: %w", remote.ErrConnectionLost)
	case !cn.alive() || cn.lost.Load():
		return -1, c.errorf("command: %w: %w", err, remote.ErrConnectionLost)
	default:
		return -1, c.errorf("command: %w", err)
	}
}

// Close closes the connection; later calls fail.
func (c *Client) Close() error {
	c.mu.Lock()
	cn := c.cur
	c.cur, c.closed = nil, true
	c.mu.Unlock()
	c.closeShells()
	if cn != nil {
		cn.close()
	}
	// What this host cost, in round trips: tests and -vv read it.
	st := c.Stats()
	c.log.Debug("connection closed", "dials", st.Dials, "sessions", st.Sessions, "batches", st.Batches, "commands", st.Commands)
	return nil
}
