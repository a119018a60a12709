package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wa "github.com/deskbridge/deskbridge/connectors/whatsapp"
)

const (
	testToken   = "test-access-token"
	testSecret  = "test-app-secret"
	testPN      = "106540352242922"
	testWABA    = "102290129340398"
	testPN2     = "106540352242933"
	testWABA2   = "102290129340399"
	testVersion = "v23.0"
	customer    = "+34600111222"
)

// testBase is the fixed base clock of the tests.
var testBase = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// testBundle is a fake on httptest with a verifying webhook receiver.
type testBundle struct {
	fake *Server
	srv  *httptest.Server
	recv *receiver
}

// setup starts a fake with two numbers (US and ES), the default templates,
// a fixed base clock and a receiver as callback.
func setup(t *testing.T, mods ...func(*Options)) *testBundle {
	t.Helper()
	recv := newReceiver(t)
	opts := Options{
		APIVersion:  testVersion,
		AccessToken: testToken,
		AppSecret:   testSecret,
		CallbackURL: recv.srv.URL,
		Numbers: []Number{
			{PhoneNumberID: testPN, WABAID: testWABA, DisplayPhoneNumber: "+1 555-078-3881"},
			{PhoneNumberID: testPN2, WABAID: testWABA2, DisplayPhoneNumber: "+34 910 000 000"},
		},
		Templates: DefaultTemplates(),
		Now:       func() time.Time { return testBase },
		Webhook:   &WebhookOptions{StatusesEnabled: true, MaxAttempts: 4, RetryBackoff: 10 * time.Millisecond},
	}
	for _, m := range mods {
		m(&opts)
	}
	fake := New(opts)
	srv := httptest.NewServer(fake)
	fake.SetBaseURL(srv.URL)
	t.Cleanup(func() {
		fake.Close()
		srv.Close()
	})
	return &testBundle{fake: fake, srv: srv, recv: recv}
}

// do sends a request with the test token and decodes a JSON answer.
func (b *testBundle) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return b.doToken(t, method, path, body, testToken)
}

func (b *testBundle) doToken(t *testing.T, method, path string, body any, token string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out
}

// send posts a messages request for testPN.
func (b *testBundle) send(t *testing.T, body any) (int, map[string]any) {
	t.Helper()
	return b.do(t, http.MethodPost, "/"+testVersion+"/"+testPN+"/messages", body)
}

// inbound simulates a customer text message and returns its wamid.
func (b *testBundle) inbound(t *testing.T, p InboundParams) string {
	t.Helper()
	id, status, err := b.fake.Inbound(context.Background(), p)
	if err != nil || status != http.StatusOK {
		t.Fatalf("Inbound: status %d, err %v", status, err)
	}
	return id
}

// flush waits for the webhook queue.
func (b *testBundle) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.fake.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// text is a text send body to to.
func text(to, body string) map[string]any {
	return map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual",
		"to": to, "type": "text", "text": map[string]any{"body": body}}
}

// wantError checks a Meta error answer: HTTP status, error.code and a part
// of error_data.details (or of error.message when the error has no details).
func wantError(t *testing.T, status int, body map[string]any, wantStatus, wantCode int, wantText string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("status = %d, want %d (body %v)", status, wantStatus, body)
	}
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %v", body)
	}
	if code, _ := e["code"].(float64); int(code) != wantCode {
		t.Errorf("error.code = %v, want %d (%v)", e["code"], wantCode, e)
	}
	if _, ok := e["fbtrace_id"].(string); !ok {
		t.Errorf("error.fbtrace_id missing: %v", e)
	}
	if e["type"] == nil || e["message"] == nil {
		t.Errorf("error.type/message missing: %v", e)
	}
	text, _ := e["message"].(string)
	if d, ok := e["error_data"].(map[string]any); ok {
		if d["messaging_product"] != "whatsapp" {
			t.Errorf("error_data.messaging_product = %v", d["messaging_product"])
		}
		text, _ = d["details"].(string)
	}
	if !strings.Contains(text, wantText) {
		t.Errorf("error text %q does not contain %q", text, wantText)
	}
}

// receiver is a webhook endpoint that verifies and parses what it gets with
// the connector's own code. It never fails the test inside the handler.
type receiver struct {
	srv *httptest.Server

	mu   sync.Mutex
	fail int // answer 500 to this many next requests
	got  []received
}

type received struct {
	body     []byte
	sigErr   error
	parseErr error
	events   []wa.Event
	answered int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := received{body: body}
		d.sigErr = wa.VerifySignature(body, r.Header.Get(wa.SignatureHeader), []byte(testSecret))
		if r.Header.Get("Content-Type") != "application/json" {
			d.parseErr = io.ErrUnexpectedEOF
		}
		if d.parseErr == nil {
			d.events, d.parseErr = wa.ParseNotification(body)
		}
		rc.mu.Lock()
		d.answered = http.StatusOK
		if rc.fail > 0 {
			rc.fail--
			d.answered = http.StatusInternalServerError
		}
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		w.WriteHeader(d.answered)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) failNext(n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = n
}

// all returns every request so far, reporting bad signatures or bodies.
func (rc *receiver) all(t *testing.T) []received {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := append([]received(nil), rc.got...)
	for i, d := range out {
		if d.sigErr != nil {
			t.Errorf("webhook %d: signature: %v", i, d.sigErr)
		}
		if d.parseErr != nil {
			t.Errorf("webhook %d: parse: %v (%s)", i, d.parseErr, d.body)
		}
	}
	return out
}

// events returns the events of every accepted (200) request, in arrival order.
func (rc *receiver) events(t *testing.T) []wa.Event {
	t.Helper()
	var out []wa.Event
	for _, d := range rc.all(t) {
		if d.answered == http.StatusOK {
			out = append(out, d.events...)
		}
	}
	return out
}

// statuses returns the status values received for wamid, in arrival order.
func (rc *receiver) statuses(t *testing.T, wamid string) []string {
	t.Helper()
	var out []string
	for _, e := range rc.events(t) {
		if e.Kind == wa.KindStatus && e.Status.ID == wamid {
			out = append(out, e.Status.Status)
		}
	}
	return out
}

// str digs a string out of nested JSON maps and arrays.
func str(v any, path ...any) string {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return ""
			}
			v = a[k]
		}
	}
	s, _ := v.(string)
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
