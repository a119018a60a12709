package zendesk

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Ticket field values.
var (
	statuses   = []string{"new", "open", "pending", "hold", "solved", "closed"}
	priorities = []string{"low", "normal", "high", "urgent"}
	types      = []string{"problem", "incident", "question", "task"}
)

// ticket is a stored ticket. Empty strings and nil pointers are answered
// as null.
type ticket struct {
	ID               int64
	Subject          string
	RequesterID      int64
	SubmitterID      int64
	AssigneeID       *int64
	GroupID          *int64
	BrandID          *int64
	TicketFormID     *int64
	OrganizationID   *int64
	Status           string
	Priority         string
	Type             string
	Tags             []string
	CustomFields     []customField
	ExternalID       string
	ViaChannel       string
	ViaID            int
	FollowupSourceID int64
	FollowupIDs      []int64
	Comments         []*comment
	Audits           []*audit // oldest first
	CreatedAt        time.Time
	UpdatedAt        time.Time
	SolvedAt         time.Time
	updates          map[int64]window // update times per authenticated user
}

// customField is one entry of custom_fields.
type customField struct {
	ID    int64 `json:"id"`
	Value any   `json:"value"`
}

// ticketInput is the "ticket" object of create and update.
type ticketInput struct {
	Subject             *string         `json:"subject"`
	Comment             *commentInput   `json:"comment"`
	RequesterID         *int64          `json:"requester_id"`
	Requester           *requesterInput `json:"requester"`
	SubmitterID         *int64          `json:"submitter_id"`
	AssigneeID          *int64          `json:"assignee_id"`
	GroupID             *int64          `json:"group_id"`
	BrandID             *int64          `json:"brand_id"`
	TicketFormID        *int64          `json:"ticket_form_id"`
	OrganizationID      *int64          `json:"organization_id"`
	Status              *string         `json:"status"`
	Priority            *string         `json:"priority"`
	Type                *string         `json:"type"`
	Tags                *[]string       `json:"tags"`
	AdditionalTags      []string        `json:"additional_tags"`
	RemoveTags          []string        `json:"remove_tags"`
	CustomFields        []customField   `json:"custom_fields"`
	ExternalID          *string         `json:"external_id"`
	ViaFollowupSourceID *int64          `json:"via_followup_source_id"`
	// Metadata is the write-only custom metadata of the write's audit,
	// answered as the audit's metadata.custom.
	Metadata map[string]any `json:"metadata"`
}

// commentInput is the write-only "comment" object.
type commentInput struct {
	Body     *string  `json:"body"`
	HTMLBody *string  `json:"html_body"`
	Public   *bool    `json:"public"`
	AuthorID *int64   `json:"author_id"`
	Uploads  []string `json:"uploads"`
}

// requesterInput is the write-only "requester" object of a new ticket.
type requesterInput struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	LocaleID int    `json:"locale_id"`
}

// idemEntry is a stored answer to a ticket create with an Idempotency-Key.
type idemEntry struct {
	hash     [32]byte
	status   int
	body     []byte
	location string
	at       time.Time
}

// validateFieldsLocked checks the enumerated and referenced fields shared by
// create and update. s.mu is held.
func (s *Server) validateFieldsLocked(v invalid, in ticketInput) {
	check := func(field string, val *string, allowed []string) {
		if val != nil && !slices.Contains(allowed, *val) {
			v.add(field, "InvalidValue", fmt.Sprintf("%s: %s is not valid", titleCase(field), *val))
		}
	}
	check("status", in.Status, statuses)
	check("priority", in.Priority, priorities)
	check("type", in.Type, types)
	for _, ref := range []struct {
		field string
		id    *int64
	}{{"requester_id", in.RequesterID}, {"submitter_id", in.SubmitterID}, {"assignee_id", in.AssigneeID}} {
		if ref.id != nil && s.users[*ref.id] == nil {
			v.add(ref.field, "InvalidValue", fmt.Sprintf("%s: is invalid", titleCase(strings.TrimSuffix(ref.field, "_id"))))
		}
	}
	if in.AssigneeID != nil {
		if u := s.users[*in.AssigneeID]; u != nil && u.Role == roleEndUser {
			v.add("assignee_id", "InvalidValue", "Assignee: is not an agent")
		}
	}
	if in.Comment != nil && in.Comment.AuthorID != nil && s.users[*in.Comment.AuthorID] == nil {
		v.add("author_id", "InvalidValue", "Author: is invalid")
	}
}

// routeTickets serves /api/v2/tickets/…; it reports false for an unknown route.
func (s *Server) routeTickets(c *call, m string, rest []string) bool {
	switch {
	case len(rest) == 0 && m == http.MethodPost:
		s.handleTicketCreate(c)
	case len(rest) == 0 && m == http.MethodGet:
		s.handleTicketList(c)
	case len(rest) == 1 && m == http.MethodGet:
		s.handleTicketShow(c, rest[0])
	case len(rest) == 1 && m == http.MethodPut:
		s.handleTicketUpdate(c, rest[0])
	case len(rest) == 2 && rest[1] == "comments" && m == http.MethodGet:
		s.handleCommentList(c, rest[0])
	case len(rest) == 2 && rest[1] == "audits" && m == http.MethodGet:
		s.handleAuditList(c, rest[0])
	default:
		return false
	}
	return true
}

// ticketLocked finds a ticket by path id, closing it first if it has been
// solved for AutoCloseAfter. s.mu is held.
func (s *Server) ticketLocked(raw string) (*ticket, *apiError) {
	id, ok := parseID(raw)
	if !ok {
		return nil, errNotFound()
	}
	t, ok := s.tickets[id]
	if !ok {
		return nil, errNotFound()
	}
	s.autoCloseLocked(t)
	return t, nil
}

// autoCloseLocked closes t if it has been solved for AutoCloseAfter.
func (s *Server) autoCloseLocked(t *ticket) {
	d := s.opts.AutoCloseAfter
	if d > 0 && t.Status == "solved" && !s.clock.Now().Before(t.SolvedAt.Add(d)) {
		t.Status, t.UpdatedAt = "closed", t.SolvedAt.Add(d)
	}
}

// ticketJSON renders t in the API's shape (fields as in Show Ticket).
func (s *Server) ticketJSON(base string, t *ticket) map[string]any {
	var description any
	isPublic := true
	if len(t.Comments) > 0 {
		description, isPublic = t.Comments[0].Body, t.Comments[0].Public
	}
	source := map[string]any{"from": map[string]any{}, "to": map[string]any{}, "rel": nil}
	if t.FollowupSourceID != 0 {
		from := map[string]any{"ticket_id": t.FollowupSourceID}
		if src := s.tickets[t.FollowupSourceID]; src != nil {
			from["subject"] = src.Subject
		}
		source = map[string]any{"from": from, "to": map[string]any{}, "rel": "follow_up"}
	}
	tags, fields, followups := t.Tags, t.CustomFields, t.FollowupIDs
	if tags == nil {
		tags = []string{}
	}
	if fields == nil {
		fields = []customField{}
	}
	if followups == nil || t.Status != "closed" {
		followups = []int64{}
	}
	return map[string]any{
		"url": fmt.Sprintf("%s/api/v2/tickets/%d.json", base, t.ID), "id": t.ID, "external_id": nullStr(t.ExternalID),
		"via": map[string]any{"channel": t.ViaChannel, "source": source}, "created_at": stamp(t.CreatedAt),
		"updated_at": stamp(t.UpdatedAt), "generated_timestamp": t.UpdatedAt.Unix(), "type": nullStr(t.Type),
		"subject": nullStr(t.Subject), "raw_subject": nullStr(t.Subject), "description": description,
		"priority": nullStr(t.Priority), "status": t.Status, "recipient": nil, "requester_id": t.RequesterID,
		"submitter_id": t.SubmitterID, "assignee_id": nullInt(t.AssigneeID), "organization_id": nullInt(t.OrganizationID),
		"group_id": nullInt(t.GroupID), "collaborator_ids": []int64{}, "follower_ids": []int64{}, "email_cc_ids": []int64{},
		"forum_topic_id": nil, "problem_id": nil, "has_incidents": false, "is_public": isPublic, "due_at": nil,
		"tags": tags, "custom_fields": fields, "satisfaction_rating": nil, "sharing_agreement_ids": []int64{},
		"fields": fields, "followup_ids": followups, "ticket_form_id": nullInt(t.TicketFormID),
		"brand_id": nullInt(t.BrandID), "allow_channelback": false, "allow_attachments": true,
		"from_messaging_channel": false, "satisfaction_probability": nil,
	}
}

func (s *Server) handleTicketShow(c *call, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.ticketLocked(raw)
	if e != nil {
		c.fail(e)
		return
	}
	c.json(http.StatusOK, map[string]any{"ticket": s.ticketJSON(c.base, t)})
}

// handleTicketList answers GET /api/v2/tickets[?external_id=] (offset pages).
func (s *Server) handleTicketList(c *call) {
	q := c.r.URL.Query()
	ext := q.Get("external_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*ticket
	for id := int64(1); id <= s.ticketSeq; id++ {
		if t := s.tickets[id]; t != nil && (ext == "" || t.ExternalID == ext) {
			s.autoCloseLocked(t)
			all = append(all, t)
		}
	}
	p := offsetPage(q, 100)
	from, to := p.bounds(len(all))
	out := make([]any, 0, to-from)
	for _, t := range all[from:to] {
		out = append(out, s.ticketJSON(c.base, t))
	}
	next, prev := p.links(c.base, c.r, len(all))
	c.json(http.StatusOK, map[string]any{"tickets": out, "next_page": next, "previous_page": prev, "count": len(all)})
}

// handleTicketCreate answers POST /api/v2/tickets, honouring Idempotency-Key:
// the same key and body within IdempotencyTTL replay the first answer
// ("x-idempotency-lookup: hit"); the same key with another body is 400.
func (s *Server) handleTicketCreate(c *call) {
	raw, e := readBody(c.r)
	if e != nil {
		c.fail(e)
		return
	}
	key := c.r.Header.Get("Idempotency-Key")
	hash := canonicalHash(raw)
	var in ticketInput
	decodeErr := decodeRoot(raw, "ticket", &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if key != "" {
		if ent := s.idem[key]; ent != nil && now.Sub(ent.at) < IdempotencyTTL {
			if ent.hash != hash {
				c.fail(&apiError{status: http.StatusBadRequest, body: classic{Error: "IdempotentRequestError",
					Description: "Request parameters don't match the given idempotency key"}})
				return
			}
			c.w.Header().Set("x-idempotency-lookup", "hit")
			c.w.Header().Set("Location", ent.location)
			c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
			c.w.WriteHeader(ent.status)
			_, _ = c.w.Write(ent.body)
			return
		}
		delete(s.idem, key)
		c.w.Header().Set("x-idempotency-lookup", "miss")
	}
	if decodeErr != nil {
		c.fail(decodeErr)
		return
	}
	t, audit, e := s.createTicketLocked(in, apiWrite(c), now)
	if e != nil {
		c.fail(e)
		return
	}
	body := marshal(map[string]any{"ticket": s.ticketJSON(c.base, t), "audit": audit})
	loc := fmt.Sprintf("%s/api/v2/tickets/%d.json", c.base, t.ID)
	if key != "" {
		s.idem[key] = &idemEntry{hash: hash, status: http.StatusCreated, body: body, location: loc, at: now}
	}
	c.w.Header().Set("Location", loc)
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(http.StatusCreated)
	_, _ = c.w.Write(body)
}

// canonicalHash hashes a JSON body independently of key order and spacing
// (the raw bytes when it is not JSON).
func canonicalHash(raw []byte) [32]byte {
	var v any
	if err := json.Unmarshal(raw, &v); err == nil {
		raw = marshal(v)
	}
	return sha256.Sum256(raw)
}

// writer describes who makes a write and how: the API (via 5, the API
// user) or the agent UI (via 0, an agent).
type writer struct {
	userID  int64
	viaID   int
	channel string
	client  string
	ip      string
	base    string
}

func apiWrite(c *call) writer {
	ip, _, _ := strings.Cut(c.r.RemoteAddr, ":")
	return writer{userID: apiUserID, viaID: ViaWebService, channel: "api", client: c.r.UserAgent(), ip: ip, base: c.base}
}

// createTicketLocked validates in and stores a new ticket with its first
// comment, then fires the triggers. s.mu is held.
func (s *Server) createTicketLocked(in ticketInput, wr writer, now time.Time) (*ticket, map[string]any, *apiError) {
	v := invalid{}
	s.validateFieldsLocked(v, in)
	if in.Status != nil && *in.Status == "closed" {
		v.add("status", "InvalidValue", "Status: closed is not valid for a new ticket")
	}
	if in.Comment == nil || (strings.TrimSpace(deref(in.Comment.Body)) == "" && strings.TrimSpace(deref(in.Comment.HTMLBody)) == "") {
		v.add("description", "BlankValue", "Description: cannot be blank")
	}
	var source *ticket
	if in.ViaFollowupSourceID != nil {
		source = s.tickets[*in.ViaFollowupSourceID]
		if source != nil {
			s.autoCloseLocked(source)
		}
		if source == nil || source.Status != "closed" {
			v.add("via_followup_source_id", "InvalidValue",
				fmt.Sprintf("Via followup source: ticket %d is not closed; follow-ups can only be created from closed tickets", *in.ViaFollowupSourceID))
		}
	}
	requester := int64(0)
	switch {
	case in.RequesterID != nil:
		requester = *in.RequesterID
	case in.Requester != nil:
		if strings.TrimSpace(in.Requester.Name) == "" && strings.TrimSpace(in.Requester.Email) == "" {
			v.add("requester", "BlankValue", "Requester: name or email is required")
		} else if in.Requester.Email != "" && !validEmail(in.Requester.Email) {
			v.add("requester", "InvalidFormat", fmt.Sprintf("Requester: email %s is not properly formatted", in.Requester.Email))
		}
	case source != nil:
		requester = source.RequesterID
	default:
		v.add("requester_id", "BlankValue", "Requester: cannot be blank")
	}
	if e := v.err(); e != nil {
		return nil, nil, e
	}
	if in.Requester != nil && in.RequesterID == nil {
		requester = s.requesterLocked(*in.Requester, now).ID
	}
	s.ticketSeq++
	t := &ticket{ID: s.ticketSeq, RequesterID: requester, SubmitterID: wr.userID, Status: "new", ViaChannel: wr.channel,
		ViaID: wr.viaID, CreatedAt: now, UpdatedAt: now, updates: map[int64]window{}}
	if wr.viaID == ViaWebForm {
		t.ViaChannel = "web"
	}
	if in.SubmitterID != nil {
		t.SubmitterID = *in.SubmitterID
	}
	if source != nil {
		t.FollowupSourceID = source.ID
		t.Tags = slices.Clone(source.Tags)
		source.FollowupIDs = append(source.FollowupIDs, t.ID)
	}
	s.applyFieldsLocked(t, in, now)
	if in.Status == nil && t.AssigneeID != nil {
		t.Status = "open"
	}
	s.tickets[t.ID] = t
	author := t.SubmitterID
	if in.Comment.AuthorID != nil {
		author = *in.Comment.AuthorID
	}
	public := in.Comment.Public == nil || *in.Comment.Public
	auditID := s.nextIDLocked()
	cm := s.addCommentLocked(t, author, deref(in.Comment.Body), deref(in.Comment.HTMLBody), public,
		s.consumeUploadsLocked(in.Comment.Uploads, now), wr, auditID, now)
	var events []any
	for _, f := range []struct{ name, value string }{{"subject", t.Subject}, {"status", t.Status},
		{"priority", t.Priority}, {"type", t.Type}} {
		if f.value != "" {
			events = append(events, map[string]any{"id": s.nextIDLocked(), "type": "Create", "field_name": f.name, "value": f.value})
		}
	}
	a := s.recordAuditLocked(t, auditID, wr, in.Metadata, cm, events, now)
	s.fireTriggersLocked(&updateEvent{t: t, create: true, comment: cm, wr: wr})
	return t, a.json(wr.base, t.ID), nil
}

// requesterLocked finds the requester object's user by email or creates an
// end user. s.mu is held.
func (s *Server) requesterLocked(in requesterInput, now time.Time) *user {
	if in.Email != "" {
		if u := s.userByEmailLocked(in.Email); u != nil {
			return u
		}
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name, _, _ = strings.Cut(in.Email, "@")
	}
	email := in.Email
	u, _ := s.createUserLocked(userInput{Name: &name, Email: &email}, now)
	return u
}

// applyFieldsLocked writes the ticket fields of in (validated before).
func (s *Server) applyFieldsLocked(t *ticket, in ticketInput, now time.Time) {
	if in.Subject != nil {
		t.Subject = *in.Subject
	}
	for _, p := range []struct {
		dst **int64
		src *int64
	}{{&t.AssigneeID, in.AssigneeID}, {&t.GroupID, in.GroupID}, {&t.BrandID, in.BrandID},
		{&t.TicketFormID, in.TicketFormID}, {&t.OrganizationID, in.OrganizationID}} {
		if p.src != nil {
			v := *p.src
			*p.dst = &v
		}
	}
	if in.RequesterID != nil {
		t.RequesterID = *in.RequesterID
	}
	if in.Priority != nil {
		t.Priority = *in.Priority
	}
	if in.Type != nil {
		t.Type = *in.Type
	}
	if in.ExternalID != nil {
		t.ExternalID = *in.ExternalID
	}
	if in.Tags != nil {
		t.Tags = normalizeTags(*in.Tags)
	}
	if len(in.AdditionalTags) > 0 {
		t.Tags = normalizeTags(append(slices.Clone(t.Tags), in.AdditionalTags...))
	}
	for _, rm := range normalizeTags(in.RemoveTags) {
		t.Tags = slices.DeleteFunc(t.Tags, func(x string) bool { return x == rm })
	}
	for _, f := range in.CustomFields {
		i := slices.IndexFunc(t.CustomFields, func(x customField) bool { return x.ID == f.ID })
		if i >= 0 {
			t.CustomFields[i] = f
		} else {
			t.CustomFields = append(t.CustomFields, f)
		}
	}
	if in.Status != nil {
		s.setStatusLocked(t, *in.Status, now)
	}
	t.UpdatedAt = now
}

// setStatusLocked changes the status and remembers when it was solved.
func (s *Server) setStatusLocked(t *ticket, status string, now time.Time) {
	if status == "solved" && t.Status != "solved" {
		t.SolvedAt = now
	}
	t.Status = status
}

func viaChannel(wr writer) string {
	if wr.viaID == ViaWebForm {
		return "web"
	}
	return wr.channel
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// titleCase upper-cases the first letter and turns _ into spaces.
func titleCase(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
