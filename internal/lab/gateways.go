package lab

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// The VPN gateway and the mail port: TCP listeners (Debian's socat) on
// addresses of their own in the services host, vpn.corp.example.test:1194
// and mail.corp.example.test:25 and :587, for the handover's "the port
// answers" checks. They accept connections and discard what they read:
// nothing here speaks OpenVPN or SMTP.
//
// The mail hook: a mail server that speaks SMTP (internal/lab/smtp.go, or a
// server of a test) points NameMail at itself with Lab.SetName, by a
// component that runs before this one (then no mail listener starts) or
// later (then the listener stays, unnamed, on its own address).

const gatewaysDir = "gateways" // under services/

// gateways is the component that starts the VPN gateway and the mail port.
type gateways struct{}

func (gateways) name() string { return "vpn gateway and mail port" }

func (gateways) start(ctx context.Context, l *Lab) error {
	if err := l.startDaemon(ctx, l.vpnDaemon()); err != nil {
		return fmt.Errorf("vpn gateway: %w", err)
	}
	if a, _ := l.Addr(NameMail); a != hostAddr(l.cfg.Subnet, mailHost) {
		return nil // a mail server of its own took the name
	}
	if err := l.startDaemon(ctx, l.mailDaemon()); err != nil {
		return fmt.Errorf("mail port: %w", err)
	}
	return nil
}

// listenerDaemon is socat listening on addr at each port.
func (l *Lab) listenerDaemon(addr string, ports ...int) daemon {
	log := filepath.Join(l.serviceDir(gatewaysDir), addr+".log")
	d := daemon{log: log, match: ",bind=" + addr + ","}
	var script strings.Builder
	fmt.Fprintf(&script, "mkdir -p %s", shq(filepath.Dir(log)))
	for _, p := range ports {
		// -u: from the connection to /dev/null; fork: one child per
		// connection, so any number may be open.
		fmt.Fprintf(&script, " && { setsid socat -u TCP-LISTEN:%d,bind=%s,reuseaddr,fork OPEN:/dev/null </dev/null >>%s 2>&1 & }",
			p, addr, shq(log))
		d.listen = append(d.listen, svcListen(addr, p))
	}
	d.script = script.String()
	return d
}

func (l *Lab) vpnDaemon() daemon {
	return l.listenerDaemon(hostAddr(l.cfg.Subnet, vpnHost), VPNPort)
}

func (l *Lab) mailDaemon() daemon {
	return l.listenerDaemon(hostAddr(l.cfg.Subnet, mailHost), MailPort, MailSubmissionPort)
}
