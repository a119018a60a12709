package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/deskbridge/deskbridge/server"
	"github.com/deskbridge/deskbridge/telemetry"
)

type fakeHelpdesk struct {
	status int
	result string
	err    error
	got    string
}

func (f *fakeHelpdesk) AcceptHelpdesk(_ context.Context, vendor string, h http.Header, body []byte) (int, string, string, error) {
	f.got = vendor + " " + h.Get("X-Zendesk-Webhook-Signature") + " " + string(body)
	return f.status, "agent_reply", f.result, f.err
}

func TestHelpdeskWebhook(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fake   fakeHelpdesk
		body   string
		code   int
		result string
	}{
		{"stored", fakeHelpdesk{status: 200, result: "stored"}, `{"ticket_id":"1"}`, 200, "stored"},
		{"echo ignored", fakeHelpdesk{status: 200, result: "ignored"}, `{"ticket_id":"1"}`, 200, "ignored"},
		{"bad signature", fakeHelpdesk{status: 401, err: errors.New("zendesk: signature mismatch")}, `{}`, 401, ""},
		{"store down", fakeHelpdesk{status: 503, err: errors.New("disk full")}, `{}`, 503, ""},
		{"too large", fakeHelpdesk{status: 200, result: "stored"}, strings.Repeat("x", 2<<10), 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := telemetry.NewMetrics("test", "x")
			fake := tc.fake
			s, err := server.New(server.Options{
				MaxBodyBytes: 1 << 10, WhatsAppSecret: secret(appSecret), VerifyToken: secret(verifyToken),
				Acceptor: &fakeAcceptor{seen: map[string]bool{}}, Helpdesk: &fake, Metrics: m,
			})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/webhooks/zendesk", strings.NewReader(tc.body))
			req.Header.Set("X-Zendesk-Webhook-Signature", "c2ln")
			rec := httptest.NewRecorder()
			s.PublicHandler().ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("code = %d (%s), want %d", rec.Code, rec.Body.String(), tc.code)
			}
			if tc.code == 413 && fake.got != "" {
				t.Error("an oversized body reached the acceptor")
			}
			if tc.code != 413 && fake.got != "zendesk c2ln "+tc.body {
				t.Errorf("acceptor got %q", fake.got)
			}
			if tc.result != "" {
				if v := testutil.ToFloat64(m.WebhookEvents.WithLabelValues("zendesk", "agent_reply", tc.result)); v != 1 {
					t.Errorf("events{%s} = %v", tc.result, v)
				}
			}
			if v := testutil.ToFloat64(m.WebhookRequests.WithLabelValues("zendesk", strconv.Itoa(tc.code))); v != 1 {
				t.Errorf("requests{code=%d} = %v", tc.code, v)
			}
		})
	}
}
