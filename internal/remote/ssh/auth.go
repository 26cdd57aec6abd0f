package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"onboard/internal/secret"
)

// parseKey parses a private key; its errors never contain key material.
func parseKey(key, passphrase secret.Value) (xssh.Signer, error) {
	var missing *xssh.PassphraseMissingError
	if passphrase.IsZero() {
		s, err := xssh.ParsePrivateKey([]byte(key.Reveal()))
		if errors.As(err, &missing) {
			return nil, errors.New("the key is encrypted and no passphrase is configured")
		}
		if err != nil {
			return nil, fmt.Errorf("cannot parse it: %w", err)
		}
		return s, nil
	}
	s, err := xssh.ParsePrivateKeyWithPassphrase([]byte(key.Reveal()), []byte(passphrase.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt or parse it (wrong passphrase?): %w", err)
	}
	return s, nil
}

// authConfig is the authentication of one connection attempt.
type authConfig struct {
	methods []xssh.AuthMethod
	tried   []string // for the error message: what was offered, no secrets
	agent   net.Conn
}

func (a *authConfig) close() {
	if a.agent != nil {
		_ = a.agent.Close()
	}
}

// authMethods builds the methods in the order key, agent, password. The key
// and the agent's keys share one publickey method: x/crypto/ssh tries each
// method name once, so a second publickey method would never be tried.
func (c *Client) authMethods() *authConfig {
	a := &authConfig{}
	var signers []xssh.Signer
	if c.signer != nil {
		signers = append(signers, c.signer)
		pub := c.signer.PublicKey()
		a.tried = append(a.tried, fmt.Sprintf("private key %s %s", pub.Type(), xssh.FingerprintSHA256(pub)))
	}
	var agentSigners func() ([]xssh.Signer, error)
	if c.cfg.UseAgent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		switch conn, err := net.Dial("unix", sock); {
		case sock == "":
			a.tried = append(a.tried, "agent (SSH_AUTH_SOCK is not set)")
		case err != nil:
			a.tried = append(a.tried, fmt.Sprintf("agent (unreachable: %v)", err))
		default:
			a.agent = conn
			agentSigners = agent.NewClient(conn).Signers
			a.tried = append(a.tried, "agent keys")
		}
	}
	if len(signers) > 0 || agentSigners != nil {
		a.methods = append(a.methods, xssh.PublicKeysCallback(func() ([]xssh.Signer, error) {
			all := signers
			if agentSigners != nil {
				more, err := agentSigners()
				if err != nil {
					c.log.Warn("ssh agent: cannot list keys", "err", err)
				}
				all = append(all[:len(all):len(all)], more...)
			}
			return all, nil
		}))
	}
	if !c.cfg.Password.IsZero() {
		pw := c.cfg.Password
		a.methods = append(a.methods,
			xssh.PasswordCallback(func() (string, error) { return pw.Reveal(), nil }),
			// Servers with PAM often ask for the password this way instead.
			xssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range questions {
					if !echos[i] {
						answers[i] = pw.Reveal()
					}
				}
				return answers, nil
			}),
		)
		a.tried = append(a.tried, "password")
	}
	return a
}
