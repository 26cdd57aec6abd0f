// Package winrm is the WinRM transport of package remote: one WS-Management
// shell per host, reused by every command, over HTTPS (or HTTP where the
// inventory says so) with Basic, NTLM, Kerberos or client certificate
// authentication.
package winrm

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mw "github.com/masterzen/winrm"

	"onboard/internal/remote"
	"onboard/internal/secret"
)

// Defaults for the zero values of Config.
const (
	DefaultHTTPSPort        = 5986
	DefaultHTTPPort         = 5985
	DefaultOperationTimeout = 60 * time.Second
	DefaultDialTimeout      = 10 * time.Second
	// DefaultMaxCommands caps concurrent commands in the one shell, well
	// below Windows' MaxProcessesPerShell (25; 15 on 2012 R2), which counts
	// the commands' child processes too.
	DefaultMaxCommands = 5
)

// Authentication methods.
const (
	AuthBasic       = "basic"
	AuthNTLM        = "ntlm"
	AuthCertificate = "certificate"
	AuthKerberos    = "kerberos"
)

// shellMaxCommands is how many commands one shell runs before it is
// replaced: Windows counts a text shell's commands against the user's
// MaxConcurrentOperationsPerUser (1500) until the shell is deleted. A
// variable for tests.
var shellMaxCommands = 1000

// responseSlack is how much longer than the WS-Man OperationTimeout the
// HTTP client waits for a response: the server answers a long-poll Receive
// with a timeout fault after OperationTimeout, so only a silent server makes
// the HTTP timeout fire.
const responseSlack = 30 * time.Second

// cleanupTimeout bounds a Signal or Delete sent after the caller gave up.
const cleanupTimeout = 5 * time.Second

// Config describes how to reach and log in to one host.
type Config struct {
	Host    string // inventory name, used in every error message ("ws1")
	Address string // IP or hostname
	Port    int    // default 5986 with HTTPS, 5985 without
	// HTTPS is what the inventory defaults to; plain HTTP only where the
	// inventory says so. Over HTTP, NTLM seals every message with NTLM
	// message encryption (what Windows requires by default, with
	// AllowUnencrypted=false); Basic is then unencrypted.
	HTTPS bool
	// CACertFile verifies the server certificate (PEM); the system pool if
	// empty.
	CACertFile string
	// InsecureSkipVerify accepts any server certificate: the explicit
	// escape hatch, logged as a warning on every new connection.
	InsecureSkipVerify bool

	// Auth is "basic" (HTTPS only unless AllowBasicOverHTTP), "ntlm"
	// (the default), "certificate" (HTTPS client certificate) or
	// "kerberos" (HTTPS only; see Realm).
	Auth               string
	AllowBasicOverHTTP bool
	// AllowUnencryptedHTTP sends NTLM over plain HTTP without message
	// encryption: only for a server with AllowUnencrypted=true, and
	// anyone on the path reads the traffic. Off by default.
	AllowUnencryptedHTTP bool
	User                 string
	Password             secret.Value
	// ClientCertFile and ClientKeyFile are the PEM client certificate and
	// key for "certificate".
	ClientCertFile, ClientKeyFile string

	// Kerberos ("kerberos"): Realm ("CORP.EXAMPLE.TEST") and KDC
	// ("10.0.0.2" or "host:88") are required; no krb5.conf is read. The
	// credentials are Keytab (a keytab file) with User (the principal,
	// "svc-winrm" or "svc-winrm@REALM"), else Password with User, else the
	// ticket cache CCache (default $KRB5CCNAME). The ticket is for the
	// service principal HTTP/<ServiceHost> (default Address): set it to
	// the host's FQDN when Address is an IP.
	Realm, KDC  string
	Keytab      string
	CCache      string
	ServiceHost string

	// OperationTimeout is the WS-Man long-poll timeout (default 60s); the
	// HTTP response timeout is 30s longer.
	OperationTimeout time.Duration
	DialTimeout      time.Duration // TCP and TLS handshake; default 10s
	// MaxCommands caps concurrent commands in the shell (default 5).
	MaxCommands int
	// KeepAlive: when the shell has been idle this long, a no-op command
	// keeps it from the server's idle timeout (Windows' default is two
	// hours; a policy may make it minutes). Default 5m; negative: off.
	KeepAlive time.Duration
	Logger    *slog.Logger // optional
}

// Client runs commands on one host in one WinRM shell. It implements
// remote.Communicator and is safe for concurrent use.
type Client struct {
	cfg       Config
	addr      string // host:port
	url       string // https://host:port/wsman
	log       *slog.Logger
	endpoint  *mw.Endpoint
	params    mw.Parameters // the library's defaults, copied, with our timeout
	http      *http.Client
	krb       *krbAuth // for "kerberos"
	closeIdle func()   // closes the idle connections under http

	slots     chan struct{} // semaphore: one token per running command
	shellLock chan struct{} // one shell creation at a time; a channel so waiting obeys ctx

	lastUse  atomic.Int64    // unix nanoseconds of the last Run
	life     context.Context // cancelled by Close: aborts every request
	stopLife context.CancelFunc
	bg       background // Signals and Deletes sent behind a returned call

	mu      sync.Mutex
	shell   *shell
	pending []*shell // retired and unused, to delete before the next Create
	closed  bool

	// Counters for logs and tests.
	requests atomic.Int64 // HTTP requests (NTLM handshakes count once)
	creates  atomic.Int64 // Create (shell) requests
	dials    atomic.Int64 // TCP connections
}

var _ remote.Communicator = (*Client)(nil)

// shell is one remote shell. Commands hold a reference; a retired shell
// (replaced after a fault, or after shellMaxCommands) is deleted once no
// command uses it.
type shell struct {
	id       string
	users    int
	commands int // started in it, for shellMaxCommands
	retired  bool
	gone     bool // the server no longer knows it: nothing to delete
}

// Dial validates cfg and creates the shell, so that an unreachable host, an
// untrusted certificate or refused credentials show up at once.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Port == 0 {
		cfg.Port = DefaultHTTPPort
		if cfg.HTTPS {
			cfg.Port = DefaultHTTPSPort
		}
	}
	if cfg.Auth == "" {
		cfg.Auth = AuthNTLM
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = DefaultOperationTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MaxCommands <= 0 {
		cfg.MaxCommands = DefaultMaxCommands
	}
	if cfg.Host == "" {
		cfg.Host = cfg.Address
	}
	c := &Client{
		cfg:       cfg,
		addr:      net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)),
		log:       cfg.Logger,
		slots:     make(chan struct{}, cfg.MaxCommands),
		shellLock: make(chan struct{}, 1),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("host", cfg.Host, "addr", c.addr)
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := c.newHTTP(); err != nil {
		return nil, err
	}
	// The endpoint only gives the library its URL: every request goes
	// through our transport, which ignores the endpoint's TLS settings.
	c.endpoint = &mw.Endpoint{Host: cfg.Address, Port: cfg.Port, HTTPS: cfg.HTTPS}
	c.url = endpointURL(cfg)
	// DefaultParameters is a shared pointer: copy it, never change it.
	c.params = *mw.DefaultParameters
	c.params.Timeout = isoDuration(cfg.OperationTimeout)
	c.life, c.stopLife = context.WithCancel(context.Background())
	c.lastUse.Store(time.Now().UnixNano())

	sh, err := c.acquireShell(ctx, nil)
	if err != nil {
		c.stopLife()
		c.closeIdle()
		return nil, err
	}
	c.releaseShell(sh)
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 5 * time.Minute
		c.cfg.KeepAlive = cfg.KeepAlive
	}
	if cfg.KeepAlive > 0 {
		go c.keepAlive(cfg.KeepAlive)
	}
	return c, nil
}

func endpointURL(cfg Config) string {
	scheme := "http"
	if cfg.HTTPS {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)) + "/wsman"
}

// isoDuration is d as an xs:duration ("PT60S", "PT1.500S").
func isoDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("PT%dS", int64(d/time.Second))
	}
	return fmt.Sprintf("PT%.3fS", d.Seconds())
}

func (c *Client) validate() error {
	cfg := c.cfg
	switch {
	case cfg.Address == "":
		return c.errorf("no address configured")
	case cfg.Port < 0 || cfg.Port > 65535:
		return c.errorf("port %d out of range", cfg.Port)
	}
	switch cfg.Auth {
	case AuthBasic, AuthNTLM:
		if cfg.User == "" || cfg.Password.IsZero() {
			return c.errorf("%s authentication needs a user and a password: %w", cfg.Auth, remote.ErrAuth)
		}
		if cfg.Auth == AuthBasic && !cfg.HTTPS && !cfg.AllowBasicOverHTTP {
			return c.errorf("basic authentication over plain HTTP would send the password of %s in clear text; use HTTPS or ntlm (or set AllowBasicOverHTTP for a lab)", cfg.User)
		}
	case AuthCertificate:
		if !cfg.HTTPS {
			return c.errorf("certificate authentication needs HTTPS")
		}
		if cfg.ClientCertFile == "" || cfg.ClientKeyFile == "" {
			return c.errorf("certificate authentication needs a client certificate and key file")
		}
	case AuthKerberos:
		// Kerberos message sealing is not implemented: over plain HTTP every
		// message (a domain-join password included) would travel in clear
		// text to a server nothing authenticates.
		if !cfg.HTTPS {
			return c.errorf("kerberos over plain HTTP would send every command and password unsealed to an unauthenticated server; use HTTPS, or ntlm, which seals messages over HTTP")
		}
		if cfg.Realm == "" || cfg.KDC == "" {
			return c.errorf("kerberos authentication needs a realm and a KDC address")
		}
		if cfg.Keytab != "" && cfg.User == "" {
			return c.errorf("kerberos authentication with a keytab needs the user (principal) to log in as: %w", remote.ErrAuth)
		}
		return c.newKerberos()
	default:
		return c.errorf("authentication method %q is not supported (use basic, ntlm, certificate or kerberos)", cfg.Auth)
	}
	return nil
}

// where names the host in every error: "ws1 (10.0.0.5:5986)".
func (c *Client) where() string { return c.cfg.Host + " (" + c.addr + ")" }

// errorf is fmt.Errorf with where() in front.
func (c *Client) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{c.where()}, args...)...)
}

// acquireShell returns the current shell with one more user, creating one if
// there is none or if the current one is stale (the shell the caller saw
// fail).
func (c *Client) acquireShell(ctx context.Context, stale *shell) (*shell, error) {
	if sh, err := c.currentShell(stale); sh != nil || err != nil {
		return sh, err
	}
	select {
	case c.shellLock <- struct{}{}:
	case <-ctx.Done():
		return nil, c.errorf("open shell: %w", ctx.Err())
	}
	defer func() { <-c.shellLock }()
	// Another caller may have created one while this one waited.
	if sh, err := c.currentShell(stale); sh != nil || err != nil {
		return sh, err
	}
	// Retired shells go first: they count against the user's quotas
	// until they are deleted.
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, old := range pending {
		c.deleteShell(ctx, old)
	}
	id, err := c.createShell(ctx)
	if err != nil {
		return nil, err
	}
	sh := &shell{id: id, users: 1}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.deleteShell(ctx, sh)
		return nil, c.errorf("client closed: %w", net.ErrClosed)
	}
	c.shell = sh
	c.mu.Unlock()
	return sh, nil
}

// currentShell returns the current shell, with one more user, if it is not
// stale.
func (c *Client) currentShell(stale *shell) (*shell, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, c.errorf("client closed: %w", net.ErrClosed)
	}
	if sh := c.shell; sh != nil && sh.commands >= shellMaxCommands {
		// Replace it before the operations quota refuses commands; its
		// running commands finish first.
		c.retireLocked(sh, false, fmt.Sprintf("ran %d commands", sh.commands), slog.LevelDebug)
	}
	if c.shell != nil && c.shell != stale {
		c.shell.users++
		return c.shell, nil
	}
	return nil, nil
}

// createShell sends Create and returns the new shell's ID.
func (c *Client) createShell(ctx context.Context) (string, error) {
	start := time.Now()
	// The library's CreateShell hides the ID; build and parse the same
	// messages ourselves.
	t := c.transport(ctx, nil)
	req := mw.NewOpenShellRequest(c.url, &c.params)
	defer req.Free()
	body, err := t.Post(nil, req)
	var id string
	if err == nil {
		id, err = mw.ParseOpenShellResponse(body)
	}
	if err != nil {
		return "", c.requestFailed(ctx, "open shell", err)
	}
	if id == "" {
		return "", c.errorf("open shell: the server's CreateResponse has no ShellId")
	}
	c.log.Debug("winrm shell created", "shell", id, "user", c.cfg.User, "auth", c.cfg.Auth, "took", time.Since(start))
	return id, nil
}

// releaseShell drops a user of sh; a retired shell's last user deletes it
// (in the background).
func (c *Client) releaseShell(sh *shell) {
	c.mu.Lock()
	sh.users--
	del := sh.retired && sh.users == 0 && !sh.gone
	c.mu.Unlock()
	if del {
		c.bg.Go(func() { c.deleteShell(context.Background(), sh) })
	}
}

// retireShell stops handing out sh: the next caller creates a new shell. A
// shell the server may still know is deleted once unused: by its last
// user, or if it has none by the next shell's creator, before Create.
func (c *Client) retireShell(sh *shell, gone bool, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A shell the server dropped (a reboot, an idle timeout) is routine:
	// it is replaced transparently, so it is not worth a warning.
	level := slog.LevelWarn
	if gone {
		level = slog.LevelInfo
	}
	c.retireLocked(sh, gone, why, level)
}

func (c *Client) retireLocked(sh *shell, gone bool, why string, level slog.Level) {
	if c.shell == sh {
		c.shell = nil
		c.log.Log(context.Background(), level, "winrm shell replaced", "shell", sh.id, "reason", why)
	}
	sh.gone = sh.gone || gone
	if sh.retired {
		return
	}
	sh.retired = true
	if sh.users == 0 && !sh.gone {
		c.pending = append(c.pending, sh)
	}
}

// deleteShell sends Delete, bounded by cleanupTimeout; a failure is only
// logged (the server deletes idle shells itself, after hours).
func (c *Client) deleteShell(ctx context.Context, sh *shell) {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	if err := c.lib(c.transport(ctx, nil)).NewShell(sh.id).Close(); err != nil {
		c.log.Debug("winrm shell delete failed", "shell", sh.id, "err", err)
	}
}

// Close deletes the shell (ending any command still running in it) and
// closes the connections; later calls fail.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	shells := c.pending
	if c.shell != nil {
		shells = append(shells, c.shell)
	}
	c.shell, c.pending = nil, nil
	c.mu.Unlock()
	c.stopLife() // abort the requests of running commands
	for _, sh := range shells {
		c.bg.Go(func() { c.deleteShell(context.Background(), sh) })
	}
	c.bg.wait(cleanupTimeout)
	c.closeIdle()
	return nil
}

// background counts goroutines that outlive the call that started them,
// so that Close can wait for them, a while. Unlike a sync.WaitGroup, it may
// gain goroutines while Close waits.
type background struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0
}

// Go runs f on a new goroutine.
func (b *background) Go(f func()) {
	b.mu.Lock()
	if b.n == 0 {
		b.idle = make(chan struct{})
	}
	b.n++
	b.mu.Unlock()
	go func() {
		defer func() {
			b.mu.Lock()
			b.n--
			if b.n == 0 {
				close(b.idle)
			}
			b.mu.Unlock()
		}()
		f()
	}()
}

// wait waits until no goroutine runs, at most d.
func (b *background) wait(d time.Duration) {
	b.mu.Lock()
	idle := b.idle
	b.mu.Unlock()
	if idle == nil {
		return
	}
	select {
	case <-idle:
	case <-time.After(d):
	}
}

// keepAlive runs a no-op command whenever the shell has been idle for
// every, until Close: a shell the server would otherwise delete for
// idleness stays, so a long gap between steps (a long install elsewhere, a
// technician's pause) costs no new shell.
func (c *Client) keepAlive(every time.Duration) {
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-c.life.Done():
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, c.lastUse.Load())) < every {
			continue
		}
		ctx, cancel := context.WithTimeout(c.life, 30*time.Second)
		_, err := c.Run(ctx, remote.Cmd{Command: "cmd.exe /c exit 0"})
		cancel()
		if err != nil && c.life.Err() == nil {
			c.log.Debug("winrm keepalive failed", "err", err)
		}
	}
}
