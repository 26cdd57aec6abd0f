package ssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"onboard/internal/remote"
	"onboard/internal/shell"
)

// A long-lived shell runs many commands on one SSH session, so that a
// command costs a fork in a running sh instead of a new session and a new
// login shell. The protocol, all on the shell's stdin:
//
//	$onboard_ss sh -c 'printf "<P>%d\n" "$$" >&2
//	<command>' </dev/null & wait $!; printf '<E>x%d\n' "$?"; printf '<E>e\n' >&2
//
// <P> and <E> are random per command. The command runs in a child sh of
// its own (nothing it does leaks into the next), in a session and process
// group of its own (setsid, when the host has it: an exec, not one more
// process), with stdin closed. Its stdout and stderr are the shell's own,
// kept apart by SSH; the end marker <E> with the exit code closes each
// stream's frame. <E> never appears on any command line (printf is a
// builtin), so a command cannot learn it from ps; an output that contains
// an earlier command's marker is just output. The shell itself waits for
// the job and prints its end, however the job ends (even killed with its
// whole group): one process per command on the host, the job. A cancel
// therefore cannot go through the waiting shell: it is sent from a session
// of its own, with the shell's privilege (signalJob).

// shellSetup is the first thing a new shell runs.
const shellSetup = "command -v setsid >/dev/null 2>&1 && onboard_ss=setsid || onboard_ss=\n"

// shellReady is how long a new shell has to answer its first frame.
const shellReady = 10 * time.Second

// shellWedged is how long a killed command has to end before its shell is
// closed and a fresh one made on the next call.
const shellWedged = 3 * time.Second

// rshell is one long-lived sh on its own session.
type rshell struct {
	cn      *conn
	priv    bool // started under sudo: its jobs are root's
	sess    *xssh.Session
	stdin   io.WriteCloser
	out     *framer
	errs    *framer
	closing sync.Once
}

func (sh *rshell) close() {
	sh.closing.Do(func() {
		_ = sh.stdin.Close()
		_ = sh.sess.Close()
	})
}

// shellSlot is a client's shell for one privilege: one caller at a time.
type shellSlot struct {
	sh     *rshell
	busy   bool
	broken bool // the shell could not start here (say, sudo refused): use sessions
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "OnB" + hex.EncodeToString(b)
}

// takeShell returns the shell for priv, starting it if needed; nil (and no
// error) when the caller should use a session of its own instead: the
// shell is busy with another caller, or cannot serve this host.
func (c *Client) takeShell(ctx context.Context, priv bool) (*rshell, error) {
	i := c.shellIndex(priv)
	c.mu.Lock()
	slot := &c.shells[i]
	if c.closed || slot.busy || slot.broken {
		c.mu.Unlock()
		return nil, nil
	}
	slot.busy = true
	sh := slot.sh
	c.mu.Unlock()
	if sh != nil && sh.cn.alive() && !sh.out.ended() && !sh.errs.ended() {
		return sh, nil
	}
	if sh != nil {
		sh.close()
	}
	sh, err := c.startShell(ctx, i == 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	slot.sh = sh
	if err != nil {
		slot.busy = false
		if errors.Is(err, errShellUnusable) {
			c.log.Info("no long-lived shell on this host, one session per command", "privileged", priv, "err", err)
			slot.broken = true
			return nil, nil
		}
		if errors.Is(err, errShellNotReady) {
			return nil, nil
		}
		return nil, err
	}
	if c.closed {
		slot.busy = false
		slot.sh = nil
		sh.close()
		return nil, nil
	}
	return sh, nil
}

// shellIndex is the slot of the shell that runs a command: root logins
// need no second shell for privileged commands.
func (c *Client) shellIndex(priv bool) int {
	if priv && c.cfg.User != "root" {
		return 1
	}
	return 0
}

// putShell gives the shell back; a shell that failed is closed.
func (c *Client) putShell(priv bool, sh *rshell, ok bool) {
	i := c.shellIndex(priv)
	c.mu.Lock()
	slot := &c.shells[i]
	slot.busy = false
	if !ok || c.closed {
		if slot.sh == sh {
			slot.sh = nil
		}
		c.mu.Unlock()
		sh.close()
		return
	}
	c.mu.Unlock()
}

// closeShells closes every shell (Close).
func (c *Client) closeShells() {
	c.mu.Lock()
	var shs []*rshell
	for i := range c.shells {
		if c.shells[i].sh != nil {
			shs = append(shs, c.shells[i].sh)
			c.shells[i].sh = nil
		}
	}
	c.mu.Unlock()
	for _, sh := range shs {
		sh.close()
	}
}

var (
	errShellUnusable = errors.New("the long-lived shell did not start")
	errShellNotReady = errors.New("the long-lived shell is slow to start")
)

// startShell opens a session running sh (under sudo when priv and the login
// user is not root) and waits for its first frame.
func (c *Client) startShell(ctx context.Context, priv bool) (*rshell, error) {
	line, prefix, err := c.commandLine(remote.Cmd{Command: "exec sh", Privileged: priv})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errShellUnusable, err)
	}
	// A shell takes no slot of Config.MaxSessions: it would starve the
	// sessions of uploads; the two shells are counted in DefaultMaxSessions.
	sess, cn, err := c.newSession(ctx)
	if err != nil {
		return nil, err
	}
	sh := &rshell{cn: cn, sess: sess, priv: priv && c.cfg.User != "root"}
	fail := func(err error) (*rshell, error) {
		_ = sess.Close()
		return nil, err
	}
	if sh.stdin, err = sess.StdinPipe(); err != nil {
		return fail(c.errorf("shell stdin: %w", err))
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return fail(c.errorf("shell stdout: %w", err))
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return fail(c.errorf("shell stderr: %w", err))
	}
	sh.out, sh.errs = newFramer(stdout), newFramer(stderr)
	if err := sess.Start(line); err != nil {
		if !cn.alive() || errors.Is(err, io.EOF) {
			c.drop(cn, "start shell: "+err.Error())
			return fail(c.errorf("start shell: %w: %w", err, remote.ErrConnectionLost))
		}
		return fail(c.errorf("start shell: %w", err))
	}
	// The sudo password goes first, on its own line, as for a command.
	if _, err := io.WriteString(sh.stdin, prefix+shellSetup); err != nil {
		return fail(c.errorf("start shell: %w: %w", err, remote.ErrConnectionLost))
	}
	// The first frame proves the shell reads and answers.
	rctx, cancel := context.WithTimeout(ctx, shellReady)
	defer cancel()
	e := newNonce()
	f := sh.frame(e, "", io.Discard, io.Discard)
	script := fmt.Sprintf("printf '%sx%%d\\n' 0; printf '%se\\n' >&2\n", e, e)
	if _, err := io.WriteString(sh.stdin, script); err != nil {
		return fail(c.errorf("start shell: %w: %w", err, remote.ErrConnectionLost))
	}
	if _, err := f.wait(rctx); err != nil {
		switch {
		case ctx.Err() != nil:
			return fail(c.errorf("start shell: %w", ctx.Err()))
		case !cn.alive():
			return fail(c.errorf("start shell: %w: %w", err, remote.ErrConnectionLost))
		case rctx.Err() != nil:
			// Slow, not broken (a loaded host): a session this time.
			return fail(c.errorf("%w: no answer in %v", errShellNotReady, shellReady))
		case !c.probe(cn):
			c.drop(cn, "shell start: connection does not answer")
			return fail(c.errorf("start shell: %w: %w", err, remote.ErrConnectionLost))
		}
		return fail(c.errorf("%w: %w", errShellUnusable, err))
	}
	return sh, nil
}

// cmdFrame is one command's frames on both streams.
type cmdFrame struct {
	out, errs *frame
}

// frame registers a command's frames on both streams; pid, if not empty,
// is the marker that carries the command's PID on stderr.
func (sh *rshell) frame(end, pid string, stdout, stderr io.Writer) cmdFrame {
	return sh.batchFrame(end, pid, "", stdout, stderr)
}

// batchFrame is frame for a command of a batch whose own end marker is
// abort (empty: not in a batch).
func (sh *rshell) batchFrame(end, pid, abort string, stdout, stderr io.Writer) cmdFrame {
	var pidMarker, abortMarker []byte
	if pid != "" {
		pidMarker = []byte(pid)
	}
	if abort != "" {
		abortMarker = []byte(abort)
	}
	return cmdFrame{
		out:  sh.out.expect(&frame{end: []byte(end), abort: abortMarker, w: stdout, done: make(chan struct{})}),
		errs: sh.errs.expect(&frame{end: []byte(end), abort: abortMarker, pid: pidMarker, w: stderr, done: make(chan struct{}), gotPID: make(chan struct{})}),
	}
}

// wait waits for both end markers and returns the exit code.
func (f cmdFrame) wait(ctx context.Context) (int, error) {
	for _, fr := range []*frame{f.out, f.errs} {
		select {
		case <-fr.done:
		case <-ctx.Done():
			return -1, ctx.Err()
		}
		if fr.err != nil {
			return -1, fr.err
		}
	}
	return f.out.code, nil
}

// ended reports, without waiting, whether both frames have ended.
func (f cmdFrame) ended() bool {
	for _, fr := range []*frame{f.out, f.errs} {
		select {
		case <-fr.done:
		default:
			return false
		}
	}
	return true
}

// commandScript is the line that runs command in the shell (see above).
func commandScript(command, end, pid string) string {
	inner := "printf '" + pid + "%d\\n' \"$$\" >&2\n" + command
	return jobLine(inner, end)
}

// jobLine runs the sh script inner as the shell's job and, once it has
// ended (and is reaped: no zombie, its CPU time in the host's accounts),
// prints the end marker with its exit status on both streams.
func jobLine(inner, end string) string {
	return "$onboard_ss sh -c " + shell.Quote(inner) + " </dev/null & wait $!; printf '" + end + "x%d\\n' \"$?\"; printf '" + end + "e\\n' >&2\n"
}

// batchScript is the line that runs a batch of commands in the shell: one
// job (one setsid'd sh) for all of them, each command in a subshell
// of its own (a fork, no exec) so that nothing it does (exit, cd, set)
// reaches the next; eval parses each only when it runs, so a command with
// a syntax error fails alone. ends[i] frames command i; batchEnd frames the
// job and tells the reader where a batch stopped early.
func batchScript(commands, ends []string, pid, batchEnd string) string {
	var inner strings.Builder
	// A cancel's TERM ends the running command; then this trap ends what
	// it left behind (a child that ignores TERM) and the rest of the batch.
	inner.WriteString("trap 'kill -KILL 0' TERM\n")
	inner.WriteString("printf '" + pid + "%d\\n' \"$$\" >&2\n")
	for i, c := range commands {
		inner.WriteString("( eval " + shell.Quote(c) + " ) </dev/null; printf '" + ends[i] + "x%d\\n' \"$?\"; printf '" + ends[i] + "e\\n' >&2\n")
	}
	return jobLine(inner.String(), batchEnd)
}

// runShellBatch runs cmds in sh as one job (see batchScript) and returns
// their exit codes. ok, as for runShell, says whether sh can serve again.
// A command the batch did not finish has code -1, and the error says so.
func (c *Client) runShellBatch(ctx context.Context, sh *rshell, cmds []remote.Cmd, done func(ok bool)) ([]int, error) {
	codes := make([]int, len(cmds))
	commands, ends := make([]string, len(cmds)), make([]string, len(cmds))
	frames := make([]cmdFrame, len(cmds))
	var gates []*remote.GatedWriter
	pid, batchEnd := newNonce(), newNonce()
	for i, cmd := range cmds {
		commands[i], ends[i] = cmd.Command, newNonce()
		stdout, stderr := &remote.GatedWriter{W: cmd.Stdout}, &remote.GatedWriter{W: cmd.Stderr}
		gates = append(gates, stdout, stderr)
		p := ""
		if i == 0 {
			p = pid
		}
		frames[i] = sh.batchFrame(ends[i], p, batchEnd, stdout, stderr)
	}
	last := sh.frame(batchEnd, "", io.Discard, io.Discard)
	shut := func() {
		for _, g := range gates {
			g.Shut()
		}
	}
	if _, err := io.WriteString(sh.stdin, batchScript(commands, ends, pid, batchEnd)); err != nil {
		done(false)
		return nil, c.errorf("send batch to shell: %w: %w", err, remote.ErrConnectionLost)
	}
	code, err := last.wait(ctx)
	switch {
	case err == nil && code > 128 && !c.probe(sh.cn):
		shut()
		done(false)
		c.drop(sh.cn, "batch killed as the connection ended")
		return nil, c.errorf("batch killed (exit %d) as the connection ended: %w", code, remote.ErrConnectionLost)
	case err == nil:
		shut()
		done(true)
		for i, f := range frames {
			// Every frame has ended: the batch's own marker came after them.
			if f.out.err != nil || f.errs.err != nil {
				for j := i; j < len(codes); j++ {
					codes[j] = -1
				}
				return codes, c.errorf("batch of %d commands stopped (exit %d) at command %d of %d", len(cmds), code, i+1, len(cmds))
			}
			codes[i] = f.out.code
		}
		return codes, nil
	case ctx.Err() != nil:
		shut()
		go func() { done(c.killShellCommand(sh, frames[0].errs, last)) }()
		return nil, c.errorf("batch cancelled: %w", ctx.Err())
	default:
		shut()
		done(false)
		if !sh.cn.alive() || sh.cn.lost.Load() || !c.probe(sh.cn) {
			c.drop(sh.cn, "shell ended with the connection")
			return nil, c.errorf("batch: %w: %w", err, remote.ErrConnectionLost)
		}
		return nil, c.errorf("shell ended while a batch ran: %w: %w", err, remote.ErrConnectionLost)
	}
}

// runShell runs cmd in the long-lived shell sh. ok reports whether the
// shell can be used again; Run returns at once on cancellation, and done
// is called when the shell is free (or closed).
func (c *Client) runShell(ctx context.Context, sh *rshell, cmd remote.Cmd, done func(ok bool)) (int, error) {
	stdout, stderr := &remote.GatedWriter{W: cmd.Stdout}, &remote.GatedWriter{W: cmd.Stderr}
	end, pid := newNonce(), newNonce()
	f := sh.frame(end, pid, stdout, stderr)
	if _, err := io.WriteString(sh.stdin, commandScript(cmd.Command, end, pid)); err != nil {
		done(false)
		return -1, c.errorf("send command to shell: %w: %w", err, remote.ErrConnectionLost)
	}
	code, err := f.wait(ctx)
	switch {
	case err == nil && code > 128 && !c.probe(sh.cn):
		// Killed by a signal, and the connection is gone with it: sshd
		// died (or the host went down) and took the command along. That
		// is a lost connection, as with a session per command, not the
		// command's own failure.
		stdout.Shut()
		stderr.Shut()
		done(false)
		c.drop(sh.cn, "command killed as the connection ended")
		return -1, c.errorf("command killed (exit %d) as the connection ended: %w", code, remote.ErrConnectionLost)
	case err == nil:
		stdout.Shut()
		stderr.Shut()
		done(true)
		return code, nil
	case ctx.Err() != nil:
		stdout.Shut()
		stderr.Shut()
		go func() { done(c.killShellCommand(sh, f.errs, f)) }()
		return -1, c.errorf("command cancelled: %w", ctx.Err())
	default:
		stdout.Shut()
		stderr.Shut()
		done(false)
		if !sh.cn.alive() || sh.cn.lost.Load() || !c.probe(sh.cn) {
			// A dead connection can look alive for a moment: drop it, so
			// that the next call redials instead of opening a session on it.
			c.drop(sh.cn, "shell ended with the connection")
			return -1, c.errorf("command: %w: %w", err, remote.ErrConnectionLost)
		}
		// The shell died under the command: its outcome is unknown.
		return -1, c.errorf("shell ended while the command ran, its outcome is unknown: %w: %w", err, remote.ErrConnectionLost)
	}
}

// probe reports whether cn still answers a request: a shell's stream can
// end a moment before the connection is seen dead.
func (c *Client) probe(cn *conn) bool {
	if !cn.alive() {
		return false
	}
	replied := make(chan error, 1)
	go func() {
		_, _, err := cn.ssh.SendRequest("keepalive@openssh.com", true, nil)
		replied <- err
	}()
	select {
	case err := <-replied:
		return err == nil
	case <-cn.done:
		return false
	case <-time.After(probeTimeout):
		return false
	}
}

// probeTimeout bounds probe.
const probeTimeout = 2 * time.Second

// killShellCommand ends a cancelled command (or batch): SIGTERM to its
// process group, whose PID pf carries, SIGKILL after cancelGrace, each sent
// from a session of its own (the shell is waiting for the job); it reports
// whether the shell is still fit for use (f, the last frame, ended).
func (c *Client) killShellCommand(sh *rshell, pf *frame, f cmdFrame) bool {
	select {
	case <-pf.gotPID:
	case <-pf.done:
	case <-time.After(cancelGrace):
	}
	p := pf.pidValue()
	wait := func(d time.Duration) bool {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, err := f.wait(ctx)
		return err == nil
	}
	for _, sig := range []string{"TERM", "KILL"} {
		if f.ended() {
			// Ended on its own: its group id may already be another's.
			return sh.answers(shellWedged)
		}
		if p > 1 {
			c.signalJob(sh, p, sig)
		}
		if wait(cancelGrace) {
			return sh.answers(shellWedged)
		}
	}
	if wait(shellWedged) {
		return sh.answers(shellWedged)
	}
	c.log.Warn("cancelled command did not end, closing its shell", "pid", p)
	return false
}

// signalJob sends sig to the job whose PID is p (its process group; the
// process alone on a host without setsid) from a session of its own, as
// the shell's user: root through sudo for the privileged shell. Only a
// cancel pays for this session.
func (c *Client) signalJob(sh *rshell, p int, sig string) {
	// dash's kill takes no "--": "-PID" names the group.
	kill := fmt.Sprintf("kill -%s -%d 2>/dev/null || kill -%s %d 2>/dev/null", sig, p, sig, p)
	line, prefix, err := c.commandLine(remote.Cmd{Command: kill, Privileged: sh.priv})
	if err != nil {
		c.log.Warn("cannot kill cancelled command", "pid", p, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Outside the semaphore: the cancelled command's caller may hold every
	// slot, and openSession waits out a full sshd.
	sess, err := openSession(ctx, sh.cn)
	if err != nil {
		c.log.Warn("cannot kill cancelled command", "pid", p, "err", err)
		return
	}
	c.sessions.Add(1)
	defer sess.Close()
	if prefix != "" {
		sess.Stdin = strings.NewReader(prefix)
	}
	ran := make(chan error, 1)
	go func() { ran <- sess.Run(line) }()
	select {
	case <-ran:
	case <-ctx.Done():
		c.log.Warn("kill of cancelled command did not answer", "pid", p)
	}
}

// answers reports whether the shell reads and runs a line within d. A
// command can end on its own while its shell is stuck (stopped, or blocked
// writing): then the kill lines were never read, and would run whenever the
// shell woke, against whatever process has that group id by then. Such a
// shell is closed, never reused.
func (sh *rshell) answers(d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	e := newNonce()
	f := sh.frame(e, "", io.Discard, io.Discard)
	if _, err := io.WriteString(sh.stdin, fmt.Sprintf("printf '%sx%%d\\n' 0; printf '%se\\n' >&2\n", e, e)); err != nil {
		return false
	}
	_, err := f.wait(ctx)
	return err == nil
}

// framer reads one stream of a shell and hands each command its bytes up
// to the command's end marker. Frames are served in the order they were
// expected: a batch registers all of its commands' frames at once.
type framer struct {
	mu    sync.Mutex
	queue []*frame // queue[0] is the frame being read
	buf   []byte
	err   error // why the stream ended; nil while it runs
	endCh chan struct{}
}

// frame is one command's part of one stream.
type frame struct {
	end []byte // end marker; followed by "x<code>\n" or "e\n"
	// abort, in a batch, is the batch's own end marker: seen before end,
	// the batch stopped before this command finished (or ran).
	abort  []byte
	pid    []byte    // stderr only: PID marker, followed by "<pid>\n"
	w      io.Writer // where the command's bytes go
	code   int
	p      int
	err    error
	done   chan struct{}
	gotPID chan struct{}
	pidMu  sync.Mutex
}

func (f *frame) pidValue() int {
	f.pidMu.Lock()
	defer f.pidMu.Unlock()
	return f.p
}

func newFramer(r io.Reader) *framer {
	fr := &framer{endCh: make(chan struct{})}
	go fr.loop(r)
	return fr
}

func (fr *framer) ended() bool {
	select {
	case <-fr.endCh:
		return true
	default:
		return false
	}
}

// expect queues f after the frames already expected.
func (fr *framer) expect(f *frame) *frame {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if fr.err != nil {
		f.err = fr.err
		close(f.done)
		return f
	}
	fr.queue = append(fr.queue, f)
	return f
}

func (fr *framer) loop(r io.Reader) {
	b := make([]byte, 32<<10)
	for {
		n, err := r.Read(b)
		fr.mu.Lock()
		if n > 0 {
			fr.buf = append(fr.buf, b[:n]...)
			fr.process()
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			fr.err = fmt.Errorf("shell stream ended: %w", err)
			for i, f := range fr.queue {
				if i == 0 {
					// What was held back as a possible marker was output.
					_, _ = f.w.Write(fr.buf)
					fr.buf = nil
				}
				f.err = fr.err
				close(f.done)
			}
			fr.queue = nil
			close(fr.endCh)
			fr.mu.Unlock()
			return
		}
		fr.mu.Unlock()
	}
}

// maxMarkerTail is the longest "x<code>\n" or "<pid>\n" after a marker.
const maxMarkerTail = 24

// errBatchStopped: a batch's end came before a command's own end.
var errBatchStopped = errors.New("the batch stopped before this command finished")

// process passes on what is certainly output and cuts the markers out.
func (fr *framer) process() {
	for {
		if len(fr.queue) == 0 {
			// Output between commands (a background process of an earlier
			// command): no command owns it.
			fr.buf = fr.buf[:0]
			return
		}
		f := fr.queue[0]
		i, isPID := bytes.Index(fr.buf, f.end), false
		if f.pid != nil && f.pidValue() == 0 {
			if j := bytes.Index(fr.buf, f.pid); j >= 0 && (i < 0 || j < i) {
				i, isPID = j, true
			}
		}
		if f.abort != nil {
			if j := bytes.Index(fr.buf, f.abort); j >= 0 && (i < 0 || j < i) {
				// The batch ended first: this frame gets what came before,
				// and the batch's marker is left for the frames after it.
				_, _ = f.w.Write(fr.buf[:j])
				fr.buf = append(fr.buf[:0], fr.buf[j:]...)
				fr.fail(errBatchStopped)
				continue
			}
		}
		if i < 0 {
			// Hold back what could be the start of a marker.
			keep := max(len(f.end), len(f.abort)) - 1
			if n := len(fr.buf) - keep; n > 0 {
				_, _ = f.w.Write(fr.buf[:n])
				fr.buf = append(fr.buf[:0], fr.buf[n:]...)
			}
			return
		}
		if i > 0 {
			_, _ = f.w.Write(fr.buf[:i])
		}
		marker := f.end
		if isPID {
			marker = f.pid
		}
		rest := fr.buf[i+len(marker):]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			fr.buf = append(fr.buf[:0], fr.buf[i:]...)
			if len(rest) > maxMarkerTail {
				fr.fail(fmt.Errorf("malformed frame marker"))
			}
			return
		}
		tail := string(rest[:nl])
		fr.buf = append(fr.buf[:0], rest[nl+1:]...)
		switch {
		case isPID:
			n, _ := strconv.Atoi(tail)
			f.pidMu.Lock()
			f.p = max(n, 1)
			f.pidMu.Unlock()
			close(f.gotPID)
		case tail == "e":
			fr.finish()
		case len(tail) > 1 && tail[0] == 'x':
			code, err := strconv.Atoi(tail[1:])
			if err != nil {
				fr.fail(fmt.Errorf("malformed exit code %q", tail))
				return
			}
			f.code = code
			fr.finish()
		default:
			fr.fail(fmt.Errorf("malformed frame marker %q", tail))
			return
		}
	}
}

func (fr *framer) finish() {
	close(fr.queue[0].done)
	fr.queue[0] = nil
	fr.queue = fr.queue[1:]
}

func (fr *framer) fail(err error) {
	fr.queue[0].err = err
	fr.finish()
}
