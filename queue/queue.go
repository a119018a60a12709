// Package queue runs deskbridge's durable work: it is the only package that
// knows River. A job names a conversation, not a message; the worker takes
// the conversation's lease in the store and handles its pending inbox
// events one at a time in WhatsApp-timestamp order (arrival breaks ties), so
// one conversation is never worked by two workers at once, across processes
// and replicas, while different conversations run in parallel.
//
// Jobs are enqueued in the same database transaction as the events that
// need them (EnqueueTx), so an acknowledged webhook always has its work
// queued. The handler's error decides each event's fate (see errors.go):
// done, retried with backoff, snoozed, or moved to the dead-letter table.
// A reconciler re-enqueues conversations whose events wait with no live
// lease, so no event is left behind by a lost job.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/telemetry"
)

// Handler handles one inbox event. It is called for one conversation at a
// time, in order; it must be idempotent, since an event whose outcome was
// not recorded (crash, lost lease) is handled again.
type Handler interface {
	Handle(ctx context.Context, ev *store.Event) error
}

// BatchHandler is a Handler that may handle several of a conversation's
// pending events at once (to coalesce them into one vendor write). It is
// offered the head event and up to Config.MaxBatch-1 due events that follow
// it, in order, and returns how many leading events it handled; those are
// marked done. A non-nil err is the failure of the event right after them,
// and is retried, snoozed or dead-lettered like a Handler's error.
type BatchHandler interface {
	Handler
	HandleBatch(ctx context.Context, evs []*store.Event) (handled int, err error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev *store.Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, ev *store.Event) error { return f(ctx, ev) }

// Config tunes the queue. Zero fields take the defaults in WithDefaults.
type Config struct {
	Workers           int           // concurrent jobs per process (8)
	MaxAttempts       int           // attempts per event before it is dead-lettered (10)
	LeaseTTL          time.Duration // conversation lease, renewed every third of it (30s)
	JobTimeout        time.Duration // one job's time limit (1m)
	RescueAfter       time.Duration // a running job older than this is presumed dead (2m)
	PollInterval      time.Duration // how often idle workers look for jobs (200ms)
	ReconcileInterval time.Duration // how often to look for events with no job (30s)
	ReconcileAfter    time.Duration // an event pending this long with no lease is re-enqueued (2m)
	RetryBase         time.Duration // first retry delay (1s)
	RetryMax          time.Duration // longest retry delay (10m)
	MaxEventsPerJob   int           // events one job drains before yielding (100)
	MaxBatch          int           // events offered at once to a BatchHandler (50)
	Logger            *slog.Logger
	Metrics           *telemetry.Metrics // nil: not counted
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.MaxEventsPerJob <= 0 {
		c.MaxEventsPerJob = 100
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 50
	}
	def(&c.LeaseTTL, 30*time.Second)
	def(&c.JobTimeout, time.Minute)
	def(&c.RescueAfter, 2*time.Minute)
	def(&c.PollInterval, 200*time.Millisecond)
	def(&c.ReconcileInterval, 30*time.Second)
	def(&c.ReconcileAfter, 2*time.Minute)
	def(&c.RetryBase, time.Second)
	def(&c.RetryMax, 10*time.Minute)
	if c.RescueAfter <= c.JobTimeout {
		c.RescueAfter = c.JobTimeout + time.Second
	}
	if c.Logger == nil {
		c.Logger = telemetry.DiscardLogger()
	}
	return c
}

// backend is the River client behind the queue, for one driver.
type backend interface {
	migrate(ctx context.Context) error
	checkMigrations(ctx context.Context) error
	insertTx(ctx context.Context, tx *store.Tx, conversationIDs []int64) error
	insert(ctx context.Context, conversationIDs []int64) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
}

// Queue is the durable work queue. Create it with New, then Start it; jobs
// may be enqueued (EnqueueTx) whether or not it is started, e.g. by a
// process that only ingests.
type Queue struct {
	st      *store.Store
	h       Handler
	cfg     Config
	log     *slog.Logger
	id      string
	be      backend
	running atomic.Bool

	mu        sync.Mutex
	stopRecon context.CancelFunc
	reconDone chan struct{}
}

// New creates a queue over st and applies River's migrations.
func New(ctx context.Context, st *store.Store, h Handler, cfg Config) (*Queue, error) {
	cfg = cfg.WithDefaults()
	q := &Queue{st: st, h: h, cfg: cfg, log: cfg.Logger.With("component", "queue"), id: processID()}
	var err error
	switch st.Kind() {
	case store.SQLite:
		q.be, err = newSQLiteBackend(q)
	case store.Postgres:
		q.be, err = newPgBackend(q)
	default:
		err = fmt.Errorf("unknown store kind %q", st.Kind())
	}
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := q.be.migrate(ctx); err != nil {
		return nil, fmt.Errorf("queue: migrate: %w", err)
	}
	return q, nil
}

func processID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// EnqueueTx makes sure each conversation has a job, inside tx, so the jobs
// commit or roll back with the events that need them. A conversation whose
// job is queued and not yet started gets no second one: that job drains
// the new events too.
func (q *Queue) EnqueueTx(ctx context.Context, tx *store.Tx, conversationIDs []int64) error {
	if len(conversationIDs) == 0 {
		return nil
	}
	need, err := tx.ClaimJobs(ctx, conversationIDs)
	if err != nil {
		return fmt.Errorf("queue: enqueue: %w", err)
	}
	if len(need) == 0 {
		return nil
	}
	if err := q.be.insertTx(ctx, tx, need); err != nil {
		return fmt.Errorf("queue: enqueue: %w", err)
	}
	return nil
}

// Enqueue enqueues one job per conversation outside any transaction,
// whether or not one is queued already (the reconciler's safety net).
func (q *Queue) Enqueue(ctx context.Context, conversationIDs []int64) error {
	if len(conversationIDs) == 0 {
		return nil
	}
	if err := q.be.insert(ctx, conversationIDs); err != nil {
		return fmt.Errorf("queue: enqueue: %w", err)
	}
	return nil
}

// Start starts the workers and the reconciler. They run until Stop.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.be.start(ctx); err != nil {
		return fmt.Errorf("queue: start: %w", err)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.mu.Lock()
	q.stopRecon, q.reconDone = cancel, make(chan struct{})
	done := q.reconDone
	q.mu.Unlock()
	go q.reconcileLoop(rctx, done)
	q.running.Store(true)
	q.log.InfoContext(ctx, "queue started", "workers", q.cfg.Workers, "process", q.id)
	return nil
}

// Stop stops taking jobs and waits for running ones until ctx ends; jobs
// still running then are cancelled (their events stay pending and are taken
// up again later).
func (q *Queue) Stop(ctx context.Context) error {
	q.running.Store(false)
	q.mu.Lock()
	cancel, done := q.stopRecon, q.reconDone
	q.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if err := q.be.stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("queue: stop: %w", err)
	}
	return nil
}

// Running reports whether the workers are running.
func (q *Queue) Running() bool { return q.running.Load() }

// Check reports whether River's tables are migrated; /readyz uses it.
func (q *Queue) Check(ctx context.Context) error {
	if err := q.be.checkMigrations(ctx); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}

// reconcileLoop periodically re-enqueues conversations that have events
// waiting with no live lease, in case their job was lost.
func (q *Queue) reconcileLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(q.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := q.Reconcile(ctx); err != nil && ctx.Err() == nil {
				q.log.WarnContext(ctx, "reconcile failed", slog.Any("error", err))
			}
		}
	}
}

// Reconcile enqueues a job for every conversation with an event pending for
// longer than ReconcileAfter and no live lease, and returns how many.
func (q *Queue) Reconcile(ctx context.Context) (int, error) {
	ids, err := q.st.ConversationsWithPending(ctx, q.st.Now().Add(-q.cfg.ReconcileAfter), 1000)
	if err != nil {
		return 0, err
	}
	if err := q.Enqueue(ctx, ids); err != nil {
		return 0, err
	}
	if len(ids) > 0 {
		q.log.InfoContext(ctx, "re-enqueued conversations with waiting events", "conversations", len(ids))
	}
	return len(ids), nil
}
