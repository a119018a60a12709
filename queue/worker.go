package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/deskbridge/deskbridge/store"
)

// conversationWorker drains one conversation's pending events under its
// lease.
type conversationWorker struct {
	river.WorkerDefaults[conversationArgs]
	q *Queue
}

// Work implements river.Worker.
func (w *conversationWorker) Work(ctx context.Context, job *river.Job[conversationArgs]) error {
	q := w.q
	convID := job.Args.ConversationID
	log := q.log.With("conversation_id", convID, "job_id", job.ID)
	owner := q.id + ":" + strconv.FormatInt(job.ID, 10)

	lease, ok, err := q.st.AcquireLease(ctx, convID, owner, q.cfg.LeaseTTL)
	if err != nil {
		q.countJob("error")
		return err
	}
	if !ok {
		// Another worker holds the conversation; it drains what we came
		// for. Look again shortly in case it stops early.
		if q.cfg.Metrics != nil {
			q.cfg.Metrics.LeaseConflicts.Inc()
		}
		q.countJob("snoozed")
		return river.JobSnooze(min(q.cfg.LeaseTTL, time.Second))
	}

	wctx, cancel := context.WithCancelCause(ctx)
	renewDone := make(chan struct{})
	go q.renewLease(wctx, cancel, lease, renewDone)
	defer func() {
		cancel(nil)
		<-renewDone
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := q.st.ReleaseLease(rctx, lease); err != nil {
			log.WarnContext(rctx, "release lease", slog.Any("error", err))
		}
	}()

	err = q.drain(wctx, log, lease)
	if cause := context.Cause(wctx); errors.Is(cause, store.ErrLeaseLost) && ctx.Err() == nil {
		// Our lease expired under us; the new holder carries on.
		q.countJob("lease_lost")
		return nil
	}
	var snooze *river.JobSnoozeError
	switch {
	case err == nil:
		q.countJob("done")
	case errors.As(err, &snooze):
		q.countJob("snoozed")
	default:
		q.countJob("retry")
	}
	return err
}

// drain handles the conversation's pending events in order until none is
// left, one is not yet due, or the per-job bound is reached.
func (q *Queue) drain(ctx context.Context, log *slog.Logger, lease store.Lease) error {
	for n := 0; ; n++ {
		if n == q.cfg.MaxEventsPerJob {
			return river.JobSnooze(0) // yield; this job comes back at once
		}
		ev, herr, err := q.handleNext(ctx, lease)
		if err != nil || ev == nil {
			return err
		}
		if herr == nil {
			continue
		}
		evLog := log.With("event_id", ev.ID, "kind", ev.Kind, "attempt", ev.Attempts+1)
		if ctx.Err() != nil {
			// Shutdown or a lost lease: the attempt was cut short by us,
			// not failed, so it is not counted. A job timeout is counted,
			// so an event that always outlasts job_timeout is eventually
			// dead-lettered instead of blocking its conversation.
			if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				q.failTimedOut(evLog, lease, ev, herr)
			}
			return fmt.Errorf("event %d: %w", ev.ID, herr)
		}
		switch kind, wait := classify(herr); kind {
		case outcomePermanent:
			if err := q.deadLetter(ctx, evLog, lease, ev, "permanent", herr); err != nil {
				return err
			}
		case outcomeSnooze:
			if err := q.st.SnoozeEvent(ctx, lease, ev.ID, q.st.Now().Add(wait)); err != nil {
				return err
			}
			evLog.InfoContext(ctx, "event snoozed", "wait", wait, slog.Any("error", herr))
			q.countEvent(ev, "snoozed")
			return river.JobSnooze(wait)
		default:
			if ev.Attempts+1 >= q.cfg.MaxAttempts {
				if err := q.deadLetter(ctx, evLog, lease, ev, "attempts_exhausted", herr); err != nil {
					return err
				}
				continue
			}
			retryAt := q.st.Now().Add(Backoff(ev.Attempts+1, q.cfg.RetryBase, q.cfg.RetryMax, randFloat()))
			if _, err := q.st.FailEvent(ctx, lease, ev.ID, herr.Error(), retryAt); err != nil {
				return err
			}
			evLog.WarnContext(ctx, "event failed; will retry", "retry_at", retryAt, slog.Any("error", herr))
			q.countEvent(ev, "retry")
			return fmt.Errorf("event %d: %w", ev.ID, herr)
		}
	}
}

// handleNext handles the conversation's next pending event, or with a
// BatchHandler the next events, completing those handled. It returns the
// event whose handling failed with herr, nil ev when nothing is pending,
// or a snooze error when the head event is not yet due.
func (q *Queue) handleNext(ctx context.Context, lease store.Lease) (ev *store.Event, herr, err error) {
	bh, batch := q.h.(BatchHandler)
	limit := 1
	if batch {
		limit = q.cfg.MaxBatch
	}
	evs, err := q.st.PendingEvents(ctx, lease.ConversationID, limit)
	if err != nil || len(evs) == 0 {
		return nil, nil, err
	}
	now := q.st.Now()
	if wait := evs[0].NextAttemptAt.Sub(now); wait > 0 {
		// The head event is backing off; order forbids skipping it.
		return nil, nil, river.JobSnooze(wait)
	}
	for i, e := range evs[1:] {
		if e.NextAttemptAt.After(now) {
			evs = evs[:i+1]
			break
		}
	}
	handled := 0
	if batch {
		handled, herr = q.safeHandleBatch(ctx, bh, evs)
		handled = max(0, min(handled, len(evs)))
		if herr == nil && handled == 0 {
			herr = errors.New("batch handler handled no event")
		}
	} else if herr = q.safeHandle(ctx, evs[0]); herr == nil {
		handled = 1
	}
	for _, e := range evs[:handled] {
		if err := q.st.CompleteEvent(ctx, lease, e.ID); err != nil {
			return nil, nil, err
		}
		q.countEvent(e, "done")
	}
	if herr == nil {
		return evs[0], nil, nil
	}
	if handled == len(evs) {
		return evs[0], nil, nil // an error past the end concerns no event
	}
	return evs[handled], herr, nil
}

// failTimedOut records an attempt that ran out of job time, or dead-letters
// the event when it was the last one. The job's context is over, so it
// writes with a short context of its own while the lease is still held.
func (q *Queue) failTimedOut(log *slog.Logger, lease store.Lease, ev *store.Event, herr error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cause := fmt.Errorf("job_timeout reached: %w", herr)
	var err error
	if ev.Attempts+1 >= q.cfg.MaxAttempts {
		err = q.deadLetter(ctx, log, lease, ev, "attempts_exhausted", cause)
	} else {
		retryAt := q.st.Now().Add(Backoff(ev.Attempts+1, q.cfg.RetryBase, q.cfg.RetryMax, randFloat()))
		_, err = q.st.FailEvent(ctx, lease, ev.ID, cause.Error(), retryAt)
		q.countEvent(ev, "retry")
	}
	if err != nil {
		log.WarnContext(ctx, "record timed-out attempt", slog.Any("error", err))
	}
}

func (q *Queue) deadLetter(ctx context.Context, log *slog.Logger, lease store.Lease, ev *store.Event, reason string, cause error) error {
	if err := q.st.DeadLetterEvent(ctx, lease, ev.ID, reason, cause.Error()); err != nil {
		return err
	}
	log.ErrorContext(ctx, "event moved to dead letters", "reason", reason, slog.Any("error", cause))
	q.countEvent(ev, "dead")
	if q.cfg.Metrics != nil {
		q.cfg.Metrics.DeadLetters.WithLabelValues(ev.Source, reason).Inc()
	}
	return nil
}

// safeHandle runs the handler, turning a panic into an error so one bad
// event cannot take the worker down.
func (q *Queue) safeHandle(ctx context.Context, ev *store.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return q.h.Handle(ctx, ev)
}

// safeHandleBatch is safeHandle for a BatchHandler.
func (q *Queue) safeHandleBatch(ctx context.Context, h BatchHandler, evs []*store.Event) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return h.HandleBatch(ctx, evs)
}

// renewLease extends the lease every third of its TTL until ctx ends; when
// the lease is lost it cancels the work with store.ErrLeaseLost.
func (q *Queue) renewLease(ctx context.Context, cancel context.CancelCauseFunc, l store.Lease, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(q.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := q.st.RenewLease(ctx, l, q.cfg.LeaseTTL)
			if errors.Is(err, store.ErrLeaseLost) {
				cancel(store.ErrLeaseLost)
				return
			}
			if err != nil && ctx.Err() == nil {
				q.log.WarnContext(ctx, "renew lease", "conversation_id", l.ConversationID, slog.Any("error", err))
			}
		}
	}
}

func (q *Queue) countJob(outcome string) {
	if q.cfg.Metrics != nil {
		q.cfg.Metrics.Jobs.WithLabelValues("conversation", outcome).Inc()
	}
}

func (q *Queue) countEvent(ev *store.Event, result string) {
	if q.cfg.Metrics != nil {
		q.cfg.Metrics.EventsProcessed.WithLabelValues(ev.Source, ev.Kind, result).Inc()
	}
}

func randFloat() float64 { return rand.Float64() }
