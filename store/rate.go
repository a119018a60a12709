package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TakeRate reserves one slot of a shared rate bucket (GCRA: key's
// theoretical arrival time advances by interval per slot; tolerance lets
// a burst borrow ahead) if the slot is usable within maxWait. It returns
// how long to wait before using the reserved slot, or, when ok is false,
// how long until one would be usable (nothing reserved). One statement
// updates the row, so replicas sharing a database share the bucket.
func (s *Store) TakeRate(ctx context.Context, key string, interval, tolerance, maxWait time.Duration) (wait time.Duration, ok bool, err error) {
	// Microseconds: a slot of a fast bucket (80 a second is 12.5 ms) must
	// not be rounded, or the bucket runs faster than its rule.
	now := s.now()
	nowUS, iv, tol, mw := now.UnixMicro(), interval.Microseconds(), tolerance.Microseconds(), maxWait.Microseconds()
	greatest := "MAX"
	if s.kind == Postgres {
		greatest = "GREATEST"
	}
	var tat int64
	err = s.q.queryRow(ctx, `INSERT INTO rate_buckets (key, tat_us) VALUES (?, ?)
	ON CONFLICT (key) DO UPDATE SET tat_us = `+greatest+`(rate_buckets.tat_us, ?) + ?
	WHERE `+greatest+`(rate_buckets.tat_us, ?) - ? - ? <= ?
	RETURNING tat_us`, key, nowUS+iv, nowUS, iv, nowUS, tol, nowUS, mw).Scan(&tat)
	switch {
	case err == nil:
		return max(0, time.Duration(tat-iv-tol-nowUS)*time.Microsecond), true, nil
	case errors.Is(err, sql.ErrNoRows):
		if err := s.q.queryRow(ctx, `SELECT tat_us FROM rate_buckets WHERE key = ?`, key).Scan(&tat); err != nil {
			return 0, false, fmt.Errorf("store: rate bucket %s: %w", key, err)
		}
		return max(0, time.Duration(max(tat, nowUS)-tol-nowUS)*time.Microsecond), false, nil
	default:
		return 0, false, fmt.Errorf("store: take rate %s: %w", key, err)
	}
}

// TierAdmit counts a business-initiated message to recipient against a
// portfolio's messaging limit: unique recipients in a rolling 24 hours.
// A recipient already counted in the window costs nothing. When limit
// recipients are counted already, ok is false and retryAt says when the
// oldest leaves the window. used is the count after the call. limit <= 0
// admits everything without counting. now is the time of the send (the
// caller's clock, so a sandbox clock can roll the window).
func (s *Store) TierAdmit(ctx context.Context, portfolio, recipient string, limit int, now time.Time) (ok bool, retryAt time.Time, used int, err error) {
	if limit <= 0 {
		return true, time.Time{}, 0, nil
	}
	err = s.WithTx(ctx, func(tx *Tx) error {
		since := ms(now.Add(-24 * time.Hour))
		if s.kind == Postgres {
			if _, err := tx.q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, "tier:"+portfolio); err != nil {
				return err
			}
		}
		var last int64
		err := tx.q.queryRow(ctx, `SELECT sent_at_ms FROM tier_recipients WHERE portfolio = ? AND recipient = ?`,
			portfolio, recipient).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var count int
		var oldest sql.NullInt64
		if err := tx.q.queryRow(ctx, `SELECT COUNT(*), MIN(sent_at_ms) FROM tier_recipients WHERE portfolio = ? AND sent_at_ms > ?`,
			portfolio, since).Scan(&count, &oldest); err != nil {
			return err
		}
		inWindow := last > since
		if !inWindow && count >= limit {
			ok, used = false, count
			retryAt = time.UnixMilli(oldest.Int64).Add(24 * time.Hour)
			return nil
		}
		ok, used = true, count
		if !inWindow {
			used++
		}
		_, err = tx.q.exec(ctx, `INSERT INTO tier_recipients (portfolio, recipient, sent_at_ms) VALUES (?, ?, ?)
	ON CONFLICT (portfolio, recipient) DO UPDATE SET sent_at_ms = excluded.sent_at_ms`, portfolio, recipient, ms(now))
		return err
	})
	if err != nil {
		return false, time.Time{}, 0, fmt.Errorf("store: messaging limit of %s: %w", portfolio, err)
	}
	return ok, retryAt, used, nil
}
