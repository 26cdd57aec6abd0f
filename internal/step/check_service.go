package step

import (
	"context"
	"fmt"
	"strings"

	"onboard/internal/plan"
	"onboard/internal/result"
)

// The service check: a service is running and/or enabled. systemd answers
// when it runs the host (systemctl is-active, is-enabled); otherwise the
// SysV init script does (status per LSB: 0 running, 1-3 stopped, 4
// unknown; enabled: an S link in /etc/rc2.d to rc5.d). A host with
// neither cannot run the check: onboard never guesses from process names.
// Evidence: the manager asked and what it said.

// serviceScript prints manager=, then active= and enabled= (systemd) or
// status= and enabled= (SysV) for the service $1.
const serviceScript = `n=$1
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo manager=systemd
  echo "active=$(systemctl is-active -- "$n" 2>/dev/null)"
  echo "enabled=$(systemctl is-enabled -- "$n" 2>/dev/null)"
elif [ -d /etc/init.d ]; then
  echo manager=sysv
  if [ -f "/etc/init.d/$n" ]; then
    "/etc/init.d/$n" status >/dev/null 2>&1
    echo "status=$?"
  else
    echo status=none
  fi
  for l in /etc/rc2.d/S??"$n" /etc/rc3.d/S??"$n" /etc/rc4.d/S??"$n" /etc/rc5.d/S??"$n"; do
    [ -e "$l" ] && { echo "enabled=$l"; exit 0; }
  done
  echo enabled=
else
  echo manager=none
fi`

// serviceCommand asks the host's service manager about c.Name.
func serviceCommand(c *plan.ServiceCheck) string { return script(serviceScript, c.Name) }

func serviceCheck(ctx context.Context, x *Exec, c *plan.ServiceCheck) (State, error) {
	// Privileged: some init scripts read root-only pid files.
	out, err := x.Must(ctx, "ask the service manager about "+c.Name, serviceCommand(c), true)
	if err != nil {
		return State{}, err
	}
	return serviceVerdict(c, out.Stdout), nil
}

// serviceState is what the service manager said.
type serviceState struct {
	manager string
	running bool
	enabled bool
	// unknown: the manager could not tell (LSB status 4, systemd "unknown").
	unknown bool
	// seen: what the manager said, in words.
	running1, enabled1 string
	// state and boot: the same, short, as the evidence's fields.
	state, boot string
}

func parseService(name, stdout string) serviceState {
	kv := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			kv[k] = v
		}
	}
	st := serviceState{manager: kv["manager"]}
	switch st.manager {
	case "systemd":
		a, e := kv["active"], kv["enabled"]
		if a == "" {
			a = "unknown"
		}
		if e == "" {
			e = "not-found"
		}
		st.running = a == "active" || a == "reloading"
		st.unknown = a == "unknown"
		switch e {
		case "enabled", "enabled-runtime", "static", "alias", "indirect", "generated":
			st.enabled = true
		}
		st.running1 = "systemctl is-active: " + a
		st.enabled1 = "systemctl is-enabled: " + e
		st.state, st.boot = a, e
	case "sysv":
		switch s := kv["status"]; s {
		case "none":
			st.running1 = "no init script /etc/init.d/" + name
			st.state = "no init script"
		case "0":
			st.running = true
			st.running1 = "/etc/init.d/" + name + " status: 0 (running)"
			st.state = "running (status 0)"
		case "4":
			st.unknown = true
			st.running1 = "/etc/init.d/" + name + " status: 4 (unknown)"
			st.state = "unknown (status 4)"
		default:
			st.running1 = "/etc/init.d/" + name + " status: " + s + " (not running)"
			st.state = "not running (status " + s + ")"
		}
		if l := kv["enabled"]; l != "" {
			st.enabled = true
			st.enabled1 = "started at boot by " + l
			st.boot = "started by " + l
		} else {
			st.enabled1 = "no start link in /etc/rc2.d to /etc/rc5.d"
			st.boot = "not started"
		}
	}
	return st
}

// serviceVerdict judges what the manager said against what is wanted.
func serviceVerdict(c *plan.ServiceCheck, stdout string) State {
	st := parseService(c.Name, stdout)
	if st.manager != "systemd" && st.manager != "sysv" {
		return State{CannotRun: true, Action: plan.ActionNone,
			Reason: "cannot run: the host has no service manager onboard can ask (neither systemd running nor /etc/init.d)"}
	}
	var seen, bad []string
	var facts []result.Fact
	if c.Running != nil {
		seen = append(seen, st.running1)
		facts = append(facts, fact("state", st.state))
		if st.unknown {
			return State{CannotRun: true, Action: plan.ActionNone,
				Reason: fmt.Sprintf("cannot run: the service manager cannot tell whether %s runs (%s)", c.Name, st.running1)}
		}
		if st.running != *c.Running {
			bad = append(bad, fmt.Sprintf("%s is %s, want %s", c.Name, runWord(st.running), runWord(*c.Running)))
		}
	}
	if c.Enabled != nil {
		seen = append(seen, st.enabled1)
		facts = append(facts, fact("at boot", st.boot))
		if st.enabled != *c.Enabled {
			bad = append(bad, fmt.Sprintf("%s is %s, want %s", c.Name, enableWord(st.enabled), enableWord(*c.Enabled)))
		}
	}
	evidence := st.manager + ": " + strings.Join(seen, "; ")
	if len(bad) > 0 {
		return differs(strings.Join(bad, "; ") + " (" + evidence + ")").seen(facts...)
	}
	var is []string
	if c.Running != nil {
		is = append(is, runWord(st.running))
	}
	if c.Enabled != nil {
		is = append(is, enableWord(st.enabled))
	}
	return inPlace(fmt.Sprintf("%s is %s (%s)", c.Name, strings.Join(is, " and "), evidence)).seen(facts...)
}

func runWord(b bool) string {
	if b {
		return "running"
	}
	return "stopped"
}

func enableWord(b bool) string {
	if b {
		return "enabled"
	}
	return "not enabled"
}
