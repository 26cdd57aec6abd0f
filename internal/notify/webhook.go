package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"onboard/internal/hrevent"
	"onboard/internal/secret"
)

// Webhook posts the payload as JSON, signed the way onboard's own HR
// intake verifies a delivery (hrevent.Sign: Onboard-Timestamp and
// Onboard-Signature, v1=HMAC-SHA256(key, timestamp "." body)), so a
// receiver can reuse hrevent.Verify. Onboard-Event-Id is the notification's
// key: a receiver that saw it already can drop a redelivery.
type Webhook struct {
	URL    string
	Key    secret.Value
	Client *http.Client
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// Header names beyond hrevent's.
const headerEvent = "Onboard-Notification"

// Send posts m.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := WebhookBody(m.Payload)
	if err != nil {
		return Permanent(err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts, sig := hrevent.Sign([]byte(w.Key.Reveal()), now(), body)
	h := http.Header{}
	h.Set(hrevent.HeaderTimestamp, ts)
	h.Set(hrevent.HeaderSignature, sig)
	h.Set(hrevent.HeaderEventID, m.Key)
	h.Set(headerEvent, m.Event)
	return post(ctx, w.Client, http.MethodPost, w.URL, h, body)
}

// WebhookBody is the JSON a webhook receives: the payload, indented.
func WebhookBody(p Payload) ([]byte, error) {
	return json.MarshalIndent(p, "", "  ")
}
