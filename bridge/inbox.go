// Package bridge is deskbridge's engine: it takes webhook events into the
// durable inbox and, through the queue's workers, turns them into helpdesk
// and WhatsApp actions. This file holds the ingest side: events in, work
// queued, in one transaction.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/store"
)

// SourceWhatsApp is the inbox source of WhatsApp webhook events.
const SourceWhatsApp = "whatsapp"

// Inbox stores webhook events and enqueues their conversations' work in
// the same transaction. It is the webhook server's acceptor.
//
// Concurrent webhooks are group-committed: committers take every request
// waiting at that moment and store them in one transaction, so one commit
// (one fsync) acknowledges many webhooks. Nobody is answered before the
// commit that holds their events. If a group's transaction fails, each of
// its requests is retried in a transaction of its own, so one bad request
// cannot fail the others.
type Inbox struct {
	st   *store.Store
	q    *queue.Queue
	reqs chan *acceptReq
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// Group-commit bounds.
const (
	maxGroupRequests = 256
	maxGroupEvents   = 4096
	commitTimeout    = 15 * time.Second
)

type acceptReq struct {
	rows []store.NewEvent
	dups []bool
	err  error
	done chan struct{}
}

// NewInbox returns an Inbox writing to st and enqueuing on q. It runs one
// committer on SQLite (one writer at a time anyway) and four on
// PostgreSQL. Close stops them.
func NewInbox(st *store.Store, q *queue.Queue) *Inbox {
	in := &Inbox{st: st, q: q, reqs: make(chan *acceptReq), done: make(chan struct{})}
	n := 1
	if st.Kind() == store.Postgres {
		n = 4
	}
	for range n {
		in.wg.Add(1)
		go in.committer()
	}
	return in
}

// Close stops the committers after the groups in progress; requests
// arriving later fail. Call it after the HTTP server has drained.
func (in *Inbox) Close() {
	in.once.Do(func() { close(in.done) })
	in.wg.Wait()
}

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
	if len(events) == 0 {
		return []bool{}, nil
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
	return in.accept(ctx, rows)
}

// accept hands rows to a committer and waits for the commit that holds
// them; dups[i] reports whether rows[i] was stored before.
func (in *Inbox) accept(ctx context.Context, rows []store.NewEvent) (dups []bool, err error) {
	req := &acceptReq{rows: rows, done: make(chan struct{})}
	select {
	case in.reqs <- req:
	case <-in.done:
		return nil, errors.New("bridge: inbox closed")
	case <-ctx.Done():
		return nil, fmt.Errorf("bridge: accept: %w", ctx.Err())
	}
	// Once handed over, the request is committed or failed by the
	// committer; waiting for it is bounded by commitTimeout.
	<-req.done
	if req.err != nil {
		return nil, fmt.Errorf("bridge: accept %d events: %w", len(rows), req.err)
	}
	return req.dups, nil
}

// committer commits groups of waiting requests until Close.
func (in *Inbox) committer() {
	defer in.wg.Done()
	for {
		var first *acceptReq
		select {
		case first = <-in.reqs:
		case <-in.done:
			return
		}
		group, events := []*acceptReq{first}, len(first.rows)
	gather:
		for len(group) < maxGroupRequests && events < maxGroupEvents {
			select {
			case r := <-in.reqs:
				group = append(group, r)
				events += len(r.rows)
			default:
				break gather
			}
		}
		in.commitGroup(group)
	}
}

// commitGroup stores a group in one transaction, or each request alone
// when the group's transaction fails.
func (in *Inbox) commitGroup(group []*acceptReq) {
	if err := in.commit(group); err != nil && len(group) > 1 {
		for _, r := range group {
			r.err = in.commit([]*acceptReq{r})
		}
	} else {
		for _, r := range group {
			r.err = err
		}
	}
	for _, r := range group {
		close(r.done)
	}
}

func (in *Inbox) commit(group []*acceptReq) error {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	var rows []store.NewEvent
	if len(group) == 1 {
		rows = group[0].rows
	} else {
		for _, r := range group {
			rows = append(rows, r.rows...)
		}
	}
	return in.st.WithTx(ctx, func(tx *store.Tx) error {
		inserted, err := tx.InsertEvents(ctx, rows)
		if err != nil {
			return err
		}
		var convs []int64
		seen := make(map[int64]bool)
		off := 0
		for _, r := range group {
			r.dups = make([]bool, len(r.rows))
			for i := range r.rows {
				res := inserted[off+i]
				r.dups[i] = res.Duplicate
				if !res.Duplicate && !seen[res.ConversationID] {
					seen[res.ConversationID] = true
					convs = append(convs, res.ConversationID)
				}
			}
			off += len(r.rows)
		}
		return in.q.EnqueueTx(ctx, tx, convs)
	})
}
