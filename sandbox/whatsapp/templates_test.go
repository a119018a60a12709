package whatsapp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	wa "github.com/deskbridge/deskbridge/connectors/whatsapp"
)

// tpl is a template send body.
func tpl(name, lang string, components ...any) map[string]any {
	t := map[string]any{"name": name, "language": map[string]any{"code": lang}}
	if components != nil {
		t["components"] = components
	}
	return map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual",
		"to": customer, "type": "template", "template": t}
}

func comp(typ string, params ...any) map[string]any {
	return map[string]any{"type": typ, "parameters": params}
}

func textParam(s string) map[string]any { return map[string]any{"type": "text", "text": s} }

func named(name, s string) map[string]any {
	return map[string]any{"type": "text", "text": s, "parameter_name": name}
}

var (
	imageParam    = map[string]any{"type": "image", "image": map[string]any{"link": "https://x.test/order.jpg"}}
	currencyParam = map[string]any{"type": "currency", "currency": map[string]any{"fallback_value": "$100.99", "code": "USD", "amount_1000": 100990}}
	dateParam     = map[string]any{"type": "date_time", "date_time": map[string]any{"fallback_value": "February 25, 2026"}}
	quickReply    = map[string]any{"type": "button", "sub_type": "quick_reply", "index": "0",
		"parameters": []any{map[string]any{"type": "payload", "payload": "SUPPORT"}}}
)

func TestTemplateSend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tp := range []Template{
		{Name: "pending_one", Language: "en_US", Status: "PENDING", Components: []TemplateComponent{{Type: "BODY", Text: "Hi"}}},
		{Name: "paused_one", Language: "en_US", Status: "PAUSED", Components: []TemplateComponent{{Type: "BODY", Text: "Hi"}}},
		{Name: "disabled_one", Language: "en_US", Status: "DISABLED", Components: []TemplateComponent{{Type: "BODY", Text: "Hi"}}},
		{Name: "track", Language: "en_US", Components: []TemplateComponent{
			{Type: "HEADER", Format: "TEXT", Text: "Order {{1}}"},
			{Type: "BODY", Text: "Your parcel is on its way."},
			{Type: "BUTTONS", Buttons: []TemplateButton{{Type: "URL", Text: "Track", URL: "https://x.test/t/{{1}}"}}},
		}},
	} {
		if _, err := b.fake.PutTemplate(tp); err != nil {
			t.Fatal(err)
		}
	}
	orderBody := comp("body", textParam("Ana"), currencyParam, dateParam)
	tests := []struct {
		name     string
		body     map[string]any
		wantCode int // 0 = accepted
		wantText string
	}{
		{"positional", tpl("reengage", "en_US", comp("body", textParam("Ana"))), 0, ""},
		{"no parameters", tpl("hello_world", "en_US"), 0, ""},
		{"media header, currency and date, quick reply", tpl("order_update", "en_US", comp("header", imageParam), orderBody, quickReply), 0, ""},
		{"quick reply payload is optional", tpl("order_update", "en_US", comp("header", imageParam), orderBody), 0, ""},
		{"named", tpl("welcome_named", "es_ES", comp("body", named("first_name", "Ana"))), 0, ""},
		{"text header and URL button", tpl("track", "en_US", comp("header", textParam("A-1")),
			map[string]any{"type": "button", "sub_type": "url", "index": 0, "parameters": []any{textParam("A-1")}}), 0, ""},
		{"unknown name", tpl("nope", "en_US"), 132001, "template name (nope) does not exist in en_US"},
		{"unknown language", tpl("reengage", "pt_BR", comp("body", textParam("Ana"))), 132001, "does not exist in pt_BR"},
		{"not approved", tpl("pending_one", "en_US"), 132001, "not approved"},
		{"paused", tpl("paused_one", "en_US"), 132015, "paused"},
		{"disabled", tpl("disabled_one", "en_US"), 132016, "disabled"},
		{"missing name", tpl("", "en_US"), 131008, "template.name"},
		{"missing language", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "template", "template": map[string]any{"name": "reengage"}}, 131008, "language.code"},
		{"too few body params", tpl("reengage", "en_US"), 132000, "body: number of localizable_params (0) does not match the expected number of params (1)"},
		{"too many body params", tpl("reengage", "en_US", comp("body", textParam("a"), textParam("b"))), 132000, "(2) does not match the expected number of params (1)"},
		{"header given to a template without one", tpl("reengage", "en_US", comp("header", textParam("x")), comp("body", textParam("Ana"))), 132000, "header"},
		{"missing media header", tpl("order_update", "en_US", orderBody), 132000, "header: number of localizable_params (0)"},
		{"header type mismatch", tpl("order_update", "en_US", comp("header", textParam("x")), orderBody), 132012, "header: Format mismatch, expected IMAGE, received TEXT"},
		{"body param of a media type", tpl("reengage", "en_US", comp("body", imageParam)), 132012, "Format mismatch, expected TEXT, received IMAGE"},
		{"named without parameter_name", tpl("welcome_named", "es_ES", comp("body", textParam("Ana"))), 132012, "parameter_name is required"},
		{"named with a wrong name", tpl("welcome_named", "es_ES", comp("body", named("name", "Ana"))), 132012, "not a parameter of template"},
		{"positional with parameter_name", tpl("reengage", "en_US", comp("body", named("first_name", "Ana"))), 132012, "only allowed for templates with NAMED"},
		{"button sub_type mismatch", tpl("order_update", "en_US", comp("header", imageParam), orderBody,
			map[string]any{"type": "button", "sub_type": "url", "index": "0", "parameters": []any{textParam("x")}}), 132012, "does not match the template's QUICK_REPLY"},
		{"missing URL button parameter", tpl("track", "en_US", comp("header", textParam("A-1"))), 132000, "button at index 0"},
		{"button index without a button", tpl("reengage", "en_US", comp("body", textParam("Ana")),
			map[string]any{"type": "button", "sub_type": "quick_reply", "index": "3", "parameters": []any{}}), 131009, "no button with this index"},
		{"empty text parameter", tpl("reengage", "en_US", comp("body", textParam(""))), 131008, "text is required"},
		{"incomplete currency", tpl("order_update", "en_US", comp("header", imageParam),
			comp("body", textParam("Ana"), map[string]any{"type": "currency", "currency": map[string]any{"code": "USD"}}, dateParam)), 131008, "currency needs"},
		{"unknown component type", tpl("reengage", "en_US", comp("footer")), 100, "unsupported component type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := b.send(t, tc.body)
			if tc.wantCode == 0 {
				if status != 200 || str(body, "messages", 0, "message_status") != "accepted" {
					t.Fatalf("%d %v", status, body)
				}
				return
			}
			wantError(t, status, body, 400, tc.wantCode, tc.wantText)
		})
	}
}

func TestTemplateList(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.Templates = nil })
	for _, name := range []string{"a_one", "a_two", "b_three", "a_four", "c_five"} {
		if _, err := b.fake.PutTemplate(Template{Name: name, Language: "en_US",
			Components: []TemplateComponent{{Type: "BODY", Text: "Hi {{1}}"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.fake.PutTemplate(Template{WABAID: testWABA2, Name: "elsewhere", Language: "en_US"}); err != nil {
		t.Fatal(err)
	}
	// Paging by cursor, following next.
	var names []string
	next := b.srv.URL + "/" + testVersion + "/" + testWABA + "/message_templates?limit=2"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		u, _ := url.Parse(next)
		status, body := b.do(t, http.MethodGet, u.RequestURI(), nil)
		if status != 200 {
			t.Fatalf("list: %d %v", status, body)
		}
		for _, d := range body["data"].([]any) {
			m := d.(map[string]any)
			names = append(names, m["name"].(string))
			for _, f := range []string{"name", "language", "status", "category", "id", "parameter_format", "components"} {
				if _, ok := m[f]; !ok {
					t.Errorf("template %v has no %s", m["name"], f)
				}
			}
		}
		if str(body, "paging", "cursors", "after") == "" || str(body, "paging", "cursors", "before") == "" {
			t.Errorf("paging = %v", body["paging"])
		}
		next = str(body, "paging", "next")
	}
	if got := strings.Join(names, ","); got != "a_one,a_two,b_three,a_four,c_five" {
		t.Errorf("paged names = %s", got)
	}

	tests := []struct {
		name, query, want string
	}{
		{"name filter", "?name=a_", "a_one,a_two,a_four"},
		{"exact name", "?name=b_three", "b_three"},
		{"status filter", "?status=PENDING", ""},
		{"fields", "?fields=name&limit=1", "a_one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := b.do(t, http.MethodGet, "/"+testVersion+"/"+testWABA+"/message_templates"+tc.query, nil)
			if status != 200 {
				t.Fatalf("%d %v", status, body)
			}
			var got []string
			for _, d := range body["data"].([]any) {
				got = append(got, d.(map[string]any)["name"].(string))
				if tc.name == "fields" && d.(map[string]any)["components"] != nil {
					t.Errorf("fields=name returned components")
				}
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("names = %v, want %s", got, tc.want)
			}
		})
	}
	t.Run("bad cursor", func(t *testing.T) {
		t.Parallel()
		status, body := b.do(t, http.MethodGet, "/"+testVersion+"/"+testWABA+"/message_templates?after=bm9wZQ", nil)
		wantError(t, status, body, 400, 100, "cursor")
	})
}

func TestPutTemplateRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name string
		t    Template
	}{
		{"bad name", Template{Name: "Bad Name", Language: "en_US"}},
		{"no language", Template{Name: "x"}},
		{"named placeholder in a positional template", Template{Name: "x", Language: "en", Components: []TemplateComponent{{Type: "BODY", Text: "Hi {{name}}"}}}},
		{"positional placeholder in a named template", Template{Name: "x", Language: "en", ParameterFormat: "NAMED", Components: []TemplateComponent{{Type: "BODY", Text: "Hi {{1}}"}}}},
		{"unknown component", Template{Name: "x", Language: "en", Components: []TemplateComponent{{Type: "CAROUSEL"}}}},
		{"unknown waba", Template{WABAID: "1", Name: "x", Language: "en"}},
	}
	for _, tc := range tests {
		if _, err := b.fake.PutTemplate(tc.t); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	first, err := b.fake.PutTemplate(Template{Name: "reengage", Language: "en_US", Status: "pending"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != "PENDING" || first.ParameterFormat != "POSITIONAL" || first.Category != "UTILITY" || first.WABAID != testWABA {
		t.Errorf("stored = %+v", first)
	}
	n := 0
	for _, tp := range b.fake.Templates(testWABA) {
		if tp.Name == "reengage" {
			n++
			if tp.ID != first.ID {
				t.Errorf("replacement changed the id: %s → %s", first.ID, tp.ID)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d reengage templates after a replace", n)
	}
	if len(b.fake.Templates(testWABA2)) != len(DefaultTemplates()) {
		t.Errorf("default templates are not on every WABA")
	}
}

func TestTemplateStatusWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withCustomer(t, b)
	stored, err := b.fake.SetTemplateStatus(TemplateStatusParams{Name: "reengage", Language: "en_US", Status: "PAUSED"})
	if err != nil {
		t.Fatal(err)
	}
	status, body := b.send(t, tpl("reengage", "en_US", comp("body", textParam("Ana"))))
	wantError(t, status, body, 400, 132015, "paused")
	if _, err := b.fake.SetTemplateStatus(TemplateStatusParams{Name: "nope", Language: "en_US", Status: "APPROVED"}); err == nil {
		t.Error("status of an unknown template accepted")
	}
	b.flush(t)
	var found bool
	for _, d := range b.recv.all(t) {
		for _, e := range d.events {
			if e.Field != "message_template_status_update" {
				continue
			}
			found = true
			body := string(d.body)
			if e.WABAID != testWABA || e.Kind != wa.KindOther || !strings.Contains(body, `"event":"PAUSED"`) ||
				!strings.Contains(body, `"message_template_id":`+stored.ID) || !strings.Contains(body, `"time":`+itoa(testBase.Unix())) ||
				!strings.Contains(body, `"message_template_name":"reengage"`) {
				t.Errorf("template webhook = %s", body)
			}
		}
	}
	if !found {
		t.Fatal("no message_template_status_update webhook")
	}
}
