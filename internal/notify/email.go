package notify

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/wneessen/go-mail"

	"onboard/internal/secret"
)

// Email sends a message over SMTP with TLS always: STARTTLS required (the
// connection fails rather than go on in clear text) or implicit TLS, with
// AUTH when a username is given. The message has a text and an HTML part
// and the attachments.
type Email struct {
	Host     string
	Port     int  // default 587, or 465 with Implicit
	Implicit bool // TLS from the first byte, not STARTTLS
	RootCAs  *x509.CertPool
	Username string
	Password secret.Value
	From     string
	Timeout  time.Duration
}

// Send delivers m to its recipients.
func (e *Email) Send(ctx context.Context, m Message) error {
	if len(m.Recipients) == 0 {
		return Permanent(errors.New("no recipients"))
	}
	msg, err := e.message(m)
	if err != nil {
		return Permanent(err)
	}
	port := e.Port
	if port == 0 {
		port = 587
		if e.Implicit {
			port = 465
		}
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTLSConfig(tlsConfig(e.RootCAs, e.Host)), mail.WithTimeout(e.timeout())}
	if e.Implicit {
		opts = append(opts, mail.WithSSL())
	} else {
		// Mandatory, never opportunistic: opportunistic falls back to
		// clear text when STARTTLS is not offered.
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if e.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(e.Username), mail.WithPassword(e.Password.Reveal()))
	}
	c, err := mail.NewClient(e.Host, opts...)
	if err != nil {
		return Permanent(fmt.Errorf("smtp %s: %w", e.Host, err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *mail.SendError
		permanent := errors.As(err, &se) && !se.IsTemp()
		err = fmt.Errorf("smtp %s:%d: %s", e.Host, port, secret.Scrub(err.Error()))
		if permanent {
			return Permanent(err)
		}
		return err
	}
	return nil
}

func (e *Email) timeout() time.Duration {
	if e.Timeout == 0 {
		return defaultTimeout
	}
	return e.Timeout
}

// message builds the MIME message: multipart/mixed of a
// multipart/alternative (text, HTML) and the attachments.
func (e *Email) message(m Message) (*mail.Msg, error) {
	text, err := Text(m.Payload)
	if err != nil {
		return nil, err
	}
	html, err := HTML(m.Payload)
	if err != nil {
		return nil, err
	}
	msg := mail.NewMsg()
	if err := msg.From(e.From); err != nil {
		return nil, err
	}
	if err := msg.To(m.Recipients...); err != nil {
		return nil, err
	}
	msg.Subject("[onboard] " + m.Summary)
	msg.SetMessageID()
	msg.SetDate()
	// Receivers (and a resumed run's duplicate check) can tell it apart.
	msg.SetGenHeader("X-Onboard-Key", m.Key)
	msg.SetGenHeader("X-Onboard-Event", m.Event)
	msg.SetBodyString(mail.TypeTextPlain, text)
	msg.AddAlternativeString(mail.TypeTextHTML, html)
	for _, a := range m.Attachments {
		msg.AttachReadSeeker(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(a.ContentType)))
	}
	return msg, nil
}
