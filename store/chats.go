package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Chat is one WhatsApp customer on one business number, and what the
// engine knows of them: their helpdesk contact, the conversation's current
// ticket and the customer-service window. A chat is keyed by the business
// number and the contact key of the inbox conversation (the BSUID when
// known, else the wa_id).
type Chat struct {
	ID            int64
	PhoneNumberID string
	ContactKey    string
	Helpdesk      string // the helpdesk's name in the configuration
	ContactID     string // the helpdesk contact id, "" until resolved
	WAID          string // phone-based id to send to, "" when unknown
	UserID        string // BSUID, "" when unknown
	Name          string // WhatsApp profile name
	TicketID      string // the current ticket, "" when none yet
	TicketStatus  string // last known status of the current ticket
	// TicketCheckedAt is when TicketStatus was last read or written.
	TicketCheckedAt time.Time
	// LastActivity is the last message on the current ticket through the
	// bridge, either way (the threading window runs from it).
	LastActivity time.Time
	// LastCustomerAt is the WhatsApp timestamp of the customer's last
	// message: the 24-hour customer-service window runs from it.
	LastCustomerAt time.Time
	// OptedOutAt is when the customer opted out of messages (zero: not).
	OptedOutAt   time.Time
	OptOutReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const chatColumns = `id, phone_number_id, contact_key, helpdesk, contact_id, wa_id, user_id, name, ticket_id,
	ticket_status, ticket_checked_at_ms, last_activity_ms, last_customer_ms, opted_out_at_ms, opt_out_reason,
	created_at_ms, updated_at_ms`

func scanChat(r row) (*Chat, error) {
	var c Chat
	var checked, activity, customer, opted, created, updated int64
	if err := r.Scan(&c.ID, &c.PhoneNumberID, &c.ContactKey, &c.Helpdesk, &c.ContactID, &c.WAID, &c.UserID, &c.Name,
		&c.TicketID, &c.TicketStatus, &checked, &activity, &customer, &opted, &c.OptOutReason, &created, &updated); err != nil {
		return nil, err
	}
	c.TicketCheckedAt, c.LastActivity, c.LastCustomerAt, c.OptedOutAt = fromMS(checked), fromMS(activity), fromMS(customer), fromMS(opted)
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return &c, nil
}

// fromMS is the time of a stored millisecond count, zero for 0.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// msOrZero is the stored form of t: 0 for the zero time.
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func (s *Store) oneChat(ctx context.Context, what, where string, args ...any) (*Chat, error) {
	c, err := scanChat(s.q.queryRow(ctx, `SELECT `+chatColumns+` FROM chats WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: chat %s: %w", what, err)
	}
	return c, nil
}

// Chat returns the chat of a customer on a number, nil when none exists.
func (s *Store) Chat(ctx context.Context, phoneNumberID, contactKey string) (*Chat, error) {
	return s.oneChat(ctx, "by contact", `phone_number_id = ? AND contact_key = ?`, phoneNumberID, contactKey)
}

// ChatByID returns a chat, nil when none exists.
func (s *Store) ChatByID(ctx context.Context, id int64) (*Chat, error) {
	return s.oneChat(ctx, "by id", `id = ?`, id)
}

// ChatByTicket returns the chat a helpdesk ticket belongs to (any ticket it
// ever had, not only the current one), nil when the ticket is not a
// WhatsApp conversation of this bridge.
func (s *Store) ChatByTicket(ctx context.Context, helpdesk, ticketID string) (*Chat, error) {
	return s.oneChat(ctx, "by ticket", `id = (SELECT chat_id FROM chat_tickets WHERE helpdesk = ? AND ticket_id = ?)`,
		helpdesk, ticketID)
}

// LatestChatOfContact returns the most recently active chat of a helpdesk
// contact on a number, nil when none: a customer whose contact key changed
// (new number, new BSUID) carries on in it.
func (s *Store) LatestChatOfContact(ctx context.Context, phoneNumberID, helpdesk, contactID string) (*Chat, error) {
	return s.oneChat(ctx, "by helpdesk contact", `phone_number_id = ? AND helpdesk = ? AND contact_id = ?
	ORDER BY last_activity_ms DESC, id DESC LIMIT 1`, phoneNumberID, helpdesk, contactID)
}

// Chats lists every chat, newest first, at most limit.
func (s *Store) Chats(ctx context.Context, limit int) ([]*Chat, error) {
	rs, err := s.q.query(ctx, `SELECT `+chatColumns+` FROM chats ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: chats: %w", err)
	}
	defer rs.Close()
	var out []*Chat
	for rs.Next() {
		c, err := scanChat(rs)
		if err != nil {
			return nil, fmt.Errorf("store: chats: %w", err)
		}
		out = append(out, c)
	}
	return out, rs.Err()
}

// SaveChat inserts the chat (ID 0) or updates it, and links its current
// ticket to it, in one transaction. It sets c.ID and the times.
func (s *Store) SaveChat(ctx context.Context, c *Chat) error {
	orig := *c
	err := s.WithTx(ctx, func(tx *Tx) error {
		*c = orig // a retried transaction starts from the caller's chat
		return tx.SaveChat(ctx, c)
	})
	if err != nil {
		*c = orig
		return fmt.Errorf("store: save chat %s/%s: %w", c.PhoneNumberID, c.ContactKey, err)
	}
	return nil
}

// SaveChat is Store.SaveChat inside a transaction.
func (tx *Tx) SaveChat(ctx context.Context, c *Chat) error {
	now := tx.s.now()
	c.UpdatedAt = now
	args := []any{c.Helpdesk, c.ContactID, c.WAID, c.UserID, c.Name, c.TicketID, c.TicketStatus,
		msOrZero(c.TicketCheckedAt), msOrZero(c.LastActivity), msOrZero(c.LastCustomerAt), msOrZero(c.OptedOutAt),
		c.OptOutReason, ms(now)}
	if c.ID == 0 {
		c.CreatedAt = now
		err := tx.q.queryRow(ctx, `INSERT INTO chats (helpdesk, contact_id, wa_id, user_id, name, ticket_id, ticket_status,
	ticket_checked_at_ms, last_activity_ms, last_customer_ms, opted_out_at_ms, opt_out_reason, updated_at_ms,
	phone_number_id, contact_key, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			append(args, c.PhoneNumberID, c.ContactKey, ms(now))...).Scan(&c.ID)
		if err != nil {
			return err
		}
	} else {
		n, err := tx.q.exec(ctx, `UPDATE chats SET helpdesk = ?, contact_id = ?, wa_id = ?, user_id = ?, name = ?,
	ticket_id = ?, ticket_status = ?, ticket_checked_at_ms = ?, last_activity_ms = ?, last_customer_ms = ?,
	opted_out_at_ms = ?, opt_out_reason = ?, updated_at_ms = ? WHERE id = ?`, append(args, c.ID)...)
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("chat %d does not exist", c.ID)
		}
	}
	if c.TicketID == "" {
		return nil
	}
	_, err := tx.q.exec(ctx, `INSERT INTO chat_tickets (helpdesk, ticket_id, chat_id, created_at_ms) VALUES (?, ?, ?, ?)
	ON CONFLICT (helpdesk, ticket_id) DO UPDATE SET chat_id = excluded.chat_id`, c.Helpdesk, c.TicketID, c.ID, ms(now))
	return err
}

// LookupIdentity returns the distinct helpdesk contact ids any of aliases
// maps to in the identity map, in the order first stored.
func (s *Store) LookupIdentity(ctx context.Context, helpdesk string, aliases []string) ([]string, error) {
	if len(aliases) == 0 {
		return nil, nil
	}
	args := []any{helpdesk}
	for _, a := range aliases {
		args = append(args, a)
	}
	rs, err := s.q.query(ctx, `SELECT contact_id, MIN(created_at_ms) AS first FROM identities
	WHERE helpdesk = ? AND alias IN (?`+strings.Repeat(", ?", len(aliases)-1)+`)
	GROUP BY contact_id ORDER BY first, contact_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: look up identity: %w", err)
	}
	defer rs.Close()
	var ids []string
	for rs.Next() {
		var id string
		var first int64
		if err := rs.Scan(&id, &first); err != nil {
			return nil, fmt.Errorf("store: look up identity: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}

// AddIdentities maps aliases to a helpdesk contact. An alias already mapped
// keeps its contact: the map is only added to.
func (s *Store) AddIdentities(ctx context.Context, helpdesk, contactID string, aliases []string) error {
	err := s.WithTx(ctx, func(tx *Tx) error {
		now := ms(s.now())
		for _, a := range aliases {
			if a == "" {
				continue
			}
			if _, err := tx.q.exec(ctx, `INSERT INTO identities (helpdesk, alias, contact_id, created_at_ms)
	VALUES (?, ?, ?, ?) ON CONFLICT (helpdesk, alias) DO NOTHING`, helpdesk, a, contactID, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: add identities of contact %s: %w", contactID, err)
	}
	return nil
}
