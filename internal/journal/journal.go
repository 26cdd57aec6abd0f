// Package journal is the persistent, tamper-evident record of every run:
// each step's planned action, start, outcome, duration and what changed, and
// who ran it, in an embedded SQLite database (modernc.org/sqlite, pure Go).
//
// # Where it lives
//
// DefaultPath: $ONBOARD_JOURNAL when set; else /var/lib/onboard/journal.db
// for root; else $XDG_STATE_HOME/onboard/journal.db, that is
// ~/.local/state/onboard/journal.db. Open creates a missing folder with
// mode 0700 and a missing file with mode 0600 (SQLite gives the -wal and
// -shm files the same mode); it leaves the modes of existing ones alone.
//
// # What a record holds
//
// Records form one chain over all runs, in the order they were written:
// run-started (operator, trigger, mode, sources, hires, the plan as JSON,
// machine and process), step-started, step-finished (the step's result and
// its planned action), handover-started, handover (the final re-check of a
// step) and run-finished (outcome and counts). The plan is stored exactly,
// since resume runs it: it holds only references to secrets, never their
// values. Every other string of a payload is passed through secret.Scrub
// before it is stored, so a secret that reached a command's output or an
// error is stored as "[redacted]"; a shown run (RunDetail as JSON) has its
// plan scrubbed too.
//
// # Durability and concurrency
//
// Open switches a new file to WAL mode, retrying while other processes
// hold it (SQLite refuses that switch at once, without waiting), then
// creates the schema in one immediate transaction: any number of processes
// may create one journal at the same moment.
//
// Each recording call is one transaction, begun IMMEDIATE, so processes
// sharing a journal queue on SQLite's write lock (busy timeout 10s) instead
// of failing with "database is locked", and every append reads the head of
// the chain and extends it under that lock: several processes keep one
// valid chain. Records that say something finished (run-started,
// step-finished, handover, run-finished) are committed with
// synchronous=FULL: the WAL is fsynced before the call returns, so a step is
// on disk before it can be reported done, even across a power cut.
// step-started and handover-started are committed with synchronous=NORMAL:
// they survive a killed process (SIGKILL included) but may be lost with a
// power cut, together with nothing after them.
//
// # Tamper evidence, and its limits
//
// Every record carries the hash of the previous one (SHA-256 over the
// previous hash, seq, run id, kind, time and the canonical JSON payload), and
// the chain_head row holds the count and the last hash, updated in the same
// transaction. Verify walks the chain and says where it breaks: an edited
// record, a deleted record (in the middle or at the end), records moved to
// other positions, and records inserted by someone who did not (or could not)
// extend the head. It also detects a record rewritten with a recomputed hash,
// by the next record's link to the original.
//
// What it cannot detect on its own: whoever can write the file and knows the
// algorithm (it is not secret: this comment describes it) can recompute the
// chain from any point to the end and rewrite the head, or truncate the chain
// and set the head to the new end. The chain proves that edits were made by
// someone who did not recompute it: a mistaken UPDATE, a hand edit in a SQL
// shell, a tool that does not know about it. To detect the rest, pin the
// head somewhere the journal's writers cannot change (a report, a ticket, a
// log shipped off the machine; Head returns it, as "SEQ:HASH"), and pass it
// back to Verify (`onboard journal verify --expect-head SEQ:HASH`): a
// rewritten or truncated chain no longer holds the pinned record. Records
// after the latest pin are only as trustworthy as the file's permissions.
//
// Whatever acts on records (resume, audit) checks the whole chain first
// with CheckChain or VerifiedRun, which stream over it in constant memory
// and return a *ChainError when it is broken.
package journal

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Journal is an open journal. It is safe for concurrent use; several
// Journals, in one process or many, may share one file.
type Journal struct {
	path string
	w    *sql.DB // one connection: appends of this process queue here, not on SQLite's lock
	r    *sql.DB // readers; WAL lets them read while another connection writes

	// The append statements, prepared once: parsing costs more than running them.
	readHead, insert, moveHead *sql.Stmt

	mu   sync.Mutex // serialises appends and guards the fields below
	sync string     // the synchronous level set on w's connection, "" when unknown
	runs map[string]*runInfo

	// Group commit (see append): the appends waiting, and whether one
	// caller is committing.
	gmu        sync.Mutex
	queue      []*pendingAppend
	committing bool
}

// runInfo is what appends need to know about a run, cached per run.
type runInfo struct {
	actions map[string]string // step id → planned action
}

//go:embed schema/*.sql
var schemaFS embed.FS

// busyTimeout is how long an append waits for another writer: appends take
// milliseconds, so this only runs out when a writer is stuck.
const busyTimeout = 10000

// DefaultPath returns where the journal lives unless configured:
// $ONBOARD_JOURNAL; /var/lib/onboard/journal.db for root;
// $XDG_STATE_HOME/onboard/journal.db; ~/.local/state/onboard/journal.db.
func DefaultPath() (string, error) {
	if p := os.Getenv("ONBOARD_JOURNAL"); p != "" {
		return p, nil
	}
	if os.Geteuid() == 0 {
		return "/var/lib/onboard/journal.db", nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "onboard", "journal.db"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("journal location: %w (set ONBOARD_JOURNAL)", err)
	}
	return filepath.Join(h, ".local", "state", "onboard", "journal.db"), nil
}

// Open opens the journal at path, creating it (and its folder) if needed,
// and brings its schema up to date.
func Open(ctx context.Context, path string) (*Journal, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open journal %s: %w", abs, err)
	}
	// Made here rather than by SQLite, which would use 0644.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		// The error names the file already.
		return nil, fmt.Errorf("open journal: %w", err)
	}
	_ = f.Close()

	uri := (&url.URL{Scheme: "file", Path: abs}).String()
	pragmas := "?_pragma=busy_timeout(" + strconv.Itoa(busyTimeout) + ")"
	// No journal_mode here: a connection's DSN pragmas run when database/sql
	// first connects, where a busy WAL switch cannot be retried (see wal).
	w, err := sql.Open("sqlite", uri+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	j := &Journal{path: abs, w: w, runs: map[string]*runInfo{}}
	if err := j.wal(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open journal %s: %w", abs, err)
	}
	if err := j.migrate(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open journal %s: %w", abs, err)
	}
	for _, p := range []struct {
		s   **sql.Stmt
		sql string
	}{
		{&j.readHead, `SELECT count, last_seq, last_hash FROM chain_head WHERE id = 1`},
		{&j.insert, `INSERT INTO records (seq, run_id, kind, time_ns, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&j.moveHead, `UPDATE chain_head SET count = ?, last_seq = ?, last_hash = ? WHERE id = 1`},
	} {
		if *p.s, err = w.PrepareContext(ctx, p.sql); err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("open journal %s: %w", abs, err)
		}
	}
	// Readers begin deferred transactions: a snapshot, without the write lock.
	j.r, err = sql.Open("sqlite", uri+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open journal %s: %w", abs, err)
	}
	j.r.SetMaxOpenConns(4)
	return j, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Close closes the journal. Everything recorded is already on disk.
func (j *Journal) Close() error {
	return errors.Join(j.readHead.Close(), j.insert.Close(), j.moveHead.Close(), j.r.Close(), j.w.Close())
}

// wal puts the file in WAL mode, which it then keeps for good. Switching
// needs the file to itself, and SQLite answers SQLITE_BUSY at once, without
// waiting on its busy handler, while another connection holds a lock on it
// (seen with modernc.org/sqlite 1.62, SQLite 3.54, when many processes open
// a new journal at the same moment: the busy timeout set before it made no
// difference); so wal retries, with growing pauses, for up to the busy
// timeout.
func (j *Journal) wal(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout * time.Millisecond)
	pause := time.Millisecond
	for {
		var mode string
		err := j.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil && strings.EqualFold(mode, "wal") {
			return nil
		}
		retry := isBusy(err)
		if err == nil {
			err = j.w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
			if err == nil && strings.EqualFold(mode, "wal") {
				return nil
			}
			// Refused outright, or the mode kept (SQLite's other way of
			// saying it could not switch): both worth another try.
			retry = err == nil || isBusy(err)
			if err == nil {
				err = fmt.Errorf("the journal stays in %s mode", mode)
			}
		}
		if !retry || time.Now().After(deadline) {
			return fmt.Errorf("switch to WAL mode: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("switch to WAL mode: %w", ctx.Err())
		case <-time.After(pause + time.Duration(rand.Int64N(int64(pause)))):
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// migrate applies the embedded schema files newer than the database's
// user_version, in one immediate transaction, so that processes opening a
// new journal at once create it once.
func (j *Journal) migrate(ctx context.Context) error {
	names, err := fs.Glob(schemaFS, "schema/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	tx, err := j.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var have int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if have > len(names) {
		return fmt.Errorf("schema version %d is newer than this onboard knows (%d): use a newer onboard", have, len(names))
	}
	if have == len(names) {
		return nil
	}
	for i, name := range names[have:] {
		v, _, ok := strings.Cut(filepath.Base(name), "_")
		if n, err := strconv.Atoi(v); !ok || err != nil || n != have+i+1 {
			return fmt.Errorf("schema file %s is out of sequence", name)
		}
		b, err := schemaFS.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(b)); err != nil {
			return fmt.Errorf("schema %s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(len(names))); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	return nil
}
