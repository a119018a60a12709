package whatsapp

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// ctl calls the control API (no token).
func (b *testBundle) ctl(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return b.doToken(t, method, "/_sandbox/"+path, body, "")
}

func TestControlInboundOutbound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, body := b.ctl(t, http.MethodPost, "inbound", map[string]any{"from": customer, "name": "Ana", "text": "hola"})
	if status != 200 || !strings.HasPrefix(str(body, "id"), "wamid.") || body["webhook_status"] != float64(200) {
		t.Fatalf("inbound: %d %v", status, body)
	}
	inID := str(body, "id")
	if st, resp := b.send(t, text("+34 600 111 222", "hello")); st != 200 {
		t.Fatalf("send: %d %v", st, resp)
	}
	if st, resp := b.send(t, map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": inID,
		"typing_indicator": map[string]any{"type": "text"}}); st != 200 {
		t.Fatalf("mark read: %d %v", st, resp)
	}
	b.inbound(t, InboundParams{From: "+15551234567", Text: "x"})
	if st, resp := b.send(t, text("+15551234567", "other")); st != 200 {
		t.Fatalf("send: %d %v", st, resp)
	}
	tests := []struct {
		query         string
		wantMessages  int
		wantReadMarks int
	}{
		{"?to=%2B34600111222", 1, 1},
		{"?to=34600111222", 1, 1},
		{"?to=%2B15551234567", 1, 0},
		{"", 2, 1},
		{"?phone_number_id=" + testPN2, 0, 0},
	}
	for _, tc := range tests {
		status, body := b.ctl(t, http.MethodGet, "outbound"+tc.query, nil)
		msgs, _ := body["messages"].([]any)
		reads, _ := body["read_marks"].([]any)
		if status != 200 || len(msgs) != tc.wantMessages || len(reads) != tc.wantReadMarks {
			t.Errorf("outbound%s: %d, %d messages, %d read marks: %v", tc.query, status, len(msgs), len(reads), body)
		}
	}
	_, body = b.ctl(t, http.MethodGet, "outbound?to=%2B34600111222", nil)
	m := body["messages"].([]any)[0].(map[string]any)
	if m["to"] != customer || str(m, "request", "text", "body") != "hello" || m["status"] != "read" ||
		!strings.HasPrefix(str(m, "id"), "wamid.") || str(body, "read_marks", 0, "typing_indicator") != "text" {
		t.Errorf("outbound message = %v", body)
	}
	status, body = b.ctl(t, http.MethodPost, "inbound", map[string]any{"from": customer, "type": "nope"})
	if status != 400 || !strings.Contains(str(body, "error"), "unknown type") {
		t.Errorf("bad inbound: %d %v", status, body)
	}
	status, body = b.ctl(t, http.MethodPost, "inbound", map[string]any{"form": customer})
	if status != 400 || !strings.Contains(str(body, "error"), "unknown field") {
		t.Errorf("misspelt field: %d %v", status, body)
	}
}

func TestControlClockLimitsOptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		want       map[string]any
	}{
		{"clock now", http.MethodGet, "clock", nil, 200, map[string]any{"now": "2026-03-02T10:00:00Z"}},
		{"clock advance", http.MethodPost, "clock", map[string]any{"advance": "25h"}, 200, map[string]any{"now": "2026-03-03T11:00:00Z"}},
		{"clock set", http.MethodPost, "clock", map[string]any{"set": "2026-04-01T00:00:00Z"}, 200, map[string]any{"now": "2026-04-01T00:00:00Z"}},
		{"clock bad", http.MethodPost, "clock", map[string]any{"advance": "soon"}, 400, nil},
		{"limits", http.MethodPost, "limits", map[string]any{"throughput_mps": 5, "pair_limit": 3, "pair_window": "10s", "messaging_limit": "TIER_10K", "quality_rating": "RED"}, 200,
			map[string]any{"phone_number_id": testPN, "throughput_mps": float64(5), "pair_limit": float64(3), "pair_window": "10s", "messaging_limit": "TIER_10K", "quality_rating": "RED"}},
		{"limits of the second number", http.MethodGet, "limits?phone_number_id=" + testPN2, nil, 200, map[string]any{"throughput_mps": float64(80), "pair_limit": float64(45), "pair_window": "6s"}},
		{"limits unknown number", http.MethodPost, "limits", map[string]any{"phone_number_id": "9"}, 400, nil},
		{"limits bad window", http.MethodPost, "limits", map[string]any{"pair_window": "x"}, 400, nil},
		{"options", http.MethodPost, "options", map[string]any{"duplicate": true, "status_delay": "1s", "fail_next": 131049}, 200,
			map[string]any{"duplicate": true, "status_delay": "1s", "fail_next": float64(131049), "statuses_enabled": true, "out_of_order": false}},
		{"options bad delay", http.MethodPost, "options", map[string]any{"status_delay": "-1s"}, 400, nil},
		{"callback", http.MethodPost, "callback", map[string]any{"url": b.recv.srv.URL}, 200, map[string]any{"url": b.recv.srv.URL}},
		{"unknown route", http.MethodGet, "nothing", nil, 404, nil},
		{"wrong method", http.MethodDelete, "clock", nil, 404, nil},
	}
	for _, tc := range tests { // sequential: the steps build on each other
		status, body := b.ctl(t, tc.method, tc.path, tc.body)
		if status != tc.wantStatus {
			t.Errorf("%s: status %d, want %d: %v", tc.name, status, tc.wantStatus, body)
			continue
		}
		if tc.wantStatus != 200 && body["error"] == nil {
			t.Errorf("%s: no error text: %v", tc.name, body)
		}
		for k, v := range tc.want {
			if body[k] != v {
				t.Errorf("%s: %s = %v, want %v", tc.name, k, body[k], v)
			}
		}
	}
	if got := b.fake.Now(); !got.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Now = %v", got)
	}
	if o := b.fake.WebhookOptions(); !o.Duplicate || o.StatusDelay != time.Second || o.FailNext != 131049 || o.MaxAttempts != 4 {
		t.Errorf("options = %+v", o)
	}
}

func TestControlTemplatesAndReset(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, body := b.ctl(t, http.MethodPost, "templates", map[string]any{
		"waba_id": testWABA2, "name": "shipping", "language": "pt_BR", "category": "utility",
		"components": []any{map[string]any{"type": "BODY", "text": "Olá {{1}}"}},
	})
	if status != 200 || body["id"] == "" || body["status"] != "APPROVED" || body["parameter_format"] != "POSITIONAL" {
		t.Fatalf("put: %d %v", status, body)
	}
	status, body = b.ctl(t, http.MethodPost, "templates", map[string]any{"name": "Bad", "language": "en"})
	if status != 400 {
		t.Errorf("bad template: %d %v", status, body)
	}
	status, body = b.ctl(t, http.MethodPost, "templates/status", map[string]any{
		"waba_id": testWABA2, "name": "shipping", "language": "pt_BR", "status": "REJECTED", "reason": "INVALID_FORMAT"})
	if status != 200 || body["status"] != "REJECTED" {
		t.Fatalf("status: %d %v", status, body)
	}
	status, _ = b.ctl(t, http.MethodPost, "templates/status", map[string]any{"name": "nope", "language": "en", "status": "APPROVED"})
	if status != 400 {
		t.Errorf("unknown template status: %d", status)
	}
	_, body = b.ctl(t, http.MethodGet, "templates?waba_id="+testWABA2, nil)
	if n := len(body["data"].([]any)); n != len(DefaultTemplates())+1 {
		t.Errorf("%d templates on WABA 2", n)
	}
	b.flush(t)
	_, body = b.ctl(t, http.MethodGet, "webhooks", nil)
	deliveries := body["deliveries"].([]any)
	last := deliveries[len(deliveries)-1].(map[string]any)
	if last["kind"] != "template_status" || last["delivered"] != true || str(last, "body", "entry", 0, "changes", 0, "value", "reason") != "INVALID_FORMAT" {
		t.Errorf("last delivery = %v", last)
	}

	withCustomer(t, b)
	b.fake.AdvanceClock(time.Hour)
	if st, resp := b.send(t, text(customer, "x")); st != 200 {
		t.Fatalf("send: %d %v", st, resp)
	}
	status, body = b.ctl(t, http.MethodPost, "reset", nil)
	if status != 200 || body["ok"] != true {
		t.Fatalf("reset: %d %v", status, body)
	}
	if len(b.fake.Outbound("")) != 0 || !b.fake.Now().Equal(testBase) || len(b.fake.Deliveries()) != 0 {
		t.Errorf("reset left state behind")
	}
	if n := len(b.fake.Templates(testWABA2)); n != len(DefaultTemplates()) {
		t.Errorf("%d templates after reset", n)
	}
	status, body = b.send(t, text(customer, "window closed again"))
	wantError(t, status, body, 400, 131047, "24 hours")
}
