package whatsapp

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of the send payloads (reference §4).
const (
	maxTextBody      = 4096
	maxCaption       = 1024
	maxInteractive   = 1024 // interactive body
	maxFooter        = 60
	maxHeaderText    = 60
	maxButtons       = 3
	maxButtonTitle   = 20
	maxButtonID      = 256
	maxListButton    = 20
	maxSections      = 10
	maxRows          = 10
	maxRowTitle      = 24
	maxRowID         = 200
	maxRowDesc       = 72
	maxSectionTitle  = 24
	maxReactionEmoji = 16
)

// mediaPayload is image/video/audio/document/sticker (and media parameters).
type mediaPayload struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type interactivePayload struct {
	Type   string `json:"type"`
	Header *struct {
		Type     string          `json:"type"`
		Text     string          `json:"text"`
		Image    json.RawMessage `json:"image"`
		Video    json.RawMessage `json:"video"`
		Document json.RawMessage `json:"document"`
	} `json:"header"`
	Body *struct {
		Text string `json:"text"`
	} `json:"body"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Action *struct {
		Button  string `json:"button"`
		Buttons []struct {
			Type  string `json:"type"`
			Reply *struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"reply"`
		} `json:"buttons"`
		Sections []struct {
			Title string `json:"title"`
			Rows  []struct {
				ID          string `json:"id"`
				Title       string `json:"title"`
				Description string `json:"description"`
			} `json:"rows"`
		} `json:"sections"`
		Name string `json:"name"`
	} `json:"action"`
}

var interactiveTypes = []string{"button", "list", "cta_url", "flow", "product", "product_list",
	"catalog_message", "location_request_message", "call_permission_request", "address_message"}

// checkPayload validates the type-specific object of a non-template send.
func (s *Server) checkPayload(n *numberState, typ string, raw json.RawMessage) *apiError {
	switch typ {
	case "text":
		var t struct {
			Body       *string `json:"body"`
			PreviewURL bool    `json:"preview_url"`
		}
		if e := decodeParam("text", raw, &t); e != nil {
			return e
		}
		if t.Body == nil || *t.Body == "" {
			return errMissing("text.body is required")
		}
		if utf8.RuneCountInString(*t.Body) > maxTextBody {
			return errValue("text.body is longer than %d characters", maxTextBody)
		}
	case "image", "video", "audio", "document", "sticker":
		return s.checkMedia(n, typ, raw)
	case "interactive":
		return s.checkInteractive(n, raw)
	case "reaction":
		var r struct {
			MessageID string `json:"message_id"`
			Emoji     string `json:"emoji"`
		}
		if e := decodeParam("reaction", raw, &r); e != nil {
			return e
		}
		if r.MessageID == "" {
			return errMissing("reaction.message_id is required")
		}
		if utf8.RuneCountInString(r.Emoji) > maxReactionEmoji {
			return errValue("reaction.emoji must be a single emoji")
		}
	case "location":
		return checkLocation(raw)
	case "contacts":
		var cs []struct {
			Name *struct {
				FormattedName string `json:"formatted_name"`
			} `json:"name"`
		}
		if e := decodeParam("contacts", raw, &cs); e != nil {
			return e
		}
		if len(cs) == 0 {
			return errMissing("contacts must hold at least one contact")
		}
		for i, c := range cs {
			if c.Name == nil || c.Name.FormattedName == "" {
				return errMissing("contacts[%d].name.formatted_name is required", i)
			}
		}
	}
	return nil
}

// checkMedia validates a media object: exactly one of id (a media uploaded to
// this fake) and link (an absolute http(s) URL).
func (s *Server) checkMedia(n *numberState, field string, raw json.RawMessage) *apiError {
	var m mediaPayload
	if e := decodeParam(field, raw, &m); e != nil {
		return e
	}
	switch {
	case m.ID == "" && m.Link == "":
		return errMissing("%s: one of id or link is required", field)
	case m.ID != "" && m.Link != "":
		return errValue("%s: only one of id and link may be set", field)
	case m.Link != "":
		u, err := url.Parse(m.Link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errValue("%s.link: %q is not an http(s) URL", field, m.Link)
		}
	default:
		s.mu.Lock()
		item, ok := s.media[m.ID]
		live := ok && !s.mediaExpiredLocked(item)
		s.mu.Unlock()
		if !live {
			return errValue("%s.id: media %s does not exist or has expired", field, m.ID)
		}
	}
	if utf8.RuneCountInString(m.Caption) > maxCaption {
		return errValue("%s.caption is longer than %d characters", field, maxCaption)
	}
	return nil
}

// checkInteractive validates interactive reply buttons and lists in detail,
// and the common parts of the other interactive types.
func (s *Server) checkInteractive(n *numberState, raw json.RawMessage) *apiError {
	var in interactivePayload
	if e := decodeParam("interactive", raw, &in); e != nil {
		return e
	}
	switch {
	case in.Type == "":
		return errMissing("interactive.type is required")
	case !slices.Contains(interactiveTypes, in.Type):
		return errInvalid("interactive.type: unsupported type %q", in.Type)
	case in.Action == nil && in.Type != "location_request_message":
		return errMissing("interactive.action is required")
	}
	if in.Body != nil && utf8.RuneCountInString(in.Body.Text) > maxInteractive {
		return errValue("interactive.body.text is longer than %d characters", maxInteractive)
	}
	if in.Footer != nil && utf8.RuneCountInString(in.Footer.Text) > maxFooter {
		return errValue("interactive.footer.text is longer than %d characters", maxFooter)
	}
	if h := in.Header; h != nil {
		switch h.Type {
		case "text":
			if h.Text == "" {
				return errMissing("interactive.header.text is required for a text header")
			}
			if utf8.RuneCountInString(h.Text) > maxHeaderText {
				return errValue("interactive.header.text is longer than %d characters", maxHeaderText)
			}
		case "image", "video", "document":
			raw := map[string]json.RawMessage{"image": h.Image, "video": h.Video, "document": h.Document}[h.Type]
			if len(raw) == 0 {
				return errMissing("interactive.header.%s is required for a %s header", h.Type, h.Type)
			}
			if e := s.checkMedia(n, "interactive.header."+h.Type, raw); e != nil {
				return e
			}
		default:
			return errInvalid("interactive.header.type: unsupported type %q", h.Type)
		}
	}
	if in.Type != "button" && in.Type != "list" {
		return nil
	}
	if in.Body == nil || in.Body.Text == "" {
		return errMissing("interactive.body.text is required")
	}
	if in.Type == "button" {
		return checkButtons(in)
	}
	return checkList(in)
}

func checkButtons(in interactivePayload) *apiError {
	bs := in.Action.Buttons
	switch {
	case bs == nil:
		return errMissing("interactive.action.buttons is required")
	case len(bs) == 0 || len(bs) > maxButtons:
		return errValue("interactive.action.buttons must hold 1 to %d buttons, got %d", maxButtons, len(bs))
	}
	titles := map[string]bool{}
	ids := map[string]bool{}
	for i, b := range bs {
		p := "interactive.action.buttons[" + strconv.Itoa(i) + "]"
		if b.Type != "reply" {
			return errValue("%s.type must be \"reply\"", p)
		}
		if b.Reply == nil || b.Reply.ID == "" {
			return errMissing("%s.reply.id is required", p)
		}
		if b.Reply.Title == "" {
			return errMissing("%s.reply.title is required", p)
		}
		if len(b.Reply.ID) > maxButtonID {
			return errValue("%s.reply.id is longer than %d characters", p, maxButtonID)
		}
		if utf8.RuneCountInString(b.Reply.Title) > maxButtonTitle {
			return errValue("%s.reply.title is longer than %d characters", p, maxButtonTitle)
		}
		if titles[b.Reply.Title] {
			return errValue("%s.reply.title %q is not unique", p, b.Reply.Title)
		}
		if ids[b.Reply.ID] {
			return errValue("%s.reply.id %q is not unique", p, b.Reply.ID)
		}
		titles[b.Reply.Title], ids[b.Reply.ID] = true, true
	}
	return nil
}

func checkList(in interactivePayload) *apiError {
	a := in.Action
	switch {
	case a.Button == "":
		return errMissing("interactive.action.button is required")
	case utf8.RuneCountInString(a.Button) > maxListButton:
		return errValue("interactive.action.button is longer than %d characters", maxListButton)
	case a.Sections == nil:
		return errMissing("interactive.action.sections is required")
	case len(a.Sections) == 0 || len(a.Sections) > maxSections:
		return errValue("interactive.action.sections must hold 1 to %d sections, got %d", maxSections, len(a.Sections))
	}
	rows := 0
	ids := map[string]bool{}
	for i, sec := range a.Sections {
		p := "interactive.action.sections[" + strconv.Itoa(i) + "]"
		if len(a.Sections) > 1 && sec.Title == "" {
			return errMissing("%s.title is required when there is more than one section", p)
		}
		if utf8.RuneCountInString(sec.Title) > maxSectionTitle {
			return errValue("%s.title is longer than %d characters", p, maxSectionTitle)
		}
		for j, r := range sec.Rows {
			rp := p + ".rows[" + strconv.Itoa(j) + "]"
			switch {
			case r.ID == "":
				return errMissing("%s.id is required", rp)
			case r.Title == "":
				return errMissing("%s.title is required", rp)
			case len(r.ID) > maxRowID:
				return errValue("%s.id is longer than %d characters", rp, maxRowID)
			case utf8.RuneCountInString(r.Title) > maxRowTitle:
				return errValue("%s.title is longer than %d characters", rp, maxRowTitle)
			case utf8.RuneCountInString(r.Description) > maxRowDesc:
				return errValue("%s.description is longer than %d characters", rp, maxRowDesc)
			case ids[r.ID]:
				return errValue("%s.id %q is not unique", rp, r.ID)
			}
			ids[r.ID] = true
		}
		rows += len(sec.Rows)
	}
	if rows == 0 || rows > maxRows {
		return errValue("interactive.action.sections must hold 1 to %d rows in total, got %d", maxRows, rows)
	}
	return nil
}

// checkLocation validates a location: latitude and longitude (numbers or
// numeric strings) in range.
func checkLocation(raw json.RawMessage) *apiError {
	var l struct {
		Latitude  json.RawMessage `json:"latitude"`
		Longitude json.RawMessage `json:"longitude"`
		Name      string          `json:"name"`
		Address   string          `json:"address"`
	}
	if e := decodeParam("location", raw, &l); e != nil {
		return e
	}
	for _, c := range []struct {
		name  string
		raw   json.RawMessage
		limit float64
	}{{"latitude", l.Latitude, 90}, {"longitude", l.Longitude, 180}} {
		if len(c.raw) == 0 || string(c.raw) == "null" {
			return errMissing("location.%s is required", c.name)
		}
		v, err := strconv.ParseFloat(strings.Trim(string(c.raw), `"`), 64)
		if err != nil || v < -c.limit || v > c.limit {
			return errValue("location.%s: %s is not a coordinate", c.name, c.raw)
		}
	}
	return nil
}
