package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrLeaseLost is returned when a worker writes under a conversation lease
// it no longer holds (it expired and another worker may have taken it).
var ErrLeaseLost = errors.New("store: conversation lease lost")

// Event states.
const (
	StatePending = "pending"
	StateDone    = "done"
	StateDead    = "dead"
)

// ConversationKey names a conversation: the source ("whatsapp"), the
// business account the customer wrote to (the phone_number_id) and the
// contact key (BSUID when present, else the wa_id).
type ConversationKey struct {
	Source  string
	Account string
	Contact string
}

// NewEvent is an event to put in the inbox.
type NewEvent struct {
	Source       string // "whatsapp"
	Kind         string // message | status | error | other
	Key          string // unique within (Source, Kind)
	Conversation ConversationKey
	OccurredAt   time.Time // the vendor's timestamp; zero means the receive time
	Payload      []byte    // raw JSON, stored byte for byte
}

// InsertResult is what InsertEvents did with one NewEvent.
type InsertResult struct {
	EventID        int64
	ConversationID int64
	Duplicate      bool // the event was stored before; nothing was added
}

// Event is a stored inbox event.
type Event struct {
	ID             int64
	Source         string
	Kind           string
	Key            string
	ConversationID int64
	OccurredAt     time.Time
	ReceivedAt     time.Time
	Payload        []byte
	State          string
	Attempts       int
	LastError      string
	// NextAttemptAt is when a failed event may be tried again (zero when it
	// has not failed).
	NextAttemptAt time.Time
}

// InsertEvents stores events in the transaction, in order. An event already
// stored (same source, kind and key) is not stored again: its duplicates
// counter is bumped and its result says Duplicate.
func (tx *Tx) InsertEvents(ctx context.Context, events []NewEvent) ([]InsertResult, error) {
	now := tx.s.now()
	convIDs, err := tx.upsertConversations(ctx, events, now)
	if err != nil {
		return nil, err
	}
	results := make([]InsertResult, len(events))
	for i, ev := range events {
		occurred := ev.OccurredAt
		if occurred.IsZero() {
			occurred = now
		}
		convID := convIDs[ev.Conversation]
		var id int64
		var dups int
		err := tx.q.queryRow(ctx, `INSERT INTO inbox_events
	(source, kind, key, conversation_id, occurred_at_ms, received_at_ms, payload)
	VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (source, kind, key) DO UPDATE SET duplicates = inbox_events.duplicates + 1
	RETURNING id, duplicates`,
			ev.Source, ev.Kind, ev.Key, convID, ms(occurred), ms(now), ev.Payload).Scan(&id, &dups)
		if err != nil {
			return nil, fmt.Errorf("store: insert event %s/%s: %w", ev.Source, ev.Kind, err)
		}
		results[i] = InsertResult{EventID: id, ConversationID: convID, Duplicate: dups > 0}
	}
	return results, nil
}

// upsertConversations makes sure every conversation of events exists and
// returns their ids. Each row is written (last_event_at_ms), which locks it
// until the transaction ends; keys are taken in sorted order, so
// concurrent transactions lock rows in one order and cannot deadlock. The
// event inserts that follow are serialized by these locks too: an event
// always belongs to the same conversation, so two transactions storing
// the same event hold the same conversation lock.
func (tx *Tx) upsertConversations(ctx context.Context, events []NewEvent, now time.Time) (map[ConversationKey]int64, error) {
	ids := make(map[ConversationKey]int64, 1)
	keys := make([]ConversationKey, 0, 1)
	for _, ev := range events {
		if _, ok := ids[ev.Conversation]; !ok {
			ids[ev.Conversation] = 0
			keys = append(keys, ev.Conversation)
		}
	}
	slices.SortFunc(keys, func(a, b ConversationKey) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Account, b.Account), cmp.Compare(a.Contact, b.Contact))
	})
	for _, k := range keys {
		var id int64
		err := tx.q.queryRow(ctx, `INSERT INTO conversations (source, account, contact, created_at_ms, last_event_at_ms)
	VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (source, account, contact) DO UPDATE SET last_event_at_ms = excluded.last_event_at_ms
	RETURNING id`, k.Source, k.Account, k.Contact, ms(now), ms(now)).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("store: upsert conversation: %w", err)
		}
		ids[k] = id
	}
	return ids, nil
}

// ClaimJobs marks the conversations as having a job queued and returns
// those that had none, in id order: only they need a new job. A
// conversation whose job is queued but not yet started will see the new
// events when it runs. The row is locked until the transaction ends, so a
// worker that takes the lease (which clears the mark) either sees this
// transaction's events or lets it enqueue a job. In a transaction that
// stored events, InsertEvents has locked these rows already.
func (tx *Tx) ClaimJobs(ctx context.Context, conversationIDs []int64) ([]int64, error) {
	lock := ""
	if tx.s.kind == Postgres {
		lock = " FOR UPDATE"
	}
	// Lock in id order so concurrent transactions cannot deadlock.
	ids := slices.Sorted(slices.Values(conversationIDs))
	var need []int64
	for _, id := range slices.Compact(ids) {
		var queued int
		if err := tx.q.queryRow(ctx, `SELECT job_queued FROM conversations WHERE id = ?`+lock, id).Scan(&queued); err != nil {
			return nil, fmt.Errorf("store: claim job for conversation %d: %w", id, err)
		}
		if queued != 0 {
			continue
		}
		if _, err := tx.q.exec(ctx, `UPDATE conversations SET job_queued = 1 WHERE id = ?`, id); err != nil {
			return nil, fmt.Errorf("store: claim job for conversation %d: %w", id, err)
		}
		need = append(need, id)
	}
	return need, nil
}

// Lease is a worker's hold on a conversation.
type Lease struct {
	ConversationID int64
	Owner          string
}

// AcquireLease gives owner the conversation for ttl unless another owner
// holds an unexpired lease; ok reports whether it did.
func (s *Store) AcquireLease(ctx context.Context, conversationID int64, owner string, ttl time.Duration) (lease Lease, ok bool, err error) {
	now := s.now()
	// Taking the lease also clears job_queued: from here on, a new event
	// needs a new job (see ClaimJobs).
	n, err := s.q.exec(ctx, `UPDATE conversations SET lease_owner = ?, lease_expires_at_ms = ?, job_queued = 0
	WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at_ms <= ?)`,
		owner, ms(now.Add(ttl)), conversationID, owner, ms(now))
	if err != nil {
		return Lease{}, false, fmt.Errorf("store: acquire lease: %w", err)
	}
	return Lease{ConversationID: conversationID, Owner: owner}, n == 1, nil
}

// RenewLease extends a held lease by ttl from now. It returns ErrLeaseLost
// when the lease is no longer the owner's.
func (s *Store) RenewLease(ctx context.Context, l Lease, ttl time.Duration) error {
	now := s.now()
	n, err := s.q.exec(ctx, `UPDATE conversations SET lease_expires_at_ms = ?
	WHERE id = ? AND lease_owner = ? AND lease_expires_at_ms > ?`,
		ms(now.Add(ttl)), l.ConversationID, l.Owner, ms(now))
	if err != nil {
		return fmt.Errorf("store: renew lease: %w", err)
	}
	if n != 1 {
		return ErrLeaseLost
	}
	return nil
}

// ReleaseLease gives the conversation up. Releasing a lease that is no
// longer held is not an error.
func (s *Store) ReleaseLease(ctx context.Context, l Lease) error {
	_, err := s.q.exec(ctx, `UPDATE conversations SET lease_owner = NULL, lease_expires_at_ms = 0
	WHERE id = ? AND lease_owner = ?`, l.ConversationID, l.Owner)
	if err != nil {
		return fmt.Errorf("store: release lease: %w", err)
	}
	return nil
}

const eventColumns = `id, source, kind, key, conversation_id, occurred_at_ms, received_at_ms, payload, state, attempts, last_error, next_attempt_at_ms`

func scanEvent(r row) (*Event, error) {
	var e Event
	var occurred, received, next int64
	var lastErr sql.NullString
	if err := r.Scan(&e.ID, &e.Source, &e.Kind, &e.Key, &e.ConversationID, &occurred, &received,
		&e.Payload, &e.State, &e.Attempts, &lastErr, &next); err != nil {
		return nil, err
	}
	e.OccurredAt, e.ReceivedAt, e.LastError = time.UnixMilli(occurred), time.UnixMilli(received), lastErr.String
	if next > 0 {
		e.NextAttemptAt = time.UnixMilli(next)
	}
	return &e, nil
}

// NextPending returns the conversation's first pending event in
// (occurred_at, id) order, or nil when none is pending.
func (s *Store) NextPending(ctx context.Context, conversationID int64) (*Event, error) {
	e, err := scanEvent(s.q.queryRow(ctx, `SELECT `+eventColumns+` FROM inbox_events
	WHERE conversation_id = ? AND state = 'pending' ORDER BY occurred_at_ms, id LIMIT 1`, conversationID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: next pending event: %w", err)
	}
	return e, nil
}

// PendingEvents returns up to limit of the conversation's pending events
// in (occurred_at, id) order: NextPending and those that follow it.
func (s *Store) PendingEvents(ctx context.Context, conversationID int64, limit int) ([]*Event, error) {
	rs, err := s.q.query(ctx, `SELECT `+eventColumns+` FROM inbox_events
	WHERE conversation_id = ? AND state = 'pending' ORDER BY occurred_at_ms, id LIMIT ?`, conversationID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: pending events: %w", err)
	}
	defer rs.Close()
	var out []*Event
	for rs.Next() {
		e, err := scanEvent(rs)
		if err != nil {
			return nil, fmt.Errorf("store: pending events: %w", err)
		}
		out = append(out, e)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: pending events: %w", err)
	}
	return out, nil
}

// EventByID returns one event.
func (s *Store) EventByID(ctx context.Context, id int64) (*Event, error) {
	e, err := scanEvent(s.q.queryRow(ctx, `SELECT `+eventColumns+` FROM inbox_events WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("store: event %d: %w", id, err)
	}
	return e, nil
}

// leaseHeld is the condition that fences a worker's writes on its lease.
const leaseHeld = `conversation_id IN (SELECT id FROM conversations WHERE id = ? AND lease_owner = ? AND lease_expires_at_ms > ?)`

// CompleteEvent marks a pending event done. It returns ErrLeaseLost unless
// l is still held and the event still pending.
func (s *Store) CompleteEvent(ctx context.Context, l Lease, eventID int64) error {
	now := ms(s.now())
	n, err := s.q.exec(ctx, `UPDATE inbox_events SET state = 'done', done_at_ms = ?, last_error = NULL
	WHERE id = ? AND state = 'pending' AND `+leaseHeld, now, eventID, l.ConversationID, l.Owner, now)
	if err != nil {
		return fmt.Errorf("store: complete event %d: %w", eventID, err)
	}
	if n != 1 {
		return ErrLeaseLost
	}
	return nil
}

// FailEvent records a failed attempt on a pending event, which is not tried
// again before retryAt, and returns the attempts made so far.
func (s *Store) FailEvent(ctx context.Context, l Lease, eventID int64, cause string, retryAt time.Time) (int, error) {
	now := ms(s.now())
	var attempts int
	err := s.q.queryRow(ctx, `UPDATE inbox_events SET attempts = attempts + 1, last_error = ?, next_attempt_at_ms = ?
	WHERE id = ? AND state = 'pending' AND `+leaseHeld+` RETURNING attempts`,
		cause, ms(retryAt), eventID, l.ConversationID, l.Owner, now).Scan(&attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrLeaseLost
	}
	if err != nil {
		return 0, fmt.Errorf("store: record failure of event %d: %w", eventID, err)
	}
	return attempts, nil
}

// SnoozeEvent holds a pending event back until until without counting an
// attempt (the vendor asked to wait: a rate limit, an open breaker). Jobs
// of the conversation that run before then snooze without handling it, and
// the conversation is marked as having a job (the snoozed one comes back),
// so new events do not start more.
func (s *Store) SnoozeEvent(ctx context.Context, l Lease, eventID int64, until time.Time) error {
	return s.WithTx(ctx, func(tx *Tx) error {
		now := ms(s.now())
		n, err := tx.q.exec(ctx, `UPDATE inbox_events SET next_attempt_at_ms = ?
	WHERE id = ? AND state = 'pending' AND `+leaseHeld, ms(until), eventID, l.ConversationID, l.Owner, now)
		if err != nil {
			return fmt.Errorf("store: snooze event %d: %w", eventID, err)
		}
		if n != 1 {
			return ErrLeaseLost
		}
		if _, err := tx.q.exec(ctx, `UPDATE conversations SET job_queued = 1 WHERE id = ?`, l.ConversationID); err != nil {
			return fmt.Errorf("store: snooze event %d: %w", eventID, err)
		}
		return nil
	})
}

// DeadLetterEvent moves a pending event to the dead-letter table with the
// reason ("permanent", "attempts_exhausted") and the error, in one
// transaction.
func (s *Store) DeadLetterEvent(ctx context.Context, l Lease, eventID int64, reason, cause string) error {
	return s.WithTx(ctx, func(tx *Tx) error {
		now := ms(s.now())
		var attempts int
		var source, kind, key string
		err := tx.q.queryRow(ctx, `UPDATE inbox_events SET state = 'dead', attempts = attempts + 1, last_error = ?, done_at_ms = ?
	WHERE id = ? AND state = 'pending' AND `+leaseHeld+` RETURNING attempts, source, kind, key`,
			cause, now, eventID, l.ConversationID, l.Owner, now).Scan(&attempts, &source, &kind, &key)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrLeaseLost
		}
		if err != nil {
			return fmt.Errorf("store: dead-letter event %d: %w", eventID, err)
		}
		_, err = tx.q.exec(ctx, `INSERT INTO dead_letters
	(event_id, conversation_id, source, kind, key, reason, error, attempts, created_at_ms)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			eventID, l.ConversationID, source, kind, key, reason, cause, attempts, now)
		if err != nil {
			return fmt.Errorf("store: insert dead letter for event %d: %w", eventID, err)
		}
		return nil
	})
}

// DeadLetter is a row of the dead-letter table.
type DeadLetter struct {
	ID             int64
	EventID        int64
	ConversationID int64
	Source         string
	Kind           string
	Key            string
	Reason         string
	Error          string
	Attempts       int
	CreatedAt      time.Time
}

// DeadLetters returns up to limit dead letters, oldest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	rs, err := s.q.query(ctx, `SELECT id, event_id, conversation_id, source, kind, key, reason, error, attempts, created_at_ms
	FROM dead_letters ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list dead letters: %w", err)
	}
	defer rs.Close()
	var out []DeadLetter
	for rs.Next() {
		var d DeadLetter
		var created int64
		if err := rs.Scan(&d.ID, &d.EventID, &d.ConversationID, &d.Source, &d.Kind, &d.Key,
			&d.Reason, &d.Error, &d.Attempts, &created); err != nil {
			return nil, fmt.Errorf("store: list dead letters: %w", err)
		}
		d.CreatedAt = time.UnixMilli(created)
		out = append(out, d)
	}
	return out, rs.Err()
}

// ConversationsWithPending returns up to limit conversations that have an
// event pending since before olderThan, no live lease and a head event
// that is due (not backing off or snoozed): work whose job may have been
// lost. The reconciler enqueues a job for each.
func (s *Store) ConversationsWithPending(ctx context.Context, olderThan time.Time, limit int) ([]int64, error) {
	now := ms(s.now())
	rs, err := s.q.query(ctx, `SELECT c.id FROM conversations c
	WHERE (c.lease_owner IS NULL OR c.lease_expires_at_ms <= ?)
	AND EXISTS (SELECT 1 FROM inbox_events e WHERE e.conversation_id = c.id AND e.state = 'pending' AND e.received_at_ms < ?)
	AND (SELECT h.next_attempt_at_ms FROM inbox_events h WHERE h.conversation_id = c.id AND h.state = 'pending'
		ORDER BY h.occurred_at_ms, h.id LIMIT 1) <= ?
	ORDER BY c.id LIMIT ?`, now, ms(olderThan), now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: conversations with pending events: %w", err)
	}
	defer rs.Close()
	var ids []int64
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}

// ListEvents returns up to limit events with id > afterID, in id (arrival)
// order; page by passing the last id seen.
func (s *Store) ListEvents(ctx context.Context, afterID int64, limit int) ([]*Event, error) {
	rs, err := s.q.query(ctx, `SELECT `+eventColumns+` FROM inbox_events WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list events: %w", err)
	}
	defer rs.Close()
	var out []*Event
	for rs.Next() {
		e, err := scanEvent(rs)
		if err != nil {
			return nil, fmt.Errorf("store: list events: %w", err)
		}
		out = append(out, e)
	}
	return out, rs.Err()
}
