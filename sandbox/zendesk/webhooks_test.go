package zendesk

import (
	"net/http"
	"net/url"
	"testing"
)

// createWebhook creates a webhook to the receiver and returns its id.
func (b *testBundle) createWebhook(t *testing.T, name string, extra map[string]any) string {
	t.Helper()
	w := map[string]any{"name": name, "endpoint": b.hook.srv.URL + "/zendesk", "http_method": "POST",
		"request_format": "json", "status": "active", "subscriptions": []string{"conditional_ticket_events"}}
	for k, v := range extra {
		w[k] = v
	}
	r := b.do(t, http.MethodPost, "/api/v2/webhooks", map[string]any{"webhook": w}).want(t, http.StatusCreated)
	return str(r.body, "webhook", "id")
}

func TestWebhookCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.createWebhook(t, "Deskbridge replies", map[string]any{
		"authentication": map[string]any{"type": "bearer_token", "data": map[string]any{"token": "s3cret"}, "add_position": "header"}})
	b.createWebhook(t, "Other hook", nil)
	show := b.do(t, http.MethodGet, "/api/v2/webhooks/"+id, nil).want(t, http.StatusOK)
	w := show.body["webhook"]
	if str(w, "name") != "Deskbridge replies" || str(w, "status") != "active" || str(w, "subscriptions", 0) != "conditional_ticket_events" ||
		str(w, "authentication", "type") != "bearer_token" || dig(w, "authentication", "data") != nil {
		t.Fatalf("webhook = %s", show.raw)
	}
	l := b.do(t, http.MethodGet, "/api/v2/webhooks?filter[name_contains]=DESKBRIDGE", nil).want(t, http.StatusOK)
	if len(list(l.body, "webhooks")) != 1 || str(l.body, "webhooks", 0, "id") != id || str(l.body, "meta", "has_more") != "false" {
		t.Fatalf("filtered list = %s", l.raw)
	}
	p := b.do(t, http.MethodGet, "/api/v2/webhooks?page[size]=1", nil).want(t, http.StatusOK)
	if len(list(p.body, "webhooks")) != 1 || str(p.body, "meta", "has_more") != "true" || str(p.body, "links", "next") == "" {
		t.Fatalf("paged list = %s", p.raw)
	}
	next, _ := url.Parse(str(p.body, "links", "next"))
	p2 := b.do(t, http.MethodGet, next.RequestURI(), nil).want(t, http.StatusOK)
	if str(p2.body, "webhooks", 0, "name") != "Other hook" {
		t.Fatalf("page 2 = %s", p2.raw)
	}

	sec := b.do(t, http.MethodGet, "/api/v2/webhooks/"+id+"/signing_secret", nil).want(t, http.StatusOK)
	secret := str(sec.body, "signing_secret", "secret")
	if str(sec.body, "signing_secret", "algorithm") != "SHA256" || secret == "" || secret != b.fake.WebhookSecret(id) {
		t.Fatalf("signing secret = %s", sec.raw)
	}
	reset := b.do(t, http.MethodPost, "/api/v2/webhooks/"+id+"/signing_secret.json", nil).want(t, http.StatusCreated)
	if s := str(reset.body, "signing_secret", "secret"); s == secret || s != b.fake.WebhookSecret(id) {
		t.Fatalf("reset secret = %s", reset.raw)
	}

	b.do(t, http.MethodPatch, "/api/v2/webhooks/"+id, map[string]any{"webhook": map[string]any{"status": "inactive"}}).
		want(t, http.StatusNoContent)
	if r := b.do(t, http.MethodGet, "/api/v2/webhooks/"+id, nil); str(r.body, "webhook", "status") != "inactive" ||
		str(r.body, "webhook", "name") != "Deskbridge replies" {
		t.Fatalf("after patch = %s", r.raw)
	}
	b.do(t, http.MethodPut, "/api/v2/webhooks/"+id, map[string]any{"webhook": map[string]any{"name": "Renamed",
		"endpoint": "https://bridge.example/webhooks/zendesk", "http_method": "POST", "request_format": "json",
		"status": "active", "subscriptions": []string{"conditional_ticket_events"}}}).want(t, http.StatusNoContent)
	if r := b.do(t, http.MethodGet, "/api/v2/webhooks/"+id, nil); str(r.body, "webhook", "name") != "Renamed" ||
		dig(r.body, "webhook", "authentication") != nil {
		t.Fatalf("after put = %s", r.raw)
	}

	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"unknown", http.MethodGet, "/api/v2/webhooks/nope", nil, 404, "RecordNotFound"},
		{"unknown secret", http.MethodGet, "/api/v2/webhooks/nope/signing_secret", nil, 404, "RecordNotFound"},
		{"missing endpoint", http.MethodPost, "/api/v2/webhooks", map[string]any{"webhook": map[string]any{"name": "x",
			"http_method": "POST", "request_format": "json", "status": "active"}}, 400, "RequiredValue"},
		{"bad endpoint", http.MethodPost, "/api/v2/webhooks", map[string]any{"webhook": map[string]any{"name": "x",
			"endpoint": "ftp://x", "http_method": "POST", "request_format": "json", "status": "active"}}, 400, "InvalidValue"},
		{"conditional mixed with events", http.MethodPost, "/api/v2/webhooks", map[string]any{"webhook": map[string]any{"name": "x",
			"endpoint": "https://x.example", "http_method": "POST", "request_format": "json", "status": "active",
			"subscriptions": []string{"conditional_ticket_events", "zen:event-type:user.created"}}}, 400, "InvalidValue"},
		{"put without required", http.MethodPut, "/api/v2/webhooks/" + id, map[string]any{"webhook": map[string]any{"name": "x"}}, 400, "RequiredValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { // not parallel: the webhook is deleted below
			r := b.do(t, tc.method, tc.path, tc.body).want(t, tc.wantStatus)
			if str(r.body, "errors", 0, "code") != tc.wantCode || str(r.body, "errors", 0, "title") == "" {
				t.Fatalf("body = %s", r.raw)
			}
		})
	}
	b.do(t, http.MethodDelete, "/api/v2/webhooks/"+id, nil).want(t, http.StatusNoContent)
	b.do(t, http.MethodGet, "/api/v2/webhooks/"+id, nil).want(t, http.StatusNotFound)
}

// replyTrigger is the bridge's trigger: agent public replies, not via the API.
func replyTrigger(hookID, body string) map[string]any {
	return map[string]any{"title": "Deskbridge: agent replies", "conditions": map[string]any{
		"all": []any{
			map[string]any{"field": "update_type", "operator": "is", "value": "Change"},
			map[string]any{"field": "comment_is_public", "operator": "is", "value": "true"},
			map[string]any{"field": "current_via_id", "operator": "is_not", "value": "5"},
		}, "any": []any{}},
		"actions": []any{map[string]any{"field": "notification_webhook", "value": []any{hookID, body}}}}
}

func TestTriggerCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hook := b.createWebhook(t, "hook", nil)
	r := b.do(t, http.MethodPost, "/api/v2/triggers.json", map[string]any{"trigger": replyTrigger(hook, `{"id":"{{ticket.id}}"}`)}).
		want(t, http.StatusCreated)
	tr := r.body["trigger"]
	id := num(tr, "id")
	if str(tr, "active") != "true" || str(tr, "title") != "Deskbridge: agent replies" || len(list(tr, "conditions", "all")) != 3 ||
		str(tr, "actions", 0, "value", 0) != hook || str(tr, "category_id") == "" {
		t.Fatalf("trigger = %s", r.raw)
	}
	second := replyTrigger(hook, "x")
	second["title"], second["active"] = "Second", false
	b.do(t, http.MethodPost, "/api/v2/triggers", map[string]any{"trigger": second}).want(t, http.StatusCreated)
	l := b.do(t, http.MethodGet, "/api/v2/triggers.json", nil).want(t, http.StatusOK)
	if num(l.body, "count") != 2 || str(l.body, "triggers", 0, "title") != "Deskbridge: agent replies" {
		t.Fatalf("list = %s", l.raw)
	}
	if a := b.do(t, http.MethodGet, "/api/v2/triggers?active=false", nil); num(a.body, "count") != 1 {
		t.Fatalf("active filter = %s", a.raw)
	}
	c := b.do(t, http.MethodGet, "/api/v2/triggers?page[size]=1", nil).want(t, http.StatusOK)
	if len(list(c.body, "triggers")) != 1 || str(c.body, "meta", "has_more") != "true" {
		t.Fatalf("cursor list = %s", c.raw)
	}
	up := b.do(t, http.MethodPut, "/api/v2/triggers/"+itoa(id), map[string]any{"trigger": map[string]any{"title": "Renamed",
		"conditions": map[string]any{"all": []any{map[string]any{"field": "status", "operator": "is", "value": "open"}}},
		"actions":    []any{map[string]any{"field": "notification_webhook", "value": []any{hook, "y"}}}}}).want(t, http.StatusOK)
	if str(up.body, "trigger", "title") != "Renamed" || len(list(up.body, "trigger", "conditions", "all")) != 1 {
		t.Fatalf("updated = %s", up.raw)
	}
	b.do(t, http.MethodGet, "/api/v2/triggers/"+itoa(id), nil).want(t, http.StatusOK)

	plain := b.createWebhook(t, "events only", map[string]any{"subscriptions": []string{"zen:event-type:ticket.comment_added"}})
	bad := func(mod func(map[string]any)) map[string]any {
		tr := replyTrigger(hook, "x")
		mod(tr)
		return map[string]any{"trigger": tr}
	}
	tests := []struct {
		name       string
		body       any
		wantDetail string
	}{
		{"no title", bad(func(m map[string]any) { delete(m, "title") }), "title"},
		{"no actions", bad(func(m map[string]any) { m["actions"] = []any{} }), "actions"},
		{"unsupported condition", bad(func(m map[string]any) {
			m["conditions"] = map[string]any{"all": []any{map[string]any{"field": "organization_id", "operator": "is", "value": "1"}}}
		}), "conditions"},
		{"unknown webhook", bad(func(m map[string]any) {
			m["actions"] = []any{map[string]any{"field": "notification_webhook", "value": []any{"nope", "x"}}}
		}), "actions"},
		{"webhook without conditional_ticket_events", bad(func(m map[string]any) {
			m["actions"] = []any{map[string]any{"field": "notification_webhook", "value": []any{plain, "x"}}}
		}), "actions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b.do(t, http.MethodPost, "/api/v2/triggers", tc.body).wantError(t, 422, "RecordInvalid", tc.wantDetail)
		})
	}
	b.do(t, http.MethodGet, "/api/v2/triggers/999", nil).wantError(t, 404, "RecordNotFound", "")
	b.do(t, http.MethodDelete, "/api/v2/triggers/"+itoa(id), nil).want(t, http.StatusNoContent)
}
