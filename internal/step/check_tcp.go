package step

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/result"
	"onboard/internal/shell"
)

// The tcp check: a port answers when connected to from the host. bash's
// /dev/tcp opens the connection (bash is essential on Debian and Ubuntu;
// dash has no /dev/tcp), timeout(1) bounds it. Evidence: connected, or the
// error the host saw.

// tcpScript connects to $1:$2 and closes again; bash's own error names
// the cause (refused, no route, unknown name).
const tcpScript = `exec 3<>"/dev/tcp/$1/$2"`

// tcpCommand connects to c.Host:c.Port within its time limit.
func tcpCommand(c *plan.TCPCheck) string {
	return shell.Cmd("timeout "+seconds(c.Timeout)+" bash -c "+shell.Quote(tcpScript)+" onboard-check", c.Host, strconv.Itoa(c.Port))
}

func tcpCheck(ctx context.Context, x *Exec, c *plan.TCPCheck) (State, error) {
	out, err := x.Run(ctx, tcpCommand(c), false, "")
	if err != nil {
		return State{}, err
	}
	return tcpVerdict(c, out), nil
}

// tcpVerdict judges the connection attempt.
func tcpVerdict(c *plan.TCPCheck, out Out) State {
	where := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	var seen string
	var ev result.Fact
	switch out.ExitCode {
	case 0:
		if c.Reachable {
			return inPlace(where + " accepted a connection from the host").seen(tcpAccepted)
		}
		return differs(where + " accepted a connection from the host, want it closed").seen(tcpAccepted)
	case 124:
		seen = fmt.Sprintf("%s did not answer within %s", where, time.Duration(c.Timeout))
		ev = tcpNoAnswer
	case 126, 127:
		return toolMissing(out)
	default:
		why := bashError(out.Stderr)
		seen = fmt.Sprintf("%s: no connection: %s", where, why)
		ev = fact("connection", "failed: "+why)
	}
	if c.Reachable {
		return differs(seen).seen(ev)
	}
	return inPlace(seen + ", as wanted").seen(ev)
}

// The tcp check's evidence: whether a connection was made.
var (
	tcpAccepted = fact("connection", "accepted")
	tcpNoAnswer = fact("connection", "no answer")
)

// bashError keeps the cause from bash's messages ("bash: line 1:
// /dev/tcp/h/1: Connection refused" → "Connection refused").
func bashError(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if i := strings.LastIndex(last, ": "); i >= 0 {
		last = last[i+2:]
	}
	if last == "" {
		return "no error message"
	}
	return oneLine(Tail(last, 200))
}
