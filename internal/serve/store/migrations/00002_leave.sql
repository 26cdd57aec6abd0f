-- A leave's runs (offboard, purge) remember when the leave takes effect:
-- a purge's retention counts from it, and a late run still names it.

-- +goose Up
ALTER TABLE onboard_runs ADD COLUMN effective_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE onboard_runs DROP COLUMN effective_at;
