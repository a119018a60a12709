package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/mapping"
)

// notAMessage is what mapping test says of statuses, value errors and
// account events.
const notAMessage = "not a message, nothing to map"

// notSet is how the text preview shows a field left to the helpdesk.
const notSet = "(not set)"

func newMappingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mapping",
		Short: "Preview the mapping section of the configuration",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newMappingTestCmd())
	return cmd
}

// mappingTestFlags are the flags of mapping test.
type mappingTestFlags struct {
	payload, ticket, comment string
	json, vars               bool
}

func newMappingTestCmd() *cobra.Command {
	var f mappingTestFlags
	cmd := &cobra.Command{
		Use:   "test --payload WEBHOOK.json [--ticket TICKET.json [--comment TEXT]]",
		Short: "Show what the mapping makes of a WhatsApp webhook payload, offline",
		Long: `Show, for each message of a WhatsApp webhook payload, what the configuration's
mapping would produce: the business number it was sent to, the helpdesk
contact (as a new contact), the fields of the new ticket and the routing
rules that matched, in order. Statuses and account events are listed as
not a message.

With --ticket (a Zendesk ticket as GET /api/v2/tickets/{id} returns it,
{"ticket":{...}}, optionally with "users" from ?include=users for the
requester's name) and --comment (the agent's reply), it also shows the
template a reply outside the 24-hour window would send, with its parameters.

Nothing is sent and nothing is stored: no network, no database. An
expression that fails is reported with its key path and the exit status is
1; everything else is still shown.`,
		Example: `  deskbridge mapping test --config deskbridge.yaml --payload webhook.json
  deskbridge mapping test --config deskbridge.yaml --payload webhook.json --json
  deskbridge mapping test --config deskbridge.yaml --payload webhook.json \
      --ticket ticket.json --comment "Your refund was approved."`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMappingTest(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.payload, "payload", "", "WhatsApp webhook body (JSON file) to map (required)")
	fl.StringVar(&f.ticket, "ticket", "", "Zendesk ticket (JSON of GET /api/v2/tickets/{id}) to preview the outside-window template for")
	fl.StringVar(&f.comment, "comment", "", "agent reply (comment.body) for the template preview; needs --ticket")
	fl.BoolVar(&f.json, "json", false, "print one JSON document instead of text")
	fl.BoolVar(&f.vars, "vars", false, "also print the variables the expressions see")
	_ = cmd.MarkFlagRequired("payload")
	return cmd
}

// runMappingTest is mapping test.
func runMappingTest(cmd *cobra.Command, f *mappingTestFlags) error {
	if cmd.Flags().Changed("comment") && f.ticket == "" {
		return errors.New("mapping test: --comment needs --ticket")
	}
	cfg, _, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	m, err := compileMapping(cfg)
	if err != nil {
		return err
	}
	tz := time.UTC
	if cfg.Threading.TimeZone != "" {
		if tz, err = time.LoadLocation(cfg.Threading.TimeZone); err != nil {
			return fmt.Errorf("threading.time_zone: %w", err)
		}
	}
	body, err := os.ReadFile(f.payload)
	if err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	events, err := whatsapp.ParseNotification(body)
	if err != nil {
		return fmt.Errorf("payload %s: %w", f.payload, err)
	}
	var reply *replyInput
	if f.ticket != "" {
		b, err := os.ReadFile(f.ticket)
		if err != nil {
			return fmt.Errorf("ticket: %w", err)
		}
		t, err := parseZendeskTicket(b)
		if err != nil {
			return fmt.Errorf("ticket %s: %w", f.ticket, err)
		}
		reply = &replyInput{ticket: t, comment: f.comment}
	}

	p := buildPreview(cfg, m, events, reply, f.vars)
	out := cmd.OutOrStdout()
	if f.json {
		err = writePreviewJSON(out, p)
	} else {
		err = writePreviewText(out, p, tz)
	}
	if err != nil {
		return err
	}
	if p.Errors > 0 {
		noun := "expressions"
		if p.Errors == 1 {
			noun = "expression"
		}
		return &userError{fmt.Sprintf("deskbridge: mapping test: %d %s failed to evaluate (key paths above)", p.Errors, noun)}
	}
	return nil
}

// replyInput is the ticket and agent comment of --ticket and --comment.
type replyInput struct {
	ticket  *zendeskTicket
	comment string
}

// preview is what mapping test prints, as text or JSON.
type preview struct {
	Events []eventPreview `json:"events"`
	// Errors counts the evaluation errors of all events.
	Errors int `json:"errors"`
}

// eventPreview is the preview of one event of the payload. Only Event,
// Kind, Summary and Skipped are set for events that are not mapped.
type eventPreview struct {
	Event     int              `json:"event"`   // 1-based position in the payload
	Kind      string           `json:"kind"`    // message, status, error or other
	Summary   string           `json:"summary"` // what the event is, in words
	Skipped   string           `json:"skipped,omitempty"`
	ID        string           `json:"id,omitempty"`   // wamid of a message
	Type      string           `json:"type,omitempty"` // message type
	Timestamp *time.Time       `json:"timestamp,omitempty"`
	Number    *numberPreview   `json:"number,omitempty"`
	Notes     []string         `json:"notes,omitempty"`
	Variables []namedValue     `json:"-"` // --vars; written as an object by MarshalJSON
	Contact   *contactPreview  `json:"contact,omitempty"`
	Ticket    *ticketPreview   `json:"ticket,omitempty"`
	Template  *templatePreview `json:"template,omitempty"`
	Errors    []evalProblem    `json:"errors,omitempty"`
}

// numberPreview is the business number a message was sent to.
type numberPreview struct {
	PhoneNumberID string `json:"phone_number_id"`
	Display       string `json:"display"` // display_phone_number of the payload
	Label         string `json:"label"`   // from the configuration
	Helpdesk      string `json:"helpdesk"`
	HelpdeskKind  string `json:"helpdesk_kind"`
	Configured    bool   `json:"configured"` // the number is in whatsapp.numbers
}

// contactPreview is the helpdesk contact a message's sender would become.
type contactPreview struct {
	IsNew      bool   `json:"is_new"`
	Name       string `json:"name"`
	ExternalID string `json:"external_id"`
	// ExternalIDFrom is "mapping" when mapping.contact.external_id gave it,
	// "default" for the bridge's whatsapp:+E164 scheme.
	ExternalIDFrom string         `json:"external_id_from"`
	Fields         map[string]any `json:"fields"`
}

// ticketPreview is the new ticket a message would open.
type ticketPreview struct {
	Subject      string         `json:"subject"`
	Description  string         `json:"description"`
	Tags         []string       `json:"tags"`
	Priority     string         `json:"priority"`
	Type         string         `json:"type"`
	Group        string         `json:"group"`
	Brand        string         `json:"brand"`
	Form         string         `json:"form"`
	CustomFields map[string]any `json:"custom_fields"`
	Routing      routingPreview `json:"routing"`
}

// routingPreview is the routing decision.
type routingPreview struct {
	Rules   int      `json:"rules"`   // rules configured
	Matched []string `json:"matched"` // names of the rules that matched, in order
}

// templatePreview is the outside-window template of a reply.
type templatePreview struct {
	TicketID      string   `json:"ticket_id"`
	TicketStatus  string   `json:"ticket_status"`
	RequesterName string   `json:"requester_name"`
	Comment       string   `json:"comment"`
	Policy        string   `json:"policy"`
	Sent          bool     `json:"sent"` // policy is template: the template is sent
	Name          string   `json:"name"`
	Language      string   `json:"language"`
	Params        []string `json:"params"`
}

// evalProblem is one expression that failed.
type evalProblem struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// namedValue is one variable of --vars, in display order.
type namedValue struct {
	Name  string
	Value any
}

// buildPreview maps every message event of events.
func buildPreview(cfg *config.Config, m *mapping.Mapper, events []whatsapp.Event, reply *replyInput, withVars bool) *preview {
	p := &preview{Events: []eventPreview{}}
	for i := range events {
		ev := &events[i]
		ep := eventPreview{Event: i + 1, Kind: string(ev.Kind), Summary: summarize(ev)}
		switch {
		case ev.Kind != whatsapp.KindMessage || ev.Message == nil:
			ep.Skipped = notAMessage
		case ev.Message.Type == whatsapp.TypeSystem:
			ep.Skipped = "system messages update the contact's identifiers and open no ticket: nothing to map"
		default:
			previewMessage(&ep, cfg, m, ev, reply, withVars)
			p.Errors += len(ep.Errors)
		}
		p.Events = append(p.Events, ep)
	}
	return p
}

// summarize describes an event in a few words.
func summarize(ev *whatsapp.Event) string {
	switch {
	case ev.Kind == whatsapp.KindMessage && ev.Message != nil:
		return ev.Message.Type + " message"
	case ev.Kind == whatsapp.KindStatus && ev.Status != nil:
		return fmt.Sprintf("status %q", ev.Status.Status)
	case ev.Kind == whatsapp.KindError && ev.Error != nil:
		return fmt.Sprintf("error %d %q", ev.Error.Code, firstNonEmptyString(ev.Error.Title, ev.Error.Message))
	}
	if ev.Field != "" {
		return fmt.Sprintf("%s event (field %q)", ev.Kind, ev.Field)
	}
	return string(ev.Kind) + " event"
}

// previewMessage evaluates the mapping for one message event.
func previewMessage(ep *eventPreview, cfg *config.Config, m *mapping.Mapper, ev *whatsapp.Event, reply *replyInput, withVars bool) {
	msg := ev.Message
	ep.ID, ep.Type = msg.ID, msg.Type
	if !ev.Timestamp.IsZero() {
		ts := ev.Timestamp
		ep.Timestamp = &ts
	}

	num := &numberPreview{PhoneNumberID: ev.PhoneNumberID, Display: ev.DisplayPhoneNumber}
	vars := &mapping.Vars{Number: mapping.Number{PhoneNumberID: ev.PhoneNumberID}}
	if idx := slices.IndexFunc(cfg.WhatsApp.Numbers, func(n config.Number) bool { return n.PhoneNumberID == ev.PhoneNumberID }); idx >= 0 {
		n := cfg.WhatsApp.Numbers[idx]
		num.Configured, num.Label, num.Helpdesk = true, n.Label, n.Helpdesk
		num.HelpdeskKind = cfg.Helpdesks[n.Helpdesk].Kind
		vars.Number.Display, vars.Number.Label = n.DisplayPhoneNumber, n.Label
		if n.Helpdesk == "" {
			ep.Notes = append(ep.Notes, fmt.Sprintf("whatsapp.numbers[%d] has no helpdesk: the bridge would not relay this message", idx))
		}
	} else {
		ep.Notes = append(ep.Notes, fmt.Sprintf("phone_number_id %s is not in whatsapp.numbers: the bridge would not relay this message", ev.PhoneNumberID))
	}
	ep.Number = num

	vars.Contact = contactVars(ev)
	vars.Message = mapping.MessageVars(msg)
	vars.Conversation = mapping.Conversation{WindowOpen: true, MessageCount: 1}
	if withVars {
		ep.Variables = listVars(vars)
	}

	var errs []error
	cf, err := m.Contact(vars)
	errs = append(errs, err)
	ep.Contact = &contactPreview{IsNew: true, Name: cf.Name, ExternalID: cf.ExternalID, ExternalIDFrom: "mapping", Fields: cf.Fields}
	if ep.Contact.Fields == nil {
		ep.Contact.Fields = map[string]any{}
	}
	if cf.ExternalID == "" {
		ep.Contact.ExternalID = mapping.ExternalID(vars.Contact.Phone, vars.Contact.UserID)
		ep.Contact.ExternalIDFrom = "default"
	}

	tf, err := m.Ticket(vars)
	errs = append(errs, err)
	ep.Ticket = &ticketPreview{
		Subject: tf.Subject, Description: tf.Description, Tags: tf.Tags, Priority: tf.Priority, Type: tf.Type,
		Group: tf.Group, Brand: tf.Brand, Form: tf.Form, CustomFields: tf.CustomFields,
		Routing: routingPreview{Rules: len(cfg.Mapping.Routing), Matched: tf.Rules},
	}
	if ep.Ticket.CustomFields == nil {
		ep.Ticket.CustomFields = map[string]any{}
	}
	if ep.Ticket.Routing.Matched == nil {
		ep.Ticket.Routing.Matched = []string{}
	}

	if reply != nil {
		t := reply.ticket.vars(vars.Contact.Name)
		tv := &mapping.Vars{
			Contact:      vars.Contact,
			Number:       vars.Number,
			Conversation: mapping.Conversation{TicketID: t.ID},
			Ticket:       t,
			Comment:      &mapping.Comment{Body: reply.comment},
		}
		tv.Contact.IsNew = false
		params, err := m.TemplateParams(tv)
		errs = append(errs, err)
		ow := cfg.OutsideWindow
		ep.Template = &templatePreview{
			TicketID: t.ID, TicketStatus: t.Status, RequesterName: t.RequesterName, Comment: reply.comment,
			Policy: ow.Policy, Sent: ow.Policy == "template", Name: ow.Template.Name, Language: ow.Template.Language,
			Params: params,
		}
		if ep.Template.Params == nil {
			ep.Template.Params = []string{}
		}
	}
	ep.Errors = evalProblems(errs...)
}

// contactVars are the contact variables of a message's sender, as the
// bridge builds them for a contact it has not seen before.
func contactVars(ev *whatsapp.Event) mapping.Contact {
	c := mapping.ContactVars(ev.Message.Contact)
	c.WAID = firstNonEmptyString(c.WAID, ev.WAID)
	c.UserID = firstNonEmptyString(c.UserID, ev.UserID)
	if c.Phone == "" && c.WAID != "" {
		if p, err := mapping.NormalizePhone(c.WAID); err == nil {
			c.Phone = p
		}
	}
	var a mapping.Aliases
	a.AddWAID(c.WAID)
	a.AddBSUID(c.UserID)
	for _, b := range a.BSUIDs {
		c.Aliases = append(c.Aliases, "bsuid:"+b)
	}
	for _, w := range a.WAIDs {
		c.Aliases = append(c.Aliases, "wa:"+w)
	}
	c.Aliases = append(c.Aliases, a.Phones...)
	c.FirstSeen = ev.Timestamp
	c.IsNew = true
	return c
}

// listVars lists the variables of v that are set, in display order.
func listVars(v *mapping.Vars) []namedValue {
	var out []namedValue
	add := func(name string, val any) {
		switch x := val.(type) {
		case string:
			if x == "" {
				return
			}
		case []string:
			if len(x) == 0 {
				return
			}
		case time.Time:
			if x.IsZero() {
				return
			}
		case int:
			if x == 0 {
				return
			}
		case int64:
			if x == 0 {
				return
			}
		}
		out = append(out, namedValue{name, val})
	}
	c := v.Contact
	add("contact.name", c.Name)
	add("contact.wa_id", c.WAID)
	add("contact.user_id", c.UserID)
	add("contact.phone", c.Phone)
	add("contact.country", c.Country)
	add("contact.aliases", c.Aliases)
	add("contact.first_seen", c.FirstSeen)
	add("contact.is_new", c.IsNew)
	msg := v.Message
	add("message.id", msg.ID)
	add("message.type", msg.Type)
	add("message.text", msg.Text)
	add("message.caption", msg.Caption)
	add("message.timestamp", msg.Timestamp)
	add("message.media_type", msg.MediaType)
	add("message.media_size", msg.MediaSize)
	if r := msg.Referral; r != nil {
		add("message.referral.source_url", r.SourceURL)
		add("message.referral.source_id", r.SourceID)
		add("message.referral.source_type", r.SourceType)
		add("message.referral.headline", r.Headline)
		add("message.referral.body", r.Body)
		add("message.referral.ctwa_clid", r.CtwaClid)
	}
	if ctx := msg.Context; ctx != nil {
		add("message.context.id", ctx.ID)
		add("message.context.forwarded", ctx.Forwarded)
	}
	add("number.phone_number_id", v.Number.PhoneNumberID)
	add("number.display", v.Number.Display)
	add("number.label", v.Number.Label)
	add("conversation.ticket_id", v.Conversation.TicketID)
	add("conversation.last_activity", v.Conversation.LastActivity)
	add("conversation.window_open", v.Conversation.WindowOpen)
	add("conversation.message_count", v.Conversation.MessageCount)
	return out
}

// evalProblems flattens the errors of Mapper.Contact, Ticket and
// TemplateParams into one problem per failed expression.
func evalProblems(errs ...error) []evalProblem {
	var out []evalProblem
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ee *mapping.EvalError
		if errors.As(err, &ee) {
			out = append(out, evalProblem{Path: ee.Path, Error: ee.Err.Error()})
			return
		}
		out = append(out, evalProblem{Error: err.Error()})
	}
	for _, err := range errs {
		walk(err)
	}
	return out
}

// zendeskTicket is the part of a Zendesk ticket the mapping reads.
type zendeskTicket struct {
	ID           json.Number `json:"id"`
	Subject      string      `json:"subject"`
	Status       string      `json:"status"`
	Priority     string      `json:"priority"`
	Type         string      `json:"type"`
	GroupID      json.Number `json:"group_id"`
	BrandID      json.Number `json:"brand_id"`
	TicketFormID json.Number `json:"ticket_form_id"`
	RequesterID  json.Number `json:"requester_id"`
	Tags         []string    `json:"tags"`
	CustomFields []struct {
		ID    json.Number `json:"id"`
		Value any         `json:"value"`
	} `json:"custom_fields"`

	requesterName string // from the sideloaded users, when present
}

// parseZendeskTicket reads the body of GET /api/v2/tickets/{id}, with or
// without ?include=users; a bare ticket object is accepted too.
func parseZendeskTicket(b []byte) (*zendeskTicket, error) {
	var doc struct {
		Ticket *zendeskTicket `json:"ticket"`
		Users  []struct {
			ID   json.Number `json:"id"`
			Name string      `json:"name"`
		} `json:"users"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a Zendesk ticket: %w", err)
	}
	t := doc.Ticket
	if t == nil {
		// A bare ticket object, without the {"ticket": …} envelope.
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&t); err != nil || t == nil || t.ID == "" {
			return nil, errors.New(`no "ticket" object: expected the body of GET /api/v2/tickets/{id}`)
		}
	}
	if t.ID == "" {
		return nil, errors.New("the ticket has no id")
	}
	for _, u := range doc.Users {
		if u.ID != "" && u.ID == t.RequesterID {
			t.requesterName = strings.TrimSpace(u.Name)
		}
	}
	return t, nil
}

// vars returns the ticket variable of t. The requester's name comes from
// the sideloaded users, else it is contactName, as for the bridge, which
// knows the requester as the WhatsApp contact.
func (t *zendeskTicket) vars(contactName string) *mapping.Ticket {
	out := &mapping.Ticket{
		ID: t.ID.String(), Subject: t.Subject, Status: t.Status, Priority: t.Priority, Type: t.Type,
		Group: t.GroupID.String(), Brand: t.BrandID.String(), Form: t.TicketFormID.String(),
		Tags: t.Tags, RequesterName: firstNonEmptyString(t.requesterName, contactName),
	}
	for _, cf := range t.CustomFields {
		if v, ok := customValue(cf.Value); ok && cf.ID != "" {
			if out.CustomFields == nil {
				out.CustomFields = map[string]any{}
			}
			out.CustomFields[cf.ID.String()] = v
		}
	}
	return out
}

// customValue converts a Zendesk custom field value for the mapping:
// strings, bools, int64 or float64, and lists of them (multi-select
// fields). A null value is left out, so ticket.custom_fields[?"id"] is
// absent for it.
func customValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
		f, err := x.Float64()
		return f, err == nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if c, ok := customValue(e); ok {
				out = append(out, c)
			}
		}
		return out, true
	case string, bool:
		return x, true
	}
	return nil, false
}
