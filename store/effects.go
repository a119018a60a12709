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
	Source    string
	Key       string
	Target    string
	State     string
	ResultID  string // the vendor's id of what was written (comment id, wamid)
	Ref       string // where it was written (ticket id, conversation)
	Attempts  int    // how many times BeginEffect was called
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

const effectColumns = `source, key, target, state, result_id, ref, attempts, created_at_ms, updated_at_ms`

func scanEffect(r row) (*Effect, error) {
	var e Effect
	var created, updated int64
	if err := r.Scan(&e.Source, &e.Key, &e.Target, &e.State, &e.ResultID, &e.Ref, &e.Attempts, &created, &updated); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return &e, nil
}
