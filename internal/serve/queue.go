package serve

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
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

// queue is the part of River the service uses, whatever the driver.
type queue interface {
	Insert(ctx context.Context, args RunArgs, at time.Time) (jobID int64, err error)
	Cancel(ctx context.Context, jobID int64) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	// Depth counts the jobs waiting (available, scheduled, retryable) and
	// the age of the oldest available one.
	Depth(ctx context.Context) (waiting int, oldest time.Duration, err error)
}

type riverQueue[TTx any] struct {
	c     *river.Client[TTx]
	db    *sql.DB
	store *store.Store
}

func (q *riverQueue[TTx]) Insert(ctx context.Context, args RunArgs, at time.Time) (int64, error) {
	res, err := q.c.Insert(ctx, args, &river.InsertOpts{ScheduledAt: at, UniqueOpts: river.UniqueOpts{ByArgs: true}})
	if err != nil {
		return 0, fmt.Errorf("queue run %s: %w", args.RunID, err)
	}
	return res.Job.ID, nil
}

func (q *riverQueue[TTx]) Cancel(ctx context.Context, id int64) error {
	_, err := q.c.JobCancel(ctx, id)
	if err != nil && !errors.Is(err, river.ErrNotFound) {
		return err
	}
	return nil
}

func (q *riverQueue[TTx]) Start(ctx context.Context) error         { return q.c.Start(ctx) }
func (q *riverQueue[TTx]) Stop(ctx context.Context) error          { return q.c.Stop(ctx) }
func (q *riverQueue[TTx]) StopAndCancel(ctx context.Context) error { return q.c.StopAndCancel(ctx) }

func (q *riverQueue[TTx]) Depth(ctx context.Context) (int, time.Duration, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'onboard_run'
		AND state IN ('available', 'scheduled', 'retryable')`).Scan(&n); err != nil {
		return 0, 0, err
	}
	var oldest sql.NullTime
	var age time.Duration
	if q.store.Dialect == store.Postgres {
		if err := q.db.QueryRowContext(ctx, `SELECT MIN(scheduled_at) FROM river_job WHERE kind = 'onboard_run' AND state = 'available'`).Scan(&oldest); err != nil {
			return n, 0, err
		}
		if oldest.Valid {
			age = time.Since(oldest.Time)
		}
		return n, age, nil
	}
	// riversqlite stores times as text.
	var s sql.NullString
	if err := q.db.QueryRowContext(ctx, `SELECT MIN(scheduled_at) FROM river_job WHERE kind = 'onboard_run' AND state = 'available'`).Scan(&s); err != nil {
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
// engine: riversqlite on the embedded file, riverpgxv5 (LISTEN/NOTIFY for
// prompt pickup) on PostgreSQL.
func openQueue(ctx context.Context, s *store.Store, cfg queueConfig) (queue, error) {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, cfg.Worker); err != nil {
		return nil, err
	}
	if s.Dialect == store.Postgres {
		drv := riverpgxv5.New(s.Pool)
		if err := migrateRiver(ctx, drv, s); err != nil {
			return nil, err
		}
		c, err := river.NewClient[pgx.Tx](drv, cfg.river(workers))
		if err != nil {
			return nil, err
		}
		return &riverQueue[pgx.Tx]{c: c, db: s.DB, store: s}, nil
	}
	drv := riversqlite.New(s.DB)
	if err := migrateRiver(ctx, drv, s); err != nil {
		return nil, err
	}
	c, err := river.NewClient[*sql.Tx](drv, cfg.river(workers))
	if err != nil {
		return nil, err
	}
	return &riverQueue[*sql.Tx]{c: c, db: s.DB, store: s}, nil
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
