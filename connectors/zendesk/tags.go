package zendesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/deskbridge/deskbridge/connectors"
)

var _ connectors.TicketTagger = (*Client)(nil)

// CodeBudgetTight is the Error.Code of a low-priority write (tags) skipped
// because the account's request budget had nothing to spare.
const CodeBudgetTight = "budget_tight"

// SetTags adds and removes tags in one ticket update (PUT
// /api/v2/tickets/{id} with additional_tags and remove_tags), which leaves
// the other tags alone. It counts against the Update Ticket limit like a
// comment; over it, the error is RateLimited with Code
// CodeTicketUpdateLimit and no request is made.
func (c *Client) SetTags(ctx context.Context, p *connectors.TagParams) error {
	const op = "set_tags"
	if p == nil || len(p.Add)+len(p.Remove) == 0 {
		return invalid(op, "tags to add or remove are required")
	}
	if _, err := parseID(op, "ticket id", p.Ticket.ID); err != nil {
		return err
	}
	if c.closed.has(p.Ticket.ID) {
		return closedConflict(op, p.Ticket.ID, nil)
	}
	// Tags are bulk work: when the account's budget has no request to
	// spare right now, they yield to customer messages, replies and notes
	// instead of queueing behind them.
	if c.api.Limiter().Tokens() < 1 {
		return &connectors.Error{Kind: connectors.RateLimited, Vendor: vendor, Op: op, Code: CodeBudgetTight,
			Message: "the account's request budget is in use; tags yield to messages"}
	}
	release, wait := c.tickets.reserve(p.Ticket.ID, c.cfg.Now())
	if release == nil {
		return &connectors.Error{Kind: connectors.RateLimited, Vendor: vendor, Op: op, Code: CodeTicketUpdateLimit, Wait: wait,
			Message: fmt.Sprintf("ticket %s had %d updates in the last %s (Zendesk's Update Ticket limit)",
				p.Ticket.ID, ticketUpdateLimit, ticketUpdateWindow)}
	}
	t := ticketWrite{AdditionalTags: p.Add, RemoveTags: p.Remove}
	_, err := c.call(ctx, op, &connectors.Request{Method: http.MethodPut, Path: "/api/v2/tickets/" + p.Ticket.ID + ".json"},
		ticketRequest{Ticket: t}, nil)
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 {
			release()
		}
		if c.isClosedRefusal(ctx, p.Ticket.ID, false, err) {
			c.closed.add(p.Ticket.ID)
			return closedConflict(op, p.Ticket.ID, ce)
		}
		return err
	}
	return nil
}
