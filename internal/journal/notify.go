package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Notification is the kind of a record that says how one attempt to
// deliver a notification went (internal/notify).
const Notification Kind = "notification"

// Statuses of a notification record.
const (
	NotifySent   = "sent"    // delivered: the receiver accepted it
	NotifyFailed = "failed"  // this attempt failed; another may follow
	NotifyGaveUp = "gave-up" // the last attempt failed: it was not delivered
)

// NotificationRecord is one delivery attempt of a notification. It is
// recorded under the run whose outcome it tells of, after that run's
// records; its strings are scrubbed of secrets like every payload.
type NotificationRecord struct {
	// Key says which notification: origin run / hire / event. A resumed
	// run has its origin's key, so what was sent is not sent again.
	Key     string   `json:"key"`
	Channel string   `json:"channel"`
	Event   string   `json:"event"`
	Hire    string   `json:"hire"`
	To      []string `json:"to,omitempty"`
	Attempt int      `json:"attempt"`
	Status  string   `json:"status"`
	Reason  string   `json:"reason,omitempty"`
}

// RecordNotification records one delivery attempt under runID, fsynced
// before it returns, so that a resumed run never sends a notification
// that was recorded sent.
func (j *Journal) RecordNotification(ctx context.Context, runID string, n NotificationRecord, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	b, err := canonical(n)
	if err != nil {
		return err
	}
	return j.recordEntries(context.WithoutCancel(ctx), runID, true, entry{runID: runID, kind: Notification, time: at, payload: b})
}

// NotificationSent reports whether the notification key was recorded sent
// through channel, by any run.
func (j *Journal) NotificationSent(ctx context.Context, key, channel string) (bool, error) {
	var one int
	err := j.r.QueryRowContext(ctx, `SELECT 1 FROM records
WHERE kind = 'notification' AND (CASE WHEN json_valid(payload) THEN json_extract(payload, '$.key') END) = ?
AND json_extract(payload, '$.channel') = ? AND json_extract(payload, '$.status') = 'sent' LIMIT 1`, key, channel).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: notification %s via %s: %w", key, channel, err)
	}
	return true, nil
}

// Notifications returns the notification records of a run, in order.
func (d *RunDetail) Notifications() []NotificationRecord {
	var out []NotificationRecord
	for _, r := range d.Records {
		if r.Kind == Notification && r.Notification != nil {
			out = append(out, *r.Notification)
		}
	}
	return out
}
