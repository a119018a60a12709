package zendesk

import (
	"context"
	"errors"
	"fmt"
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
	TicketID int64 `json:"ticket_id"`
	// AgentID is the author (default: the built-in agent).
	AgentID int64 `json:"agent_id,omitempty"`
	// Body is the text; HTMLBody may be given instead.
	Body     string `json:"body,omitempty"`
	HTMLBody string `json:"html_body,omitempty"`
	// Public: true (default) is a public reply, false an internal note.
	Public *bool `json:"public,omitempty"`
	// Status submits the ticket with this status (default: a new ticket
	// becomes open, any other keeps its status).
	Status string `json:"status,omitempty"`
	// Attachments are attached to the comment.
	Attachments []ReplyAttachment `json:"attachments,omitempty"`
}

// ReplyAttachment is a file attached to an agent reply; in JSON Data is
// the base64 field "data_base64".
type ReplyAttachment struct {
	FileName    string `json:"filename"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data_base64"`
}

// AgentParams describe an agent to create.
type AgentParams struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	// Role is "agent" (default) or "admin".
	Role string `json:"role,omitempty"`
}

// User is a user as the control API shows it.
type User struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Email      string     `json:"email,omitempty"`
	Phone      string     `json:"phone,omitempty"`
	ExternalID string     `json:"external_id,omitempty"`
	Role       string     `json:"role"`
	Tags       []string   `json:"tags"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	Identities []Identity `json:"identities"`
}

// Identity is one identity of a User.
type Identity struct {
	ID      int64  `json:"id"`
	Type    string `json:"type"`
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
}

// TicketDump is a ticket with every comment, private notes included.
type TicketDump struct {
	ID               int64         `json:"id"`
	Subject          string        `json:"subject"`
	Status           string        `json:"status"`
	Priority         string        `json:"priority,omitempty"`
	Type             string        `json:"type,omitempty"`
	RequesterID      int64         `json:"requester_id"`
	SubmitterID      int64         `json:"submitter_id"`
	AssigneeID       int64         `json:"assignee_id,omitempty"`
	GroupID          int64         `json:"group_id,omitempty"`
	BrandID          int64         `json:"brand_id,omitempty"`
	TicketFormID     int64         `json:"ticket_form_id,omitempty"`
	ExternalID       string        `json:"external_id,omitempty"`
	Tags             []string      `json:"tags"`
	CustomFields     []CustomField `json:"custom_fields"`
	Via              string        `json:"via"` // api or web
	FollowupSourceID int64         `json:"followup_source_id,omitempty"`
	FollowupIDs      []int64       `json:"followup_ids"`
	CreatedAt        time.Time     `json:"created_at"`
	UpdatedAt        time.Time     `json:"updated_at"`
	Comments         []CommentDump `json:"comments"`
}

// CustomField is one custom field value of a ticket.
type CustomField struct {
	ID    int64 `json:"id"`
	Value any   `json:"value"`
}

// CommentDump is one comment of a TicketDump.
type CommentDump struct {
	ID          int64            `json:"id"`
	AuthorID    int64            `json:"author_id"`
	AuthorName  string           `json:"author_name"`
	AuthorRole  string           `json:"author_role"`
	Body        string           `json:"body"`
	HTMLBody    string           `json:"html_body"`
	Public      bool             `json:"public"`
	Via         string           `json:"via"`
	CreatedAt   time.Time        `json:"created_at"`
	Attachments []AttachmentDump `json:"attachments"`
}

// AttachmentDump is one attachment of a CommentDump; Data is not in JSON.
type AttachmentDump struct {
	ID          int64  `json:"id"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	ContentURL  string `json:"content_url"`
	Data        []byte `json:"-"`
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
	u, e := s.createUserLocked(in, s.clock.now())
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
	now := s.clock.now()
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
	cm := s.addCommentLocked(t, agent, p.Body, p.HTMLBody, p.Public == nil || *p.Public, atts, wr, s.nextIDLocked(), now)
	switch {
	case p.Status != "":
		s.setStatusLocked(t, p.Status, now)
	case t.Status == "new":
		s.setStatusLocked(t, "open", now)
	}
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
	prev := snapshotOf(t)
	now := s.clock.now()
	s.setStatusLocked(t, status, now)
	t.UpdatedAt = now
	s.fireTriggersLocked(&updateEvent{t: t, wr: s.uiWrite(defaultAgentID), prev: prev})
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
		Tags: slices.Clone(u.Tags), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Identities: []Identity{}}
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
