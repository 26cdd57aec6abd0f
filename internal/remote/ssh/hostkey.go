package ssh

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"onboard/internal/remote"
)

// AcceptNewHostKeyFlag is the CLI flag that the unknown-host error tells
// the user to pass.
const AcceptNewHostKeyFlag = "--accept-new-host-key"

// hostKeyChecker verifies one handshake's host key against known_hosts
// files and extra lines, and records why it refused.
type hostKeyChecker struct {
	c          *Client
	callback   xssh.HostKeyCallback
	algorithms []string // from the keys known for this host; nil if none
	failure    error    // the refusal, with a message for people
	accepted   xssh.PublicKey
	extraFile  string // the temporary file of Config.HostKeys, gone after setup
}

// hostKeyChecker reads the known keys afresh for each connection, so a key
// accepted by another client or by hand is seen on redial.
func (c *Client) hostKeyChecker() (*hostKeyChecker, error) {
	extra, err := hostKeyLines(c.cfg.HostKeys, c.addr)
	if err != nil {
		return nil, c.errorf("%w", err)
	}
	c.mu.Lock()
	extra = append(extra, c.accepted...)
	c.mu.Unlock()

	var files []string
	extraFile := ""
	for _, f := range c.cfg.KnownHosts {
		if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
			continue // a known_hosts file that does not exist yet knows no host
		}
		files = append(files, f)
	}
	if len(extra) > 0 {
		// knownhosts reads only files: put the extra lines in a temporary
		// one, read at once by knownhosts.New and removed.
		f, err := os.CreateTemp("", "onboard-known-hosts-*")
		if err != nil {
			return nil, c.errorf("host keys: %w", err)
		}
		defer os.Remove(f.Name())
		_, err = f.WriteString(strings.Join(extra, "\n") + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, c.errorf("host keys: %w", err)
		}
		files = append(files, f.Name())
		extraFile = f.Name()
	}
	cb, err := knownhosts.New(files...)
	if err != nil {
		return nil, c.errorf("read known hosts: %w", err)
	}
	return &hostKeyChecker{c: c, callback: cb, algorithms: knownAlgorithms(cb, c.addr), extraFile: extraFile}, nil
}

// hostKeyLines turns Config.HostKeys into known_hosts lines: a bare
// "TYPE KEY" line applies to addr.
func hostKeyLines(lines []string, addr string) ([]string, error) {
	var out []string
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if isBareKey(l) {
			l = knownhosts.Normalize(addr) + " " + l
		}
		if _, _, _, _, _, err := xssh.ParseKnownHosts([]byte(l)); err != nil {
			return nil, fmt.Errorf("host key %d (%.40q): not a known_hosts line nor a public key: %w", i+1, l, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// isBareKey reports whether line is "TYPE BASE64 [comment]" with no hosts.
func isBareKey(line string) bool {
	f := strings.Fields(line)
	if len(f) < 2 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return false
	}
	k, err := xssh.ParsePublicKey(b)
	return err == nil && k.Type() == f[0]
}

// probeKey is a key no host has: checking it lists the keys known for a host.
var probeKey = sync.OnceValue(func() xssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	k, err := xssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return k
})

// knownAlgorithms lists the host key algorithms of the keys known for addr.
// Go offers ECDSA and RSA before ed25519: without this, a host known only by
// its ed25519 key presents its ECDSA key and fails as "key mismatch".
func knownAlgorithms(cb xssh.HostKeyCallback, addr string) []string {
	var ke *knownhosts.KeyError
	if err := cb(addr, fakeAddr(addr), probeKey()); !errors.As(err, &ke) {
		return nil
	}
	var algs []string
	for _, k := range ke.Want {
		t := k.Key.Type()
		names := []string{t}
		if t == xssh.KeyAlgoRSA {
			names = []string{xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256, xssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !slices.Contains(algs, n) {
				algs = append(algs, n)
			}
		}
	}
	return algs
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

// check is the ssh.HostKeyCallback.
func (h *hostKeyChecker) check(hostname string, addr net.Addr, key xssh.PublicKey) error {
	err := h.callback(hostname, addr, key)
	if err == nil {
		return nil
	}
	// A re-key later in the connection's life checks the key again.
	if h.accepted != nil && bytes.Equal(h.accepted.Marshal(), key.Marshal()) {
		return nil
	}
	h.failure = h.explain(err, key)
	return h.failure
}

func (h *hostKeyChecker) explain(err error, key xssh.PublicKey) error {
	c := h.c
	offered := key.Type() + " " + xssh.FingerprintSHA256(key)
	var ke *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &ke) && len(ke.Want) == 0:
		if c.cfg.AcceptNewHostKey {
			if err := c.acceptHostKey(key); err != nil {
				return err
			}
			h.accepted = key
			return nil
		}
		where := "a known_hosts file"
		if len(c.cfg.KnownHosts) > 0 {
			where = c.cfg.KnownHosts[0]
		}
		return fmt.Errorf("%s: unknown host key %s; if this is the right host, run again with %s to trust it "+
			"(it is then saved to %s), or add its key to a known_hosts file: %w",
			c.where(), offered, AcceptNewHostKeyFlag, where, remote.ErrHostKey)
	case errors.As(err, &ke):
		var known []string
		for _, k := range ke.Want {
			from := fmt.Sprintf("%s:%d", k.Filename, k.Line)
			if k.Filename == h.extraFile {
				from = "configured host keys"
			}
			known = append(known, fmt.Sprintf("%s %s (%s)", k.Key.Type(), xssh.FingerprintSHA256(k.Key), from))
		}
		return fmt.Errorf("%s: REMOTE HOST KEY CHANGED: the host offered %s but its known key is %s; "+
			"possible man-in-the-middle attack (if the host was reinstalled, remove the old key and connect again): %w",
			c.where(), offered, strings.Join(known, ", "), remote.ErrHostKey)
	case errors.As(err, &revoked):
		return fmt.Errorf("%s: host key %s is revoked (%s line %d): %w",
			c.where(), offered, revoked.Revoked.Filename, revoked.Revoked.Line, remote.ErrHostKey)
	default:
		return fmt.Errorf("%s: host key %s: %v: %w", c.where(), offered, err, remote.ErrHostKey)
	}
}

// knownHostsMu serialises appends to known_hosts files by all clients of
// this process (many hosts may be accepted in parallel).
var knownHostsMu sync.Mutex

// acceptHostKey trusts an unknown host's key: it is saved to the first
// KnownHosts file and remembered for this client's redials.
func (c *Client) acceptHostKey(key xssh.PublicKey) error {
	line := knownhosts.Line([]string{c.addr}, key)
	c.mu.Lock()
	c.accepted = append(c.accepted, line)
	c.mu.Unlock()
	fp := key.Type() + " " + xssh.FingerprintSHA256(key)
	if len(c.cfg.KnownHosts) == 0 {
		c.log.Warn("accepted new host key for this run only (no known_hosts file configured)", "key", fp)
		return nil
	}
	file := c.cfg.KnownHosts[0]
	if err := appendLine(file, line); err != nil {
		return c.errorf("accept new host key %s: save to %s: %w", fp, file, err)
	}
	c.log.Warn("accepted new host key", "key", fp, "file", file)
	return nil
}

func appendLine(file, line string) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	// Start on a new line if the file does not end with one.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
