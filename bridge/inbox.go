// Package bridge is deskbridge's engine: it takes webhook events into the
// durable inbox and, through the queue's workers, turns them into helpdesk
// and WhatsApp actions. This file holds the ingest side: events in, work
// queued, in one transaction.
package bridge

import (
	"context"
	"fmt"
	"slices"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/store"
)

// SourceWhatsApp is the inbox source of WhatsApp webhook events.
const SourceWhatsApp = "whatsapp"

// Inbox stores webhook events and enqueues their conversations' work in
// the same transaction. It is the webhook server's acceptor.
type Inbox struct {
	st *store.Store
	q  *queue.Queue
}

// NewInbox returns an Inbox writing to st and enqueuing on q.
func NewInbox(st *store.Store, q *queue.Queue) *Inbox { return &Inbox{st: st, q: q} }

// ConversationKey is the conversation a WhatsApp event belongs to: the
// business number and the contact key. Events with no contact (value-level
// errors, account-level fields) belong to the account's own conversation,
// so they too are handled in order.
func ConversationKey(ev *whatsapp.Event) store.ConversationKey {
	switch {
	case ev.ContactKey != "":
		return store.ConversationKey{Source: SourceWhatsApp, Account: ev.PhoneNumberID, Contact: ev.ContactKey}
	case ev.PhoneNumberID != "":
		return store.ConversationKey{Source: SourceWhatsApp, Account: ev.PhoneNumberID, Contact: "number:" + ev.PhoneNumberID}
	default:
		return store.ConversationKey{Source: SourceWhatsApp, Account: "waba:" + ev.WABAID, Contact: "account"}
	}
}

// AcceptWhatsApp stores events (a re-delivered one adds nothing) and
// enqueues one job per conversation that received a new event; it returns
// after the commit. duplicates[i] reports whether events[i] was stored
// before.
func (in *Inbox) AcceptWhatsApp(ctx context.Context, events []whatsapp.Event) (duplicates []bool, err error) {
	duplicates = make([]bool, len(events))
	if len(events) == 0 {
		return duplicates, nil
	}
	rows := make([]store.NewEvent, len(events))
	for i := range events {
		ev := &events[i]
		payload, err := ev.Stored()
		if err != nil {
			return nil, fmt.Errorf("bridge: %w", err)
		}
		rows[i] = store.NewEvent{
			Source:       SourceWhatsApp,
			Kind:         string(ev.Kind),
			Key:          ev.Key,
			Conversation: ConversationKey(ev),
			OccurredAt:   ev.Timestamp,
			Payload:      payload,
		}
	}
	err = in.st.WithTx(ctx, func(tx *store.Tx) error {
		inserted, err := tx.InsertEvents(ctx, rows)
		if err != nil {
			return err
		}
		var convs []int64
		for i, r := range inserted {
			duplicates[i] = r.Duplicate
			if !r.Duplicate && !slices.Contains(convs, r.ConversationID) {
				convs = append(convs, r.ConversationID)
			}
		}
		return in.q.EnqueueTx(ctx, tx, convs)
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: accept %d events: %w", len(events), err)
	}
	return duplicates, nil
}
