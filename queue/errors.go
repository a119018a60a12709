package queue

import (
	"errors"
	"fmt"
	"time"
)

// A handler's error decides what happens to the event it failed on:
//   - nil: the event is done.
//   - permanent (Permanent, or any error in the chain with a
//     `Permanent() bool` method returning true): the event goes to the
//     dead-letter table at once and the conversation moves on.
//   - snooze (Snooze, or any error with a `RetryAfter() time.Duration` method
//     returning > 0, such as a rate limit or an open breaker): the job waits
//     that long and tries the same event again; no attempt is used.
//   - anything else: the attempt is counted and retried with backoff; after
//     MaxAttempts the event goes to the dead-letter table.

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// Permanent marks err as one that retrying cannot fix.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("permanent failure")
	}
	return &permanentError{err}
}

type snoozeError struct {
	err   error
	after time.Duration
}

func (e *snoozeError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.err, e.after)
}
func (e *snoozeError) Unwrap() error             { return e.err }
func (e *snoozeError) RetryAfter() time.Duration { return e.after }

// Snooze marks err as a wait (rate limit, breaker open): the event is tried
// again after d without using an attempt.
func Snooze(err error, d time.Duration) error {
	if err == nil {
		err = errors.New("snoozed")
	}
	return &snoozeError{err, d}
}

// outcome is what the worker does with a handler's error.
type outcome int

const (
	outcomeRetry outcome = iota
	outcomePermanent
	outcomeSnooze
)

func classify(err error) (outcome, time.Duration) {
	var p interface{ Permanent() bool }
	if errors.As(err, &p) && p.Permanent() {
		return outcomePermanent, 0
	}
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		if d := r.RetryAfter(); d > 0 {
			return outcomeSnooze, d
		}
	}
	return outcomeRetry, 0
}

// Backoff returns the wait before retry number attempt (1-based): base
// doubled per attempt, capped at max, with up to 20 % jitter taken off so
// retries of many events spread out.
func Backoff(attempt int, base, maxWait time.Duration, jitter float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := base
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d - time.Duration(float64(d)*0.2*jitter)
}
