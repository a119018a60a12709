// Package store is deskbridge's durable state: the schema and its versioned
// migrations, the inbox of webhook events, conversations and their leases,
// and the dead-letter table. It runs on SQLite (embedded, the default) and
// on PostgreSQL (shared by any number of replicas); both speak the same
// queries through a small adapter. Only this package writes SQL.
//
// Identifiers and their invariants:
//   - An inbox event is unique on (source, kind, key). For WhatsApp, key is
//     the wamid for a message and "wamid/status" for a status, so a
//     re-delivered webhook adds nothing; a duplicate only bumps the row's
//     duplicates counter.
//   - A conversation is unique on (source, account, contact): for WhatsApp
//     the business phone_number_id and the contact key (the BSUID when
//     present, else the wa_id). Its id is an opaque int64, frozen once stored.
//   - Events of one conversation are handled in (occurred_at, id) order: the
//     WhatsApp timestamp, then arrival.
//   - A lease on a conversation row gives one worker at a time the right to
//     handle its events, across processes and replicas; a lease that is not
//     renewed expires and another worker takes over.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Kind names a storage backend.
type Kind string

// The storage backends.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// ErrUnreachable marks an error opening or reaching the database.
var ErrUnreachable = errors.New("store unreachable")

// Options tune Open. The zero value is valid.
type Options struct {
	// MaxOpenConns bounds the Postgres pool (0 = pgx default). SQLite always
	// uses one connection: River and SQLite both require it to avoid
	// SQLITE_BUSY.
	MaxOpenConns int
	// Now returns the current time; tests replace it. Defaults to time.Now.
	Now func() time.Time
	// SkipMigrations opens without applying migrations (read-only tools
	// such as `deskbridge status` use it).
	SkipMigrations bool
	// Exclusive takes a lock file next to a SQLite database so that no
	// second process serves from it (serve sets it; Postgres ignores it).
	Exclusive bool
}

// Store is an open database. It is safe for concurrent use.
type Store struct {
	kind   Kind
	sqlDB  *sql.DB       // SQLite
	pool   *pgxpool.Pool // Postgres
	q      querier
	now    func() time.Time
	target string   // URL with no password, for messages
	lock   *os.File // SQLite lock file (Options.Exclusive)
}

// Open connects to the database named by rawURL ("sqlite://path" or
// "postgres://…") and, unless opts.SkipMigrations, applies the store's
// migrations. Errors reaching the database wrap ErrUnreachable.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	s := &Store{now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("store: sqlite:// URL has no file path")
		}
		s.kind, s.target = SQLite, rawURL
		if opts.Exclusive {
			lock, err := lockFile(strings.SplitN(path, "?", 2)[0])
			if err != nil {
				return nil, err
			}
			s.lock = lock
		}
		if err := s.openSQLite(ctx, path); err != nil {
			s.Close()
			return nil, err
		}
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		s.kind, s.target = Postgres, redactURL(rawURL)
		if err := s.openPostgres(ctx, rawURL, opts.MaxOpenConns); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("store: unsupported URL %q: must start with sqlite:// or postgres://", redactURL(rawURL))
	}
	if !opts.SkipMigrations {
		if err := s.migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	// WAL lets `deskbridge status` read while serve writes; synchronous=FULL
	// makes every commit durable before a webhook is acknowledged.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("store: open %s: %w: %w", s.target, ErrUnreachable, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return fmt.Errorf("store: open %s: %w: %w", s.target, ErrUnreachable, err)
	}
	s.sqlDB, s.q = db, sqlQuerier{db}
	return nil
}

// DefaultPostgresConns is the PostgreSQL pool size when neither
// Options.MaxOpenConns nor the URL's pool_max_conns sets one.
const DefaultPostgresConns = 20

func (s *Store) openPostgres(ctx context.Context, rawURL string, maxConns int) error {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return fmt.Errorf("store: parse %s: %w", s.target, errors.New(strings.ReplaceAll(err.Error(), rawURL, s.target)))
	}
	switch {
	case maxConns > 0:
		cfg.MaxConns = int32(maxConns)
	case !strings.Contains(rawURL, "pool_max_conns"):
		// pgx's default (the CPU count, at least 4) starves the workers,
		// the webhook ingest and the queue, which all use the pool.
		cfg.MaxConns = DefaultPostgresConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("store: open %s: %w: %w", s.target, ErrUnreachable, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return fmt.Errorf("store: connect %s: %w: %w", s.target, ErrUnreachable, err)
	}
	s.pool, s.q = pool, pgQuerier{pool}
	return nil
}

// Kind reports the backend.
func (s *Store) Kind() Kind { return s.kind }

// Target is the database URL with any password removed, for messages.
func (s *Store) Target() string { return s.target }

// SQLDB returns the SQLite pool, or nil in Postgres mode. Only queue/ uses
// it, to hand the same pool to River.
func (s *Store) SQLDB() *sql.DB { return s.sqlDB }

// PgPool returns the Postgres pool, or nil in SQLite mode. Only queue/ uses
// it, to hand the same pool to River.
func (s *Store) PgPool() *pgxpool.Pool { return s.pool }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var err error
	if s.kind == SQLite {
		err = s.sqlDB.PingContext(ctx)
	} else {
		err = s.pool.Ping(ctx)
	}
	if err != nil {
		return fmt.Errorf("store: ping %s: %w: %w", s.target, ErrUnreachable, err)
	}
	return nil
}

// Close releases the database. It is safe to call more than once.
func (s *Store) Close() {
	if s.sqlDB != nil {
		_ = s.sqlDB.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if s.lock != nil {
		_ = s.lock.Close()
		s.lock = nil
	}
}

// Tx is an open transaction. Its methods write through the transaction;
// Raw hands the driver's transaction to queue/, so jobs are enqueued in the
// same commit as the rows that need them.
type Tx struct {
	s   *Store
	q   querier
	raw any
}

// Raw returns the driver transaction: *sql.Tx for SQLite, pgx.Tx for
// Postgres.
func (tx *Tx) Raw() any { return tx.raw }

// Store returns the store the transaction belongs to.
func (tx *Tx) Store() *Store { return tx.s }

// WithTx runs fn in a transaction and commits when fn returns nil. On
// Postgres a deadlock or serialization failure reruns fn (up to 3 times),
// so fn must not have effects outside the transaction.
func (s *Store) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	const maxTries = 3
	for try := 1; ; try++ {
		err := s.withTxOnce(ctx, fn)
		if err == nil || s.kind != Postgres || !retryablePgError(err) || try == maxTries {
			return err
		}
	}
}

func (s *Store) withTxOnce(ctx context.Context, fn func(tx *Tx) error) error {
	if s.kind == SQLite {
		stx, err := s.sqlDB.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: begin: %w", err)
		}
		if err := fn(&Tx{s: s, q: sqlQuerier{stx}, raw: stx}); err != nil {
			_ = stx.Rollback()
			return err
		}
		if err := stx.Commit(); err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
		return nil
	}
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("store: begin: %w: %w", ErrUnreachable, err)
	}
	if err := fn(&Tx{s: s, q: pgQuerier{ptx}, raw: ptx}); err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		return strings.Replace(u.String(), ":xxxxx@", ":[redacted]@", 1)
	}
	return u.String()
}

func ms(t time.Time) int64 { return t.UnixMilli() }
