package whatsapp

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// templatePayload is the "template" object of a send.
type templatePayload struct {
	Name     string `json:"name"`
	Language *struct {
		Code   string `json:"code"`
		Policy string `json:"policy"`
	} `json:"language"`
	Components []templateSendComponent `json:"components"`
}

type templateSendComponent struct {
	Type       string          `json:"type"`
	SubType    string          `json:"sub_type"`
	Index      json.RawMessage `json:"index"`
	Parameters []templateParam `json:"parameters"`
}

type templateParam struct {
	Type          string  `json:"type"`
	ParameterName string  `json:"parameter_name"`
	Text          *string `json:"text"`
	Payload       *string `json:"payload"`
	Currency      *struct {
		FallbackValue string `json:"fallback_value"`
		Code          string `json:"code"`
		Amount1000    *int64 `json:"amount_1000"`
	} `json:"currency"`
	DateTime *struct {
		FallbackValue string `json:"fallback_value"`
	} `json:"date_time"`
	Image    json.RawMessage `json:"image"`
	Video    json.RawMessage `json:"video"`
	Document json.RawMessage `json:"document"`
	Location json.RawMessage `json:"location"`
}

// media returns the media object of a media parameter.
func (p *templateParam) media() json.RawMessage {
	switch p.Type {
	case "image":
		return p.Image
	case "video":
		return p.Video
	case "document":
		return p.Document
	}
	return nil
}

// checkTemplate validates a template send against the WABA's registry:
// 132001 unknown or not approved, 132015 paused, 132016 disabled, 132000
// parameter count mismatch, 132012 parameter format mismatch.
func (s *Server) checkTemplate(n *numberState, raw json.RawMessage) (*Template, *apiError) {
	var p templatePayload
	if e := decodeParam("template", raw, &p); e != nil {
		return nil, e
	}
	switch {
	case p.Name == "":
		return nil, errMissing("template.name is required")
	case p.Language == nil || p.Language.Code == "":
		return nil, errMissing("template.language.code is required")
	case p.Language.Policy != "" && p.Language.Policy != "deterministic":
		return nil, errInvalid("template.language.policy must be \"deterministic\"")
	}
	s.mu.Lock()
	found := s.findTemplateLocked(n.WABAID, p.Name, p.Language.Code)
	var t Template
	if found != nil {
		t = *found
	}
	s.mu.Unlock()
	switch {
	case found == nil:
		return nil, waError(132001, "template name (%s) does not exist in %s", p.Name, p.Language.Code)
	case t.Status == "PAUSED":
		return nil, waError(132015, "template %s (%s) is paused because of low quality", t.Name, t.Language)
	case t.Status == "DISABLED":
		return nil, waError(132016, "template %s (%s) has been disabled", t.Name, t.Language)
	case t.Status != "APPROVED":
		return nil, waError(132001, "template name (%s) in %s is not approved (status %s)", t.Name, t.Language, t.Status)
	}

	var header, body *templateSendComponent
	buttons := map[int]*templateSendComponent{}
	for i := range p.Components {
		c := &p.Components[i]
		switch strings.ToLower(c.Type) {
		case "header", "body":
			slot := &header
			if strings.EqualFold(c.Type, "body") {
				slot = &body
			}
			if *slot != nil {
				return nil, errValue("template.components: more than one %s component", strings.ToLower(c.Type))
			}
			*slot = c
		case "button":
			idx, ok := parseIndex(c.Index)
			if len(c.Index) == 0 {
				return nil, errMissing("template.components[%d].index is required for a button", i)
			}
			if !ok {
				return nil, errValue("template.components[%d].index: %s is not a button index", i, c.Index)
			}
			if buttons[idx] != nil {
				return nil, errValue("template.components: more than one button component with index %d", idx)
			}
			buttons[idx] = c
		case "":
			return nil, errMissing("template.components[%d].type is required", i)
		default:
			return nil, errInvalid("template.components[%d].type: unsupported component type %q", i, c.Type)
		}
	}

	var th, tb *TemplateComponent
	var tbuttons []TemplateButton
	for i := range t.Components {
		switch c := &t.Components[i]; c.Type {
		case "HEADER":
			th = c
		case "BODY":
			tb = c
		case "BUTTONS":
			tbuttons = c.Buttons
		}
	}
	if e := s.checkHeader(n, &t, th, params(header)); e != nil {
		return nil, e
	}
	var bodyVars []string
	if tb != nil {
		bodyVars = placeholders(tb.Text)
	}
	if e := checkTextParams(&t, "body", bodyVars, params(body), []string{"text", "currency", "date_time"}); e != nil {
		return nil, e
	}
	if e := checkButtonParams(tbuttons, buttons); e != nil {
		return nil, e
	}
	return &t, nil
}

func params(c *templateSendComponent) []templateParam {
	if c == nil {
		return nil
	}
	return c.Parameters
}

// parseIndex reads a button index given as a string or a number.
func parseIndex(raw json.RawMessage) (int, bool) {
	s := strings.Trim(string(raw), `"`)
	i, err := strconv.Atoi(s)
	return i, err == nil && i >= 0 && i < 10
}

func countMismatch(comp string, got, want int) *apiError {
	return waError(132000, "%s: number of localizable_params (%d) does not match the expected number of params (%d)", comp, got, want)
}

func formatMismatch(comp, want, got string) *apiError {
	return waError(132012, "%s: Format mismatch, expected %s, received %s", comp, want, strings.ToUpper(cmpOr(got, "UNKNOWN")))
}

// checkHeader validates header parameters against the template's header.
func (s *Server) checkHeader(n *numberState, t *Template, th *TemplateComponent, got []templateParam) *apiError {
	if th == nil {
		if len(got) > 0 {
			return countMismatch("header", len(got), 0)
		}
		return nil
	}
	if th.Format == "TEXT" {
		return checkTextParams(t, "header", placeholders(th.Text), got, []string{"text"})
	}
	if len(got) != 1 {
		return countMismatch("header", len(got), 1)
	}
	p := got[0]
	if strings.ToUpper(p.Type) != th.Format {
		return formatMismatch("header", th.Format, p.Type)
	}
	if th.Format == "LOCATION" {
		if len(p.Location) == 0 {
			return errMissing("header: location is required")
		}
		return checkLocation(p.Location)
	}
	m := p.media()
	if len(m) == 0 {
		return errMissing("header: %s is required", p.Type)
	}
	return s.checkMedia(n, "header."+p.Type, m)
}

// checkTextParams validates the parameters of a header or body with
// placeholders vars: count, allowed types, NAMED vs POSITIONAL, content.
func checkTextParams(t *Template, comp string, vars []string, got []templateParam, types []string) *apiError {
	if len(got) != len(vars) {
		return countMismatch(comp, len(got), len(vars))
	}
	seen := map[string]bool{}
	for i, p := range got {
		pp := fmt.Sprintf("%s.parameters[%d]", comp, i)
		if !slices.Contains(types, p.Type) {
			return formatMismatch(comp, "TEXT", p.Type)
		}
		if t.ParameterFormat == "NAMED" {
			switch {
			case p.ParameterName == "":
				return waError(132012, "%s: parameter_name is required on every parameter of a NAMED template", pp)
			case !slices.Contains(vars, p.ParameterName):
				return waError(132012, "%s: parameter_name %q is not a parameter of template %s", pp, p.ParameterName, t.Name)
			case seen[p.ParameterName]:
				return errValue("%s: parameter_name %q is given twice", pp, p.ParameterName)
			}
			seen[p.ParameterName] = true
		} else if p.ParameterName != "" {
			return waError(132012, "%s: parameter_name is only allowed for templates with NAMED parameters", pp)
		}
		switch p.Type {
		case "text":
			if p.Text == nil || *p.Text == "" {
				return errMissing("%s.text is required", pp)
			}
		case "currency":
			if c := p.Currency; c == nil || c.FallbackValue == "" || c.Code == "" || c.Amount1000 == nil {
				return errMissing("%s.currency needs fallback_value, code and amount_1000", pp)
			}
		case "date_time":
			if p.DateTime == nil || p.DateTime.FallbackValue == "" {
				return errMissing("%s.date_time.fallback_value is required", pp)
			}
		}
	}
	return nil
}

// checkButtonParams validates button components against the template's
// buttons: sub_type, parameter type and count.
func checkButtonParams(tbuttons []TemplateButton, got map[int]*templateSendComponent) *apiError {
	for _, idx := range slices.Sorted(maps.Keys(got)) {
		c := got[idx]
		comp := fmt.Sprintf("button at index %d", idx)
		if idx >= len(tbuttons) {
			return errValue("%s: the template has no button with this index", comp)
		}
		tbtn := tbuttons[idx]
		if c.SubType == "" {
			return errMissing("%s: sub_type is required", comp)
		}
		if strings.ToUpper(c.SubType) != tbtn.Type {
			return waError(132012, "%s: sub_type %s does not match the template's %s button", comp, c.SubType, tbtn.Type)
		}
	}
	for idx, tbtn := range tbuttons {
		comp := fmt.Sprintf("button at index %d", idx)
		c := got[idx]
		switch tbtn.Type {
		case "QUICK_REPLY":
			if c == nil {
				continue
			}
			if len(c.Parameters) != 1 {
				return countMismatch(comp, len(c.Parameters), 1)
			}
			if p := c.Parameters[0]; p.Type != "payload" {
				return formatMismatch(comp, "PAYLOAD", p.Type)
			} else if p.Payload == nil {
				return errMissing("%s: payload is required", comp)
			}
		case "URL":
			want := len(placeholders(tbtn.URL))
			if c == nil {
				if want > 0 {
					return countMismatch(comp, 0, want)
				}
				continue
			}
			if len(c.Parameters) != want {
				return countMismatch(comp, len(c.Parameters), want)
			}
			for _, p := range c.Parameters {
				if p.Type != "text" {
					return formatMismatch(comp, "TEXT", p.Type)
				}
				if p.Text == nil || *p.Text == "" {
					return errMissing("%s: text is required", comp)
				}
			}
		}
	}
	return nil
}
