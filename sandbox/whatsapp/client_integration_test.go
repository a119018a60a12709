package whatsapp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	wa "github.com/deskbridge/deskbridge/connectors/whatsapp"
	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
)

const (
	itToken    = "integration-token"
	itSecret   = "integration-secret"
	itPhoneID  = "106540352242922"
	itWABAID   = "102290129340398"
	itCustomer = "+34600111222"
)

// receiver collects the webhooks the fake sends, checking each signature
// with the bridge's own verifier.
type receiver struct {
	mu     sync.Mutex
	events []wa.Event
	bad    int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := wa.VerifySignature(body, req.Header.Get("X-Hub-Signature-256"), []byte(itSecret)); err != nil {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	evs, err := wa.ParseNotification(body)
	if err != nil {
		r.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.events = append(r.events, evs...)
}

func (r *receiver) statuses(wamid string) []*wa.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*wa.Status
	for _, e := range r.events {
		if e.Status != nil && e.Status.ID == wamid {
			out = append(out, e.Status)
		}
	}
	return out
}

type itBundle struct {
	fake   *sbwhatsapp.Server
	srv    *httptest.Server
	rcv    *receiver
	client *wa.Client
	cache  *wa.TemplateCache
	token  string
}

func itSetup(t *testing.T) *itBundle {
	t.Helper()
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	fake := sbwhatsapp.New(sbwhatsapp.Options{
		AccessToken: itToken, AppSecret: itSecret, CallbackURL: hook.URL,
		Numbers:   []sbwhatsapp.Number{{PhoneNumberID: itPhoneID, WABAID: itWABAID, DisplayPhoneNumber: "+1 555-078-3881"}},
		Templates: sbwhatsapp.DefaultTemplates(),
	})
	t.Cleanup(fake.Close)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.SetBaseURL(srv.URL)
	b := &itBundle{fake: fake, srv: srv, rcv: rcv, token: itToken}
	cfg := wa.Config{
		APIBaseURL: srv.URL, APIVersion: "v23.0", PhoneNumberID: itPhoneID, WABAID: itWABAID,
		Token: func(context.Context) (string, error) { return b.token, nil },
	}
	lister, err := wa.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.cache = wa.NewTemplateCache(lister, wa.NewMemoryTemplateStore(), time.Hour, nil)
	cfg.Templates = b.cache
	if b.client, err = wa.NewClient(cfg); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *itBundle) customerWrites(t *testing.T) {
	t.Helper()
	if _, status, err := b.fake.Inbound(context.Background(), sbwhatsapp.InboundParams{From: itCustomer, Name: "Ana", Text: "Hola"}); err != nil || status != 200 {
		t.Fatalf("inbound: status %d err %v", status, err)
	}
}

func kindOf(t *testing.T, err error) *connectors.Error {
	t.Helper()
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *connectors.Error", err)
	}
	return ce
}

func TestClientWindowClosedThenOpen(t *testing.T) {
	t.Parallel()
	b := itSetup(t)
	ctx := context.Background()
	_, err := b.client.Send(ctx, wa.TextMessage(itCustomer, "Hello"))
	if ce := kindOf(t, err); ce.Kind != connectors.WindowClosed || ce.Code != "131047" || !ce.Permanent() {
		t.Fatalf("outside the window: %+v", ce)
	}
	b.customerWrites(t)
	res, err := b.client.Send(ctx, wa.TextMessage(itCustomer, "Hello Ana").WithCallbackData("bridge-msg-1"))
	if err != nil {
		t.Fatalf("inside the window: %v", err)
	}
	out := b.fake.Outbound(itCustomer)
	if len(out) != 1 || out[0].ID != res.MessageID {
		t.Fatalf("fake outbound = %+v, want the one message %s", out, res.MessageID)
	}
	// 25 hours later the window has closed again.
	b.fake.AdvanceClock(25 * time.Hour)
	if _, err := b.client.Send(ctx, wa.TextMessage(itCustomer, "late")); kindOf(t, err).Kind != connectors.WindowClosed {
		t.Errorf("after 25h: %v", err)
	}
	// A template still goes through.
	if _, err := b.client.Send(ctx, wa.TemplateMessage(itCustomer, &wa.TemplateParams{Name: "reengage", Language: "en_US",
		Body: []wa.TemplateParam{wa.TextParam("Ana")}})); err != nil {
		t.Errorf("template after 25h: %v", err)
	}
	// Statuses come back signed, with the bridge's own id.
	if err := b.fake.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sts := b.rcv.statuses(res.MessageID)
	if len(sts) != 3 || sts[0].BizOpaqueCallbackData != "bridge-msg-1" {
		t.Errorf("statuses of %s = %d (%+v), want sent, delivered, read with callback data", res.MessageID, len(sts), sts)
	}
	if b.rcv.bad != 0 {
		t.Errorf("%d webhooks failed the signature or parse check", b.rcv.bad)
	}
}

func TestClientTemplateMismatchCaughtLocally(t *testing.T) {
	t.Parallel()
	b := itSetup(t)
	ctx := context.Background()
	b.customerWrites(t)
	for _, tc := range []struct {
		name string
		p    *wa.TemplateParams
	}{
		{"missing parameter", &wa.TemplateParams{Name: "reengage", Language: "en_US"}},
		{"unknown language", &wa.TemplateParams{Name: "reengage", Language: "fr_FR", Body: []wa.TemplateParam{wa.TextParam("x")}}},
		{"named vs positional", &wa.TemplateParams{Name: "welcome_named", Language: "es_ES", Body: []wa.TemplateParam{wa.TextParam("Ana")}}},
		{"header format", &wa.TemplateParams{Name: "order_update", Language: "en_US", Header: ptr(wa.TextParam("x")),
			Body: []wa.TemplateParam{wa.TextParam("a"), wa.TextParam("b"), wa.TextParam("c")}}},
	} {
		before := len(b.fake.Outbound(itCustomer))
		_, err := b.client.Send(ctx, wa.TemplateMessage(itCustomer, tc.p))
		ce := kindOf(t, err)
		if ce.Kind != connectors.Permanent || ce.Code != "" || ce.Message == "" {
			t.Errorf("%s: %+v, want a local permanent error naming the problem", tc.name, ce)
		}
		if len(b.fake.Outbound(itCustomer)) != before {
			t.Errorf("%s: the request reached the API", tc.name)
		}
	}
	// A template paused after the cache was filled is caught once the
	// status webhook reaches the cache.
	if _, err := b.fake.SetTemplateStatus(sbwhatsapp.TemplateStatusParams{Name: "reengage", Language: "en_US", Status: "PAUSED"}); err != nil {
		t.Fatal(err)
	}
	if err := b.cache.HandleStatusUpdate(ctx, "reengage", "en_US", "PAUSED"); err != nil {
		t.Fatal(err)
	}
	_, err := b.client.Send(ctx, wa.TemplateMessage(itCustomer, &wa.TemplateParams{Name: "reengage", Language: "en_US", Body: []wa.TemplateParam{wa.TextParam("Ana")}}))
	if ce := kindOf(t, err); ce.Kind != connectors.Permanent || ce.Code != "" {
		t.Errorf("paused template: %+v", ce)
	}
}

func ptr[T any](v T) *T { return &v }

// sendWithBackoff retries rate-limited sends, waiting on the fake's clock
// as long as the error asks, and returns the waits it took.
func sendWithBackoff(t *testing.T, b *itBundle, p *wa.SendParams) []time.Duration {
	t.Helper()
	var waits []time.Duration
	for attempt := 0; attempt < 6; attempt++ {
		_, err := b.client.Send(context.Background(), p)
		if err == nil {
			return waits
		}
		ce := kindOf(t, err)
		if ce.Kind != connectors.RateLimited || ce.RetryAfter() <= 0 {
			t.Fatalf("attempt %d: %+v, want rate limited with a wait", attempt, ce)
		}
		wait := ce.RetryAfter()
		if ce.Code == "131056" {
			wait = max(wait, wa.PairRateBackoff(attempt))
		}
		waits = append(waits, wait)
		b.fake.AdvanceClock(wait)
	}
	t.Fatal("still rate limited after 6 attempts")
	return nil
}

func TestClientThroughputBackoffThenSuccess(t *testing.T) {
	t.Parallel()
	b := itSetup(t)
	b.customerWrites(t)
	if _, err := b.fake.SetLimits(sbwhatsapp.Limits{ThroughputMPS: 1, PairLimit: 100, PairWindow: 6 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Send(context.Background(), wa.TextMessage(itCustomer, "one")); err != nil {
		t.Fatal(err)
	}
	_, err := b.client.Send(context.Background(), wa.TextMessage(itCustomer, "two"))
	if ce := kindOf(t, err); ce.Code != "130429" || ce.Kind != connectors.RateLimited {
		t.Fatalf("over throughput: %+v", ce)
	}
	waits := sendWithBackoff(t, b, wa.TextMessage(itCustomer, "two"))
	if len(waits) == 0 {
		t.Error("succeeded without waiting")
	}
	if n := len(b.fake.Outbound(itCustomer)); n != 2 {
		t.Errorf("delivered %d messages, want 2 (none lost, none doubled)", n)
	}
}

func TestClientPairRateBackoffThenSuccess(t *testing.T) {
	t.Parallel()
	b := itSetup(t)
	b.customerWrites(t)
	if _, err := b.fake.SetLimits(sbwhatsapp.Limits{ThroughputMPS: 80, PairLimit: 1, PairWindow: 6 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Send(context.Background(), wa.TextMessage(itCustomer, "one")); err != nil {
		t.Fatal(err)
	}
	waits := sendWithBackoff(t, b, wa.TextMessage(itCustomer, "two"))
	if len(waits) < 2 || waits[1] < 4*time.Second {
		t.Errorf("waits = %v, want the 4^X backoff (1s, 4s, …) until the 6 s window passes", waits)
	}
	if n := len(b.fake.Outbound(itCustomer)); n != 2 {
		t.Errorf("delivered %d messages, want 2", n)
	}
}

func TestClientTokenRejected(t *testing.T) {
	t.Parallel()
	b := itSetup(t)
	b.token = "revoked-token"
	_, err := b.client.PhoneNumberInfo(context.Background())
	ce := kindOf(t, err)
	if ce.Kind != connectors.Auth || ce.Status != 401 || ce.Permanent() {
		t.Errorf("bad token: %+v", ce)
	}
	b.token = itToken // rotated: the next call uses the new value
	info, err := b.client.PhoneNumberInfo(context.Background())
	if err != nil || info.ID != itPhoneID {
		t.Errorf("after rotation: %+v %v", info, err)
	}
}

func TestClientMediaRoundTripAndExpiredURL(t *testing.T) {
	t.Parallel()
	b := itSetup(t)
	ctx := context.Background()
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 3000)...)
	id, err := b.client.Upload(ctx, "invoice.pdf", "application/pdf", pdf)
	if err != nil {
		t.Fatal(err)
	}
	data, mime, err := b.client.Download(ctx, id)
	if err != nil || !bytes.Equal(data, pdf) || mime != "application/pdf" {
		t.Fatalf("download: %d bytes, %q, %v", len(data), mime, err)
	}
	info, err := b.client.MediaURL(ctx, id)
	if err != nil || info.FileSize != int64(len(pdf)) {
		t.Fatalf("media url: %+v %v", info, err)
	}
	// The URL expires after 5 minutes; the client re-resolves once.
	b.fake.AdvanceClock(6 * time.Minute)
	req, _ := http.NewRequest(http.MethodGet, info.URL, nil)
	req.Header.Set("Authorization", "Bearer "+itToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("expired URL answered %v %v, want 404", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	data, _, err = b.client.DownloadURL(ctx, info.URL, id)
	if err != nil || !bytes.Equal(data, pdf) {
		t.Fatalf("download of an expired URL: %d bytes, %v", len(data), err)
	}
	// Send it inside the window, by id.
	b.customerWrites(t)
	if _, err := b.client.Send(ctx, wa.DocumentMessage(itCustomer, wa.MediaParams{ID: id, Filename: "invoice.pdf", Caption: "Your invoice"})); err != nil {
		t.Errorf("send document: %v", err)
	}
	if err := b.client.DeleteMedia(ctx, id); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, _, err := b.client.Download(ctx, id); err == nil {
		t.Error("deleted media still downloads")
	}
	// Inbound media from a customer downloads the same way.
	wamid, _, err := b.fake.Inbound(ctx, sbwhatsapp.InboundParams{From: itCustomer, Name: "Ana", Type: "image",
		Media: &sbwhatsapp.InboundMedia{MimeType: "image/png", DataBase64: tinyPNG, Caption: "foto"}})
	if err != nil {
		t.Fatal(err)
	}
	var img *wa.Media
	b.rcv.mu.Lock()
	for _, e := range b.rcv.events {
		if e.Message != nil && e.Message.ID == wamid {
			img = e.Message.Image
		}
	}
	b.rcv.mu.Unlock()
	if img == nil {
		t.Fatal("the image webhook did not arrive")
	}
	if data, mime, err := b.client.Download(ctx, img.ID); err != nil || len(data) == 0 || mime != "image/png" {
		t.Errorf("inbound image download: %d bytes %q %v", len(data), mime, err)
	}
}

func TestClientFailedStatusMapsToKind(t *testing.T) {
	t.Parallel()
	b := itSetup(t)
	ctx := context.Background()
	b.customerWrites(t)
	opts := sbwhatsapp.DefaultWebhookOptions()
	opts.FailNext = 131049
	b.fake.SetWebhookOptions(opts)
	res, err := b.client.Send(ctx, wa.TextMessage(itCustomer, "promo"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.fake.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var failed *wa.Status
	for _, s := range b.rcv.statuses(res.MessageID) {
		if s.Status == "failed" {
			failed = s
		}
	}
	if failed == nil || len(failed.Errors) == 0 {
		t.Fatalf("no failed status for %s", res.MessageID)
	}
	if ce := wa.StatusError(failed.Errors[0]); ce.Kind != connectors.RateLimited || ce.Code != "131049" || ce.RetryAfter() < time.Hour {
		t.Errorf("failed status error = %+v", ce)
	}
}

// tinyPNG is a 1×1 transparent PNG.
const tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
