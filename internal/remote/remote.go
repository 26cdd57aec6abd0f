// Package remote defines how onboard talks to a workstation: one small
// interface to run a command and upload a file, implemented per transport
// (SSH now, WinRM later), in the spirit of Packer's communicator.
package remote

import (
	"context"
	"errors"
	"io"
	"io/fs"
)

// Cmd is one command to run on a host. Command is a complete shell command
// line; every value in it must already be quoted (see package shell).
type Cmd struct {
	Command string
	// Privileged runs the command as root (sudo on SSH hosts when the login
	// user is not root).
	Privileged bool
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
}

// Communicator runs commands on one host. Implementations are safe for
// concurrent use and reuse one connection for all calls.
type Communicator interface {
	// Run runs cmd and returns its exit code. A non-nil error means the
	// command could not be run or its outcome is unknown (transport failure),
	// never that it exited non-zero.
	Run(ctx context.Context, cmd Cmd) (exitCode int, err error)
	// Upload writes the content of r to path with the given mode,
	// atomically (a reader never sees a half-written file).
	Upload(ctx context.Context, path string, r io.Reader, mode fs.FileMode, privileged bool) error
	Close() error
}

// BatchRunner is implemented by transports that can run several commands
// in one round trip (the SSH long-lived shell). It is for reads: commands
// without stdin, each run in order and on its own, none depending on
// another's effect. Their outputs go to each Cmd's writers.
type BatchRunner interface {
	// RunBatch returns each command's exit code, in order. A non-nil error
	// means some commands' outcomes are unknown (their code is -1, or the
	// slice is nil).
	RunBatch(ctx context.Context, cmds []Cmd) ([]int, error)
}

// AsBatchRunner returns c's BatchRunner, looking through wrappers that
// have Unwrap() Communicator (a pooled connection).
func AsBatchRunner(c Communicator) (BatchRunner, bool) {
	for c != nil {
		if b, ok := c.(BatchRunner); ok {
			return b, true
		}
		u, ok := c.(interface{ Unwrap() Communicator })
		if !ok {
			return nil, false
		}
		c = u.Unwrap()
	}
	return nil, false
}

// Sentinel errors that transports wrap, so the engine can tell a fault worth
// retrying from one that is not.
var (
	// ErrUnreachable: the host could not be reached (dial failed, timed out).
	ErrUnreachable = errors.New("host unreachable")
	// ErrHostKey: the host presented an unknown or changed host key.
	ErrHostKey = errors.New("host key verification failed")
	// ErrAuth: the host refused our credentials.
	ErrAuth = errors.New("authentication failed")
	// ErrConnectionLost: the connection dropped while a command ran; the
	// command's outcome is unknown.
	ErrConnectionLost = errors.New("connection lost")
)

// IsTransient reports whether err is a fault that a bounded retry may cure
// (a dropped connection, a timeout reaching the host). Authentication and
// host key failures are never transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, ErrHostKey) || errors.Is(err, ErrAuth) {
		return false
	}
	return errors.Is(err, ErrUnreachable) || errors.Is(err, ErrConnectionLost)
}
