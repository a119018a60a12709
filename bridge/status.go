package bridge

import (
	"context"
	"fmt"
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
	if s.Status != "failed" {
		return nil
	}
	sm, err := e.st.SentMessage(ctx, s.ID)
	if err != nil {
		return err
	}
	if sm == nil || sm.Status != "failed" {
		return nil // a higher status (read) stands; the failure is stale
	}
	helpdesk, ticketID, commentID := sm.Helpdesk, sm.TicketID, sm.CommentID
	if ticketID == "" {
		helpdesk, ticketID, commentID = parseCallback(firstNonEmpty(sm.Callback, s.BizOpaqueCallbackData))
	}
	hd, ok := e.opt.Helpdesks[helpdesk]
	if !ok || ticketID == "" {
		e.log.WarnContext(ctx, "a message failed that no ticket is known for", "code", code, "title", title)
		return nil
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
	return e.note(ctx, helpdesk, hd, connectors.TicketRef{Account: helpdesk, ID: ticketID}, "failed:"+s.ID, "delivery_failed", body)
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
