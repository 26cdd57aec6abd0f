// Package wsman is a WS-Management (WinRM) server for the test lab. It
// speaks the protocol as Windows does (SOAP 1.2, the Windows Remote Shell,
// Basic and NTLM authentication, NTLM message encryption) so that real WinRM
// clients work against it unchanged; a Host runs the commands.
package wsman

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Host executes commands for the server: the simulated Windows machine.
type Host interface {
	// Run runs one command of a shell to completion. Stdin delivers what
	// the client Sends (EOF after End="true"); ctx is cancelled on a
	// terminate, ctrl_c or ctrl_break Signal, on the shell's Delete and on
	// DropShells. Run is called on its own goroutine.
	Run(ctx context.Context, c Command) (exitCode int)
}

// Command is one rsp:Command of a shell.
type Command struct {
	ShellID, CommandID string
	User               string // the configured account name that authenticated
	CommandLine        string // the rsp:Command text
	Args               []string
	Env                map[string]string // the shell's rsp:Environment
	WorkingDir         string            // the shell's rsp:WorkingDirectory
	Stdin              io.Reader
	Stdout, Stderr     io.Writer
}

// Config configures a Server. Zero values take Windows' defaults.
type Config struct {
	// Users maps account names to passwords, for Basic and NTLM. A name
	// is "user" (a local account), "DOMAIN\user" or "user@domain".
	Users map[string]string
	// Basic and NTLM choose the authentication methods offered; when both
	// are false, both are offered.
	Basic, NTLM bool
	// AllowUnencrypted is Windows' AllowUnencrypted: over plain HTTP,
	// Basic and NTLM without message encryption are refused (401) unless
	// it is true. HTTPS is always allowed.
	AllowUnencrypted bool
	// MaxShellsPerUser is the shell quota (default 30, as Windows).
	MaxShellsPerUser int
	// MaxConcurrentOperationsPerUser caps the Commands a user has started
	// in the shells still open (default 1500, as Windows, which releases
	// a text shell's commands only when the shell is deleted).
	MaxConcurrentOperationsPerUser int
	// OperationTimeout caps a Receive long-poll: the client's
	// w:OperationTimeout is honoured up to it (default 60 s).
	OperationTimeout time.Duration
	// IdleTimeout deletes shells unused this long (default 7200 s).
	IdleTimeout time.Duration
	// ComputerName and Domain are the NetBIOS names the NTLM challenge
	// announces (default "WINRM-LAB", and the computer name for a
	// workgroup machine).
	ComputerName, Domain string
	// Kerberos, when set, also accepts Kerberos tickets for its service
	// principal (see KerberosConfig).
	Kerberos *KerberosConfig
	Log      *slog.Logger
}

// Server is a WS-Management endpoint at /wsman. It is safe for concurrent use.
//
// What clients see, as from Windows:
//   - Create, Command, Send, Receive, Signal and Delete on the cmd shell
//     resource; other actions and resources get a SOAP fault.
//   - Every fault is HTTP 500 with a SOAP 1.2 fault and a WSManFault code:
//     FaultCodeOperationTimeout when a Receive has no output within the
//     operation timeout (poll again), FaultCodeUnknownShell for a ShellId
//     or CommandId that does not exist (after Delete, DropShells, the idle
//     timeout, a terminate Signal, or another user's shell),
//     FaultCodeShellQuota and FaultCodeOperationQuota.
//   - 401 carries one WWW-Authenticate header per offered scheme
//     ("Negotiate", `Basic realm="WSMAN"`), an empty body and, as from
//     Windows, no SOAP content type.
//   - NTLM is raw NTLMSSP (NTLMv2 only) under "Negotiate" or "NTLM", not
//     SPNEGO; a connection stays authenticated for later requests; message
//     encryption needs extended session security. Channel bindings are not
//     checked.
//   - Receive returns as soon as there is output (and waits a few
//     milliseconds more for the command's end), within the client's
//     MaxEnvelopeSize; Done carries rsp:ExitCode as a DWORD.
type Server struct {
	cfg         Config
	host        Host
	log         *slog.Logger
	basic, ntlm bool
	identity    ntlmIdentity
	requests    atomic.Int64
	done        chan struct{}
	closeOnce   sync.Once
	mu          sync.Mutex
	shells      map[string]*shell
	httpServers []*http.Server
}

// New returns a server whose commands run on h. Close it to stop its
// listeners, its commands and its idle-shell sweeper.
func New(cfg Config, h Host) *Server {
	if cfg.MaxShellsPerUser <= 0 {
		cfg.MaxShellsPerUser = 30
	}
	if cfg.MaxConcurrentOperationsPerUser <= 0 {
		cfg.MaxConcurrentOperationsPerUser = 1500
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = 60 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 7200 * time.Second
	}
	if cfg.ComputerName == "" {
		cfg.ComputerName = "WINRM-LAB"
	}
	s := &Server{
		cfg:    cfg,
		host:   h,
		log:    cfg.Log,
		basic:  cfg.Basic || !cfg.NTLM,
		ntlm:   cfg.NTLM || !cfg.Basic,
		done:   make(chan struct{}),
		shells: map[string]*shell{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	computer := strings.ToUpper(cfg.ComputerName)
	s.identity = ntlmIdentity{nbComputer: computer, nbDomain: computer, dnsComputer: strings.ToLower(computer), dnsDomain: strings.ToLower(computer)}
	if cfg.Domain != "" {
		dns := strings.ToLower(cfg.Domain)
		s.identity.nbDomain = strings.ToUpper(strings.Split(cfg.Domain, ".")[0])
		s.identity.dnsDomain = dns
		s.identity.dnsComputer = strings.ToLower(computer) + "." + dns
	}
	go s.sweepIdleShells()
	return s
}

// Handler serves POST /wsman. NTLM needs per-connection state: serve it
// with Listen, or with an http.Server whose ConnContext is s.ConnContext.
func (s *Server) Handler() http.Handler { return s }

// Listen serves on addr (HTTPS when tlsConfig is set) until ctx ends or
// Close, and returns the address it listens on.
func (s *Server) Listen(ctx context.Context, addr string, tlsConfig *tls.Config) (net.Addr, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tlsConfig != nil {
		cfg := tlsConfig.Clone()
		// HTTP/1.1 only: NTLM authenticates a TCP connection, which HTTP/2
		// would multiplex.
		cfg.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(ln, cfg)
	}
	srv := &http.Server{
		Handler:           s,
		ConnContext:       s.ConnContext,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		ln.Close()
		return nil, errors.New("wsman server closed")
	default:
	}
	s.httpServers = append(s.httpServers, srv)
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("wsman listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			srv.Close()
		case <-s.done:
		}
	}()
	return ln.Addr(), nil
}

// Close stops the listeners and cancels every command.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		servers := s.httpServers
		s.httpServers = nil
		s.mu.Unlock()
		for _, srv := range servers {
			err = errors.Join(err, srv.Close())
		}
		s.DropShells()
	})
	return err
}

// Requests returns how many HTTP requests the server has received,
// authentication round trips included.
func (s *Server) Requests() int64 { return s.requests.Load() }

const maxRequestBody = 16 << 20

// ServeHTTP serves one WS-Management request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	w.Header().Set("Server", "Microsoft-HTTPAPI/2.0")
	// Read the whole body first, even for a 401: the NTLM handshake
	// continues on this connection.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		http.Error(w, "request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !strings.EqualFold(r.URL.Path, "/wsman") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	user, sec, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	var responseSec *sessionSecurity
	if ct := strings.ToLower(r.Header.Get("Content-Type")); strings.HasPrefix(ct, "multipart/encrypted") {
		if sec == nil {
			s.log.Info("encrypted message on a connection without NTLM session keys", "remote", r.RemoteAddr)
			s.unauthorized(w)
			return
		}
		if body, err = decodeEncrypted(body, sec); err != nil {
			s.log.Info("encrypted message refused", "remote", r.RemoteAddr, "err", err)
			http.Error(w, "encrypted message: "+err.Error(), http.StatusBadRequest)
			return
		}
		responseSec = sec
	} else if len(body) > 0 && r.TLS == nil && !s.cfg.AllowUnencrypted {
		s.log.Info("unencrypted message refused over HTTP (AllowUnencrypted is false)", "remote", r.RemoteAddr, "user", user)
		s.unauthorized(w)
		return
	}
	if len(body) == 0 {
		// pywinrm's empty POST that sets up message encryption.
		w.WriteHeader(http.StatusOK)
		return
	}

	req, err := parseRequest(body)
	var resp []byte
	var f *fault
	if err != nil {
		f = invalidXMLFault(err)
	} else {
		resp, f = s.dispatch(r, user, req)
	}
	if f != nil {
		relatesTo := ""
		if req != nil {
			relatesTo = req.Header.MessageID
		}
		s.log.Debug("wsman fault", "user", user, "fault", f.Error())
		writeSOAP(w, http.StatusInternalServerError, f.envelope(relatesTo, machineName(r)), responseSec)
		return
	}
	if resp == nil {
		return // the client went away during a Receive
	}
	writeSOAP(w, http.StatusOK, resp, responseSec)
}

func (s *Server) dispatch(r *http.Request, user string, req *request) ([]byte, *fault) {
	action := req.Header.Action
	switch action {
	case actionCreate, actionDelete, actionCommand, actionSend, actionReceive, actionSignal:
	default:
		return nil, actionNotSupportedFault(action)
	}
	if !strings.EqualFold(req.Header.ResourceURI, cmdResourceURI) {
		return nil, resourceNotFoundFault(req.Header.ResourceURI)
	}
	if action == actionCreate {
		return s.create(r, user, req)
	}
	id := req.selector("ShellId")
	sh, release, f := s.acquireShell(id, user)
	if f != nil {
		return nil, f
	}
	defer release()
	switch action {
	case actionDelete:
		return s.deleteShell(sh, req)
	case actionCommand:
		return s.command(sh, user, req)
	case actionSend:
		return s.send(sh, req)
	case actionReceive:
		return s.receive(r.Context(), sh, req)
	default:
		return s.signal(sh, req)
	}
}

// machineName is the host name the client addressed, as Windows puts it in
// a fault's Machine attribute.
func machineName(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		return host
	}
	return r.Host
}
