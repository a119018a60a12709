package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

// handleStatus records a delivery status of a sent message, monotonically
// (a late "delivered" never replaces "read"). A failure becomes an internal
// note on the ticket with the reason and WhatsApp's error code; normal
// deliveries write nothing to the helpdesk.
func (e *Engine) handleStatus(ctx context.Context, w *whatsapp.Event) error {
	if !e.ready() {
		return nil
	}
	s := w.Status
	var code, title string
	if len(s.Errors) > 0 {
		code, title = strconv.FormatInt(int64(s.Errors[0].Code), 10), firstNonEmpty(s.Errors[0].Title, s.Errors[0].Message)
	}
	applied, err := e.st.ApplyStatus(ctx, s.ID, s.BizOpaqueCallbackData, s.Status, s.Timestamp, code, title)
	if err != nil {
		return err
	}
	e.log.DebugContext(ctx, "delivery status", "status", s.Status, "applied", applied)
	if s.Status != "failed" && (!applied || e.opt.StatusTagPrefix == "") {
		return nil
	}
	sm, err := e.st.SentMessage(ctx, s.ID)
	if err != nil || sm == nil {
		return err
	}
	helpdesk, ticketID, commentID := sm.Helpdesk, sm.TicketID, sm.CommentID
	if ticketID == "" {
		helpdesk, ticketID, commentID = parseCallback(firstNonEmpty(sm.Callback, s.BizOpaqueCallbackData))
	}
	hd, ok := e.opt.Helpdesks[helpdesk]
	if !ok || ticketID == "" {
		if s.Status == "failed" {
			e.log.WarnContext(ctx, "a message failed that no ticket is known for", "code", code, "title", title)
		}
		return nil
	}
	ticket := connectors.TicketRef{Account: helpdesk, ID: ticketID}
	if applied {
		e.tagStatus(ctx, hd, ticket, sm.Status)
	}
	if sm.Status != "failed" {
		return nil // a higher status (read) stands; a failure is stale
	}
	reason := "unknown reason"
	if len(s.Errors) > 0 {
		reason = describe(whatsapp.StatusError(s.Errors[0]))
	}
	what := "A message"
	if commentID != "" {
		what = "The reply (comment " + commentID + ")"
	}
	body := fmt.Sprintf("%s was not delivered on WhatsApp: %s.", what, reason)
	if code == "131026" {
		body += " The customer's number may not be on WhatsApp or cannot receive messages."
	}
	return e.note(ctx, helpdesk, hd, ticket, "failed:"+s.ID, "delivery_failed", body)
}

// deliveryStatuses are the statuses a status tag can show.
var deliveryStatuses = []string{"sent", "delivered", "read", "played", "failed"}

// tagStatus makes status the ticket's delivery-status tag, when configured
// and the helpdesk can tag. It is best effort: a refused or rate-limited
// update is logged and the next status tries again; it never holds up the
// conversation.
func (e *Engine) tagStatus(ctx context.Context, hd connectors.Helpdesk, ticket connectors.TicketRef, status string) {
	prefix := e.opt.StatusTagPrefix
	tagger, ok := hd.(connectors.TicketTagger)
	if prefix == "" || !ok || !slices.Contains(deliveryStatuses, status) {
		return
	}
	p := &connectors.TagParams{Ticket: ticket, Add: []string{prefix + status}}
	for _, s := range deliveryStatuses {
		if s != status {
			p.Remove = append(p.Remove, prefix+s)
		}
	}
	if err := tagger.SetTags(ctx, p); err != nil {
		e.log.WarnContext(ctx, "delivery status tag not written", "ticket_id", ticket.ID, "status", status, slog.Any("error", err))
	}
}

// parseCallback reads the helpdesk, ticket and comment out of the callback
// data the bridge sends ("deskbridge:<helpdesk>:<ticket>:<comment>#<part>").
func parseCallback(cb string) (helpdesk, ticket, comment string) {
	rest, ok := strings.CutPrefix(cb, "deskbridge:")
	if !ok {
		return "", "", ""
	}
	rest, _, _ = strings.Cut(rest, "#")
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) != 3 {
		return "", "", ""
	}
	return parts[0], parts[1], parts[2]
}
