package compare

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Host is one workstation as the bare loops reach it.
type Host struct {
	Name string
	Addr string
	Port int
}

// Bare is the floor: a plain x/crypto/ssh client, one connection per host,
// hosts in parallel, nothing else.
type Bare struct {
	User   string
	Signer ssh.Signer
	HostCB ssh.HostKeyCallback
}

// NewBare reads the private key and known_hosts the lab wrote.
func NewBare(user, keyFile, knownHostsFile string) (*Bare, error) {
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("bare loop: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("bare loop: key %s: %w", keyFile, err)
	}
	cb, err := knownhosts.New(knownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("bare loop: %w", err)
	}
	return &Bare{User: user, Signer: signer, HostCB: cb}, nil
}

// Mode is how the bare loop runs a host's commands.
type Mode int

const (
	// SessionPerCommand runs each command in its own session, in order.
	SessionPerCommand Mode = iota
	// Batched pipes every command into one `sh -s` session (joined by
	// newlines; the script stops at the first failure only if it says so).
	Batched
)

// Run connects to every host at once and runs cmds there, in mode; prefix
// is put before the shell of a batched session (e.g. "sudo "). It returns
// the first error (naming the host).
func (b *Bare) Run(ctx context.Context, hosts []Host, cmds []string, mode Mode, prefix string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.host(ctx, h, cmds, mode, prefix); err != nil {
				errs[i] = fmt.Errorf("bare loop on %s: %w", h.Name, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *Bare) host(ctx context.Context, h Host, cmds []string, mode Mode, prefix string) error {
	addr := net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{
		User: b.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(b.Signer)},
		HostKeyCallback: b.HostCB, Timeout: 10 * time.Second,
	})
	if err != nil {
		conn.Close()
		return err
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	run := func(cmd string, stdin string) error {
		s, err := client.NewSession()
		if err != nil {
			return err
		}
		defer s.Close()
		var out bytes.Buffer
		s.Stdout, s.Stderr = &out, &out
		if stdin != "" {
			s.Stdin = strings.NewReader(stdin)
		}
		if err := s.Run(cmd); err != nil {
			return fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(tailString(out.String(), 400)))
		}
		return nil
	}
	if mode == Batched {
		return run(prefix+"sh -s", strings.Join(cmds, "\n")+"\n")
	}
	for _, cmd := range cmds {
		if err := run(cmd, ""); err != nil {
			return err
		}
	}
	return nil
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
