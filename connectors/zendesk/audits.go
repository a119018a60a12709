package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/deskbridge/deskbridge/connectors"
)

// keyMetadata is the audit metadata that tags a write with its
// IdempotencyKey; nil (nothing sent) when key is "".
func keyMetadata(key string) *writeMetadata {
	if key == "" {
		return nil
	}
	return &writeMetadata{Key: key}
}

// FindWrite reads back a write made with an IdempotencyKey
// (connectors.WriteFinder). CreateTicket, AppendMessage and AddNote send
// the key as the write's metadata ({"metadata":{"deskbridge_key": key}}),
// which Zendesk keeps in the audit of the write as metadata.custom.
// FindWrite lists the ticket's audits (GET /api/v2/tickets/{id}/audits,
// cursor pages of 100, oldest first: Zendesk documents no sort order for
// this list) until an audit carries key, and returns the id of that
// audit's Comment event. found is false when no audit of the ticket
// carries key: the write was not applied. An audit with the key but no
// Comment event (not written by this connector) is found with an empty
// comment id.
//
// A ticket Zendesk does not know (deleted, or not in this account) is a
// Permanent error: nothing can be read back. A ticket with more audits than
// FindWrite reads (maxPages pages) is a Permanent error too, never a "not
// found" that would make the caller write again.
func (c *Client) FindWrite(ctx context.Context, ticket connectors.TicketRef, key string) (connectors.CommentRef, bool, error) {
	const op = "list_audits"
	if _, err := parseID(op, "ticket id", ticket.ID); err != nil {
		return connectors.CommentRef{}, false, err
	}
	if key == "" {
		return connectors.CommentRef{}, false, invalid(op, "the idempotency key to find is empty")
	}
	first := "/api/v2/tickets/" + ticket.ID + "/audits.json"
	path, query := first, auditsQuery("")
	for range maxPages {
		var out auditsResponse
		if err := c.get(ctx, op, path, query, &out); err != nil {
			return connectors.CommentRef{}, false, ticketNotFound(op, ticket.ID, err)
		}
		for i := range out.Audits {
			if auditKey(out.Audits[i].Metadata.Custom) == key {
				return connectors.CommentRef{Ticket: c.ticketRef(ticket.ID), ID: commentID(&out.Audits[i])}, true, nil
			}
		}
		next, after, err := c.nextPage(op, out.Meta, out.Links, out.NextPage)
		switch {
		case err != nil:
			return connectors.CommentRef{}, false, err
		case next != "":
			path, query = next, nil
		case after != "":
			path, query = first, auditsQuery(after)
		default:
			return connectors.CommentRef{}, false, nil
		}
	}
	return connectors.CommentRef{}, false, &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op,
		Message: fmt.Sprintf("ticket %s has more than %d pages of audits: cannot tell whether write %q was applied",
			ticket.ID, maxPages, key)}
}

// auditsQuery is the query of a page of audits.
func auditsQuery(after string) url.Values {
	q := url.Values{"page[size]": {"100"}}
	if after != "" {
		q.Set("page[after]", after)
	}
	return q
}

// auditKey returns the deskbridge_key of an audit's metadata.custom, ""
// when it has none (or custom is not an object with a string there).
func auditKey(custom json.RawMessage) string {
	var m struct {
		Key json.RawMessage `json:"deskbridge_key"`
	}
	var key string
	if json.Unmarshal(custom, &m) != nil || json.Unmarshal(m.Key, &key) != nil {
		return ""
	}
	return key
}

// ticketNotFound turns a 404 of a ticket's sub-resource into a Permanent
// error that names the ticket; other errors are returned as they are.
func ticketNotFound(op, ticketID string, err error) error {
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		return err
	}
	return &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op, Status: ce.Status, Code: ce.Code,
		Message: fmt.Sprintf("ticket %s not found (deleted, or not in this account): its writes cannot be read back", ticketID),
		Details: ce.Details, Err: ce.Err}
}
