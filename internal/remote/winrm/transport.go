package winrm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	mw "github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"

	"onboard/internal/remote"
)

// maxResponseBytes caps a response body; WinRM answers are bounded by the
// MaxEnvelopeSize we send (150 KiB).
const maxResponseBytes = 16 << 20

// The WS-Management actions this package tells apart.
const (
	actionCreate  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	actionDelete  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	actionCommand = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	actionReceive = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	actionSignal  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"
)

// mutualAuth is the Authorization value that asks Windows to log in with
// the TLS client certificate.
const mutualAuth = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

// newHTTP builds the HTTP client: TLS verified against CACertFile (or the
// system pool), HTTP/1.1 only (NTLM authenticates a TCP connection), no
// proxy (workstations are reached directly, whatever HTTPS_PROXY says).
func (c *Client) newHTTP() error {
	cfg := c.cfg
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.Address}
	if cfg.CACertFile != "" {
		pem, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return c.errorf("CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return c.errorf("CA certificate %s: no PEM certificate in it", cfg.CACertFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.InsecureSkipVerify {
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // the explicit, logged escape hatch
	}
	if cfg.Auth == AuthCertificate {
		cert, err := tls.LoadX509KeyPair(cfg.ClientCertFile, cfg.ClientKeyFile)
		if err != nil {
			return c.errorf("client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
		// HTTP.sys asks for the client certificate by renegotiating,
		// which TLS 1.3 does not have (and Go does not do TLS 1.3
		// post-handshake authentication). TLS 1.2 also makes a refused
		// certificate fail the handshake, not a later read or write.
		tlsCfg.Renegotiation = tls.RenegotiateOnceAsClient
		tlsCfg.MaxVersion = tls.VersionTLS12
	}
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	newTransport := func(conns int) *http.Transport {
		return &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if cfg.HTTPS && cfg.InsecureSkipVerify {
					c.log.Warn("winrm: NOT verifying the server's TLS certificate (InsecureSkipVerify): anyone on the path can read the credentials")
				}
				c.dials.Add(1)
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig:       tlsCfg,
			TLSHandshakeTimeout:   cfg.DialTimeout,
			ResponseHeaderTimeout: cfg.OperationTimeout + responseSlack,
			MaxConnsPerHost:       conns,
			MaxIdleConnsPerHost:   conns,
			IdleConnTimeout:       90 * time.Second,
			TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
		}
	}
	// Each running command holds a Receive and briefly a Send or Signal
	// request; Create and Delete come on top.
	n := 3*cfg.MaxCommands + 2
	var rt http.RoundTripper
	if cfg.Auth == AuthNTLM {
		l := newLanes(n, func() *http.Transport { return newTransport(1) })
		if !cfg.HTTPS && !cfg.AllowUnencryptedHTTP {
			l.seal, l.user, l.password = true, cfg.User, cfg.Password.Reveal
		}
		rt, c.closeIdle = l, l.closeIdle
	} else {
		tr := newTransport(0)
		tr.MaxIdleConnsPerHost = n
		rt, c.closeIdle = tr, tr.CloseIdleConnections
	}
	c.http = &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return nil
}

// lanes is the RoundTripper for NTLM, which authenticates a TCP connection
// with a three-request handshake: through a shared pool, another request
// can take the connection between the handshake's steps, and the last
// step, sent on another connection, is refused. Each lane is a transport
// with one connection, lent to one request at a time until its response
// body is closed; a lane's connection stays authenticated for the next
// request, and the lane used last is lent first. With seal set, every
// message is sealed with the lane's NTLM session (seal.go).
type lanes struct {
	busy         chan struct{} // one token per lane lent out
	newTransport func() *http.Transport
	seal         bool
	user         string
	password     func() string

	mu   sync.Mutex
	idle []*lane // a stack: the warmest on top
	all  []*lane
}

func newLanes(n int, newTransport func() *http.Transport) *lanes {
	return &lanes{busy: make(chan struct{}, n), newTransport: newTransport}
}

func (l *lanes) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case l.busy <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	l.mu.Lock()
	var ln *lane
	if n := len(l.idle); n > 0 {
		ln, l.idle = l.idle[n-1], l.idle[:n-1]
	} else {
		ln = &lane{tr: l.newTransport()}
		l.all = append(l.all, ln)
	}
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		l.idle = append(l.idle, ln)
		l.mu.Unlock()
		<-l.busy
	}
	if l.seal {
		// The body is read and unsealed already: the lane is free.
		resp, err := l.sealedRoundTrip(ln, req)
		release()
		return resp, err
	}
	resp, err := ntlmssp.Negotiator{RoundTripper: ln.tr}.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	var once sync.Once
	resp.Body = &laneBody{ReadCloser: resp.Body, release: func() { once.Do(release) }}
	return resp, nil
}

func (l *lanes) closeIdle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.all {
		ln.tr.CloseIdleConnections()
	}
}

// laneBody gives the lane back when the response body is closed.
type laneBody struct {
	io.ReadCloser
	release func()
}

func (b *laneBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// transport returns the library's Transporter for one operation: its
// requests carry ctx, so that cancelling ctx aborts a request in flight (the
// library's own requests take no context). guard, for a command's Receive
// loop, stops a loop that makes no progress.
func (c *Client) transport(ctx context.Context, guard *pollGuard) *transport {
	return &transport{c: c, ctx: ctx, guard: guard}
}

// lib is a library client whose every request goes through t. It is cheap:
// no connection of its own, just the SOAP builder and the Receive loop.
func (c *Client) lib(t *transport) *mw.Client {
	p := c.params
	p.TransportDecorator = func() mw.Transporter { return t }
	// The password never reaches the library: our transport adds it.
	lc, err := mw.NewClientWithParameters(c.endpoint, c.cfg.User, "", &p)
	if err != nil { // our Transport method cannot fail
		panic(err)
	}
	return lc
}

type transport struct {
	c     *Client
	ctx   context.Context
	guard *pollGuard

	mu  sync.Mutex
	err error // the first failure: the library loses some (stdin writes)
}

// Transport is called by the library with its endpoint; the HTTP client is
// already built from Config.
func (t *transport) Transport(*mw.Endpoint) error { return nil }

// Post sends one SOAP message. Errors returned to the library are never a
// *url.Error that says timeout and never mention "OperationTimeout": the
// library polls again at once on those, forever.
func (t *transport) Post(_ *mw.Client, m *soap.SoapMessage) (string, error) {
	body := m.String()
	action := actionOf(body)
	ctx := t.ctx
	if action == actionSignal || action == actionDelete {
		// Cleanup must go out even after the caller gave up.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
	}
	if action == actionReceive && t.guard != nil {
		if err := t.guard.tripped(); err != nil {
			return "", err
		}
	}
	resp, err := t.c.post(ctx, action, body)
	if action != actionReceive || t.guard == nil {
		t.fail(err)
		return resp, err
	}
	var f *Fault
	timedOut := errors.As(err, &f) && f.TimedOut()
	if timedOut {
		// The long poll ended without output: the library polls again on
		// a reply that is not Done, which the fault is not.
		err = nil
	}
	if err == nil && !timedOut && receiveProgress(resp) {
		return resp, nil
	}
	what := "a reply with neither output nor completion"
	switch {
	case timedOut:
		what = "a timeout fault"
	case err != nil:
		what = err.Error()
	}
	if gerr := t.guard.idle(time.Now(), what); gerr != nil {
		err = gerr
	}
	if err != nil && strings.Contains(err.Error(), "OperationTimeout") {
		err = &sanitized{err}
	}
	t.fail(err)
	return resp, err
}

// sanitized hides the word the library takes for "poll again" (its
// slurpAllOutput retries any error whose text says OperationTimeout).
type sanitized struct{ err error }

func (e *sanitized) Error() string {
	return strings.ReplaceAll(e.err.Error(), "OperationTimeout", "operation timeout")
}
func (e *sanitized) Unwrap() error { return e.err }

func (t *transport) fail(err error) {
	if err == nil {
		return
	}
	t.mu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.mu.Unlock()
}

func (t *transport) firstErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// actionOf finds the a:Action of a SOAP message.
func actionOf(msg string) string {
	i := strings.Index(msg, ":Action")
	if i < 0 {
		return ""
	}
	rest := msg[i:]
	j := strings.IndexByte(rest, '>')
	k := strings.Index(rest, "</")
	if j < 0 || k < j {
		return ""
	}
	return strings.TrimSpace(rest[j+1 : k])
}

// post sends one SOAP body and returns the response body. A SOAP fault is
// returned as a *Fault together with the body; transport failures as a
// *netError.
func (c *Client) post(ctx context.Context, action, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	switch c.cfg.Auth {
	case AuthBasic, AuthNTLM:
		// The NTLM negotiator turns this into a handshake; it never sends
		// it as Basic.
		req.SetBasicAuth(c.cfg.User, c.cfg.Password.Reveal())
	case AuthCertificate:
		req.Header.Set("Authorization", mutualAuth)
	case AuthKerberos:
		if err := c.krb.authorize(ctx, req); err != nil {
			return "", err
		}
	}
	c.requests.Add(1)
	if action == actionCreate {
		c.creates.Add(1)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", c.netFailure(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return "", c.netFailure(ctx, err)
	}
	soapReply := strings.Contains(resp.Header.Get("Content-Type"), "application/soap+xml")
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		if ctx.Err() != nil {
			// The NTLM negotiator returns the first 401 when its
			// handshake is cut short.
			return "", c.netFailure(ctx, ctx.Err())
		}
		who := c.cfg.User
		if c.krb != nil {
			if c.krb.fallback(resp.Header) {
				return c.post(ctx, action, body)
			}
			who = c.krb.principal + " (ticket for " + c.krb.spn + ")"
		}
		return "", &netError{
			msg:  fmt.Sprintf("login as %s with %s authentication refused (HTTP 401)", who, c.cfg.Auth),
			kind: remote.ErrAuth,
		}
	case resp.StatusCode == http.StatusOK && soapReply:
		return string(data), nil
	}
	if f := parseFault(data); f != nil {
		f.Action, f.Status = shortAction(action), resp.StatusCode
		return string(data), f
	}
	return "", fmt.Errorf("HTTP %s (Content-Type %q): %s", resp.Status, resp.Header.Get("Content-Type"), snippet(string(data), 200))
}

// netError is a classified transport failure. Its message is complete; it
// unwraps to a remote sentinel (if any) and its cause, never to a *url.Error.
type netError struct {
	msg   string
	kind  error // remote.ErrUnreachable, ErrConnectionLost, ErrHostKey, ErrAuth, errCancelled or nil
	cause error
}

func (e *netError) Error() string { return e.msg }
func (e *netError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// errCancelled marks a request aborted because its operation was cancelled.
var errCancelled = errors.New("request cancelled")

// netFailure classifies an error of http.Client.Do or of reading a body.
func (c *Client) netFailure(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil {
		return &netError{msg: "request cancelled", kind: errCancelled, cause: ctx.Err()}
	}
	var (
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalid    x509.CertificateInvalidError
		verify     *tls.CertificateVerificationError
		recordErr  tls.RecordHeaderError
		alert      tls.AlertError
		op         *net.OpError
		dnsErr     *net.DNSError
		isTimeout  = isTimeoutErr(err)
		msg        = err.Error()
		hostKeyErr = func(detail string) error {
			return &netError{
				msg: fmt.Sprintf("the server's TLS certificate is not trusted (%s); check CACertFile (%s) against the certificate of the host's WinRM listener: certificate verification failed",
					detail, orSystemPool(c.cfg.CACertFile)),
				kind:  remote.ErrHostKey,
				cause: err,
			}
		}
	)
	switch {
	case errors.As(err, &unknownCA):
		return hostKeyErr("signed by an unknown authority")
	case errors.As(err, &hostname):
		return hostKeyErr(hostname.Error())
	case errors.As(err, &invalid):
		return hostKeyErr(invalid.Error())
	case errors.As(err, &verify):
		return hostKeyErr(verify.Err.Error())
	case errors.As(err, &recordErr), strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return &netError{msg: "the port does not speak TLS (an HTTP listener? then set https: false and port 5985)", cause: err}
	case strings.Contains(msg, "malformed HTTP response"):
		return &netError{msg: "the port does not speak plain HTTP (an HTTPS listener?)", cause: err}
	case strings.Contains(msg, "remote error: tls:") || errors.As(err, &alert):
		// The server sent a TLS alert: with TLS 1.3 a refused client
		// certificate shows only at the first read.
		if c.cfg.Auth == AuthCertificate && (strings.Contains(msg, "certificate") || strings.Contains(msg, "authority")) {
			return &netError{msg: fmt.Sprintf("the server refused the client certificate %s (%s)", c.cfg.ClientCertFile, msg), kind: remote.ErrAuth, cause: err}
		}
		return &netError{msg: "the server ended the TLS handshake: " + msg, cause: err}
	case errors.As(err, &dnsErr):
		return &netError{msg: "resolve: " + dnsErr.Err, kind: remote.ErrUnreachable, cause: err}
	case errors.As(err, &op) && op.Op == "dial":
		detail := "timed out"
		if !isTimeout && op.Err != nil {
			detail = op.Err.Error()
			var sys *os.SyscallError
			if errors.As(op.Err, &sys) {
				detail = sys.Err.Error()
			}
		}
		return &netError{msg: "connect: " + detail, kind: remote.ErrUnreachable, cause: err}
	case strings.Contains(msg, "TLS handshake timeout"):
		return &netError{msg: "TLS handshake: timed out", kind: remote.ErrUnreachable, cause: err}
	case strings.Contains(msg, "timeout awaiting response headers"):
		return &netError{msg: fmt.Sprintf("no response within %v", c.cfg.OperationTimeout+responseSlack), kind: remote.ErrConnectionLost, cause: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed), isTimeout:
		return &netError{msg: "connection dropped: " + msg, kind: remote.ErrConnectionLost, cause: err}
	default:
		return &netError{msg: msg, kind: remote.ErrConnectionLost, cause: err}
	}
}

func orSystemPool(file string) string {
	if file == "" {
		return "empty: the system pool"
	}
	return file
}

func isTimeoutErr(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// requestFailed turns the failure of operation op ("open shell", "start
// command") into the error the caller sees, with the host in front. A
// caller's own cancellation is reported as such, not as the host's fault.
func (c *Client) requestFailed(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		if op == "open shell" && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// As the SSH transport: no shell in time is a timeout
			// reaching the host, worth a retry.
			return &causedError{
				msg:    fmt.Sprintf("%s: %s: timed out: %v", c.where(), op, remote.ErrUnreachable),
				causes: []error{remote.ErrUnreachable, ctx.Err()},
			}
		}
		return c.errorf("%s: %w", op, context.Cause(ctx))
	}
	var ne *netError
	var f *Fault
	var ece *mw.ExecuteCommandError
	switch {
	case errors.As(err, &ne) && errors.Is(ne.kind, errCancelled):
		return c.errorf("%s: client closed: %w", op, net.ErrClosed)
	case errors.As(err, &ne):
		msg := c.where() + ": " + op + ": " + ne.msg
		if op == "open shell" && !c.cfg.HTTPS && errors.Is(ne.kind, remote.ErrConnectionLost) {
			msg += " (an HTTPS listener? then set https: true)"
		}
		if ne.kind != nil && !errors.Is(ne.kind, remote.ErrHostKey) {
			msg += ": " + ne.kind.Error()
		}
		return &causedError{msg: msg, causes: ne.Unwrap()}
	case errors.As(err, &f) && f.Quota():
		return fmt.Errorf("%s: %s: a WinRM quota of the host refused %s (MaxShellsPerUser or MaxConcurrentOperationsPerUser: other sessions of this user hold shells; close them or raise the quota): %w: %w",
			c.where(), op, c.cfg.User, ErrShellQuota, f)
	case errors.As(err, &f) && f.AccessDenied():
		return fmt.Errorf("%s: %s: %s may log in but not use WinRM (add it to Administrators or Remote Management Users): %w: %w",
			c.where(), op, c.cfg.User, f, remote.ErrAuth)
	case errors.As(err, &f):
		return c.errorf("%s: %w", op, f)
	case errors.As(err, &ece):
		return c.errorf("%s: unexpected response: %v: %s", op, ece.Inner, snippet(ece.Body, 300))
	default:
		return c.errorf("%s: %w", op, err)
	}
}

// causedError has its own message but unwraps to a sentinel and the cause.
type causedError struct {
	msg    string
	causes []error
}

func (e *causedError) Error() string   { return e.msg }
func (e *causedError) Unwrap() []error { return e.causes }

// snippet is the start of s on one line, for error messages.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
