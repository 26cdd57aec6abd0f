// Package serve is `onboard serve`: HR and identity-provider events become
// hires, each hire a generated playbook and its runs scheduled around the
// start date on a job queue (River, on the embedded SQLite file or on a
// shared PostgreSQL), executed by the engine with the journal, and shown on
// a status page, a JSON API and Prometheus metrics.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"onboard/internal/inventory"
	"onboard/internal/journal"
	"onboard/internal/serve/store"
)

// Person is what HR says of a hire. Every field is untrusted data.
type Person struct {
	EmployeeID    string `json:"employee_id"`
	GivenName     string `json:"given_name,omitempty"`
	Surname       string `json:"surname,omitempty"`
	PreferredName string `json:"preferred_name,omitempty"`
	Title         string `json:"title,omitempty"`
	Department    string `json:"department,omitempty"`
	Manager       string `json:"manager,omitempty"`
	Email         string `json:"email,omitempty"`
	Location      string `json:"location,omitempty"`
	CostCenter    string `json:"cost_center,omitempty"`
	StartDate     string `json:"start_date,omitempty"` // YYYY-MM-DD
	// Workstation is a machine HR or IT assigned (an inventory host).
	Workstation string `json:"workstation,omitempty"`
}

// Assignment is where the mapping puts a hire: the inventory's hr rules.
type Assignment struct {
	Rule      string   `json:"rule"`
	RuleAt    string   `json:"rule_at,omitempty"`
	Profile   string   `json:"profile"`
	Directory string   `json:"directory,omitempty"`
	JoinOU    string   `json:"join_ou,omitempty"`
	Host      string   `json:"host,omitempty"`
	Pool      []string `json:"pool,omitempty"`
	Groups    []string `json:"groups,omitempty"`
	// PasswordDeliver is the playbook's password.deliver (file:PATH).
	PasswordDeliver string   `json:"password_deliver,omitempty"`
	HandoverContact string   `json:"handover_contact,omitempty"`
	HandoverReports []string `json:"handover_reports,omitempty"`
	// Slots are the runs' times, in phase order.
	Slots []Slot `json:"slots"`
}

// Slot is when one phase runs.
type Slot struct {
	Phase string    `json:"phase"`
	At    time.Time `json:"at"`
}

// ErrHeld wraps a mapper's reason to hold an event for a technician (no
// rule matches, a workstation the rule does not allow): it is never
// dropped, and never run until approved.
var ErrHeld = errors.New("held for a technician")

// ErrSetup wraps a configuration the service cannot start with (the
// inventory or its hr section does not validate).
var ErrSetup = errors.New("invalid setup")

// Mapper places a person: the inventory's hr section. It is called with
// the inventory of the moment, so a fixed mapping applies to the next
// event (or to an approval).
type Mapper func(p Person) (*Assignment, error)

// Config configures a service.
type Config struct {
	// Database is a postgres:// URL, or the path of the SQLite file.
	Database string
	// Inventory are the inventory files or folders (read at each run, so a
	// fix applies to the next attempt).
	Inventory []string
	// Profiles are extra profile folders, searched first.
	Profiles []string
	// AllowWrite are folders reports and password files may be written in,
	// besides the inventory's playbooks.write.
	AllowWrite []string
	// StateDir holds the generated playbooks (one per hire, for a
	// technician to read or run by hand).
	StateDir string
	// Journal is where every run is recorded.
	Journal *journal.Journal
	// Mapper places hires; nil reads the inventory's hr section.
	Mapper Mapper
	// LeavePolicy gives a leave's zone and retention; nil reads the
	// inventory (hr timezone, the directory's leavers.retention_days).
	LeavePolicy func(a *Assignment) (LeavePolicy, error)
	// Offboard builds a leaver's offboard and purge plans; nil plans them
	// as onboard offboard does, from the Journal's record of the setup
	// (with no Journal either, those runs fail, saying so).
	Offboard OffboardFunc
	// Workers is how many runs this instance works on at once.
	Workers int
	// GlobalLimit bounds the runs of all instances together (0: no bound
	// beyond Workers per instance).
	GlobalLimit int
	// DirectoryLimit bounds concurrent runs against one directory (K).
	DirectoryLimit int
	// Lease is how long a run is held without a heartbeat before another
	// instance may take it over (its holder is presumed dead).
	Lease time.Duration
	// Retries is how many times a run is queued again after a transient
	// fault (a host or directory unreachable), with backoff.
	Retries int
	// StopTimeout is how long a stopping instance lets running runs go on
	// before it interrupts them (they resume elsewhere or at the next start).
	StopTimeout time.Duration
	// PollEvery is how often the queue looks for due jobs (SQLite has no
	// notifications; PostgreSQL's LISTEN makes it mostly moot).
	PollEvery time.Duration
	// StepRetries is how many times a step is tried again within a run
	// after a transient fault.
	StepRetries int
	// DialTimeout bounds connecting to a host.
	DialTimeout time.Duration
	// Instance names this instance in leases and the journal; default
	// hostname:pid.
	Instance string
	Log      *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Service is a running onboard serve instance.
type Service struct {
	cfg   Config
	store *store.Store
	queue *queue
	log   *slog.Logger
	now   func() time.Time
	stats *metrics

	cancel context.CancelFunc
	wg     sync.WaitGroup
	notes  notifications // deliveries of finished runs (notify.go)
	// lastInv is the last inventory that loaded (unbuilt.go).
	lastInv lastInventory
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.DirectoryLimit <= 0 {
		c.DirectoryLimit = 4
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = 30 * time.Second
	}
	if c.PollEvery <= 0 {
		c.PollEvery = time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.Instance == "" {
		h, _ := os.Hostname()
		c.Instance = fmt.Sprintf("%s:%d", h, os.Getpid())
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LeavePolicy == nil {
		c.LeavePolicy = inventoryLeavePolicy(c.Inventory)
	}
}

// Open opens the database, migrates it and prepares the queue; Start
// begins working.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	cfg.defaults()
	var inv *inventory.Inventory
	if cfg.Mapper == nil {
		var err error
		if inv, err = validateMapping(cfg.Inventory, cfg.Profiles); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSetup, err)
		}
		cfg.Mapper = inventoryMapper(cfg.Inventory)
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: st, log: cfg.Log, now: cfg.Now, stats: newMetrics()}
	s.lastInv.inv, s.lastInv.at = inv, s.now()
	q, err := openQueue(ctx, st, queueConfig{ID: sanitizeID(cfg.Instance), Workers: cfg.Workers, Worker: &runWorker{s: s},
		Log: cfg.Log, PollEvery: cfg.PollEvery, SoftStop: cfg.StopTimeout, MaxAttempts: cfg.Retries + 1})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("queue on %s: %w", st.Where, err)
	}
	s.queue = q
	return s, nil
}

// sanitizeID makes an instance name River accepts as a client id.
func sanitizeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Store is the service's database (the API and tests read it).
func (s *Service) Store() *store.Store { return s.store }

// Start begins taking work: the queue's workers, and the sweeper that
// queues runs a stopped instance left unqueued and takes over runs whose
// instance died.
func (s *Service) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := s.queue.Start(ctx); err != nil {
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.sweep(ctx)
	}()
	return nil
}

// Stop stops taking work, lets running runs go on for StopTimeout, then
// interrupts them (each is handed back to the schedule, to resume from its
// journal at the next start or on another instance), and closes the
// database.
func (s *Service) Stop(ctx context.Context) error {
	var errs []error
	if s.cancel != nil {
		errs = append(errs, s.queue.Stop(ctx))
		s.cancel()
		s.wg.Wait()
	}
	s.drainNotifications(ctx)
	errs = append(errs, s.store.Close())
	return errors.Join(errs...)
}
