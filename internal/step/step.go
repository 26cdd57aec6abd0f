// Package step implements the step kinds: for each, how to check whether a
// host is already in the desired state, and how to apply it. The engine
// verifies after apply by checking again (or by a kind's own Verify).
package step

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	"onboard/internal/result"
	"onboard/internal/secret"
)

// State is what a check found.
type State struct {
	InPlace bool
	// Action is what apply would do (create or update) when not in place.
	Action plan.Action
	// Reason says what differs ("acme-chat 3.0.0 installed, want 3.1.0"),
	// or, for a check, what it saw (the addresses a name resolved to).
	Reason string
	// CannotRun: the check could not be made on this host (its tool is
	// missing: exit 126 or 127). It is never a pass; the engine reports it
	// as a failure of class result.ClassCannotRun.
	CannotRun bool
	// Evidence is what a check saw, field by field, for an audit to
	// compare with a later look (Reason says it in words).
	Evidence []result.Fact
}

// Kind is one step kind.
type Kind interface {
	// Check reads the host and says whether the step is in place. It never
	// changes anything.
	Check(ctx context.Context, x *Exec, s *plan.Step) (State, error)
	// Apply makes the change and says what it changed, in words.
	Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error)
}

// Verifier is implemented by kinds whose proof after apply is more than
// checking again.
type Verifier interface {
	Verify(ctx context.Context, x *Exec, s *plan.Step) error
}

// Batcher is implemented by kinds that can apply several steps of one host
// in one transaction (apt installs several packages in one run of
// apt-get). The engine hands it steps that were each checked and found not
// in place, whose dependencies are met; it still verifies each step on its
// own afterwards.
type Batcher interface {
	// ApplyBatch applies steps (all of one host, all of this kind) and
	// returns one result per step, in order. It calls the target's
	// Invalidate once it has changed the host, before reading it again.
	ApplyBatch(ctx context.Context, x *Exec, steps []*plan.Step) []Applied
}

// Applied is what applying one step of a batch did: Changed in words, or
// the error that step failed with.
type Applied struct {
	Changed string
	Err     error
}

// Kinds maps plan step kinds to their implementation.
var Kinds = map[string]Kind{
	plan.KindPackage: Package{},
	plan.KindPrinter: Printer{},
	plan.KindCommand: Command{},
	plan.KindFile:    File{},
	plan.KindCheck:   Check{},

	plan.KindAccount:    Account{},
	plan.KindMembership: Membership{},
	plan.KindActivate:   Activate{},
	plan.KindComputer:   Computer{},
	plan.KindJoin:       Join{},

	plan.KindMembershipRemove: MembershipRemove{},
	plan.KindAccountDisable:   AccountDisable{},
	plan.KindPasswordScramble: PasswordScramble{},
	plan.KindAccountMove:      AccountMove{},
	plan.KindAccountExpire:    AccountExpire{},
	plan.KindComputerDisable:  ComputerDisable{},
	plan.KindAccountEnable:    AccountEnable{},
	plan.KindAccountDelete:    AccountDelete{},

	plan.KindWinSoftware: WinSoftware{},
	plan.KindWinPrinter:  WinPrinter{},
	plan.KindLocalGroup:  LocalGroup{},
	plan.KindWinJoin:     WinJoin{},
	plan.KindWinCommand:  WinCommand{},
	plan.KindWinFile:     WinFile{},
	plan.KindReboot:      Reboot{},

	plan.KindPackageRemove:     PackageRemove{},
	plan.KindPrinterRemove:     PrinterRemove{},
	plan.KindWinSoftwareRemove: WinSoftwareRemove{},
	plan.KindWinPrinterRemove:  WinPrinterRemove{},
	plan.KindLocalGroupRemove:  LocalGroupRemove{},
	plan.KindLoginRevoke:       LoginRevoke{},
	plan.KindHomeArchive:       HomeArchive{},
}

// Target is one host as steps see it: its plan entry and its connection,
// shared by all steps of the host during a run.
type Target struct {
	Host *plan.Host
	Comm remote.Communicator

	once map[string]*onceResult
	mu   sync.Mutex

	// cache holds reads of the host shared by several checks (the dpkg
	// database), dropped by Invalidate whenever something changes.
	cacheMu sync.Mutex
	cache   map[string]any
	// probes are prefetched reads (Prefetch); epoch counts Invalidates, so
	// that a batch that ran across one keeps nothing. Their own lock: a
	// Cached read takes a probe while cacheMu is held.
	probeMu    sync.Mutex
	probes     map[string]*probed
	prefetched bool
	epoch      int
}

// Cached returns what read returns for key, reading the host at most once
// until the next Invalidate. Errors are not kept.
func (t *Target) Cached(key string, read func() (any, error)) (any, error) {
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	if v, ok := t.cache[key]; ok {
		return v, nil
	}
	v, err := read()
	if err != nil {
		return nil, err
	}
	if t.cache == nil {
		t.cache = map[string]any{}
	}
	t.cache[key] = v
	return v, nil
}

// Invalidate drops every cached read: the engine calls it around each
// apply on the host and before the handover re-check, so that a check
// never sees the host as it was before a change.
func (t *Target) Invalidate() {
	t.cacheMu.Lock()
	t.cache = nil
	t.cacheMu.Unlock()
	t.probeMu.Lock()
	t.probes = nil
	t.prefetched = false
	t.epoch++
	t.probeMu.Unlock()
}

type onceResult struct {
	done chan struct{}
	err  error
}

// Once runs fn at most once per run on this host under key (for example
// refreshing the package index), and returns its error to every caller.
func (t *Target) Once(key string, fn func() error) error {
	t.mu.Lock()
	if t.once == nil {
		t.once = map[string]*onceResult{}
	}
	r, ok := t.once[key]
	if !ok {
		r = &onceResult{done: make(chan struct{})}
		t.once[key] = r
		t.mu.Unlock()
		r.err = fn()
		if r.err != nil {
			// A failed refresh may be retried by the next step.
			t.mu.Lock()
			delete(t.once, key)
			t.mu.Unlock()
		}
		close(r.done)
		return r.err
	}
	t.mu.Unlock()
	<-r.done
	return r.err
}

// Exec runs commands for one attempt of one step, recording the time spent
// remotely and the last failed command for the report.
type Exec struct {
	T *Target    // the host, for steps with one
	D *DirTarget // the directory, for steps with one
	// Remote is the time spent waiting on the host or directory.
	Remote time.Duration
	// Probed lets Run answer from the host's prefetched reads (see
	// Target.Prefetch). The engine sets it for checks only: a read made
	// while applying must see the host as it is now.
	Probed bool
	// NoRetry makes checks try once, without their retries: in a dry run
	// nothing has been applied yet, so waiting for it proves nothing.
	NoRetry bool
}

// Out is a finished command.
type Out struct {
	Command  string
	Stdout   string
	Stderr   string
	ExitCode int
}

// Combined is stdout and stderr together, trimmed.
func (o Out) Combined() string {
	return strings.TrimSpace(strings.TrimSpace(o.Stdout) + "\n" + strings.TrimSpace(o.Stderr))
}

// CommandError is a remote command that exited non-zero where success was
// needed. The engine reports its host, command, exit code and output.
type CommandError struct {
	Host string
	Out
	Msg string
}

func (e *CommandError) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = "command failed"
	}
	return fmt.Sprintf("%s on %s: exit code %d: %s", msg, e.Host, e.ExitCode, Tail(e.Combined(), 400))
}

// Tail returns the last n bytes of s (on a line boundary where possible),
// scrubbed of secrets.
func Tail(s string, n int) string {
	s = strings.TrimSpace(secret.Scrub(s))
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "…" + s
}

// Run runs a command and returns its output whatever its exit code. The
// error is only for transport failures.
func (x *Exec) Run(ctx context.Context, cmd string, privileged bool, stdin string) (Out, error) {
	if x.Probed && stdin == "" && x.T != nil {
		if out, ok := x.T.takeProbe(cmd, privileged); ok {
			return out, nil
		}
	}
	var so, se bytes.Buffer
	c := remote.Cmd{Command: cmd, Privileged: privileged, Stdout: &so, Stderr: &se}
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	start := time.Now()
	code, err := x.T.Comm.Run(ctx, c)
	x.Remote += time.Since(start)
	out := Out{Command: cmd, Stdout: so.String(), Stderr: se.String(), ExitCode: code}
	if err != nil {
		return out, fmt.Errorf("%s: run %q: %w", x.T.Host.Name, cmd, err)
	}
	return out, nil
}

// Must runs a command that must exit 0; otherwise it returns a
// *CommandError with msg.
func (x *Exec) Must(ctx context.Context, msg, cmd string, privileged bool) (Out, error) {
	out, err := x.Run(ctx, cmd, privileged, "")
	if err != nil {
		return out, err
	}
	if out.ExitCode != 0 {
		return out, &CommandError{Host: x.T.Host.Name, Out: out, Msg: msg}
	}
	return out, nil
}

// Upload writes a file on the host.
func (x *Exec) Upload(ctx context.Context, path, content string, mode uint32, privileged bool) error {
	start := time.Now()
	err := x.T.Comm.Upload(ctx, path, strings.NewReader(content), fsMode(mode), privileged)
	x.Remote += time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: upload %s: %w", x.T.Host.Name, path, err)
	}
	return nil
}

// ownedUploader is a transport that can give an uploaded file its owner
// and group before it replaces the destination (SSH).
type ownedUploader interface {
	UploadOwned(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, owner, group string, privileged bool) error
}

// UploadOwned writes a file on the host with an owner and a group.
func (x *Exec) UploadOwned(ctx context.Context, path, content string, mode uint32, owner, group string, privileged bool) error {
	if owner == "" && group == "" {
		return x.Upload(ctx, path, content, mode, privileged)
	}
	u, ok := x.T.Comm.(ownedUploader)
	if !ok {
		return fmt.Errorf("%s: upload %s: this transport cannot set a file's owner or group", x.T.Host.Name, path)
	}
	start := time.Now()
	err := u.UploadOwned(ctx, path, strings.NewReader(content), fsMode(mode), owner, group, privileged)
	x.Remote += time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: upload %s: %w", x.T.Host.Name, path, err)
	}
	return nil
}

func missing(reason string) State { return State{Action: plan.ActionCreate, Reason: reason} }
func differs(reason string) State { return State{Action: plan.ActionUpdate, Reason: reason} }
func inPlace(reason string) State {
	return State{InPlace: true, Action: plan.ActionNone, Reason: reason}
}

// fact is one field of a check's evidence.
func fact(key, value string) result.Fact { return result.Fact{Key: key, Value: value} }

// seen gives st the fields of what a check saw.
func (st State) seen(facts ...result.Fact) State {
	st.Evidence = append(st.Evidence, facts...)
	return st
}
