// Command onboard sets up a new hire's account and workstation from a YAML
// playbook: it plans, applies, verifies and reports.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes, documented in README.md and the root command's help
// (rootHelp); TestExitCodesDocumented holds the three together.
const (
	exitOK          = 0
	exitFailed      = 1   // one or more steps failed, or apply not confirmed
	exitInvalid     = 2   // invalid playbook, inventory or usage
	exitUnreachable = 3   // one or more hosts could not be reached
	exitChanges     = 4   // plan --detailed-exitcode: changes are pending
	exitDrift       = 5   // audit: a completed setup changed since its handover
	exitTampered    = 6   // the journal's hash chain is broken: verify reports it, resume and audit refuse
	exitInterrupted = 130 // Ctrl-C or SIGTERM: the run stopped early
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// run is main without the process: testable end to end.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	args, err := normaliseArgs(root, args)
	if err != nil {
		fmt.Fprintln(stderr, "onboard:", err)
		return exitInvalid
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if asExit(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "onboard:", ee.err)
		}
		return ee.code
	}
	// Cobra's own errors: the arguments do not fit the command.
	if cmd != nil {
		fmt.Fprintf(stderr, "onboard: %s: %v (usage: %s)\n", cmd.CommandPath(), err, cmd.UseLine())
		return exitInvalid
	}
	fmt.Fprintln(stderr, "onboard:", err)
	return exitInvalid
}
