package whatsapp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	wa "github.com/deskbridge/deskbridge/connectors/whatsapp"
)

func TestInboundWebhooks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name  string
		p     InboundParams
		check func(t *testing.T, e wa.Event)
	}{
		{"text", InboundParams{From: customer, Name: "Ana", Text: "Does it come in blue?"}, func(t *testing.T, e wa.Event) {
			if e.Message.Text == nil || e.Message.Text.Body != "Does it come in blue?" || e.Message.Contact.Name != "Ana" {
				t.Errorf("message = %+v", e.Message)
			}
		}},
		{"image with caption", InboundParams{From: customer, Type: "image", Media: &InboundMedia{
			MimeType: "image/png", DataBase64: base64.StdEncoding.EncodeToString(pngBytes), Caption: "look"}}, func(t *testing.T, e wa.Event) {
			m := e.Message.Image
			if m == nil || m.MimeType != "image/png" || m.Caption != "look" || m.ID == "" || m.SHA256 == "" || !strings.Contains(m.URL, "/_media/"+m.ID) {
				t.Errorf("image = %+v", m)
			}
		}},
		{"document", InboundParams{From: customer, Type: "document", Media: &InboundMedia{Filename: "invoice.pdf"}}, func(t *testing.T, e wa.Event) {
			if d := e.Message.Document; d == nil || d.Filename != "invoice.pdf" || d.MimeType != "application/pdf" {
				t.Errorf("document = %+v", d)
			}
		}},
		{"voice note", InboundParams{From: customer, Type: "audio", Media: &InboundMedia{Voice: true}}, func(t *testing.T, e wa.Event) {
			if a := e.Message.Audio; a == nil || !a.Voice || a.MimeType != "audio/ogg; codecs=opus" {
				t.Errorf("audio = %+v", a)
			}
		}},
		{"video", InboundParams{From: customer, Type: "video"}, func(t *testing.T, e wa.Event) {
			if e.Message.Video == nil || e.Message.Video.MimeType != "video/mp4" {
				t.Errorf("video = %+v", e.Message.Video)
			}
		}},
		{"sticker", InboundParams{From: customer, Type: "sticker", Media: &InboundMedia{Animated: true}}, func(t *testing.T, e wa.Event) {
			if s := e.Message.Sticker; s == nil || !s.Animated || s.MimeType != "image/webp" {
				t.Errorf("sticker = %+v", s)
			}
		}},
		{"location", InboundParams{From: customer, Type: "location", Location: &InboundLocation{Latitude: 40.4168, Longitude: -3.7038, Name: "Sol"}}, func(t *testing.T, e wa.Event) {
			if l := e.Message.Location; l == nil || l.Latitude != 40.4168 || l.Longitude != -3.7038 || l.Name != "Sol" {
				t.Errorf("location = %+v", l)
			}
		}},
		{"contacts", InboundParams{From: customer, Type: "contacts", Text: "Bob"}, func(t *testing.T, e wa.Event) {
			if len(e.Message.Contacts) != 1 || e.Message.Contacts[0].Name.FormattedName != "Bob" {
				t.Errorf("contacts = %+v", e.Message.Contacts)
			}
		}},
		{"reaction", InboundParams{From: customer, Type: "reaction", Reaction: &InboundReaction{MessageID: "wamid.X", Emoji: "❤️"}}, func(t *testing.T, e wa.Event) {
			if r := e.Message.Reaction; r == nil || r.MessageID != "wamid.X" || r.Emoji != "❤️" {
				t.Errorf("reaction = %+v", r)
			}
		}},
		{"quick-reply button with context", InboundParams{From: customer, Type: "button", Button: &InboundButton{Payload: "SUPPORT", Text: "Talk to support"},
			Context: &InboundContext{ID: "wamid.T"}}, func(t *testing.T, e wa.Event) {
			if bt := e.Message.Button; bt == nil || bt.Payload != "SUPPORT" || e.Message.Context == nil || e.Message.Context.ID != "wamid.T" ||
				e.Message.Context.From != "15550783881" {
				t.Errorf("button = %+v, context = %+v", bt, e.Message.Context)
			}
		}},
		{"list reply", InboundParams{From: customer, Type: "interactive", Interactive: &InboundInteractive{Type: "list_reply", ID: "a1", Title: "One", Description: "d"}}, func(t *testing.T, e wa.Event) {
			if in := e.Message.Interactive; in == nil || in.Type != "list_reply" || in.ListReply == nil || in.ListReply.ID != "a1" {
				t.Errorf("interactive = %+v", in)
			}
		}},
		{"unsupported", InboundParams{From: customer, Type: "unsupported", Text: "poll_creation"}, func(t *testing.T, e wa.Event) {
			if len(e.Message.Errors) != 1 || e.Message.Errors[0].Code != 131051 || e.Message.Unsupported == nil || e.Message.Unsupported.Type != "poll_creation" {
				t.Errorf("message = %+v", e.Message)
			}
		}},
		{"system number change", InboundParams{From: customer, Type: "system", System: &InboundSystem{WAID: "+34600999000"}}, func(t *testing.T, e wa.Event) {
			if s := e.Message.System; s == nil || s.Type != "user_changed_number" || s.WAID != "34600999000" || e.Message.Contact != nil {
				t.Errorf("system = %+v contact %+v", s, e.Message.Contact)
			}
		}},
		{"username user", InboundParams{UserID: "US.13491208655302741918", Name: "Kim", Text: "hi"}, func(t *testing.T, e wa.Event) {
			if e.UserID != "US.13491208655302741918" || e.ContactKey != "US.13491208655302741918" || e.WAID != "" {
				t.Errorf("event = %+v", e)
			}
		}},
		{"second number", InboundParams{PhoneNumberID: testPN2, From: customer, Text: "hola"}, func(t *testing.T, e wa.Event) {
			if e.PhoneNumberID != testPN2 || e.WABAID != testWABA2 || e.DisplayPhoneNumber != "34910000000" {
				t.Errorf("event = %+v", e)
			}
		}},
	}
	ids := map[string]string{}
	for _, tc := range tests {
		ids[tc.name] = b.inbound(t, tc.p)
	}
	events := b.recv.events(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := slices.IndexFunc(events, func(e wa.Event) bool { return e.Kind == wa.KindMessage && e.Message.ID == ids[tc.name] })
			if i < 0 {
				t.Fatalf("no webhook for %s", ids[tc.name])
			}
			e := events[i]
			if e.Timestamp.Unix() != testBase.Unix() || e.Field != "messages" {
				t.Errorf("event = %+v", e)
			}
			if tc.p.From != "" && e.WAID != "34600111222" {
				t.Errorf("wa_id = %q", e.WAID)
			}
			tc.check(t, e)
		})
	}
}

func TestInboundRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, p := range []InboundParams{
		{Text: "no sender"},
		{From: "+1", Text: "short"},
		{From: customer, Type: "poll"},
		{From: customer, Type: "text"},
		{From: customer, Type: "reaction"},
		{From: customer, PhoneNumberID: "999", Text: "x"},
		{UserID: "not-a-bsuid", Text: "x"},
	} {
		if _, _, err := b.fake.Inbound(context.Background(), p); !errors.Is(err, ErrInvalidInbound) {
			t.Errorf("Inbound(%+v) err = %v, want ErrInvalidInbound", p, err)
		}
	}
}

func TestNonASCIIIsEscapedAndSigned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.inbound(t, InboundParams{From: customer, Name: "José Ñandú", Text: "¿Tienen talla M? 😀 <b>&"})
	got := b.recv.all(t)
	if len(got) != 1 {
		t.Fatalf("%d webhooks", len(got))
	}
	body := got[0].body
	if hasNonASCII(body) {
		t.Errorf("body has raw non-ASCII bytes: %s", body)
	}
	for _, want := range []string{`Jos\u00e9 \u00d1and\u00fa`, `\ud83d\ude00`, `<b>&`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	e := got[0].events[0]
	if e.Message.Text.Body != "¿Tienen talla M? 😀 <b>&" || e.Message.Contact.Name != "José Ñandú" {
		t.Errorf("decoded = %q / %q", e.Message.Text.Body, e.Message.Contact.Name)
	}
}

func TestStatusWebhooks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    func(o *WebhookOptions)
		recvErr int // the receiver answers 500 this many times first
		want    []string
		wantN   int // deliveries received in total (including failed answers)
		check   func(t *testing.T, b *testBundle, wamid string)
	}{
		{name: "sent delivered read", want: []string{"sent", "delivered", "read"}, wantN: 4, check: func(t *testing.T, b *testBundle, wamid string) {
			for _, e := range b.recv.events(t) {
				if e.Kind != wa.KindStatus {
					continue
				}
				s := e.Status
				if s.RecipientID != "34600111222" || s.BizOpaqueCallbackData != "ticket-42" || e.Timestamp.Unix() != testBase.Unix() {
					t.Errorf("status = %+v", s)
				}
				if (s.Status == "sent") != (s.Conversation != nil && !s.Conversation.ExpirationTimestamp.IsZero()) {
					t.Errorf("%s: conversation = %+v", s.Status, s.Conversation)
				}
				if s.Status == "sent" && (s.Pricing == nil || s.Pricing.Category != "service" || s.Pricing.Type != "free_customer_service" || s.Pricing.PricingModel != "PMP") {
					t.Errorf("sent pricing = %+v", s.Pricing)
				}
				if s.Status == "read" && s.Pricing != nil {
					t.Errorf("read carries pricing")
				}
			}
			if got := b.fake.Outbound(customer); len(got) != 1 || got[0].Status != "read" {
				t.Errorf("outbound = %+v", got)
			}
		}},
		{name: "fail next", opts: func(o *WebhookOptions) { o.FailNext = 131026 }, want: []string{"sent", "failed"}, wantN: 3, check: func(t *testing.T, b *testBundle, wamid string) {
			for _, e := range b.recv.events(t) {
				if e.Kind == wa.KindStatus && e.Status.Status == "failed" {
					errs := e.Status.Errors
					if len(errs) != 1 || errs[0].Code != 131026 || errs[0].Title != "Message undeliverable" || errs[0].Details == "" || errs[0].Href == "" {
						t.Errorf("errors = %+v", errs)
					}
				}
			}
			if got := b.fake.Outbound(customer); got[0].Status != "failed" || got[0].ErrorCode != 131026 {
				t.Errorf("outbound = %+v", got)
			}
			if b.fake.WebhookOptions().FailNext != 0 {
				t.Error("FailNext was not used up")
			}
		}},
		{name: "duplicate", opts: func(o *WebhookOptions) { o.Duplicate = true },
			want: []string{"sent", "sent", "delivered", "delivered", "read", "read"}, wantN: 7},
		{name: "out of order", opts: func(o *WebhookOptions) { o.OutOfOrder = true },
			want: []string{"delivered", "sent", "read"}, wantN: 4},
		// sent and delivered are answered 500 and retried after read went
		// through: retries reorder webhooks, as with Meta.
		{name: "retry after a 500", recvErr: 2, want: []string{"read", "sent", "delivered"}, wantN: 6},
		{name: "statuses disabled", opts: func(o *WebhookOptions) { o.StatusesEnabled = false }, want: nil, wantN: 1},
		{name: "status delay", opts: func(o *WebhookOptions) { o.StatusDelay = 5 * time.Millisecond },
			want: []string{"sent", "delivered", "read"}, wantN: 4},
		{name: "status delay out of order", opts: func(o *WebhookOptions) { o.StatusDelay = 5 * time.Millisecond; o.OutOfOrder = true },
			want: []string{"delivered", "sent", "read"}, wantN: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			withCustomer(t, b)
			o := b.fake.WebhookOptions()
			if tc.opts != nil {
				tc.opts(&o)
			}
			b.fake.SetWebhookOptions(o)
			b.recv.failNext(tc.recvErr)
			body := text(customer, "Your order has shipped")
			body["biz_opaque_callback_data"] = "ticket-42"
			status, resp := b.send(t, body)
			if status != 200 {
				t.Fatalf("send: %d %v", status, resp)
			}
			b.flush(t)
			wamid := str(resp, "messages", 0, "id")
			if got := b.recv.statuses(t, wamid); !slices.Equal(got, tc.want) {
				t.Errorf("statuses = %v, want %v", got, tc.want)
			}
			if got := len(b.recv.all(t)); got != tc.wantN {
				t.Errorf("%d webhooks received, want %d", got, tc.wantN)
			}
			if tc.check != nil {
				tc.check(t, b, wamid)
			}
		})
	}
}

func TestTemplateStatusPricing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, resp := b.send(t, tpl("welcome_named", "es_ES", comp("body", named("first_name", "Ana"))))
	if status != 200 {
		t.Fatalf("%d %v", status, resp)
	}
	b.flush(t)
	for _, e := range b.recv.events(t) {
		if e.Kind == wa.KindStatus && e.Status.Status == "sent" {
			if p := e.Status.Pricing; p == nil || !p.Billable || p.Category != "marketing" || p.Type != "regular" {
				t.Errorf("pricing = %+v", p)
			}
			return
		}
	}
	t.Fatal("no sent status")
}

func TestWindowFailureAsync(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.fake.WebhookOptions()
	o.WindowFailureAsync = true
	b.fake.SetWebhookOptions(o)
	status, resp := b.send(t, text(customer, "late reply"))
	if status != 200 {
		t.Fatalf("%d %v", status, resp)
	}
	b.flush(t)
	wamid := str(resp, "messages", 0, "id")
	if got := b.recv.statuses(t, wamid); !slices.Equal(got, []string{"failed"}) {
		t.Fatalf("statuses = %v", got)
	}
	if e := b.recv.events(t)[0]; e.Status.Errors[0].Code != 131047 {
		t.Errorf("errors = %+v", e.Status.Errors)
	}
}

func TestRetryGivesUpAndAsyncInbound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.recv.failNext(100)
	id, status, err := b.fake.Inbound(context.Background(), InboundParams{From: customer, Text: "x", Async: true})
	if err != nil || status != 0 || id == "" {
		t.Fatalf("async inbound: %q %d %v", id, status, err)
	}
	b.flush(t)
	d := b.fake.Deliveries()
	if len(d) != 1 || d[0].Attempts != 4 || d[0].Delivered || d[0].LastStatus != 500 || d[0].Error == "" {
		t.Fatalf("deliveries = %+v", d)
	}
	if n := len(b.recv.all(t)); n != 4 {
		t.Errorf("receiver saw %d attempts, want 4", n)
	}
	// The window opened even though the webhook was never accepted.
	if status, body := b.send(t, text(customer, "ok")); status != 200 {
		t.Errorf("send: %d %v", status, body)
	}
}

func TestSyncInboundReportsFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.CallbackURL = "" })
	_, status, err := b.fake.Inbound(context.Background(), InboundParams{From: customer, Text: "x"})
	if !errors.Is(err, ErrDelivery) || status != 0 {
		t.Fatalf("no callback: %d %v", status, err)
	}
	b.fake.SetCallback(b.recv.srv.URL)
	b.recv.failNext(1)
	_, status, err = b.fake.Inbound(context.Background(), InboundParams{From: customer, Text: "y"})
	if err != nil || status != 500 {
		t.Fatalf("500 answer: %d %v", status, err)
	}
	b.flush(t)
	if got := b.recv.all(t); len(got) != 2 || got[1].answered != 200 || !bytes.Equal(got[0].body, got[1].body) {
		t.Errorf("retry: %d deliveries", len(got))
	}
}

func TestCloseStopsDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.Close()
	b.fake.Close()
	if _, _, err := b.fake.Inbound(context.Background(), InboundParams{From: customer, Text: "x"}); !errors.Is(err, ErrDelivery) {
		t.Errorf("Inbound after Close: %v", err)
	}
	b.flush(t)
}

func TestVerifyCallback(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != "vt" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(q.Get("hub.challenge")))
	}))
	t.Cleanup(hub.Close)
	b.fake.SetCallback(hub.URL)
	if err := b.fake.VerifyCallback(context.Background(), "vt"); err != nil {
		t.Errorf("good token: %v", err)
	}
	if err := b.fake.VerifyCallback(context.Background(), "wrong"); err == nil {
		t.Error("wrong token verified")
	}
}

func TestAsciiEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`{"a":"b"}`, `{"a":"b"}`},
		{`{"a":"é"}`, `{"a":"\u00e9"}`},
		{`{"a":"€😀"}`, `{"a":"\u20ac\ud83d\ude00"}`},
	}
	for _, tc := range tests {
		got := asciiEscape([]byte(tc.in))
		if string(got) != tc.want {
			t.Errorf("asciiEscape(%s) = %s, want %s", tc.in, got, tc.want)
		}
		var a, b any
		if json.Unmarshal([]byte(tc.in), &a) != nil || json.Unmarshal(got, &b) != nil || a.(map[string]any)["a"] != b.(map[string]any)["a"] {
			t.Errorf("%s changes meaning", tc.in)
		}
	}
}
