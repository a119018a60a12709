package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/mapping"
	"github.com/deskbridge/deskbridge/store"
)

// defaultMapper is the mapping with no mapping section: subject
// "WhatsApp: <name or masked number>", tag whatsapp.
func defaultMapper() *mapping.Mapper {
	m, err := mapping.Compile(&config.Config{}, mapping.CompileOptions{})
	if err != nil {
		panic("bridge: the empty mapping does not compile: " + err.Error())
	}
	return m
}

// vars are the mapping variables of an inbound batch.
func (e *Engine) vars(in *inbound) *mapping.Vars {
	c := in.chat
	head := in.batch[0]
	contact := mapping.ContactVars(head.msg().Contact)
	contact.Name = firstNonEmpty(contact.Name, c.Name)
	contact.WAID = firstNonEmpty(contact.WAID, c.WAID)
	contact.UserID = firstNonEmpty(contact.UserID, c.UserID)
	if contact.Phone == "" && contact.WAID != "" {
		if p, err := mapping.NormalizePhone(contact.WAID); err == nil {
			contact.Phone = p
		}
	}
	contact.Aliases = identityAliases(contact.WAID, contact.UserID)
	contact.FirstSeen = c.CreatedAt
	if c.ID == 0 {
		contact.FirstSeen = head.at()
	}
	contact.IsNew = in.matched == connectors.MatchCreated
	v := &mapping.Vars{
		Contact: contact,
		Message: mapping.MessageVars(head.msg()),
		Number:  mapping.Number{PhoneNumberID: in.n.PhoneNumberID, Display: in.n.Display, Label: in.n.Label},
		Conversation: mapping.Conversation{TicketID: c.TicketID, LastActivity: c.LastActivity, WindowOpen: true,
			MessageCount: len(in.batch)},
	}
	if len(in.batch) > 1 {
		texts := make([]string, len(in.batch))
		for i, m := range in.batch {
			texts[i] = m.msg().Text.Body
		}
		v.Message.Text = strings.Join(texts, "\n")
	}
	return v
}

// contactParams are the helpdesk contact of a new customer: the mapping's
// name and external id, else the WhatsApp profile name and the bridge's
// deterministic id.
func (e *Engine) contactParams(ctx context.Context, in *inbound, phone string) *connectors.ContactParams {
	head := in.batch[0].w
	p := &connectors.ContactParams{ExternalID: mapping.ExternalID(phone, head.UserID), Phone: phone, Name: in.chat.Name}
	if phone != "" {
		p.AltPhones = mapping.PhoneVariants(phone)[1:]
	}
	cf, err := e.mapper.Contact(e.vars(in))
	if err != nil {
		e.log.WarnContext(ctx, "contact mapping failed; its other fields are used", slog.Any("error", err))
	}
	if cf != nil {
		p.Name = firstNonEmpty(cf.Name, p.Name)
		p.ExternalID = firstNonEmpty(cf.ExternalID, p.ExternalID)
		p.Fields = cf.Fields
	}
	return p
}

// ticketParams are the fields of a new ticket: the mapping's, routing
// included. An expression that fails is logged and its field left unset;
// problems lists them for a note.
func (e *Engine) ticketParams(ctx context.Context, in *inbound, body string, files []connectors.Attachment) (*connectors.CreateTicketParams, []string) {
	c := in.chat
	p := &connectors.CreateTicketParams{Requester: connectors.ContactRef{Account: in.n.Helpdesk, ID: c.ContactID},
		Body: body, Attachments: files, IdempotencyKey: in.key}
	tf, err := e.mapper.Ticket(e.vars(in))
	var problems []string
	if err != nil {
		e.log.WarnContext(ctx, "ticket mapping failed; its other fields are used", slog.Any("error", err))
		problems = append(problems, strings.Split(err.Error(), "\n")...)
	}
	if tf == nil {
		tf = &mapping.TicketFields{Subject: subject(c), Tags: []string{mapping.DefaultTag}}
	}
	p.Subject, p.Tags, p.Priority, p.Type = tf.Subject, tf.Tags, tf.Priority, tf.Type
	p.GroupID, p.BrandID, p.FormID, p.CustomFields = tf.Group, tf.Brand, tf.Form, tf.CustomFields
	if d := strings.TrimSpace(tf.Description); d != "" {
		p.Body = d + "\n\n" + body
	}
	if len(tf.Rules) > 0 {
		e.log.InfoContext(ctx, "routing rules matched", "rules", strings.Join(tf.Rules, ","))
	}
	return p, problems
}

// mapped reports whether p carries fields the mapping set beyond subject
// and tags, which the helpdesk may refuse.
func mapped(p *connectors.CreateTicketParams) bool {
	return p.Priority != "" || p.Type != "" || p.GroupID != "" || p.BrandID != "" || p.FormID != "" || len(p.CustomFields) > 0
}

// createTicket opens the ticket. When the helpdesk refuses the mapped
// fields (an unknown group, a bad priority), the ticket is opened without
// them, so the customer's message is never held up by a mapping mistake,
// and a note tells agents what was refused.
func (e *Engine) createTicket(ctx context.Context, in *inbound, p *connectors.CreateTicketParams, problems []string) (*connectors.TicketResult, error) {
	res, err := in.hd.CreateTicket(ctx, p)
	if err != nil && mapped(p) && connectors.KindOf(err) == connectors.Permanent {
		e.log.WarnContext(ctx, "the helpdesk refused the mapped ticket fields; opening the ticket without them", slog.Any("error", err))
		problems = append(problems, fmt.Sprintf("the helpdesk refused the mapped fields (priority %q, type %q, group %q, brand %q, form %q, %d custom fields): %v",
			p.Priority, p.Type, p.GroupID, p.BrandID, p.FormID, len(p.CustomFields), err))
		plain := *p
		plain.Priority, plain.Type, plain.GroupID, plain.BrandID, plain.FormID, plain.CustomFields = "", "", "", "", "", nil
		plain.IdempotencyKey = p.IdempotencyKey + ":plain"
		res, err = in.hd.CreateTicket(ctx, &plain)
	}
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		ticket := connectors.TicketRef{Account: in.n.Helpdesk, ID: res.Ticket.ID}
		body := "The mapping could not set every field of this ticket:\n- " + strings.Join(problems, "\n- ")
		if nerr := e.note(ctx, in.n.Helpdesk, in.hd, ticket, "mapping:"+in.key, "mapping_failed", body); nerr != nil {
			e.log.WarnContext(ctx, "mapping note not written", slog.Any("error", nerr))
		}
	}
	return res, nil
}

// templateVars are the mapping variables of a reply outside the window:
// the ticket (as read from the helpdesk when st is set), the comment, the
// customer.
func (e *Engine) templateVars(o *outbound, st *connectors.TicketState) *mapping.Vars {
	c := o.chat
	ticket := &mapping.Ticket{ID: o.ticket.ID, Status: c.TicketStatus, RequesterName: c.Name}
	if st != nil {
		ticket.Status, ticket.Subject, ticket.Priority, ticket.Type = string(st.Status), st.Subject, st.Priority, st.Type
		ticket.Tags, ticket.Group, ticket.Brand, ticket.Form = st.Tags, st.GroupID, st.BrandID, st.FormID
		ticket.CustomFields = st.CustomFields
	}
	return &mapping.Vars{
		Contact: mapping.Contact{Name: c.Name, WAID: c.WAID, UserID: c.UserID, Phone: phoneOf(c), FirstSeen: c.CreatedAt},
		Number:  mapping.Number{PhoneNumberID: o.n.PhoneNumberID, Display: o.n.Display, Label: o.n.Label},
		Conversation: mapping.Conversation{TicketID: o.ticket.ID, LastActivity: c.LastActivity,
			WindowOpen: false},
		Ticket:  ticket,
		Comment: &mapping.Comment{ID: o.comment.Ref.ID, Body: o.comment.Body, CreatedAt: o.comment.CreatedAt},
	}
}

func phoneOf(c *store.Chat) string {
	if p, err := mapping.NormalizePhone(c.WAID); err == nil {
		return p
	}
	return ""
}

// errTemplateParams is the failure of the template parameters' mapping.
var errTemplateParams = errors.New("template parameters could not be computed")
