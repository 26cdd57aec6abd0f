-- Notification records: each delivery attempt's outcome (internal/notify).
-- A resumed run asks whether a notification was already sent by its key
-- (origin run / hire / event) and channel.
CREATE INDEX records_notification ON records ((CASE WHEN json_valid(payload) THEN json_extract(payload, '$.key') END))
WHERE kind = 'notification';
