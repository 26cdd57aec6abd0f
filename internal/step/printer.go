package step

import (
	"context"
	"fmt"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/shell"
)

// Printer maps a CUPS queue to an IPP printer (driverless "everywhere").
type Printer struct{}

// printerState is what lpstat says about one queue.
type printerState struct {
	exists, accepting, enabled, isDefault bool
	hasPPD                                bool
	uri                                   string
	location, info                        string
}

const sep = "@@onboard@@"

// lpstatCmd reads the queues named (all of them when none is) in one round
// trip: devices, acceptance, long state (with location, description and
// driver), and the server's default destination, separated by markers. A
// user's own default (LPDEST, PRINTER, ~/.cups/lpoptions) is kept out of
// the way: the check is about the machine's default, which lpadmin -d sets.
// The last lpstat replaces the shell (exec): one process less per read.
// Only the output counts, never the exit status (lpstat -d fails when
// CUPS is down, which the output says).
func lpstatCmd(queues ...string) string {
	q := ""
	if len(queues) > 0 {
		q = " " + shell.Join(queues...)
	}
	return "export LC_ALL=C HOME=/nonexistent; unset LPDEST PRINTER; lpstat -v" + q + " 2>&1; echo " + sep + "; lpstat -a" + q + " 2>&1; echo " + sep +
		"; lpstat -l -p" + q + " 2>&1; echo " + sep + "; exec lpstat -d 2>&1"
}

// readPrinter reads one queue afresh (after a change made by this step).
func readPrinter(ctx context.Context, x *Exec, queue string) (printerState, error) {
	out, err := x.Run(ctx, lpstatCmd(queue), false, "")
	if err != nil {
		return printerState{}, err
	}
	return parsePrinter(x.T.Host.Name, out, queue)
}

// checkPrinter reads a queue for a check: one lpstat of every queue on the
// host, shared by the checks of all its printers until something is
// applied there.
func checkPrinter(ctx context.Context, x *Exec, queue string) (printerState, error) {
	v, err := x.T.Cached("cups", func() (any, error) {
		out, err := x.Run(ctx, lpstatCmd(), false, "")
		return out, err
	})
	if err != nil {
		return printerState{}, err
	}
	return parsePrinter(x.T.Host.Name, v.(Out), queue)
}

// parsePrinter finds queue in lpstatCmd's output, whether it read that
// queue alone or every queue.
func parsePrinter(host string, out Out, queue string) (printerState, error) {
	parts := strings.Split(out.Stdout, sep+"\n")
	if len(parts) < 4 {
		return printerState{}, &CommandError{Host: host, Out: out, Msg: "read printer " + queue}
	}
	if strings.Contains(parts[0], "Scheduler is not running") || strings.Contains(parts[0], "Unable to connect") {
		return printerState{}, &CommandError{Host: host, Out: out, Msg: "CUPS is not running on the host"}
	}
	var st printerState
	name := queue // CUPS queue names are case-insensitive: use CUPS's spelling
	for _, line := range strings.Split(parts[0], "\n") {
		if rest, ok := strings.CutPrefix(line, "device for "); ok {
			if n, uri, ok := strings.Cut(rest, ": "); ok && strings.EqualFold(n, queue) {
				st.exists, st.uri, name = true, strings.TrimSpace(uri), n
			}
		}
	}
	for _, line := range strings.Split(parts[1], "\n") {
		if strings.HasPrefix(line, name+" accepting requests") {
			st.accepting = true
		}
	}
	// The queue's block: its "printer NAME ..." line, then indented lines.
	in := false
	for _, line := range strings.Split(parts[2], "\n") {
		if !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			in = strings.HasPrefix(line, "printer "+name+" ")
			if in {
				st.enabled = !strings.Contains(line, "disabled")
			}
			continue
		}
		if !in {
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "Location:"):
			st.location = strings.TrimSpace(strings.TrimPrefix(t, "Location:"))
		case strings.HasPrefix(t, "Description:"):
			st.info = strings.TrimSpace(strings.TrimPrefix(t, "Description:"))
		case strings.HasPrefix(t, "Interface:"):
			st.hasPPD = strings.HasSuffix(t, ".ppd")
		}
	}
	d := strings.TrimSpace(parts[3])
	st.isDefault = strings.HasPrefix(d, "system default destination: ") && strings.EqualFold(strings.TrimPrefix(d, "system default destination: "), queue)
	return st, nil
}

func (Printer) Check(ctx context.Context, x *Exec, s *plan.Step) (State, error) {
	p := s.Printer
	st, err := checkPrinter(ctx, x, p.Name)
	if err != nil {
		return State{}, err
	}
	var diffs []string
	switch {
	case !st.exists:
		return missing(fmt.Sprintf("queue %s does not exist", p.Name)), nil
	case st.uri != p.URI:
		diffs = append(diffs, fmt.Sprintf("device is %s, want %s", st.uri, p.URI))
	}
	// A driverless queue gets its driver (a PPD made from the printer's
	// own attributes) when it is mapped; a queue without one was mapped
	// while the printer did not answer, and would print raw data.
	if driverless(p) && !st.hasPPD {
		diffs = append(diffs, "queue has no driver (the printer did not answer when it was mapped)")
	}
	if !st.enabled || !st.accepting {
		diffs = append(diffs, "queue is disabled or not accepting jobs")
	}
	if p.Default && !st.isDefault {
		diffs = append(diffs, "not the default printer")
	}
	if p.Location != "" && st.location != p.Location {
		diffs = append(diffs, fmt.Sprintf("location is %q, want %q", st.location, p.Location))
	}
	if p.Description != "" && st.info != p.Description {
		diffs = append(diffs, fmt.Sprintf("description is %q, want %q", st.info, p.Description))
	}
	if len(diffs) > 0 {
		return differs(p.Name + ": " + strings.Join(diffs, "; ")), nil
	}
	return inPlace(fmt.Sprintf("queue %s prints to %s", p.Name, p.URI)), nil
}

// driverless reports whether CUPS makes the queue's driver from the
// printer's own IPP attributes.
func driverless(p *plan.PrinterSpec) bool {
	return p.Model == "everywhere" && (strings.HasPrefix(p.URI, "ipp://") || strings.HasPrefix(p.URI, "ipps://"))
}

func (Printer) Apply(ctx context.Context, x *Exec, s *plan.Step) (string, error) {
	p := s.Printer
	driverless := driverless(p)
	args := []string{"-p", p.Name, "-v", p.URI, "-m", p.Model, "-E"}
	if p.Location != "" {
		args = append(args, "-L", p.Location)
	}
	if p.Description != "" {
		args = append(args, "-D", p.Description)
	}
	// lpadmin's -E after -p enables the queue and accepts jobs; cupsenable
	// and cupsaccept repair a queue that exists but was disabled.
	cmd := shell.Cmd("lpadmin", args...) + " && " + shell.Cmd("cupsenable", p.Name) + " && " + shell.Cmd("cupsaccept", p.Name)
	if p.Default {
		cmd += " && " + shell.Cmd("lpadmin -d", p.Name)
	}
	// A busy printer can answer the probe and still time out while CUPS
	// reads its attributes to make the driver: try a few times.
	const tries = 3
	for try := 1; ; try++ {
		if driverless {
			// lpadmin makes a queue even when the printer is down (without
			// a driver); ask the printer first so a dead printer fails clearly.
			probe := "if command -v ipptool >/dev/null 2>&1; then " + shell.Cmd("ipptool -q -T 10", p.URI) + " get-printer-attributes.test; fi"
			if _, err := x.Must(ctx, fmt.Sprintf("printer %s does not answer at %s", p.Name, p.URI), probe, false); err != nil {
				return "", err
			}
		}
		if _, err := x.Must(ctx, "map printer "+p.Name+" to "+p.URI, cmd, true); err != nil {
			return "", err
		}
		if !driverless {
			break
		}
		st, err := readPrinter(ctx, x, p.Name)
		if err != nil {
			return "", err
		}
		if st.hasPPD {
			break
		}
		if try == tries {
			return "", fmt.Errorf("%s: printer %s at %s answered, but CUPS could not read its attributes to make a driver (%d tries)", x.T.Host.Name, p.Name, p.URI, tries)
		}
		select {
		case <-time.After(time.Duration(try) * time.Second):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	what := fmt.Sprintf("queue %s → %s", p.Name, p.URI)
	if p.Default {
		what += ", default"
	}
	return what, nil
}
