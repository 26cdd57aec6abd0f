-- onboard serve's own tables, beside River's. Portable SQL: SQLite and
-- PostgreSQL. Times are Unix milliseconds (BIGINT), documents JSON text.

-- +goose Up
CREATE TABLE onboard_events (
    id          TEXT PRIMARY KEY,          -- hr:<event id>, scim:<user id>:<n>
    source      TEXT NOT NULL,             -- hr | scim
    type        TEXT NOT NULL,             -- hire | change | cancel
    employee_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body        TEXT NOT NULL,             -- the decoded event, JSON
    result      TEXT NOT NULL,             -- scheduled | held | rescheduled | cancelled | ignored
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX onboard_events_employee ON onboard_events (employee_id, received_at);

CREATE TABLE onboard_hires (
    employee_id TEXT PRIMARY KEY,
    state       TEXT NOT NULL,             -- held | scheduled | cancelled
    generation  INTEGER NOT NULL,          -- bumped by every change: older runs are superseded
    person      TEXT NOT NULL,             -- JSON
    assignment  TEXT NOT NULL DEFAULT '',  -- JSON: rule, profile, host, directory
    playbook    TEXT NOT NULL DEFAULT '',  -- the generated playbook, YAML
    start_date  TEXT NOT NULL,
    trigger     TEXT NOT NULL,             -- hr:<event id> | scim:<user id>
    held_reason TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE onboard_runs (
    id           TEXT PRIMARY KEY,
    employee_id  TEXT NOT NULL,
    generation   INTEGER NOT NULL,
    phase        TEXT NOT NULL,            -- account | machine | activation
    state        TEXT NOT NULL,            -- scheduled | running | ok | failed | cancelled | superseded
    trigger      TEXT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    started_at   BIGINT NOT NULL DEFAULT 0,
    finished_at  BIGINT NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    holder       TEXT NOT NULL DEFAULT '', -- the instance running it
    lease_until  BIGINT NOT NULL DEFAULT 0,
    plan         TEXT NOT NULL DEFAULT '', -- the plan of the first attempt, JSON: later attempts resume it
    journal_run  TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    result       TEXT NOT NULL DEFAULT '', -- result.Run, JSON (scrubbed)
    job_id       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX onboard_runs_employee ON onboard_runs (employee_id, generation);
CREATE INDEX onboard_runs_state ON onboard_runs (state, scheduled_at);

-- Leases bound concurrency across instances: a resource (a directory, a
-- workstation, the whole service) has a number of slots, each held by one
-- run until it is released or its lease runs out (the holder died).
CREATE TABLE onboard_leases (
    resource TEXT NOT NULL,
    slot     INTEGER NOT NULL,
    holder   TEXT NOT NULL,
    run_id   TEXT NOT NULL,
    expires  BIGINT NOT NULL,
    PRIMARY KEY (resource, slot)
);

CREATE TABLE onboard_scim_users (
    id          TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL UNIQUE,
    external_id TEXT NOT NULL DEFAULT '',
    employee_id TEXT NOT NULL,
    active      INTEGER NOT NULL,
    resource    TEXT NOT NULL,             -- the user, JSON
    version     INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE onboard_scim_users;
DROP TABLE onboard_leases;
DROP TABLE onboard_runs;
DROP TABLE onboard_hires;
DROP TABLE onboard_events;
