package zendesk

import (
	"fmt"
	"slices"
	"time"
)

// audit is a stored ticket audit: one write to a ticket and its events.
type audit struct {
	ID        int64
	AuthorID  int64
	CreatedAt time.Time
	Channel   string // via.channel: api or web
	Client    string // metadata.system.client
	IP        string // metadata.system.ip_address
	// Custom is metadata.custom: the write's "metadata" object as sent
	// (nil when none was sent).
	Custom map[string]any
	// Comment is the comment the write added (the Comment event, first of
	// the events), nil when none.
	Comment *comment
	// Events are the other events (Create, Change), already rendered.
	Events []any
}

// recordAuditLocked stores the audit of a write by wr on t and returns it.
// s.mu is held.
func (s *Server) recordAuditLocked(t *ticket, id int64, wr writer, custom map[string]any, cm *comment,
	events []any, now time.Time) *audit {
	a := &audit{ID: id, AuthorID: wr.userID, CreatedAt: now, Channel: viaChannel(wr), Client: wr.client, IP: wr.ip,
		Custom: custom, Comment: cm, Events: events}
	t.Audits = append(t.Audits, a)
	return a
}

// json renders the audit as the audits list and the create and update
// answers do; base is the external base URL (attachment URLs).
func (a *audit) json(base string, ticketID int64) map[string]any {
	events := make([]any, 0, len(a.Events)+1)
	if a.Comment != nil {
		events = append(events, commentEvent(base, a.Comment))
	}
	events = append(events, a.Events...)
	custom := a.Custom
	if custom == nil {
		custom = map[string]any{}
	}
	return map[string]any{"id": a.ID, "ticket_id": ticketID, "created_at": stamp(a.CreatedAt), "author_id": a.AuthorID,
		"metadata": map[string]any{"system": map[string]any{"client": a.Client, "ip_address": a.IP}, "custom": custom},
		"via":      map[string]any{"channel": a.Channel, "source": map[string]any{"from": map[string]any{}, "to": map[string]any{}, "rel": nil}},
		"events":   events}
}

// handleAuditList answers GET /api/v2/tickets/{id}/audits, oldest first:
// cursor pagination with page[size]/page[after]/page[before], else offset
// pagination with page/per_page (100 at most). Zendesk documents no sort
// parameter for this list, so none is honoured.
func (s *Server) handleAuditList(c *call, rawID string) {
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
	writeList(c, "audits", slices.Clone(t.Audits), cursor, cr, func(a *audit) string { return fmt.Sprint(a.ID) },
		func(a *audit) any { return a.json(c.base, t.ID) })
}
