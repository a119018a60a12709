package whatsapp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrInvalidInbound reports InboundParams that do not describe a message.
var ErrInvalidInbound = errors.New("whatsapp sandbox: invalid inbound message")

// InboundParams describe a customer message for Inbound and POST
// /_sandbox/inbound. Only From (or UserID) is required.
type InboundParams struct {
	// PhoneNumberID is the business number written to (default: the first).
	PhoneNumberID string `json:"phone_number_id,omitempty"`
	// From is the customer's number, E.164 with or without "+". It may be
	// empty for a username user identified only by UserID.
	From string `json:"from,omitempty"`
	// Name is the customer's profile name.
	Name string `json:"name,omitempty"`
	// UserID is the customer's business-scoped user ID (BSUID), optional.
	UserID string `json:"user_id,omitempty"`
	// Type is text (default), image, document, audio, video, sticker,
	// location, contacts, reaction, button, interactive, unsupported or system.
	Type string `json:"type,omitempty"`
	// Text is the text body; the caption-less title of buttons and
	// interactive replies; the unsupported type name; the system body.
	Text        string              `json:"text,omitempty"`
	Media       *InboundMedia       `json:"media,omitempty"`
	Location    *InboundLocation    `json:"location,omitempty"`
	Reaction    *InboundReaction    `json:"reaction,omitempty"`
	Button      *InboundButton      `json:"button,omitempty"`
	Interactive *InboundInteractive `json:"interactive,omitempty"`
	// Contacts are shared contact cards, passed through as given.
	Contacts []json.RawMessage `json:"contacts,omitempty"`
	System   *InboundSystem    `json:"system,omitempty"`
	// Context makes the message a reply to the business message with this id.
	Context *InboundContext `json:"context,omitempty"`
	// Timestamp is the message time in Unix seconds (default: the fake clock).
	Timestamp int64 `json:"timestamp,omitempty"`
	// Async queues the webhook instead of delivering it before returning.
	Async bool `json:"async,omitempty"`
}

// InboundMedia is the file of an inbound media message; it is stored so
// the media API can serve it. Without DataBase64 a small placeholder is used.
type InboundMedia struct {
	MimeType   string `json:"mime_type,omitempty"`
	Filename   string `json:"filename,omitempty"`
	DataBase64 string `json:"data_base64,omitempty"`
	Caption    string `json:"caption,omitempty"`
	Voice      bool   `json:"voice,omitempty"`    // audio: a voice note
	Animated   bool   `json:"animated,omitempty"` // sticker
}

// InboundLocation is a shared location.
type InboundLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// InboundReaction reacts to (or, with an empty Emoji, un-reacts to) a message.
type InboundReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji,omitempty"`
}

// InboundButton is a tap on a template quick-reply button.
type InboundButton struct {
	Payload string `json:"payload,omitempty"`
	Text    string `json:"text,omitempty"`
}

// InboundInteractive is a reply to interactive buttons or a list.
type InboundInteractive struct {
	Type        string `json:"type,omitempty"` // button_reply (default) or list_reply
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// InboundSystem is a system message (no contacts block).
type InboundSystem struct {
	Type           string `json:"type,omitempty"` // user_changed_number (default) or user_changed_user_id
	Body           string `json:"body,omitempty"`
	WAID           string `json:"wa_id,omitempty"`
	UserID         string `json:"user_id,omitempty"`
	PreviousUserID string `json:"previous_user_id,omitempty"`
}

// InboundContext points a reply at an earlier message.
type InboundContext struct {
	ID string `json:"id"`
}

var inboundTypes = []string{"text", "image", "document", "audio", "video", "sticker", "location",
	"contacts", "reaction", "button", "interactive", "unsupported", "system"}

// placeholderMedia are the default MIME type and bytes of media without data.
var placeholderMedia = map[string]struct {
	mime string
	data []byte
}{
	"image":    {"image/jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9")},
	"video":    {"video/mp4", []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")},
	"audio":    {"audio/ogg; codecs=opus", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00")},
	"document": {"application/pdf", []byte("%PDF-1.4\n%%EOF\n")},
	"sticker":  {"image/webp", []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")},
}

// Inbound simulates a customer message: it builds the message as Meta does,
// opens or refreshes the customer's service window from its timestamp and
// delivers the webhook (before returning unless p.Async). It returns the
// wamid and the receiver's HTTP status (0 when queued or not delivered).
//
// The error wraps ErrInvalidInbound when p is not a valid message (nothing is
// recorded), or ErrDelivery when the webhook could not be POSTed (the
// message is recorded and, with a callback URL set, queued for retry).
func (s *Server) Inbound(ctx context.Context, p InboundParams) (string, int, error) {
	body, wamid, err := s.buildInbound(p)
	if err != nil {
		return "", 0, err
	}
	if p.Async {
		s.em.enqueue("message", body)
		return wamid, 0, nil
	}
	status, err := s.em.deliverNow(ctx, "message", body)
	return wamid, status, err
}

func invalidInbound(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInbound, fmt.Sprintf(format, args...))
}

// buildInbound validates p, records the message and returns the webhook body.
func (s *Server) buildInbound(p InboundParams) ([]byte, string, error) {
	typ := cmpOr(p.Type, "text")
	if !slices.Contains(inboundTypes, typ) {
		return nil, "", invalidInbound("unknown type %q", typ)
	}
	from := digitsOf(p.From)
	if p.From != "" && (len(from) < 8 || len(from) > 15) {
		return nil, "", invalidInbound("from: %q is not an E.164 number", p.From)
	}
	if from == "" && p.UserID == "" {
		return nil, "", invalidInbound("from or user_id is required")
	}
	if p.UserID != "" && !bsuidRe.MatchString(p.UserID) {
		return nil, "", invalidInbound("user_id: %q is not a business-scoped user ID", p.UserID)
	}
	now := s.clock.Now()
	ts := now
	if p.Timestamp > 0 {
		ts = time.Unix(p.Timestamp, 0)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.numberOrFirstLocked(p.PhoneNumberID)
	if err != nil {
		return nil, "", invalidInbound("%v", err)
	}
	wamid := s.newWAMID()
	msg := map[string]any{"id": wamid, "timestamp": unixString(ts.Unix()), "type": typ}
	if from != "" {
		msg["from"] = from
	}
	if p.UserID != "" {
		msg["from_user_id"] = p.UserID
	}
	if p.Context != nil && p.Context.ID != "" {
		msg["context"] = map[string]string{"from": n.digits, "id": p.Context.ID}
	}
	if err := s.inboundPayloadLocked(n, typ, p, msg); err != nil {
		return nil, "", err
	}

	v := messagesValue{Messages: []map[string]any{msg}}
	if typ != "system" {
		c := webhookContact{WAID: from, UserID: p.UserID}
		c.Profile.Name = cmpOr(p.Name, "WhatsApp User")
		v.Contacts = []webhookContact{c}
	}
	body, err := marshalMeta(messagesEnvelope(n, v))
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp sandbox: inbound webhook: %w", err)
	}

	customer := p.UserID
	if from != "" {
		customer = "+" + from
	}
	s.inbound[wamid] = &inboundRecord{phoneNumberID: n.PhoneNumberID, customer: customer, time: ts}
	for _, key := range []string{customer, p.UserID} {
		if key == "" {
			continue
		}
		k := windowKey(n.PhoneNumberID, key)
		if last, ok := s.windows[k]; !ok || ts.After(last) {
			s.windows[k] = ts
		}
	}
	if p.UserID != "" && from != "" {
		s.bsuids[p.UserID] = "+" + from
	}
	return body, wamid, nil
}

// inboundPayloadLocked adds the type-specific object to msg. s.mu is held.
func (s *Server) inboundPayloadLocked(n *numberState, typ string, p InboundParams, msg map[string]any) error {
	switch typ {
	case "text":
		if p.Text == "" {
			return invalidInbound("text is required for a text message")
		}
		msg["text"] = map[string]string{"body": p.Text}
	case "image", "video", "audio", "document", "sticker":
		m := p.Media
		if m == nil {
			m = &InboundMedia{}
		}
		ph := placeholderMedia[typ]
		data := ph.data
		if m.DataBase64 != "" {
			d, err := base64.StdEncoding.DecodeString(m.DataBase64)
			if err != nil {
				return invalidInbound("media.data_base64: %v", err)
			}
			data = d
		}
		mimeType := cmpOr(m.MimeType, ph.mime)
		filename := m.Filename
		if typ == "document" && filename == "" {
			filename = "document.pdf"
		}
		item := s.storeMediaLocked(n.PhoneNumberID, mimeType, filename, data, InboundMediaTTL)
		sum := sha256.Sum256(data)
		obj := map[string]any{"mime_type": mimeType, "sha256": base64.StdEncoding.EncodeToString(sum[:]), "id": item.id}
		if s.baseURL != "" {
			obj["url"] = s.mediaURL(s.baseURL, item.id)
		}
		if m.Caption != "" && (typ == "image" || typ == "video" || typ == "document") {
			obj["caption"] = m.Caption
		}
		switch typ {
		case "document":
			obj["filename"] = filename
		case "audio":
			obj["voice"] = m.Voice
		case "sticker":
			obj["animated"] = m.Animated
		}
		msg[typ] = obj
	case "location":
		if p.Location == nil {
			return invalidInbound("location is required for a location message")
		}
		msg["location"] = p.Location
	case "contacts":
		cards := p.Contacts
		if len(cards) == 0 {
			card, _ := json.Marshal(map[string]any{
				"name":   map[string]string{"formatted_name": cmpOr(p.Text, "Shared Contact"), "first_name": cmpOr(p.Text, "Shared")},
				"phones": []map[string]string{{"phone": "+1 650 555 1234", "wa_id": "16505551234", "type": "MOBILE"}},
			})
			cards = []json.RawMessage{card}
		}
		msg["contacts"] = cards
	case "reaction":
		if p.Reaction == nil || p.Reaction.MessageID == "" {
			return invalidInbound("reaction.message_id is required for a reaction")
		}
		r := map[string]string{"message_id": p.Reaction.MessageID}
		if p.Reaction.Emoji != "" {
			r["emoji"] = p.Reaction.Emoji
		}
		msg["reaction"] = r
	case "button":
		b := InboundButton{Text: p.Text}
		if p.Button != nil {
			b = *p.Button
		}
		b.Text = cmpOr(b.Text, "Talk to support")
		b.Payload = cmpOr(b.Payload, b.Text)
		msg["button"] = map[string]string{"payload": b.Payload, "text": b.Text}
	case "interactive":
		in := p.Interactive
		if in == nil || in.ID == "" || in.Title == "" {
			return invalidInbound("interactive.id and interactive.title are required")
		}
		kind := cmpOr(in.Type, "button_reply")
		if kind != "button_reply" && kind != "list_reply" {
			return invalidInbound("interactive.type must be button_reply or list_reply")
		}
		reply := map[string]string{"id": in.ID, "title": in.Title}
		if kind == "list_reply" && in.Description != "" {
			reply["description"] = in.Description
		}
		msg["interactive"] = map[string]any{"type": kind, kind: reply}
	case "unsupported":
		msg["errors"] = []webhookError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown",
			Href: "/documentation/business-messaging/whatsapp/support/error-codes",
			ErrorData: struct {
				Details string `json:"details"`
			}{errorDetails[131051]}}}
		msg["unsupported"] = map[string]string{"type": cmpOr(p.Text, "poll_creation")}
	case "system":
		sys := InboundSystem{}
		if p.System != nil {
			sys = *p.System
		}
		sys.Type = cmpOr(sys.Type, "user_changed_number")
		obj := map[string]string{"type": sys.Type}
		switch sys.Type {
		case "user_changed_number":
			if sys.WAID == "" {
				return invalidInbound("system.wa_id (the new number) is required for user_changed_number")
			}
			obj["wa_id"] = digitsOf(sys.WAID)
			obj["body"] = cmpOr(sys.Body, fmt.Sprintf("User %s changed from %s to %s",
				cmpOr(p.Name, "WhatsApp User"), digitsOf(p.From), digitsOf(sys.WAID)))
		case "user_changed_user_id":
			obj["user_id"], obj["previous_user_id"] = sys.UserID, cmpOr(sys.PreviousUserID, p.UserID)
			obj["body"] = cmpOr(sys.Body, "User changed their business-scoped user ID")
		default:
			obj["body"] = cmpOr(sys.Body, p.Text)
		}
		msg["system"] = obj
	}
	return nil
}
