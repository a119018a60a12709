package zendesk

import (
	"encoding/base64"
	"net/http"
	"testing"
)

// ctl calls the control API (no credentials).
func (b *testBundle) ctl(t *testing.T, method, path string, body any) result {
	t.Helper()
	return b.doWith(t, method, "/_sandbox/"+path, body, func(r *http.Request) { r.Header.Del("Authorization") })
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	id := b.createTicket(t, req, nil)
	hook := b.createWebhook(t, "h", nil)
	b.do(t, http.MethodPost, "/api/v2/triggers", map[string]any{"trigger": replyTrigger(hook, `{"c":"{{ticket.latest_public_comment.id}}"}`)}).
		want(t, http.StatusCreated)

	agent := b.ctl(t, http.MethodPost, "agents", map[string]any{"name": "Zoe"}).want(t, http.StatusOK)
	agentID := num(agent.body, "id")
	if str(agent.body, "role") != "agent" || agentID == 0 {
		t.Fatalf("agent = %s", agent.raw)
	}
	reply := b.ctl(t, http.MethodPost, "reply", map[string]any{"ticket_id": id, "agent_id": agentID, "body": "Hello from Zoe",
		"attachments": []any{map[string]any{"filename": "x.txt", "content_type": "text/plain",
			"data_base64": base64.StdEncoding.EncodeToString([]byte("file"))}}}).want(t, http.StatusOK)
	cid := num(reply.body, "comment_id")
	b.ctl(t, http.MethodPost, "reply", map[string]any{"ticket_id": id, "body": "a note", "public": false}).want(t, http.StatusOK)
	b.ctl(t, http.MethodPost, "flush", nil).want(t, http.StatusOK)

	d := b.ctl(t, http.MethodGet, "tickets/"+itoa(id), nil).want(t, http.StatusOK)
	cs := list(d.body, "comments")
	if str(d.body, "status") != "open" || len(cs) != 3 || num(cs[1], "id") != cid || str(cs[1], "author_name") != "Zoe" ||
		str(cs[1], "via") != "web" || str(cs[2], "public") != "false" || str(cs[1], "attachments", 0, "file_name") != "x.txt" {
		t.Fatalf("dump = %s", d.raw)
	}
	del := b.ctl(t, http.MethodGet, "webhooks/deliveries", nil).want(t, http.StatusOK)
	if len(list(del.body, "deliveries")) != 1 || str(del.body, "deliveries", 0, "body") != `{"c":"`+itoa(cid)+`"}` {
		t.Fatalf("deliveries = %s", del.raw)
	}
	st := b.ctl(t, http.MethodPost, "tickets/"+itoa(id)+"/status", map[string]any{"status": "closed"}).want(t, http.StatusOK)
	if str(st.body, "status") != "closed" {
		t.Fatalf("status = %s", st.raw)
	}
	if l := b.ctl(t, http.MethodGet, "tickets", nil).want(t, http.StatusOK); len(list(l.body, "tickets")) != 1 {
		t.Fatalf("tickets = %s", l.raw)
	}
	if u := b.ctl(t, http.MethodGet, "users", nil).want(t, http.StatusOK); len(list(u.body, "users")) != 4 ||
		num(u.body, "users", 0, "id") != b.fake.APIUserID() {
		t.Fatalf("users = %s", u.raw)
	}
	if c := b.ctl(t, http.MethodPost, "clock", map[string]any{"advance": "10m"}).want(t, http.StatusOK); str(c.body, "now") != "2026-03-02T10:10:00Z" {
		t.Fatalf("clock = %s", c.raw)
	}
	lim := b.ctl(t, http.MethodPost, "limits", map[string]any{"requests_per_minute": 5, "search_lag": "30s", "plain_429": true}).
		want(t, http.StatusOK)
	if num(lim.body, "requests_per_minute") != 5 || str(lim.body, "search_lag") != "30s" || str(lim.body, "plain_429") != "true" {
		t.Fatalf("limits = %s", lim.raw)
	}
	b.ctl(t, http.MethodPost, "limits", map[string]any{"exhaust": true}).want(t, http.StatusOK)
	if r := b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusTooManyRequests); string(r.raw) != "Rate limit exceeded" {
		t.Fatalf("429 = %q", r.raw)
	}
	b.ctl(t, http.MethodPost, "limits", map[string]any{"requests_per_minute": 0}).want(t, http.StatusOK)
	b.ctl(t, http.MethodPost, "auth", map[string]any{"revoked": true}).want(t, http.StatusOK)
	b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusUnauthorized)
	b.ctl(t, http.MethodPost, "auth", map[string]any{"revoked": false}).want(t, http.StatusOK)
	b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusOK)

	b.ctl(t, http.MethodPost, "reset", nil).want(t, http.StatusOK)
	if len(b.fake.Tickets()) != 0 || len(b.fake.Users()) != 2 || len(b.fake.Deliveries()) != 0 || b.fake.Limits().RequestsPerMinute != 700 {
		t.Fatalf("state after reset: %d tickets, %d users", len(b.fake.Tickets()), len(b.fake.Users()))
	}
	if again := b.createUser(t, map[string]any{"name": "Ana"}); again != req {
		t.Fatalf("ids after reset start at %d, first time %d", again, req)
	}
}

func TestControlErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	closed := b.createTicket(t, req, nil)
	open := b.createTicket(t, req, nil)
	b.ctl(t, http.MethodPost, "tickets/"+itoa(closed)+"/status", map[string]any{"status": "closed"}).want(t, http.StatusOK)
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
	}{
		{"unknown route", http.MethodGet, "nothing", nil, 404},
		{"unknown ticket", http.MethodGet, "tickets/999", nil, 404},
		{"bad ticket id", http.MethodGet, "tickets/x", nil, 404},
		{"reply to unknown ticket", http.MethodPost, "reply", map[string]any{"ticket_id": 999, "body": "x"}, 404},
		{"reply to closed ticket", http.MethodPost, "reply", map[string]any{"ticket_id": closed, "body": "x"}, 409},
		{"reply without body", http.MethodPost, "reply", map[string]any{"ticket_id": closed}, 400},
		{"reply by an end user", http.MethodPost, "reply", map[string]any{"ticket_id": open, "agent_id": req, "body": "x"}, 400},
		{"reopen closed", http.MethodPost, "tickets/" + itoa(closed) + "/status", map[string]any{"status": "open"}, 409},
		{"bad status", http.MethodPost, "tickets/" + itoa(closed) + "/status", map[string]any{"status": "gone"}, 400},
		{"unknown field", http.MethodPost, "reply", map[string]any{"ticket": 1}, 400},
		{"agent without name", http.MethodPost, "agents", map[string]any{}, 400},
		{"bad clock", http.MethodPost, "clock", map[string]any{"advance": "soon"}, 400},
		{"bad lag", http.MethodPost, "limits", map[string]any{"search_lag": "-1s"}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.ctl(t, tc.method, tc.path, tc.body).want(t, tc.wantStatus)
			if str(r.body, "error") == "" {
				t.Fatalf("no error text: %s", r.raw)
			}
		})
	}
}
