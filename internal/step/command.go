package step

import (
	"context"
	"fmt"

	"onboard/internal/codetemplate"
	"onboard/internal/plan"
	"onboard/internal/shell"
)

// shCode is a command's text preceded by the assignments of its values:
// one text, so that sudo's sh -c runs both.
func shCode(values []string, code string) string {
	return codetemplate.Prelude(values) + code
}

// Command runs a command, guarded by creates or unless so that a re-run
// does nothing once the work is done.
type Command struct{}

func (Command) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	c := s.Command
	if c.Creates != "" {
		out, err := x.Run(ctx, shell.Cmd("test -e", c.Creates), c.Privileged, "")
		if err != nil {
			return State{}, err
		}
		if out.ExitCode != 0 {
			return missing(c.Creates + " does not exist yet"), nil
		}
		if c.Unless == "" {
			return inPlace(c.Creates + " exists"), nil
		}
	}
	if c.Unless != "" {
		out, err := x.Run(ctx, shCode(c.Values, c.Unless), c.Privileged, "")
		if err != nil {
			return State{}, err
		}
		if out.ExitCode != 0 {
			return missing(fmt.Sprintf("unless command exited %d", out.ExitCode)), nil
		}
	}
	return inPlace("already done"), nil
}

func (Command) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	out, err := x.Must(ctx, "command", shCode(s.Command.Values, s.Command.Run), s.Command.Privileged)
	if err != nil {
		return "", err
	}
	what := "ran " + s.Command.Run
	if t := Tail(out.Combined(), 200); t != "" {
		what += ": " + t
	}
	return what, nil
}
