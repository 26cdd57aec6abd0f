// Package connect opens a connection to a plan host with the transport the
// host names, resolving its credential references on the way. It is the
// one place that knows every transport (SSH now, WinRM beside it later).
package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"onboard/internal/directory"
	"onboard/internal/plan"
	"onboard/internal/remote"
	sshremote "onboard/internal/remote/ssh"
	"onboard/internal/remote/winrm"
	"onboard/internal/secret"
	"onboard/internal/step"
)

// Dialer resolves credentials and dials hosts.
type Dialer struct {
	Secrets *secret.Resolver
	// AcceptNewHostKey trusts an unknown host's key on first use and records
	// it; a changed key is always refused.
	AcceptNewHostKey bool
	DialTimeout      time.Duration
	Log              *slog.Logger
	// Deliver hands initial passwords over (see package deliver).
	Deliver step.Deliverer
}

// Dial connects to h.
func (d *Dialer) Dial(ctx context.Context, h *plan.Host) (remote.Communicator, error) {
	switch h.Transport {
	case "ssh":
		return d.ssh(ctx, h)
	case "winrm":
		return d.winrm(ctx, h)
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

func (d *Dialer) winrm(ctx context.Context, h *plan.Host) (remote.Communicator, error) {
	https := h.HTTPS == nil || *h.HTTPS
	cfg := winrm.Config{
		Host: h.Name, Address: h.Address, Port: h.Port, HTTPS: https, CACertFile: h.CACert,
		InsecureSkipVerify: h.InsecureSkipVerify, Auth: h.Auth, User: h.User,
		ClientCertFile: h.ClientCert, ClientKeyFile: h.ClientKey, DialTimeout: d.DialTimeout, Logger: d.Log,
		Realm: h.Realm, KDC: h.KDC, Keytab: h.Keytab, CCache: h.CCache, ServiceHost: h.ServiceHost,
	}
	if h.InsecureSkipVerify && d.Log != nil {
		d.Log.Warn("WinRM certificate verification is OFF for this host: anyone on the path can impersonate it", "host", h.Name)
	}
	// With Kerberos, a keytab or ticket cache stands in for the password.
	if h.Credential != "" && h.Auth != "certificate" {
		v, err := d.Secrets.Resolve(ctx, secret.Ref(h.Credential))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		cfg.Password = v
	}
	return winrm.Dial(ctx, cfg)
}

// DialDirectory opens a directory for a run: the first server of its URLs
// that answers is pinned, so every step and verification of the run reads
// from the same domain controller.
func (d *Dialer) DialDirectory(ctx context.Context, pd *plan.Directory) (*step.DirTarget, error) {
	c, err := d.OpenDirectory(ctx, pd)
	if err != nil {
		return nil, err
	}
	t := &step.DirTarget{Dir: pd, Client: c, Deliver: d.Deliver}
	if pd.JoinPassword != "" {
		if t.JoinPassword, err = d.Secrets.Resolve(ctx, secret.Ref(pd.JoinPassword)); err != nil {
			c.Close()
			return nil, fmt.Errorf("directory %s: join password: %w", pd.Name, err)
		}
	}
	return t, nil
}

// OpenDirectory binds to a directory with its service account.
func (d *Dialer) OpenDirectory(ctx context.Context, pd *plan.Directory) (*directory.Client, error) {
	pw, err := d.Secrets.Resolve(ctx, secret.Ref(pd.BindPassword))
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", pd.Name, err)
	}
	c, err := directory.Dial(ctx, directory.Config{
		Name: pd.Name, Kind: directory.Kind(pd.Kind), URLs: pd.URLs, BaseDN: pd.BaseDN, UsersOU: pd.UsersOU,
		GroupsBase: pd.GroupsBase, ComputersOU: pd.ComputersOU, Domain: pd.Domain,
		BindDN: pd.BindDN, BindPassword: pw, CACertFile: pd.CACert, AllowAttributes: pd.AllowAttributes,
	})
	if err != nil {
		if errors.Is(err, directory.ErrUnreachable) {
			// The engine retries and reports unreachable targets by this.
			return nil, fmt.Errorf("%w: %w", err, remote.ErrUnreachable)
		}
		return nil, err
	}
	return c, nil
}

// UsernameResolver implements the collision rule against live directories,
// read-only, for the planner: the username this employee already has, or
// the first candidate nobody holds.
type UsernameResolver struct {
	Dialer  *Dialer
	clients map[string]*directory.Client
}

// Resolve picks a username; see planner.Options.Usernames.
func (u *UsernameResolver) Resolve(ctx context.Context, pd *plan.Directory, employeeID string, candidates []string) (string, error) {
	c, err := u.client(ctx, pd)
	if err != nil {
		return "", err
	}
	if own, err := c.FindUserByEmployeeID(ctx, employeeID); err != nil {
		return "", err
	} else if own != nil {
		return own.Username, nil
	}
	for _, cand := range candidates {
		taken, err := c.FindUser(ctx, cand)
		if err != nil {
			return "", err
		}
		if taken == nil {
			return cand, nil
		}
	}
	return "", fmt.Errorf("every candidate from %s to %s is taken", candidates[0], candidates[len(candidates)-1])
}

// Close closes the resolver's connections.
func (u *UsernameResolver) Close() {
	for _, c := range u.clients {
		c.Close()
	}
}
