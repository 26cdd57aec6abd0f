-- The journal: one hash chain of records over every run, and its head.
--
-- records is append-only. seq is the position in the chain, assigned from
-- chain_head (never from max(seq), so a deleted last record stays missing).
-- The payload is canonical JSON (sorted keys, secrets scrubbed); hash is
-- SHA-256 over the previous hash, seq, run_id, kind, time_ns and payload.
-- The generated columns only index the payload for queries: they cannot be
-- edited on their own, so a query never disagrees with what the chain covers.
CREATE TABLE records (
	seq       INTEGER PRIMARY KEY,
	run_id    TEXT    NOT NULL,
	kind      TEXT    NOT NULL,
	time_ns   INTEGER NOT NULL,
	payload   TEXT    NOT NULL,
	prev_hash TEXT    NOT NULL,
	hash      TEXT    NOT NULL,
	step_id   TEXT GENERATED ALWAYS AS (CASE WHEN json_valid(payload) THEN json_extract(payload, '$.step.id') END) VIRTUAL,
	hire      TEXT GENERATED ALWAYS AS (CASE WHEN json_valid(payload) THEN json_extract(payload, '$.step.hire') END) VIRTUAL,
	outcome   TEXT GENERATED ALWAYS AS (CASE WHEN json_valid(payload) THEN json_extract(payload, '$.step.outcome') END) VIRTUAL
) STRICT;

-- One run-started and at most one run-finished record per run.
CREATE UNIQUE INDEX records_run_started ON records (run_id) WHERE kind = 'run-started';
CREATE UNIQUE INDEX records_run_finished ON records (run_id) WHERE kind = 'run-finished';
-- A run's records in order; its counts by kind and outcome.
CREATE INDEX records_run ON records (run_id, kind, outcome);
-- history: runs by start time.
CREATE INDEX records_started ON records (time_ns) WHERE kind = 'run-started';
-- resume and audit: the latest result of each step of a hire.
CREATE INDEX records_hire_step ON records (hire, step_id, seq) WHERE kind IN ('step-finished', 'handover');

-- The head of the chain, updated in the transaction of every append. It
-- anchors the end of the chain: without it, deleting the last records would
-- leave a shorter chain that still verifies.
CREATE TABLE chain_head (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	count     INTEGER NOT NULL,
	last_seq  INTEGER NOT NULL,
	last_hash TEXT    NOT NULL
) STRICT;

INSERT INTO chain_head (id, count, last_seq, last_hash)
VALUES (1, 0, 0, '0000000000000000000000000000000000000000000000000000000000000000');
