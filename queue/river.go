package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/deskbridge/deskbridge/store"
)

// conversationArgs is the one job kind so far: work a conversation's
// pending inbox events.
type conversationArgs struct {
	ConversationID int64 `json:"conversation_id"`
}

// Kind implements river.JobArgs.
func (conversationArgs) Kind() string { return "conversation" }

// riverBackend is the River client for one driver's transaction type.
type riverBackend[TTx any] struct {
	q        *Queue
	driver   riverdriver.Driver[TTx]
	client   *river.Client[TTx]
	migrator *rivermigrate.Migrator[TTx]
}

func newSQLiteBackend(q *Queue) (backend, error) {
	return newRiverBackend(q, riversqlite.New(q.st.SQLDB()))
}

func newPgBackend(q *Queue) (backend, error) {
	return newRiverBackend(q, riverpgxv5.New(q.st.PgPool()))
}

func newRiverBackend[TTx any](q *Queue, driver riverdriver.Driver[TTx]) (*riverBackend[TTx], error) {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &conversationWorker{q: q}); err != nil {
		return nil, err
	}
	cfg := q.cfg
	client, err := river.NewClient(driver, &river.Config{
		ID:                   q.id,
		Logger:               cfg.Logger.With("component", "river"),
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, 50*time.Millisecond),
		MaxAttempts:          jobMaxAttempts(cfg),
		RetryPolicy:          retryPolicy{cfg},
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		ErrorHandler:         errorHandler{q},
	})
	if err != nil {
		return nil, err
	}
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: cfg.Logger.With("component", "river-migrate")})
	if err != nil {
		return nil, err
	}
	return &riverBackend[TTx]{q: q, driver: driver, client: client, migrator: migrator}, nil
}

// jobMaxAttempts leaves room above the per-event limit: the worker dead-
// letters an event after MaxAttempts of its own, and a job is retried for
// the events after it.
func jobMaxAttempts(cfg Config) int { return cfg.MaxAttempts*2 + 5 }

func (b *riverBackend[TTx]) txOf(tx *store.Tx) (TTx, error) {
	t, ok := tx.Raw().(TTx)
	if !ok {
		var zero TTx
		return zero, fmt.Errorf("transaction is %T, want %T", tx.Raw(), zero)
	}
	return t, nil
}

func (b *riverBackend[TTx]) migrate(ctx context.Context) error {
	// Each River migration runs in its own transaction: some (enum
	// changes on Postgres) cannot share one.
	return b.q.st.WithMigrationLock(ctx, func() error {
		_, err := b.migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	})
}

func (b *riverBackend[TTx]) checkMigrations(ctx context.Context) error {
	res, err := b.migrator.Validate(ctx, nil)
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("river migrations not applied: %s", strings.Join(res.Messages, "; "))
	}
	return nil
}

func params(ids []int64) []river.InsertManyParams {
	out := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		out[i] = river.InsertManyParams{Args: conversationArgs{ConversationID: id}}
	}
	return out
}

func (b *riverBackend[TTx]) insertTx(ctx context.Context, tx *store.Tx, ids []int64) error {
	t, err := b.txOf(tx)
	if err != nil {
		return err
	}
	_, err = b.client.InsertManyFastTx(ctx, t, params(ids))
	return err
}

func (b *riverBackend[TTx]) insert(ctx context.Context, ids []int64) error {
	_, err := b.client.InsertManyFast(ctx, params(ids))
	return err
}

func (b *riverBackend[TTx]) start(ctx context.Context) error { return b.client.Start(ctx) }

func (b *riverBackend[TTx]) stop(ctx context.Context) error {
	err := b.client.Stop(ctx)
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		// Out of time: cancel the jobs still running; their events stay
		// pending and their jobs are rescued later.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return b.client.StopAndCancel(cctx)
	}
	return err
}

// retryPolicy spaces job retries with the queue's backoff.
type retryPolicy struct{ cfg Config }

// NextRetry implements river.ClientRetryPolicy.
func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(Backoff(job.Attempt, p.cfg.RetryBase, p.cfg.RetryMax, randFloat()))
}

// errorHandler logs jobs that panicked or failed outside an event.
type errorHandler struct{ q *Queue }

// HandleError implements river.ErrorHandler.
func (h errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.q.log.WarnContext(ctx, "job failed", "job_id", job.ID, "attempt", job.Attempt, "error", err)
	return nil
}

// HandlePanic implements river.ErrorHandler.
func (h errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.q.log.ErrorContext(ctx, "job panicked", "job_id", job.ID, "attempt", job.Attempt, "panic", fmt.Sprint(panicVal), "trace", trace)
	return nil
}

// Compile-time checks that both drivers fit.
var (
	_ backend = (*riverBackend[*sql.Tx])(nil)
	_ backend = (*riverBackend[pgx.Tx])(nil)
)
