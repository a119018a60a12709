package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Effect states.
const (
	// EffectPending: the write was about to be made (or was made and its
	// answer lost). A retry must read the vendor back before writing again.
	EffectPending = "pending"
	// EffectDone: the vendor acknowledged the write; ResultID names what it
	// created.
	EffectDone = "done"
)

// Effect records one write to a vendor, keyed by what caused it: the
// source ("whatsapp", "zendesk"), its key (a wamid, a helpdesk comment id)
// and the target ("zendesk:support", "whatsapp:106540352242922"). It is
// recorded before the call (pending) and after it (done), so a crash
// between the vendor's answer and the commit is detected on retry and
// resolved by reading back instead of writing twice.
type Effect struct {
	Source   string
	Key      string
	Target   string
	State    string
	ResultID string // the vendor's id of what was written (comment id, wamid)
	Ref      string // where it was written (ticket id, conversation)
	Attempts int    // how many times BeginEffect was called
	// Batch names the one write several effects were made by (coalesced
	// messages), "" for a write of its own.
	Batch     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// BeginEffect records that a write is about to be made and returns the
// effect as stored. When it already existed, existed is true and the
// returned state says what happened before: done (skip the write) or
// pending (read back first; the earlier attempt may have succeeded).
func (s *Store) BeginEffect(ctx context.Context, source, key, target string) (e Effect, existed bool, err error) {
	now := ms(s.now())
	err = s.WithTx(ctx, func(tx *Tx) error {
		n, err := tx.q.exec(ctx, `INSERT INTO effects (source, key, target, state, created_at_ms, updated_at_ms)
	VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (source, key, target) DO NOTHING`, source, key, target, now, now)
		if err != nil {
			return err
		}
		existed = n == 0
		if existed {
			if _, err := tx.q.exec(ctx, `UPDATE effects SET attempts = attempts + 1, updated_at_ms = ?
	WHERE source = ? AND key = ? AND target = ?`, now, source, key, target); err != nil {
				return err
			}
		}
		got, err := scanEffect(tx.q.queryRow(ctx, `SELECT `+effectColumns+` FROM effects
	WHERE source = ? AND key = ? AND target = ?`, source, key, target))
		if err != nil {
			return err
		}
		e = *got
		return nil
	})
	if err != nil {
		return Effect{}, false, fmt.Errorf("store: begin effect %s/%s → %s: %w", source, key, target, err)
	}
	return e, existed, nil
}

// CompleteEffect marks an effect done with what the vendor returned. It is
// idempotent: completing a done effect again keeps the first result.
func (s *Store) CompleteEffect(ctx context.Context, source, key, target, resultID, ref string) error {
	n, err := s.q.exec(ctx, `UPDATE effects SET state = 'done', result_id = ?, ref = ?, updated_at_ms = ?
	WHERE source = ? AND key = ? AND target = ? AND state = 'pending'`, resultID, ref, ms(s.now()), source, key, target)
	if err != nil {
		return fmt.Errorf("store: complete effect %s/%s → %s: %w", source, key, target, err)
	}
	if n == 0 {
		e, err := s.Effect(ctx, source, key, target)
		if err != nil {
			return err
		}
		if e == nil {
			return fmt.Errorf("store: complete effect %s/%s → %s: no such effect", source, key, target)
		}
	}
	return nil
}

// Effect returns a recorded effect, or nil when none is.
func (s *Store) Effect(ctx context.Context, source, key, target string) (*Effect, error) {
	e, err := scanEffect(s.q.queryRow(ctx, `SELECT `+effectColumns+` FROM effects
	WHERE source = ? AND key = ? AND target = ?`, source, key, target))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read effect %s/%s → %s: %w", source, key, target, err)
	}
	return e, nil
}

const effectColumns = `source, key, target, state, result_id, ref, attempts, batch, created_at_ms, updated_at_ms`

func scanEffect(r row) (*Effect, error) {
	var e Effect
	var created, updated int64
	if err := r.Scan(&e.Source, &e.Key, &e.Target, &e.State, &e.ResultID, &e.Ref, &e.Attempts, &e.Batch, &created, &updated); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return &e, nil
}

// BeginBatch records that one write is about to be made for several keys
// (coalesced messages): each gets a pending effect named batch, with ref
// saying where the write goes ("" when it creates the place, such as a
// ticket). A key already pending joins the new batch; a key already done
// is left alone. It returns the effects as stored, in keys order.
func (s *Store) BeginBatch(ctx context.Context, source, target, batch, ref string, keys []string) ([]Effect, error) {
	out := make([]Effect, 0, len(keys))
	err := s.WithTx(ctx, func(tx *Tx) error {
		out = out[:0]
		now := ms(s.now())
		for _, key := range keys {
			if _, err := tx.q.exec(ctx, `INSERT INTO effects (source, key, target, state, ref, batch, created_at_ms, updated_at_ms)
	VALUES (?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT (source, key, target) DO UPDATE SET
	attempts = effects.attempts + 1, batch = excluded.batch, ref = excluded.ref, updated_at_ms = excluded.updated_at_ms
	WHERE effects.state = 'pending'`, source, key, target, ref, batch, now, now); err != nil {
				return err
			}
			e, err := scanEffect(tx.q.queryRow(ctx, `SELECT `+effectColumns+` FROM effects
	WHERE source = ? AND key = ? AND target = ?`, source, key, target))
			if err != nil {
				return err
			}
			out = append(out, *e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: begin batch %s → %s: %w", batch, target, err)
	}
	return out, nil
}

// CompleteBatch marks every pending effect of a batch done with the
// vendor's answer and returns their keys.
func (s *Store) CompleteBatch(ctx context.Context, source, target, batch, resultID, ref string) ([]string, error) {
	var keys []string
	err := s.WithTx(ctx, func(tx *Tx) error {
		keys = keys[:0]
		rs, err := tx.q.query(ctx, `SELECT key FROM effects WHERE source = ? AND target = ? AND batch = ? AND state = 'pending' ORDER BY key`,
			source, target, batch)
		if err != nil {
			return err
		}
		for rs.Next() {
			var k string
			if err := rs.Scan(&k); err != nil {
				rs.Close()
				return err
			}
			keys = append(keys, k)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		_, err = tx.q.exec(ctx, `UPDATE effects SET state = 'done', result_id = ?, ref = ?, updated_at_ms = ?
	WHERE source = ? AND target = ? AND batch = ? AND state = 'pending'`, resultID, ref, ms(s.now()), source, target, batch)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: complete batch %s → %s: %w", batch, target, err)
	}
	return keys, nil
}

// AbandonBatch forgets the pending effects of a batch whose write the
// vendor refused without applying anything (or that was never sent), so a
// retry plans afresh instead of reading back. Done effects are kept.
func (s *Store) AbandonBatch(ctx context.Context, source, target, batch string) error {
	if _, err := s.q.exec(ctx, `DELETE FROM effects WHERE source = ? AND target = ? AND batch = ? AND state = 'pending'`,
		source, target, batch); err != nil {
		return fmt.Errorf("store: abandon batch %s → %s: %w", batch, target, err)
	}
	return nil
}
