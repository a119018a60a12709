package zendesk

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deskbridge/deskbridge/connectors"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tok := func(context.Context) (string, error) { return "t", nil }
	good := Config{Name: "acme", BaseURL: "https://acme.zendesk.com", Email: "a@b.c", APIToken: tok}
	tests := []struct {
		name   string
		mutate func(*Config)
		err    string // substring; "" = valid
	}{
		{name: "api token", mutate: func(*Config) {}},
		{name: "oauth", mutate: func(c *Config) { c.APIToken, c.Email, c.OAuthToken = nil, "", tok }},
		{name: "trailing slash", mutate: func(c *Config) { c.BaseURL += "/" }},
		{name: "http loopback sandbox", mutate: func(c *Config) { c.BaseURL = "http://127.0.0.1:8089" }},
		{name: "http localhost sandbox", mutate: func(c *Config) { c.BaseURL = "http://localhost:8089" }},
		{name: "http ipv6 loopback", mutate: func(c *Config) { c.BaseURL = "http://[::1]:8089" }},
		{name: "no name", mutate: func(c *Config) { c.Name = " " }, err: "name"},
		{name: "no base url", mutate: func(c *Config) { c.BaseURL = "" }, err: "base_url"},
		{name: "relative base url", mutate: func(c *Config) { c.BaseURL = "acme.zendesk.com" }, err: "base_url"},
		{name: "http remote", mutate: func(c *Config) { c.BaseURL = "http://acme.zendesk.com" }, err: "https"},
		{name: "ftp", mutate: func(c *Config) { c.BaseURL = "ftp://acme.zendesk.com" }, err: "base_url"},
		{name: "query", mutate: func(c *Config) { c.BaseURL = "https://acme.zendesk.com?x=1" }, err: "query"},
		{name: "userinfo", mutate: func(c *Config) { c.BaseURL = "https://u:p@acme.zendesk.com" }, err: "credentials"},
		{name: "no credentials", mutate: func(c *Config) { c.APIToken = nil }, err: "api_token or an oauth_token"},
		{name: "both credentials", mutate: func(c *Config) { c.OAuthToken = tok }, err: "not both"},
		{name: "api token without email", mutate: func(c *Config) { c.Email = "" }, err: "email"},
		{name: "email with colon", mutate: func(c *Config) { c.Email = "a:b@c.d" }, err: "email"},
		{name: "negative budget", mutate: func(c *Config) { c.RequestsPerMinute = -1 }, err: "requests_per_minute"},
		{name: "negative brand", mutate: func(c *Config) { c.BrandID = -1 }, err: "brand_id"},
		{name: "negative attachment limit", mutate: func(c *Config) { c.MaxAttachmentBytes = -1 }, err: "max_attachment_bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tc.mutate(&cfg)
			_, err := New(cfg)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("New = %v, want an error about %q", err, tc.err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{}.WithDefaults()
	if c.RequestsPerMinute != DefaultRequestsPerMinute || c.MaxAttachmentBytes != DefaultMaxAttachmentBytes ||
		c.Now == nil || c.Logger == nil {
		t.Errorf("defaults = %+v", c)
	}
	b := setup(t, func(c *Config) { c.RequestsPerMinute = 0 })
	if got := float64(b.client.api.Limiter().Limit()); got != 200.0/60 {
		t.Errorf("plan rate = %v/s, want 200/min", got)
	}
}

// allOperations runs every operation of the client once against scripted
// answers.
func allOperations(t *testing.T, b *testBundle) {
	t.Helper()
	ctx := t.Context()
	b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
	b.on("GET", "/api/v2/users/search.json", ok(`{"users":[]}`))
	b.on("POST", "/api/v2/users/create_or_update.json", reply{status: 201, body: `{"user":{"id":7,"name":"Ana","external_id":"whatsapp:+34600111222"}}`})
	b.on("POST", "/api/v2/uploads.json", reply{status: 201, body: `{"upload":{"token":"up1"}}`})
	b.on("POST", "/api/v2/tickets.json", reply{status: 201, body: `{"ticket":{"id":42}}`})
	b.on("PUT", "/api/v2/tickets/42.json", ok(`{"ticket":{"id":42},"audit":{"events":[{"id":9,"type":"Comment"}]}}`))
	b.on("GET", "/api/v2/tickets/42.json", ok(`{"ticket":{"id":42,"status":"open","requester_id":7}}`))
	b.on("GET", "/api/v2/tickets/42/comments.json", ok(`{"comments":[{"id":9,"attachments":[{"id":1,"content_url":"`+testBase+`/attachments/token/x/?name=a.txt"}]}],"meta":{"has_more":false}}`))
	b.on("GET", testBase+"/attachments/token/x/", reply{status: 200, body: "data"})
	b.on("GET", "/api/v2/users/me.json", ok(`{"user":{"id":5}}`))
	b.on("GET", "/api/v2/webhooks", ok(`{"webhooks":[]}`))
	b.on("POST", "/api/v2/webhooks", reply{status: 201, body: `{"webhook":{"id":"01HOOK"}}`})
	b.on("GET", "/api/v2/webhooks/01HOOK/signing_secret", ok(`{"signing_secret":{"algorithm":"SHA256","secret":"s"}}`))
	b.on("GET", "/api/v2/triggers.json", ok(`{"triggers":[]}`))
	b.on("POST", "/api/v2/triggers.json", reply{status: 201, body: `{"trigger":{"id":3}}`})

	c, err := b.client.FindOrCreateContact(ctx, &connectors.ContactParams{ExternalID: "whatsapp:+34600111222", Phone: "+34600111222", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	files := []connectors.Attachment{{Filename: "a.txt", ContentType: "text/plain", Data: []byte("a")}}
	tk, err := b.client.CreateTicket(ctx, &connectors.CreateTicketParams{Requester: c.Contact, Body: "hi", Attachments: files})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk.Ticket, Author: c.Contact, Body: "more"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.AddNote(ctx, &connectors.NoteParams{Ticket: tk.Ticket, Body: "note"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Ticket(ctx, tk.Ticket); err != nil {
		t.Fatal(err)
	}
	cm, err := b.client.Comment(ctx, tk.Ticket, "9")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.DownloadAttachment(ctx, cm.Attachments[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.APIUserID(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.EnsureWebhook(ctx, &connectors.EnsureWebhookParams{Endpoint: "https://bridge.test/zendesk", Name: "deskbridge"}); err != nil {
		t.Fatal(err)
	}
}

// TestAuthHeaders runs every operation with each credential kind and
// checks the Authorization header of every request, and that a rotated
// secret is used by the next request.
func TestAuthHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config, *atomic.Int64)
		want   string
	}{
		{name: "api token", want: basicAuth, mutate: func(c *Config, _ *atomic.Int64) {}},
		{name: "oauth", want: "Bearer " + testOAuth, mutate: func(c *Config, n *atomic.Int64) {
			c.APIToken, c.Email = nil, ""
			c.OAuthToken = func(context.Context) (string, error) { n.Add(1); return testOAuth, nil }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			b := setup(t, func(c *Config) { tc.mutate(c, &calls) })
			allOperations(t, b)
			reqs := b.rec.all()
			if len(reqs) != 16 {
				t.Fatalf("only %d requests", len(reqs))
			}
			for _, r := range reqs {
				if got := r.Header.Get("Authorization"); got != tc.want {
					t.Errorf("%s %s Authorization = %q, want %q", r.Method, r.Path, got, tc.want)
				}
			}
			if tc.name == "oauth" && calls.Load() < int64(len(reqs)) {
				t.Errorf("token resolved %d times for %d requests: not per request", calls.Load(), len(reqs))
			}
		})
	}
}

func TestTokenFailure(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) {
		c.APIToken = func(context.Context) (string, error) { return "", errors.New("vault sealed") }
	})
	b.on("GET", "/api/v2/tickets/1.json", ok(`{"ticket":{"id":1}}`))
	_, err := b.client.Ticket(t.Context(), connectors.TicketRef{ID: "1"})
	if err == nil || !strings.Contains(err.Error(), "vault sealed") {
		t.Fatalf("Ticket = %v, want the token error", err)
	}
	if n := len(b.rec.all()); n != 0 {
		t.Errorf("%d requests sent without credentials", n)
	}
	if _, err := b.client.DownloadAttachment(t.Context(), connectors.RemoteAttachment{URL: testBase + "/attachments/x"}); connectors.KindOf(err) != connectors.Auth {
		t.Errorf("download without a token = %v, want Auth", err)
	}
}
