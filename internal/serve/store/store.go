// Package store is onboard serve's database: the HR events it accepted, the
// hires they made, the scheduled runs and the leases that bound concurrency
// across instances, beside the job queue's own tables (River). One SQL
// dialect serves both engines: an embedded SQLite file for one machine, and
// PostgreSQL when several instances share the work.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// ErrNotFound is returned when a hire, run or event does not exist.
var ErrNotFound = errors.New("not found")

// Store is the open database.
type Store struct {
	DB *sql.DB
	// Pool is the PostgreSQL pool (nil on SQLite): the queue's driver
	// wants pgx itself, for LISTEN/NOTIFY.
	Pool    *pgxpool.Pool
	Dialect string
	// Where names the database in errors and logs, without a password.
	Where string
}

// Open opens the database: a postgres:// or postgresql:// URL, or else the
// path of an SQLite file (created, mode 0600, with its folder).
func Open(ctx context.Context, database string) (*Store, error) {
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return openPostgres(ctx, database)
	}
	return openSQLite(ctx, database)
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	_ = f.Close()
	uri := (&url.URL{Scheme: "file", Path: abs}).String() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}
	// River's SQLite driver wants one connection (SQLite runs one writer
	// at a time; more connections only trade waiting for SQLITE_BUSY).
	db.SetMaxOpenConns(1)
	s := &Store{DB: db, Dialect: SQLite, Where: abs}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	where := redactDSN(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", where, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s: %w", where, err)
	}
	s := &Store{DB: stdlib.OpenDBFromPool(pool), Pool: pool, Dialect: Postgres, Where: where}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// redactDSN drops the password from a database URL, for messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// migrate brings onboard's tables up to date. On PostgreSQL instances that
// start together take turns (goose's advisory lock).
func (s *Store) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if s.Dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	opts = append(opts, goose.WithTableName("onboard_schema_version"))
	p, err := goose.NewProvider(dialect, s.DB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", s.Where, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", s.Where, err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.DB.Close()
	if s.Pool != nil {
		s.Pool.Close()
	}
	return err
}

// ms and fromMS convert times to the stored Unix milliseconds.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Tx runs fn in one transaction (IMMEDIATE on SQLite: the write lock is
// taken at the start, so two writers queue instead of failing).
func (s *Store) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("database %s: %w", s.Where, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("database %s: commit: %w", s.Where, err)
	}
	return nil
}

// Querier is a database or a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
