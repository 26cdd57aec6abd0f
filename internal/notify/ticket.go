package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"text/template"

	"onboard/internal/secret"
)

// Ticket opens a ticket in a helpdesk with one REST call whose body is a
// template of the inventory's (docs/notifications.md has ServiceNow's
// table API and Jira's issue API). The template is Go text/template over
// TicketData; its json function writes a value as JSON (a string with its
// quotes), so that no value can break out of its place in the body. The
// result must be JSON.
type Ticket struct {
	URL      string
	Method   string
	Token    secret.Value // bearer token; or
	Username string       // HTTP Basic
	Password secret.Value
	Client   *http.Client

	tmpl *template.Template
}

// TicketData is what a ticket template sees: the payload, and the text a
// mail would carry.
type TicketData struct {
	Payload
	Text string
}

// NewTicket parses the template.
func NewTicket(url, method, body string) (*Ticket, error) {
	t, err := template.New("ticket").Option("missingkey=error").Funcs(template.FuncMap{"json": toJSON}).Parse(body)
	if err != nil {
		return nil, err
	}
	if method == "" {
		method = http.MethodPost
	}
	return &Ticket{URL: url, Method: method, tmpl: t}, nil
}

func toJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// Body is the request body for p.
func (t *Ticket) Body(p Payload) ([]byte, error) {
	text, err := Text(p)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.tmpl.Execute(&b, TicketData{Payload: p, Text: text}); err != nil {
		return nil, fmt.Errorf("ticket template: %w", err)
	}
	if !json.Valid(b.Bytes()) {
		return nil, errors.New("ticket template: the body is not JSON (write values with {{json .Field}})")
	}
	return b.Bytes(), nil
}

// Send makes the ticket.
func (t *Ticket) Send(ctx context.Context, m Message) error {
	body, err := t.Body(m.Payload)
	if err != nil {
		return Permanent(err)
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	switch {
	case !t.Token.IsZero():
		h.Set("Authorization", "Bearer "+t.Token.Reveal())
	case t.Username != "":
		req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
		req.SetBasicAuth(t.Username, t.Password.Reveal())
		h.Set("Authorization", req.Header.Get("Authorization"))
	}
	return post(ctx, t.Client, t.Method, t.URL, h, body)
}
