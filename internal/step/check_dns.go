package step

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"onboard/internal/plan"
	"onboard/internal/shell"
)

// The dns check: a name resolves on the host as its programs see it (NSS:
// /etc/hosts, then DNS), read with getent ahosts from glibc, which every
// Debian and Ubuntu host has. Evidence: the addresses found.

// script is a command line that runs a fixed sh script with args as its
// positional parameters ($1, $2, ...): values travel as quoted words, never
// as code. The script is onboard's own text.
func script(body string, args ...string) string {
	return shell.Cmd("sh -c "+shell.Quote(body)+" onboard-check", args...)
}

// seconds writes a time limit for timeout(1), at least one second.
func seconds(d plan.Duration) string {
	s := int((time.Duration(d) + time.Second - 1) / time.Second)
	return fmt.Sprint(max(s, 1))
}

// dnsCommand resolves c.Name within its time limit.
func dnsCommand(c *plan.DNSCheck) string {
	return shell.Cmd("timeout "+seconds(c.Timeout)+" getent ahosts --", c.Name)
}

func dnsCheck(ctx context.Context, x *Exec, c *plan.DNSCheck) (State, error) {
	out, err := x.Run(ctx, dnsCommand(c), false, "")
	if err != nil {
		return State{}, err
	}
	return dnsVerdict(c, out), nil
}

// dnsVerdict judges getent ahosts' output.
func dnsVerdict(c *plan.DNSCheck, out Out) State {
	switch out.ExitCode {
	case 0:
	case 2: // getent: the key was not found
		if !c.Resolves {
			return inPlace(c.Name + " does not resolve, as wanted").seen(noAddress)
		}
		return differs(c.Name + " does not resolve on the host (getent ahosts found no address)").seen(noAddress)
	case 124:
		return differs(fmt.Sprintf("%s: no answer within %s (getent ahosts timed out)", c.Name, time.Duration(c.Timeout))).seen(noAnswer)
	case 126, 127:
		return toolMissing(out)
	default:
		return differs(fmt.Sprintf("%s: getent ahosts exited %d: %s", c.Name, out.ExitCode, oneLine(Tail(out.Combined(), 200)))).
			seen(fact("addresses", fmt.Sprintf("(getent ahosts exited %d)", out.ExitCode)))
	}
	found := parseAhosts(out.Stdout)
	if len(found) == 0 {
		return differs(c.Name + " resolved to no address (getent ahosts printed none)").seen(noAddress)
	}
	return addressVerdict(c, found)
}

// The dns check's evidence when no address was found.
var (
	noAddress = fact("addresses", "none (does not resolve)")
	noAnswer  = fact("addresses", "none (no answer)")
)

// addressVerdict judges the addresses a name resolved to (at least one),
// whichever OS read them. Its evidence lists them sorted: a resolver
// that rotates the order has not changed the answer.
func addressVerdict(c *plan.DNSCheck, found []string) State {
	seen := c.Name + " resolves to " + strings.Join(found, ", ")
	sorted := slices.Clone(found)
	slices.Sort(sorted)
	ev := fact("addresses", strings.Join(sorted, ", "))
	if !c.Resolves {
		return differs(seen + ", want it not to resolve").seen(ev)
	}
	var lack []string
	for _, a := range c.Addresses {
		if !hasAddress(found, a) {
			lack = append(lack, a)
		}
	}
	if len(lack) > 0 {
		return differs(fmt.Sprintf("%s, want %s among them", seen, strings.Join(lack, ", "))).seen(ev)
	}
	return inPlace(seen).seen(ev)
}

// parseAhosts returns each address of getent ahosts' output once, in
// order ("10.0.0.5      STREAM name", then DGRAM and RAW lines).
func parseAhosts(s string) []string {
	var addrs []string
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || hasAddress(addrs, f[0]) {
			continue
		}
		addrs = append(addrs, f[0])
	}
	return addrs
}

func hasAddress(list []string, a string) bool {
	for _, x := range list {
		if strings.EqualFold(x, a) {
			return true
		}
	}
	return false
}
