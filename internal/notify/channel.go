package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"onboard/internal/inventory"
	"onboard/internal/secret"
)

// Channel delivers a message. Implementations are safe for concurrent use.
type Channel interface {
	Send(ctx context.Context, m Message) error
}

// permanentError is a failure that another attempt cannot mend (a
// receiver that refuses the request, a template that does not make JSON).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// defaultTimeout bounds one delivery attempt.
const defaultTimeout = 15 * time.Second

// Channels makes the inventory's channels, resolving their credentials
// (relative to the file of each channel; r may set the cmd: timeout). A channel whose credential cannot be resolved is left out and
// named in the error; the others work.
func Channels(ctx context.Context, inv *inventory.Inventory, r *secret.Resolver) (map[string]Channel, error) {
	out := map[string]Channel{}
	var errs []error
	for _, name := range inv.NotifyChannels() {
		c, _ := inv.NotifyChannel(name)
		ch, err := newChannel(ctx, c, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("notify channel %s: %w", name, err))
			continue
		}
		out[name] = ch
	}
	return out, errors.Join(errs...)
}

func newChannel(ctx context.Context, c inventory.NotifyChannel, r *secret.Resolver) (Channel, error) {
	// file: references are relative to the file that defined the channel,
	// so each channel resolves with its own folder; r gives the cmd:
	// timeout.
	rr := &secret.Resolver{BaseDir: c.Dir}
	if r != nil {
		rr.Timeout = r.Timeout
	}
	resolve := func(ref string) (secret.Value, error) {
		if ref == "" {
			return secret.Value{}, nil
		}
		return rr.Resolve(ctx, secret.Ref(ref))
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	switch c.Kind {
	case inventory.ChannelEmail:
		pw, err := resolve(c.Password)
		if err != nil {
			return nil, err
		}
		e := &Email{Host: c.Host, Port: c.Port, Implicit: c.TLS == "implicit", Username: c.Username, Password: pw,
			From: c.From, Timeout: timeout}
		if c.CACert != "" {
			pem, err := os.ReadFile(secret.ExpandPath(c.CACert, c.Dir))
			if err != nil {
				return nil, err
			}
			e.RootCAs = x509.NewCertPool()
			if !e.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca_cert %s holds no PEM certificate", c.CACert)
			}
		}
		return e, nil
	case inventory.ChannelWebhook:
		key, err := resolve(c.Key)
		if err != nil {
			return nil, err
		}
		return &Webhook{URL: c.URL, Key: key, Client: httpClient(timeout)}, nil
	case inventory.ChannelSlack, inventory.ChannelTeams:
		u, err := resolve(c.URL)
		if err != nil {
			return nil, err
		}
		return &Chat{Format: c.Kind, URL: u, Client: httpClient(timeout)}, nil
	case inventory.ChannelTicket:
		tok, err := resolve(c.Token)
		if err != nil {
			return nil, err
		}
		pw, err := resolve(c.Password)
		if err != nil {
			return nil, err
		}
		body, err := os.ReadFile(secret.ExpandPath(c.Template, c.Dir))
		if err != nil {
			return nil, err
		}
		t, err := NewTicket(c.URL, c.Method, string(body))
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", c.Template, err)
		}
		t.Token, t.Username, t.Password, t.Client = tok, c.Username, pw, httpClient(timeout)
		return t, nil
	}
	return nil, fmt.Errorf("unknown kind %q", c.Kind)
}

func httpClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		// A redirect could carry a signed body or a bearer token elsewhere.
		return http.ErrUseLastResponse
	}}
}

// post sends body and classifies the answer: 2xx is delivered; 408, 429
// and 5xx may be retried; any other answer is permanent. The error holds
// the status and the start of the answer, never the URL (a chat webhook's
// URL is its credential).
func post(ctx context.Context, c *http.Client, method, url string, header http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return Permanent(errors.New("the request could not be made (check the URL)"))
	}
	req.Header = header
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "onboard-notify")
	resp, err := c.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // *url.Error names the URL: keep only its cause
		}
		return fmt.Errorf("%s %s: %w", method, req.URL.Host, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("%s %s: answered %s: %s", method, req.URL.Host, resp.Status, strings.TrimSpace(string(answer)))
	if resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return err
	}
	return Permanent(err)
}

// tlsConfig trusts roots (nil: the system's) and names the server.
func tlsConfig(roots *x509.CertPool, host string) *tls.Config {
	return &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}
}
