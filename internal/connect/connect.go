// Package connect opens a connection to a plan host with the transport the
// host names, resolving its credential references on the way. It is the
// one place that knows every transport (SSH now, WinRM beside it later).
package connect

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"onboard/internal/plan"
	"onboard/internal/remote"
	sshremote "onboard/internal/remote/ssh"
	"onboard/internal/secret"
)

// Dialer resolves credentials and dials hosts.
type Dialer struct {
	Secrets *secret.Resolver
	// AcceptNewHostKey trusts an unknown host's key on first use and records
	// it; a changed key is always refused.
	AcceptNewHostKey bool
	DialTimeout      time.Duration
	Log              *slog.Logger
}

// Dial connects to h.
func (d *Dialer) Dial(ctx context.Context, h *plan.Host) (remote.Communicator, error) {
	switch h.Transport {
	case "ssh":
		return d.ssh(ctx, h)
	default:
		return nil, fmt.Errorf("%s: transport %q is not supported by this version of onboard", h.Name, h.Transport)
	}
}

func (d *Dialer) ssh(ctx context.Context, h *plan.Host) (remote.Communicator, error) {
	cfg := sshremote.Config{
		Host: h.Name, Address: h.Address, Port: h.Port, User: h.User,
		KnownHosts: h.KnownHosts, HostKeys: h.HostKeys, AcceptNewHostKey: d.AcceptNewHostKey,
		Become: h.Become, DialTimeout: d.DialTimeout, Logger: d.Log,
	}
	if h.Credential != "" {
		v, err := d.Secrets.Resolve(ctx, secret.Ref(h.Credential))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		switch h.Auth {
		case "password":
			cfg.Password = v
		default:
			cfg.PrivateKey = v
		}
	}
	if h.Auth == "agent" {
		cfg.UseAgent = true
	}
	if h.BecomePassword != "" {
		v, err := d.Secrets.Resolve(ctx, secret.Ref(h.BecomePassword))
		if err != nil {
			return nil, fmt.Errorf("%s: become password: %w", h.Name, err)
		}
		cfg.BecomePassword = v
	}
	return sshremote.Dial(ctx, cfg)
}
