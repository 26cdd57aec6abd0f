// Package directory is onboard's LDAP adapter: it finds, creates and updates
// accounts, groups and computer objects in Active Directory or OpenLDAP.
//
// Every operation is meant for check-then-act steps: Find* reads, Create*,
// Update*, Set* and AddMember act, and Diff says what an act would change.
// A Client talks to one server for its whole life (the first of
// Config.URLs that answers), so that what it wrote is what it reads back
// even when Active Directory has not replicated yet. Passwords only travel
// over TLS and never appear in an error.
package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"

	"onboard/internal/secret"
)

// Kind is the directory product; it decides the schema the adapter uses.
type Kind string

// Kinds of directory.
const (
	ActiveDirectory Kind = "active-directory"
	OpenLDAP        Kind = "openldap"
)

// DefaultTimeout bounds every request when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Config says which directory to talk to and how.
type Config struct {
	Name string // for errors and reports, e.g. "corp-ad"
	Kind Kind

	// URLs are tried in order; the first that answers is used for the whole
	// life of the Client. ldaps://HOST[:636] or ldap://HOST[:389] (which is
	// upgraded with StartTLS); nothing else.
	URLs []string

	BaseDN string
	// UsersOU is where CreateUser puts accounts. Default: CN=Users,BaseDN
	// (Active Directory), ou=People,BaseDN (OpenLDAP).
	UsersOU string
	// GroupsBase is searched for groups by name. Default: BaseDN.
	GroupsBase string
	// ComputersOU is where PrestageComputer puts computer accounts.
	// Default: CN=Computers,BaseDN.
	ComputersOU string
	// Domain is the DNS domain: userPrincipalName is username@Domain and a
	// prestaged computer's dNSHostName is name.Domain (Active Directory).
	Domain string

	BindDN       string
	BindPassword secret.Value

	// AllowAttributes are extra attributes a playbook may set beyond the
	// kind's informational allow-list (DefaultAttributes): the inventory's
	// choice. Managed attributes and passwords stay refused.
	AllowAttributes []string

	// CACertFile is a PEM file of the certificates that may sign the
	// server's; empty means the system's pool.
	CACertFile string
	// Timeout bounds each request, dial and TLS handshake. Default 15s.
	Timeout time.Duration
}

// withDefaults checks cfg and fills in defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Name == "" {
		cfg.Name = string(cfg.Kind)
	}
	switch cfg.Kind {
	case ActiveDirectory, OpenLDAP:
	default:
		return cfg, fmt.Errorf("directory %s: kind %q: want %q or %q", cfg.Name, cfg.Kind, ActiveDirectory, OpenLDAP)
	}
	if len(cfg.URLs) == 0 {
		return cfg, fmt.Errorf("directory %s: no URLs", cfg.Name)
	}
	if cfg.BaseDN == "" {
		return cfg, fmt.Errorf("directory %s: no base DN", cfg.Name)
	}
	if cfg.BindDN == "" || cfg.BindPassword.IsZero() {
		return cfg, fmt.Errorf("directory %s: a bind DN and a bind password are required", cfg.Name)
	}
	for _, dn := range []struct{ what, v string }{
		{"base DN", cfg.BaseDN}, {"users OU", cfg.UsersOU}, {"groups base", cfg.GroupsBase}, {"computers OU", cfg.ComputersOU},
	} {
		if _, err := ldap.ParseDN(dn.v); err != nil {
			return cfg, fmt.Errorf("directory %s: %s %q: %w", cfg.Name, dn.what, dn.v, err)
		}
	}
	if cfg.UsersOU == "" {
		if cfg.Kind == ActiveDirectory {
			cfg.UsersOU = "CN=Users," + cfg.BaseDN
		} else {
			cfg.UsersOU = "ou=People," + cfg.BaseDN
		}
	}
	if cfg.GroupsBase == "" {
		cfg.GroupsBase = cfg.BaseDN
	}
	if cfg.ComputersOU == "" {
		cfg.ComputersOU = "CN=Computers," + cfg.BaseDN
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return cfg, nil
}

// Client is a connection to one directory server, bound as Config.BindDN.
// It is safe for concurrent use: requests share one LDAP connection. Each
// request is bounded by Config.Timeout (go-ldap's per-request timeout,
// which leaves the connection and the other requests alone). If a
// request's context ends first, the call returns at once with the
// context's error; the request itself is left to finish or time out on the
// shared connection, whose other requests go on undisturbed. The shared
// connection is closed only by Close; if it breaks, the next request opens
// a new one to the same server.
type Client struct {
	cfg Config
	url string // the pinned server
	tls *tls.Config

	mu     sync.Mutex
	cur    *session
	closed bool

	vmu sync.Mutex
	vs  *session // the connection VerifyBind binds on

	uidMu   sync.Mutex
	uidNext int // OpenLDAP: the next uidNumber to try, after one scan

	managers sync.Map // manager username -> DN, resolved once per Client

	schemaMu    sync.Mutex
	hasPwdReset *bool    // OpenLDAP: whether the ppolicy attribute pwdReset exists
	schema      sync.Map // "attributeTypes OID" -> bool: what the schema defines

	// Read once per Client (one run): what does not change while it runs.
	groups sync.Map // group name -> DN
	policy struct {
		sync.Mutex
		p *PasswordPolicy
	}

	trips atomic.Int64 // requests sent, for tests and benchmarks
}

// RoundTrips counts the requests this Client has sent to its server (each
// search, modify, add, and each bind of VerifyBind): what a batch of
// accounts costs the directory, measured.
func (c *Client) RoundTrips() int64 { return c.trips.Load() }

// session is one bound LDAP connection and the socket under it, which is
// what gets closed to abort a request.
type session struct {
	l   *ldap.Conn
	raw net.Conn
}

// Dial connects to the first of cfg.URLs that answers, over TLS, and binds.
// Every URL is checked first: one that would not use TLS is refused with
// ErrNotTLS. A server that answers but refuses the bind ends the search
// (ErrInvalidCredentials for a wrong password). When no server answers, the
// error says why each URL failed and wraps ErrUnreachable, unless a
// certificate failed to verify (then errors.As finds the x509 error).
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, u := range cfg.URLs {
		if _, _, err := parseURL(u); err != nil {
			return nil, fmt.Errorf("directory %s: %w", cfg.Name, err)
		}
	}
	tc, err := tlsConfig(cfg.CACertFile)
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", cfg.Name, err)
	}
	c := &Client{cfg: cfg, tls: tc}
	var failed urlErrors
	for _, u := range cfg.URLs {
		s, err := c.open(ctx, u, cfg.BindDN, cfg.BindPassword)
		if err == nil {
			c.url, c.cur = u, s
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, &Error{Directory: cfg.Name, Server: u, Op: "connect", Err: ctx.Err()}
		}
		var le *ldap.Error
		if errors.As(err, &le) && !isUnavailable(le.ResultCode) {
			// The server answered: it is the one, and it said no (a
			// refused bind, most likely). Trying another would hide that.
			// A busy or unavailable server (51, 52) is not the one: the
			// next URL is tried.
			e := &Error{Directory: cfg.Name, Server: u, Op: "connect and bind as", DN: cfg.BindDN, Code: le.ResultCode, Err: err}
			e.kind = classify(le.ResultCode, "", opPlain)
			return nil, e
		}
		failed = append(failed, &urlError{url: u, err: err})
	}
	e := &Error{Directory: cfg.Name, Server: strings.Join(cfg.URLs, ", "), Op: "connect", Err: failed}
	// A certificate that does not verify is no network failure: say so
	// rather than "unreachable", which invites a retry.
	if !isCertError(failed) {
		e.Code, e.kind = ldap.ErrorNetwork, ErrUnreachable
	}
	return nil, e
}

// isUnavailable says whether an LDAP result code means that the server could
// not serve the request (network failure, busy, unavailable), rather than
// that it refused it.
func isUnavailable(code uint16) bool {
	switch code {
	case ldap.ErrorNetwork, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable:
		return true
	}
	return false
}

// urlError is why one URL failed.
type urlError struct {
	url string
	err error
}

func (e *urlError) Error() string { return e.url + ": " + describe(e.err) }
func (e *urlError) Unwrap() error { return e.err }

// urlErrors are the failures of every URL tried, on one line.
type urlErrors []error

func (es urlErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (es urlErrors) Unwrap() []error { return es }

// isCertError says whether err is a failed certificate verification.
// go-ldap's StartTLS flattens the handshake error to text, hence the
// fallback on the message.
func isCertError(err error) bool {
	var cv *tls.CertificateVerificationError
	var hn x509.HostnameError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &hn) || errors.As(err, &ua) || errors.As(err, &ci) {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "x509: ")
}

// Server is the URL of the server this Client is pinned to: every read and
// every verification goes to the server that took the writes.
func (c *Client) Server() string { return c.url }

// Kind is the directory's kind.
func (c *Client) Kind() Kind { return c.cfg.Kind }

// Close closes the connection. Later requests fail.
func (c *Client) Close() error {
	c.vmu.Lock()
	if c.vs != nil {
		c.vs.l.Close()
		c.vs = nil
	}
	c.vmu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.cur == nil {
		return nil
	}
	s := c.cur
	c.cur = nil
	return s.l.Close()
}

// parseURL checks that a URL uses TLS and returns its scheme and host:port.
func parseURL(raw string) (scheme, hostport string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("URL %q: %w", raw, err)
	}
	scheme = strings.ToLower(u.Scheme)
	if scheme != "ldaps" && scheme != "ldap" {
		return "", "", fmt.Errorf("URL %q: %w", raw, ErrNotTLS)
	}
	if u.Hostname() == "" {
		return "", "", fmt.Errorf("URL %q: no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = ldap.DefaultLdapPort
		if scheme == "ldaps" {
			port = ldap.DefaultLdapsPort
		}
	}
	return scheme, net.JoinHostPort(u.Hostname(), port), nil
}

// tlsConfig trusts the certificates in caFile, or the system's pool.
func tlsConfig(caFile string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA certificates %s: no PEM certificate in the file", caFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// open dials rawURL, sets up TLS (directly or with StartTLS, verifying the
// server's name), and binds. Every step is bounded by the timeout and by ctx.
func (c *Client) open(ctx context.Context, rawURL, bindDN string, pw secret.Value) (*session, error) {
	scheme, hostport, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(hostport)
	tc := c.tls.Clone()
	// StartTLS does not fill ServerName: without it the certificate is not
	// checked against the host.
	tc.ServerName = host

	d := net.Dialer{Timeout: c.cfg.Timeout}
	raw, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, ldap.NewError(ldap.ErrorNetwork, err)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	// Bounds the TLS handshake (StartTLS has no timeout of its own) and the
	// bind; cleared once bound.
	_ = raw.SetDeadline(time.Now().Add(c.cfg.Timeout))

	var l *ldap.Conn
	if scheme == "ldaps" {
		t := tls.Client(raw, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("TLS: %w", err))
		}
		l = ldap.NewConn(t, true)
		l.Start()
	} else {
		l = ldap.NewConn(raw, false)
		l.Start()
		l.SetTimeout(c.cfg.Timeout)
		if err := l.StartTLS(tc); err != nil {
			l.Close()
			raw.Close()
			var le *ldap.Error
			if !errors.As(err, &le) {
				err = ldap.NewError(ldap.ErrorNetwork, err)
			}
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	l.SetTimeout(c.cfg.Timeout)
	if err := l.Bind(bindDN, pw.Reveal()); err != nil {
		l.Close()
		raw.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	_ = raw.SetDeadline(time.Time{})
	return &session{l: l, raw: raw}, nil
}

// errClientClosed: a request after Close.
var errClientClosed = errors.New("client closed")

// reconnectError is why the shared connection could not be reopened. It is
// no *Error of its own: wrap puts it under the operation and DN of the
// request that needed the connection.
type reconnectError struct {
	bindDN string
	err    error
}

func (e *reconnectError) Error() string {
	return "reconnect and bind as " + e.bindDN + ": " + describe(e.err)
}

func (e *reconnectError) Unwrap() error { return e.err }

// session returns the shared connection, reopening it to the pinned server
// if it broke. Its errors are plain: the caller's wrap names the operation.
func (c *Client) session(ctx context.Context) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClientClosed
	}
	if c.cur != nil && !c.cur.l.IsClosing() {
		return c.cur, nil
	}
	if c.cur != nil {
		c.cur.l.Close()
		c.cur = nil
	}
	s, err := c.open(ctx, c.url, c.cfg.BindDN, c.cfg.BindPassword)
	if err != nil {
		return nil, &reconnectError{bindDN: c.cfg.BindDN, err: err}
	}
	c.cur = s
	return s, nil
}

// do runs one request on the shared connection. The connection's
// per-request timeout (Config.Timeout) bounds it. If ctx ends first, do
// returns the context's error at once and leaves the request to finish or
// time out on its own: closing the shared connection would fail every other
// request in flight on it. f must not be reused by the caller after such
// an early return (its results are then never read).
func (c *Client) do(ctx context.Context, f func(*ldap.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := c.session(ctx)
	if err != nil {
		return err
	}
	c.trips.Add(1)
	done := make(chan error, 1)
	go func() { done <- f(s.l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // both at once: the answer wins
			return err
		default:
		}
		return fmt.Errorf("%w (the request is left to finish: the server may still carry it out)", ctx.Err())
	}
}

// search runs a search and wraps its failure.
func (c *Client) search(ctx context.Context, op string, class opClass, req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	var res *ldap.SearchResult
	err := c.do(ctx, func(l *ldap.Conn) error {
		var err error
		res, err = l.Search(req)
		return err
	})
	if err != nil {
		return nil, c.wrap(op, req.BaseDN, class, err, "")
	}
	return res.Entries, nil
}

// searchReq is a search request with the package's size and time limits.
func (c *Client) searchReq(base string, scope int, f filter, attrs ...string) *ldap.SearchRequest {
	return ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0,
		int(c.cfg.Timeout/time.Second), false, string(f), attrs, nil)
}

// modify runs a modify request and wraps its failure.
func (c *Client) modify(ctx context.Context, op string, class opClass, req *ldap.ModifyRequest, secret string) error {
	err := c.do(ctx, func(l *ldap.Conn) error { return l.Modify(req) })
	return c.wrap(op, req.DN, class, err, secret)
}

// wrap turns an error of do into an *Error, unless it already is one.
func (c *Client) wrap(op, dn string, class opClass, err error, secret string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return c.newError(op, dn, class, err, secret)
}
