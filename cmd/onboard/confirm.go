package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"onboard/internal/plan"
)

// interactive tells whether a person is at the keyboard: stdin and stdout
// both terminals. Only then does apply ask; a pipe, a file, CI or a
// service never gets a question it cannot answer.
func (o *options) interactive() bool {
	in, ok := o.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return false
	}
	out, ok := o.stdout.(*os.File)
	return ok && term.IsTerminal(int(out.Fd()))
}

// pending tells whether the checked plan would change anything (or could
// not tell): with nothing to change there is nothing to confirm.
func pending(p *plan.Plan) bool {
	for _, s := range p.Steps {
		if s.Action != plan.ActionNone {
			return true
		}
	}
	return false
}

// confirm asks, on a terminal, before apply changes anything, as terraform
// apply does: only "yes" goes on. Without a terminal, or with --yes, it
// does not ask.
func (o *options) confirm(ctx context.Context, p *plan.Plan) error {
	if o.yes || !o.interactive() || !pending(p) {
		return nil
	}
	if o.output != "text" {
		// The plan was not shown, so there is nothing to say yes to.
		return invalid(errors.New("-o json on a terminal applies only with --yes: the plan is not shown to confirm (onboard plan -o json shows it)"))
	}
	fmt.Fprint(o.stdout, "Apply these changes? Only yes applies them. (yes/no) ")
	answer := make(chan string, 1)
	go func() {
		// Left blocked on the terminal if the run is interrupted; the
		// process ends soon after.
		line, err := bufio.NewReader(o.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			line = ""
		}
		answer <- strings.TrimSpace(line)
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(o.stdout)
		return &exitError{exitInterrupted, errors.New("interrupted before applying: nothing was changed")}
	case a := <-answer:
		if a != "yes" {
			return &exitError{exitFailed, fmt.Errorf("not applied (the answer was %q, not yes): nothing was changed", a)}
		}
	}
	fmt.Fprintln(o.stdout)
	return nil
}
