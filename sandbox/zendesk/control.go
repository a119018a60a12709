package zendesk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Errors of the Go control methods (and of the control API, which answers
// them as 404, 409 and 400).
var (
	// ErrNotFound: no ticket or user with that id.
	ErrNotFound = errors.New("zendesk sandbox: not found")
	// ErrTicketClosed: the ticket is closed and can no longer change.
	ErrTicketClosed = errors.New("zendesk sandbox: ticket is closed")
	// ErrInvalid: the parameters are not valid.
	ErrInvalid = errors.New("zendesk sandbox: invalid parameters")
)

// ReplyParams describe an agent's reply or internal note made in the agent
// UI (via 0, "web"), as AgentReply and POST /_sandbox/reply take them.
type ReplyParams struct {
	TicketID int64 `json:"ticket_id"` // the ticket to reply on
	// AgentID is the author (default: the built-in agent).
	AgentID int64 `json:"agent_id,omitempty"`
	// Body is the text; HTMLBody may be given instead or as well.
	Body     string `json:"body,omitempty"`
	HTMLBody string `json:"html_body,omitempty"` // HTML form of the reply
	// Public: true (default) is a public reply, false an internal note.
	Public *bool `json:"public,omitempty"`
	// Status submits the ticket with this status (default: a new ticket
	// becomes open, any other keeps its status).
	Status string `json:"status,omitempty"`
	// Attachments are attached to the comment.
	Attachments []ReplyAttachment `json:"attachments,omitempty"`
}

// ReplyAttachment is a file attached to an agent reply.
type ReplyAttachment struct {
	FileName    string `json:"filename"`     // name shown to agents and in content_url
	ContentType string `json:"content_type"` // MIME type (default application/binary)
	Data        []byte `json:"data_base64"`  // the file; base64 in JSON
}

// AgentParams describe an agent to create.
type AgentParams struct {
	Name  string `json:"name"`            // required
	Email string `json:"email,omitempty"` // optional, unique
	// Role is "agent" (default) or "admin".
	Role string `json:"role,omitempty"`
}

// User is a user as the control API shows it; empty strings are unset.
type User struct {
	ID         int64      `json:"id"`                    // Zendesk user id
	Name       string     `json:"name"`                  // full name
	Email      string     `json:"email,omitempty"`       // primary email
	Phone      string     `json:"phone,omitempty"`       // primary phone (user.phone)
	ExternalID string     `json:"external_id,omitempty"` // as last written
	Role       string     `json:"role"`                  // end-user, agent or admin
	Tags       []string   `json:"tags"`                  // user tags
	CreatedAt  time.Time  `json:"created_at"`            // on the fake clock
	UpdatedAt  time.Time  `json:"updated_at"`            // on the fake clock
	Identities []Identity `json:"identities"`            // email, phone_number, …
	// UserFields are the custom user fields as last written.
	UserFields map[string]any `json:"user_fields,omitempty"`
}

// Identity is one identity of a User.
type Identity struct {
	ID      int64  `json:"id"`      // identity id
	Type    string `json:"type"`    // email, phone_number, …
	Value   string `json:"value"`   // the address or number as given
	Primary bool   `json:"primary"` // the user's primary identity of its type
}

// TicketDump is a ticket with every comment, private notes included.
// Zero ids and empty strings are unset.
type TicketDump struct {
	ID               int64         `json:"id"`                           // ticket id
	Subject          string        `json:"subject"`                      // subject
	Status           string        `json:"status"`                       // new, open, pending, hold, solved or closed
	Priority         string        `json:"priority,omitempty"`           // low, normal, high or urgent
	Type             string        `json:"type,omitempty"`               // problem, incident, question or task
	RequesterID      int64         `json:"requester_id"`                 // the customer
	SubmitterID      int64         `json:"submitter_id"`                 // who created it
	AssigneeID       int64         `json:"assignee_id,omitempty"`        // assigned agent
	GroupID          int64         `json:"group_id,omitempty"`           // as stored
	BrandID          int64         `json:"brand_id,omitempty"`           // as stored
	TicketFormID     int64         `json:"ticket_form_id,omitempty"`     // as stored
	ExternalID       string        `json:"external_id,omitempty"`        // as stored
	Tags             []string      `json:"tags"`                         // normalised tags
	CustomFields     []CustomField `json:"custom_fields"`                // custom field values
	Via              string        `json:"via"`                          // api or web
	FollowupSourceID int64         `json:"followup_source_id,omitempty"` // closed ticket this follows up
	FollowupIDs      []int64       `json:"followup_ids"`                 // follow-ups of this ticket
	CreatedAt        time.Time     `json:"created_at"`                   // on the fake clock
	UpdatedAt        time.Time     `json:"updated_at"`                   // on the fake clock
	Comments         []CommentDump `json:"comments"`                     // oldest first
}

// CustomField is one custom field value of a ticket.
type CustomField struct {
	ID    int64 `json:"id"`    // ticket field id
	Value any   `json:"value"` // as sent
}

// CommentDump is one comment of a TicketDump.
type CommentDump struct {
	ID          int64            `json:"id"`          // comment id (= audit event id)
	AuthorID    int64            `json:"author_id"`   // author user id
	AuthorName  string           `json:"author_name"` // author's name
	AuthorRole  string           `json:"author_role"` // end-user, agent or admin
	Body        string           `json:"body"`        // plain text
	HTMLBody    string           `json:"html_body"`   // HTML
	Public      bool             `json:"public"`      // false: internal note
	Via         string           `json:"via"`         // api or web
	CreatedAt   time.Time        `json:"created_at"`  // on the fake clock
	Attachments []AttachmentDump `json:"attachments"` // attached files
}

// AttachmentDump is one attachment of a CommentDump.
type AttachmentDump struct {
	ID          int64  `json:"id"`           // attachment id
	FileName    string `json:"file_name"`    // file name
	ContentType string `json:"content_type"` // MIME type
	Size        int    `json:"size"`         // bytes
	ContentURL  string `json:"content_url"`  // download URL (credentials needed)
	Data        []byte `json:"-"`            // the content; not in JSON
}

// uiWrite is a write made in the agent UI by userID.
func (s *Server) uiWrite(userID int64) writer {
	return writer{userID: userID, viaID: ViaWebForm, channel: "web", client: "Deskbridge Sandbox", ip: "127.0.0.1",
		base: s.baseLocked()}
}

// CreateAgent adds an agent (or admin) and returns it.
func (s *Server) CreateAgent(p AgentParams) (User, error) {
	role := p.Role
	if role == "" {
		role = roleAgent
	}
	if strings.TrimSpace(p.Name) == "" || (role != roleAgent && role != roleAdmin) {
		return User{}, fmt.Errorf("%w: an agent needs a name and the role agent or admin", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := userInput{Name: &p.Name, Role: &role, Verified: new(true)}
	if p.Email != "" {
		in.Email = &p.Email
	}
	u, e := s.createUserLocked(in, s.clock.Now())
	if e != nil {
		return User{}, fmt.Errorf("%w: %v", ErrInvalid, e)
	}
	return userDump(u), nil
}

// AgentReply adds an agent's public reply (or internal note) to a ticket as
// the agent UI does (via 0), then runs the triggers. It returns the new
// comment's id. It does not count toward the API's per-ticket update limit.
func (s *Server) AgentReply(ctx context.Context, p ReplyParams) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if strings.TrimSpace(p.Body) == "" && strings.TrimSpace(p.HTMLBody) == "" && len(p.Attachments) == 0 {
		return 0, fmt.Errorf("%w: a reply needs a body or attachments", ErrInvalid)
	}
	if p.Status != "" && (!slices.Contains(statuses, p.Status) || p.Status == "new") {
		return 0, fmt.Errorf("%w: status %q", ErrInvalid, p.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tickets[p.TicketID]
	if t == nil {
		return 0, fmt.Errorf("%w: ticket %d", ErrNotFound, p.TicketID)
	}
	s.autoCloseLocked(t)
	if t.Status == "closed" {
		return 0, fmt.Errorf("%w: ticket %d", ErrTicketClosed, p.TicketID)
	}
	agent := p.AgentID
	if agent == 0 {
		agent = defaultAgentID
	}
	if u := s.users[agent]; u == nil || u.Role == roleEndUser {
		return 0, fmt.Errorf("%w: user %d is not an agent", ErrInvalid, agent)
	}
	now := s.clock.Now()
	var atts []*attachment
	for _, a := range p.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/binary"
		}
		if a.FileName == "" || len(a.Data) == 0 || len(a.Data) > MaxUploadSize {
			return 0, fmt.Errorf("%w: attachment %q needs a filename and 1 byte to 50 MB of data", ErrInvalid, a.FileName)
		}
		att := &attachment{ID: s.nextIDLocked(), Token: randomToken(25), FileName: a.FileName, ContentType: ct, Data: a.Data}
		s.attachments[att.Token], s.attByID[att.ID] = att, att
		atts = append(atts, att)
	}
	prev := snapshotOf(t)
	wr := s.uiWrite(agent)
	auditID := s.nextIDLocked()
	cm := s.addCommentLocked(t, agent, p.Body, p.HTMLBody, p.Public == nil || *p.Public, atts, wr, auditID, now)
	switch {
	case p.Status != "":
		s.setStatusLocked(t, p.Status, now)
	case t.Status == "new":
		s.setStatusLocked(t, "open", now)
	}
	s.recordAuditLocked(t, auditID, wr, nil, cm, s.changeEventsLocked(prev, t), now)
	s.fireTriggersLocked(&updateEvent{t: t, comment: cm, wr: wr, prev: prev})
	return cm.ID, nil
}

// SetTicketStatus changes a ticket's status as an agent would in the UI
// (via 0, by the built-in agent), then runs the triggers. A ticket may be
// closed directly; a closed ticket cannot change.
func (s *Server) SetTicketStatus(ctx context.Context, ticketID int64, status string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !slices.Contains(statuses, status) {
		return fmt.Errorf("%w: status %q", ErrInvalid, status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tickets[ticketID]
	if t == nil {
		return fmt.Errorf("%w: ticket %d", ErrNotFound, ticketID)
	}
	s.autoCloseLocked(t)
	if t.Status == "closed" {
		if status == "closed" {
			return nil
		}
		return fmt.Errorf("%w: ticket %d", ErrTicketClosed, ticketID)
	}
	if t.Status == status {
		return nil
	}
	if status == "new" {
		return fmt.Errorf("%w: a ticket cannot go back to new", ErrInvalid)
	}
	prev := snapshotOf(t)
	now := s.clock.Now()
	s.setStatusLocked(t, status, now)
	t.UpdatedAt = now
	wr := s.uiWrite(defaultAgentID)
	s.recordAuditLocked(t, s.nextIDLocked(), wr, nil, nil, s.changeEventsLocked(prev, t), now)
	s.fireTriggersLocked(&updateEvent{t: t, wr: wr, prev: prev})
	return nil
}

// TicketDump returns a ticket with all its comments.
func (s *Server) TicketDump(id int64) (TicketDump, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tickets[id]
	if t == nil {
		return TicketDump{}, fmt.Errorf("%w: ticket %d", ErrNotFound, id)
	}
	s.autoCloseLocked(t)
	return s.dumpLocked(t), nil
}

// Tickets returns every ticket, oldest first.
func (s *Server) Tickets() []TicketDump {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []TicketDump{}
	for id := int64(1); id <= s.ticketSeq; id++ {
		if t := s.tickets[id]; t != nil {
			s.autoCloseLocked(t)
			out = append(out, s.dumpLocked(t))
		}
	}
	return out
}

// Users returns every user, the API user and the built-in agent first.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.userOrder))
	for _, id := range s.userOrder {
		out = append(out, userDump(s.users[id]))
	}
	return out
}

func userDump(u *user) User {
	d := User{ID: u.ID, Name: u.Name, Email: u.Email, Phone: u.Phone, ExternalID: u.ExternalID, Role: u.Role,
		UserFields: maps.Clone(u.UserFields),
		Tags:       slices.Clone(u.Tags), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Identities: []Identity{}}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	for _, id := range u.identities {
		d.Identities = append(d.Identities, Identity{ID: id.ID, Type: id.Type, Value: id.Value, Primary: id.Primary})
	}
	return d
}

func (s *Server) dumpLocked(t *ticket) TicketDump {
	val := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	d := TicketDump{ID: t.ID, Subject: t.Subject, Status: t.Status, Priority: t.Priority, Type: t.Type,
		RequesterID: t.RequesterID, SubmitterID: t.SubmitterID, AssigneeID: val(t.AssigneeID), GroupID: val(t.GroupID),
		BrandID: val(t.BrandID), TicketFormID: val(t.TicketFormID), ExternalID: t.ExternalID,
		Tags: slices.Clone(t.Tags), CustomFields: []CustomField{}, Via: t.ViaChannel, FollowupSourceID: t.FollowupSourceID,
		FollowupIDs: slices.Clone(t.FollowupIDs), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Comments: []CommentDump{}}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if d.FollowupIDs == nil {
		d.FollowupIDs = []int64{}
	}
	for _, f := range t.CustomFields {
		d.CustomFields = append(d.CustomFields, CustomField(f))
	}
	base := s.baseLocked()
	for _, cm := range t.Comments {
		cd := CommentDump{ID: cm.ID, AuthorID: cm.AuthorID, Body: cm.Body, HTMLBody: cm.HTMLBody, Public: cm.Public,
			Via: cm.ViaChannel, CreatedAt: cm.CreatedAt, Attachments: []AttachmentDump{}}
		if u := s.users[cm.AuthorID]; u != nil {
			cd.AuthorName, cd.AuthorRole = u.Name, u.Role
		}
		for _, a := range cm.Attachments {
			cd.Attachments = append(cd.Attachments, AttachmentDump{ID: a.ID, FileName: a.FileName,
				ContentType: a.ContentType, Size: len(a.Data),
				ContentURL: attachmentJSON(base, a)["content_url"].(string), Data: a.Data})
		}
		d.Comments = append(d.Comments, cd)
	}
	return d
}
