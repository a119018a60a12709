package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
)

// sandboxView is what `sandbox show` prints: the Zendesk fake's tickets and
// the WhatsApp fake's conversations.
type sandboxView struct {
	Tickets       []viewTicket       `json:"tickets"`
	Conversations []viewConversation `json:"whatsapp"`
}

// viewTicket is one ticket with its comments, oldest first.
type viewTicket struct {
	ID        int64         `json:"id"`
	Status    string        `json:"status"`
	Subject   string        `json:"subject"`
	Requester viewUser      `json:"requester"`
	Tags      []string      `json:"tags"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
	Comments  []viewComment `json:"comments"`
}

// viewUser is a Zendesk user, as far as show needs it.
type viewUser struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role,omitempty"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
}

// viewComment is one comment of a ticket; Public false is an internal note.
type viewComment struct {
	ID          int64     `json:"id"`
	Author      string    `json:"author"`
	AuthorRole  string    `json:"author_role"`
	Public      bool      `json:"public"`
	Via         string    `json:"via"`
	Time        time.Time `json:"time"`
	Body        string    `json:"body"`
	Attachments []string  `json:"attachments"`
}

// viewConversation is one customer's WhatsApp thread with the business
// number, oldest message first.
type viewConversation struct {
	Customer      string        `json:"customer"` // E.164, or the BSUID
	Name          string        `json:"name,omitempty"`
	PhoneNumberID string        `json:"phone_number_id"`
	Messages      []viewMessage `json:"messages"`
}

// viewMessage is one message of a thread. Inbound messages (customer →
// business) carry the delivery of their webhook to the bridge; outbound
// ones (business → customer) their WhatsApp status.
type viewMessage struct {
	Direction string    `json:"direction"` // in or out
	ID        string    `json:"id"`        // wamid
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	File      string    `json:"file,omitempty"` // media: file name or MIME type
	// Status is, outbound: accepted, sent, delivered, read or failed;
	// inbound: delivered (the bridge answered 200), retrying or failed.
	Status        string `json:"status"`
	ErrorCode     int    `json:"error_code,omitempty"`
	WebhookStatus int    `json:"webhook_status,omitempty"` // inbound: the bridge's last HTTP answer
	WebhookError  string `json:"webhook_error,omitempty"`
}

func newSandboxShowCmd() *cobra.Command {
	var statePath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the running sandbox's tickets and WhatsApp threads",
		Long: `Print every ticket of the Zendesk fake (id, status, subject, requester) with
its comments (author, public reply or internal note, time, body, attachment
names), and each customer's thread on the WhatsApp fake: inbound messages
with the delivery of their webhook to the bridge, outbound messages with
their WhatsApp status. --json prints the same as one JSON object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := findSandbox(statePath)
			ctx := cmd.Context()
			for _, base := range []string{c.st.ZendeskURL, c.st.WhatsAppURL} {
				if err := c.ping(ctx, base); err != nil {
					return err
				}
			}
			v, err := c.view(ctx)
			if err != nil {
				return &userError{oneLine("deskbridge: show: " + err.Error())}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			v.write(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	sandboxStateFlag(cmd, &statePath)
	return cmd
}

// view reads both fakes' control APIs.
func (c *sandboxClient) view(ctx context.Context) (*sandboxView, error) {
	var tickets struct {
		Tickets []sbzendesk.TicketDump `json:"tickets"`
	}
	var users struct {
		Users []sbzendesk.User `json:"users"`
	}
	var hooks struct {
		Deliveries []sbwhatsapp.Delivery `json:"deliveries"`
	}
	var outbound struct {
		Messages []sbwhatsapp.OutboundMessage `json:"messages"`
	}
	for _, r := range []struct {
		url string
		out any
	}{
		{c.st.ZendeskURL + "/_sandbox/tickets", &tickets},
		{c.st.ZendeskURL + "/_sandbox/users", &users},
		{c.st.WhatsAppURL + "/_sandbox/webhooks", &hooks},
		{c.st.WhatsAppURL + "/_sandbox/outbound", &outbound},
	} {
		if err := c.call(ctx, http.MethodGet, r.url, nil, r.out); err != nil {
			return nil, err
		}
	}
	v := &sandboxView{Tickets: ticketsView(tickets.Tickets, users.Users),
		Conversations: conversationsView(hooks.Deliveries, outbound.Messages)}
	return v, nil
}

// ticketsView joins the tickets with their requesters.
func ticketsView(tickets []sbzendesk.TicketDump, users []sbzendesk.User) []viewTicket {
	byID := map[int64]sbzendesk.User{}
	for _, u := range users {
		byID[u.ID] = u
	}
	out := []viewTicket{}
	for _, t := range tickets {
		u := byID[t.RequesterID]
		vt := viewTicket{ID: t.ID, Status: t.Status, Subject: t.Subject, Tags: t.Tags, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
			Requester: viewUser{ID: t.RequesterID, Name: u.Name, Role: u.Role, Email: u.Email, Phone: u.Phone, ExternalID: u.ExternalID},
			Comments:  []viewComment{}}
		for _, cm := range t.Comments {
			vc := viewComment{ID: cm.ID, Author: cm.AuthorName, AuthorRole: cm.AuthorRole, Public: cm.Public, Via: cm.Via,
				Time: cm.CreatedAt, Body: cm.Body, Attachments: []string{}}
			for _, a := range cm.Attachments {
				vc.Attachments = append(vc.Attachments, a.FileName)
			}
			vt.Comments = append(vt.Comments, vc)
		}
		out = append(out, vt)
	}
	return out
}

// conversationsView builds each customer's thread from the inbound message
// webhooks the WhatsApp fake sent and the messages the business sent.
func conversationsView(hooks []sbwhatsapp.Delivery, outbound []sbwhatsapp.OutboundMessage) []viewConversation {
	convs := map[string]*viewConversation{}
	conv := func(pn, customer string) *viewConversation {
		k := pn + "|" + customer
		if convs[k] == nil {
			convs[k] = &viewConversation{Customer: customer, PhoneNumberID: pn, Messages: []viewMessage{}}
		}
		return convs[k]
	}
	seen := map[string]bool{}
	for _, d := range hooks {
		if d.Kind != "message" {
			continue
		}
		for _, in := range inboundMessages(d.Body) {
			if seen[in.msg.ID] { // a duplicated delivery
				continue
			}
			seen[in.msg.ID] = true
			m := in.msg
			m.WebhookStatus, m.WebhookError = d.LastStatus, d.Error
			switch {
			case d.Delivered:
				m.Status = "delivered"
			case d.Error != "":
				m.Status = "failed"
			default:
				m.Status = "retrying"
			}
			c := conv(in.phoneNumberID, in.customer)
			if in.name != "" && (c.Name == "" || in.name != defaultProfileName) {
				c.Name = in.name
			}
			c.Messages = append(c.Messages, m)
		}
	}
	for _, o := range outbound {
		text, file := outboundText(o.Type, o.Request)
		c := conv(o.PhoneNumberID, cmp.Or(o.To, o.Recipient))
		c.Messages = append(c.Messages, viewMessage{Direction: "out", ID: o.ID, Time: o.Time, Type: o.Type,
			Text: text, File: file, Status: o.Status, ErrorCode: o.ErrorCode})
	}
	out := []viewConversation{}
	for _, c := range convs {
		slices.SortStableFunc(c.Messages, func(a, b viewMessage) int { return a.Time.Compare(b.Time) })
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b viewConversation) int {
		return cmp.Or(a.Messages[0].Time.Compare(b.Messages[0].Time), strings.Compare(a.Customer, b.Customer))
	})
	return out
}

// defaultProfileName is the profile name of a customer written without
// --name.
const defaultProfileName = "WhatsApp User"

// inboundMessage is one customer message read from a webhook body.
type inboundMessage struct {
	phoneNumberID, customer, name string
	msg                           viewMessage
}

// inboundMessages reads the customer messages of a WhatsApp webhook body.
func inboundMessages(body []byte) []inboundMessage {
	var env struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Metadata struct {
						PhoneNumberID string `json:"phone_number_id"`
					} `json:"metadata"`
					Contacts []struct {
						Profile struct {
							Name string `json:"name"`
						} `json:"profile"`
						WAID   string `json:"wa_id"`
						UserID string `json:"user_id"`
					} `json:"contacts"`
					Messages []map[string]json.RawMessage `json:"messages"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil
	}
	var out []inboundMessage
	for _, e := range env.Entry {
		for _, ch := range e.Changes {
			v := ch.Value
			for _, raw := range v.Messages {
				var id, from, fromUser, ts, typ string
				for k, dst := range map[string]*string{"id": &id, "from": &from, "from_user_id": &fromUser, "timestamp": &ts, "type": &typ} {
					_ = json.Unmarshal(raw[k], dst)
				}
				in := inboundMessage{phoneNumberID: v.Metadata.PhoneNumberID, customer: fromUser}
				if from != "" {
					in.customer = "+" + from
				}
				for _, c := range v.Contacts {
					if (from != "" && c.WAID == from) || (from == "" && c.UserID == fromUser) {
						in.name = c.Profile.Name
					}
				}
				sec, _ := strconv.ParseInt(ts, 10, 64)
				text, file := messageText(typ, raw[typ])
				in.msg = viewMessage{Direction: "in", ID: id, Time: time.Unix(sec, 0).UTC(), Type: typ, Text: text, File: file}
				out = append(out, in)
			}
		}
	}
	return out
}

// messageText is the text and the file of a message's type object, as
// found in webhooks (inbound) and send requests (outbound).
func messageText(typ string, obj json.RawMessage) (text, file string) {
	if typ == "interactive" {
		var m struct {
			ButtonReply *struct {
				Title string `json:"title"`
			} `json:"button_reply"`
			ListReply *struct {
				Title string `json:"title"`
			} `json:"list_reply"`
			Body struct {
				Text string `json:"text"`
			} `json:"body"`
		}
		if json.Unmarshal(obj, &m) != nil {
			return "", ""
		}
		switch {
		case m.ButtonReply != nil:
			return m.ButtonReply.Title, ""
		case m.ListReply != nil:
			return m.ListReply.Title, ""
		}
		return m.Body.Text, ""
	}
	var m struct {
		Body     string `json:"body"`
		Caption  string `json:"caption"`
		Filename string `json:"filename"`
		MimeType string `json:"mime_type"`
		Link     string `json:"link"`
		Emoji    string `json:"emoji"`
		Text     string `json:"text"`
		Name     string `json:"name"`
		Address  string `json:"address"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
	}
	if json.Unmarshal(obj, &m) != nil {
		return "", ""
	}
	switch typ {
	case "text", "system":
		return m.Body, ""
	case "image", "video", "audio", "document", "sticker":
		return m.Caption, cmp.Or(m.Filename, m.MimeType, m.Link)
	case "reaction":
		return m.Emoji, ""
	case "button":
		return m.Text, ""
	case "location":
		return strings.TrimSpace(m.Name + " " + m.Address), ""
	case "template":
		return fmt.Sprintf("template %s (%s)", m.Name, m.Language.Code), ""
	}
	return "", ""
}

// outboundText is the text and file of a send request.
func outboundText(typ string, request json.RawMessage) (text, file string) {
	var req map[string]json.RawMessage
	if json.Unmarshal(request, &req) != nil {
		return "", ""
	}
	return messageText(typ, req[typ])
}

// write prints v as readable text.
func (v *sandboxView) write(w io.Writer) {
	const stamp = "2006-01-02 15:04:05"
	if len(v.Tickets) == 0 {
		fmt.Fprintln(w, "Zendesk tickets: none yet")
	} else {
		fmt.Fprintf(w, "Zendesk tickets (%d)\n", len(v.Tickets))
	}
	for _, t := range v.Tickets {
		r := t.Requester
		who := cmp.Or(r.Name, "user "+strconv.FormatInt(r.ID, 10))
		if contact := cmp.Or(r.Phone, r.Email, r.ExternalID); contact != "" {
			who += " <" + contact + ">"
		}
		fmt.Fprintf(w, "  #%d  %s  %q  requester %s\n", t.ID, t.Status, t.Subject, who)
		for _, c := range t.Comments {
			kind := "public"
			if !c.Public {
				kind = "internal note"
			}
			line := fmt.Sprintf("    %s  %s (%s), %s:", c.Time.Local().Format(stamp), cmp.Or(c.Author, "?"), c.AuthorRole, kind)
			fmt.Fprintln(w, line+indentBody(c.Body, "      "))
			if len(c.Attachments) > 0 {
				fmt.Fprintf(w, "      attachments: %s\n", strings.Join(c.Attachments, ", "))
			}
		}
	}
	fmt.Fprintln(w)
	if len(v.Conversations) == 0 {
		fmt.Fprintln(w, "WhatsApp conversations: none yet")
	} else {
		fmt.Fprintf(w, "WhatsApp conversations (%d)\n", len(v.Conversations))
	}
	for _, c := range v.Conversations {
		name := ""
		if c.Name != "" {
			name = " " + c.Name
		}
		fmt.Fprintf(w, "  %s%s with number %s\n", c.Customer, name, c.PhoneNumberID)
		for _, m := range c.Messages {
			var status string
			arrow := "→"
			if m.Direction == "in" {
				arrow = "← " + cmp.Or(c.Name, c.Customer) + ":"
				status = "bridge: " + m.Status
				if m.WebhookStatus != 0 {
					status += fmt.Sprintf(" %d", m.WebhookStatus)
				}
			} else {
				status = m.Status
				if m.ErrorCode != 0 {
					status += fmt.Sprintf(" (error %d)", m.ErrorCode)
				}
			}
			what := m.Type
			if m.File != "" {
				what += " " + m.File
			}
			fmt.Fprintf(w, "    %s  %s%s  (%s %s; %s)\n", m.Time.Local().Format(stamp), arrow,
				indentBody(m.Text, "      "), what, m.ID, status)
		}
	}
}

// indentBody returns " body" with continuation lines indented, or "" for
// an empty body.
func indentBody(body, indent string) string {
	body = strings.TrimRight(body, "\n")
	if body == "" {
		return ""
	}
	return " " + strings.ReplaceAll(body, "\n", "\n"+indent)
}
