package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SentMessage is a message the bridge sent to a WhatsApp customer and its
// delivery status.
type SentMessage struct {
	WAMID     string
	Callback  string // biz_opaque_callback_data sent with it
	ChatID    int64
	Helpdesk  string
	TicketID  string
	CommentID string
	Status    string // sent, delivered, read, played, failed ("" before any)
	StatusAt  time.Time
	ErrorCode string
	// ErrorTitle is the failure's reason as WhatsApp gave it.
	ErrorTitle string
	CreatedAt  time.Time
}

// StatusRank orders delivery statuses: a status only replaces one of a
// lower rank, so a late "delivered" never overwrites "read". A failure
// outranks sent and delivered but not read or played.
func StatusRank(status string) int {
	switch status {
	case "accepted", "sent":
		return 1
	case "delivered":
		return 2
	case "failed":
		return 3
	case "read":
		return 4
	case "played":
		return 5
	}
	return 0
}

const sentColumns = `wamid, callback, chat_id, helpdesk, ticket_id, comment_id, status, status_at_ms, error_code, error_title, created_at_ms`

func scanSent(r row) (*SentMessage, error) {
	var m SentMessage
	var at, created int64
	if err := r.Scan(&m.WAMID, &m.Callback, &m.ChatID, &m.Helpdesk, &m.TicketID, &m.CommentID, &m.Status, &at,
		&m.ErrorCode, &m.ErrorTitle, &created); err != nil {
		return nil, err
	}
	m.StatusAt, m.CreatedAt = fromMS(at), time.UnixMilli(created)
	return &m, nil
}

// RecordSent stores what a sent message belongs to. A status that arrived
// first (the webhook can beat the send's answer) is kept.
func (s *Store) RecordSent(ctx context.Context, m SentMessage) error {
	now := ms(s.now())
	_, err := s.q.exec(ctx, `INSERT INTO sent_messages (wamid, callback, chat_id, helpdesk, ticket_id, comment_id,
	created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (wamid) DO UPDATE SET callback = CASE WHEN excluded.callback = '' THEN sent_messages.callback ELSE excluded.callback END, chat_id = excluded.chat_id,
	helpdesk = excluded.helpdesk, ticket_id = excluded.ticket_id, comment_id = excluded.comment_id,
	updated_at_ms = excluded.updated_at_ms`,
		m.WAMID, m.Callback, m.ChatID, m.Helpdesk, m.TicketID, m.CommentID, now, now)
	if err != nil {
		return fmt.Errorf("store: record sent message: %w", err)
	}
	return nil
}

// ApplyStatus records a delivery status of a sent message unless the stored
// one ranks higher (StatusRank) or is the same, and reports whether it was
// applied. A status for a message not yet recorded creates its row with
// the callback data, so RecordSent and the status can come in any order.
func (s *Store) ApplyStatus(ctx context.Context, wamid, callback, status string, at time.Time, code, title string) (bool, error) {
	now := ms(s.now())
	rank := StatusRank(status)
	n, err := s.q.exec(ctx, `INSERT INTO sent_messages (wamid, callback, status, status_rank, status_at_ms,
	error_code, error_title, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (wamid) DO UPDATE SET status = excluded.status, status_rank = excluded.status_rank,
	status_at_ms = excluded.status_at_ms, error_code = excluded.error_code, error_title = excluded.error_title,
	callback = CASE WHEN sent_messages.callback = '' THEN excluded.callback ELSE sent_messages.callback END,
	updated_at_ms = excluded.updated_at_ms
	WHERE sent_messages.status_rank < excluded.status_rank`,
		wamid, callback, status, rank, msOrZero(at), code, title, now, now)
	if err != nil {
		return false, fmt.Errorf("store: apply status %s of %s: %w", status, wamid, err)
	}
	return n == 1, nil
}

// SentMessage returns a sent message by wamid, nil when unknown.
func (s *Store) SentMessage(ctx context.Context, wamid string) (*SentMessage, error) {
	return s.oneSent(ctx, `wamid = ?`, wamid)
}

// SentByCallback returns the sent message whose callback data is callback
// (the read-back of a send whose answer was lost), nil when none.
func (s *Store) SentByCallback(ctx context.Context, callback string) (*SentMessage, error) {
	if callback == "" {
		return nil, nil
	}
	return s.oneSent(ctx, `callback = ? ORDER BY created_at_ms LIMIT 1`, callback)
}

func (s *Store) oneSent(ctx context.Context, where string, args ...any) (*SentMessage, error) {
	m, err := scanSent(s.q.queryRow(ctx, `SELECT `+sentColumns+` FROM sent_messages WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: sent message: %w", err)
	}
	return m, nil
}

// SentMessages lists the messages sent in a chat, oldest first.
func (s *Store) SentMessages(ctx context.Context, chatID int64) ([]*SentMessage, error) {
	rs, err := s.q.query(ctx, `SELECT `+sentColumns+` FROM sent_messages WHERE chat_id = ? ORDER BY created_at_ms, wamid`, chatID)
	if err != nil {
		return nil, fmt.Errorf("store: sent messages: %w", err)
	}
	defer rs.Close()
	var out []*SentMessage
	for rs.Next() {
		m, err := scanSent(rs)
		if err != nil {
			return nil, fmt.Errorf("store: sent messages: %w", err)
		}
		out = append(out, m)
	}
	return out, rs.Err()
}
