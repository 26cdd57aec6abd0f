package wsman

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Windows Remote Shell (MS-WSMV 3.1.4.1.x): shells, their commands,
// and the Send/Receive/Signal operations on them.

// shell is one rsp:Shell. Its fields after the first block are guarded by
// Server.mu.
type shell struct {
	id, owner, clientIP string
	env                 map[string]string
	workDir             string
	idleTimeout         time.Duration
	created             time.Time

	commands   map[string]*command
	operations int // commands started, for the operations quota
	inFlight   int // requests on this shell being served
	lastUse    time.Time
}

// command is one running or finished rsp:Command.
type command struct {
	id     string
	cancel context.CancelFunc
	stdin  *inputPipe

	mu       sync.Mutex
	out      []chunk // output not yet received
	exited   bool
	exitCode int
	gone     bool          // terminated, or its shell deleted
	changed  chan struct{} // closed and replaced on every change
}

type chunk struct {
	stream string
	data   []byte
}

// notify wakes every waiter; c.mu must be held.
func (c *command) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// end makes the command unreachable and cancels its context.
func (c *command) end() {
	c.mu.Lock()
	c.gone = true
	c.notify()
	c.mu.Unlock()
	c.cancel()
}

// streamWriter collects what the Host writes to stdout or stderr.
type streamWriter struct {
	c      *command
	stream string
}

// mergeLimit keeps merged chunks small enough to split cheaply.
const mergeLimit = 64 << 10

func (w *streamWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited || c.gone {
		return 0, io.ErrClosedPipe
	}
	if n := len(c.out); n > 0 && c.out[n-1].stream == w.stream && len(c.out[n-1].data)+len(p) <= mergeLimit {
		c.out[n-1].data = append(c.out[n-1].data, p...)
	} else {
		c.out = append(c.out, chunk{stream: w.stream, data: append([]byte(nil), p...)})
	}
	c.notify()
	return len(p), nil
}

// inputPipe is a command's stdin: Send never blocks, Run's reads wait for
// data, End or the command's cancellation.
type inputPipe struct {
	ctx     context.Context
	mu      sync.Mutex
	buf     []byte
	eof     bool
	changed chan struct{}
}

func (p *inputPipe) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		p.mu.Lock()
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			p.mu.Unlock()
			return n, nil
		}
		if p.eof {
			p.mu.Unlock()
			return 0, io.EOF
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.ctx.Done():
			return 0, p.ctx.Err()
		}
	}
}

func (p *inputPipe) write(data []byte, end bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.eof {
		return // Windows ignores input after End
	}
	p.buf = append(p.buf, data...)
	p.eof = end
	close(p.changed)
	p.changed = make(chan struct{})
}

// create serves Create: a new shell, within the user's shell quota.
func (s *Server) create(r *http.Request, user string, req *request) ([]byte, *fault) {
	sh := &shell{
		id:          newGUID(),
		owner:       user,
		env:         map[string]string{},
		idleTimeout: s.cfg.IdleTimeout,
		created:     time.Now(),
		commands:    map[string]*command{},
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sh.clientIP = host
	}
	if b := req.Body.Shell; b != nil {
		sh.workDir = strings.TrimSpace(b.WorkingDirectory)
		for _, v := range b.Environment.Variables {
			sh.env[v.Name] = v.Value
		}
		if d, err := parseDuration(b.IdleTimeOut); err == nil && d > 0 && d < sh.idleTimeout {
			sh.idleTimeout = d
		}
	}
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return nil, unknownShellFault(sh.id)
	default:
	}
	n := 0
	for _, other := range s.shells {
		if other.owner == user {
			n++
		}
	}
	if n >= s.cfg.MaxShellsPerUser {
		s.mu.Unlock()
		return nil, shellQuotaFault(s.cfg.MaxShellsPerUser)
	}
	sh.lastUse = time.Now()
	s.shells[sh.id] = sh
	s.mu.Unlock()
	s.log.Debug("shell created", "shell", sh.id, "user", user)

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	var b strings.Builder
	b.WriteString(`<x:ResourceCreated><a:Address>` + xmlText(scheme+"://"+r.Host+"/wsman") + `</a:Address><a:ReferenceParameters>`)
	b.WriteString(`<w:ResourceURI>` + cmdResourceURI + `</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">` + sh.id + `</w:Selector></w:SelectorSet>`)
	b.WriteString(`</a:ReferenceParameters></x:ResourceCreated>`)
	b.WriteString(`<rsp:Shell xmlns:rsp="` + nsShell + `"><rsp:ShellId>` + sh.id + `</rsp:ShellId><rsp:ResourceUri>` + cmdResourceURI + `</rsp:ResourceUri>`)
	b.WriteString(`<rsp:Owner>` + xmlText(user) + `</rsp:Owner><rsp:ClientIP>` + xmlText(sh.clientIP) + `</rsp:ClientIP>`)
	b.WriteString(`<rsp:IdleTimeOut>` + formatDuration(sh.idleTimeout) + `</rsp:IdleTimeOut>`)
	if sh.workDir != "" {
		b.WriteString(`<rsp:WorkingDirectory>` + xmlText(sh.workDir) + `</rsp:WorkingDirectory>`)
	}
	b.WriteString(`<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>`)
	b.WriteString(`<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>`)
	return envelope(nsTransfer+"/CreateResponse", req.Header.MessageID, nsShellResponse, b.String()), nil
}

// acquireShell finds the user's shell and marks it in use until release.
// Another user's shell does not exist for this one.
func (s *Server) acquireShell(id, user string) (*shell, func(), *fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shells[id]
	if sh == nil || sh.owner != user {
		return nil, nil, unknownShellFault(id)
	}
	sh.inFlight++
	sh.lastUse = time.Now()
	return sh, func() {
		s.mu.Lock()
		sh.inFlight--
		sh.lastUse = time.Now()
		s.mu.Unlock()
	}, nil
}

// lookupCommand returns a command of the shell, or nil once it is gone.
func (s *Server) lookupCommand(sh *shell, id string) *command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sh.commands[strings.TrimSpace(id)]
}

func (s *Server) deleteShell(sh *shell, req *request) ([]byte, *fault) {
	s.mu.Lock()
	_, ok := s.shells[sh.id]
	delete(s.shells, sh.id)
	commands := sh.commands
	sh.commands = map[string]*command{}
	s.mu.Unlock()
	if !ok {
		return nil, unknownShellFault(sh.id)
	}
	for _, c := range commands {
		c.end()
	}
	s.log.Debug("shell deleted", "shell", sh.id)
	return envelope(nsTransfer+"/DeleteResponse", req.Header.MessageID, nsDelete, ""), nil
}

// Shells returns how many shells are open.
func (s *Server) Shells() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.shells)
}

// DropShells forgets every shell and cancels its commands, as when the
// machine reboots or the WinRM service restarts: later requests on them
// get the unknown-shell fault.
func (s *Server) DropShells() {
	s.mu.Lock()
	shells := s.shells
	s.shells = map[string]*shell{}
	s.mu.Unlock()
	for _, sh := range shells {
		s.mu.Lock()
		commands := sh.commands
		sh.commands = map[string]*command{}
		s.mu.Unlock()
		for _, c := range commands {
			c.end()
		}
	}
}

// sweepIdleShells deletes shells unused for their idle timeout.
func (s *Server) sweepIdleShells() {
	every := min(max(s.cfg.IdleTimeout/4, 10*time.Millisecond), 30*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-tick.C:
			var idle []*command
			s.mu.Lock()
			for id, sh := range s.shells {
				if sh.inFlight == 0 && now.Sub(sh.lastUse) > sh.idleTimeout {
					delete(s.shells, id)
					for _, c := range sh.commands {
						idle = append(idle, c)
					}
					sh.commands = map[string]*command{}
					s.log.Debug("idle shell deleted", "shell", id, "user", sh.owner)
				}
			}
			s.mu.Unlock()
			for _, c := range idle {
				c.end()
			}
		}
	}
}

// command serves Command: it starts the Host on a new goroutine.
func (s *Server) command(sh *shell, user string, req *request) ([]byte, *fault) {
	cl := req.Body.CommandLine
	if cl == nil {
		return nil, invalidParameterFault("The Command request has no rsp:CommandLine. ")
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &command{id: newGUID(), cancel: cancel, changed: make(chan struct{})}
	c.stdin = &inputPipe{ctx: ctx, changed: make(chan struct{})}

	s.mu.Lock()
	if _, open := s.shells[sh.id]; !open {
		s.mu.Unlock()
		cancel()
		return nil, unknownShellFault(sh.id)
	}
	ops := 0
	for _, other := range s.shells {
		if other.owner == user {
			ops += other.operations
		}
	}
	if ops >= s.cfg.MaxConcurrentOperationsPerUser {
		s.mu.Unlock()
		cancel()
		return nil, operationQuotaFault(s.cfg.MaxConcurrentOperationsPerUser)
	}
	sh.operations++
	sh.commands[c.id] = c
	env := make(map[string]string, len(sh.env))
	for k, v := range sh.env {
		env[k] = v
	}
	s.mu.Unlock()

	hc := Command{
		ShellID:     sh.id,
		CommandID:   c.id,
		User:        user,
		CommandLine: cl.Command,
		Args:        cl.Arguments,
		Env:         env,
		WorkingDir:  sh.workDir,
		Stdin:       c.stdin,
		Stdout:      &streamWriter{c: c, stream: "stdout"},
		Stderr:      &streamWriter{c: c, stream: "stderr"},
	}
	s.log.Debug("command started", "shell", sh.id, "command", c.id, "line", cl.Command, "args", cl.Arguments)
	go s.run(ctx, c, hc)

	body := `<rsp:CommandResponse><rsp:CommandId>` + c.id + `</rsp:CommandId></rsp:CommandResponse>`
	return envelope(nsShell+"/CommandResponse", req.Header.MessageID, nsShellResponse, body), nil
}

func (s *Server) run(ctx context.Context, c *command, hc Command) {
	code := 1
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("host panicked", "command", hc.CommandLine, "panic", p)
			_, _ = fmt.Fprintf(hc.Stderr, "wsman host panic: %v\r\n", p)
		}
		c.mu.Lock()
		c.exited, c.exitCode = true, code
		c.notify()
		c.mu.Unlock()
		c.cancel()
	}()
	code = s.host.Run(ctx, hc)
}

// send serves Send: stdin for a command.
func (s *Server) send(sh *shell, req *request) ([]byte, *fault) {
	if req.Body.Send == nil {
		return nil, invalidParameterFault("The Send request has no rsp:Send. ")
	}
	for _, st := range req.Body.Send.Streams {
		c := s.lookupCommand(sh, st.CommandID)
		if c == nil {
			return nil, unknownCommandFault()
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Data))
		if err != nil {
			return nil, invalidParameterFault("The stdin stream is not base64: " + err.Error() + " ")
		}
		c.stdin.write(data, strings.EqualFold(strings.TrimSpace(st.End), "true"))
	}
	return envelope(nsShell+"/SendResponse", req.Header.MessageID, nsShellResponse, `<rsp:SendResponse/>`), nil
}

// coalesce is how long a Receive that has output waits for more, or for
// the end, so that a short command's output and exit come in one reply.
const coalesce = 5 * time.Millisecond

// receive serves Receive: it long-polls for output up to the operation
// timeout, then answers the TimedOut fault and the client polls again.
func (s *Server) receive(ctx context.Context, sh *shell, req *request) ([]byte, *fault) {
	rc := req.Body.Receive
	if rc == nil {
		return nil, invalidParameterFault("The Receive request has no rsp:Receive. ")
	}
	c := s.lookupCommand(sh, rc.DesiredStream.CommandID)
	if c == nil {
		return nil, unknownCommandFault()
	}
	timeout := s.cfg.OperationTimeout
	if d, err := parseDuration(req.Header.OperationTimeout); err == nil && d > 0 && d < timeout {
		timeout = d
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var settle <-chan time.Time
	for {
		c.mu.Lock()
		ready := c.exited || c.gone
		hasOutput := len(c.out) > 0
		changed := c.changed
		c.mu.Unlock()
		if ready {
			break
		}
		if hasOutput && settle == nil {
			t := time.NewTimer(coalesce)
			defer t.Stop()
			settle = t.C
		}
		select {
		case <-changed:
			continue
		case <-settle:
		case <-deadline.C:
			if !hasOutput {
				return nil, timedOutFault()
			}
		case <-ctx.Done():
			return nil, nil
		case <-s.done:
			return nil, unknownShellFault(sh.id)
		}
		break
	}

	desired := map[string]bool{}
	for _, name := range strings.Fields(rc.DesiredStream.Streams) {
		desired[name] = true
	}
	if len(desired) == 0 {
		desired["stdout"], desired["stderr"] = true, true
	}
	limit := 153600
	if n, err := strconv.Atoi(strings.TrimSpace(req.Header.MaxEnvelopeSize)); err == nil && n > 0 {
		limit = n
	}
	limit = max(limit-4096, 1024)

	s.mu.Lock()
	open := s.shells[sh.id] == sh
	s.mu.Unlock()
	if !open {
		return nil, unknownShellFault(sh.id)
	}
	var b strings.Builder
	b.WriteString(`<rsp:ReceiveResponse>`)
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return nil, unknownCommandFault()
	}
	const streamOverhead = 128 // the rsp:Stream element around the data
	used := 0
	for len(c.out) > 0 {
		ch := &c.out[0]
		if !desired[ch.stream] {
			c.out = c.out[1:]
			continue
		}
		room := (limit - used - streamOverhead) / 4 * 3
		if room <= 0 {
			break
		}
		data := ch.data
		if len(data) > room {
			data = ch.data[:room]
			ch.data = ch.data[room:]
		} else {
			c.out = c.out[1:]
		}
		used += streamOverhead + base64.StdEncoding.EncodedLen(len(data))
		b.WriteString(`<rsp:Stream Name="` + ch.stream + `" CommandId="` + c.id + `">` + base64.StdEncoding.EncodeToString(data) + `</rsp:Stream>`)
	}
	if c.exited && len(c.out) == 0 {
		for _, name := range []string{"stdout", "stderr"} {
			if desired[name] {
				b.WriteString(`<rsp:Stream Name="` + name + `" CommandId="` + c.id + `" End="true"></rsp:Stream>`)
			}
		}
		b.WriteString(`<rsp:CommandState CommandId="` + c.id + `" State="` + stateDone + `"><rsp:ExitCode>` +
			strconv.FormatUint(uint64(uint32(c.exitCode)), 10) + `</rsp:ExitCode></rsp:CommandState>`)
	} else {
		b.WriteString(`<rsp:CommandState CommandId="` + c.id + `" State="` + stateRunning + `"></rsp:CommandState>`)
	}
	c.mu.Unlock()
	b.WriteString(`</rsp:ReceiveResponse>`)
	return envelope(nsShell+"/ReceiveResponse", req.Header.MessageID, nsShellResponse, b.String()), nil
}

// signal serves Signal: terminate ends the command; ctrl_c and ctrl_break
// cancel its context and leave it to report its exit.
func (s *Server) signal(sh *shell, req *request) ([]byte, *fault) {
	sig := req.Body.Signal
	if sig == nil {
		return nil, invalidParameterFault("The Signal request has no rsp:Signal. ")
	}
	s.mu.Lock()
	id := strings.TrimSpace(sig.CommandID)
	c := sh.commands[id]
	code := strings.TrimPrefix(strings.TrimSpace(sig.Code), signalPrefix)
	if c != nil && code == "terminate" {
		delete(sh.commands, id)
	}
	s.mu.Unlock()
	if c == nil {
		return nil, unknownCommandFault()
	}
	switch code {
	case "terminate":
		c.end()
	case "ctrl_c", "ctrl_break":
		c.cancel()
	default:
		return nil, invalidParameterFault("The signal code " + sig.Code + " is not supported. ")
	}
	return envelope(nsShell+"/SignalResponse", req.Header.MessageID, nsShellResponse, `<rsp:SignalResponse/>`), nil
}
