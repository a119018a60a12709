package zendesk

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// comment is a stored ticket comment (public reply or internal note).
type comment struct {
	ID          int64
	AuditID     int64
	AuthorID    int64
	Body        string
	HTMLBody    string
	Public      bool
	Attachments []*attachment
	ViaChannel  string
	ViaID       int
	Client      string
	IP          string
	CreatedAt   time.Time
}

// addCommentLocked appends a comment to t. A body without HTML gets
// Zendesk's zd-comment markup; an HTML-only comment gets its text as body.
// s.mu is held.
func (s *Server) addCommentLocked(t *ticket, author int64, body, htmlBody string, public bool, atts []*attachment,
	wr writer, auditID int64, now time.Time) *comment {
	if strings.TrimSpace(body) == "" && htmlBody != "" {
		body = stripTags(htmlBody)
	}
	if htmlBody == "" && body != "" {
		htmlBody = `<div class="zd-comment" dir="auto"><p dir="auto">` +
			strings.ReplaceAll(html.EscapeString(body), "\n", "<br>") + `</p></div>`
	}
	cm := &comment{ID: s.nextIDLocked(), AuditID: auditID, AuthorID: author, Body: body, HTMLBody: htmlBody,
		Public: public, Attachments: atts, ViaChannel: viaChannel(wr), ViaID: wr.viaID, Client: wr.client, IP: wr.ip,
		CreatedAt: now}
	t.Comments = append(t.Comments, cm)
	t.UpdatedAt = now
	return cm
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// stripTags turns simple HTML into text (<br> and </p> become newlines).
func stripTags(h string) string {
	h = regexp.MustCompile(`(?i)<br\s*/?>|</p>`).ReplaceAllString(h, "\n")
	return strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(h, "")))
}

// commentJSON renders a comment as List Comments does.
func commentJSON(base string, cm *comment) map[string]any {
	atts := make([]any, 0, len(cm.Attachments))
	for _, a := range cm.Attachments {
		atts = append(atts, attachmentJSON(base, a))
	}
	rel := any(nil)
	if cm.ViaID == ViaWebForm {
		rel = "web"
	}
	via := map[string]any{"channel": cm.ViaChannel, "source": map[string]any{"from": map[string]any{}, "to": map[string]any{}, "rel": rel}}
	return map[string]any{
		"id": cm.ID, "type": "Comment", "author_id": cm.AuthorID, "body": cm.Body, "html_body": cm.HTMLBody,
		"plain_body": cm.Body, "public": cm.Public, "attachments": atts, "audit_id": cm.AuditID, "via": via,
		"metadata":   map[string]any{"system": map[string]any{"client": cm.Client, "ip_address": cm.IP}, "custom": map[string]any{}, "via": via},
		"created_at": stamp(cm.CreatedAt),
	}
}

// commentEvent renders a comment as an audit event.
func commentEvent(base string, cm *comment) map[string]any {
	j := commentJSON(base, cm)
	delete(j, "via")
	delete(j, "metadata")
	delete(j, "created_at")
	return j
}

// updateTicketLocked applies an update (fields and an optional comment) by
// wr, answering the audit, and fires the triggers. s.mu is held.
func (s *Server) updateTicketLocked(t *ticket, in ticketInput, wr writer, now time.Time) (map[string]any, *apiError) {
	if t.Status == "closed" {
		return nil, errClosed()
	}
	v := invalid{}
	s.validateFieldsLocked(v, in)
	if in.Comment != nil && strings.TrimSpace(deref(in.Comment.Body)) == "" &&
		strings.TrimSpace(deref(in.Comment.HTMLBody)) == "" && len(in.Comment.Uploads) == 0 {
		v.add("comment", "BlankValue", "Comment: cannot be blank")
	}
	if e := v.err(); e != nil {
		return nil, e
	}
	prev := snapshotOf(t)
	s.applyFieldsLocked(t, in, now)
	auditID := s.nextIDLocked()
	var cm *comment
	if in.Comment != nil {
		author := wr.userID
		if in.Comment.AuthorID != nil {
			author = *in.Comment.AuthorID
		}
		public := true
		if n := len(t.Comments); n > 0 {
			public = t.Comments[n-1].Public
		}
		if in.Comment.Public != nil {
			public = *in.Comment.Public
		}
		cm = s.addCommentLocked(t, author, deref(in.Comment.Body), deref(in.Comment.HTMLBody), public,
			s.consumeUploadsLocked(in.Comment.Uploads, now), wr, auditID, now)
		// A requester's public reply reopens a pending or solved ticket.
		if u := s.users[author]; in.Status == nil && public && author == t.RequesterID && u != nil &&
			u.Role == roleEndUser && (t.Status == "pending" || t.Status == "solved") {
			s.setStatusLocked(t, "open", now)
		}
	}
	a := s.recordAuditLocked(t, auditID, wr, in.Metadata, cm, s.changeEventsLocked(prev, t), now)
	s.fireTriggersLocked(&updateEvent{t: t, comment: cm, wr: wr, prev: prev})
	return a.json(wr.base, t.ID), nil
}

// snapshot is the state of the fields triggers and audits compare.
type snapshot struct {
	status, priority, typ, subject string
	assignee, group                int64
}

func snapshotOf(t *ticket) snapshot {
	deref := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	return snapshot{status: t.Status, priority: t.Priority, typ: t.Type, subject: t.Subject,
		assignee: deref(t.AssigneeID), group: deref(t.GroupID)}
}

// changeEventsLocked returns the Change events between prev and t.
func (s *Server) changeEventsLocked(prev snapshot, t *ticket) []any {
	cur := snapshotOf(t)
	var out []any
	add := func(field string, value, previous any) {
		out = append(out, map[string]any{"id": s.nextIDLocked(), "type": "Change", "field_name": field,
			"value": value, "previous_value": previous})
	}
	for _, f := range []struct{ name, was, is string }{{"subject", prev.subject, cur.subject},
		{"status", prev.status, cur.status}, {"priority", prev.priority, cur.priority}, {"type", prev.typ, cur.typ}} {
		if f.was != f.is && f.is != "" {
			add(f.name, f.is, nullStr(f.was))
		}
	}
	for _, f := range []struct {
		name    string
		was, is int64
	}{{"assignee_id", prev.assignee, cur.assignee}, {"group_id", prev.group, cur.group}} {
		if f.was != f.is && f.is != 0 {
			var was any
			if f.was != 0 {
				was = strconv.FormatInt(f.was, 10)
			}
			add(f.name, strconv.FormatInt(f.is, 10), was)
		}
	}
	return out
}

// handleTicketUpdate answers PUT /api/v2/tickets/{id}. Every request on an
// existing ticket counts toward the limit of 30 per 10 minutes per user.
func (s *Server) handleTicketUpdate(c *call, rawID string) {
	raw, e := readBody(c.r)
	var in ticketInput
	if e == nil {
		e = decodeRoot(raw, "ticket", &in)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e2 := s.ticketLocked(rawID)
	if e2 != nil {
		c.fail(e2)
		return
	}
	now := s.clock.Now()
	wr := apiWrite(c)
	w := t.updates[wr.userID]
	if w.count(now, ticketUpdateWindow) >= ticketUpdateLimit {
		c.fail(errTicketThrottle(t.ID, w.retryAfter(now, ticketUpdateWindow)))
		return
	}
	t.updates[wr.userID] = w.add(now, ticketUpdateWindow)
	if e != nil {
		c.fail(e)
		return
	}
	audit, e := s.updateTicketLocked(t, in, wr, now)
	if e != nil {
		c.fail(e)
		return
	}
	c.json(http.StatusOK, map[string]any{"ticket": s.ticketJSON(c.base, t), "audit": audit})
}

// handleCommentList answers GET /api/v2/tickets/{id}/comments: cursor
// pagination with page[size]/page[after]/page[before] and sort=±created_at,
// else offset pagination with page/per_page and sort_order.
func (s *Server) handleCommentList(c *call, rawID string) {
	q := c.r.URL.Query()
	cr, cursor, e := parseCursor(q)
	if e != nil {
		c.fail(e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.ticketLocked(rawID)
	if e != nil {
		c.fail(e)
		return
	}
	list := slices.Clone(t.Comments)
	if q.Get("sort") == "-created_at" || (!cursor && q.Get("sort_order") == "desc") {
		slices.Reverse(list)
	}
	writeList(c, "comments", list, cursor, cr, func(cm *comment) string { return fmt.Sprint(cm.ID) },
		func(cm *comment) any { return commentJSON(c.base, cm) })
}
