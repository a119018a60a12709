package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Stats are the store's counts, as `deskbridge status` prints them.
type Stats struct {
	EventsTotal         int64 `json:"events_total"`
	EventsPending       int64 `json:"events_pending"`
	EventsDone          int64 `json:"events_done"`
	EventsDead          int64 `json:"events_dead"`
	DuplicatesTotal     int64 `json:"duplicates_total"`
	JobsPending         int64 `json:"jobs_pending"`
	DeadLetters         int64 `json:"dead_letters"`
	Conversations       int64 `json:"conversations"`
	ConversationsLeased int64 `json:"conversations_leased"`
	// OldestPendingAgeSeconds is how long the oldest pending event has
	// waited since it was received (0 when none is pending).
	OldestPendingAgeSeconds float64 `json:"oldest_pending_age_seconds"`
	SchemaVersion           int     `json:"schema_version"`
}

// Stats counts events, duplicates, jobs and dead letters. Jobs are read from
// River's job table when it exists.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var oldest sql.NullInt64
	var dups sql.NullInt64
	err := s.q.queryRow(ctx, `SELECT
	COUNT(*),
	COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0),
	SUM(duplicates),
	MIN(CASE WHEN state = 'pending' THEN received_at_ms END)
	FROM inbox_events`).Scan(&st.EventsTotal, &st.EventsPending, &st.EventsDone, &st.EventsDead, &dups, &oldest)
	if err != nil {
		return st, fmt.Errorf("store: count events: %w", err)
	}
	st.DuplicatesTotal = dups.Int64
	if oldest.Valid {
		st.OldestPendingAgeSeconds = max(0, s.now().Sub(time.UnixMilli(oldest.Int64)).Seconds())
	}
	now := ms(s.now())
	if err := s.q.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN lease_owner IS NOT NULL AND lease_expires_at_ms > ? THEN 1 ELSE 0 END), 0)
	FROM conversations`, now).Scan(&st.Conversations, &st.ConversationsLeased); err != nil {
		return st, fmt.Errorf("store: count conversations: %w", err)
	}
	if err := s.q.queryRow(ctx, `SELECT COUNT(*) FROM dead_letters`).Scan(&st.DeadLetters); err != nil {
		return st, fmt.Errorf("store: count dead letters: %w", err)
	}
	if st.SchemaVersion, err = s.AppliedVersion(ctx); err != nil {
		return st, err
	}
	exists, err := s.tableExists(ctx, "river_job")
	if err != nil {
		return st, err
	}
	if exists {
		if err := s.q.queryRow(ctx, `SELECT COUNT(*) FROM river_job
	WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled')`).Scan(&st.JobsPending); err != nil {
			return st, fmt.Errorf("store: count jobs: %w", err)
		}
	}
	return st, nil
}

func (s *Store) tableExists(ctx context.Context, name string) (bool, error) {
	var n int
	var err error
	if s.kind == SQLite {
		err = s.q.queryRow(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
	} else {
		err = s.q.queryRow(ctx, `SELECT COUNT(*) FROM information_schema.tables
	WHERE table_schema = current_schema() AND table_name = ?`, name).Scan(&n)
	}
	if err != nil {
		return false, fmt.Errorf("store: look up table %s: %w", name, err)
	}
	return n > 0, nil
}

// Backlog is the part of Stats that is cheap to read on every metrics
// scrape: it touches only pending events, unfinished jobs and dead letters,
// through indexes.
type Backlog struct {
	EventsPending           int64
	OldestPendingAgeSeconds float64
	JobsPending             int64
	DeadLetters             int64
}

// Backlog reads the backlog.
func (s *Store) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	var oldest sql.NullInt64
	if err := s.q.queryRow(ctx, `SELECT COUNT(*), MIN(received_at_ms) FROM inbox_events WHERE state = 'pending'`).
		Scan(&b.EventsPending, &oldest); err != nil {
		return b, fmt.Errorf("store: read backlog: %w", err)
	}
	if oldest.Valid {
		b.OldestPendingAgeSeconds = max(0, s.now().Sub(time.UnixMilli(oldest.Int64)).Seconds())
	}
	if err := s.q.queryRow(ctx, `SELECT COUNT(*) FROM dead_letters`).Scan(&b.DeadLetters); err != nil {
		return b, fmt.Errorf("store: count dead letters: %w", err)
	}
	if err := s.q.queryRow(ctx, `SELECT COUNT(*) FROM river_job
	WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled')`).Scan(&b.JobsPending); err != nil {
		return b, fmt.Errorf("store: count jobs: %w", err)
	}
	return b, nil
}
