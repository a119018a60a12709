package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
)

func TestListTemplatesFollowsPaging(t *testing.T) {
	t.Parallel()
	page2 := string(example(t, "get_waba_id_message_templates__resp200__example_response.json")) // last page: no next
	page1 := `{"data":[{"name":"order_update","language":"en-US","status":"APPROVED","category":"UTILITY","id":"77",
		"parameter_format":"NAMED","components":[{"type":"BODY","text":"Hi {{first_name}}",
		"example":{"body_text_named_params":[{"param_name":"first_name","example":"Ana"}]}},
		{"type":"BUTTONS","buttons":[{"type":"URL","text":"Track","url":"https://shop.test/o/{{1}}"},
		{"type":"PHONE_NUMBER","text":"Call","phone_number":"+15550001111"}]}]}],
		"paging":{"cursors":{"before":"QVFI","after":"QVFIUk5"},"next":"` + apiPrefix + `/` + testWABA + `/message_templates?after=QVFIUk5"}}`
	b := setup(t, nil)
	b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/"+testWABA+"/message_templates", func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("after") == "QVFIUk5" {
			return b.rec.respond(200, page2)(r)
		}
		return b.rec.respond(200, page1)(r)
	})
	ts, err := b.client.ListTemplates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || ts[0].Name != "order_update" || ts[1].Name != "hello_world" || ts[2].Name != "2023_april_promo" {
		t.Fatalf("templates = %+v", ts)
	}
	first := ts[0]
	if first.Language != "en_US" || first.ParameterFormat != "NAMED" || first.ID != "77" || first.Category != "UTILITY" ||
		len(first.Components) != 2 || first.Components[1].Buttons[0].URL != "https://shop.test/o/{{1}}" ||
		first.Components[1].Buttons[1].PhoneNumber != "+15550001111" || len(first.Components[0].Example) == 0 {
		t.Errorf("first template = %+v", first)
	}
	if body, ok := ts[2].Component("body"); !ok || body.Text == "" || len(body.Example) == 0 {
		t.Errorf("promo body = %+v", body)
	}
	reqs := b.rec.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		u, _ := url.Parse(r.URL)
		q := u.Query()
		if r.Method != http.MethodGet || u.Path != "/v23.0/"+testWABA+"/message_templates" ||
			q.Get("fields") != "name,language,status,category,id,parameter_format,components" || q.Get("limit") != "100" ||
			(i == 0) != (q.Get("after") == "") || r.Header.Get("Authorization") == "" {
			t.Errorf("request %d = %s %s", i, r.Method, r.URL)
		}
	}

	// A Template round-trips through JSON (the store keeps it so).
	raw, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	var back Template
	if err := json.Unmarshal(raw, &back); err != nil || back.Name != first.Name || back.Components[1].Buttons[0] != first.Components[1].Buttons[0] {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

func TestListTemplatesNeedsWABA(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.WABAID = "" })
	_, err := b.client.ListTemplates(t.Context())
	if asConnErr(t, err).Kind != connectors.Permanent || b.mock.GetTotalCallCount() != 0 {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeLanguage(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"en-US": "en_US", "en_us": "en_US", "pt_BR": "pt_BR", "en": "en",
		" es ": "es", "zh-hk": "zh_HK", "es_419": "es_419", "fil": "fil"} {
		if got := NormalizeLanguage(in); got != want {
			t.Errorf("NormalizeLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTemplateStatusUpdate(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join(payloadDir, "meta-docs", "template_status_approved.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("template_status_approved.json not found")
	}
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ParseNotification(body)
	if err != nil || len(evs) != 1 || evs[0].Field != "message_template_status_update" {
		t.Fatalf("ParseNotification = %+v, %v", evs, err)
	}
	u, err := ParseTemplateStatusUpdate(evs[0].Raw)
	if err != nil {
		t.Fatal(err)
	}
	want := TemplateStatusUpdate{Event: "APPROVED", ID: "1689556908129832", Name: "order_confirmation",
		Language: "en_US", Reason: "NONE", Category: "UTILITY"}
	if *u != want {
		t.Errorf("update = %+v, want %+v", *u, want)
	}
	if _, err := ParseTemplateStatusUpdate([]byte(`{"event":"APPROVED"}`)); err == nil {
		t.Error("an update without a name must be refused")
	}
}

// fakeLister serves a settable template list and counts calls.
type fakeLister struct {
	mu    sync.Mutex
	ts    []Template
	err   error
	calls int
}

func (f *fakeLister) ListTemplates(context.Context) ([]Template, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return append([]Template(nil), f.ts...), f.err
}

func (f *fakeLister) WABAID() string { return testWABA }

func (f *fakeLister) set(ts []Template, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ts, f.err = ts, err
}

func (f *fakeLister) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeClock is a settable time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func tpl(name, lang, status string) Template {
	return Template{ID: name + "-id", Name: name, Language: lang, Status: status, Category: "UTILITY",
		Components: []TemplateComponent{{Type: "BODY", Text: "Hello {{1}}"}}}
}

type cacheBundle struct {
	cache  *TemplateCache
	lister *fakeLister
	store  *MemoryTemplateStore
	clock  *fakeClock
}

func newCache(t *testing.T, stored []Template) *cacheBundle {
	t.Helper()
	b := &cacheBundle{lister: &fakeLister{}, store: NewMemoryTemplateStore(),
		clock: &fakeClock{now: time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)}}
	if stored != nil {
		if err := b.store.Save(t.Context(), testWABA, stored); err != nil {
			t.Fatal(err)
		}
	}
	b.cache = NewTemplateCache(b.lister, b.store, time.Hour, b.clock.Now)
	return b
}

func (b *cacheBundle) get(t *testing.T, name, lang string) (Template, bool) {
	t.Helper()
	got, ok, err := b.cache.Get(t.Context(), name, lang)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", name, lang, err)
	}
	return got, ok
}

func TestTemplateCache(t *testing.T) {
	t.Parallel()
	t.Run("loads from the store, refreshes when stale", func(t *testing.T) {
		t.Parallel()
		b := newCache(t, []Template{tpl("order_update", "en_US", "APPROVED")})
		b.lister.set([]Template{tpl("order_update", "en_US", "PAUSED")}, nil)
		if got, ok := b.get(t, "order_update", "en-US"); !ok || got.Status != "APPROVED" {
			t.Fatalf("Get = %+v, %v; want the stored template", got, ok)
		}
		if n := b.lister.count(); n != 0 {
			t.Fatalf("the API was called %d times while the stored list is fresh", n)
		}
		b.clock.Add(59 * time.Minute)
		b.get(t, "order_update", "en_US")
		if n := b.lister.count(); n != 0 {
			t.Fatalf("refreshed after 59 minutes")
		}
		b.clock.Add(time.Minute)
		if got, _ := b.get(t, "order_update", "en_US"); got.Status != "PAUSED" || b.lister.count() != 1 {
			t.Fatalf("after an hour: Get = %+v, calls = %d; want a refresh", got, b.lister.count())
		}
		stored, _ := b.store.Load(t.Context(), testWABA)
		if len(stored) != 1 || stored[0].Status != "PAUSED" {
			t.Errorf("store = %+v; the refresh must be saved", stored)
		}
	})
	t.Run("empty store fetches at once", func(t *testing.T) {
		t.Parallel()
		b := newCache(t, nil)
		b.lister.set([]Template{tpl("a", "en", "APPROVED"), tpl("b", "pt_BR", "APPROVED")}, nil)
		all, err := b.cache.All(t.Context())
		if err != nil || len(all) != 2 || all[0].Name != "a" || b.lister.count() != 1 {
			t.Fatalf("All = %+v, %v (calls %d)", all, err, b.lister.count())
		}
	})
	t.Run("no list at all is an error", func(t *testing.T) {
		t.Parallel()
		b := newCache(t, nil)
		b.lister.set(nil, errors.New("graph down"))
		if _, _, err := b.cache.Get(t.Context(), "a", "en"); err == nil {
			t.Fatal("Get must fail when neither store nor API has templates")
		}
	})
	t.Run("failed refresh serves the last list", func(t *testing.T) {
		t.Parallel()
		b := newCache(t, []Template{tpl("a", "en", "APPROVED")})
		b.get(t, "a", "en") // loads the store
		b.lister.set(nil, errors.New("graph down"))
		b.clock.Add(2 * time.Hour)
		if _, ok := b.get(t, "a", "en"); !ok || b.lister.count() != 1 {
			t.Fatalf("ok = %v, calls = %d", ok, b.lister.count())
		}
		b.get(t, "a", "en") // within a minute of the failure: no new call
		if n := b.lister.count(); n != 1 {
			t.Fatalf("calls = %d; a failing API must not be called on every Get", n)
		}
	})
	t.Run("missing template refreshes at most once a minute", func(t *testing.T) {
		t.Parallel()
		b := newCache(t, []Template{tpl("a", "en", "APPROVED")})
		if _, ok := b.get(t, "new_one", "en"); ok || b.lister.count() != 1 {
			t.Fatalf("calls = %d", b.lister.count())
		}
		b.get(t, "new_one", "en")
		if n := b.lister.count(); n != 1 {
			t.Fatalf("calls = %d", n)
		}
		b.lister.set([]Template{tpl("a", "en", "APPROVED"), tpl("new_one", "en", "APPROVED")}, nil)
		b.clock.Add(time.Minute)
		if _, ok := b.get(t, "new_one", "en"); !ok {
			t.Fatal("a template approved a moment ago must be found after a minute")
		}
	})
	t.Run("status update flips the status and the next Get refreshes", func(t *testing.T) {
		t.Parallel()
		b := newCache(t, []Template{tpl("order_update", "en_US", "APPROVED"), tpl("old", "en_US", "APPROVED")})
		b.get(t, "order_update", "en_US")
		if err := b.cache.HandleStatusUpdate(t.Context(), "order_update", "en-US", "PAUSED"); err != nil {
			t.Fatal(err)
		}
		if err := b.cache.HandleStatusUpdate(t.Context(), "old", "en_US", "DELETED"); err != nil {
			t.Fatal(err)
		}
		stored, _ := b.store.Load(t.Context(), testWABA)
		if len(stored) != 1 || stored[0].Status != "PAUSED" {
			t.Fatalf("store = %+v; the update must be saved at once", stored)
		}
		b.lister.set([]Template{tpl("order_update", "en_US", "REJECTED")}, nil)
		got, ok := b.get(t, "order_update", "en_US")
		if !ok || got.Status != "REJECTED" || b.lister.count() != 1 {
			t.Fatalf("Get = %+v (calls %d); want a refresh after the status update", got, b.lister.count())
		}
	})
	t.Run("status update seen while the API is down", func(t *testing.T) {
		t.Parallel()
		b := newCache(t, []Template{tpl("order_update", "en_US", "APPROVED")})
		b.lister.set(nil, errors.New("graph down"))
		if err := b.cache.HandleStatusUpdate(t.Context(), "order_update", "en_US", "PAUSED"); err != nil {
			t.Fatal(err)
		}
		if got, ok := b.get(t, "order_update", "en_US"); !ok || got.Status != "PAUSED" {
			t.Fatalf("Get = %+v, %v; the webhook's status must be served", got, ok)
		}
	})
	t.Run("Refresh saves", func(t *testing.T) {
		t.Parallel()
		b := newCache(t, nil)
		b.lister.set([]Template{tpl("z", "en-GB", "APPROVED")}, nil)
		if err := b.cache.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		stored, _ := b.store.Load(t.Context(), testWABA)
		if len(stored) != 1 || stored[0].Language != "en_GB" {
			t.Fatalf("store = %+v", stored)
		}
	})
}

// TestSendChecksTemplateCache runs a template send through a client whose
// cache knows the template: a mismatch never reaches Meta.
func TestSendChecksTemplateCache(t *testing.T) {
	t.Parallel()
	lister := &fakeLister{ts: []Template{{Name: "order_update", Language: "en_US", Status: "APPROVED",
		Components: []TemplateComponent{{Type: "BODY", Text: "Hi {{1}}, order {{2}} ships {{3}}"}}}}}
	cache := NewTemplateCache(lister, nil, time.Hour, nil)
	b := setup(t, func(c *Config) { c.Templates = cache })
	b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages",
		b.rec.respond(200, `{"messages":[{"id":"wamid.T"}]}`))

	_, err := b.client.Send(t.Context(), TemplateMessage(testTo, &TemplateParams{Name: "order_update", Language: "en_US",
		Body: []TemplateParam{TextParam("Ana"), TextParam("42")}}))
	ce := asConnErr(t, err)
	if ce.Kind != connectors.Permanent || ce.Code != "" || ce.Op != "send_template" ||
		ce.Message != `template "order_update" (en_US): body expects 3 parameters, got 2` {
		t.Fatalf("err = %#v", ce)
	}
	_, err = b.client.Send(t.Context(), TemplateMessage(testTo, &TemplateParams{Name: "no_such", Language: "en_US"}))
	if ce := asConnErr(t, err); ce.Kind != connectors.Permanent || ce.Code != "" {
		t.Fatalf("unknown template: err = %v", err)
	}
	if n := b.mock.GetTotalCallCount(); n != 0 {
		t.Fatalf("%d requests reached Meta", n)
	}
	res, err := b.client.Send(t.Context(), TemplateMessage(testTo, &TemplateParams{Name: "order_update", Language: "en-US",
		Body: []TemplateParam{TextParam("Ana"), TextParam("42"), DateTimeParam("Monday")}}))
	if err != nil || res.MessageID != "wamid.T" {
		t.Fatalf("Send = %+v, %v", res, err)
	}

	lister.set(nil, errors.New("graph down"))
	cache2 := NewTemplateCache(lister, nil, time.Hour, nil)
	b2 := setup(t, func(c *Config) { c.Templates = cache2 })
	_, err = b2.client.Send(t.Context(), TemplateMessage(testTo, &TemplateParams{Name: "order_update", Language: "en_US"}))
	if err == nil || !connectors.IsRetryable(err) || b2.mock.GetTotalCallCount() != 0 {
		t.Fatalf("cache failure: err = %v; want a retryable error and no send", err)
	}
}
