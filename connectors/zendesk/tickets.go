package zendesk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/deskbridge/deskbridge/connectors"
)

// The values Zendesk accepts for priority and type.
var (
	priorities  = []string{"urgent", "high", "normal", "low"}
	ticketTypes = []string{"problem", "incident", "question", "task"}
)

// CreateTicket opens a ticket (POST /api/v2/tickets) whose first comment
// is the customer's message: public, authored and submitted by the
// requester, with the attachments uploaded first. Brand, group and form
// default to the Config's. FollowUpOf makes it a follow-up of a closed
// ticket (via_followup_source_id).
//
// IdempotencyKey is sent as the Idempotency-Key header, which the Ticketing
// API honours on ticket creation (a retry with the same key returns the
// first ticket instead of creating another); the request may then be
// retried quickly after a timeout. It is also written to the audit's custom
// metadata, as in AppendMessage. The comment id comes from the answer's
// audit when present; it is "" otherwise (no extra request is made).
func (c *Client) CreateTicket(ctx context.Context, p *connectors.CreateTicketParams) (*connectors.TicketResult, error) {
	const op = "create_ticket"
	if p == nil {
		return nil, invalid(op, "ticket params are required")
	}
	t, err := c.ticketWrite(op, p)
	if err != nil {
		return nil, err
	}
	if err := c.checkAttachments(op, p.Attachments); err != nil {
		return nil, err
	}
	if t.Comment.Uploads, err = c.uploadAll(ctx, p.IdempotencyKey, p.Attachments); err != nil {
		return nil, err
	}
	req := &connectors.Request{Method: http.MethodPost, Path: "/api/v2/tickets.json"}
	if p.IdempotencyKey != "" {
		req.Header = http.Header{"Idempotency-Key": {p.IdempotencyKey}}
		req.Idempotent = true
	}
	var out ticketResponse
	resp, err := c.call(ctx, op, req, ticketRequest{Ticket: t}, &out)
	if err != nil {
		return nil, err
	}
	if out.Ticket.ID == "" {
		return nil, &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: resp.Status,
			Message: "create answer carries no ticket id"}
	}
	if resp.Header.Get("X-Idempotency-Lookup") == "hit" {
		c.log.DebugContext(ctx, "ticket creation replayed by its idempotency key", "ticket_id", string(out.Ticket.ID))
	}
	ref := c.ticketRef(string(out.Ticket.ID))
	return &connectors.TicketResult{Ticket: ref, Comment: connectors.CommentRef{Ticket: ref, ID: commentID(out.Audit)}}, nil
}

// ticketWrite validates p and builds the ticket to create.
func (c *Client) ticketWrite(op string, p *connectors.CreateTicketParams) (ticketWrite, error) {
	var t ticketWrite
	var err error
	if t.RequesterID, err = parseID(op, "requester id", p.Requester.ID); err != nil {
		return t, err
	}
	body, err := commentBody(op, p.Body, p.Attachments)
	if err != nil {
		return t, err
	}
	if p.Priority != "" && !slices.Contains(priorities, p.Priority) {
		return t, invalid(op, "priority %q must be one of %s", p.Priority, strings.Join(priorities, ", "))
	}
	if p.Type != "" && !slices.Contains(ticketTypes, p.Type) {
		return t, invalid(op, "type %q must be one of %s", p.Type, strings.Join(ticketTypes, ", "))
	}
	t.SubmitterID = t.RequesterID
	t.Subject, t.Tags, t.Priority, t.Type = p.Subject, p.Tags, p.Priority, p.Type
	t.Comment = &commentWrite{Body: body, Public: true, AuthorID: t.RequesterID}
	t.Metadata = keyMetadata(p.IdempotencyKey)
	if t.BrandID, err = optionalID(op, "brand id", p.BrandID, c.cfg.BrandID); err != nil {
		return t, err
	}
	if t.GroupID, err = optionalID(op, "group id", p.GroupID, c.cfg.GroupID); err != nil {
		return t, err
	}
	if t.TicketFormID, err = optionalID(op, "form id", p.FormID, c.cfg.FormID); err != nil {
		return t, err
	}
	if t.ViaFollowupSourceID, err = optionalID(op, "follow-up source ticket id", p.FollowUpOf, 0); err != nil {
		return t, err
	}
	for key, v := range p.CustomFields {
		id, err := parseID(op, "custom field id", key)
		if err != nil {
			return t, err
		}
		t.CustomFields = append(t.CustomFields, customFieldValue{ID: id, Value: v})
	}
	slices.SortFunc(t.CustomFields, func(a, b customFieldValue) int { return cmp.Compare(a.ID, b.ID) })
	return t, nil
}

// commentBody returns the body of a comment: Zendesk refuses a blank one,
// so a message made only of files is given their names.
func commentBody(op, body string, files []connectors.Attachment) (string, error) {
	if strings.TrimSpace(body) != "" {
		return body, nil
	}
	if len(files) == 0 {
		return "", invalid(op, "the comment body is empty")
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Filename
	}
	return "📎 " + strings.Join(names, ", "), nil
}

// AppendMessage adds the customer's message to a ticket as a public comment
// authored by the requester (PUT /api/v2/tickets/{id}); Reopen also sets the
// status to open (for a solved ticket).
//
// A closed ticket is never written to: when the ticket is known closed (read
// by Ticket, or refused before) the error comes without a request; when
// Zendesk refuses the update because the ticket is closed (422 RecordInvalid
// with a "status" detail) it comes after. Either way it is a Conflict with
// Code connectors.CodeTicketClosed. An update that would exceed the Update
// Ticket limit (30 per ticket per 10 minutes) is refused without a request:
// RateLimited, Code CodeTicketUpdateLimit, Wait until a slot frees.
//
// Zendesk has no idempotency key for updates: a non-empty IdempotencyKey is
// written to the custom metadata of the update's audit
// ({"metadata":{"deskbridge_key": key}}), so that FindWrite can tell
// whether an update whose answer was lost was applied.
func (c *Client) AppendMessage(ctx context.Context, p *connectors.AppendParams) (connectors.CommentRef, error) {
	const op = "append_message"
	if p == nil {
		return connectors.CommentRef{}, invalid(op, "append params are required")
	}
	author, err := parseID(op, "author id", p.Author.ID)
	if err != nil {
		return connectors.CommentRef{}, err
	}
	body, err := commentBody(op, p.Body, p.Attachments)
	if err != nil {
		return connectors.CommentRef{}, err
	}
	t := ticketWrite{Comment: &commentWrite{Body: body, Public: true, AuthorID: author}}
	if p.Reopen {
		t.Status = "open"
	}
	return c.updateTicket(ctx, op, p.Ticket.ID, t, p.Attachments, p.IdempotencyKey)
}

// AddNote adds an internal note (public false) authored by the API
// identity (no author_id). Closed tickets, the Update Ticket limit and
// IdempotencyKey are handled as in AppendMessage.
func (c *Client) AddNote(ctx context.Context, p *connectors.NoteParams) (connectors.CommentRef, error) {
	const op = "add_note"
	if p == nil {
		return connectors.CommentRef{}, invalid(op, "note params are required")
	}
	body, err := commentBody(op, p.Body, p.Attachments)
	if err != nil {
		return connectors.CommentRef{}, err
	}
	t := ticketWrite{Comment: &commentWrite{Body: body, Public: false}}
	return c.updateTicket(ctx, op, p.Ticket.ID, t, p.Attachments, p.IdempotencyKey)
}

// updateTicket sends one comment to a ticket: local checks (closed, the
// per-ticket limit, attachments), uploads, then the PUT.
func (c *Client) updateTicket(ctx context.Context, op, ticketID string, t ticketWrite,
	files []connectors.Attachment, key string) (connectors.CommentRef, error) {
	if _, err := parseID(op, "ticket id", ticketID); err != nil {
		return connectors.CommentRef{}, err
	}
	if err := c.checkAttachments(op, files); err != nil {
		return connectors.CommentRef{}, err
	}
	if c.closed.has(ticketID) {
		return connectors.CommentRef{}, closedConflict(op, ticketID, nil)
	}
	release, wait := c.tickets.reserve(ticketID, c.cfg.Now())
	if release == nil {
		return connectors.CommentRef{}, &connectors.Error{Kind: connectors.RateLimited, Vendor: vendor, Op: op,
			Code: CodeTicketUpdateLimit, Wait: wait,
			Message: fmt.Sprintf("ticket %s had %d updates in the last %s (Zendesk's Update Ticket limit)",
				ticketID, ticketUpdateLimit, ticketUpdateWindow)}
	}
	t.Metadata = keyMetadata(key)
	var err error
	if t.Comment.Uploads, err = c.uploadAll(ctx, key, files); err != nil {
		release()
		return connectors.CommentRef{}, err
	}
	var out ticketResponse
	_, err = c.call(ctx, op, &connectors.Request{Method: http.MethodPut, Path: "/api/v2/tickets/" + ticketID + ".json"},
		ticketRequest{Ticket: t}, &out)
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 {
			release() // refused: Zendesk applied nothing
		}
		if c.isClosedRefusal(ctx, ticketID, t.Status != "", err) {
			c.closed.add(ticketID)
			return connectors.CommentRef{}, closedConflict(op, ticketID, ce)
		}
		return connectors.CommentRef{}, err
	}
	return connectors.CommentRef{Ticket: c.ticketRef(ticketID), ID: commentID(out.Audit)}, nil
}

// isClosedRefusal reports whether err is Zendesk refusing an update
// because the ticket is closed: 422 RecordInvalid with a "status" detail
// ("Status: closed prevents ticket update"). The detail is the field, not
// the text; when its text does not say "closed" and the update itself set
// a status (which could be refused for another reason), the ticket is read
// to be sure.
func (c *Client) isClosedRefusal(ctx context.Context, ticketID string, setStatus bool, err error) bool {
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusUnprocessableEntity {
		return false
	}
	ae := apiError(err)
	if ae == nil || len(ae.Fields["status"]) == 0 {
		return false
	}
	if !setStatus || slices.ContainsFunc(ae.Fields["status"], func(f FieldError) bool {
		return strings.Contains(strings.ToLower(f.Description), "closed")
	}) {
		return true
	}
	st, gerr := c.Ticket(ctx, c.ticketRef(ticketID))
	return gerr == nil && st.Status == connectors.TicketClosed
}

// commentID returns the id of the Comment event of an audit, "" when none.
func commentID(a *wireAudit) string {
	if a == nil {
		return ""
	}
	for _, ev := range a.Events {
		if ev.Type == "Comment" && ev.ID != "" {
			return string(ev.ID)
		}
	}
	return ""
}

// ticketRef makes the ref of a ticket of this account.
func (c *Client) ticketRef(id string) connectors.TicketRef {
	return connectors.TicketRef{Vendor: vendor, Account: c.cfg.Name, ID: id}
}

// Ticket reads a ticket's status, requester and last update (GET
// /api/v2/tickets/{id}). A closed ticket is remembered, so later writes to
// it fail without a request.
func (c *Client) Ticket(ctx context.Context, ref connectors.TicketRef) (*connectors.TicketState, error) {
	const op = "show_ticket"
	if _, err := parseID(op, "ticket id", ref.ID); err != nil {
		return nil, err
	}
	var out ticketResponse
	if err := c.get(ctx, op, "/api/v2/tickets/"+ref.ID+".json", nil, &out); err != nil {
		return nil, err
	}
	t := out.Ticket
	st := &connectors.TicketState{Ticket: c.ticketRef(ref.ID), Status: connectors.TicketStatus(t.Status),
		RequesterID: string(t.RequesterID), UpdatedAt: t.UpdatedAt.Time, Subject: t.Subject, Priority: t.Priority,
		Type: t.Type, Tags: t.Tags, GroupID: string(t.GroupID), BrandID: string(t.BrandID), FormID: string(t.TicketFormID)}
	for _, f := range t.CustomFields {
		if f.Value != nil {
			if st.CustomFields == nil {
				st.CustomFields = map[string]any{}
			}
			st.CustomFields[string(f.ID)] = f.Value
		}
	}
	if st.Status == connectors.TicketClosed {
		c.closed.add(ref.ID)
	}
	return st, nil
}

// Comment reads one comment of a ticket with its attachments (GET
// /api/v2/tickets/{id}/comments, cursor pages of 100, newest first since
// webhooks name recent comments), following the pages until it is found.
// A comment that is not there is a Permanent error.
func (c *Client) Comment(ctx context.Context, ticket connectors.TicketRef, commentID string) (*connectors.Comment, error) {
	const op = "list_comments"
	if _, err := parseID(op, "ticket id", ticket.ID); err != nil {
		return nil, err
	}
	if _, err := parseID(op, "comment id", commentID); err != nil {
		return nil, err
	}
	first := "/api/v2/tickets/" + ticket.ID + "/comments.json"
	path, query := first, pageQuery("")
	for range maxPages {
		var out commentsResponse
		if err := c.get(ctx, op, path, query, &out); err != nil {
			return nil, err
		}
		for _, cm := range out.Comments {
			if string(cm.ID) == commentID {
				return c.comment(ticket.ID, cm), nil
			}
		}
		next, after, err := c.nextPage(op, out.Meta, out.Links, out.NextPage)
		switch {
		case err != nil:
			return nil, err
		case next != "":
			path, query = next, nil
		case after != "":
			path, query = first, pageQuery(after)
		default:
			return nil, &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op,
				Message: fmt.Sprintf("comment %s not found on ticket %s", commentID, ticket.ID)}
		}
	}
	return nil, &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op,
		Message: fmt.Sprintf("comment %s not found in %d pages of ticket %s", commentID, maxPages, ticket.ID)}
}

// pageQuery is the query of a page of comments, newest first.
func pageQuery(after string) url.Values {
	q := url.Values{"page[size]": {"100"}, "sort": {"-created_at"}}
	if after != "" {
		q.Set("page[after]", after)
	}
	return q
}

// comment converts a listed comment.
func (c *Client) comment(ticketID string, cm wireComment) *connectors.Comment {
	out := &connectors.Comment{
		Ref:      connectors.CommentRef{Ticket: c.ticketRef(ticketID), ID: string(cm.ID)},
		AuthorID: string(cm.AuthorID), Body: cm.Body, Public: cm.Public, CreatedAt: cm.CreatedAt.Time,
	}
	for _, a := range cm.Attachments {
		out.Attachments = append(out.Attachments, connectors.RemoteAttachment{ID: string(a.ID),
			Filename: a.FileName, ContentType: a.ContentType, Size: a.Size, URL: a.ContentURL})
	}
	return out
}

// maxClosed bounds the set of tickets known closed.
const maxClosed = 10000

// closedSet remembers tickets known to be closed. Closed is final in
// Zendesk, so an entry never goes stale; the set only forgets to stay
// bounded.
type closedSet struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (s *closedSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *closedSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) >= maxClosed {
		for k := range s.ids {
			delete(s.ids, k) // forget one: at worst a request is made and refused again
			break
		}
	}
	s.ids[id] = struct{}{}
}
