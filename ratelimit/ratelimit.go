// Package ratelimit holds the rate governors: generic cell-rate buckets
// (GCRA), in process or shared through the store so that several replicas
// stay under one limit together, and the WhatsApp governors built on them
// (throughput per number, pair rate per recipient, messaging tier per
// portfolio).
package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/telemetry"
)

// Rule is a rate: Rate slots per second on average, with bursts of up to
// Burst slots (which borrow from the slots that follow).
type Rule struct {
	Rate  float64
	Burst int
}

// PerWindow is a rule of n slots per window, all of which may be used at
// once.
func PerWindow(n int, window time.Duration) Rule {
	return Rule{Rate: float64(n) / window.Seconds(), Burst: n}
}

func (r Rule) interval() time.Duration {
	if r.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / r.Rate)
}

func (r Rule) tolerance() time.Duration { return r.interval() * time.Duration(max(r.Burst, 1)-1) }

// Bucket reserves slots of keyed rate buckets.
type Bucket interface {
	// Take reserves one slot of key under r if it is usable within
	// maxWait, and returns the wait before using it. When it is not,
	// nothing is reserved, ok is false and wait says how long until a
	// slot is usable.
	Take(ctx context.Context, key string, r Rule, maxWait time.Duration) (wait time.Duration, ok bool, err error)
}

// NewBucket returns the bucket for a store: shared through the database
// for PostgreSQL (replicas share one limit), in process for SQLite (one
// process per database). A nil store gives an in-process bucket.
func NewBucket(st *store.Store, now func() time.Time) Bucket {
	if st != nil && st.Kind() == store.Postgres {
		return Shared{st}
	}
	return NewMemory(now)
}

// Memory is an in-process Bucket.
type Memory struct {
	now func() time.Time
	mu  sync.Mutex
	tat map[string]time.Time
}

// NewMemory returns an empty in-process bucket on the clock now (nil:
// time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tat: map[string]time.Time{}}
}

// Take implements Bucket.
func (m *Memory) Take(_ context.Context, key string, r Rule, maxWait time.Duration) (time.Duration, bool, error) {
	iv, tol := r.interval(), r.tolerance()
	if iv == 0 {
		return 0, true, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	tat := m.tat[key]
	if tat.Before(now) {
		tat = now
	}
	wait := max(0, tat.Sub(now)-tol)
	if wait > maxWait {
		return wait, false, nil
	}
	m.tat[key] = tat.Add(iv)
	return wait, true, nil
}

// Shared is a Bucket kept in the store's database.
type Shared struct{ st *store.Store }

// Take implements Bucket.
func (s Shared) Take(ctx context.Context, key string, r Rule, maxWait time.Duration) (time.Duration, bool, error) {
	if r.interval() == 0 {
		return 0, true, nil
	}
	return s.st.TakeRate(ctx, key, r.interval(), r.tolerance(), maxWait)
}

// Throttled is the error of a wait longer than the caller may sleep: retry
// after Wait. It satisfies the queue's RetryAfter contract, so the event is
// snoozed without using an attempt.
type Throttled struct {
	Side   string // whatsapp | helpdesk
	Reason string // throughput, pair, tier, helpdesk_budget, …
	Wait   time.Duration
}

func (t *Throttled) Error() string {
	return fmt.Sprintf("%s %s limit: retry in %s", t.Side, t.Reason, t.Wait.Round(time.Millisecond))
}

// RetryAfter is when to try again.
func (t *Throttled) RetryAfter() time.Duration { return max(t.Wait, time.Millisecond) }

// Wait takes a slot of key, sleeping until it is usable when that is
// within maxWait; a longer wait reserves nothing and returns *Throttled.
// Waits and refusals are counted under side and reason.
func Wait(ctx context.Context, b Bucket, key string, r Rule, maxWait time.Duration, side, reason string, m *telemetry.Metrics) error {
	wait, ok, err := b.Take(ctx, key, r, maxWait)
	if err != nil {
		return err
	}
	if m != nil && (wait > 0 || !ok) {
		m.Throttled.WithLabelValues(side, reason).Inc()
		m.RateLimitWait.WithLabelValues(side, reason).Observe(wait.Seconds())
	}
	if !ok {
		return &Throttled{Side: side, Reason: reason, Wait: wait}
	}
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
