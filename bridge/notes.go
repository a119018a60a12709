package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/telemetry"
)

// sourceNote is the effects source of the bridge's own notes.
const sourceNote = "note"

// note writes an internal note on a ticket once per key, whatever retries
// and replays happen: the write is recorded before and after, and an
// uncertain earlier attempt is read back (connectors.WriteFinder) before
// writing again. A closed ticket cannot take notes: the note is logged and
// given up. Reason labels deskbridge_notes_total.
func (e *Engine) note(ctx context.Context, helpdesk string, hd connectors.Helpdesk, ticket connectors.TicketRef, key, reason, body string) error {
	log := e.log.With("ticket_id", ticket.ID, "reason", reason)
	if ticket.ID == "" {
		log.WarnContext(ctx, "note not written: the conversation has no ticket", "note", body)
		return nil
	}
	target := helpdeskTarget(helpdesk)
	eff, err := e.st.Effect(ctx, sourceNote, key, target)
	if err != nil {
		return err
	}
	if eff != nil && eff.State == "done" {
		return nil
	}
	if eff != nil && eff.Ref == ticket.ID {
		if wf, ok := hd.(connectors.WriteFinder); ok {
			ref, found, err := wf.FindWrite(ctx, ticket, key)
			if err != nil {
				return fmt.Errorf("read back note %s: %w", key, err)
			}
			if found {
				_, err := e.st.CompleteBatch(ctx, sourceNote, target, key, ref.ID, ticket.ID)
				return err
			}
		}
	}
	if _, err := e.st.BeginBatch(ctx, sourceNote, target, key, ticket.ID, []string{key}); err != nil {
		return err
	}
	ref, err := hd.AddNote(ctx, &connectors.NoteParams{Ticket: ticket, Body: body, IdempotencyKey: key})
	var ce *connectors.Error
	switch {
	case errors.As(err, &ce) && ce.Kind == connectors.Conflict && ce.Code == connectors.CodeTicketClosed:
		log.WarnContext(ctx, "note not written: the ticket is closed", "note", body)
	case err != nil:
		return fmt.Errorf("add note to ticket %s: %w", ticket.ID, err)
	default:
		log.InfoContext(ctx, "note written", "comment_id", ref.ID)
		e.count(func(m *telemetry.Metrics) {
			m.Notes.WithLabelValues(reason).Inc()
			m.HelpdeskWrites.WithLabelValues("note").Inc()
		})
	}
	_, err = e.st.CompleteBatch(ctx, sourceNote, target, key, ref.ID, ticket.ID)
	return err
}
