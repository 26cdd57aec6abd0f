package journal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"onboard/internal/secret"
)

// Notification attempts are chained records of their run, scrubbed, read
// back by show, and looked up by key and channel for a resumed run.
func TestNotificationRecords(t *testing.T) {
	ctx := context.Background()
	j, path := openTemp(t)
	id, err := j.StartRun(ctx, RunStart{ID: "r1", Operator: "t", Trigger: "cli", Plan: testPlan()})
	if err != nil {
		t.Fatal(err)
	}
	pw := secret.New("notify-secret-5d2c")
	key := "r1/E1/failure"
	for _, n := range []NotificationRecord{
		{Key: key, Channel: "mail", Event: "failure", Hire: "E1", Attempt: 1, Status: NotifyFailed, Reason: "dial: refused (password " + pw.Reveal() + ")"},
		{Key: key, Channel: "mail", Event: "failure", Hire: "E1", Attempt: 2, Status: NotifySent},
		{Key: key, Channel: "chat", Event: "failure", Hire: "E1", Attempt: 1, Status: NotifyGaveUp, Reason: "400"},
	} {
		if err := j.RecordNotification(ctx, id, n, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.RecordNotification(ctx, "nope", NotificationRecord{Key: "k"}, time.Now()); err == nil {
		t.Error("a notification of a run never started was recorded")
	}
	for _, tc := range []struct {
		key, channel string
		want         bool
	}{{key, "mail", true}, {key, "chat", false}, {"r1/E1/handover-ready", "mail", false}, {"r2/E1/failure", "mail", false}} {
		got, err := j.NotificationSent(ctx, tc.key, tc.channel)
		if err != nil || got != tc.want {
			t.Errorf("NotificationSent(%s, %s) = %v %v, want %v", tc.key, tc.channel, got, err, tc.want)
		}
	}
	d, err := j.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ns := d.Notifications()
	if len(ns) != 3 || ns[1].Status != NotifySent || ns[0].Attempt != 1 {
		t.Fatalf("notifications %+v", ns)
	}
	if strings.Contains(ns[0].Reason, pw.Reveal()) || !strings.Contains(ns[0].Reason, secret.Redacted) {
		t.Errorf("reason not scrubbed: %q", ns[0].Reason)
	}
	if err := j.CheckChain(ctx); err != nil {
		t.Errorf("chain: %v", err)
	}

	// A gave-up edited into sent (to hide a notification that never
	// arrived) breaks the chain at that record.
	db := raw(t, path)
	sqlExec(t, db, `UPDATE records SET payload = replace(payload, '"gave-up"', '"sent"') WHERE kind = 'notification' AND payload LIKE '%gave-up%'`)
	var ce *ChainError
	if err := j.CheckChain(ctx); !errors.As(err, &ce) || !strings.Contains(err.Error(), string(Edited)) {
		t.Errorf("an edited notification record: %v, want a chain error naming the edit", err)
	}
}
