package whatsapp

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/deskbridge/deskbridge/telemetry"
)

// Wire structs of outbound messages (POST /{phone_number_id}/messages), as
// in Meta's request examples.

type outMessage struct {
	MessagingProduct string          `json:"messaging_product"`
	RecipientType    string          `json:"recipient_type"`
	To               string          `json:"to,omitempty"`
	Recipient        string          `json:"recipient,omitempty"`
	Type             string          `json:"type"`
	Context          *outContext     `json:"context,omitempty"`
	Text             *outText        `json:"text,omitempty"`
	Template         *outTemplate    `json:"template,omitempty"`
	Image            *outMedia       `json:"image,omitempty"`
	Video            *outMedia       `json:"video,omitempty"`
	Audio            *outMedia       `json:"audio,omitempty"`
	Document         *outMedia       `json:"document,omitempty"`
	Sticker          *outMedia       `json:"sticker,omitempty"`
	Interactive      *outInteractive `json:"interactive,omitempty"`
	Reaction         *outReaction    `json:"reaction,omitempty"`
	CallbackData     string          `json:"biz_opaque_callback_data,omitempty"`
}

type outContext struct {
	MessageID string `json:"message_id"`
}

type outText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type outMedia struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type outReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

type outInteractive struct {
	Type   string         `json:"type"`
	Header *outHeader     `json:"header,omitempty"`
	Body   *outBodyText   `json:"body,omitempty"`
	Footer *outBodyText   `json:"footer,omitempty"`
	Action outInterAction `json:"action"`
}

type outHeader struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	Image    *outMedia `json:"image,omitempty"`
	Video    *outMedia `json:"video,omitempty"`
	Document *outMedia `json:"document,omitempty"`
}

type outBodyText struct {
	Text string `json:"text"`
}

type outInterAction struct {
	Button   string       `json:"button,omitempty"`
	Buttons  []outButton  `json:"buttons,omitempty"`
	Sections []outSection `json:"sections,omitempty"`
}

type outButton struct {
	Type  string   `json:"type"`
	Reply outReply `json:"reply"`
}

type outReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type outSection struct {
	Title string   `json:"title,omitempty"`
	Rows  []outRow `json:"rows"`
}

type outRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Limits checked before sending (reference §4).
const (
	maxTextBody        = 4096
	maxCaption         = 1024
	maxCallbackData    = 512
	maxInteractiveBody = 1024
	maxFooter          = 60
	maxHeaderText      = 60
	maxButtons         = 3
	maxButtonTitle     = 20
	maxButtonID        = 256
	maxListButton      = 20
	maxSections        = 10
	maxRows            = 10
	maxSectionTitle    = 24
	maxRowID           = 200
	maxRowTitle        = 24
	maxRowDescription  = 72
	maxFilename        = 240
)

var (
	// bsuidRE is a business-scoped user id: country code, dot, up to 128
	// alphanumerics (parent BSUIDs add a segment: "US.ENT.…").
	bsuidRE = regexp.MustCompile(`^[A-Z]{2}(\.[A-Za-z0-9]+){1,2}$`)
	// phoneStrip are the characters Meta allows in "to" besides digits.
	phoneStrip = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", "\u00a0", "")
)

// NormalizePhone returns the E.164 form ("+" and 8–15 digits) of a phone
// number written with spaces, dashes or parentheses. A number without a
// leading "+" is an error: Meta would prepend the business number's
// country code to it. Errors show the number masked to its last four
// characters, as they end up in logs.
func NormalizePhone(s string) (string, error) {
	n := phoneStrip.Replace(strings.TrimSpace(s))
	if n == "" {
		return "", errf("is empty")
	}
	if !strings.HasPrefix(n, "+") {
		return "", errf("%q must start with + and the country code (without it Meta prepends the business number's country code)",
			telemetry.MaskPhone(s))
	}
	digits := n[1:]
	if !digitsRE.MatchString(digits) {
		return "", errf("%q may contain only digits after the +", telemetry.MaskPhone(s))
	}
	if len(digits) < 8 || len(digits) > 15 {
		return "", errf("%q has %d digits; E.164 numbers have 8 to 15", telemetry.MaskPhone(s), len(digits))
	}
	return n, nil
}

// fieldError is a validation failure; the caller prefixes the field name.
type fieldError struct{ msg string }

// Error implements error.
func (e *fieldError) Error() string { return e.msg }

func errf(format string, args ...any) error { return &fieldError{msg: fmt.Sprintf(format, args...)} }

// wire validates p and returns the request body.
func (p *SendParams) wire(op string) (*outMessage, error) {
	typ := p.Type()
	if typ == "" {
		return nil, invalid(op, "set exactly one of Text, Template, Image, Video, Audio, Document, Sticker, Buttons, List, Reaction")
	}
	m := &outMessage{MessagingProduct: "whatsapp", RecipientType: "individual", Type: typ}
	switch {
	case p.To != "" && p.Recipient != "":
		return nil, invalid(op, "set either to (phone number) or recipient (BSUID), not both")
	case p.To != "":
		to, err := NormalizePhone(p.To)
		if err != nil {
			return nil, invalid(op, "to: %v", err)
		}
		m.To = to
	case p.Recipient != "":
		if typ == "template" {
			return nil, invalid(op, "recipient: templates need a phone number in to, not a BSUID")
		}
		if len(p.Recipient) > 140 || !bsuidRE.MatchString(p.Recipient) {
			return nil, invalid(op, "recipient: %q is not a business-scoped user id (like US.13491208655302741918)",
				telemetry.MaskPhone(p.Recipient))
		}
		m.Recipient = p.Recipient
	default:
		return nil, invalid(op, "to: a recipient phone number (or a BSUID in recipient) is required")
	}
	if p.ReplyTo != "" {
		if err := checkText(p.ReplyTo, 1, 512); err != nil {
			return nil, invalid(op, "context.message_id: %v", err)
		}
		m.Context = &outContext{MessageID: p.ReplyTo}
	}
	if p.CallbackData != "" {
		if n := utf8.RuneCountInString(p.CallbackData); n > maxCallbackData {
			return nil, invalid(op, "biz_opaque_callback_data: %d characters, at most %d allowed", n, maxCallbackData)
		}
		m.CallbackData = p.CallbackData
	}
	var err error
	switch {
	case p.Text != nil:
		if err = checkText(p.Text.Body, 1, maxTextBody); err != nil {
			return nil, invalid(op, "text.body: %v", err)
		}
		m.Text = &outText{Body: p.Text.Body, PreviewURL: p.Text.PreviewURL}
	case p.Template != nil:
		if m.Template, err = p.Template.wire(); err != nil {
			return nil, invalid(op, "%v", err)
		}
	case p.Image != nil:
		m.Image, err = p.Image.wire("image", true, false)
	case p.Video != nil:
		m.Video, err = p.Video.wire("video", true, false)
	case p.Audio != nil:
		m.Audio, err = p.Audio.wire("audio", false, false)
	case p.Document != nil:
		m.Document, err = p.Document.wire("document", true, true)
	case p.Sticker != nil:
		m.Sticker, err = p.Sticker.wire("sticker", false, false)
	case p.Buttons != nil:
		m.Interactive, err = p.Buttons.wire()
	case p.List != nil:
		m.Interactive, err = p.List.wire()
	case p.Reaction != nil:
		if err = checkText(p.Reaction.MessageID, 1, 512); err != nil {
			return nil, invalid(op, "reaction.message_id: %v", err)
		}
		if n := utf8.RuneCountInString(p.Reaction.Emoji); n > 10 {
			return nil, invalid(op, "reaction.emoji: %d characters; send one emoji", n)
		}
		m.Reaction = &outReaction{MessageID: p.Reaction.MessageID, Emoji: p.Reaction.Emoji}
	}
	if err != nil {
		return nil, invalid(op, "%v", err)
	}
	return m, nil
}

// wire validates a media object of the given type.
func (m *MediaParams) wire(field string, caption, filename bool) (*outMedia, error) {
	switch {
	case m.ID == "" && m.Link == "":
		return nil, errf("%s: set id (uploaded media) or link", field)
	case m.ID != "" && m.Link != "":
		return nil, errf("%s: set id or link, not both", field)
	case m.ID != "" && !idRE.MatchString(m.ID):
		return nil, errf("%s.id: %q is not a media id", field, m.ID)
	case m.Link != "":
		u, err := url.Parse(m.Link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errf("%s.link: %q is not an absolute http(s) URL", field, m.Link)
		}
	}
	if m.Caption != "" {
		if !caption {
			return nil, errf("%s.caption: a %s cannot carry a caption", field, field)
		}
		if err := checkText(m.Caption, 1, maxCaption); err != nil {
			return nil, errf("%s.caption: %v", field, err)
		}
	}
	if m.Filename != "" {
		if !filename {
			return nil, errf("%s.filename: only documents carry a filename", field)
		}
		if err := checkText(m.Filename, 1, maxFilename); err != nil || strings.ContainsAny(m.Filename, "/\\") {
			return nil, errf("%s.filename: %q must be a plain file name of at most %d characters", field, m.Filename, maxFilename)
		}
	}
	return &outMedia{ID: m.ID, Link: m.Link, Caption: m.Caption, Filename: m.Filename}, nil
}

// wire validates reply buttons.
func (b *ButtonsParams) wire() (*outInteractive, error) {
	it := &outInteractive{Type: "button"}
	if err := interactiveTexts(it, b.Body, b.Footer); err != nil {
		return nil, err
	}
	if b.Header != nil {
		h, err := b.Header.wire()
		if err != nil {
			return nil, err
		}
		it.Header = h
	}
	if len(b.Buttons) == 0 || len(b.Buttons) > maxButtons {
		return nil, errf("interactive.action.buttons: %d buttons; 1 to %d allowed", len(b.Buttons), maxButtons)
	}
	titles, ids := map[string]bool{}, map[string]bool{}
	for i, btn := range b.Buttons {
		if err := checkText(btn.Title, 1, maxButtonTitle); err != nil {
			return nil, errf("interactive.action.buttons[%d].title: %v", i, err)
		}
		if err := checkText(btn.ID, 1, maxButtonID); err != nil {
			return nil, errf("interactive.action.buttons[%d].id: %v", i, err)
		}
		if strings.TrimSpace(btn.ID) != btn.ID {
			return nil, errf("interactive.action.buttons[%d].id: %q has leading or trailing spaces", i, btn.ID)
		}
		if titles[btn.Title] {
			return nil, errf("interactive.action.buttons[%d].title: %q is used twice; titles must be unique", i, btn.Title)
		}
		if ids[btn.ID] {
			return nil, errf("interactive.action.buttons[%d].id: %q is used twice; ids must be unique", i, btn.ID)
		}
		titles[btn.Title], ids[btn.ID] = true, true
		it.Action.Buttons = append(it.Action.Buttons, outButton{Type: "reply", Reply: outReply(btn)})
	}
	return it, nil
}

// wire validates an interactive header.
func (h *InteractiveHeader) wire() (*outHeader, error) {
	n := 0
	for _, set := range []bool{h.Text != "", h.Image != nil, h.Video != nil, h.Document != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errf("interactive.header: set exactly one of text, image, video, document")
	}
	var err error
	out := &outHeader{}
	switch {
	case h.Text != "":
		out.Type, out.Text = "text", h.Text
		err = checkText(h.Text, 1, maxHeaderText)
		if err != nil {
			err = errf("interactive.header.text: %v", err)
		}
	case h.Image != nil:
		out.Type = "image"
		out.Image, err = h.Image.wire("interactive.header.image", false, false)
	case h.Video != nil:
		out.Type = "video"
		out.Video, err = h.Video.wire("interactive.header.video", false, false)
	case h.Document != nil:
		out.Type = "document"
		out.Document, err = h.Document.wire("interactive.header.document", false, true)
	}
	return out, err
}

// wire validates a list message.
func (l *ListParams) wire() (*outInteractive, error) {
	it := &outInteractive{Type: "list"}
	if err := interactiveTexts(it, l.Body, l.Footer); err != nil {
		return nil, err
	}
	if l.Header != "" {
		if err := checkText(l.Header, 1, maxHeaderText); err != nil {
			return nil, errf("interactive.header.text: %v", err)
		}
		it.Header = &outHeader{Type: "text", Text: l.Header}
	}
	if err := checkText(l.Button, 1, maxListButton); err != nil {
		return nil, errf("interactive.action.button: %v", err)
	}
	it.Action.Button = l.Button
	if len(l.Sections) == 0 || len(l.Sections) > maxSections {
		return nil, errf("interactive.action.sections: %d sections; 1 to %d allowed", len(l.Sections), maxSections)
	}
	rows, ids := 0, map[string]bool{}
	for i, s := range l.Sections {
		if s.Title != "" || len(l.Sections) > 1 {
			if err := checkText(s.Title, 1, maxSectionTitle); err != nil {
				return nil, errf("interactive.action.sections[%d].title: %v (required when there are several sections)", i, err)
			}
		}
		if len(s.Rows) == 0 {
			return nil, errf("interactive.action.sections[%d].rows: at least one row is required", i)
		}
		sec := outSection{Title: s.Title}
		for j, r := range s.Rows {
			f := fmt.Sprintf("interactive.action.sections[%d].rows[%d]", i, j)
			if err := checkText(r.ID, 1, maxRowID); err != nil {
				return nil, errf("%s.id: %v", f, err)
			}
			if ids[r.ID] {
				return nil, errf("%s.id: %q is used twice; row ids must be unique", f, r.ID)
			}
			ids[r.ID] = true
			if err := checkText(r.Title, 1, maxRowTitle); err != nil {
				return nil, errf("%s.title: %v", f, err)
			}
			if r.Description != "" {
				if err := checkText(r.Description, 1, maxRowDescription); err != nil {
					return nil, errf("%s.description: %v", f, err)
				}
			}
			sec.Rows = append(sec.Rows, outRow(r))
		}
		rows += len(s.Rows)
		it.Action.Sections = append(it.Action.Sections, sec)
	}
	if rows > maxRows {
		return nil, errf("interactive.action.sections: %d rows in all; at most %d allowed", rows, maxRows)
	}
	return it, nil
}

// interactiveTexts validates and sets the body and footer of an
// interactive message.
func interactiveTexts(it *outInteractive, body, footer string) error {
	if err := checkText(body, 1, maxInteractiveBody); err != nil {
		return errf("interactive.body.text: %v", err)
	}
	it.Body = &outBodyText{Text: body}
	if footer != "" {
		if err := checkText(footer, 1, maxFooter); err != nil {
			return errf("interactive.footer.text: %v", err)
		}
		it.Footer = &outBodyText{Text: footer}
	}
	return nil
}

// checkText checks that s is valid UTF-8, not blank and between lo and hi
// characters long (counted in runes, as Meta counts characters).
func checkText(s string, lo, hi int) error {
	if !utf8.ValidString(s) {
		return errf("is not valid UTF-8")
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && lo > 0:
		return errf("is required")
	case lo > 0 && strings.TrimFunc(s, unicode.IsSpace) == "":
		return errf("is blank")
	case n < lo:
		return errf("is %d characters long, at least %d required", n, lo)
	case n > hi:
		return errf("is %d characters long, at most %d allowed", n, hi)
	}
	return nil
}
