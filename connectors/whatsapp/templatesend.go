package whatsapp

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// TemplateParams selects an approved template and fills its variables.
type TemplateParams struct {
	// Name is the template's name, e.g. "order_update".
	Name string
	// Language is its language code, e.g. "en_US" ("en-US" is normalised).
	Language string
	// Header fills the header's variable: a text parameter for a TEXT
	// header with {{1}} (or {{name}}), a media parameter for an IMAGE,
	// VIDEO or DOCUMENT header. Nil when the header has no variable.
	Header *TemplateParam
	// Body fills the body's variables: in order ({{1}}, {{2}}, …) for a
	// POSITIONAL template, by name (TemplateParam.Name) for a NAMED one.
	Body []TemplateParam
	// Buttons fills button variables: a quick reply's payload or the
	// suffix of a dynamic URL button, by the button's index.
	Buttons []ButtonParam
}

// Parameter types of a TemplateParam.
const (
	ParamText     = "text"
	ParamCurrency = "currency"
	ParamDateTime = "date_time"
	ParamImage    = "image"
	ParamVideo    = "video"
	ParamDocument = "document"
)

// TemplateParam is one header or body parameter. Build it with TextParam,
// CurrencyParam, DateTimeParam, ImageParam, VideoParam or DocumentParam,
// and add .Named("first_name") for templates with NAMED parameters.
type TemplateParam struct {
	Type     string // one of the Param* constants
	Name     string // parameter_name, for NAMED templates
	Text     string
	Currency *Currency
	DateTime *DateTime
	Media    *MediaParams // image, video, document (id or link; filename for documents)
}

// Currency is a currency parameter: FallbackValue is shown as is;
// Amount1000 is the amount times 1000 in the ISO 4217 Code.
type Currency struct {
	FallbackValue string
	Code          string
	Amount1000    int64
}

// DateTime is a date_time parameter. The Cloud API always shows
// FallbackValue; the other fields are optional and sent only when set.
type DateTime struct {
	FallbackValue string
	DayOfWeek     int // 1 (Monday) … 7
	Year          int
	Month         int
	DayOfMonth    int
	Hour          int
	Minute        int
	Calendar      string // "GREGORIAN" or "SOLAR_HIJRI"
}

// ButtonParam fills the variable of one template button.
type ButtonParam struct {
	SubType string // "quick_reply" or "url"
	Index   int    // the button's position in the template, 0–9
	Payload string // quick_reply: returned in the button webhook
	Text    string // url: appended to the template's URL
}

// TextParam is a text parameter.
func TextParam(text string) TemplateParam { return TemplateParam{Type: ParamText, Text: text} }

// CurrencyParam is a currency parameter.
func CurrencyParam(fallback, code string, amount1000 int64) TemplateParam {
	return TemplateParam{Type: ParamCurrency, Currency: &Currency{FallbackValue: fallback, Code: code, Amount1000: amount1000}}
}

// DateTimeParam is a date_time parameter shown as fallback.
func DateTimeParam(fallback string) TemplateParam {
	return TemplateParam{Type: ParamDateTime, DateTime: &DateTime{FallbackValue: fallback}}
}

// ImageParam is an image header parameter.
func ImageParam(m MediaParams) TemplateParam { return TemplateParam{Type: ParamImage, Media: &m} }

// VideoParam is a video header parameter.
func VideoParam(m MediaParams) TemplateParam { return TemplateParam{Type: ParamVideo, Media: &m} }

// DocumentParam is a document header parameter.
func DocumentParam(m MediaParams) TemplateParam { return TemplateParam{Type: ParamDocument, Media: &m} }

// Named returns a copy of p with parameter_name set, for NAMED templates.
func (p TemplateParam) Named(name string) TemplateParam { p.Name = name; return p }

// QuickReplyParam sets the payload of the quick-reply button at index.
func QuickReplyParam(index int, payload string) ButtonParam {
	return ButtonParam{SubType: "quick_reply", Index: index, Payload: payload}
}

// URLButtonParam sets the variable suffix of the URL button at index.
func URLButtonParam(index int, text string) ButtonParam {
	return ButtonParam{SubType: "url", Index: index, Text: text}
}

// Wire structs of the template object.

type outTemplate struct {
	Name       string         `json:"name"`
	Language   outLanguage    `json:"language"`
	Components []outComponent `json:"components,omitempty"`
}

type outLanguage struct {
	Policy string `json:"policy"`
	Code   string `json:"code"`
}

type outComponent struct {
	Type       string     `json:"type"`
	SubType    string     `json:"sub_type,omitempty"`
	Index      string     `json:"index,omitempty"`
	Parameters []outParam `json:"parameters"`
}

type outParam struct {
	Type          string       `json:"type"`
	ParameterName string       `json:"parameter_name,omitempty"`
	Text          string       `json:"text,omitempty"`
	Payload       string       `json:"payload,omitempty"`
	Currency      *outCurrency `json:"currency,omitempty"`
	DateTime      *outDateTime `json:"date_time,omitempty"`
	Image         *outMedia    `json:"image,omitempty"`
	Video         *outMedia    `json:"video,omitempty"`
	Document      *outMedia    `json:"document,omitempty"`
}

type outCurrency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

type outDateTime struct {
	FallbackValue string `json:"fallback_value"`
	DayOfWeek     int    `json:"day_of_week,omitempty"`
	Year          int    `json:"year,omitempty"`
	Month         int    `json:"month,omitempty"`
	DayOfMonth    int    `json:"day_of_month,omitempty"`
	Hour          int    `json:"hour,omitempty"`
	Minute        int    `json:"minute,omitempty"`
	Calendar      string `json:"calendar,omitempty"`
}

// Template parameter limits.
const (
	maxTemplateName  = 512
	maxParamText     = 32768 // body text parameter (OAS TextParameter)
	maxHeaderParam   = 60    // header text parameter
	maxButtonPayload = 1000
	maxURLSuffix     = 2000
)

var (
	paramNameRE = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	currencyRE  = regexp.MustCompile(`^[A-Z]{3}$`)
	languageRE  = regexp.MustCompile(`^[A-Za-z0-9_]{2,32}$`)
)

// NormalizeLanguage returns Meta's form of a template language code:
// "en-US" and "en_us" become "en_US"; "pt_BR" and "en" are unchanged.
func NormalizeLanguage(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "-", "_")
	lang, region, ok := strings.Cut(s, "_")
	if !ok {
		return s
	}
	if len(lang) >= 2 && len(lang) <= 3 && len(region) == 2 && isLetters(lang) && isLetters(region) {
		return strings.ToLower(lang) + "_" + strings.ToUpper(region)
	}
	return s
}

func isLetters(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// wire validates the parameters on their own (without the template) and
// returns the template object.
func (p *TemplateParams) wire() (*outTemplate, error) {
	if err := checkText(p.Name, 1, maxTemplateName); err != nil {
		return nil, errf("template.name: %v", err)
	}
	if strings.ContainsFunc(p.Name, unicode.IsSpace) {
		return nil, errf("template.name: %q contains spaces", p.Name)
	}
	lang := NormalizeLanguage(p.Language)
	if !languageRE.MatchString(lang) {
		return nil, errf("template.language: %q is not a language code like en_US", p.Language)
	}
	t := &outTemplate{Name: p.Name, Language: outLanguage{Policy: "deterministic", Code: lang}}
	if p.Header != nil {
		op, err := p.Header.wire("template.header.parameters[0]", true)
		if err != nil {
			return nil, err
		}
		t.Components = append(t.Components, outComponent{Type: "header", Parameters: []outParam{op}})
	}
	if len(p.Body) > 0 {
		c := outComponent{Type: "body"}
		for i := range p.Body {
			op, err := p.Body[i].wire(fmt.Sprintf("template.body.parameters[%d]", i), false)
			if err != nil {
				return nil, err
			}
			c.Parameters = append(c.Parameters, op)
		}
		t.Components = append(t.Components, c)
	}
	seen := map[int]bool{}
	for i, b := range p.Buttons {
		f := fmt.Sprintf("template.buttons[%d]", i)
		if b.Index < 0 || b.Index > 9 {
			return nil, errf("%s.index: %d; buttons are numbered 0 to 9", f, b.Index)
		}
		if seen[b.Index] {
			return nil, errf("%s.index: button %d is given twice", f, b.Index)
		}
		seen[b.Index] = true
		c := outComponent{Type: "button", SubType: b.SubType, Index: strconv.Itoa(b.Index)}
		switch b.SubType {
		case "quick_reply":
			if err := checkText(b.Payload, 1, maxButtonPayload); err != nil {
				return nil, errf("%s.payload: %v", f, err)
			}
			c.Parameters = []outParam{{Type: "payload", Payload: b.Payload}}
		case "url":
			if err := checkText(b.Text, 1, maxURLSuffix); err != nil {
				return nil, errf("%s.text: %v", f, err)
			}
			c.Parameters = []outParam{{Type: "text", Text: b.Text}}
		default:
			return nil, errf("%s.sub_type: %q; quick_reply or url", f, b.SubType)
		}
		t.Components = append(t.Components, c)
	}
	return t, nil
}

// wire validates one header or body parameter.
func (p *TemplateParam) wire(field string, header bool) (outParam, error) {
	out := outParam{Type: p.Type}
	if p.Name != "" {
		if !paramNameRE.MatchString(p.Name) {
			return out, errf("%s.parameter_name: %q must be lowercase letters, digits and underscores", field, p.Name)
		}
		out.ParameterName = p.Name
	}
	switch p.Type {
	case ParamText:
		limit := maxParamText
		if header {
			limit = maxHeaderParam
		}
		if err := checkText(p.Text, 1, limit); err != nil {
			return out, errf("%s.text: %v", field, err)
		}
		out.Text = p.Text
	case ParamCurrency:
		if header {
			return out, errf("%s: a header parameter is text, image, video or document", field)
		}
		if p.Currency == nil {
			return out, errf("%s.currency: is required", field)
		}
		if err := checkText(p.Currency.FallbackValue, 1, maxParamText); err != nil {
			return out, errf("%s.currency.fallback_value: %v", field, err)
		}
		if !currencyRE.MatchString(p.Currency.Code) {
			return out, errf("%s.currency.code: %q is not an ISO 4217 code like USD", field, p.Currency.Code)
		}
		out.Currency = &outCurrency{FallbackValue: p.Currency.FallbackValue, Code: p.Currency.Code,
			Amount1000: p.Currency.Amount1000}
	case ParamDateTime:
		if header {
			return out, errf("%s: a header parameter is text, image, video or document", field)
		}
		if p.DateTime == nil {
			return out, errf("%s.date_time: is required", field)
		}
		if err := checkText(p.DateTime.FallbackValue, 1, maxParamText); err != nil {
			return out, errf("%s.date_time.fallback_value: %v", field, err)
		}
		d := outDateTime(*p.DateTime)
		out.DateTime = &d
	case ParamImage, ParamVideo, ParamDocument:
		if !header {
			return out, errf("%s: %s parameters go in the header; body parameters are text, currency or date_time",
				field, p.Type)
		}
		if p.Media == nil {
			return out, errf("%s.%s: is required", field, p.Type)
		}
		if p.Media.Caption != "" {
			return out, errf("%s.%s.caption: template media carries no caption", field, p.Type)
		}
		m, err := p.Media.wire(field+"."+p.Type, false, p.Type == ParamDocument)
		if err != nil {
			return out, err
		}
		switch p.Type {
		case ParamImage:
			out.Image = m
		case ParamVideo:
			out.Video = m
		default:
			out.Document = m
		}
	default:
		return out, errf("%s.type: %q; one of text, currency, date_time, image, video, document", field, p.Type)
	}
	return out, nil
}
