package whatsapp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Template is a message template of a WABA, with components as Meta lists
// them from GET /{waba-id}/message_templates.
type Template struct {
	// WABAID owns the template; empty in Options.Templates means every WABA.
	WABAID string `json:"waba_id,omitempty"`
	// ID is assigned by the fake when empty.
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	Language string `json:"language"`
	// Status is APPROVED (default), PENDING, REJECTED, PAUSED, DISABLED, …
	Status string `json:"status,omitempty"`
	// Category is MARKETING, UTILITY (default) or AUTHENTICATION.
	Category string `json:"category,omitempty"`
	// ParameterFormat is POSITIONAL ({{1}}, the default) or NAMED ({{first_name}}).
	ParameterFormat string              `json:"parameter_format,omitempty"`
	Components      []TemplateComponent `json:"components"`
}

// TemplateComponent is a HEADER, BODY, FOOTER or BUTTONS component.
type TemplateComponent struct {
	Type    string           `json:"type"`
	Format  string           `json:"format,omitempty"` // HEADER: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
	Text    string           `json:"text,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
	Example json.RawMessage  `json:"example,omitempty"`
}

// TemplateButton is one button of a BUTTONS component.
type TemplateButton struct {
	Type        string          `json:"type"` // QUICK_REPLY, URL, PHONE_NUMBER, …
	Text        string          `json:"text"`
	URL         string          `json:"url,omitempty"` // may end in {{1}}
	PhoneNumber string          `json:"phone_number,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
}

// TemplateStatusParams changes the status of a template (SetTemplateStatus).
type TemplateStatusParams struct {
	WABAID   string `json:"waba_id,omitempty"` // default: the first number's WABA
	Name     string `json:"name"`
	Language string `json:"language"`
	Status   string `json:"status"`
	// Reason goes into the webhook (default NONE), e.g. INVALID_FORMAT.
	Reason string `json:"reason,omitempty"`
}

var (
	templateNameRe = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	placeholderRe  = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)
	namedParamRe   = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// placeholders returns the distinct placeholders of text in order.
func placeholders(text string) []string {
	var out []string
	for _, m := range placeholderRe.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// PutTemplate creates or replaces a template (keyed by WABA, name and
// language) and returns it as stored. An empty WABAID means the first
// number's WABA.
func (s *Server) PutTemplate(t Template) (Template, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.WABAID == "" {
		t.WABAID = s.numbers[s.order[0]].WABAID
	}
	stored, err := s.putTemplateLocked(t)
	if err != nil {
		return Template{}, err
	}
	return stored[0], nil
}

// putTemplateLocked validates and stores t (on every WABA when WABAID is
// empty). s.mu is held.
func (s *Server) putTemplateLocked(t Template) ([]Template, error) {
	if !templateNameRe.MatchString(t.Name) {
		return nil, fmt.Errorf("whatsapp sandbox: template name %q: use lowercase letters, digits and _", t.Name)
	}
	if t.Language == "" {
		return nil, fmt.Errorf("whatsapp sandbox: template %s: language is required", t.Name)
	}
	t.Status = strings.ToUpper(cmpOr(t.Status, "APPROVED"))
	t.Category = strings.ToUpper(cmpOr(t.Category, "UTILITY"))
	t.ParameterFormat = strings.ToUpper(cmpOr(t.ParameterFormat, "POSITIONAL"))
	if t.ParameterFormat != "POSITIONAL" && t.ParameterFormat != "NAMED" {
		return nil, fmt.Errorf("whatsapp sandbox: template %s: parameter_format must be POSITIONAL or NAMED", t.Name)
	}
	t.Components = slices.Clone(t.Components)
	for i := range t.Components {
		c := &t.Components[i]
		c.Type = strings.ToUpper(c.Type)
		c.Format = strings.ToUpper(c.Format)
		if !slices.Contains([]string{"HEADER", "BODY", "FOOTER", "BUTTONS"}, c.Type) {
			return nil, fmt.Errorf("whatsapp sandbox: template %s: unknown component type %q", t.Name, c.Type)
		}
		if c.Type == "HEADER" && c.Format == "" {
			c.Format = "TEXT"
		}
		for _, p := range placeholders(c.Text) {
			_, err := strconv.Atoi(p)
			fits := (t.ParameterFormat == "POSITIONAL" && err == nil) || (t.ParameterFormat == "NAMED" && namedParamRe.MatchString(p))
			if !fits {
				return nil, fmt.Errorf("whatsapp sandbox: template %s: placeholder {{%s}} does not fit parameter_format %s", t.Name, p, t.ParameterFormat)
			}
		}
		c.Buttons = slices.Clone(c.Buttons)
		for j := range c.Buttons {
			c.Buttons[j].Type = strings.ToUpper(c.Buttons[j].Type)
		}
	}
	wabas := []string{t.WABAID}
	if t.WABAID == "" {
		wabas = nil
		for _, id := range s.order {
			if w := s.numbers[id].WABAID; !slices.Contains(wabas, w) {
				wabas = append(wabas, w)
			}
		}
	} else if !s.knownWABALocked(t.WABAID) {
		return nil, fmt.Errorf("whatsapp sandbox: unknown waba_id %q", t.WABAID)
	}
	var out []Template
	for _, w := range wabas {
		c := t
		c.WABAID = w
		if old := s.findTemplateLocked(w, t.Name, t.Language); old != nil {
			c.ID = old.ID
			*old = c
		} else {
			if t.WABAID == "" || c.ID == "" {
				c.ID = s.newID()
			}
			s.templates = append(s.templates, &c)
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Server) knownWABALocked(id string) bool {
	for _, n := range s.numbers {
		if n.WABAID == id {
			return true
		}
	}
	return false
}

func (s *Server) findTemplateLocked(waba, name, lang string) *Template {
	for _, t := range s.templates {
		if t.WABAID == waba && t.Name == name && t.Language == lang {
			return t
		}
	}
	return nil
}

// Templates returns the templates of a WABA (all WABAs when wabaID is "").
func (s *Server) Templates(wabaID string) []Template {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Template
	for _, t := range s.templates {
		if wabaID == "" || t.WABAID == wabaID {
			out = append(out, *t)
		}
	}
	return out
}

// SetTemplateStatus changes a template's status and queues Meta's
// message_template_status_update webhook for it.
func (s *Server) SetTemplateStatus(p TemplateStatusParams) (Template, error) {
	s.mu.Lock()
	if p.WABAID == "" {
		p.WABAID = s.numbers[s.order[0]].WABAID
	}
	t := s.findTemplateLocked(p.WABAID, p.Name, p.Language)
	if t == nil {
		s.mu.Unlock()
		return Template{}, fmt.Errorf("whatsapp sandbox: no template %s (%s) on WABA %s", p.Name, p.Language, p.WABAID)
	}
	if p.Status == "" {
		s.mu.Unlock()
		return Template{}, fmt.Errorf("whatsapp sandbox: template %s: status is required", p.Name)
	}
	t.Status = strings.ToUpper(p.Status)
	out := *t
	s.mu.Unlock()

	id, _ := strconv.ParseInt(out.ID, 10, 64)
	v := templateStatusValue{
		Event: out.Status, MessageTemplateID: id, MessageTemplateName: out.Name,
		MessageTemplateLanguage: out.Language, Reason: cmpOr(p.Reason, "NONE"),
		MessageTemplateCategory: out.Category,
	}
	if out.Status == "PAUSED" {
		v.OtherInfo = &struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		}{"FIRST_PAUSE", "Your template has been paused for 3 hours because of low quality."}
	}
	body, err := marshalMeta(envelope{
		Object: "whatsapp_business_account",
		Entry: []entry{{ID: out.WABAID, Time: s.clock.Now().Unix(),
			Changes: []change{{Value: v, Field: "message_template_status_update"}}}},
	})
	if err != nil {
		return out, fmt.Errorf("whatsapp sandbox: template status webhook: %w", err)
	}
	s.em.enqueue("template_status", body)
	return out, nil
}

// templateFields are the fields of a template in the list answer.
var templateFields = []string{"name", "parameter_format", "components", "language", "status", "category", "id"}

// handleTemplateList answers GET /{version}/{waba-id}/message_templates.
func (s *Server) handleTemplateList(w http.ResponseWriter, r *http.Request, wabaID string) {
	q := r.URL.Query()
	limit := 25
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			writeError(w, errInvalid("limit must be a positive integer"))
			return
		}
		limit = min(n, 1000)
	}
	fields := templateFields
	if f := q.Get("fields"); f != "" {
		fields = []string{"id"}
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" && !slices.Contains(fields, name) {
				if !slices.Contains(templateFields, name) {
					writeError(w, errUnknownField(name, "WhatsAppMessageTemplate"))
					return
				}
				fields = append(fields, name)
			}
		}
	}
	s.mu.Lock()
	known := s.knownWABALocked(wabaID)
	var list []Template
	for _, t := range s.templates {
		if t.WABAID != wabaID {
			continue
		}
		if name := q.Get("name"); name != "" && !strings.Contains(t.Name, strings.ToLower(name)) {
			continue
		}
		if st := q.Get("status"); st != "" && !strings.EqualFold(st, t.Status) {
			continue
		}
		if lang := q.Get("language"); lang != "" && lang != t.Language {
			continue
		}
		list = append(list, *t)
	}
	s.mu.Unlock()
	if !known {
		writeError(w, errNoObject("get", wabaID))
		return
	}
	start := 0
	if c := q.Get("after"); c != "" {
		i, ok := decodeCursor(c, list)
		if !ok {
			writeError(w, errInvalid("after: invalid cursor"))
			return
		}
		start = i + 1
	} else if c := q.Get("before"); c != "" {
		i, ok := decodeCursor(c, list)
		if !ok {
			writeError(w, errInvalid("before: invalid cursor"))
			return
		}
		start = max(0, i-limit)
	}
	end := min(len(list), start+limit)
	data := make([]map[string]any, 0, end-start)
	for _, t := range list[start:end] {
		all := map[string]any{
			"name": t.Name, "parameter_format": t.ParameterFormat, "components": t.Components,
			"language": t.Language, "status": t.Status, "category": t.Category, "id": t.ID,
		}
		m := make(map[string]any, len(fields))
		for _, f := range fields {
			m[f] = all[f]
		}
		data = append(data, m)
	}
	out := map[string]any{"data": data}
	if end > start {
		paging := map[string]any{"cursors": map[string]string{
			"before": encodeCursor(list[start].ID), "after": encodeCursor(list[end-1].ID),
		}}
		if end < len(list) {
			paging["next"] = s.pageURL(r, "after", encodeCursor(list[end-1].ID))
		}
		if start > 0 {
			paging["previous"] = s.pageURL(r, "before", encodeCursor(list[start].ID))
		}
		out["paging"] = paging
	}
	writeJSON(w, http.StatusOK, out)
}

// pageURL is the request URL with after/before replaced by cursor.
func (s *Server) pageURL(r *http.Request, key, cursor string) string {
	q := r.URL.Query()
	q.Del("after")
	q.Del("before")
	q.Del("access_token")
	q.Set(key, cursor)
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return s.externalBase(r) + u.String()
}

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// decodeCursor finds the position in list of the template a cursor names.
func decodeCursor(c string, list []Template) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	for i, t := range list {
		if t.ID == string(b) {
			return i, true
		}
	}
	return 0, false
}

// DefaultTemplates returns a few realistic approved templates for the
// sandbox: hello_world (no parameters), reengage (en_US, one positional body
// parameter), order_update (en_US, image header, text + currency + date_time
// body parameters, a quick-reply button) and welcome_named (es_ES, NAMED).
func DefaultTemplates() []Template {
	return []Template{
		{Name: "hello_world", Language: "en_US", Category: "UTILITY", Components: []TemplateComponent{
			{Type: "HEADER", Format: "TEXT", Text: "Hello World"},
			{Type: "BODY", Text: "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification."},
			{Type: "FOOTER", Text: "WhatsApp Business Platform sample message"},
		}},
		{Name: "reengage", Language: "en_US", Category: "UTILITY", Components: []TemplateComponent{
			{Type: "BODY", Text: "Hi {{1}}, we have an update on your support request. Reply to this message to continue the conversation.",
				Example: json.RawMessage(`{"body_text":[["Ana"]]}`)},
		}},
		{Name: "order_update", Language: "en_US", Category: "UTILITY", Components: []TemplateComponent{
			{Type: "HEADER", Format: "IMAGE", Example: json.RawMessage(`{"header_handle":["https://example.com/order.jpg"]}`)},
			{Type: "BODY", Text: "Hi {{1}}, your order total is {{2}} and it will arrive on {{3}}.",
				Example: json.RawMessage(`{"body_text":[["Ana","$100.99","February 25, 2026"]]}`)},
			{Type: "FOOTER", Text: "Reply STOP to opt out"},
			{Type: "BUTTONS", Buttons: []TemplateButton{{Type: "QUICK_REPLY", Text: "Talk to support"}}},
		}},
		{Name: "welcome_named", Language: "es_ES", Category: "MARKETING", ParameterFormat: "NAMED", Components: []TemplateComponent{
			{Type: "BODY", Text: "Hola {{first_name}}, gracias por escribirnos. ¿En qué podemos ayudarte?",
				Example: json.RawMessage(`{"body_text_named_params":[{"param_name":"first_name","example":"Ana"}]}`)},
		}},
	}
}
