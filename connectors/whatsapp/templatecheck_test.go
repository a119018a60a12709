package whatsapp

import (
	"testing"

	"github.com/deskbridge/deskbridge/connectors"
)

// Templates of the check tests.
var (
	posTemplate = Template{Name: "order_update", Language: "en_US", Status: "APPROVED", ParameterFormat: "POSITIONAL",
		Components: []TemplateComponent{
			{Type: "HEADER", Format: "TEXT", Text: "Order {{1}}"},
			{Type: "BODY", Text: "Hi {{1}}, order {{2}} ships {{3}}. Thanks {{1}}!"},
			{Type: "FOOTER", Text: "Shop"},
			{Type: "BUTTONS", Buttons: []TemplateButton{{Type: "QUICK_REPLY", Text: "Stop"},
				{Type: "URL", Text: "Track", URL: "https://shop.test/o/{{1}}"},
				{Type: "URL", Text: "Help", URL: "https://shop.test/help"}, {Type: "PHONE_NUMBER", Text: "Call", PhoneNumber: "+15550001111"}}},
		}}
	namedTemplate = Template{Name: "welcome", Language: "pt_BR", Status: "APPROVED", ParameterFormat: "NAMED",
		Components: []TemplateComponent{
			{Type: "HEADER", Format: "IMAGE"},
			{Type: "BODY", Text: "Oi {{first_name}}, pedido {{order_id}}"},
		}}
	legacyNamed = Template{Name: "legacy", Language: "en", Status: "approved",
		Components: []TemplateComponent{{Type: "BODY", Text: "Hi {{name}}"}}}
	staticTemplate = Template{Name: "hello_world", Language: "en_US", Status: "APPROVED",
		Components: []TemplateComponent{{Type: "HEADER", Format: "TEXT", Text: "Hello World"}, {Type: "BODY", Text: "Welcome!"}}}
	noHeader = Template{Name: "plain", Language: "en_US", Status: "APPROVED", Components: []TemplateComponent{{Type: "BODY", Text: "Hi"}}}
)

func withStatus(t Template, s string) Template { t.Status = s; return t }
func withHeader(t Template, c TemplateComponent) Template {
	t.Components = append([]TemplateComponent{c}, t.Components[1:]...)
	return t
}

func posParams(mut func(*TemplateParams)) *TemplateParams {
	p := &TemplateParams{Name: "order_update", Language: "en-US", Header: new(TextParam("A-1")),
		Body:    []TemplateParam{TextParam("Ana"), TextParam("A-1"), DateTimeParam("today")},
		Buttons: []ButtonParam{URLButtonParam(1, "A-1"), QuickReplyParam(0, "stop")}}
	if mut != nil {
		mut(p)
	}
	return p
}

func namedParams(mut func(*TemplateParams)) *TemplateParams {
	p := &TemplateParams{Name: "welcome", Language: "pt_BR", Header: new(ImageParam(MediaParams{ID: "1"})),
		Body: []TemplateParam{TextParam("Ana").Named("first_name"), TextParam("42").Named("order_id")}}
	if mut != nil {
		mut(p)
	}
	return p
}

func TestCheckTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    Template
		p    *TemplateParams
		want string // the exact message; "" = fits
	}{
		{"positional fits", posTemplate, posParams(nil), ""},
		{"named fits", namedTemplate, namedParams(nil), ""},
		{"named in any order", namedTemplate, namedParams(func(p *TemplateParams) { p.Body[0], p.Body[1] = p.Body[1], p.Body[0] }), ""},
		{"static template without parameters", staticTemplate, &TemplateParams{Name: "hello_world", Language: "en_US"}, ""},
		{"format inferred as named", legacyNamed, &TemplateParams{Name: "legacy", Language: "en", Body: []TemplateParam{TextParam("x").Named("name")}}, ""},
		{"no parameters", posTemplate, nil, `template "order_update" (en_US): no parameters given`},
		{"other template", posTemplate, posParams(func(p *TemplateParams) { p.Name = "other" }),
			`template "order_update" (en_US): the parameters are for template "other"`},
		{"other language", posTemplate, posParams(func(p *TemplateParams) { p.Language = "pt-br" }),
			`template "order_update" (en_US): not available in pt_BR`},
		{"not approved", withStatus(posTemplate, "PAUSED"), posParams(nil),
			`template "order_update" (en_US): status is PAUSED; only APPROVED templates can be sent`},
		{"pending", withStatus(posTemplate, ""), posParams(nil),
			`template "order_update" (en_US): status is unknown; only APPROVED templates can be sent`},
		{"body too few", posTemplate, posParams(func(p *TemplateParams) { p.Body = p.Body[:2] }),
			`template "order_update" (en_US): body expects 3 parameters, got 2`},
		{"body too many", posTemplate, posParams(func(p *TemplateParams) { p.Body = append(p.Body, TextParam("x")) }),
			`template "order_update" (en_US): body expects 3 parameters, got 4`},
		{"positional given names", posTemplate, posParams(func(p *TemplateParams) { p.Body[1] = p.Body[1].Named("order") }),
			`template "order_update" (en_US): the template's parameters are positional, but body parameter 2 has parameter_name "order"`},
		{"named given positions", namedTemplate, namedParams(func(p *TemplateParams) { p.Body[0].Name = "" }),
			`template "welcome" (pt_BR): the template's parameters are named, but body parameter 1 has no parameter_name`},
		{"named missing", namedTemplate, namedParams(func(p *TemplateParams) { p.Body = p.Body[:1] }),
			`template "welcome" (pt_BR): body expects 2 parameters, got 1: missing {{order_id}}`},
		{"named unknown", namedTemplate, namedParams(func(p *TemplateParams) { p.Body = append(p.Body, TextParam("x").Named("city")) }),
			`template "welcome" (pt_BR): body has no variable named city`},
		{"named wrong name", namedTemplate, namedParams(func(p *TemplateParams) { p.Body[1] = p.Body[1].Named("order") }),
			`template "welcome" (pt_BR): body expects 2 parameters, got 2: missing {{order_id}}; unknown order`},
		{"named twice", namedTemplate, namedParams(func(p *TemplateParams) { p.Body[1] = p.Body[1].Named("first_name") }),
			`template "welcome" (pt_BR): body parameter "first_name" is given twice`},
		{"text header missing", posTemplate, posParams(func(p *TemplateParams) { p.Header = nil }),
			`template "order_update" (en_US): header expects a text parameter for {{1}}, got none`},
		{"text header given media", posTemplate, posParams(func(p *TemplateParams) { p.Header = new(ImageParam(MediaParams{ID: "1"})) }),
			`template "order_update" (en_US): header expects a text parameter, got image`},
		{"static header given a parameter", staticTemplate, &TemplateParams{Name: "hello_world", Language: "en_US", Header: new(TextParam("x"))},
			`template "hello_world" (en_US): the header has no variable, but a header parameter was given`},
		{"no header given a parameter", noHeader, &TemplateParams{Name: "plain", Language: "en_US", Header: new(TextParam("x"))},
			`template "plain" (en_US): the template has no header, but a header parameter was given`},
		{"image header missing", namedTemplate, namedParams(func(p *TemplateParams) { p.Header = nil }),
			`template "welcome" (pt_BR): header expects an image parameter, got none`},
		{"image header given video", namedTemplate, namedParams(func(p *TemplateParams) { p.Header = new(VideoParam(MediaParams{ID: "1"})) }),
			`template "welcome" (pt_BR): header expects an image parameter, got video`},
		{"document header given image", withHeader(namedTemplate, TemplateComponent{Type: "HEADER", Format: "DOCUMENT"}), namedParams(nil),
			`template "welcome" (pt_BR): header expects a document parameter, got image`},
		{"location header", withHeader(namedTemplate, TemplateComponent{Type: "HEADER", Format: "LOCATION"}), namedParams(nil),
			`template "welcome" (pt_BR): header format LOCATION is not supported by deskbridge`},
		{"named header variable", withHeader(namedTemplate, TemplateComponent{Type: "HEADER", Format: "TEXT", Text: "Order {{order_id}}"}),
			namedParams(func(p *TemplateParams) { p.Header = new(TextParam("42").Named("order")) }),
			`template "welcome" (pt_BR): header expects 1 parameter, got 1: missing {{order_id}}; unknown order`},
		{"dynamic URL button missing", posTemplate, posParams(func(p *TemplateParams) { p.Buttons = p.Buttons[1:] }),
			`template "order_update" (en_US): URL button 1 (https://shop.test/o/{{1}}) expects a text parameter for its URL, got none`},
		{"fixed URL button given a parameter", posTemplate, posParams(func(p *TemplateParams) { p.Buttons = append(p.Buttons, URLButtonParam(2, "x")) }),
			`template "order_update" (en_US): URL button 2 has a fixed URL and takes no parameter`},
		{"payload on a URL button", posTemplate, posParams(func(p *TemplateParams) { p.Buttons[1] = QuickReplyParam(1, "x") }),
			`template "order_update" (en_US): button 1 is a URL button, not a quick reply`},
		{"URL text on a quick reply", posTemplate, posParams(func(p *TemplateParams) { p.Buttons[1] = URLButtonParam(0, "x") }),
			`template "order_update" (en_US): button 0 is a QUICK_REPLY button, not a URL button`},
		{"payload on a phone button", posTemplate, posParams(func(p *TemplateParams) { p.Buttons = append(p.Buttons, QuickReplyParam(3, "x")) }),
			`template "order_update" (en_US): button 3 is a PHONE_NUMBER button, not a quick reply`},
		{"no such button", posTemplate, posParams(func(p *TemplateParams) { p.Buttons = append(p.Buttons, QuickReplyParam(5, "x")) }),
			`template "order_update" (en_US): has no button at index 5 (it has 4 buttons)`},
		{"button on a template without buttons", noHeader, &TemplateParams{Name: "plain", Language: "en_US", Buttons: []ButtonParam{QuickReplyParam(0, "x")}},
			`template "plain" (en_US): has no button at index 0 (it has 0 buttons)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckTemplate(tc.t, tc.p)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckTemplate: %v", err)
				}
				return
			}
			ce := asConnErr(t, err)
			if ce.Kind != connectors.Permanent || ce.Code != "" || ce.Message != tc.want {
				t.Errorf("CheckTemplate = %q (kind %s, code %q)\nwant %q", ce.Message, ce.Kind, ce.Code, tc.want)
			}
		})
	}
}

// TestTemplateMismatchMakesNoRequest sends every mismatch through a client
// whose cache holds the templates: none reaches the transport.
func TestTemplateMismatchMakesNoRequest(t *testing.T) {
	t.Parallel()
	lister := &fakeLister{ts: []Template{posTemplate, namedTemplate, withStatus(staticTemplate, "REJECTED")}}
	b := setup(t, func(c *Config) { c.Templates = NewTemplateCache(lister, nil, 0, nil) })
	b.mock.RegisterResponder("POST", apiPrefix+"/"+testPhoneID+"/messages", b.rec.respond(200, `{"messages":[{"id":"w"}]}`))
	for _, p := range []*TemplateParams{
		posParams(func(p *TemplateParams) { p.Body = p.Body[:1] }),
		posParams(func(p *TemplateParams) { p.Header = nil }),
		posParams(func(p *TemplateParams) { p.Buttons = nil }),
		namedParams(func(p *TemplateParams) { p.Body[0].Name = "" }),
		namedParams(func(p *TemplateParams) { p.Header = nil }),
		{Name: "hello_world", Language: "en_US"},
		{Name: "order_update", Language: "de"},
	} {
		if _, err := b.client.Send(t.Context(), TemplateMessage(testTo, p)); connectors.KindOf(err) != connectors.Permanent {
			t.Errorf("Send(%+v) err = %v, want Permanent", p, err)
		}
	}
	if n := b.mock.GetTotalCallCount(); n != 0 {
		t.Fatalf("%d requests reached Meta", n)
	}
}
