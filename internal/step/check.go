package step

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/shell"
)

// Check is a declarative check: it has no apply, only a verdict.
type Check struct{}

// ErrCheckOnly is returned by Apply: a check that does not pass cannot be
// made to pass by onboard.
var ErrCheckOnly = errors.New("check failed")

// Check runs the check once, or, with a retry, until it passes or the
// retry's time is up; the reason then says how many tries it took.
func (Check) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	c := s.Check
	if c.Retry == nil || x.NoRetry {
		return checkOnce(ctx, x, c)
	}
	start := time.Now()
	limit, every := time.Duration(c.Retry.Timeout), time.Duration(c.Retry.Interval)
	for n := 1; ; n++ {
		st, err := checkOnce(ctx, x, c)
		if err != nil {
			return st, err
		}
		took := time.Since(start).Round(time.Millisecond)
		if st.InPlace {
			st.Reason += fmt.Sprintf(" (passed on try %d, after %s)", n, took)
			return st, nil
		}
		// A missing tool does not appear by waiting.
		if st.CannotRun || time.Since(start)+every > limit {
			st.Reason += fmt.Sprintf(" (still so after %d tries in %s; retried for up to %s)", n, took, limit)
			return st, nil
		}
		select {
		case <-ctx.Done():
			return State{}, fmt.Errorf("check %s: %d tries in %s, none passed; last: %s: %w", c.Name, n, took, st.Reason, ctx.Err())
		case <-time.After(every):
		}
		// The next try reads the host afresh (the dpkg database, CUPS).
		x.T.Invalidate()
	}
}

// checkOnce makes one try of a check. A tool missing on the host makes
// the check one that cannot run, whichever command found it missing.
func checkOnce(ctx context.Context, x *Exec, c *plan.CheckSpec) (State, error) {
	st, err := checkKind(ctx, x, c)
	var ce *CommandError
	if errors.As(err, &ce) && (ce.ExitCode == 126 || ce.ExitCode == 127) {
		return inWords(toolMissing(ce.Out)), nil
	}
	return inWords(st), err
}

// inWords gives a check that records no fields of its own (command, file,
// user, login...) its words as its one field, "evidence", taken before a
// retry adds how many tries it took: an audit compares what was seen,
// not how long it took to see it.
func inWords(st State) State {
	if len(st.Evidence) == 0 && st.Reason != "" {
		st.Evidence = []result.Fact{fact("evidence", st.Reason)}
	}
	return st
}

// toolMissing is the state of a check whose command the host could not
// run: the shell's exit 127 (not found) or 126 (not executable).
func toolMissing(out Out) State {
	what := "a command it needs is not on the host"
	if out.ExitCode == 126 {
		what = "a command it needs cannot be executed on the host"
	}
	return State{CannotRun: true, Action: plan.ActionNone,
		Reason: fmt.Sprintf("cannot run: %s (exit %d: %s)", what, out.ExitCode, oneLine(Tail(out.Combined(), 200)))}
}

// oneLine joins the lines of s, so that evidence reads on one report line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func checkKind(ctx context.Context, x *Exec, c *plan.CheckSpec) (State, error) {
	if x.T.Host != nil && x.T.Host.OS == "windows" {
		return winCheckKind(ctx, x, c)
	}
	switch {
	case c.DNS != nil:
		return dnsCheck(ctx, x, c.DNS)
	case c.TCP != nil:
		return tcpCheck(ctx, x, c.TCP)
	case c.HTTP != nil:
		return httpCheck(ctx, x, c.HTTP)
	case c.Service != nil:
		return serviceCheck(ctx, x, c.Service)
	case c.User != nil:
		return userCheck(ctx, x, c.User)
	case c.Group != nil:
		return groupCheck(ctx, x, c.Group)
	case c.Login != nil:
		return loginCheck(ctx, x, c.Login)
	case c.Command != nil:
		return commandCheck(ctx, x, c.Command)
	case c.File != nil:
		return fileCheck(ctx, x, c.File)
	case c.Package != nil:
		v, err := Package{}.installed(ctx, x, &plan.PackageSpec{Package: c.Package.Name})
		if err != nil {
			return State{}, err
		}
		st, err := packageCheck(ctx, x, c.Package, v)
		shown := v
		if v == "" {
			shown = "not installed"
		}
		return st.seen(fact("version", shown)), err
	case c.WindowsSecurity != nil:
		return State{}, fmt.Errorf("check %s: windows_security reads Windows' own cmdlets: it runs on Windows hosts only", c.Name)
	case c.Printer != nil:
		st, err := checkPrinter(ctx, x, c.Printer.Name)
		if err != nil {
			return State{}, err
		}
		switch {
		case st.exists != c.Printer.Exists:
			return differs(fmt.Sprintf("queue %s exists: %v, want %v", c.Printer.Name, st.exists, c.Printer.Exists)), nil
		case c.Printer.Default && !st.isDefault:
			return differs(c.Printer.Name + " is not the default printer"), nil
		}
		return inPlace("queue " + c.Printer.Name + " is as wanted"), nil
	}
	return State{}, fmt.Errorf("check %s has nothing to check", c.Name)
}

// packageCheck judges the version v of a package installed ("" when
// not) against the check.
func packageCheck(ctx context.Context, x *Exec, c *plan.PackageCheck, v string) (State, error) {
	switch {
	case !c.Installed && v != "":
		return differs(fmt.Sprintf("%s %s is installed, want it absent", c.Name, v)), nil
	case !c.Installed:
		return inPlace(c.Name + " is absent"), nil
	case v == "":
		return missing(c.Name + " is not installed"), nil
	}
	if op, want := ParseVersionWant(c.Version); op != "" {
		return versionCheck(ctx, x, c.Name, v, op, want)
	}
	if !VersionMatches(v, c.Version) {
		return differs(fmt.Sprintf("%s %s is installed, want %s", c.Name, v, c.Version)), nil
	}
	return inPlace(fmt.Sprintf("%s %s is installed", c.Name, v)), nil
}

func (Check) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	return "", ErrCheckOnly
}

// MatchOutput tests output against each pattern: /regexp/ or a substring.
// It returns the first pattern that does not match, or "".
func MatchOutput(out string, patterns []string) (string, error) {
	for _, p := range patterns {
		if len(p) > 1 && strings.HasPrefix(p, "/") && strings.HasSuffix(p, "/") {
			re, err := regexp.Compile(p[1 : len(p)-1])
			if err != nil {
				return p, err
			}
			if !re.MatchString(out) {
				return p, nil
			}
			continue
		}
		if !strings.Contains(out, p) {
			return p, nil
		}
	}
	return "", nil
}

func commandCheck(ctx context.Context, x *Exec, c *plan.CommandCheck) (State, error) {
	out, err := x.Run(ctx, shCode(c.Values, c.Run), c.Privileged, "")
	if err != nil {
		return State{}, err
	}
	// A script (several lines) speaks for itself: its output is the
	// evidence; a one-line command is named, then what it printed.
	said := oneLine(Tail(out.Stdout, 300))
	if said == "" {
		said = oneLine(Tail(out.Combined(), 300))
	}
	what := fmt.Sprintf("%q", c.Run)
	script := strings.Contains(strings.TrimSpace(c.Run), "\n")
	if script {
		what = "the check's script"
	}
	switch {
	case out.ExitCode != c.ExitStatus && (out.ExitCode == 126 || out.ExitCode == 127):
		return toolMissing(out), nil
	case c.CannotTellExit != 0 && out.ExitCode == c.CannotTellExit:
		// The host cannot say (no block devices to read): never a pass.
		return State{CannotRun: true, Action: plan.ActionNone, Reason: "cannot tell: " + orExit(said, out.ExitCode)}, nil
	case c.NotApplicableExit != 0 && out.ExitCode == c.NotApplicableExit:
		return inPlace("not applicable: " + orExit(said, out.ExitCode)), nil
	case out.ExitCode != c.ExitStatus && script:
		return differs(fmt.Sprintf("%s (exit %d, want %d)", orExit(said, out.ExitCode), out.ExitCode, c.ExitStatus)), nil
	case out.ExitCode != c.ExitStatus:
		return differs(fmt.Sprintf("%s exited %d, want %d: %s", what, out.ExitCode, c.ExitStatus, Tail(out.Combined(), 300))), nil
	}
	bad, err := MatchOutput(out.Stdout, c.Stdout)
	if err != nil {
		return State{}, err
	}
	if bad != "" {
		return differs(fmt.Sprintf("output of %s does not match %q: %s", what, bad, said)), nil
	}
	if script {
		return inPlace(orExit(said, out.ExitCode)), nil
	}
	if said == "" {
		return inPlace(fmt.Sprintf("%s exited %d", what, out.ExitCode)), nil
	}
	return inPlace(fmt.Sprintf("%s exited %d: %s", what, out.ExitCode, said)), nil
}

// orExit is what a script said, or its exit status when it said nothing.
func orExit(said string, code int) string {
	if said == "" {
		return fmt.Sprintf("the script exited %d and printed nothing", code)
	}
	return said
}

// headCmd reads the first MiB of a file: enough for the configuration
// files checks read. head replaces the shell that runs it (exec): one
// process on the host, not two.
func headCmd(p string) string { return "exec " + shell.Cmd("head -c 1048576", p) }

func fileCheck(ctx context.Context, x *Exec, c *plan.FileCheck) (State, error) {
	st, err := readStat(ctx, x, c.Path, statMetaCmd(c.Path))
	if err != nil {
		return State{}, err
	}
	if st.exists != c.Exists {
		return differs(fmt.Sprintf("%s exists: %v, want %v", c.Path, st.exists, c.Exists)), nil
	}
	if !st.exists {
		return inPlace(c.Path + " is absent"), nil
	}
	if c.Mode != "" && st.mode != NormMode(c.Mode) {
		return differs(fmt.Sprintf("%s mode is %s, want %s", c.Path, st.mode, NormMode(c.Mode))), nil
	}
	if c.Owner != "" && st.owner != c.Owner {
		return differs(fmt.Sprintf("%s owner is %s, want %s", c.Path, st.owner, c.Owner)), nil
	}
	if len(c.Contains) > 0 {
		out, err := x.Must(ctx, "read "+c.Path, headCmd(c.Path), true)
		if err != nil {
			return State{}, err
		}
		bad, err := MatchOutput(out.Stdout, c.Contains)
		if err != nil {
			return State{}, err
		}
		if bad != "" {
			return differs(fmt.Sprintf("%s does not contain %q", c.Path, bad)), nil
		}
	}
	return inPlace(c.Path + " is as wanted"), nil
}
