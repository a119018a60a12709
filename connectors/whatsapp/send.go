package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/deskbridge/deskbridge/connectors"
)

// SendParams is one outbound message. Set exactly one recipient (To or
// Recipient) and exactly one content field (Text, Template, Image, Video,
// Audio, Document, Sticker, Buttons, List or Reaction). The builders
// (TextMessage, TemplateMessage, …) fill it in.
type SendParams struct {
	// To is the customer's phone number in E.164 with "+", e.g.
	// "+34 600-111-222" (spaces, dashes and parentheses are removed). A
	// number without "+" is refused: Meta would prepend the business
	// number's country code and could reach someone else.
	To string
	// Recipient is the customer's business-scoped user id (BSUID), for
	// customers known only by it. Not allowed for templates.
	Recipient string
	// ReplyTo quotes an earlier message (context.message_id): its wamid.
	ReplyTo string
	// CallbackData is echoed back on every status webhook of the message
	// (biz_opaque_callback_data, at most 512 characters); the bridge puts
	// its own message id there.
	CallbackData string

	Text     *TextParams
	Template *TemplateParams
	Image    *MediaParams
	Video    *MediaParams
	Audio    *MediaParams
	Document *MediaParams
	Sticker  *MediaParams
	Buttons  *ButtonsParams // interactive reply buttons
	List     *ListParams    // interactive list
	Reaction *ReactionParams
}

// TextParams is a text message: body up to 4096 characters.
type TextParams struct {
	Body       string
	PreviewURL bool // render a preview of the first URL in Body
}

// MediaParams is an image, video, audio, document or sticker: an uploaded
// media ID or a public http(s) Link (exactly one). Caption is allowed on
// image, video and document (1024 characters), Filename on document only.
type MediaParams struct {
	ID       string
	Link     string
	Caption  string
	Filename string
}

// ReactionParams reacts to a message. An empty Emoji removes an earlier
// reaction.
type ReactionParams struct {
	MessageID string // wamid of the message reacted to
	Emoji     string
}

// ButtonsParams is an interactive message with 1–3 reply buttons.
type ButtonsParams struct {
	Header  *InteractiveHeader // optional
	Body    string             // required, up to 1024 characters
	Footer  string             // optional, up to 60 characters
	Buttons []ReplyButton
}

// ReplyButton is one reply button: ID (up to 256 characters) comes back in
// the reply webhook; Title (1–20 characters) is shown and must be unique.
type ReplyButton struct {
	ID    string
	Title string
}

// InteractiveHeader is the header of an interactive message: Text (up to
// 60 characters) or one of Image, Video, Document.
type InteractiveHeader struct {
	Text     string
	Image    *MediaParams
	Video    *MediaParams
	Document *MediaParams
}

// ListParams is an interactive list message.
type ListParams struct {
	Header   string // optional text header, up to 60 characters
	Body     string // required, up to 1024 characters
	Footer   string // optional, up to 60 characters
	Button   string // the label that opens the list, 1–20 characters
	Sections []ListSection
}

// ListSection is one section of a list (1–10 sections; a title of up to
// 24 characters is required when there is more than one).
type ListSection struct {
	Title string
	Rows  []ListRow
}

// ListRow is one choice of a list: at most 10 rows in all sections
// together; ID up to 200 characters and unique, Title up to 24,
// Description up to 72.
type ListRow struct {
	ID          string
	Title       string
	Description string
}

// SendResult is Meta's acknowledgement of a send. It means accepted, not
// delivered: delivery comes later as status webhooks.
type SendResult struct {
	// MessageID is the wamid of the new message (messages[0].id).
	MessageID string
	// WAID is the recipient's WhatsApp id (contacts[0].wa_id), which may
	// differ from the number sent; "" when Meta sends none.
	WAID string
	// Input echoes the recipient as sent (contacts[0].input).
	Input string
	// MessageStatus is set for templates under pacing: accepted,
	// held_for_quality_assessment or paused.
	MessageStatus string
}

// TextMessage builds a text message to a phone number.
func TextMessage(to, body string) *SendParams {
	return &SendParams{To: to, Text: &TextParams{Body: body}}
}

// TemplateMessage builds a template message to a phone number.
func TemplateMessage(to string, t *TemplateParams) *SendParams {
	return &SendParams{To: to, Template: t}
}

// ImageMessage builds an image message.
func ImageMessage(to string, m MediaParams) *SendParams { return &SendParams{To: to, Image: &m} }

// VideoMessage builds a video message.
func VideoMessage(to string, m MediaParams) *SendParams { return &SendParams{To: to, Video: &m} }

// AudioMessage builds an audio message.
func AudioMessage(to string, m MediaParams) *SendParams { return &SendParams{To: to, Audio: &m} }

// DocumentMessage builds a document message.
func DocumentMessage(to string, m MediaParams) *SendParams { return &SendParams{To: to, Document: &m} }

// StickerMessage builds a sticker message.
func StickerMessage(to string, m MediaParams) *SendParams { return &SendParams{To: to, Sticker: &m} }

// ButtonsMessage builds an interactive reply-buttons message.
func ButtonsMessage(to string, b *ButtonsParams) *SendParams { return &SendParams{To: to, Buttons: b} }

// ListMessage builds an interactive list message.
func ListMessage(to string, l *ListParams) *SendParams { return &SendParams{To: to, List: l} }

// ReactionMessage builds a reaction to the message wamid.
func ReactionMessage(to, wamid, emoji string) *SendParams {
	return &SendParams{To: to, Reaction: &ReactionParams{MessageID: wamid, Emoji: emoji}}
}

// WithReplyTo quotes the message wamid and returns p.
func (p *SendParams) WithReplyTo(wamid string) *SendParams { p.ReplyTo = wamid; return p }

// WithCallbackData sets biz_opaque_callback_data and returns p.
func (p *SendParams) WithCallbackData(data string) *SendParams { p.CallbackData = data; return p }

// WithRecipient addresses the message to a BSUID instead of a phone number
// and returns p.
func (p *SendParams) WithRecipient(bsuid string) *SendParams { p.To, p.Recipient = "", bsuid; return p }

// Type returns the message type ("text", "template", "image", …,
// "interactive", "reaction") or "" when not exactly one content field is
// set.
func (p *SendParams) Type() string {
	typ, n := "", 0
	set := func(ok bool, t string) {
		if ok {
			typ, n = t, n+1
		}
	}
	set(p.Text != nil, "text")
	set(p.Template != nil, "template")
	set(p.Image != nil, "image")
	set(p.Video != nil, "video")
	set(p.Audio != nil, "audio")
	set(p.Document != nil, "document")
	set(p.Sticker != nil, "sticker")
	set(p.Buttons != nil, "interactive")
	set(p.List != nil, "interactive")
	set(p.Reaction != nil, "reaction")
	if n != 1 {
		return ""
	}
	return typ
}

// op is the operation name of p for metrics and errors, e.g. "send_text".
func (p *SendParams) op() string {
	switch {
	case p.Buttons != nil && p.Type() != "":
		return "send_buttons"
	case p.List != nil && p.Type() != "":
		return "send_list"
	case p.Type() != "":
		return "send_" + p.Type()
	}
	return "send"
}

// Send sends one message from the business number. Every limit is checked
// first, and a template is checked against the template cache when
// Config.Templates is set; a violation is a Permanent *connectors.Error
// naming the field, and no request is made. Sends are not retried inside
// the HTTP stack once they may have reached Meta (Meta has no idempotency
// key): the caller's queue decides, keyed by its own message id.
func (c *Client) Send(ctx context.Context, p *SendParams) (*SendResult, error) {
	if p == nil {
		return nil, invalid("send", "no message given")
	}
	op := p.op()
	msg, err := p.wire(op)
	if err != nil {
		return nil, err
	}
	if p.Template != nil && c.cfg.Templates != nil {
		if err := c.checkTemplate(ctx, op, p.Template); err != nil {
			return nil, err
		}
	}
	var out struct {
		Contacts []struct {
			Input flexString `json:"input"`
			WAID  flexString `json:"wa_id"`
		} `json:"contacts"`
		Messages []struct {
			ID            flexString `json:"id"`
			MessageStatus flexString `json:"message_status"`
		} `json:"messages"`
	}
	if err := c.call(ctx, op, http.MethodPost, "/"+c.cfg.PhoneNumberID+"/messages", nil, msg, &out); err != nil {
		return nil, err
	}
	if len(out.Messages) == 0 || out.Messages[0].ID == "" {
		return nil, &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: http.StatusOK,
			Message: "Meta's answer carries no message id"}
	}
	res := &SendResult{MessageID: string(out.Messages[0].ID), MessageStatus: string(out.Messages[0].MessageStatus)}
	if len(out.Contacts) > 0 {
		res.WAID = strings.TrimSpace(string(out.Contacts[0].WAID))
		res.Input = string(out.Contacts[0].Input)
	}
	c.log.DebugContext(ctx, "message sent", "op", op, "wamid", res.MessageID)
	return res, nil
}

// checkTemplate looks the template up in the cache and checks the
// parameters against it.
func (c *Client) checkTemplate(ctx context.Context, op string, p *TemplateParams) error {
	t, ok, err := c.cfg.Templates.Get(ctx, p.Name, p.Language)
	if err != nil {
		return fmt.Errorf("whatsapp: %s: look up template %q: %w", op, p.Name, err)
	}
	if !ok {
		return invalid(op, "template %q (%s) not found among the account's templates: run `deskbridge templates sync` and check the name",
			p.Name, NormalizeLanguage(p.Language))
	}
	if err := CheckTemplate(t, p); err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) {
			cp := *ce
			cp.Op = op
			return &cp
		}
		return err
	}
	return nil
}

// MarkRead marks the inbound message wamid (and every earlier one of the
// conversation) as read; with typing it also shows the typing indicator,
// which disappears when the business replies or after 25 seconds, so set
// it only when a reply is coming.
func (c *Client) MarkRead(ctx context.Context, wamid string, typing bool) error {
	const op = "mark_read"
	if wamid == "" {
		return invalid(op, "message_id is required")
	}
	if n := len(wamid); n > 512 {
		return invalid(op, "message_id is %d bytes long, at most 512 allowed", n)
	}
	type indicator struct {
		Type string `json:"type"`
	}
	body := struct {
		MessagingProduct string     `json:"messaging_product"`
		Status           string     `json:"status"`
		MessageID        string     `json:"message_id"`
		TypingIndicator  *indicator `json:"typing_indicator,omitempty"`
	}{MessagingProduct: "whatsapp", Status: "read", MessageID: wamid}
	if typing {
		body.TypingIndicator = &indicator{Type: "text"}
	}
	var out successBody
	if err := c.call(ctx, op, http.MethodPost, "/"+c.cfg.PhoneNumberID+"/messages", nil, body, &out); err != nil {
		return err
	}
	return out.check(op)
}
