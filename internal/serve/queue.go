package serve

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"onboard/internal/serve/store"
)

// RunArgs is the queue job of one scheduled run. Try makes a fresh job
// when a run is queued again (a retry, or a take-over after its instance
// died while River still counts the old job as running).
type RunArgs struct {
	RunID string `json:"run_id" river:"unique"`
	Try   int    `json:"try" river:"unique"`
}

// Kind names the job in River's tables.
func (RunArgs) Kind() string { return "onboard_run" }

// queue is River, with the service's job kind. Both engines speak
// database/sql, so that a run's job is inserted in the transaction that
// stores the event and its runs: accepted means queued.
type queue struct {
	c     *river.Client[*sql.Tx]
	store *store.Store
}

// insertOpts places a job: a due run is available at once (any
// ScheduledAt makes a job "scheduled", which River's scheduler releases
// only every few seconds).
func insertOpts(at time.Time) *river.InsertOpts {
	opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
	if at.After(time.Now()) {
		opts.ScheduledAt = at
	}
	return opts
}

// InsertTx queues a run in tx.
func (q *queue) InsertTx(ctx context.Context, tx *sql.Tx, args RunArgs, at time.Time) (int64, error) {
	res, err := q.c.InsertTx(ctx, tx, args, insertOpts(at))
	if err != nil {
		return 0, fmt.Errorf("queue run %s: %w", args.RunID, err)
	}
	return res.Job.ID, nil
}

// Insert queues a run on its own.
func (q *queue) Insert(ctx context.Context, args RunArgs, at time.Time) (int64, error) {
	res, err := q.c.Insert(ctx, args, insertOpts(at))
	if err != nil {
		return 0, fmt.Errorf("queue run %s: %w", args.RunID, err)
	}
	return res.Job.ID, nil
}

// CancelTx cancels a queued job in tx (a job already finished is left).
func (q *queue) CancelTx(ctx context.Context, tx *sql.Tx, id int64) error {
	_, err := q.c.JobCancelTx(ctx, tx, id)
	if err != nil && !errors.Is(err, river.ErrNotFound) {
		return err
	}
	return nil
}

func (q *queue) Start(ctx context.Context) error { return q.c.Start(ctx) }
func (q *queue) Stop(ctx context.Context) error  { return q.c.Stop(ctx) }

// Depth counts the jobs waiting (available, scheduled, retryable) and the
// age of the oldest available one.
func (q *queue) Depth(ctx context.Context) (int, time.Duration, error) {
	db := q.store.DB
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'onboard_run'
		AND state IN ('available', 'scheduled', 'retryable')`).Scan(&n); err != nil {
		return 0, 0, err
	}
	var age time.Duration
	if q.store.Dialect == store.Postgres {
		var oldest sql.NullTime
		if err := db.QueryRowContext(ctx, `SELECT MIN(scheduled_at) FROM river_job WHERE kind = 'onboard_run' AND state = 'available'`).Scan(&oldest); err != nil {
			return n, 0, err
		}
		if oldest.Valid {
			age = time.Since(oldest.Time)
		}
		return n, age, nil
	}
	// riversqlite stores times as text.
	var s sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT MIN(scheduled_at) FROM river_job WHERE kind = 'onboard_run' AND state = 'available'`).Scan(&s); err != nil {
		return n, 0, err
	}
	if s.Valid {
		for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
			if t, err := time.Parse(layout, s.String); err == nil {
				age = time.Since(t)
				break
			}
		}
	}
	return n, age, nil
}

// queueConfig is what the service tunes in River.
type queueConfig struct {
	ID          string
	Workers     int
	Worker      river.Worker[RunArgs]
	Log         *slog.Logger
	PollEvery   time.Duration
	SoftStop    time.Duration
	MaxAttempts int
}

func (c queueConfig) river(workers *river.Workers) *river.Config {
	return &river.Config{
		ID:                c.ID,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: c.Workers}},
		Workers:           workers,
		Logger:            c.Log,
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: c.PollEvery,
		// A run takes as long as its hosts do; the run's own lease, not a
		// queue timeout, tells a live run from a dead one.
		JobTimeout:      -1,
		MaxAttempts:     c.MaxAttempts,
		SoftStopTimeout: c.SoftStop,
	}
}

// openQueue migrates River's tables and makes a client on the store's
// engine: riversqlite on the embedded file; on PostgreSQL the database/sql
// driver with a pgx listener (LISTEN/NOTIFY for prompt pickup).
func openQueue(ctx context.Context, s *store.Store, cfg queueConfig) (*queue, error) {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, cfg.Worker); err != nil {
		return nil, err
	}
	var drv riverdriver.Driver[*sql.Tx]
	if s.Dialect == store.Postgres {
		drv = riverdatabasesql.NewWithPgxListener(s.DB, s.Pool)
	} else {
		drv = riversqlite.New(s.DB)
	}
	if err := migrateRiver(ctx, drv, s); err != nil {
		return nil, err
	}
	c, err := river.NewClient(drv, cfg.river(workers))
	if err != nil {
		return nil, err
	}
	return &queue{c: c, store: s}, nil
}

// migrateRiver brings River's tables up to date; on PostgreSQL under an
// advisory lock, so instances starting together take turns.
func migrateRiver[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], s *store.Store) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if s.Dialect == store.Postgres {
		conn, err := s.Pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("migrate the queue on %s: %w", s.Where, err)
		}
		defer conn.Release()
		const key = 0x6f6e626f61726472 // "onboardr"
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(key)); err != nil {
			return fmt.Errorf("migrate the queue on %s: %w", s.Where, err)
		}
		defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(key))
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate the queue on %s: %w", s.Where, err)
	}
	return nil
}
