package zendesk

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/deskbridge/deskbridge/connectors"
)

const (
	hookEndpoint = "https://bridge.example.com/webhooks/zendesk/acme"
	hookID       = "01EJFTSCC78X5V07NPY2MHR00M"
	hookSecret   = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
)

// fakeAdmin keeps the webhooks and triggers of an account, as Zendesk
// would: what is written is read back, with Zendesk's own touches (ids, a
// number for a numeric condition value, a reformatted JSON body). A
// foreign webhook whose name contains ours and a foreign trigger on the
// first page of two are always there.
type fakeAdmin struct {
	mu       sync.Mutex
	hook     map[string]any
	trigger  map[string]any
	problems []string
}

func (f *fakeAdmin) install(b *testBundle) {
	mock := recordingMock{b}
	reply := func(_ *http.Request, status int, v any) (*http.Response, error) {
		if v == nil {
			return httpmock.NewStringResponse(status, ""), nil
		}
		return httpmock.NewJsonResponse(status, v)
	}
	decode := func(req *http.Request, key string) map[string]any {
		var m map[string]map[string]any
		raw, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(raw, &m); err != nil || m[key] == nil {
			f.problems = append(f.problems, "bad body "+string(raw))
		}
		return m[key]
	}
	foreignHook := map[string]any{"id": "01AAAAAAAAAAAAAAAAAAAAAAAA", "name": "deskbridge-old", "endpoint": "https://old.test"}
	mock.RegisterResponder("GET", testBase+"/api/v2/webhooks", func(req *http.Request) (*http.Response, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		hooks := []any{foreignHook}
		if f.hook != nil {
			hooks = append(hooks, f.hook)
		}
		return reply(req, 200, map[string]any{"webhooks": hooks, "meta": map[string]any{"has_more": false}})
	})
	mock.RegisterResponder("POST", testBase+"/api/v2/webhooks", func(req *http.Request) (*http.Response, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		h := decode(req, "webhook")
		h["id"] = hookID
		f.hook = h
		return reply(req, 201, map[string]any{"webhook": h})
	})
	mock.RegisterResponder("PUT", testBase+"/api/v2/webhooks/"+hookID, func(req *http.Request) (*http.Response, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		h := decode(req, "webhook")
		h["id"] = hookID
		f.hook = h
		return reply(req, 204, nil)
	})
	mock.RegisterResponder("GET", testBase+"/api/v2/webhooks/"+hookID+"/signing_secret", func(req *http.Request) (*http.Response, error) {
		return reply(req, 200, map[string]any{"signing_secret": map[string]any{"algorithm": "SHA256", "secret": hookSecret}})
	})
	foreignTrigger := map[string]any{"id": 1, "title": "Notify requester", "active": true,
		"conditions": map[string]any{"all": []any{}, "any": []any{}}, "actions": []any{}}
	mock.RegisterResponder("GET", testBase+"/api/v2/triggers.json", func(req *http.Request) (*http.Response, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if req.URL.Query().Get("page[after]") == "" {
			return reply(req, 200, map[string]any{"triggers": []any{foreignTrigger}, "meta": map[string]any{"has_more": true, "after_cursor": "c1"},
				"links": map[string]any{"next": testBase + "/api/v2/triggers.json?page%5Bafter%5D=c1&page%5Bsize%5D=100"}})
		}
		var list []any
		if f.trigger != nil {
			list = append(list, f.trigger)
		}
		return reply(req, 200, map[string]any{"triggers": list, "meta": map[string]any{"has_more": false}})
	})
	store := func(req *http.Request, status int) (*http.Response, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		tr := decode(req, "trigger")
		tr["id"] = 9001
		// Zendesk's touches: a numeric value read back as a number, the
		// JSON body reformatted.
		for _, c := range tr["conditions"].(map[string]any)["all"].([]any) {
			if c := c.(map[string]any); c["field"] == "current_via_id" {
				c["value"] = 5
			}
		}
		act := tr["actions"].([]any)[0].(map[string]any)
		val := act["value"].([]any)
		var body any
		_ = json.Unmarshal([]byte(val[1].(string)), &body)
		pretty, _ := json.MarshalIndent(body, "", "  ")
		act["value"] = []any{val[0], string(pretty)}
		f.trigger = tr
		return reply(req, status, map[string]any{"trigger": tr})
	}
	mock.RegisterResponder("POST", testBase+"/api/v2/triggers.json", func(req *http.Request) (*http.Response, error) { return store(req, 201) })
	mock.RegisterResponder("PUT", testBase+"/api/v2/triggers/9001.json", func(req *http.Request) (*http.Response, error) { return store(req, 200) })
}

// recordingMock registers responders that record each request first.
type recordingMock struct{ b *testBundle }

func (m recordingMock) RegisterResponder(method, url string, r httpmock.Responder) {
	m.b.mock.RegisterResponder(method, url, func(req *http.Request) (*http.Response, error) {
		m.b.rec.record(req)
		return r(req)
	})
}

func (f *fakeAdmin) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		t.Error(p)
	}
}

// writes returns the recorded POST and PUT requests.
func writes(b *testBundle) []captured {
	var out []captured
	for _, r := range b.rec.all() {
		if r.Method != "GET" {
			out = append(out, r)
		}
	}
	return out
}

var (
	wantHookBody = `{"webhook":{"name":"deskbridge","endpoint":"` + hookEndpoint + `","http_method":"POST",
		"request_format":"json","status":"active","subscriptions":["conditional_ticket_events"]}}`
	listHooks     = want{method: "GET", path: "/api/v2/webhooks", query: q("filter[name_contains]", "deskbridge")}
	listTriggers1 = want{method: "GET", path: "/api/v2/triggers.json", query: q("page[size]", "100")}
	listTriggers2 = want{method: "GET", path: "/api/v2/triggers.json", query: q("page[after]", "c1", "page[size]", "100")}
	showSecret    = want{method: "GET", path: "/api/v2/webhooks/" + hookID + "/signing_secret"}
)

func wantTriggerBody(t *testing.T) string {
	t.Helper()
	action, _ := json.Marshal([]any{hookID, BodyTemplate()})
	return `{"trigger":{"title":"deskbridge: agent public reply","active":true,
		"conditions":{"all":[{"field":"update_type","operator":"is","value":"Change"},
			{"field":"comment_is_public","operator":"is","value":"true"},
			{"field":"current_via_id","operator":"is_not","value":"5"},
			{"field":"role","operator":"is_not","value":"end_user"}],"any":[]},
		"actions":[{"field":"notification_webhook","value":` + string(action) + `}]}}`
}

func TestEnsureWebhook(t *testing.T) {
	t.Parallel()
	params := func(endpoint string, dry bool) *connectors.EnsureWebhookParams {
		return &connectors.EnsureWebhookParams{Endpoint: endpoint, Name: "deskbridge", DryRun: dry}
	}
	t.Run("first run creates, second changes nothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		f := &fakeAdmin{}
		f.install(b)
		res, err := b.client.EnsureWebhook(t.Context(), params(hookEndpoint, false))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Actions) != 2 || !strings.HasPrefix(res.Actions[0], "create webhook deskbridge → "+hookEndpoint) ||
			!strings.HasPrefix(res.Actions[1], `create trigger "deskbridge: agent public reply"`) || res.SigningSecret != hookSecret {
			t.Errorf("first run = %+v", res)
		}
		checkRequests(t, b, basicAuth, listHooks,
			want{method: "POST", path: "/api/v2/webhooks", body: wantHookBody},
			showSecret, listTriggers1, listTriggers2,
			want{method: "POST", path: "/api/v2/triggers.json", body: wantTriggerBody(t)})

		b.rec = &recorder{}
		again, err := b.client.EnsureWebhook(t.Context(), params(hookEndpoint, false))
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Actions) != 0 || again.SigningSecret != hookSecret {
			t.Errorf("second run = %+v, want no actions", again)
		}
		if w := writes(b); len(w) != 0 {
			t.Errorf("second run wrote %d times", len(w))
		}
		f.check(t)
	})
	t.Run("dry run writes nothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		f := &fakeAdmin{}
		f.install(b)
		res, err := b.client.EnsureWebhook(t.Context(), params(hookEndpoint, true))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Actions) != 2 || res.SigningSecret != "" || !strings.Contains(res.Actions[1], newWebhookID) {
			t.Errorf("dry run = %+v", res)
		}
		checkRequests(t, b, basicAuth, listHooks, listTriggers1, listTriggers2)
	})
	t.Run("changed endpoint updates the webhook only", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		f := &fakeAdmin{}
		f.install(b)
		if _, err := b.client.EnsureWebhook(t.Context(), params("https://old-bridge.example.com/z", false)); err != nil {
			t.Fatal(err)
		}
		b.rec = &recorder{}
		dry, err := b.client.EnsureWebhook(t.Context(), params(hookEndpoint, true))
		if err != nil || len(dry.Actions) != 1 || len(writes(b)) != 0 {
			t.Fatalf("dry run of a change = %+v, %v, %d writes", dry, err, len(writes(b)))
		}
		b.rec = &recorder{}
		res, err := b.client.EnsureWebhook(t.Context(), params(hookEndpoint, false))
		if err != nil {
			t.Fatal(err)
		}
		wantAction := "update webhook deskbridge: endpoint https://old-bridge.example.com/z → " + hookEndpoint
		if len(res.Actions) != 1 || res.Actions[0] != wantAction {
			t.Errorf("actions = %q, want [%q]", res.Actions, wantAction)
		}
		checkRequests(t, b, basicAuth, listHooks,
			want{method: "PUT", path: "/api/v2/webhooks/" + hookID, body: wantHookBody},
			showSecret, listTriggers1, listTriggers2)
		f.check(t)
	})
	t.Run("trigger edited by hand is put back", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		f := &fakeAdmin{}
		f.install(b)
		if _, err := b.client.EnsureWebhook(t.Context(), params(hookEndpoint, false)); err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		f.trigger["active"] = false
		f.trigger["conditions"].(map[string]any)["all"] = f.trigger["conditions"].(map[string]any)["all"].([]any)[:2]
		f.mu.Unlock()
		b.rec = &recorder{}
		res, err := b.client.EnsureWebhook(t.Context(), params(hookEndpoint, false))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Actions) != 1 || res.Actions[0] != `update trigger "deskbridge: agent public reply": active false → true, conditions (all)` {
			t.Errorf("actions = %q", res.Actions)
		}
		w := writes(b)
		if len(w) != 1 || w[0].Method != "PUT" || w[0].Path != "/api/v2/triggers/9001.json" {
			t.Fatalf("writes = %+v", w)
		}
		jsonEqual(t, w[0].Body, []byte(wantTriggerBody(t)))
	})
	t.Run("invalid params", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		for _, p := range []*connectors.EnsureWebhookParams{nil, {Endpoint: hookEndpoint}, {Name: "x", Endpoint: "http://bridge.example.com/z"},
			{Name: "x", Endpoint: "/relative"}} {
			if _, err := b.client.EnsureWebhook(t.Context(), p); connectors.KindOf(err) != connectors.Permanent {
				t.Errorf("%+v: %v, want Permanent", p, err)
			}
		}
		checkRequests(t, b, "")
	})
	t.Run("listing pages by cursor, never to another host", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.on("GET", "/api/v2/webhooks",
			ok(`{"webhooks":[{"id":"01AAAAAAAAAAAAAAAAAAAAAAAA","name":"deskbridge-old"}],"meta":{"has_more":true,"after_cursor":"w1"}}`),
			ok(`{"webhooks":[{"id":"`+hookID+`","name":"deskbridge","endpoint":"`+hookEndpoint+`","http_method":"POST",
				"request_format":"json","status":"active","subscriptions":["conditional_ticket_events"]}],"meta":{"has_more":false}}`))
		b.on("GET", "/api/v2/webhooks/"+hookID+"/signing_secret", ok(`{"signing_secret":{"secret":"s"}}`))
		b.on("GET", "/api/v2/triggers.json", ok(`{"triggers":[],"meta":{"has_more":true},"links":{"next":"https://evil.test/api/v2/triggers.json"}}`))
		_, err := b.client.EnsureWebhook(t.Context(), params(hookEndpoint, true))
		if ce := asError(t, err); ce.Kind != connectors.Permanent || !strings.Contains(ce.Message, "evil.test") {
			t.Errorf("next page on another host = %v, want Permanent", err)
		}
		checkRequests(t, b, basicAuth, listHooks,
			want{method: "GET", path: "/api/v2/webhooks", query: q("filter[name_contains]", "deskbridge", "page[after]", "w1")},
			showSecret, listTriggers1)
	})
}
