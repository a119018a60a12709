package mapping

import (
	"strings"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

// The types below are the inputs of the mapping expressions. Each is exposed
// to CEL as an object type whose field names are the `cel` tags: contact.wa_id,
// message.referral.ctwa_clid, ticket.custom_fields… A part left unset reads as
// its zero value: "" for strings, 0, false, an empty list or map, and
// 1970-01-01T00:00:00Z for an unset time (format_time prints "" for it). A nil
// pointer (Message.Referral, Message.Context, Vars.Ticket, Vars.Comment) reads
// as the zero struct, so message.referral.source_id is "" when the chat did not
// start from an ad; has(message.referral) tells the two apart.

// Contact is the WhatsApp customer.
type Contact struct {
	Name      string    `cel:"name"`       // WhatsApp profile name
	WAID      string    `cel:"wa_id"`      // phone-based id, digits without "+"; may be empty
	UserID    string    `cel:"user_id"`    // business-scoped user id (BSUID)
	Phone     string    `cel:"phone"`      // E.164 with "+", when known
	Country   string    `cel:"country"`    // country code as WhatsApp sends it
	Aliases   []string  `cel:"aliases"`    // other known ids (phones, wa_ids, BSUIDs)
	FirstSeen time.Time `cel:"first_seen"` // first message from this customer
	IsNew     bool      `cel:"is_new"`     // first time the bridge sees this customer
}

// Message is the inbound WhatsApp message being mapped.
type Message struct {
	ID        string          `cel:"id"`         // wamid
	Type      string          `cel:"type"`       // text, image, interactive…
	Text      string          `cel:"text"`       // body, caption or reply title, as the ticket shows it
	Caption   string          `cel:"caption"`    // caption of a media message
	Timestamp time.Time       `cel:"timestamp"`  // when WhatsApp received it
	Referral  *Referral       `cel:"referral"`   // Click-to-WhatsApp ad or post that started the chat
	Context   *MessageContext `cel:"context"`    // reply / forward information
	MediaType string          `cel:"media_type"` // MIME type of the media, such as image/jpeg
	MediaSize int64           `cel:"media_size"` // media size in bytes, when known (0 otherwise)
}

// Referral is the Click-to-WhatsApp ad or post that started a chat.
type Referral struct {
	SourceURL  string `cel:"source_url"`
	SourceID   string `cel:"source_id"`   // ad or post id
	SourceType string `cel:"source_type"` // "ad" or "post"
	Headline   string `cel:"headline"`
	Body       string `cel:"body"`
	CtwaClid   string `cel:"ctwa_clid"` // click id
}

// MessageContext tells what a message replies to and whether it was
// forwarded.
type MessageContext struct {
	ID        string `cel:"id"` // wamid of the replied-to message
	Forwarded bool   `cel:"forwarded"`
}

// Number is the business phone number the message was sent to.
type Number struct {
	PhoneNumberID string `cel:"phone_number_id"`
	Display       string `cel:"display"` // display phone number
	Label         string `cel:"label"`   // label from the configuration
}

// Conversation is the bridge's state of the customer's conversation.
type Conversation struct {
	TicketID     string    `cel:"ticket_id"`     // current ticket, if any
	LastActivity time.Time `cel:"last_activity"` // last message either way
	WindowOpen   bool      `cel:"window_open"`   // 24-hour customer-service window is open
	MessageCount int       `cel:"message_count"` // messages in the conversation so far
}

// Ticket is a helpdesk ticket. For outbound templates it is the ticket the
// agent replied on; while routing rules run it holds the fields of the new
// ticket computed so far.
type Ticket struct {
	ID            string         `cel:"id"`
	Subject       string         `cel:"subject"`
	Status        string         `cel:"status"`
	Priority      string         `cel:"priority"`
	Type          string         `cel:"type"`
	Group         string         `cel:"group"`
	Brand         string         `cel:"brand"`
	Form          string         `cel:"form"`
	Tags          []string       `cel:"tags"`
	CustomFields  map[string]any `cel:"custom_fields"` // by the vendor's field id or name
	RequesterName string         `cel:"requester_name"`
}

// Comment is the agent comment an outbound template carries.
type Comment struct {
	ID         string    `cel:"id"`
	Body       string    `cel:"body"`
	AuthorName string    `cel:"author_name"`
	CreatedAt  time.Time `cel:"created_at"`
}

// Vars are the inputs of an evaluation; unset parts are zero values. Ticket
// and Comment are set for outbound templates.
type Vars struct {
	Contact      Contact
	Message      Message
	Number       Number
	Conversation Conversation
	Ticket       *Ticket
	Comment      *Comment
}

// MessageVars builds Message from a parsed WhatsApp message. Text is the body,
// caption or reply title as [RenderMessage] shows it, without its header
// lines (reply, forward, ad); a media message without a caption reads as
// "[image]", "[voice message]"… For an edit, Text, Caption and MediaType come
// from the new content. MediaSize is 0: WhatsApp does not send it, the caller
// may set it after downloading the media. A nil m gives the zero Message.
func MessageVars(m *whatsapp.Message) Message {
	if m == nil {
		return Message{}
	}
	out := Message{
		ID:        m.ID,
		Type:      m.Type,
		Text:      renderBody(m, time.UTC).Text,
		Timestamp: m.Timestamp,
	}
	content := m
	if m.Type == whatsapp.TypeEdit && m.Edit != nil && m.Edit.Message != nil {
		content = m.Edit.Message
	}
	if md := mediaOf(content); md != nil {
		out.Caption = strings.TrimSpace(md.Caption)
		out.MediaType = md.MimeType
	}
	if r := m.Referral; r != nil {
		out.Referral = &Referral{
			SourceURL: r.SourceURL, SourceID: r.SourceID, SourceType: r.SourceType,
			Headline: r.Headline, Body: r.Body, CtwaClid: r.CtwaClid,
		}
	}
	if c := m.Context; c != nil {
		out.Context = &MessageContext{ID: c.ID, Forwarded: c.Forwarded || c.FrequentlyForwarded}
	}
	return out
}

// ContactVars builds Contact from the sender profile of a WhatsApp message:
// Name, WAID, UserID, Country and Phone (the wa_id in E.164, when it is a
// valid number). Aliases, FirstSeen and IsNew come from the bridge's store
// and are left for the caller. A nil c gives the zero Contact.
func ContactVars(c *whatsapp.Contact) Contact {
	if c == nil {
		return Contact{}
	}
	out := Contact{Name: strings.TrimSpace(c.Name), WAID: c.WAID, UserID: c.UserID, Country: c.CountryCode}
	if c.WAID != "" {
		if p, err := NormalizePhone(c.WAID); err == nil {
			out.Phone = p
		}
	}
	return out
}
