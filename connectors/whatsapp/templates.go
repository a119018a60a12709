package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/deskbridge/deskbridge/connectors"
)

// Template is a message template of the WhatsApp Business Account, as
// listed by GET /{waba_id}/message_templates. The JSON tags are Meta's, so
// a Template can be stored as JSON and read back unchanged.
type Template struct {
	ID              string              `json:"id"`
	Name            string              `json:"name"`
	Language        string              `json:"language"`                   // normalised, e.g. en_US
	Status          string              `json:"status"`                     // APPROVED, PENDING, REJECTED, PAUSED, DISABLED, …
	Category        string              `json:"category"`                   // MARKETING, UTILITY, AUTHENTICATION
	ParameterFormat string              `json:"parameter_format,omitempty"` // POSITIONAL (default) or NAMED
	Components      []TemplateComponent `json:"components,omitempty"`
}

// TemplateComponent is one component of a Template: HEADER (Format TEXT,
// IMAGE, VIDEO, DOCUMENT or LOCATION), BODY, FOOTER or BUTTONS.
type TemplateComponent struct {
	Type    string           `json:"type"`
	Format  string           `json:"format,omitempty"`
	Text    string           `json:"text,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
	Example json.RawMessage  `json:"example,omitempty"`
}

// TemplateButton is one button of a BUTTONS component: QUICK_REPLY, URL
// (URL may end in {{1}}), PHONE_NUMBER, …
type TemplateButton struct {
	Type        string `json:"type"`
	Text        string `json:"text,omitempty"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
}

// Component returns the first component of the given type (case
// insensitive) and whether there is one.
func (t *Template) Component(typ string) (TemplateComponent, bool) {
	for _, c := range t.Components {
		if strings.EqualFold(c.Type, typ) {
			return c, true
		}
	}
	return TemplateComponent{}, false
}

// templateFields are the fields ListTemplates asks for.
const templateFields = "name,language,status,category,id,parameter_format,components"

// templatePageSize is the page size of ListTemplates.
const templatePageSize = 100

// maxTemplatePages bounds ListTemplates (250 templates per WABA is Meta's
// limit; the bound only guards against a paging loop).
const maxTemplatePages = 100

// ListTemplates returns every template of the WABA (Config.WABAID),
// following the paging cursors. Languages are normalised. The endpoint
// shares the WABA's budget of 200 calls per hour: use a TemplateCache.
func (c *Client) ListTemplates(ctx context.Context) ([]Template, error) {
	const op = "list_templates"
	if c.cfg.WABAID == "" {
		return nil, invalid(op, "waba_id is not configured for phone number %s", c.cfg.PhoneNumberID)
	}
	var all []Template
	q := url.Values{"fields": {templateFields}, "limit": {strconv.Itoa(templatePageSize)}}
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxTemplatePages {
			return nil, &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op,
				Message: fmt.Sprintf("still more pages after %d; giving up", page)}
		}
		var out struct {
			Data   []Template `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.call(ctx, op, http.MethodGet, "/"+c.cfg.WABAID+"/message_templates", q, nil, &out); err != nil {
			return nil, err
		}
		for _, t := range out.Data {
			t.Language = NormalizeLanguage(t.Language)
			all = append(all, t)
		}
		after := out.Paging.Cursors.After
		if out.Paging.Next == "" || after == "" || seen[after] {
			return all, nil
		}
		seen[after] = true
		q = url.Values{"fields": {templateFields}, "limit": {strconv.Itoa(templatePageSize)}, "after": {after}}
	}
}

// TemplateStatusUpdate is the value of a message_template_status_update
// webhook (an Event of KindOther with that Field).
type TemplateStatusUpdate struct {
	Event    string // APPROVED, REJECTED, PAUSED, DISABLED, DELETED, …
	ID       string // message_template_id
	Name     string
	Language string // normalised
	Reason   string
	Category string
}

// ParseTemplateStatusUpdate reads the value of a
// message_template_status_update change (Event.Raw).
func ParseTemplateStatusUpdate(raw []byte) (*TemplateStatusUpdate, error) {
	var w struct {
		Event    flexString `json:"event"`
		ID       flexString `json:"message_template_id"`
		Name     flexString `json:"message_template_name"`
		Language flexString `json:"message_template_language"`
		Reason   flexString `json:"reason"`
		Category flexString `json:"message_template_category"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("whatsapp: template status update: %w", err)
	}
	if w.Name == "" || w.Event == "" {
		return nil, errors.New("whatsapp: template status update without message_template_name or event")
	}
	return &TemplateStatusUpdate{Event: string(w.Event), ID: string(w.ID), Name: string(w.Name),
		Language: NormalizeLanguage(string(w.Language)), Reason: string(w.Reason), Category: string(w.Category)}, nil
}
