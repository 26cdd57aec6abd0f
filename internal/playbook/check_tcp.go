package playbook

import (
	"time"

	"onboard/internal/plan"
)

// TCPCheck passes when a TCP port answers from the machine (or, with
// reachable: false, when it does not).
type TCPCheck struct {
	Host      string        `yaml:"host" onboard:"required"`
	Port      int           `yaml:"port" onboard:"required"`
	Reachable *bool         `yaml:"reachable"`
	Timeout   time.Duration `yaml:"timeout"`
}

func (k *TCPCheck) validate(fail func(field, format string, args ...any)) {
	if !templated(k.Host) && !hostRE.MatchString(k.Host) {
		fail("tcp.host", "must be a host name or an address, got %q", k.Host)
	}
	if k.Port < 0 || k.Port > 65535 { // 0: not given, reported by the decoder
		fail("tcp.port", "must be a port number from 1 to 65535, got %d", k.Port)
	}
}

func (k *TCPCheck) templated(add func(field, s string)) { add("tcp.host", k.Host) }

func (k *TCPCheck) plan(cs *plan.CheckSpec, path string, p CheckPlanner) {
	cs.TCP = &plan.TCPCheck{Host: p.Expand(path+".tcp.host", k.Host), Port: k.Port, Reachable: yes(k.Reachable),
		Timeout: orDefault(k.Timeout, DefaultNetTimeout)}
}
