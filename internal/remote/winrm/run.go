package winrm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	mw "github.com/masterzen/winrm"

	"onboard/internal/remote"
)

// stdinChunk is the most stdin one Send carries: base64 makes it 4/3 larger,
// and the envelope must stay under the MaxEnvelopeSize we announce (150
// KiB). The library's own splitting ignores the base64 growth.
const stdinChunk = 64 << 10

// Run runs cmd.Command in the shared shell and returns its exit code. Stdin
// is sent and then closed (End=true; with no Stdin at once), so a command
// that reads stdin never waits for more. cmd.Privileged is ignored: WinRM
// gives the login's full token, so the login must be an administrator.
func (c *Client) Run(ctx context.Context, cmd remote.Cmd) (int, error) {
	if strings.TrimSpace(cmd.Command) == "" {
		return -1, c.errorf("run: empty command")
	}
	c.lastUse.Store(time.Now().UnixNano())
	defer func() { c.lastUse.Store(time.Now().UnixNano()) }()
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return -1, c.errorf("wait for a free command slot: %w", ctx.Err())
	}
	var stale *shell
	for attempt := 0; ; attempt++ {
		sh, err := c.acquireShell(ctx, stale)
		if err != nil {
			<-c.slots
			return -1, err
		}
		r, err := c.start(ctx, sh, cmd.Command)
		if err == nil {
			c.mu.Lock()
			sh.commands++
			c.mu.Unlock()
			// The shell is free for deletion once Run returns: a Signal
			// that finds it gone does no harm. The slot is held until
			// the command's Signal is answered.
			defer c.releaseShell(sh)
			return c.wait(ctx, r, cmd, func() { <-c.slots })
		}
		c.releaseShell(sh)
		var f *Fault
		if errors.As(err, &f) && (f.ShellGone() || f.Quota()) && ctx.Err() == nil {
			// The server dropped the shell (restart, idle timeout) or
			// its commands hit a quota: a new shell cures both (the
			// old one deleted first), and no command has run yet, so
			// this is safe to repeat once.
			c.retireShell(sh, f.ShellGone(), f.Error())
			if attempt == 0 {
				stale = sh
				continue
			}
		}
		<-c.slots
		return -1, c.requestFailed(ctx, "start command", err)
	}
}

// running is one started command.
type running struct {
	sh     *shell
	cmd    *mw.Command
	t      *transport
	cancel context.CancelFunc // aborts every request of the command
	stop   func()             // unhooks cancel from the caller's ctx and Close
}

// start sends Command. Its requests, and those of the library's Receive
// loop, carry a context of their own: cancelled when ctx ends or the client
// closes, but without ctx's deadline (the library polls again at once on a
// request that failed with a timeout, forever).
func (c *Client) start(ctx context.Context, sh *shell, line string) (*running, error) {
	reqCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopCaller := context.AfterFunc(ctx, cancel)
	stopLife := context.AfterFunc(c.life, cancel)
	stop := func() {
		stopCaller()
		stopLife()
		cancel()
	}
	t := c.transport(reqCtx, &pollGuard{})
	// The library puts the command in a CDATA section as it is: split a
	// "]]>" in it across two sections.
	line = strings.ReplaceAll(line, "]]>", "]]]]><![CDATA[>")
	// The library's loop watches its own ctx only between polls and then
	// sends Signal through the (cancelled) transport: give it none, and
	// cancel through reqCtx instead.
	lcmd, err := c.lib(t).NewShell(sh.id).ExecuteWithContext(context.Background(), line)
	if err != nil {
		stop()
		return nil, err
	}
	return &running{sh: sh, cmd: lcmd, t: t, cancel: cancel, stop: stop}, nil
}

// wait feeds stdin, drains stdout and stderr, and waits for the exit code or
// for ctx. release frees the command slot once the command is really over on
// the server (after its Signal).
func (c *Client) wait(ctx context.Context, r *running, cmd remote.Cmd, release func()) (int, error) {
	// The gates stop the copies from touching the caller's writers and
	// reader after Run returns (on cancellation Run does not wait for
	// the library's loop to end).
	stdout, stderr := &remote.GatedWriter{W: cmd.Stdout}, &remote.GatedWriter{W: cmd.Stderr}
	var stdin io.Reader // nil: just End
	gate := &remote.GatedReader{R: cmd.Stdin}
	if cmd.Stdin != nil {
		stdin = gate
	}
	finish := func() {
		stdout.Shut()
		stderr.Shut()
		gate.Shut()
	}
	var copies sync.WaitGroup
	copies.Add(2)
	go func() { defer copies.Done(); drain(stdout, r.cmd.Stdout) }()
	go func() { defer copies.Done(); drain(stderr, r.cmd.Stderr) }()
	done := make(chan struct{})
	go func() {
		r.cmd.Wait()
		copies.Wait()
		close(done)
	}()
	stdinFailed := make(chan error, 1)
	go func() {
		err := sendStdin(r.cmd, stdin, r.t)
		var re *readError
		if errors.As(err, &re) {
			stdinFailed <- err
		} else if err != nil && r.t.ctx.Err() == nil {
			// The command may have ended without reading it; if not, the
			// Receive loop reports the real trouble.
			c.log.Debug("winrm stdin not delivered", "err", err)
		}
	}()

	var abortErr error
	select {
	case <-done:
		finish()
		code, err := r.cmd.ExitCode(), r.cmd.Error()
		// Signal terminate even after Done: Windows keeps a finished
		// command's resources until told. It goes out behind the caller.
		c.cleanup(r, nil, release)
		if err != nil {
			return -1, c.commandFailed(ctx, r, err)
		}
		return code, nil
	case err := <-stdinFailed:
		abortErr = c.errorf("command aborted: %w", err)
	case <-ctx.Done():
		abortErr = c.errorf("command cancelled: %w", context.Cause(ctx))
	}
	// Return at once: the in-flight requests are aborted, and Signal
	// (terminate) goes out behind the caller.
	r.cancel()
	finish()
	c.cleanup(r, done, release)
	return -1, abortErr
}

// cleanup signals terminate to r's command in the background, then waits
// for the library's loop (if done is set) and releases.
func (c *Client) cleanup(r *running, done <-chan struct{}, release func()) {
	c.bg.Go(func() {
		defer release()
		defer r.stop()
		// Close sends Signal through r.t, which gives Signal a context of
		// its own (cleanupTimeout), not the cancelled one.
		if err := r.cmd.Close(); err != nil {
			c.log.Debug("winrm signal terminate failed", "err", err)
		}
		if done != nil {
			<-done
		}
	})
}

// commandFailed classifies the error that ended a started command's output
// loop: the command's outcome is unknown.
func (c *Client) commandFailed(ctx context.Context, r *running, err error) error {
	var f *Fault
	var ne *netError
	switch {
	case ctx.Err() != nil:
		return c.errorf("command cancelled: %w", context.Cause(ctx))
	case errors.Is(err, ErrPollLoop):
		return c.errorf("command abandoned: %w", err)
	case errors.As(err, &f) && f.ShellGone():
		// A Receive's InvalidSelectors may mean the command, not the
		// shell: delete the shell anyway (gone=false), to be sure.
		c.retireShell(r.sh, false, f.Error())
		return c.errorf("the shell vanished while the command ran (dropped, expired or the service restarted); its outcome is unknown: %w: %w", f, remote.ErrConnectionLost)
	case errors.As(err, &ne) && errors.Is(ne.kind, errCancelled):
		return c.errorf("command: client closed: %w", net.ErrClosed)
	case errors.As(err, &ne) && (errors.Is(ne.kind, remote.ErrAuth) || errors.Is(ne.kind, remote.ErrHostKey)):
		return c.requestFailed(ctx, "receive output", err)
	case errors.As(err, &ne):
		// A refused reconnect is a lost connection too: the command ran.
		return &causedError{
			msg:    fmt.Sprintf("%s: connection lost while the command ran, its outcome is unknown: %s: %v", c.where(), ne.msg, remote.ErrConnectionLost),
			causes: []error{remote.ErrConnectionLost, err},
		}
	default:
		return c.requestFailed(ctx, "receive output", err)
	}
}

// drain copies src to w, and the rest of src nowhere if w fails: the
// library's Receive loop blocks until its output is read.
func drain(w io.Writer, src io.Reader) {
	if _, err := io.Copy(w, src); err != nil {
		_, _ = io.Copy(io.Discard, src)
	}
}

// readError is a failure to read the caller's stdin.
type readError struct{ err error }

func (e *readError) Error() string { return "read stdin: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// sendStdin sends r in chunks, then End=true. A nil r is just End.
func sendStdin(cmd *mw.Command, r io.Reader, t *transport) error {
	if r != nil {
		buf := make([]byte, stdinChunk)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := cmd.Stdin.Write(buf[:n]); werr != nil {
					// The library's Write reports io.ErrShortWrite and
					// drops the cause; the transport kept it.
					if terr := t.firstErr(); terr != nil {
						werr = terr
					}
					return fmt.Errorf("send stdin: %w", werr)
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return &readError{err}
			}
		}
	}
	if err := cmd.Stdin.Close(); err != nil {
		return fmt.Errorf("close stdin: %w", err)
	}
	return nil
}
