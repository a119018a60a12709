package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/server"
	"github.com/deskbridge/deskbridge/telemetry"
)

const (
	appSecret   = "test-app-secret"
	verifyToken = "test-verify-token"
)

// fakeAcceptor remembers keys like the store does.
type fakeAcceptor struct {
	mu   sync.Mutex
	seen map[string]bool
	err  error
}

func (f *fakeAcceptor) AcceptWhatsApp(_ context.Context, evs []whatsapp.Event) ([]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	dups := make([]bool, len(evs))
	for i, ev := range evs {
		k := string(ev.Kind) + "|" + ev.Key
		dups[i] = f.seen[k]
		f.seen[k] = true
	}
	return dups, nil
}

func secret(s string) server.SecretFunc {
	return func(context.Context) ([]byte, error) { return []byte(s), nil }
}

func newServer(t *testing.T, acc server.Acceptor, ready server.ReadyFunc) (*server.Server, *telemetry.Metrics) {
	t.Helper()
	m := telemetry.NewMetrics("test", "abc")
	s, err := server.New(server.Options{
		PublicAddr: "127.0.0.1:0", InternalAddr: "127.0.0.1:0",
		MaxBodyBytes:   1 << 10,
		WhatsAppSecret: secret(appSecret), VerifyToken: secret(verifyToken),
		Acceptor: acc, Ready: ready, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

const textBody = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ren\u00e9"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.T1","timestamp":"1749416383","type":"text","text":{"body":"Ol\u00e1"}}]}}]}]}`

func TestVerifyHandshake(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, &fakeAcceptor{seen: map[string]bool{}}, nil)
	for _, tc := range []struct {
		name, query string
		code        int
		body        string
	}{
		{"ok", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + verifyToken, 200, "1158201444"},
		{"ok non-numeric challenge", "hub.mode=subscribe&hub.challenge=abc-XYZ_1&hub.verify_token=" + verifyToken, 200, "abc-XYZ_1"},
		{"wrong token", "hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope", 403, ""},
		{"missing token", "hub.mode=subscribe&hub.challenge=1", 403, ""},
		{"wrong mode", "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" + verifyToken, 403, ""},
		{"no params", "", 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.PublicHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/whatsapp?"+tc.query, nil))
			if rec.Code != tc.code {
				t.Fatalf("code = %d, want %d", rec.Code, tc.code)
			}
			if tc.code == 200 {
				if rec.Body.String() != tc.body {
					t.Errorf("body = %q, want %q", rec.Body.String(), tc.body)
				}
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("content type = %q, want text/plain", ct)
				}
			}
		})
	}
}

func post(s *server.Server, body, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/whatsapp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	rec := httptest.NewRecorder()
	s.PublicHandler().ServeHTTP(rec, req)
	return rec
}

func TestReceive(t *testing.T) {
	t.Parallel()
	sign := func(b string) string { return whatsapp.Sign([]byte(b), []byte(appSecret)) }
	big := `{"object":"whatsapp_business_account","entry":[],"pad":"` + strings.Repeat("x", 2<<10) + `"}`
	for _, tc := range []struct {
		name       string
		body, sig  string
		acceptErr  error
		code       int
		wantStored bool
	}{
		{"signed", textBody, sign(textBody), nil, 200, true},
		{"missing signature", textBody, "", nil, 401, false},
		{"malformed signature", textBody, "sha1=abc", nil, 401, false},
		{"wrong secret", textBody, whatsapp.Sign([]byte(textBody), []byte("other")), nil, 401, false},
		{"re-encoded body", strings.ReplaceAll(textBody, `\u00e9`, "é"), sign(textBody), nil, 401, false},
		{"too large", big, sign(big), nil, 413, false},
		{"malformed json", `{"object":`, sign(`{"object":`), nil, 400, false},
		{"not whatsapp", `{"object":"page","entry":[]}`, sign(`{"object":"page","entry":[]}`), nil, 400, false},
		{"store down", textBody, sign(textBody), errors.New("disk full"), 503, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc := &fakeAcceptor{seen: map[string]bool{}, err: tc.acceptErr}
			s, _ := newServer(t, acc, nil)
			rec := post(s, tc.body, tc.sig)
			if rec.Code != tc.code {
				t.Fatalf("code = %d (%s), want %d", rec.Code, rec.Body.String(), tc.code)
			}
			if got := len(acc.seen) > 0; got != tc.wantStored {
				t.Errorf("stored = %v, want %v", got, tc.wantStored)
			}
		})
	}
}

func TestMetricsAndProbes(t *testing.T) {
	t.Parallel()
	var ready error
	s, _ := newServer(t, &fakeAcceptor{seen: map[string]bool{}}, func(context.Context) error { return ready })
	sig := whatsapp.Sign([]byte(textBody), []byte(appSecret))
	post(s, textBody, sig)
	post(s, textBody, sig) // re-delivery
	post(s, textBody, "")

	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		s.InternalHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`deskbridge_webhook_requests_total{code="200",source="whatsapp"} 2`,
		`deskbridge_webhook_requests_total{code="401",source="whatsapp"} 1`,
		`deskbridge_webhook_events_total{kind="message",result="stored",source="whatsapp"} 1`,
		`deskbridge_webhook_events_total{kind="message",result="duplicate",source="whatsapp"} 1`,
		`deskbridge_build_info{commit="abc",version="test"} 1`,
		`go_goroutines`, `process_`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "16505551234") {
		t.Error("/metrics shows a phone number")
	}
	if code, _ := get("/livez"); code != 200 {
		t.Errorf("/livez = %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d, want 200", code)
	}
	ready = errors.New("store: ping: unreachable")
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "unreachable") {
		t.Errorf("/readyz = %d %q, want 503 naming the cause", code, body)
	}
}
