package lab

import (
	"context"
	"fmt"
)

// The workstations' firewall: nftables (in the image), with the ruleset
// below in /etc/nftables.conf, loaded by the workstation's init before sshd
// starts. It lives in the workstation's network namespace, so it filters
// that workstation's traffic only. Input is dropped except loopback, replies
// (conntrack), ICMP, SSH and IPP; output is open. StopFirewall and
// StartFirewall switch it off and on, for the baseline's "firewall active"
// check.

const nftablesConfPath = "/etc/nftables.conf"

// FirewallRule is a rule of the workstations' ruleset, as `nft list
// ruleset` prints it: what a baseline check finds.
const FirewallRule = `tcp dport { 22, 631 } accept comment "onboard-lab: ssh, ipp"`

// nftablesConf is the workstations' /etc/nftables.conf (as Debian's, run by
// `nft -f`, it starts by flushing, so loading it twice is loading it once).
// Protocols are numbers: the minbase image has no /etc/protocols.
const nftablesConf = `#!/usr/sbin/nft -f
# Written by the onboard lab: the workstation's firewall.
flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		ct state invalid drop
		meta l4proto { 1, 58 } accept comment "icmp, ipv6-icmp"
		` + FirewallRule + `
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
`

// loadFirewall is the init's line that loads the ruleset; a failure is
// left in /run/nftables.err, which Start reports.
const loadFirewall = `nft -f ` + nftablesConfPath + ` 2>/run/nftables.err || echo "nft -f exited $?" >>/run/nftables.err`

// StopFirewall removes every rule of workstation ws (nft flush ruleset):
// its input is then open, and `nft list ruleset` prints nothing.
func (l *Lab) StopFirewall(ctx context.Context, ws string) error {
	if _, _, err := l.Exec(ctx, ws, "nft flush ruleset"); err != nil {
		return fmt.Errorf("stop the firewall of %s: %w", ws, err)
	}
	return nil
}

// StartFirewall loads the workstation's /etc/nftables.conf again.
func (l *Lab) StartFirewall(ctx context.Context, ws string) error {
	if _, _, err := l.Exec(ctx, ws, "nft -f "+nftablesConfPath); err != nil {
		return fmt.Errorf("start the firewall of %s: %w", ws, err)
	}
	return nil
}
